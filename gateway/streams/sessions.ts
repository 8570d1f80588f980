import { readFile, stat } from 'node:fs/promises';
import { HttpError } from '../../core/http/errors.ts';
import type { Logger } from '../../core/log.ts';
import { DEVICE_ID, type MediaLayout } from './layout.ts';
import { createRtspRelay, type MediaRelay } from './rtsp-relay.ts';
import { StreamSupervisor, type SupervisorOptions } from './supervisor.ts';
import type { SessionInfo, StateChange, StreamSource } from './types.ts';

/**
 * The node's stream sessions: at most one supervisor (one ffmpeg, one RTSP pull) per camera, however
 * many viewers; bounded in number; live-only sessions stop when nobody has asked for them for
 * `idleStopMs`; recording sessions run always.
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
  /** The camera's source (password decrypted). Throwing means the device is gone or disabled. */
  source: (deviceId: string) => Promise<StreamSource>;
  /** Carries camera credentials for ffmpeg (default: a loopback relay of the manager's own, closed with it). */
  relay?: MediaRelay;
  /** Every session state change (persist to stream_events, publish). Must not throw. */
  onStateChange: (change: StateChange) => void;
  /** Passed to every supervisor (tests). */
  supervisor?: Partial<Pick<SupervisorOptions, 'spawn' | 'freeSpaceMb' | 'startGraceMs' | 'stopGraceMs' | 'tickMs'>>;
}

export interface SessionManager {
  /** Start the camera's session or join it. A viewer join counts a view and refreshes the idle timer. */
  open(deviceId: string, opts?: { viewer?: boolean }): Promise<SessionInfo>;
  /** A playlist or segment was served: keeps a live-only session alive. */
  touch(deviceId: string): void;
  /** True once index.m3u8 lists at least one segment; false on timeout or when the session is gone. */
  waitForPlaylist(deviceId: string, timeoutMs: number): Promise<boolean>;
  /** The devices whose sessions must run (and record) always. */
  setRecording(deviceIds: string[]): Promise<void>;
  /** The registry changed for this device: restart with the new source, or stop when it is gone/disabled. */
  reconcile(deviceId: string): Promise<void>;
  get(deviceId: string): SessionInfo | null;
  list(): SessionInfo[];
  stop(deviceId: string, reason: string): Promise<void>;
  /** Stops every session; resolves within 5 s whatever ffmpeg does. */
  close(): Promise<void>;
  /** Diagnostics: the session's ffmpeg pid, spawn count and scrubbed command line. */
  debug(deviceId: string): { pid: number | null; spawns: number; failures: number; command: string | null } | null;
}

interface Entry {
  deviceId: string;
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
  let closed = false;
  const minFreeMb = typeof o.minFreeMb === 'function' ? o.minFreeMb : () => (o.minFreeMb as number | undefined) ?? 500;
  const relay = o.relay ?? createRtspRelay({ log: o.log });

  const notify = (c: StateChange) => {
    try { o.onStateChange(c); } catch (e) { log.error({ err: e }, 'onStateChange failed'); }
  };

  function infoOf(e: Entry): SessionInfo {
    if (e.sup) return { ...e.sup.info(), viewers: e.views };
    return {
      deviceId: e.deviceId, state: 'starting', reason: null, mode: null, recording: recording.has(e.deviceId),
      startedAt: null, lastSegmentAt: null, restarts: 0, viewers: e.views,
    };
  }

  function create(deviceId: string): Entry {
    const e: Entry = { deviceId, sup: null, views: 0, lastTouch: Date.now(), ready: Promise.resolve(null as never) };
    e.ready = (async () => {
      const src = await o.source(deviceId);
      if (entries.get(deviceId) !== e || closed) throw new Error('session stopped while starting');
      if (src.deviceId !== deviceId) throw new Error('source is for another device');
      const sup = new StreamSupervisor({
        ...o.supervisor,
        log: o.log, layout: o.layout, relay, source: { ...src, record: recording.has(deviceId) },
        onStateChange: notify, minFreeMb, hlsTime: o.hlsTime, staleAfterMs: o.staleAfterMs, diskRetryMs: o.diskRetryMs,
      });
      e.sup = sup;
      sup.start();
      return sup;
    })();
    e.ready.catch(() => { if (entries.get(deviceId) === e) entries.delete(deviceId); });
    entries.set(deviceId, e);
    return e;
  }

