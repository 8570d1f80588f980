import { readFile, stat } from 'node:fs/promises';
import { HttpError } from '../../core/http/errors.ts';
import type { Logger } from '../../core/log.ts';
import { parseStreamKey, STREAMS, streamKey, type CameraStream, type StreamName } from './keys.ts';
import type { MediaLayout } from './layout.ts';
import { createRtspRelay, type MediaRelay } from './rtsp-relay.ts';
import { StreamSupervisor, type FeedTap, type LowLatencySink, type SupervisorOptions } from './supervisor.ts';
import type { SessionInfo, StateChange, StreamSource } from './types.ts';

/**
 * The node's stream sessions: at most one supervisor (one ffmpeg, one RTSP pull) per camera and stream
 * (main, sub: gateway/streams/keys.ts), however many viewers; bounded in number; live-only sessions stop
 * when nobody has asked for them for `idleStopMs`; recording sessions (main streams) run always.
 * Every method taking a `key` takes a device id for the main stream (what most callers mean).
 */

/** The node is full: an HttpError, so the API answers 503 `{ error: 'unavailable', message }` as it is. */
export class SessionLimitError extends HttpError {
  constructor(readonly limit: number) {
    super(503, 'unavailable', `this gateway node is at its limit of ${limit} sessions`);
    this.name = 'SessionLimitError';
  }
}

export interface SessionManagerOptions {
  log: Logger;
  layout: MediaLayout;
  maxSessions: number;
  /** A live-only session with no open/touch for this long stops with reason "idle". */
  idleStopMs: number;
  /** No new live segment for this long → restart (default max(6 s, 4 × hlsTime)). */
  staleAfterMs?: number;
  /** Free space under which sessions degrade (default 500 MB); a function is read at every check. */
  minFreeMb?: number | (() => number);
  /** How often a degraded session looks at the disk again (default 5 s). */
  diskRetryMs?: number;
  hlsTime?: number;
  /** The source of a camera's stream (password decrypted). Throwing means the device is gone, disabled or has no such stream. */
  source: (deviceId: string, stream: CameraStream) => Promise<StreamSource>;
  /** The low-latency feed of a session key (gateway/lowlat/hub.ts); none: no fMP4 output. */
  lowLatency?: (key: string) => LowLatencySink;
  /** Reading a session key's feed in process (the hub's tap): what a compat transcode reads; none: no compat sessions. */
  tap?: (key: string) => FeedTap;
  /** Transcoding sessions this node runs at most (each costs about a core per 1080p stream; default 4). */
  maxTranscodes?: number;
  /** Caps of a transcode (default 1080 lines, 25 fps). */
  transcode?: { maxHeight: number; maxFps: number };
  /** Carries camera credentials for ffmpeg (default: a loopback relay of the manager's own, closed with it). */
  relay?: MediaRelay;
  /** Every session state change (persist to stream_events, publish). Must not throw. */
  onStateChange: (change: StateChange) => void;
  /** Passed to every supervisor (tests). */
  supervisor?: Partial<Pick<SupervisorOptions, 'spawn' | 'freeSpaceMb' | 'startGraceMs' | 'stopGraceMs' | 'tickMs' | 'listSize'>>;
}

export interface SessionManager {
  /** Start the camera's session or join it. A viewer join counts a view and refreshes the idle timer. */
  open(key: string, opts?: { viewer?: boolean }): Promise<SessionInfo>;
  /** A playlist or segment was served: keeps a live-only session alive. */
  touch(deviceId: string): void;
  /** True once index.m3u8 lists at least one segment; false on timeout or when the session is gone. */
  waitForPlaylist(deviceId: string, timeoutMs: number): Promise<boolean>;
  /** The devices whose sessions must run (and record) always. */
  setRecording(deviceIds: string[]): Promise<void>;
  /** The registry changed for this device: its sessions restart with the new source, or stop when it is gone/disabled. */
  reconcile(deviceId: string): Promise<void>;
  /** The health checker's judgement of a camera: offline sessions back off to minutes, online ones retry at once. */
  setHealth(deviceId: string, state: 'online' | 'offline' | 'degraded' | 'unknown'): void;
  /** Transcoding sessions running, and the node's limit. */
  transcodes(): { running: number; limit: number };
  /** Restart a running session's ffmpeg at once (its camera changed the stream under it). */
  restart(key: string, reason: string): void;
  get(deviceId: string): SessionInfo | null;
  list(): SessionInfo[];
  stop(deviceId: string, reason: string): Promise<void>;
  /** Stops every session; resolves within 5 s whatever ffmpeg does. */
  close(): Promise<void>;
  /** Diagnostics: the session's ffmpeg pid, spawn count and scrubbed command line. */
  debug(deviceId: string): { pid: number | null; spawns: number; failures: number; command: string | null } | null;
}

interface Entry {
  key: string;
  deviceId: string;
  stream: StreamName;
  sup: StreamSupervisor | null;
  ready: Promise<StreamSupervisor>;
  views: number;
  lastTouch: number;
}

