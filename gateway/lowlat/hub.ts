import type { Logger } from 'pino';
import { ParameterWatch } from './params.ts';
import { parseStreamKey, type StreamName } from '../streams/keys.ts';
import { createFmp4Reader, MAX_BOX_BYTES, type Fmp4Error, type Fragment, type InitInfo } from './fmp4.ts';

// The low-latency fan-out (wire protocol: /work/notes/contract-10.md, "Low-latency feed"). Each
// session's ffmpeg writes fMP4 on stdout (feed(key)); each browser holds a WebSocket (attach) and
// feeds Media Source Extensions. Per key the hub holds the init segment and the fragments since
// the newest keyframe, so a new viewer gets a picture at once; per viewer it watches the socket's
// send buffer and, when the viewer cannot keep up, stops sending and resumes it at a keyframe.
// What the server holds is bounded: one GOP per key (maxGopBytes) and, per viewer, what its socket
// had queued when it was cut off (viewerHighWaterBytes plus one fragment); the buffers are shared,
// so a thousand viewers of one camera share one copy of each fragment.

/** What the hub needs of a `ws` WebSocket (the server side @fastify/websocket hands over); fakes in tests. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Buffer | string): void;
  close(code?: number, reason?: string): void;
  terminate?(): void;
  ping?(): void;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'close' | 'pong', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** The supervisor's side, one per session key: a new ffmpeg run calls start(), its stdout chunks push(). */
export interface LowLatencyFeed {
  /** A new ffmpeg run: the old init is forgotten; viewers re-init when the new init arrives. */
  start(meta: { stream: StreamName; mode: 'copy' | 'transcode' }): void;
  push(chunk: Buffer): void;
  /** ffmpeg exited: viewers are told and kept; they get the next start()'s init. */
  end(reason: string): void;
  /** Codec string and size once the init segment was seen; null before. */
  info(): { codec: string; mime: string; width: number; height: number } | null;
}

/**
 * An in-process reader of a key's fMP4 (the compat transcode's ffmpeg stdin): the init, then
 * fragments from a keyframe on, raw (no message header). `restart` asks it to start over: a
 * new run's init cannot follow the old stream in one MP4.
 */
export interface FeedSink {
  write(chunk: Buffer, keyframe: boolean): void;
  restart(reason: string): void;
}

export interface LowLatencyHub {
  feed(key: string): LowLatencyFeed;
  /** Read a key's stream in this process (gateway/streams/supervisor.ts FeedTap); returns the detach. */
  tap(key: string, sink: FeedSink): () => void;
  /** Take a viewer's open socket, its token's user and expiry (ms since the epoch). */
  attach(key: string, socket: WebSocketLike, viewer: { userId: string; expiresAt: number }): void;
  viewers(key: string): number;
  /** Close every viewer of a user (revocation), with 4401 unless told otherwise. */
  closeUser(userId: string, code?: number): void;
  /** Close a key's viewers (session stopped) with 4410 and the reason. */
  closeKey(key: string, reason: string): void;
  /** Keys held, viewers attached, and the bytes held for them (see below). */
  stats(): { keys: number; viewers: number; bufferedBytes: number };
  /** Close every viewer (1001) and forget every key; shutdown, bounded: sockets are cut, not waited on. */
  close(): void;
}

export interface LowLatencyHubOptions {
  log: Logger;
  /** The GOP held per key for new viewers; past it the held fragments are dropped and a new viewer waits for the next keyframe. */
  maxGopBytes?: number;
  /** A viewer whose socket has more than this queued is skipped forward to a keyframe once it is down to a quarter of it. */
  viewerHighWaterBytes?: number;
  /** Largest box the fMP4 reader accepts (fmp4.ts MAX_BOX_BYTES). */
  maxBoxBytes?: number;
  /** Sockets are pinged this often; one that has not answered the previous ping is cut (0: no pings). */
  pingIntervalMs?: number;
  /** A closing socket that has not finished the close handshake is cut after this long. */
  closeGraceMs?: number;
  now?: () => number;
  /**
   * A keyframe carried parameter sets the run's init segment does not describe (the camera was
   * reconfigured without dropping its RTSP session): the session should restart (params.ts).
   */
  onParameterChange?: (key: string, reason: string) => void;
}