  async function open(deviceId: string, opts: { viewer?: boolean } = {}): Promise<SessionInfo> {
    if (closed) throw new Error('session manager is closed');
    if (!DEVICE_ID.test(deviceId)) throw new Error('not a device id');
    let e = entries.get(deviceId);
    if (!e) {
      const pending = stopping.get(deviceId);
      if (pending) await pending;
      e = entries.get(deviceId);
      if (!e) {
        if (closed) throw new Error('session manager is closed');
        if (entries.size >= o.maxSessions) throw new SessionLimitError(o.maxSessions);
        e = create(deviceId);
      }
    }
    if (opts.viewer) {
      e.views++;
      e.lastTouch = Date.now();
    }
    await e.ready;
    return infoOf(e);
  }

  function stop(deviceId: string, reason: string): Promise<void> {
    const e = entries.get(deviceId);
    if (!e) return stopping.get(deviceId) ?? Promise.resolve();
    entries.delete(deviceId);
    const p = (async () => {
      const sup = await e.ready.catch(() => null);
      if (sup) await sup.stop(reason);
    })().finally(() => { if (stopping.get(deviceId) === p) stopping.delete(deviceId); });
    stopping.set(deviceId, p);
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
        notify({ deviceId, state: 'failed', reason, mode: null, stderrTail: null });
      }
    }
  }

  async function setRecording(deviceIds: string[]): Promise<void> {
    recording = new Set(deviceIds.filter((id) => DEVICE_ID.test(id)));
    for (const id of recordRetry.keys()) if (!recording.has(id)) recordRetry.delete(id);
    const now = Date.now();
    const starts: Promise<void>[] = [];
    for (const e of entries.values()) {
      const want = recording.has(e.deviceId);
      if (!e.sup || e.sup.source.record === want) continue;
      if (!want && now - e.lastTouch > o.idleStopMs) {
        void stop(e.deviceId, 'recording stopped');
        continue;
      }
      e.sup.update({ ...e.sup.source, record: want });
    }
    for (const id of recording) if (!entries.has(id)) starts.push(startRecording(id));
    await Promise.all(starts);
  }

  async function reconcile(deviceId: string): Promise<void> {
    if (closed) return;
    const e = entries.get(deviceId);
    if (!e) {
      if (recording.has(deviceId)) await startRecording(deviceId);
      return;
    }
    let src: StreamSource;
    try {
      src = await o.source(deviceId);
    } catch (err) {
      await stop(deviceId, `device removed or disabled: ${(err as Error).message}`);
      return;
    }
    const sup = await e.ready.catch(() => null);
    if (!sup || entries.get(deviceId) !== e) return;
    sup.update({ ...src, record: recording.has(deviceId) });
  }

  async function waitForPlaylist(deviceId: string, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    const path = o.layout.livePlaylist(deviceId);
    for (;;) {
      const e = entries.get(deviceId);
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
      if (e.sup && !recording.has(e.deviceId) && now - e.lastTouch > o.idleStopMs) void stop(e.deviceId, 'idle');
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
    const all = [...entries.keys()].map((id) => stop(id, 'gateway stopping'));
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
    touch(deviceId) {
      const e = entries.get(deviceId);
      if (e) e.lastTouch = Date.now();
    },
    waitForPlaylist,
    setRecording,
    reconcile,
    get: (deviceId) => {
      const e = entries.get(deviceId);
      return e ? infoOf(e) : null;
    },
    list: () => [...entries.values()].map(infoOf),
    stop,
    close,
    debug: (deviceId) => entries.get(deviceId)?.sup?.debug() ?? null,
  };
}
