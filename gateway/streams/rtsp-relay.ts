import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from '../../core/log.ts';
import type { Failure } from './decide.ts';
import {
  authorization, chooseChallenge, header, headers, parseChallenges, relayToken, requestLine, rewriteResponse,
  RtspFramer, serialize, statusOf, toCameraUri, withoutHeaders, type Challenge, type RtspMessage,
} from './relay-protocol.ts';
import { checkMediaUrl, type MediaScheme } from './url-policy.ts';

/**
 * The credential relay: camera passwords never reach a process's arguments. ffmpeg is given
 * `rtsp://127.0.0.1:<port>/<one-time token>/<camera path>` with no credentials; the relay connects to
 * the camera (rtsp, or rtsps over TLS), forwards ffmpeg's requests with the URI rewritten, answers the
 * camera's 401 challenges itself (Digest or Basic), rewrites the camera URLs of its answers back to
 * relay URLs, and passes interleaved RTP/RTCP through untouched both ways (TCP interleaved only: the
 * sessions run `-rtsp_transport tcp`). http(s) sources with credentials go through a loopback HTTP
 * proxy path the same way.
 *
 * Listens on 127.0.0.1 only. A token is random (192 bits), issued for one session run and dropped
 * when the run ends; an RTSP token serves one connection (the run's ffmpeg), never a second. Nothing
 * logged names a credential or a token.
 */

export interface RelaySource {
  url: string;
  username: string | null;
  password: string | null;
}

export interface RelayTicket {
  /** What ffmpeg opens: a loopback URL without credentials. */
  readonly url: string;
  /** The one-time token in `url` (masked wherever the URL is logged). */
  readonly token: string;
  /** What went wrong between the relay and the camera in this run (refused, timed out, auth…), if anything. */
  failure(): Failure | null;
  /** Drop the token and cut its connections (the run ended). */
  close(): void;
}

export interface MediaRelay {
  /**
   * A ticket for a source with credentials (rtsp, rtsps, http, https); null when the source has no
   * credentials (or is rtmp) and ffmpeg may open it as it is. Throws UrlRefused for a URL ffmpeg must not open.
   */
  open(source: RelaySource): Promise<RelayTicket | null>;
  /** Tokens alive (tests, diagnostics). */
  size(): number;
  close(): Promise<void>;
}

/** Camera connect timeout (ffmpeg's own read timeout is 5 s). */
const CONNECT_TIMEOUT_MS = 5000;
/** ffmpeg must send its first request this soon after connecting. */
const FIRST_REQUEST_MS = 10_000;
/** Bytes held from ffmpeg while the camera connection is being made. */
const PENDING_MAX = 256 * 1024;
const TOKEN = () => randomBytes(24).toString('base64url');

interface Target {
  scheme: MediaScheme;
  /** `rtsp://host:port` (no credentials, no path). */
  origin: string;
  host: string;
  port: number;
  username: string;
  password: string;
  /** Path and query of the source URL. */
  path: string;
}

interface Ticket {
  token: string;
  kind: 'rtsp' | 'http';
  target: Target;
  claimed: boolean;
  closed: boolean;
  failure: Failure | null;
  sockets: Set<Socket>;
  /** The last challenge the camera sent, answered on every later request (HTTP). */
  challenge: Challenge | null;
  nc: number;
}

const DEFAULT_PORTS: Partial<Record<MediaScheme, number>> = { rtsp: 554, rtsps: 322, http: 80, https: 443 };

/** What a camera connect error means, in the words classifyFailure uses. */
export function connectFailure(err: NodeJS.ErrnoException): Failure {
  switch (err.code) {
    case 'ECONNREFUSED': return { kind: 'refused', reason: 'connection refused' };
    case 'ETIMEDOUT': return { kind: 'timeout', reason: 'connection timed out' };
    case 'ECONNRESET': case 'EPIPE': return { kind: 'lost', reason: 'connection to camera lost' };
    default: return { kind: 'unreachable', reason: 'camera unreachable' };
  }
}

const AUTH_FAILED: Failure = { kind: 'auth', reason: 'authentication refused by camera' };

