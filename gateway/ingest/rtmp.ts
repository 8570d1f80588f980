import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { RtmpIngest, RtmpIngestOptions, StreamKeyOwner } from './types.ts';

/**
 * RTMP ingest for mobile and body cameras, on node-media-server's RTMP protocol and fan-out.
 *
 * Only NMS's session (handshake, chunking, AMF commands) and broadcast (GOP cache, fan-out to
 * players) are used; the listener is ours. NodeMediaServer itself is not started: it exits the
 * process when its port is taken, cannot bind port 0, opens a JSON store in ./data and an HTTP
 * admin, logs every stream path (which holds the key) to stdout, and lets a disconnected publisher
 * linger for a 30 s "resume" window.
 *
 * Rules: publish only to app `live` with a key the registry knows for an enabled device, one
 * publisher per key; play only from this host (the gateway's ffmpeg). Keys never reach a log line
 * (a short hash does).
 */

export const RTMP_APP = 'live';
const SAFE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** Media a publisher may send while its key is being looked up (it is held, then replayed). */
const PENDING_BYTES_MAX = 4 * 1024 * 1024;
/**
 * NMS allocates whatever message length a chunk header declares (up to 16 MiB), per chunk stream,
 * before anyone is authenticated: a few bytes of garbage could make it allocate gigabytes.
 * Before a connection publishes or plays only small command messages are allowed.
 */
const MESSAGE_MAX_UNAUTHENTICATED = 64 * 1024;
const MESSAGE_MAX = 8 * 1024 * 1024;
const PARSE_BUFFERS_MAX = 32 * 1024 * 1024;
const CHUNK_STREAMS_MAX = 32;

// ---- the slice of node-media-server 4.x this adapter touches (the package ships no types) ----
interface NmsPacket { codec_type: number; flags: number; size: number; data: Buffer; dts: number; pts: number }
interface NmsConnectRequest { app: string; name: string; host: string; query: object }
interface NmsBroadcast {
  publisher: NmsSession | null;
  subscribers: Map<string, NmsSession>;
  publishGraceMs: number;
  postPublish(session: NmsSession): string | null;
  donePublish(session: NmsSession): void;
  postPlay(session: NmsSession): string | null;
  donePlay(session: NmsSession): void;
  broadcastMessage(packet: NmsPacket): void;
}
interface NmsInPacket { capacity: number; header: { length: number } }
interface NmsRtmp {
  parserData(data: Buffer): string | null;
  packetAlloc(): void;
  parserPacket: NmsInPacket;
  inPackets: Map<number, NmsInPacket>;
}
interface NmsSession {
  id: string;
  isPublisher: boolean;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamHost: string;
  streamQuery: object;
  inBytes: number;
  broadcast: NmsBroadcast;
  rtmp: NmsRtmp;
  run(): void;
  close(): void;
  onConnect: (req: NmsConnectRequest) => void;
  onPlay: () => void;
  onPush: () => void;
  onPacket: (packet: NmsPacket) => void;
  onData: (data: Buffer) => void;
  onClose: () => void;
  onError: (err: Error) => void;
}

const require = createRequire(import.meta.url);
const RtmpSession = require('node-media-server/src/session/rtmp_session.js') as new (socket: Socket) => NmsSession;
const BroadcastServer = require('node-media-server/src/server/broadcast_server.js') as new (path: string) => NmsBroadcast;
const nmsLogger = require('node-media-server/src/core/logger.js') as { log: (message: string, level?: string) => void };

/** NMS logs stream paths (= stream keys) to stdout; its level setting cannot turn that off. */
function silenceNms(): void {
  nmsLogger.log = () => {};
}