const CLOSE_LIMIT_MS = 5000;
/** A recording session that could not start is tried again this often (state change only when the reason changes). */
const RECORD_RETRY_MS = 10_000;

export function createSessionManager(o: SessionManagerOptions): SessionManager {
  const log = o.log.child({ component: 'sessions' });
  const entries = new Map<string, Entry>();
  const stopping = new Map<string, Promise<void>>();
  let recording = new Set<string>();
  const recordRetry = new Map<string, { at: number; reason: string }>();
  const health = new Map<string, 'online' | 'offline' | 'degraded' | 'unknown'>();
  let closed = false;
  const minFreeMb = typeof o.minFreeMb === 'function' ? o.minFreeMb : () => (o.minFreeMb as number | undefined) ?? 500;
  const relay = o.relay ?? createRtspRelay({ log: o.log });
  const maxTranscodes = o.maxTranscodes ?? 4;
  let transcoding = 0;

  const notify = (c: StateChange) => {
    try { o.onStateChange(c); } catch (e) { log.error({ err: e }, 'onStateChange failed'); }
  };
  /** Only a main stream records. */
  const records = (e: { deviceId: string; stream: StreamName }) => e.stream === 'main' && recording.has(e.deviceId);

  function parse(key: string): { deviceId: string; stream: StreamName } {
    const k = parseStreamKey(key);
    if (!k) throw new Error('not a device id');
    return k;
  }

  function infoOf(e: Entry): SessionInfo {
    if (e.sup) return { ...e.sup.info(), viewers: e.views };
    return {
      deviceId: e.deviceId, stream: e.stream, state: 'starting', reason: null, mode: null, codec: null, codecString: null,
      width: null, height: null, transcodeReason: null, cpuPercent: null, recording: records(e),
      startedAt: null, lastSegmentAt: null, restarts: 0, viewers: e.views,
    };
  }

  function create(key: string): Entry {
    const { deviceId, stream } = parse(key);
    const e: Entry = { key, deviceId, stream, sup: null, views: 0, lastTouch: Date.now(), ready: Promise.resolve(null as never) };
    e.ready = (async () => {
      const src = stream === 'compat' ? await compatSource(deviceId) : await o.source(deviceId, stream);
      if (entries.get(key) !== e || closed) throw new Error('session stopped while starting');
      if (src.deviceId !== deviceId || src.stream !== stream) throw new Error('source is for another device or stream');
      const sup = new StreamSupervisor({
        ...o.supervisor,
        log: o.log, layout: o.layout, relay, source: { ...src, record: records(e) },
        onStateChange: notify, minFreeMb, hlsTime: o.hlsTime, staleAfterMs: o.staleAfterMs, diskRetryMs: o.diskRetryMs,
        ...(o.lowLatency ? { lowLatency: o.lowLatency(key) } : {}),
        ...(stream === 'compat' && o.tap ? { input: o.tap(streamKey(deviceId, 'main')) } : {}),
        acquireTranscode: () => {
          if (transcoding >= maxTranscodes) return false;
          transcoding++;
          return true;
        },
        releaseTranscode: () => { transcoding = Math.max(0, transcoding - 1); },
        transcode: o.transcode,
      });
      const h = health.get(deviceId);
      if (h) sup.setHealth(h);
      e.sup = sup;
      sup.start();
      return sup;
    })();
    e.ready.catch(() => { if (entries.get(key) === e) entries.delete(key); });
    entries.set(key, e);
    return e;
  }

  /**
   * A compat session reads the main session's feed: the main session runs (started here if need
   * be, kept while the compat one runs) and no second connection goes to the camera.
   */
  async function compatSource(deviceId: string): Promise<StreamSource> {
    if (!o.tap || !o.lowLatency) throw new Error('this gateway node has no low-latency feed to transcode from');
    const main = await o.source(deviceId, 'main');
    await open(streamKey(deviceId, 'main'));
    return { ...main, stream: 'compat', record: false, url: 'pipe:0', username: null, password: null };
  }

  async function open(key: string, opts: { viewer?: boolean } = {}): Promise<SessionInfo> {
    if (closed) throw new Error('session manager is closed');
    parse(key);
    let e = entries.get(key);
    if (!e) {
      const pending = stopping.get(key);
      if (pending) await pending;
      e = entries.get(key);
      if (!e) {
        if (closed) throw new Error('session manager is closed');
        if (entries.size >= o.maxSessions) throw new SessionLimitError(o.maxSessions);
        e = create(key);
      }
    }
    if (opts.viewer) {
      e.views++;
      e.lastTouch = Date.now();
    }
    await e.ready;
    return infoOf(e);
  }

  function stop(key: string, reason: string): Promise<void> {
    const e = entries.get(key);
    if (!e) return stopping.get(key) ?? Promise.resolve();
    entries.delete(key);
    const p = (async () => {
      const sup = await e.ready.catch(() => null);
      if (sup) await sup.stop(reason);
    })().finally(() => { if (stopping.get(key) === p) stopping.delete(key); });
    stopping.set(key, p);
    return p;
  }

  /** Start a recording session; a failure becomes a state change (once per distinct reason) and a retry later. */
  async function startRecording(deviceId: string): Promise<void> {
    try {
      await open(deviceId);
      recordRetry.delete(deviceId);
    } catch (e) {
      const reason = e instanceof SessionLimitError ? e.message : `cannot start recording: ${(e as Error).message}`;
      const prev = recordRetry.get(deviceId);
      recordRetry.set(deviceId, { at: Date.now() + RECORD_RETRY_MS, reason });
      if (prev?.reason !== reason) {
        log.warn({ deviceId, reason }, 'recording session not started');
        notify({ deviceId, stream: 'main', state: 'failed', reason, mode: null, stderrTail: null });
      }
    }
  }

  async function setRecording(deviceIds: string[]): Promise<void> {
    recording = new Set(deviceIds.filter((id) => parseStreamKey(id)?.stream === 'main'));
    for (const id of recordRetry.keys()) if (!recording.has(id)) recordRetry.delete(id);
    const now = Date.now();
    const starts: Promise<void>[] = [];
    for (const e of entries.values()) {
      if (e.stream !== 'main') continue;
      const want = records(e);
      if (!e.sup || e.sup.source.record === want) continue;
      if (!want && now - e.lastTouch > o.idleStopMs) {
        void stop(e.key, 'recording stopped');
        continue;
      }
      e.sup.update({ ...e.sup.source, record: want });
    }
    for (const id of recording) if (!entries.has(id)) starts.push(startRecording(id));
    await Promise.all(starts);
  }

  async function reconcileKey(key: string): Promise<void> {
    const e = entries.get(key);
    if (!e) return;
    let src: StreamSource;
    try {
      src = await o.source(e.deviceId, e.stream === 'compat' ? 'main' : e.stream);
    } catch (err) {
      await stop(key, `device removed or disabled: ${(err as Error).message}`);
      return;
    }
    // A compat session follows its main session (it restarts when that one does).
    if (e.stream === 'compat') return;
    const sup = await e.ready.catch(() => null);
    if (!sup || entries.get(key) !== e) return;
    sup.update({ ...src, record: records(e) });
  }

  async function reconcile(deviceId: string): Promise<void> {
    if (closed) return;
    if (!entries.has(deviceId) && recording.has(deviceId)) await startRecording(deviceId);
    await Promise.all(STREAMS.map((s) => reconcileKey(streamKey(deviceId, s))));
  }

  async function waitForPlaylist(key: string, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    const path = o.layout.livePlaylist(key);
    for (;;) {
      const e = entries.get(key);
      if (!e) return false;
      const since = e.sup?.runStartedAt ?? 0;
      if (since > 0) {
        const mtime = await stat(path).then((st) => st.mtimeMs, () => 0);
        // Written by the running ffmpeg (not left over from an earlier run) and listing a segment.
        if (mtime >= since - 5 && (await readFile(path, 'utf8').catch(() => '')).includes('#EXTINF')) return true;
      }
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(1, end - Date.now()))));
    }
  }

  const tick = setInterval(() => {
    const now = Date.now();
    for (const e of entries.values()) {
      // A main session is in use while its compat transcode is.
      const compat = e.stream === 'main' ? entries.get(streamKey(e.deviceId, 'compat')) : undefined;
      const lastUse = Math.max(e.lastTouch, compat?.lastTouch ?? 0);
      if (e.sup && !records(e) && now - lastUse > o.idleStopMs) void stop(e.key, 'idle');
    }
    for (const [id, r] of recordRetry) {
      if (now >= r.at && recording.has(id) && !entries.has(id)) void startRecording(id);
    }
  }, 1000);
  tick.unref();

  async function close(): Promise<void> {
    closed = true;
    clearInterval(tick);
    const sups = [...entries.values()].map((e) => e.sup).filter((s): s is StreamSupervisor => s !== null);
    const all = [...entries.keys()].map((key) => stop(key, 'gateway stopping'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...all, ...stopping.values()]),
      new Promise<void>((r) => { timer = setTimeout(r, CLOSE_LIMIT_MS - 500); }),
    ]);
    clearTimeout(timer);
    for (const s of sups) s.killNow();
    if (!o.relay) await relay.close();
  }

  return {
    open,
    touch(key) {
      const e = entries.get(key);
      if (e) e.lastTouch = Date.now();
    },
    waitForPlaylist,
    setRecording,
    reconcile,
    setHealth(deviceId, state) {
      health.set(deviceId, state);
      for (const key of [streamKey(deviceId, 'main'), streamKey(deviceId, 'sub')]) entries.get(key)?.sup?.setHealth(state);
    },
    transcodes: () => ({ running: transcoding, limit: maxTranscodes }),
    restart: (key, reason) => entries.get(key)?.sup?.restartNow(reason),
    get: (key) => {
      const e = entries.get(key);
      return e ? infoOf(e) : null;
    },
    list: () => [...entries.values()].map(infoOf),
    stop,
    close,
    debug: (key) => entries.get(key)?.sup?.debug() ?? null,
  };
}
