import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { log as rootLog } from '../../core/log.ts';
import { interleave, rtcpSenderReport, RtpPacketizer } from './h264.ts';
import type { SourceFrame, VideoSource } from './source.ts';
import type { SimCamera } from './types.ts';

/**
 * A small RTSP 1.0 server (RFC 2326) for one simulated camera: H.264 (RFC 6184) or H.265 (RFC 7798)
 * over RTP interleaved in the TCP connection (RTP/AVP/TCP), Digest or Basic authentication, the Hikvision-style paths
 * /Streaming/Channels/101 (main) and /102 (sub), and the camera's faults.
 */

export const REALM = 'Skynet-Sim';
const MAX_HEADER = 8 * 1024;
const MAX_BODY = 8 * 1024;
const MAX_PENDING_REQUESTS = 16;
const SESSION_TIMEOUT_S = 60;
/** A client whose socket holds more than this skips frames until it drains (then restarts at a keyframe). */
const HIGH_WATER = 2 * 1024 * 1024;
/** ... and is closed when it stays congested this long. */
const CONGESTED_CLOSE_MS = 20_000;

export interface RtspRequest {
  method: string;
  uri: string;
  headers: Map<string, string>;
  body: Buffer;
}

export type ParseResult =
  | { kind: 'request'; request: RtspRequest; consumed: number }
  | { kind: 'interleaved'; consumed: number }
  | { kind: 'more' }
  | { kind: 'error'; status: number; reason: string };

/** Parse the next RTSP request or interleaved `$` frame at the start of `buf`. */
export function parseNext(buf: Buffer): ParseResult {
  if (buf.length === 0) return { kind: 'more' };
  if (buf[0] === 0x24) {
    if (buf.length < 4) return { kind: 'more' };
    const n = 4 + buf.readUInt16BE(2);
    return buf.length < n ? { kind: 'more' } : { kind: 'interleaved', consumed: n };
  }
  const end = buf.indexOf('\r\n\r\n');
  const head = end < 0 ? buf.subarray(0, MAX_HEADER + 1) : buf.subarray(0, end);
  for (const b of head) if ((b < 0x20 && b !== 0x0d && b !== 0x0a && b !== 0x09) || b === 0x7f) return { kind: 'error', status: 400, reason: 'Bad Request' };
  if (end < 0) return buf.length > MAX_HEADER ? { kind: 'error', status: 400, reason: 'Bad Request' } : { kind: 'more' };
  if (end > MAX_HEADER) return { kind: 'error', status: 400, reason: 'Bad Request' };
  const lines = head.toString('utf8').split('\r\n');
  const m = /^([A-Z_]{1,32}) (\S{1,2048}) RTSP\/(\d)\.(\d)$/.exec(lines[0] ?? '');
  if (!m) return { kind: 'error', status: 400, reason: 'Bad Request' };
  if (m[3] !== '1') return { kind: 'error', status: 505, reason: 'RTSP Version Not Supported' };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!h) return { kind: 'error', status: 400, reason: 'Bad Request' };
    headers.set(h[1]!.toLowerCase(), h[2]!);
  }
  const cl = headers.get('content-length') ?? '0';
  if (!/^\d{1,6}$/.test(cl) || Number(cl) > MAX_BODY) return { kind: 'error', status: 400, reason: 'Bad Request' };
  const total = end + 4 + Number(cl);
  if (buf.length < total) return { kind: 'more' };
  return { kind: 'request', request: { method: m[1]!, uri: m[2]!, headers, body: buf.subarray(end + 4, total) }, consumed: total };
}

