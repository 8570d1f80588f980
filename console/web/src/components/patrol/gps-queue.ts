// The patrol phone's GPS while on duty, as plain code without Vue (tested in __tests__/gps-queue.test.ts):
// the browser's geolocation fixes are queued and sent to POST /api/patrol/positions in batches (every
// few seconds, or at once when enough are queued). The queue lives in localStorage, so fixes taken
// while offline (or while a send fails, or across a reload) are sent on return, oldest first, the
// oldest dropped when it grows past its cap. A 429 (linkage.gps_flood) or a failed network backs off;
// a 409 linkage.not_on_duty ends the queue (the server takes no fixes from an off-duty unit).
import { ApiError } from '../../api/http.ts'
import { MAX_FIXES_PER_REQUEST, type Fix, type FixesResult } from '../../api/patrol.ts'

export type GpsQueueState = 'idle' | 'sending' | 'waiting' | 'offline' | 'stopped'

export interface GpsQueueStatus {
  state: GpsQueueState
  /** Fixes not yet accepted by the server. */
  queued: number
  /** Fixes dropped because the queue was full (oldest first) since the queue was made. */
  dropped: number
  /** When a batch was last accepted (ms since the epoch), null before the first. */
  lastSentAt: number | null
  /** The code of the last failure (linkage.gps_flood, network, …), null after a success. */
  lastError: string | null
  /** While waiting: when the next try is due (ms since the epoch). */
  retryAt: number | null
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

export interface GpsQueueOptions {
  send: (fixes: Fix[]) => Promise<FixesResult>
  /** Where the queue survives offline spells and reloads; null: memory only. */
  storage?: StorageLike | null
  storageKey?: string
  /** navigator.onLine; a phone that says it is offline is not sent to until online() is called. */
  isOnline?: () => boolean
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
  /** The server said the unit is not on duty: the queue has stopped and is empty. */
  onStopped?: (code: string) => void
  onChange?: (status: GpsQueueStatus) => void
  /** Send what is queued this long after the first unsent fix (ms). */
  flushEveryMs?: number
  /** Send at once when this many are queued. */
  batchSize?: number
  /** Keep at most this many (the oldest are dropped). */
  maxQueued?: number
  /** At most this many in one request. */
  maxPerRequest?: number
  /** The first back-off after a 429 or a failed send (ms); it doubles up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
  /** The pause between the requests that drain a long backlog (ms). */
  drainGapMs?: number
}

export const GPS_FLUSH_EVERY_MS = 5_000
export const GPS_BATCH_SIZE = 10
export const GPS_MAX_QUEUED = 2_000
export const GPS_STORAGE_KEY = 'skynet.patrol.gpsQueue'

function isFix(v: unknown): v is Fix {
  if (!v || typeof v !== 'object') return false
  const f = v as Record<string, unknown>
  return typeof f.at === 'string' && typeof f.lat === 'number' && typeof f.lon === 'number' && Number.isFinite(f.lat) && Number.isFinite(f.lon)
}

export class GpsQueue {
  private queue: Fix[] = []
  private state: GpsQueueState = 'idle'
  private dropped = 0
  private lastSentAt: number | null = null
  private lastError: string | null = null
  private retryAt: number | null = null
  private failures = 0
  private timer: unknown = null
  private inFlight: Promise<void> | null = null
  private readonly o: Required<Omit<GpsQueueOptions, 'storage' | 'onStopped' | 'onChange'>> & Pick<GpsQueueOptions, 'storage' | 'onStopped' | 'onChange'>

  constructor(options: GpsQueueOptions) {
    this.o = {
      storageKey: GPS_STORAGE_KEY,
      isOnline: () => true,
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      flushEveryMs: GPS_FLUSH_EVERY_MS,
      batchSize: GPS_BATCH_SIZE,
      maxQueued: GPS_MAX_QUEUED,
      maxPerRequest: MAX_FIXES_PER_REQUEST,
      backoffMs: 5_000,
      maxBackoffMs: 60_000,
      drainGapMs: 1_000,
      ...options,
    }
    this.queue = this.load()
    if (this.queue.length) this.schedule(this.o.flushEveryMs)
  }