export const MAX_GOP_BYTES = 8 * 1024 * 1024;
export const VIEWER_HIGH_WATER_BYTES = 2 * 1024 * 1024;
const PING_INTERVAL_MS = 20_000;
const CLOSE_GRACE_MS = 2_000;
const OPEN = 1;

/** The close codes of the protocol. */
export const CLOSE = {
  goingAway: 1001,
  clientSentData: 1008,
  expired: 4401,
  wrongCamera: 4403,
  noSession: 4404,
  stopped: 4410,
} as const;

/** Binary message kinds: byte 0 of every binary message. */
export const KIND = { init: 1, fragment: 2, keyframe: 3 } as const;
export const HEADER_BYTES = 9;

/** One binary message: the kind, the arrival time (float64 BE, ms since the epoch), then the payload. */
export function frameMessage(kind: number, arrivedAt: number, parts: Buffer[]): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = kind;
  header.writeDoubleBE(arrivedAt, 1);
  return Buffer.concat([header, ...parts]);
}

/** A close reason fits the 123 bytes WebSocket allows (ws throws past that). */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = text.slice(0, 120);
  while (Buffer.byteLength(out) > 120) out = out.slice(0, -1);
  return `${out}…`;
}

/**
 * A viewer that cannot keep up: stop sending once its socket holds more than the high-water
 * mark; send again at a keyframe once it is down to a quarter of it (skip forward). A viewer that
 * was never cut off (it is waiting for its first keyframe) starts at a keyframe under the mark.
 */
export function viewerVerdict(v: { state: ViewerState; skipped: boolean }, buffered: number, keyframe: boolean, highWater: number): 'send' | 'drop' | 'resume' | 'stall' {
  if (v.state === 'live') return buffered > highWater ? 'stall' : 'send';
  if (v.state !== 'wait' || !keyframe) return 'drop';
  return buffered <= (v.skipped ? highWater / 4 : highWater) ? 'resume' : 'drop';
}

/**
 * Is a socket dead at the next ping? Alive when it answered the last ping, or when it has less
 * queued than then: a slow link's pong waits behind the fragments queued before it, yet its
 * buffer goes down; a vanished client neither answers nor reads.
 */
export function pingVerdict(last: { answered: boolean; buffered: number }, bufferedNow: number): 'alive' | 'dead' {
  return last.answered || bufferedNow < last.buffered ? 'alive' : 'dead';
}

/** init: waits for an init segment; wait: has it, waits for a keyframe; live: gets every fragment. */
export type ViewerState = 'init' | 'wait' | 'live';

interface Viewer {
  socket: WebSocketLike;
  key: string;
  userId: string;
  state: ViewerState;
  /** Cut off for being slow: the resume is announced with a skip message. */
  skipped: boolean;
  dropped: number;
  closed: boolean;
  /** The last ping: answered yet, and what the socket had queued when it was sent. */
  pinged: { answered: boolean; buffered: number } | null;
  expiry: NodeJS.Timeout | null;
}

interface Channel {
  key: string;
  meta: { stream: StreamName; mode: 'copy' | 'transcode' };
  reader: ReturnType<typeof createFmp4Reader>;
  /** The init segment as its binary message, and its description. */
  init: { message: Buffer; info: InitInfo } | null;
  /** Binary messages since the newest keyframe fragment (first is that keyframe's); empty when none is held. */
  gop: Buffer[];
  gopBytes: number;
  /** Between start() and end(): an ffmpeg run is feeding this key. */
  running: boolean;
  /** Why the last run ended, told to viewers who join before the next. */
  ended: string | null;
  viewers: Set<Viewer>;
  /** In-process readers, and whether each has had an init and a keyframe yet. */
  taps: Map<FeedSink, 'init' | 'wait' | 'live'>;
  /** Warned that the GOP outgrew maxGopBytes in this run. */
  warnedGop: boolean;
  /** In-band parameter sets against the init's (params.ts); kept across runs of the key. */
  watch: ParameterWatch;
}

/**
 * The low-latency hub of one gateway process: reads each session's fMP4, holds the newest GOP,
 * and fans fragments out to WebSocket viewers, skipping the slow ones forward to a keyframe;
 * closes viewers whose token expires (4401), who send anything (1008), whose user is revoked, or
 * whose session stops (4410).
 */