export function createRtspRelay(opts: { log: Logger; host?: string }): MediaRelay {
  const log = opts.log.child({ component: 'rtsp-relay' });
  const host = opts.host ?? '127.0.0.1';
  const tickets = new Map<string, Ticket>();
  let rtspServer: Server | null = null;
  let httpServer: HttpServer | null = null;
  let ports: Promise<{ rtsp: number; http: number }> | null = null;
  let closed = false;

  function listening(): Promise<{ rtsp: number; http: number }> {
    ports ??= (async () => {
      rtspServer = createServer({ noDelay: true }, onRtspConnection);
      httpServer = createHttpServer(onHttpRequest);
      const listen = (s: Server | HttpServer) => new Promise<number>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, host, () => { s.off('error', reject); resolve((s.address() as AddressInfo).port); });
      });
      const [rtsp, http] = await Promise.all([listen(rtspServer), listen(httpServer)]);
      rtspServer.on('error', (err) => log.error({ err: err.message }, 'relay listener error'));
      httpServer.on('error', (err) => log.error({ err: err.message }, 'relay listener error'));
      return { rtsp, http };
    })();
    return ports;
  }

  function fail(t: Ticket, f: Failure): void {
    if (t.closed) return;
    t.failure ??= f;
  }

  function dropTicket(t: Ticket): void {
    if (t.closed) return;
    t.closed = true;
    tickets.delete(t.token);
    for (const s of t.sockets) s.destroy();
    t.sockets.clear();
  }

  // ---- RTSP ----

  function onRtspConnection(client: Socket): void {
    if (closed) { client.destroy(); return; }
    const framer = new RtspFramer();
    let session: RtspSession | null = null;
    const timer = setTimeout(() => client.destroy(), FIRST_REQUEST_MS);
    timer.unref();
    client.on('error', () => { /* close follows */ });
    client.on('close', () => { clearTimeout(timer); session?.clientClosed(); });
    const onData = (chunk: Buffer) => {
      if (session) return;
      const chunks = framer.push(chunk);
      const first = chunks[0];
      if (!first) return;
      clearTimeout(timer);
      const req = first.kind === 'message' ? requestLine(first.message) : null;
      const token = req ? relayToken(req.uri) : null;
      const t = token ? tickets.get(token) : undefined;
      if (!req || !t || t.kind !== 'rtsp' || t.claimed || t.closed || first.kind !== 'message') {
        // An unknown, spent or foreign path: answered like any missing stream, and nothing else.
        log.warn({ method: req?.method }, 'relay refused a connection: unknown path');
        const cseq = first.kind === 'message' ? header(first.message, 'cseq') : undefined;
        client.end(`RTSP/1.0 404 Not Found\r\n${cseq && /^\d{1,10}$/.test(cseq) ? `CSeq: ${cseq}\r\n` : ''}\r\n`);
        setTimeout(() => client.destroy(), 1000).unref();
        client.off('data', onData);
        return;
      }
      t.claimed = true;
      t.sockets.add(client);
      client.off('data', onData);
      session = new RtspSession(t, client, framer, chunks);
    };
    client.on('data', onData);
  }

  /** One ffmpeg ↔ camera connection through the relay. */
  class RtspSession {
    private upstream: Socket | null = null;
    private connected = false;
    private readonly pendingOut: Buffer[] = [];
    private pendingBytes = 0;
    private readonly upFramer = new RtspFramer();
    private upCseq = 0;
    private readonly inFlight = new Map<number, { message: RtspMessage; clientCseq: string | null; method: string; uri: string; retried: boolean; authorized: boolean }>();
    private challenge: Challenge | null = null;
    private nc = 0;
    private readonly prefix: string;
    private ended = false;

    constructor(private readonly t: Ticket, private readonly client: Socket, private readonly framer: RtspFramer, first: ReturnType<RtspFramer['push']>) {
      const addr = client.localAddress === '::1' ? '[::1]' : client.localAddress ?? host;
      this.prefix = `rtsp://${addr}:${client.localPort}/${t.token}`;
      this.connectUpstream();
      client.on('data', (chunk: Buffer) => this.fromClient(this.framer.push(chunk)));
      client.on('drain', () => this.upstream?.resume());
      this.fromClient(first);
    }

    private connectUpstream(): void {
      const { target } = this.t;
      const onConnect = () => {
        this.connected = true;
        up.setTimeout(0);
        for (const b of this.pendingOut) up.write(b);
        this.pendingOut.length = 0;
        this.pendingBytes = 0;
      };
      const up: Socket = target.scheme === 'rtsps'
        // Certificates are not verified, as ffmpeg's own rtsps (tls_verify=0): cameras ship self-signed ones.
        ? tlsConnect({ host: target.host, port: target.port, servername: isIP(target.host) ? undefined : target.host, rejectUnauthorized: false }, onConnect)
        : netConnect({ host: target.host, port: target.port }, onConnect);
      this.upstream = up;
      this.t.sockets.add(up);
      up.setNoDelay(true);
      up.setTimeout(CONNECT_TIMEOUT_MS, () => {
        if (this.connected) return;
        fail(this.t, { kind: 'timeout', reason: 'connection timed out' });
        this.abort('503 Service Unavailable');
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (this.ended) return;
        fail(this.t, this.connected ? { kind: 'lost', reason: 'connection to camera lost' } : connectFailure(err));
        log.debug({ camera: `${target.host}:${target.port}`, code: err.code }, 'camera connection error');
      });
      up.on('close', () => {
        if (!this.ended) fail(this.t, this.connected ? { kind: 'lost', reason: 'connection to camera lost' } : { kind: 'unreachable', reason: 'camera unreachable' });
        this.abort(this.connected ? null : '503 Service Unavailable');
      });
      up.on('drain', () => this.client.resume());
      up.on('data', (chunk: Buffer) => this.fromCamera(this.upFramer.push(chunk)));
    }

    private toCamera(b: Buffer): void {
      if (!this.connected) {
        this.pendingBytes += b.length;
        if (this.pendingBytes > PENDING_MAX) { this.abort(null); return; }
        this.pendingOut.push(b);
        return;
      }
      if (!this.upstream!.write(b)) this.client.pause();
    }

    private toClient(b: Buffer): void {
      if (this.client.destroyed) return;
      if (!this.client.write(b)) this.upstream?.pause();
    }

    /** A request from ffmpeg (or RTCP): rewritten, authorized and sent on. */
    private fromClient(chunks: ReturnType<RtspFramer['push']>): void {
      for (const c of chunks) {
        if (this.ended) return;
        if (c.kind === 'binary') { this.toCamera(c.data); continue; }
        if (c.kind === 'error') { this.abort('400 Bad Request'); return; }
        const req = requestLine(c.message);
        if (!req) { this.toCamera(serialize(c.message)); continue; } // ffmpeg answering a camera's request
        const uri = req.uri === '*' ? '*' : toCameraUri(req.uri, this.t.token, this.t.target.origin);
        if (uri === null) { this.abort('404 Not Found'); return; }
        this.send({ message: c.message, clientCseq: header(c.message, 'cseq') ?? null, method: req.method, uri, retried: false, authorized: false });
      }
    }

    private send(r: { message: RtspMessage; clientCseq: string | null; method: string; uri: string; retried: boolean; authorized: boolean }): void {
      const cseq = ++this.upCseq;
      const hs = withoutHeaders(r.message, 'cseq', 'authorization', 'proxy-authorization', 'content-length');
      hs.unshift(['CSeq', String(cseq)]);
      r.authorized = false;
      if (this.challenge) {
        hs.push(['Authorization', authorization(this.challenge, { username: this.t.target.username, password: this.t.target.password, method: r.method, uri: r.uri, nc: ++this.nc })]);
        r.authorized = true;
      }
      this.inFlight.set(cseq, r);
      this.toCamera(serialize({ startLine: `${r.method} ${r.uri} ${requestLine(r.message)?.version ?? 'RTSP/1.0'}`, headers: hs, body: r.message.body }));
    }

    /** A response from the camera (or RTP): challenges answered here, URLs rewritten, on to ffmpeg. */
    private fromCamera(chunks: ReturnType<RtspFramer['push']>): void {
      for (const c of chunks) {
        if (this.ended) return;
        if (c.kind === 'binary') { this.toClient(c.data); continue; }
        if (c.kind === 'error') {
          fail(this.t, { kind: 'invalid-data', reason: 'invalid data from camera' });
          this.abort('502 Bad Gateway');
          return;
        }
        const status = statusOf(c.message);
        if (status === null) { this.toClient(serialize(c.message)); continue; } // a camera's own request
        const cseq = Number(header(c.message, 'cseq'));
        const r = Number.isInteger(cseq) ? this.inFlight.get(cseq) : undefined;
        if (r) this.inFlight.delete(cseq);
        if (r && status === 401) {
          const next = chooseChallenge(parseChallenges(headers(c.message, 'www-authenticate')));
          // Answer a first challenge, or a fresh nonce (stale); the same refusal twice is a wrong password.
          const fresh = next && (!r.authorized || next.params.stale?.toLowerCase() === 'true' || next.params.nonce !== this.challenge?.params.nonce);
          if (next && !r.retried && fresh) {
            this.challenge = next;
            this.nc = 0;
            this.send({ ...r, retried: true });
            continue;
          }
          fail(this.t, AUTH_FAILED);
        }
        this.toClient(serialize(rewriteResponse(c.message, this.prefix, r ? r.clientCseq : null)));
      }
    }

    /** End both sides; answer ffmpeg's pending request with `status` first when given. */
    private abort(status: string | null): void {
      if (this.ended) return;
      this.ended = true;
      if (status && !this.client.destroyed) {
        const pending = [...this.inFlight.values()][0];
        const cseq = pending?.clientCseq;
        this.client.end(`RTSP/1.0 ${status}\r\n${cseq && /^\d{1,10}$/.test(cseq) ? `CSeq: ${cseq}\r\n` : ''}\r\n`);
        setTimeout(() => this.client.destroy(), 1000).unref();
      } else {
        this.client.destroy();
      }
      this.upstream?.destroy();
    }

    clientClosed(): void {
      this.ended = true;
      this.upstream?.destroy();
      this.t.sockets.delete(this.client);
    }
  }

  // ---- HTTP(S) ----

  function onHttpRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const token = relayToken(`http://relay${url}`);
    const t = token ? tickets.get(token) : undefined;
    if (!t || t.kind !== 'http' || t.closed) {
      log.warn({ method: req.method }, 'relay refused a request: unknown path');
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const camera = toCameraUri(`http://relay${url}`, t.token, t.target.origin)!;
    const cameraPath = (() => { const c = new URL(camera); return `${c.pathname}${c.search}`; })();
    t.sockets.add(req.socket);
    req.socket.once('close', () => t.sockets.delete(req.socket));
    const prefix = `http://${req.socket.localAddress}:${req.socket.localPort}/${t.token}`;
    const forward: Record<string, string> = {};
    for (const name of ['range', 'user-agent', 'accept', 'icy-metadata', 'if-range']) {
      const v = req.headers[name];
      if (typeof v === 'string') forward[name] = v;
    }
    const attempt = (retried: boolean) => {
      const hs = { ...forward };
      if (t.challenge) hs.authorization = authorization(t.challenge, { username: t.target.username, password: t.target.password, method: req.method!, uri: cameraPath, nc: ++t.nc });
      const upReq = (t.target.scheme === 'https' ? httpsRequest : httpRequest)(camera, {
        method: req.method, headers: hs, timeout: CONNECT_TIMEOUT_MS * 2, rejectUnauthorized: false,
      }, (up) => {
        if (up.statusCode === 401) {
          const raw = up.headers['www-authenticate'];
          const next = chooseChallenge(parseChallenges(Array.isArray(raw) ? raw : raw ? [raw] : []));
          if (next && !retried && (!hs.authorization || next.params.nonce !== t.challenge?.params.nonce || next.params.stale?.toLowerCase() === 'true')) {
            up.resume();
            t.challenge = next;
            t.nc = 0;
            attempt(true);
            return;
          }
          fail(t, AUTH_FAILED);
        }
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) {
          if (v === undefined || k === 'www-authenticate' || k === 'set-cookie' || k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding') continue;
          out[k] = k === 'location' && typeof v === 'string' ? v.replace(/^https?:\/\/[^/?#]*/i, (o) => (o.toLowerCase() === t.target.origin.toLowerCase() ? prefix : o)) : v;
        }
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
      });
      upReq.on('timeout', () => { fail(t, { kind: 'timeout', reason: 'connection timed out' }); upReq.destroy(); });
      upReq.on('error', (err: NodeJS.ErrnoException) => {
        fail(t, connectFailure(err));
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      res.on('close', () => upReq.destroy());
      upReq.end();
    };
    attempt(false);
  }

  return {
    async open(source) {
      if (closed) throw new Error('the relay is closed');
      const checked = checkMediaUrl(source.url, 'url');
      const username = source.username ?? checked.username ?? null;
      const password = source.password ?? checked.password ?? '';
      if (!username || checked.scheme === 'rtmp') return null;
      const u = new URL(checked.url);
      const port = Number(u.port) || DEFAULT_PORTS[checked.scheme]!;
      const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      const kind = checked.scheme === 'rtsp' || checked.scheme === 'rtsps' ? 'rtsp' : 'http';
      const t: Ticket = {
        token: TOKEN(), kind, claimed: false, closed: false, failure: null, sockets: new Set(), challenge: null, nc: 0,
        target: { scheme: checked.scheme, origin: `${checked.scheme}://${u.host}`, host: hostname, port, username, password, path: `${u.pathname}${u.search}` },
      };
      const p = await listening();
      tickets.set(t.token, t);
      const path = t.target.path.startsWith('/') ? t.target.path : `/${t.target.path}`;
      const url = kind === 'rtsp' ? `rtsp://${host}:${p.rtsp}/${t.token}${path}` : `http://${host}:${p.http}/${t.token}${path}`;
      return {
        url,
        token: t.token,
        failure: () => t.failure,
        close: () => dropTicket(t),
      };
    },
    size: () => tickets.size,
    async close() {
      closed = true;
      for (const t of [...tickets.values()]) dropTicket(t);
      const stop = (s: Server | HttpServer | null) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
      if (httpServer) (httpServer as HttpServer).closeAllConnections();
      await Promise.all([stop(rtspServer), stop(httpServer)]);
    },
  };
}