  /** What is queued, oldest first (a copy). */
  pending(): Fix[] {
    return [...this.queue]
  }

  status(): GpsQueueStatus {
    return {
      state: this.state, queued: this.queue.length, dropped: this.dropped,
      lastSentAt: this.lastSentAt, lastError: this.lastError, retryAt: this.retryAt,
    }
  }

  /** Queue one fix; sends when the batch is full, else within flushEveryMs. Ignored once stopped. */
  add(fix: Fix): void {
    if (this.state === 'stopped') return
    this.queue.push(fix)
    const over = this.queue.length - this.o.maxQueued
    if (over > 0) {
      this.queue.splice(0, over)
      this.dropped += over
    }
    this.save()
    if (this.state === 'waiting' || this.inFlight) {
      this.changed()
      return
    }
    if (this.queue.length >= this.o.batchSize) void this.flush()
    else {
      if (this.timer === null) this.schedule(this.o.flushEveryMs)
      this.changed()
    }
  }

  /** The browser is back online: send what is queued now (a back-off after a failed network ends too). */
  online(): void {
    if (this.state === 'stopped') return
    if (this.state === 'waiting' && this.lastError === 'linkage.gps_flood') return
    this.cancelTimer()
    this.retryAt = null
    if (this.state === 'waiting' || this.state === 'offline') this.state = 'idle'
    void this.flush()
  }

  /** Send what is queued (at most maxPerRequest at a time, the rest after a short gap). */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight
    if (this.state === 'stopped' || this.state === 'waiting') return Promise.resolve()
    this.cancelTimer()
    if (!this.queue.length) {
      this.state = 'idle'
      this.changed()
      return Promise.resolve()
    }
    if (!this.o.isOnline()) {
      this.state = 'offline'
      this.changed()
      return Promise.resolve()
    }
    const batch = this.queue.slice(0, this.o.maxPerRequest)
    this.state = 'sending'
    this.changed()
    this.inFlight = this.o.send(batch).then(
      () => this.succeeded(batch),
      (err: unknown) => this.failed(batch, err),
    ).finally(() => {
      this.inFlight = null
      this.changed()
    })
    return this.inFlight
  }

  /** Stop sending (off duty, page closed). The queue stays stored unless `clear`. */
  stop(clear = false): void {
    this.cancelTimer()
    this.state = 'stopped'
    this.retryAt = null
    if (clear) {
      this.queue = []
      this.save()
    }
    this.changed()
  }

  /** Start again after stop() (back on duty): sends what is still queued. */
  resume(): void {
    if (this.state !== 'stopped') return
    this.state = 'idle'
    this.failures = 0
    this.lastError = null
    if (this.queue.length) void this.flush()
    else this.changed()
  }

  private succeeded(batch: Fix[]): void {
    this.remove(batch)
    this.failures = 0
    this.lastError = null
    this.retryAt = null
    this.lastSentAt = this.o.now()
    if (this.state === 'stopped') return
    this.state = 'idle'
    // A backlog (queued offline) goes out batch after batch; a short tail waits for the next fixes.
    if (this.queue.length >= this.o.batchSize || this.queue.length > 0 && this.oldestAge() >= this.o.flushEveryMs) this.schedule(this.o.drainGapMs)
    else if (this.queue.length) this.schedule(this.o.flushEveryMs)
  }

