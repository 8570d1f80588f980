// Pure decisions of the live player: what state to show, when to refresh the token, how long
// to back off, when to play and when to follow a session that is down, how requests carry the
// token, what the overlay says about the stream, and the hls.js configuration. No DOM needed.
// The low-latency path's own decisions are in lowlat/lowlat-model.ts.
import type { HlsConfig, LoaderConfig, RetryConfig } from 'hls.js'
import type { SessionInfo, SessionState } from '../api/media.ts'
import { codecLabel, type StreamName, type StreamWhy } from './lowlat/lowlat-model.ts'

export type PlayerState = SessionState | 'error'

export interface PlayerInputs {
  /** Message of a refused start (503 / 502 / network); null when the start succeeded. */
  error: string | null
  /** The gateway's view of the session; null before the first answer or when there is none. */
  session: SessionInfo | null
  /** Frames advanced in the last few seconds. */
  playing: boolean
  /** Why hls.js is recovering from a fatal error; null when it is not. */
  recovering: string | null
}

export interface PlayerView {
  state: PlayerState
  reason: string | null
}

/** What the tile shows. The gateway's word wins over the video, except that playing video is live. */
export function playerView({ error, session, playing, recovering }: PlayerInputs): PlayerView {
  if (error !== null) return { state: 'error', reason: error }
  const reason = session?.reason ?? null
  switch (session?.state) {
    case 'failed':
    case 'stopped':
    case 'reconnecting':
    case 'degraded':
      return { state: session.state, reason }
  }
  if (recovering !== null) return { state: 'reconnecting', reason: recovering }
  if (playing) return { state: 'live', reason: null }
  return { state: 'starting', reason: null }
}

/** Whether the state covers the picture (a message in the middle) rather than a badge over it. */
export function coversVideo(view: PlayerView, playing: boolean): boolean {
  if (view.state === 'live') return false
  if (view.state === 'degraded' && playing) return false
  return true
}

/** Message keys for reasons the gateway is known to give; anything else is shown as sent. */
const REASON_PATTERNS: [RegExp, string][] = [
  [/ENOSPC|disk full|no space|storage full/i, 'player.reason.diskFull'],
  [/idle/i, 'player.reason.idle'],
  [/401|unauthori[sz]ed|auth/i, 'player.reason.auth'],
  [/timed? ?out|timeout|stall/i, 'player.reason.timeout'],
  [/refused|unreachable|no route|ECONNREFUSED|EHOSTUNREACH/i, 'player.reason.unreachable'],
  [/exited|ffmpeg/i, 'player.reason.ffmpegExited'],
]

export function reasonKey(reason: string | null): string | null {
  if (!reason) return null
  for (const [pattern, key] of REASON_PATTERNS) if (pattern.test(reason)) return key
  return null
}

/** Back-off after the attempt-th failure in a row: 1 s, 2 s, 4 s … at most 30 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt))
}

/** Between looks at a session that is down (failed, reconnecting): 2 s, 4 s, 8 s … at most 30 s. */
export function sessionWaitDelayMs(attempt: number): number {
  return Math.min(30_000, 2000 * 2 ** Math.max(0, attempt))
}

/** A session that is down: the camera cannot be reached for now, so there is nothing to fetch. */
function isDown(session: SessionInfo | null): boolean {
  return session?.state === 'failed' || session?.state === 'reconnecting'
}

/**
 * What a ticket leads to: play it, or follow the session's state without fetching media while it
 * is down. A session started again while following is played only once its playlist is there
 * (the server waited for it), so a camera still down costs no playlist requests.
 */
export function startStep(o: { session: SessionInfo; playable: boolean; following: boolean }): 'play' | 'follow' {
  if (isDown(o.session)) return 'follow'
  if (o.following && o.session.state === 'starting' && !o.playable) return 'follow'
  return 'play'
}

/**
 * One look at a followed session: play again once it is live (or degraded, which still serves
 * live); keep waiting while it is down or starting; open it again when it stopped (idle: nobody
 * fetched it while we waited) or is gone, or nothing would try the camera any more.
 */
export function followStep(session: SessionInfo | null): 'play' | 'wait' | 'reopen' {
  switch (session?.state) {
    case 'live':
    case 'degraded':
      return 'play'
    case 'failed':
    case 'reconnecting':
    case 'starting':
      return 'wait'
    default:
      return 'reopen'
  }
}

/**
 * What a followed session shows: its last failure stays on screen through its own restarts and an
 * idle stop (starting, stopped), so the tile says 离线 steadily instead of flipping to 正在连接.
 */
export function followedSession(shown: SessionInfo | null, next: SessionInfo | null): SessionInfo | null {
  if (isDown(shown) && (next === null || next.state === 'starting' || next.state === 'stopped')) return shown
  return next
}

export type Transport = 'lowlat' | 'hls'

/** What the overlay says about what plays: transport, main/sub, codec, copy/transcode, and why this stream. */
export interface StreamBadge {
  transport: Transport
  stream: StreamName
  /** 'H.264', 'H.265', … ; null until known. */
  codec: string | null
  mode: 'copy' | 'transcode' | null
  why: StreamWhy | null
}

/**
 * The badge from what plays: the low-latency init's word when there is one (it is what the
 * browser decodes), else the session's.
 */
export function streamBadge(o: {
  transport: Transport | null
  stream: StreamName
  why: StreamWhy | null
  init: { codec: string; mode: 'copy' | 'transcode' } | null
  session: SessionInfo | null
}): StreamBadge | null {
  if (o.transport === null) return null
  const session = o.session?.stream === o.stream || o.session?.stream === undefined ? o.session : null
  return {
    transport: o.transport,
    stream: o.stream,
    codec: codecLabel(o.init?.codec ?? session?.codecString ?? session?.codec ?? null),
    mode: o.init?.mode ?? session?.mode ?? null,
    why: o.why,
  }
}

