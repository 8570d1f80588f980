import { createHash, randomBytes } from 'node:crypto';

/**
 * The pure half of the credential relay (rtsp-relay.ts): RTSP message framing, the URL rewriting
 * between the relay's one-time loopback address and the camera's, and the client side of HTTP/RTSP
 * authentication (Digest, RFC 7616 / 2617, and Basic). Plain values in, plain values out.
 */

/** Largest RTSP message head (request or status line and headers) we accept. */
export const MAX_HEAD = 16 * 1024;
/** Largest RTSP message body (SDP, parameters) we accept. */
export const MAX_BODY = 256 * 1024;

/** An RTSP message: request (`METHOD uri RTSP/1.0`) or response (`RTSP/1.0 200 OK`), headers in order. */
export interface RtspMessage {
  startLine: string;
  headers: [string, string][];
  body: Buffer;
}

export function header(m: RtspMessage, name: string): string | undefined {
  const n = name.toLowerCase();
  return m.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

export function headers(m: RtspMessage, name: string): string[] {
  const n = name.toLowerCase();
  return m.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

export function withoutHeaders(m: RtspMessage, ...names: string[]): [string, string][] {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return m.headers.filter(([k]) => !drop.has(k.toLowerCase()));
}

/** Serialise a message; Content-Length is set from the body (and left out when there is none). */
export function serialize(m: RtspMessage): Buffer {
  const hs = m.headers.filter(([k]) => k.toLowerCase() !== 'content-length');
  if (m.body.length > 0) hs.push(['Content-Length', String(m.body.length)]);
  const head = [m.startLine, ...hs.map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'utf8'), m.body]);
}

export type Chunk =
  | { kind: 'message'; message: RtspMessage }
  /** Interleaved `$` data (RTP/RTCP), possibly a part of one frame: forwarded as it is. */
  | { kind: 'binary'; data: Buffer }
  | { kind: 'error'; reason: string };

/**
 * Splits one direction of an RTSP connection into messages and interleaved binary data. Binary
 * frames are passed on as they arrive (a 64 KiB frame is not held back until complete), so RTP
 * flows through with one slice per chunk and no copy.
 */
export class RtspFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes of the current `$` frame still to pass through. */
  private binaryLeft = 0;
  private failed = false;

  push(chunk: Buffer): Chunk[] {
    if (this.failed) return [];
    const out: Chunk[] = [];
    let data = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.binaryLeft > 0) {
        const n = Math.min(this.binaryLeft, data.length);
        out.push({ kind: 'binary', data: data.subarray(0, n) });
        this.binaryLeft -= n;
        data = data.subarray(n);
        continue;
      }
      if (data[0] === 0x24) {
        if (data.length < 4) break;
        this.binaryLeft = 4 + data.readUInt16BE(2);
        continue;
      }
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        if (data.length > MAX_HEAD) return this.fail(out, 'message head too long');
        break;
      }
      if (end > MAX_HEAD) return this.fail(out, 'message head too long');
      const parsed = parseHead(data.subarray(0, end).toString('latin1'));
      if (!parsed) return this.fail(out, 'not RTSP');
      const cl = parsed.headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1] ?? '0';
      if (!/^\d{1,7}$/.test(cl.trim()) || Number(cl) > MAX_BODY) return this.fail(out, 'bad Content-Length');
      const total = end + 4 + Number(cl);
      if (data.length < total) break;
      out.push({ kind: 'message', message: { ...parsed, body: Buffer.from(data.subarray(end + 4, total)) } });
      data = data.subarray(total);
    }
    if (data.length > 0) this.buf = Buffer.from(data);
    return out;
  }

  private fail(out: Chunk[], reason: string): Chunk[] {
    this.failed = true;
    this.buf = Buffer.alloc(0);
    out.push({ kind: 'error', reason });
    return out;
  }
}