export function createLowLatencyHub(o: LowLatencyHubOptions): LowLatencyHub {
  const maxGopBytes = o.maxGopBytes ?? MAX_GOP_BYTES;
  const highWater = o.viewerHighWaterBytes ?? VIEWER_HIGH_WATER_BYTES;
  const maxBoxBytes = o.maxBoxBytes ?? MAX_BOX_BYTES;
  const closeGraceMs = o.closeGraceMs ?? CLOSE_GRACE_MS;
  const now = o.now ?? Date.now;
  const channels = new Map<string, Channel>();
  let closedHub = false;

  function channel(key: string): Channel {
    let c = channels.get(key);
    if (!c) {
      c = {
        key, meta: { stream: parseStreamKey(key)?.stream ?? 'main', mode: 'copy' }, reader: createFmp4Reader({ maxBoxBytes }),
        init: null, gop: [], gopBytes: 0, running: false, ended: null, viewers: new Set(), taps: new Map(), warnedGop: false, watch: new ParameterWatch(),
      };
      channels.set(key, c);
    }
    return c;
  }

  function send(v: Viewer, data: Buffer | string): void {
    if (v.closed || v.socket.readyState !== OPEN) return;
    try {
      v.socket.send(data);
    } catch (err) {
      o.log.debug({ err, key: v.key }, 'low-latency send failed');
    }
  }
  const sendJson = (v: Viewer, m: Record<string, unknown>) => send(v, JSON.stringify(m));

  function sendInit(c: Channel, v: Viewer): void {
    const { info, message } = c.init!;
    sendJson(v, { type: 'init', codec: info.codec, mime: info.mime, width: info.width, height: info.height, stream: c.meta.stream, mode: c.meta.mode, serverTime: now() });
    send(v, message);
  }

  function dropGop(c: Channel): void {
    c.gop = [];
    c.gopBytes = 0;
  }

  /** Forget the run's stream: init, held GOP, reader state; viewers wait for the next init. */
  function forgetStream(c: Channel): void {
    c.reader.reset();
    c.init = null;
    dropGop(c);
    c.warnedGop = false;
    for (const v of c.viewers) { v.state = 'init'; v.skipped = false; v.dropped = 0; }
  }

  function close(v: Viewer, code: number, reason: string, hard = false): void {
    if (v.closed) return;
    v.closed = true;
    forget(v);
    try {
      v.socket.close(code, closeReason(reason));
    } catch {
      // already closing
    }
    if (hard) v.socket.terminate?.();
    else if (v.socket.terminate) setTimeout(() => v.socket.terminate!(), closeGraceMs).unref();
  }

  function forget(v: Viewer): void {
    if (v.expiry) clearTimeout(v.expiry);
    v.expiry = null;
    const c = channels.get(v.key);
    if (!c) return;
    c.viewers.delete(v);
    if (c.viewers.size === 0 && c.taps.size === 0 && !c.running && !c.init) channels.delete(v.key);
  }

  function onInit(c: Channel, segment: Buffer, info: InitInfo, arrivedAt: number): void {
    c.init = { message: frameMessage(KIND.init, arrivedAt, [segment]), info };
    c.watch.init(segment, info.codec);
    dropGop(c);
    for (const v of c.viewers) {
      sendInit(c, v);
      v.state = 'wait';
      v.skipped = false;
      v.dropped = 0;
    }
    for (const [sink, state] of c.taps) {
      if (state === 'init') {
        c.taps.set(sink, 'wait');
        tapWrite(c, sink, segment, true);
      } else {
        tapRestart(c, sink, 'the stream it reads started a new run');
      }
    }
    o.log.info({ key: c.key, codec: info.codec, width: info.width, height: info.height }, 'low-latency init segment');
  }

  function onFragment(c: Channel, f: Fragment, arrivedAt: number): void {
    const message = frameMessage(f.keyframe ? KIND.keyframe : KIND.fragment, arrivedAt, f.parts);
    if (f.keyframe) {
      dropGop(c);
      const changed = f.parts[1] ? c.watch.keyframe(f.parts[1]) : null;
      if (changed) {
        o.log.info({ key: c.key, reason: changed }, 'low-latency stream changed its parameters');
        try { o.onParameterChange?.(c.key, changed); } catch (err) { o.log.error({ err }, 'onParameterChange failed'); }
      }
    }
    if (f.keyframe || c.gop.length > 0) {
      if (c.gopBytes + message.length <= maxGopBytes) {
        c.gop.push(message);
        c.gopBytes += message.length;
      } else {
        // A GOP this large is not worth holding: new viewers wait for the next keyframe.
        if (!c.warnedGop) o.log.warn({ key: c.key, maxGopBytes }, 'low-latency GOP outgrew the held limit: new viewers wait for the next keyframe');
        c.warnedGop = true;
        dropGop(c);
      }
    }
    for (const [sink, state] of c.taps) {
      if (state === 'init' || (state === 'wait' && !f.keyframe)) continue;
      c.taps.set(sink, 'live');
      tapWrite(c, sink, message.subarray(HEADER_BYTES), f.keyframe);
    }
    for (const v of c.viewers) {
      switch (viewerVerdict(v, v.socket.bufferedAmount, f.keyframe, highWater)) {
        case 'send':
          send(v, message);
          break;
        case 'resume':
          if (v.skipped) sendJson(v, { type: 'skip', dropped: v.dropped });
          v.state = 'live';
          v.skipped = false;
          v.dropped = 0;
          send(v, message);
          break;
        case 'stall':
          v.state = 'wait';
          v.skipped = true;
          v.dropped = 1;
          o.log.debug({ key: c.key, user: v.userId, buffered: v.socket.bufferedAmount }, 'low-latency viewer falls behind: skipped to the next keyframe');
          break;
        case 'drop':
          if (v.skipped) v.dropped++;
      }
    }
  }

  function tapWrite(c: Channel, sink: FeedSink, chunk: Buffer, keyframe: boolean): void {
    try { sink.write(chunk, keyframe); } catch (err) { o.log.error({ err, key: c.key }, 'a low-latency tap failed'); }
  }
  function tapRestart(c: Channel, sink: FeedSink, reason: string): void {
    c.taps.delete(sink);
    try { sink.restart(reason); } catch (err) { o.log.error({ err, key: c.key }, 'a low-latency tap failed'); }
  }

  function tap(key: string, sink: FeedSink): () => void {
    const c = channel(key);
    if (!c.init) {
      c.taps.set(sink, 'init');
    } else {
      tapWrite(c, sink, c.init.message.subarray(HEADER_BYTES), true);
      // The held GOP starts at a keyframe: the reader starts with a picture at once.
      c.taps.set(sink, c.gop.length > 0 ? 'live' : 'wait');
      for (const [i, m] of c.gop.entries()) tapWrite(c, sink, m.subarray(HEADER_BYTES), i === 0);
    }
    return () => {
      const now = channels.get(key);
      if (!now?.taps.delete(sink)) return;
      if (now.viewers.size === 0 && now.taps.size === 0 && !now.running && !now.init) channels.delete(key);
    };
  }

  function onError(c: Channel, error: Fmp4Error): void {
    o.log.warn({ key: c.key, code: error.code, err: error.message }, 'low-latency stream unreadable: viewers resume at the next keyframe');
    // A break in the stream: what is held may not continue into what comes; live viewers are cut to a keyframe.
    dropGop(c);
    for (const [sink, state] of c.taps) if (state === 'live') c.taps.set(sink, 'wait');
    for (const v of c.viewers) {
      if (v.state !== 'live') continue;
      v.state = 'wait';
      v.skipped = true;
      v.dropped = 0;
    }
  }

  function feedOf(key: string): LowLatencyFeed {
    return {
      start(meta) {
        const c = channel(key);
        forgetStream(c);
        c.meta = { stream: meta.stream, mode: meta.mode };
        c.running = true;
        c.ended = null;
      },
      push(chunk) {
        if (closedHub) return;
        const c = channel(key);
        const arrivedAt = now();
        for (const e of c.reader.push(chunk)) {
          if (e.type === 'init') onInit(c, e.segment, e.info, arrivedAt);
          else if (e.type === 'fragment') onFragment(c, e.fragment, arrivedAt);
          else onError(c, e.error);
        }
      },
      end(reason) {
        const c = channels.get(key);
        if (!c) return;
        c.running = false;
        c.ended = reason;
        forgetStream(c);
        for (const v of c.viewers) sendJson(v, { type: 'end', reason });
        if (c.viewers.size === 0 && c.taps.size === 0) channels.delete(key);
      },
      info() {
        const info = channels.get(key)?.init?.info;
        return info ? { codec: info.codec, mime: info.mime, width: info.width, height: info.height } : null;
      },
    };
  }

  const pinger = (o.pingIntervalMs ?? PING_INTERVAL_MS) > 0
    ? setInterval(() => {
      for (const c of channels.values()) {
        for (const v of [...c.viewers]) {
          if (!v.socket.ping) continue;
          const buffered = v.socket.bufferedAmount;
          if (v.pinged && pingVerdict(v.pinged, buffered) === 'dead') {
            o.log.info({ key: c.key, user: v.userId, buffered }, 'low-latency viewer neither answered a ping nor read anything: cut');
            close(v, CLOSE.goingAway, 'no pong', true);
            continue;
          }
          v.pinged = { answered: false, buffered };
          try {
            v.socket.ping();
          } catch {
            // closing already
          }
        }
      }
    }, o.pingIntervalMs ?? PING_INTERVAL_MS)
    : null;
  pinger?.unref();

  return {
    feed: feedOf,
    tap,

    attach(key, socket, viewer) {
      const v: Viewer = {
        socket, key, userId: viewer.userId, state: 'init', skipped: false, dropped: 0, closed: false, pinged: null, expiry: null,
      };
      if (closedHub) {
        try { socket.close(CLOSE.goingAway, 'gateway shutting down'); } catch { /* closing */ }
        socket.terminate?.();
        return;
      }
      const c = channel(key);
      c.viewers.add(v);
      socket.on('message', () => {
        o.log.info({ key, user: v.userId }, 'low-latency viewer sent data: closed');
        close(v, CLOSE.clientSentData, 'the low-latency socket takes no messages');
      });
      socket.on('pong', () => { if (v.pinged) v.pinged.answered = true; });
      socket.on('close', () => { v.closed = true; forget(v); });
      socket.on('error', () => { v.closed = true; forget(v); socket.terminate?.(); });
      const left = viewer.expiresAt - now();
      if (left <= 0) return close(v, CLOSE.expired, 'the media token has expired');
      v.expiry = setTimeout(() => close(v, CLOSE.expired, 'the media token has expired'), Math.min(left, 2 ** 31 - 1));
      v.expiry.unref();
      if (c.init) {
        sendInit(c, v);
        v.state = 'wait';
        if (c.gop.length > 0) {
          for (const m of c.gop) send(v, m);
          v.state = 'live';
        }
      } else if (c.ended !== null) {
        sendJson(v, { type: 'end', reason: c.ended });
      }
    },

    viewers(key) {
      return channels.get(key)?.viewers.size ?? 0;
    },

    closeUser(userId, code = CLOSE.expired) {
      for (const c of [...channels.values()]) {
        for (const v of [...c.viewers]) if (v.userId === userId) close(v, code, 'media access revoked');
      }
    },

    closeKey(key, reason) {
      const c = channels.get(key);
      if (!c) return;
      for (const v of [...c.viewers]) close(v, CLOSE.stopped, reason);
      if (!c.running) channels.delete(key);
    },

    /**
     * bufferedBytes: what the low-latency path holds in memory, at most: each key's init segment,
     * held GOP and partly read box, plus what each viewer's socket has yet to send (an upper bound:
     * a fragment queued on many sockets is one shared buffer, counted here once per socket).
     */
    stats() {
      let viewers = 0;
      let bufferedBytes = 0;
      for (const c of channels.values()) {
        viewers += c.viewers.size;
        bufferedBytes += (c.init?.message.length ?? 0) + c.gopBytes + c.reader.buffered();
        for (const v of c.viewers) bufferedBytes += v.socket.bufferedAmount;
      }
      return { keys: channels.size, viewers, bufferedBytes };
    },

    close() {
      closedHub = true;
      if (pinger) clearInterval(pinger);
      for (const c of [...channels.values()]) for (const v of [...c.viewers]) close(v, CLOSE.goingAway, 'gateway shutting down', true);
      channels.clear();
    },
  };
}