/**
 * When to ask for a fresh token: well before it expires (a fifth of its life or 15 s,
 * whichever is more), never sooner than 5 s from now.
 */
export function refreshDelayMs(expiresAt: string, now: number): number {
  const left = new Date(expiresAt).getTime() - now
  if (!Number.isFinite(left)) return 60_000
  return Math.max(5_000, left - Math.max(15_000, left * 0.2))
}

/** A gateway media URL: `/media/<live|vod>/<device>/<token>/<playlist or segment>`. */
const MEDIA_PATH = /^\/media\/(live|vod)\/([^/]+)\/([^/]+)(\/.*)$/

/**
 * A request to the gateway that issued the token carries the newest token: the token is the
 * path segment after the device, so a segment URI resolved against an older playlist URL is
 * rewritten too. Other URLs (another origin, the gap placeholder) pass untouched.
 */
export function withToken(url: string, token: string | null, gatewayOrigin: string): string {
  if (!token) return url
  try {
    const u = new URL(url)
    if (u.origin !== gatewayOrigin) return url
    const m = MEDIA_PATH.exec(u.pathname)
    if (!m) return url
    u.pathname = `/media/${m[1]}/${m[2]}/${token}${m[4]}`
    return u.toString()
  } catch {
    return url
  }
}

/** The token a gateway media URL carries in its path; null when it carries none. */
export function tokenOf(url: string): string | null {
  try {
    return MEDIA_PATH.exec(new URL(url).pathname)?.[3] ?? null
  } catch {
    return null
  }
}

export function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return ''
  }
}

/** The path without its token: what stays the same when only the token is renewed. */
function tokenlessPath(pathname: string): string {
  const m = MEDIA_PATH.exec(pathname)
  return m ? `/media/${m[1]}/${m[2]}${m[4]}` : pathname
}

/** Same playlist (origin and path but the token), so only the token changed and the player can keep going. */
export function samePlaylist(a: string, b: string): boolean {
  try {
    const x = new URL(a)
    const y = new URL(b)
    return x.origin === y.origin && tokenlessPath(x.pathname) === tokenlessPath(y.pathname)
  } catch {
    return false
  }
}

/** Wall-clock delay between now and the picture shown, from EXT-X-PROGRAM-DATE-TIME. */
export function latencyMs(playingDate: Date | null, now: number): number | null {
  if (!playingDate) return null
  const ms = now - playingDate.getTime()
  return Number.isFinite(ms) && ms >= 0 && ms < 600_000 ? ms : null
}

function retry(maxNumRetry: number, retryDelayMs: number, maxRetryDelayMs: number): RetryConfig {
  return { maxNumRetry, retryDelayMs, maxRetryDelayMs, backoff: 'exponential' }
}

function policy(firstByteMs: number, loadMs: number, errorRetry: RetryConfig): { default: LoaderConfig } {
  return {
    default: {
      maxTimeToFirstByteMs: firstByteMs,
      maxLoadTimeMs: loadMs,
      timeoutRetry: retry(2, 0, 0),
      errorRetry,
    },
  }
}

/** A live playlist that is not written yet answers 404 for a moment after a cold start: retry it, but never a refused token. */
function retryMissingPlaylist(
  cfg: RetryConfig | null | undefined,
  count: number,
  isTimeout: boolean,
  response: { code?: number } | undefined,
  retryable: boolean,
): boolean {
  if (!cfg || count >= cfg.maxNumRetry) return false
  const code = response?.code
  if (code === 401 || code === 403) return false
  return retryable || isTimeout || code === 404
}

/** Low latency over 1–2 s segments: play about 1.5 s behind the newest segment, catch up at up to 1.2×. */
export function liveHlsConfig(xhrSetup: HlsConfig['xhrSetup']): Partial<HlsConfig> {
  const manifestRetry: RetryConfig = { ...retry(6, 500, 4000), shouldRetry: retryMissingPlaylist }
  return {
    enableWorker: true,
    lowLatencyMode: false,
    liveSyncDuration: 1.5,
    liveMaxLatencyDuration: 6,
    maxLiveSyncPlaybackRate: 1.2,
    liveDurationInfinity: true,
    backBufferLength: 10,
    maxBufferLength: 8,
    maxMaxBufferLength: 12,
    startFragPrefetch: true,
    manifestLoadPolicy: policy(5_000, 10_000, manifestRetry),
    playlistLoadPolicy: policy(4_000, 8_000, { ...retry(4, 500, 4000), shouldRetry: retryMissingPlaylist }),
    fragLoadPolicy: policy(5_000, 10_000, retry(4, 500, 4000)),
    xhrSetup,
  }
}

/** Footage: plain VOD, a generous buffer for scrubbing, token on every request like live. */
export function footageHlsConfig(xhrSetup: HlsConfig['xhrSetup']): Partial<HlsConfig> {
  return {
    enableWorker: true,
    backBufferLength: 30,
    maxBufferLength: 30,
    manifestLoadPolicy: policy(10_000, 20_000, retry(3, 1000, 4000)),
    fragLoadPolicy: policy(10_000, 20_000, retry(4, 1000, 8000)),
    xhrSetup,
  }
}

/** Detach a video element from whatever played in it (hls.js's MediaSource or a native src), so it shows nothing stale. */
export function releaseVideo(video: HTMLVideoElement | null | undefined): void {
  if (video && video.getAttribute('src')) {
    video.removeAttribute('src')
    video.load()
  }
}