function parseHead(text: string): { startLine: string; headers: [string, string][] } | null {
  const lines = text.split('\r\n');
  const startLine = lines[0] ?? '';
  if (!/^(RTSP\/1\.\d \d{3}(?: .*)?|[A-Z_]{1,32} \S{1,4096} RTSP\/1\.\d)$/.test(startLine)) return null;
  const hs: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(line)) return null;
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return null;
    hs.push([m[1]!, m[2]!]);
  }
  return { startLine, headers: hs };
}

/** `METHOD uri RTSP/1.0` → its parts; null for a response. */
export function requestLine(m: RtspMessage): { method: string; uri: string; version: string } | null {
  const r = /^([A-Z_]{1,32}) (\S+) (RTSP\/1\.\d)$/.exec(m.startLine);
  return r ? { method: r[1]!, uri: r[2]!, version: r[3]! } : null;
}

/** `RTSP/1.0 401 Unauthorized` → the status code; null for a request. */
export function statusOf(m: RtspMessage): number | null {
  const r = /^RTSP\/1\.\d (\d{3})/.exec(m.startLine);
  return r ? Number(r[1]) : null;
}

// ---- addresses ----

/** The token of a relay URI (`rtsp://127.0.0.1:port/<token>/rest`), or null. */
export function relayToken(uri: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+\/([A-Za-z0-9_-]{16,64})(?=[/?]|$)/i.exec(uri);
  return m ? m[1]! : null;
}

/**
 * A request URI ffmpeg sent the relay, as the camera must get it: `rtsp://127.0.0.1:p/<token>/a/b`
 * → `<origin>/a/b` (origin: `rtsp://cam:554`). Null when the URI is not under this token.
 */
export function toCameraUri(uri: string, token: string, origin: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+\/([A-Za-z0-9_-]+)(.*)$/i.exec(uri);
  if (!m || m[1] !== token) return null;
  const rest = m[2]!;
  return `${origin}${rest.startsWith('/') ? rest : `/${rest}`}`;
}

/** Scheme and authority (with any userinfo) of every absolute rtsp(s) URL in `text`, replaced by `prefix`. */
export function toRelayUrls(text: string, prefix: string): string {
  return text.replace(/\brtsps?:\/\/[^/\s;,"'>]*/gi, prefix);
}

/**
 * A camera's response, as ffmpeg must see it: every camera URL it names (Content-Base,
 * Content-Location, Location, RTP-Info url=, SDP a=control / a=content-base) points at the relay,
 * so ffmpeg keeps talking to us; its authentication challenges are dropped (the relay answers them).
 */
export function rewriteResponse(m: RtspMessage, prefix: string, clientCseq: string | null): RtspMessage {
  const hs: [string, string][] = [];
  for (const [k, v] of m.headers) {
    const name = k.toLowerCase();
    if (name === 'www-authenticate' || name === 'authentication-info' || name === 'content-length') continue;
    if (name === 'cseq' && clientCseq !== null) { hs.push([k, clientCseq]); continue; }
    if (name === 'content-base' || name === 'content-location' || name === 'location' || name === 'rtp-info') { hs.push([k, toRelayUrls(v, prefix)]); continue; }
    hs.push([k, v]);
  }
  let body = m.body;
  if (body.length > 0 && /application\/sdp/i.test(header(m, 'content-type') ?? '')) {
    const sdp = body.toString('utf8').replace(/^(a=(?:control|content-base):)(.*)$/gim, (_all, key: string, value: string) => key + toRelayUrls(value, prefix));
    body = Buffer.from(sdp, 'utf8');
  }
  return { startLine: m.startLine, headers: hs, body };
}

// ---- authentication (client side) ----

export interface Challenge {
  scheme: 'digest' | 'basic';
  params: Record<string, string>;
}

/** The challenges of one or more WWW-Authenticate values (several may share one value, comma-separated). */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) {
    const starts = [...value.matchAll(/(?:^|,)\s*(Digest|Basic)(?:\s+|$)/gi)];
    starts.forEach((s, i) => {
      const from = s.index! + s[0].length;
      const to = i + 1 < starts.length ? starts[i + 1]!.index! : value.length;
      const params: Record<string, string> = {};
      for (const p of value.slice(from, to).matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
        params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
      }
      out.push({ scheme: s[1]!.toLowerCase() as 'digest' | 'basic', params });
    });
  }
  return out;
}