  private failed(batch: Fix[], err: unknown): void {
    if (this.state === 'stopped') return
    const status = err instanceof ApiError ? err.status : 0
    const code = err instanceof ApiError ? err.code : 'network'
    this.lastError = code
    if (status === 409 && code === 'linkage.not_on_duty') {
      this.queue = []
      this.save()
      this.cancelTimer()
      this.state = 'stopped'
      this.retryAt = null
      this.o.onStopped?.(code)
      return
    }
    if (status === 401) {
      // signed out: the app goes to the login page; the queue is kept for the next sign-in
      this.cancelTimer()
      this.state = 'stopped'
      return
    }
    if (status === 429 || status === 0 || status >= 500 || status === 408) {
      const retryAfter = err instanceof ApiError ? Number(err.params.retryAfterSeconds ?? err.params.retryAfter) : NaN
      const delay = Number.isFinite(retryAfter) && retryAfter > 0
        ? Math.min(this.o.maxBackoffMs, retryAfter * 1000)
        : Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** Math.min(this.failures, 10))
      this.failures++
      this.wait(delay)
      return
    }
    // Any other refusal (400 …) would refuse the same fixes again: they are dropped, the rest go on.
    this.remove(batch)
    this.state = 'idle'
    if (this.queue.length) this.schedule(this.o.flushEveryMs)
  }

  private wait(ms: number): void {
    this.cancelTimer()
    this.state = 'waiting'
    this.retryAt = this.o.now() + ms
    this.timer = this.o.setTimer(() => {
      this.timer = null
      if (this.state !== 'waiting') return
      this.state = 'idle'
      this.retryAt = null
      void this.flush()
    }, ms)
  }

  private remove(batch: Fix[]): void {
    const sent = new Set(batch)
    this.queue = this.queue.filter((f) => !sent.has(f))
    this.save()
  }

  private oldestAge(): number {
    const first = this.queue[0]
    const at = first ? Date.parse(first.at) : NaN
    return Number.isFinite(at) ? this.o.now() - at : 0
  }

  private schedule(ms: number): void {
    this.cancelTimer()
    this.timer = this.o.setTimer(() => {
      this.timer = null
      void this.flush()
    }, ms)
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.o.clearTimer(this.timer)
    this.timer = null
  }

  private load(): Fix[] {
    try {
      const raw = this.o.storage?.getItem(this.o.storageKey)
      if (!raw) return []
      const parsed: unknown = JSON.parse(raw)
      return Array.isArray(parsed) ? parsed.filter(isFix).slice(-this.o.maxQueued) : []
    } catch {
      return []
    }
  }

  private save(): void {
    const storage = this.o.storage
    if (!storage) return
    try {
      if (this.queue.length) storage.setItem(this.o.storageKey, JSON.stringify(this.queue))
      else storage.removeItem(this.o.storageKey)
    } catch {
      // quota or private mode: the queue lasts in memory
    }
  }

  private changed(): void {
    this.o.onChange?.(this.status())
  }
}

/** A browser fix as the API takes it (NaN heading/speed, as a phone standing still reports, become null). */
export function fixFromPosition(pos: { timestamp: number; coords: { latitude: number; longitude: number; heading: number | null; speed: number | null; accuracy: number } }): Fix {
  const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
  return {
    at: new Date(pos.timestamp).toISOString(),
    lat: pos.coords.latitude,
    lon: pos.coords.longitude,
    heading: num(pos.coords.heading),
    speed: num(pos.coords.speed),
    accuracy: num(pos.coords.accuracy),
  }
}

/** Fixes closer together than this (ms) are thinned out: a phone may report several a second. */
export const MIN_FIX_INTERVAL_MS = 2_000

/** Whether `next` is worth queuing after `prev`: later by MIN_FIX_INTERVAL_MS, or the first. */
export function keepFix(prev: Fix | null, next: Fix, minIntervalMs = MIN_FIX_INTERVAL_MS): boolean {
  if (!prev) return true
  const gap = Date.parse(next.at) - Date.parse(prev.at)
  return !Number.isFinite(gap) || gap >= minIntervalMs
}

type GeoLike = Pick<Geolocation, 'watchPosition' | 'clearWatch'>

/**
 * Watch the phone's position (high accuracy): each kept fix goes to `onFix`, a failure to `onError`
 * with the browser's code (1 denied, 2 unavailable, 3 timeout). Returns the function that stops it.
 */
export function watchGps(geo: GeoLike | undefined | null, onFix: (fix: Fix) => void, onError: (code: number, message: string) => void): () => void {
  if (!geo) {
    onError(2, 'geolocation unavailable')
    return () => {}
  }
  let last: Fix | null = null
  const id = geo.watchPosition(
    (pos) => {
      const fix = fixFromPosition(pos)
      if (!keepFix(last, fix)) return
      last = fix
      onFix(fix)
    },
    (err) => onError(err.code, err.message),
    { enableHighAccuracy: true, maximumAge: 5_000, timeout: 30_000 },
  )
  return () => geo.clearWatch(id)
}