/** Which stream a request URI names: /Streaming/Channels/101|102, optionally its track. */
export function resolveStream(uri: string): { profile: 'main' | 'sub'; track: boolean } | null {
  let path = uri;
  if (!uri.startsWith('/')) {
    try { path = new URL(uri).pathname; } catch { return null; }
  } else path = uri.split('?')[0]!;
  const m = /^\/Streaming\/Channels\/(101|102)(\/(?:trackID=1|track1))?\/?$/i.exec(path);
  return m ? { profile: m[1] === '101' ? 'main' : 'sub', track: Boolean(m[2]) } : null;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** Check an Authorization header: Digest (RFC 2617, MD5, with or without qop=auth) or Basic. */
export function verifyAuthorization(header: string | undefined, o: {
  method: string; username: string; password: string; realm: string; nonceValid: (nonce: string) => boolean;
}): boolean {
  if (!header) return false;
  const sp = header.indexOf(' ');
  const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
  const rest = sp < 0 ? '' : header.slice(sp + 1);
  if (scheme === 'basic') {
    const decoded = Buffer.from(rest.trim(), 'base64').toString('utf8');
    return safeEqual(decoded, `${o.username}:${o.password}`);
  }
  if (scheme !== 'digest') return false;
  const p: Record<string, string> = {};
  for (const m of rest.matchAll(/([a-zA-Z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g)) p[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  const { username, realm, nonce, uri, response } = p;
  if (!username || !nonce || !uri || !response || realm !== o.realm || !o.nonceValid(nonce)) return false;
  if (p.algorithm && p.algorithm.toUpperCase() !== 'MD5') return false;
  const ha1 = md5(`${o.username}:${o.realm}:${o.password}`);
  const ha2 = md5(`${o.method}:${uri}`);
  const expected = p.qop
    ? md5(`${ha1}:${nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`)
    : md5(`${ha1}:${nonce}:${ha2}`);
  return safeEqual(username, o.username) && safeEqual(response.toLowerCase(), expected);
}

interface Session {
  id: string;
  profile: 'main' | 'sub';
  source: VideoSource;
  channel: number;
  trackUrl: string;
  packetizer: RtpPacketizer;
  tsBase: number;
  ptsOrigin: number | null;
  unsubscribe: (() => void) | null;
  needKeyframe: boolean;
  lastRtp: number;
  lastWall: number;
  congestedSince: number | null;
}

interface Conn {
  socket: Socket;
  buf: Buffer;
  chain: Promise<void>;
  pending: number;
  session: Session | null;
  lastSeen: number;
}

export interface RtspServer {
  port: number;
  /** Connections with a playing session. */
  clients(): number;
  /** Act on the camera's faults now (the server also checks them 4 times a second). */
  applyFaults(): void;
  /**
   * Close every connection now, as a camera does when its encoder reboots (a reconfiguration that
   * drops its sessions); new ones are accepted at once. Returns how many sessions were playing.
   */
  dropSessions(): number;
  close(): Promise<void>;
}

export async function startRtspServer(
  camera: SimCamera,
  sources: Record<'main' | 'sub', VideoSource>,
  opts: { host?: string; port?: number } = {},
): Promise<RtspServer> {
  const log = rootLog.child({ camera: camera.spec.id, component: 'sim-rtsp' });
  const conns = new Set<Conn>();
  const nonceKey = randomBytes(16);
  const makeNonce = () => {
    const t = Date.now().toString(16);
    return t + createHmac('sha256', nonceKey).update(t).digest('hex').slice(0, 24);
  };
  const nonceValid = (n: string) => n.length > 24 && safeEqual(n.slice(-24), createHmac('sha256', nonceKey).update(n.slice(0, -24)).digest('hex').slice(0, 24));

  const server = createServer({ noDelay: true });
  server.maxConnections = 64;

  server.on('connection', (socket) => {
    if (camera.faults.has('drop')) { socket.destroy(); return; }
    const conn: Conn = { socket, buf: Buffer.alloc(0), chain: Promise.resolve(), pending: 0, session: null, lastSeen: Date.now() };
    conns.add(conn);
    socket.on('data', (d: Buffer) => onData(conn, d));
    socket.on('error', () => { /* reset by peer etc.: 'close' follows */ });
    socket.on('close', () => { endSession(conn); conns.delete(conn); });
  });

  function onData(conn: Conn, d: Buffer): void {
    conn.lastSeen = Date.now();
    // A client that sends requests but does not read the answers is not worth buffering for. A client with a
    // session may still have media queued from playing (PAUSE, then TEARDOWN while it stopped reading): answer it.
    if (conn.socket.writableLength > HIGH_WATER && !conn.session) { conn.socket.destroy(); return; }
    conn.buf = conn.buf.length ? Buffer.concat([conn.buf, d]) : d;
    for (;;) {
      const r = parseNext(conn.buf);
      if (r.kind === 'more') return;
      if (r.kind === 'error') {
        conn.buf = Buffer.alloc(0);
        writeResponse(conn, r.status, r.reason, undefined, {});
        conn.socket.end();
        setTimeout(() => conn.socket.destroy(), 1000).unref();
        return;
      }
      conn.buf = conn.buf.subarray(r.consumed);
      if (r.kind === 'interleaved') continue; // RTCP receiver reports: only keep-alive for us
      if (++conn.pending > MAX_PENDING_REQUESTS) { conn.socket.destroy(); return; }
      const req = r.request;
      conn.chain = conn.chain
        .then(() => handle(conn, req))
        .catch((e: Error) => {
          log.warn({ err: e.message, method: req.method }, 'request failed');
          writeResponse(conn, 500, 'Internal Server Error', req.headers.get('cseq'), {});
        })
        .finally(() => { conn.pending--; });
    }
  }

  function writeResponse(conn: Conn, status: number, reason: string, cseq: string | undefined, headers: Record<string, string | string[]>, body?: string): void {
    if (conn.socket.destroyed || !conn.socket.writable) return;
    if (camera.faults.has('garbage')) { conn.socket.write(randomBytes(randomInt(64, 600))); return; }
    const lines = [`RTSP/1.0 ${status} ${reason}`];
    if (cseq !== undefined && /^\d{1,10}$/.test(cseq)) lines.push(`CSeq: ${cseq}`);
    lines.push(`Server: ${camera.spec.vendor} RTSP`, `Date: ${new Date().toUTCString()}`);
    for (const [k, v] of Object.entries(headers)) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
    const payload = body === undefined ? '' : body;
    lines.push(`Content-Length: ${Buffer.byteLength(payload)}`);
    conn.socket.write(`${lines.join('\r\n')}\r\n\r\n${payload}`);
  }

  async function handle(conn: Conn, req: RtspRequest): Promise<void> {
    const cseq = req.headers.get('cseq');
    const reply = (status: number, reason: string, headers: Record<string, string | string[]> = {}, body?: string) =>
      writeResponse(conn, status, reason, cseq, headers, body);
    if (camera.faults.has('drop')) { conn.socket.destroy(); return; }
    if (cseq === undefined) return reply(400, 'Bad Request');
    if (req.method === 'OPTIONS') {
      return reply(200, 'OK', { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER' });
    }
    const known = ['DESCRIBE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER'];
    if (!known.includes(req.method)) return reply(501, 'Not Implemented');
    const authorized = !camera.faults.has('refuse-auth') && verifyAuthorization(req.headers.get('authorization'), {
      method: req.method, username: camera.spec.username, password: camera.spec.password, realm: REALM, nonceValid,
    });
    if (!authorized) {
      return reply(401, 'Unauthorized', {
        'WWW-Authenticate': [`Digest realm="${REALM}", nonce="${makeNonce()}", algorithm="MD5"`, `Basic realm="${REALM}"`],
      });
    }
    const sessionHeader = req.headers.get('session')?.split(';')[0]?.trim();
    if (sessionHeader && conn.session?.id !== sessionHeader && req.method !== 'SETUP') return reply(454, 'Session Not Found');

    switch (req.method) {
      case 'DESCRIBE': {
        const stream = resolveStream(req.uri);
        if (!stream || stream.track) return reply(404, 'Not Found');
        const source = sources[stream.profile];
        let params;
        try { params = await source.ready(8000); } catch (e) {
          log.warn({ err: (e as Error).message }, 'source not ready');
          return reply(503, 'Service Unavailable');
        }
        const base = baseUrl(req.uri);
        return reply(200, 'OK', { 'Content-Type': 'application/sdp', 'Content-Base': `${base}/` }, sdp(source, source.codec.fmtp(96, params)));
      }
      case 'SETUP': {
        const stream = resolveStream(req.uri);
        if (!stream) return reply(404, 'Not Found');
        if (sessionHeader && conn.session && conn.session.id !== sessionHeader) return reply(454, 'Session Not Found');
        const transport = chooseTcpTransport(req.headers.get('transport') ?? '');
        if (!transport) return reply(461, 'Unsupported Transport');
        if (conn.session && conn.session.profile !== stream.profile) endSession(conn);
        const ssrc = randomBytes(4).readUInt32BE(0);
        const s: Session = conn.session ?? {
          id: randomBytes(6).toString('hex').toUpperCase(), profile: stream.profile, source: sources[stream.profile],
          channel: transport.channel, trackUrl: req.uri,
          packetizer: new RtpPacketizer({ ssrc, sequence: randomInt(0, 0x10000), codec: sources[stream.profile].codec }), tsBase: randomBytes(4).readUInt32BE(0),
          ptsOrigin: null, unsubscribe: null, needKeyframe: true, lastRtp: 0, lastWall: 0, congestedSince: null,
        };
        s.channel = transport.channel;
        s.trackUrl = stream.track ? req.uri : `${baseUrl(req.uri)}/trackID=1`;
        conn.session = s;
        return reply(200, 'OK', {
          Transport: `RTP/AVP/TCP;unicast;interleaved=${s.channel}-${s.channel + 1};ssrc=${s.packetizer.ssrc.toString(16).toUpperCase().padStart(8, '0')};mode="PLAY"`,
          Session: `${s.id};timeout=${SESSION_TIMEOUT_S}`,
        });
      }
      case 'PLAY': {
        const s = conn.session;
        if (!s) return reply(454, 'Session Not Found');
        try { await s.source.ready(8000); } catch { return reply(503, 'Service Unavailable'); }
        if (conn.session !== s || conn.socket.destroyed) return;
        if (!s.unsubscribe) {
          // Synchronously from here: the GOP so far, then live frames, with nothing lost in between.
          const gop = s.source.gop();
          const first = gop[0];
          if (first && s.ptsOrigin === null) s.ptsOrigin = first.pts90k;
          const rtptime = first && s.ptsOrigin !== null ? `;rtptime=${(s.tsBase + first.pts90k - s.ptsOrigin) >>> 0}` : '';
          reply(200, 'OK', {
            Session: `${s.id};timeout=${SESSION_TIMEOUT_S}`, Range: 'npt=0.000-',
            'RTP-Info': `url=${s.trackUrl};seq=${s.packetizer.sequence}${rtptime}`,
          });
          s.needKeyframe = true;
          for (const f of gop) deliver(conn, s, f);
          s.unsubscribe = s.source.subscribe((f) => deliver(conn, s, f));
          log.debug({ session: s.id, profile: s.profile }, 'playing');
          return;
        }
        return reply(200, 'OK', { Session: `${s.id};timeout=${SESSION_TIMEOUT_S}`, Range: 'npt=0.000-' });
      }
      case 'PAUSE': {
        const s = conn.session;
        if (!s) return reply(454, 'Session Not Found');
        s.unsubscribe?.();
        s.unsubscribe = null;
        return reply(200, 'OK', { Session: s.id });
      }
      case 'TEARDOWN': {
        endSession(conn);
        return reply(200, 'OK');
      }
      default: // GET_PARAMETER, SET_PARAMETER: keep-alive
        return reply(200, 'OK', conn.session ? { Session: conn.session.id } : {});
    }
  }

  function baseUrl(uri: string): string {
    try {
      const u = new URL(uri);
      const path = u.pathname.replace(/\/(trackID=1|track1)\/?$/i, '').replace(/\/$/, '');
      return `${u.protocol}//${u.host}${path}`;
    } catch {
      return uri.replace(/\/$/, '');
    }
  }

  function sdp(source: VideoSource, fmtp: string): string {
    const name = (camera.spec.name || camera.spec.id).replace(/[\r\n]/g, ' ');
    return [
      'v=0',
      `o=- ${Date.now()} 1 IN ${camera.spec.host.includes(':') ? 'IP6' : 'IP4'} ${camera.spec.host === '0.0.0.0' ? '127.0.0.1' : camera.spec.host}`,
      `s=${name}`,
      'c=IN IP4 0.0.0.0',
      't=0 0',
      `a=tool:${camera.spec.vendor} ${camera.spec.model}`,
      'a=control:*',
      'a=range:npt=0-',
      'm=video 0 RTP/AVP 96',
      `a=rtpmap:96 ${source.codec.rtpName}/90000`,
      `a=fmtp:${fmtp}`,
      `a=framerate:${source.fps}`,
      ...(source.kind === 'synthetic' ? [`a=framesize:96 ${source.width}-${source.height}`] : []),
      'a=control:trackID=1',
      '',
    ].join('\r\n');
  }

  function deliver(conn: Conn, s: Session, f: SourceFrame): void {
    const sock = conn.socket;
    if (sock.destroyed || conn.session !== s) return;
    if (camera.faults.has('drop')) { dropAll(); return; }
    if (camera.faults.has('stall')) { s.needKeyframe = true; return; }
    const now = Date.now();
    if (sock.writableLength > HIGH_WATER) {
      s.needKeyframe = true;
      s.congestedSince ??= now;
      if (now - s.congestedSince > CONGESTED_CLOSE_MS) {
        log.info({ session: s.id }, 'closing a client that does not read');
        sock.destroy();
      }
      return;
    }
    s.congestedSince = null;
    if (s.needKeyframe && !f.au.keyframe) return;
    s.needKeyframe = false;
    if (camera.faults.has('garbage')) { sock.write(randomBytes(randomInt(200, 1400))); return; }
    if (s.ptsOrigin === null) s.ptsOrigin = f.pts90k;
    const ts = (s.tsBase + f.pts90k - s.ptsOrigin) >>> 0;
    sock.write(Buffer.concat(s.packetizer.packetize(f.au, ts).map((p) => interleave(s.channel, p))));
    s.lastRtp = ts;
    s.lastWall = f.wallclock;
  }

  function endSession(conn: Conn): void {
    conn.session?.unsubscribe?.();
    conn.session = null;
  }

  function dropAll(): void {
    for (const c of conns) { endSession(c); c.socket.destroy(); }
  }

  function applyFaults(): void {
    if (camera.faults.has('drop')) dropAll();
  }

  function sendReports(): void {
    const now = Date.now();
    if (camera.faults.has('stall') || camera.faults.has('garbage')) return;
    for (const c of conns) {
      const s = c.session;
      if (!s?.unsubscribe || s.lastWall === 0 || c.socket.destroyed || c.socket.writableLength > HIGH_WATER) continue;
      const rtpTime = (s.lastRtp + Math.round((now - s.lastWall) * 90)) >>> 0;
      c.socket.write(interleave(s.channel + 1, rtcpSenderReport({
        ssrc: s.packetizer.ssrc, wallclockMs: now, rtpTime, packetCount: s.packetizer.packetCount,
        octetCount: s.packetizer.octetCount, cname: `${camera.spec.id}@skynet-sim`,
      })));
    }
  }

  function sweep(): void {
    applyFaults();
    const now = Date.now();
    for (const c of conns) {
      const limit = (c.session?.unsubscribe ? 3 : 1) * SESSION_TIMEOUT_S * 1000;
      if (now - c.lastSeen > limit) { endSession(c); c.socket.destroy(); }
    }
  }

  const timers = [setInterval(sweep, 250), setInterval(sendReports, 1000)];
  for (const t of timers) t.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? camera.spec.rtspPort, opts.host ?? camera.spec.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.warn({ err: e.message }, 'rtsp server error'));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  log.debug({ port }, 'rtsp listening');

  return {
    port,
    clients: () => [...conns].filter((c) => c.session?.unsubscribe && !c.socket.destroyed).length,
    applyFaults,
    dropSessions: () => {
      const playing = [...conns].filter((c) => c.session?.unsubscribe && !c.socket.destroyed).length;
      dropAll();
      return playing;
    },
    close: async () => {
      for (const t of timers) clearInterval(t);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}

/** The first TCP transport the client offers, with its interleaved channels (default 0-1). */
export function chooseTcpTransport(header: string): { channel: number } | null {
  for (const spec of header.split(',')) {
    const parts = spec.trim().split(';').map((p) => p.trim());
    if (!/^RTP\/AVP\/TCP$/i.test(parts[0] ?? '')) continue;
    if (parts.some((p) => /^multicast$/i.test(p))) continue;
    const il = parts.map((p) => /^interleaved=(\d{1,3})(?:-(\d{1,3}))?$/i.exec(p)).find(Boolean);
    const channel = il ? Number(il[1]) : 0;
    if (channel > 254) continue;
    return { channel };
  }
  return null;
}