const ALGORITHMS: Record<string, { hash: 'md5' | 'sha256'; sess: boolean }> = {
  'md5': { hash: 'md5', sess: false },
  'md5-sess': { hash: 'md5', sess: true },
  'sha-256': { hash: 'sha256', sess: false },
  'sha-256-sess': { hash: 'sha256', sess: true },
};

/** The challenge to answer: Digest with an algorithm we know (strongest first), else Basic; null when none. */
export function chooseChallenge(challenges: readonly Challenge[]): Challenge | null {
  const digests = challenges.filter((c) => c.scheme === 'digest' && c.params.nonce && ALGORITHMS[(c.params.algorithm ?? 'MD5').toLowerCase()]);
  const sha = digests.find((c) => (c.params.algorithm ?? '').toLowerCase().startsWith('sha-256'));
  return sha ?? digests[0] ?? challenges.find((c) => c.scheme === 'basic') ?? null;
}

export interface DigestInput {
  username: string;
  password: string;
  method: string;
  uri: string;
  realm: string;
  nonce: string;
  algorithm?: string;
  /** `auth` when the server offered it; absent for RFC 2069 style. */
  qop?: string;
  nc?: number;
  cnonce?: string;
}

const h = (alg: 'md5' | 'sha256', s: string) => createHash(alg).update(s, 'utf8').digest('hex');

/** The Digest `response` value (RFC 7616 §3.4.1; RFC 2069 when there is no qop). */
export function digestResponse(d: DigestInput): string {
  const alg = ALGORITHMS[(d.algorithm ?? 'MD5').toLowerCase()] ?? ALGORITHMS.md5!;
  let ha1 = h(alg.hash, `${d.username}:${d.realm}:${d.password}`);
  if (alg.sess) ha1 = h(alg.hash, `${ha1}:${d.nonce}:${d.cnonce ?? ''}`);
  const ha2 = h(alg.hash, `${d.method}:${d.uri}`);
  if (!d.qop) return h(alg.hash, `${ha1}:${d.nonce}:${ha2}`);
  return h(alg.hash, `${ha1}:${d.nonce}:${ncString(d.nc ?? 1)}:${d.cnonce ?? ''}:${d.qop}:${ha2}`);
}

const ncString = (nc: number) => nc.toString(16).padStart(8, '0');
const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/**
 * The Authorization value answering `challenge` for one request. `nc` counts the requests made
 * with this nonce (the caller keeps it); `cnonce` is random unless given (tests).
 */
export function authorization(challenge: Challenge, o: { username: string; password: string; method: string; uri: string; nc: number; cnonce?: string }): string {
  if (challenge.scheme === 'basic') return `Basic ${Buffer.from(`${o.username}:${o.password}`, 'utf8').toString('base64')}`;
  const p = challenge.params;
  const qops = (p.qop ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean);
  const qop = qops.includes('auth') ? 'auth' : undefined;
  const cnonce = o.cnonce ?? randomBytes(8).toString('hex');
  const algorithm = p.algorithm;
  const response = digestResponse({ ...o, realm: p.realm ?? '', nonce: p.nonce!, algorithm, qop, nc: o.nc, cnonce });
  const parts = [
    `username=${quote(o.username)}`, `realm=${quote(p.realm ?? '')}`, `nonce=${quote(p.nonce!)}`, `uri=${quote(o.uri)}`, `response=${quote(response)}`,
  ];
  if (algorithm) parts.push(`algorithm=${algorithm}`);
  if (p.opaque !== undefined) parts.push(`opaque=${quote(p.opaque)}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${ncString(o.nc)}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}