/** What may be logged instead of a stream key. */
export function keyRef(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function bareAddress(address: string | undefined): string {
  const a = address ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** A client on this machine: loopback, or connecting from the very address it reached us on. */
export function isLocalPeer(remote: string | undefined, local: string | undefined): boolean {
  const r = bareAddress(remote);
  if (r === '::1' || r.startsWith('127.')) return true;
  return r !== '' && r === bareAddress(local);
}

/** Host for URLs pointing at our own listener from this machine. */
export function loopbackHost(bindHost: string): string {
  if (bindHost === '' || bindHost === '0.0.0.0' || bindHost === '::' || bindHost === 'localhost' || bindHost.startsWith('127.')) return '127.0.0.1';
  return bindHost.includes(':') ? `[${bindHost}]` : bindHost;
}

class RtmpLimitError extends Error {}

/** Refuse oversized messages and too many chunk streams before NMS allocates their buffers (throws). */
function guardAllocations(rtmp: NmsRtmp, authenticated: () => boolean): void {
  const alloc = rtmp.packetAlloc.bind(rtmp);
  rtmp.packetAlloc = () => {
    const packet = rtmp.parserPacket;
    const length = packet.header.length;
    if (packet.capacity < length) {
      if (length > (authenticated() ? MESSAGE_MAX : MESSAGE_MAX_UNAUTHENTICATED)) throw new RtmpLimitError('rtmp message too large');
      if (rtmp.inPackets.size > CHUNK_STREAMS_MAX) throw new RtmpLimitError('too many rtmp chunk streams');
      let total = length;
      for (const p of rtmp.inPackets.values()) if (p !== packet) total += p.capacity;
      if (total > PARSE_BUFFERS_MAX) throw new RtmpLimitError('rtmp parse buffers too large');
    }
    alloc();
  };
}

type Role = 'new' | 'pending' | 'publisher' | 'player';

interface Conn {
  socket: Socket;
  session: NmsSession;
  remote: string;
  role: Role;
  /** Refused or closed: nothing more is parsed, accepted or forwarded. The role stays for the close handler. */
  dead: boolean;
  app: string;
  name: string;
  deviceId: string | null;
  held: NmsPacket[];
  heldBytes: number;
  /** Resolves once the socket has closed and the close was handled. */
  ended: Promise<void>;
}

export async function startRtmpIngest(opts: RtmpIngestOptions): Promise<RtmpIngest> {
  const log = opts.log.child({ component: 'rtmp-ingest' });
  const idleTimeoutMs = opts.idleTimeoutMs ?? 15_000;
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
  silenceNms();

  const conns = new Set<Conn>();
  const live = new Map<string, Conn>(); // stream key → its publisher
  const broadcasts = new Map<string, NmsBroadcast>(); // our own, not NMS's process-wide Context
  let closing: Promise<void> | null = null;

  function broadcastFor(path: string): NmsBroadcast {
    let b = broadcasts.get(path);
    if (!b) {
      b = new BroadcastServer(path);
      b.publishGraceMs = 0; // a push ends when its connection does
      broadcasts.set(path, b);
    }
    return b;
  }

  function dropIfIdle(path: string): void {
    const b = broadcasts.get(path);
    if (b && b.publisher === null && b.subscribers.size === 0) broadcasts.delete(path);
  }

  function refuse(conn: Conn, reason: string, fields: Record<string, unknown> = {}): void {
    if (conn.dead) return;
    log.warn({ remote: conn.remote, app: conn.app || undefined, key: conn.name ? keyRef(conn.name) : undefined, ...fields, reason },
      'rtmp connection refused');
    conn.dead = true;
    conn.socket.destroy();
  }

  function call(what: string, fn: (id: string) => void, deviceId: string): void {
    try { fn(deviceId); } catch (err) { log.error({ deviceId, err }, `${what} handler threw`); }
  }

  async function authorizePublish(conn: Conn): Promise<void> {
    if (conn.role !== 'new') return refuse(conn, 'second publish or play on one connection');
    if (conn.app !== RTMP_APP) return refuse(conn, 'publish to an app other than live');
    conn.role = 'pending';
    conn.socket.pause(); // what already arrived is held in conn.held until the key is known
    let owner: StreamKeyOwner | null;
    try {
      owner = await opts.lookupStreamKey(conn.name);
    } catch (err) {
      log.error({ err, key: keyRef(conn.name) }, 'stream key lookup failed');
      return refuse(conn, 'stream key lookup failed');
    }
    if (conn.dead) return; // the pusher left (or was dropped) while we looked
    if (!owner) return refuse(conn, 'unknown stream key');
    if (!owner.enabled) return refuse(conn, 'device disabled', { deviceId: owner.deviceId });
    const busy = live.get(conn.name) ?? [...live.values()].find((c) => c.deviceId === owner.deviceId);
    if (busy) return refuse(conn, 'device already publishing', { deviceId: owner.deviceId });

    // Broadcast under the device id, not the key: the gateway's own ffmpeg pulls it as
    // /live/<device id> (sourceUrl), so no process learns the key, which is stored hashed.
    conn.session.streamPath = `/${RTMP_APP}/${owner.deviceId}`;
    const b = broadcastFor(conn.session.streamPath);
    conn.session.broadcast = b;
    if (b.postPublish(conn.session) !== null) return refuse(conn, 'stream already has a publisher', { deviceId: owner.deviceId });
    conn.session.isPublisher = true;
    conn.role = 'publisher';
    conn.deviceId = owner.deviceId;
    live.set(conn.name, conn);
    for (const packet of conn.held) b.broadcastMessage(packet);
    conn.held = [];
    conn.heldBytes = 0;
    conn.socket.setTimeout(idleTimeoutMs);
    conn.socket.resume();
    log.info({ deviceId: owner.deviceId, key: keyRef(conn.name), remote: conn.remote }, 'rtmp push started');
    call('onPublish', opts.onPublish, owner.deviceId);
  }

  function authorizePlay(conn: Conn): void {
    if (conn.role !== 'new') return refuse(conn, 'second publish or play on one connection');
    if (!isLocalPeer(conn.socket.remoteAddress, conn.socket.localAddress)) return refuse(conn, 'play from outside this host');
    if (conn.app !== RTMP_APP) return refuse(conn, 'play from an app other than live');
    const b = broadcastFor(conn.session.streamPath);
    conn.session.broadcast = b;
    conn.role = 'player';
    conn.socket.setTimeout(0); // the puller (our ffmpeg) has its own read timeout
    b.postPlay(conn.session);
    log.debug({ key: keyRef(conn.name), remote: conn.remote }, 'rtmp play started');
  }

  function onClosed(conn: Conn, ended: () => void): void {
    const was = conn.role;
    conn.dead = true;
    conns.delete(conn);
    const path = conn.session.streamPath;
    if (was === 'player') {
      conn.session.broadcast.donePlay(conn.session);
      dropIfIdle(path);
    }
    if (was === 'publisher' && conn.deviceId) {
      const b = conn.session.broadcast;
      b.donePublish(conn.session); // grace 0: NMS finishes it on the next timer tick
      // Players of a finished push get EOF now rather than waiting on their read timeout.
      for (const player of b.subscribers.values()) player.close();
      setTimeout(() => dropIfIdle(path), 0); // after NMS's finish (same delay, FIFO)
      if (live.get(conn.name) === conn) live.delete(conn.name);
      log.info({ deviceId: conn.deviceId, key: keyRef(conn.name), remote: conn.remote }, 'rtmp push ended');
      call('onUnpublish', opts.onUnpublish, conn.deviceId);
    }
    ended();
  }

  function accept(socket: Socket): void {
    if (closing) { socket.destroy(); return; }
    const session = new RtmpSession(socket);
    let ended = () => {};
    const conn: Conn = {
      socket, session, remote: `${bareAddress(socket.remoteAddress)}:${socket.remotePort ?? ''}`,
      role: 'new', dead: false, app: '', name: '', deviceId: null, held: [], heldBytes: 0,
      ended: new Promise<void>((resolve) => { ended = resolve; }),
    };
    conns.add(conn);

    session.onConnect = (req) => {
      // Called just before onPush/onPlay with the requested app and stream name.
      conn.app = String(req.app);
      conn.name = String(req.name);
      session.streamApp = conn.app;
      session.streamName = conn.name;
      session.streamHost = req.host;
      session.streamQuery = req.query;
      session.streamPath = `/${conn.app}/${conn.name}`;
      if (!SAFE_NAME.test(conn.app) || !SAFE_NAME.test(conn.name)) refuse(conn, 'invalid app or stream name');
    };
    session.onPush = () => {
      if (conn.dead) return;
      authorizePublish(conn).catch((err: unknown) => {
        log.error({ err }, 'rtmp publish failed');
        refuse(conn, 'internal error');
      });
    };
    session.onPlay = () => {
      if (!conn.dead) authorizePlay(conn);
    };
    session.onPacket = (packet) => {
      if (conn.dead) return;
      if (conn.role === 'publisher') {
        session.broadcast.broadcastMessage(packet);
      } else if (conn.role === 'pending') {
        // NMS hands out views on its reusable parse buffer: keep a copy.
        conn.held.push({ ...packet, data: Buffer.from(packet.data.subarray(0, packet.size)) });
        conn.heldBytes += packet.size;
        if (conn.heldBytes > PENDING_BYTES_MAX) refuse(conn, 'too much data before the key was checked');
      }
      // from anyone else (a player, a connection that never published): dropped
    };
    guardAllocations(session.rtmp, () => conn.role === 'publisher' || conn.role === 'player');
    let first = true;
    session.onData = (data) => {
      if (conn.dead) return;
      if (first && data.length > 0) {
        first = false;
        if (data[0] !== 3) return refuse(conn, 'not rtmp (handshake version is not 3)');
      }
      session.inBytes += data.length;
      // NMS's own parse errors may quote the stream path (the key): only our limit errors are logged.
      let failure: string | null;
      try {
        failure = session.rtmp.parserData(data) === null ? null : 'parse error';
      } catch (e) {
        failure = e instanceof RtmpLimitError ? e.message : 'parse error';
      }
      if (failure !== null) refuse(conn, 'malformed rtmp', { error: failure });
    };
    session.onClose = () => onClosed(conn, ended);
    session.onError = (err) => log.debug({ remote: conn.remote, code: (err as NodeJS.ErrnoException).code }, 'rtmp socket error');

    socket.setNoDelay(true);
    socket.setTimeout(handshakeTimeoutMs);
    socket.on('timeout', () => {
      const reason = conn.role === 'publisher' ? 'publisher silent'
        : conn.role === 'pending' ? 'stream key lookup took too long' : 'no publish or play in time';
      refuse(conn, reason, { deviceId: conn.deviceId ?? undefined });
    });
    session.run();
  }

  const server = createServer(accept);
  server.maxConnections = opts.maxConnections ?? 500;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'rtmp listener error'));
  const port = (server.address() as AddressInfo).port;
  const urlHost = loopbackHost(opts.host);
  log.info({ host: opts.host, port }, 'rtmp ingest listening');

  return {
    port,
    sourceUrl: (deviceId) => `rtmp://${urlHost}:${port}/${RTMP_APP}/${encodeURIComponent(deviceId)}`,
    publishing: () => [...live.values()].flatMap((c) => (c.deviceId ? [c.deviceId] : [])),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const open = [...conns];
        for (const c of open) c.socket.destroy();
        await Promise.all([closed, ...open.map((c) => c.ended)]);
        log.info({ port }, 'rtmp ingest closed');
      })();
      return closing;
    },
  };
}
