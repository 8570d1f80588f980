// The live lifecycle shared by LivePlayer and the wall's tiles: ask for a ticket for the right
// stream (main or sub, from the view's size and what this browser decodes), play it on the
// low-latency path (WebSocket + MSE, lowlat/) where the caller asks, with HLS (hls.js) as the
// fallback when the socket fails or MSE lacks the codec, or on HLS; renew the token, recover from
// errors with back-off, notice a stuck picture, follow a session that is down without fetching
// media (back-off 2 s → 30 s) and resume when it is live, and tear it all down. What each
// component asks for (when to play, what to show) stays with it; the pure decisions live in
// live-player-model.ts and lowlat/lowlat-model.ts.
import { computed, onBeforeUnmount, onMounted, ref, type Ref } from 'vue'
import { useI18n } from 'vue-i18n'
import Hls, { type ErrorData, type HlsConfig } from 'hls.js'
import { getStream, startLive, type LiveRequest, type LiveTicket, type SessionInfo } from '../api/media.ts'
import {
  followedSession,
  followStep,
  latencyMs,
  liveHlsConfig,
  originOf,
  refreshDelayMs,
  releaseVideo,
  retryDelayMs,
  samePlaylist,
  sessionWaitDelayMs,
  startStep,
  streamBadge,
  tokenOf,
  withToken,
  type Transport,
} from './live-player-model.ts'
import type { LowLatencyFailure, StreamName, StreamWhy, ViewSize } from './lowlat/lowlat-model.ts'
import { LowLatencyPlayer, lowLatencyAvailable } from './lowlat/lowlat-player.ts'
import { learnCodec, learnTicket, pickStream } from './lowlat/stream-memory.ts'

const TICK_MS = 1_000
/** Frames that stopped this long ago while the gateway says live: the player is stuck, start over. */
const STUCK_MS = 12_000
/** A second media error this soon after the first gets a codec swap, a third a rebuild. */
const MEDIA_RETRY_WINDOW_MS = 5_000
/** A start from following waits this long for the playlist, so a camera still down costs no playlist requests. */
const REOPEN_WAIT_MS = 6_000

export interface StartFailure {
  message: string
  /** More about the failure, for a player that shows it; null when there is nothing more. */
  detail?: string | null
  retry: boolean
}

export interface LivePlaybackOptions {
  root: Ref<HTMLElement | undefined>
  video: Ref<HTMLVideoElement | undefined>
  /** The camera; null when there is none (an empty tile). */
  deviceId: () => string | null
  /** Whether to play at all; when not, a start only tears down what plays. */
  canStart: () => boolean
  /** Whether to ask the gateway for the session's state. */
  canPoll: () => boolean
  /** How long the live API may wait for a cold session's first playlist (0: hls.js retries it). */
  waitMs: number
  /** The path to play on, read at each start: 'lowlat' falls back to HLS by itself. */
  transport: () => Transport
  /** The view's size, read at each start: 'small' takes the sub stream when the camera has one. */
  size: () => ViewSize
  /** The stream to ask for before the live API said which streams the camera has (default main). */
  firstStream?: () => StreamName
  /** What a refused start says and whether to try again. */
  describeStartError: (err: unknown) => StartFailure
  /**
   * What a fatal media error gets: 'escalate' recovers, then swaps the audio codec within a short
   * window, then rebuilds; 'once' recovers only while nothing has failed yet, then rebuilds.
   */
  mediaRecovery: 'escalate' | 'once'
  pollMs: number
  /** How to start (or join) live view; default POST /api/devices/:id/live (the patrol phone: its own path). */
  startLive?: (deviceId: string, req: LiveRequest) => Promise<LiveTicket>
  /** How to read the session's state; default GET /api/devices/:id/stream. */
  getStream?: (deviceId: string, stream: StreamName) => Promise<{ session: SessionInfo | null }>
}

export function useLivePlayback(opts: LivePlaybackOptions) {
  const { t } = useI18n()
  const { root, video } = opts
  const begin = (id: string, req: LiveRequest) => (opts.startLive ?? startLive)(id, req)
  const look = (id: string, stream: StreamName) => (opts.getStream ?? getStream)(id, stream)

  const error = ref<string | null>(null)
  const errorDetail = ref<string | null>(null)
  const session = ref<SessionInfo | null>(null)
  const recovering = ref<string | null>(null)
  const lastAdvanceAt = ref(0)
  const now = ref(Date.now())
  const latency = ref<number | null>(null)
  const fullscreen = ref(false)
  /** The path media comes on now; null while nothing plays. */
  const transport = ref<Transport | null>(null)
  const chosen = ref<{ stream: StreamName; why: StreamWhy | null }>({ stream: 'main', why: null })
  const initInfo = ref<{ codec: string; mode: 'copy' | 'transcode' } | null>(null)
  /** Following a session that is down: no media requests until it is live. */
  const following = ref(false)

  let hls: Hls | null = null
  let lowlat: LowLatencyPlayer | null = null
  let ticket: LiveTicket | null = null
  let token: string | null = null
  let gatewayOrigin = ''
  let generation = 0
  let failures = 0
  let followAttempt = 0
  /** The WebSocket failed for this camera: HLS until the camera changes or the user retries. */
  let wsBroken = false
  let lastMediaErrorAt = 0
  let codecSwapped = false
  let lastTime = 0
  let retryTimer: number | undefined
  let refreshTimer: number | undefined
  let followTimer: number | undefined
  let pollTimer: number | undefined
  let tickTimer: number | undefined

  const playing = computed(() => lastAdvanceAt.value > 0 && now.value - lastAdvanceAt.value < 4_000)
  const badge = computed(() =>
    streamBadge({ transport: transport.value, stream: chosen.value.stream, why: chosen.value.why, init: initInfo.value, session: session.value }),
  )

  const xhrSetup: HlsConfig['xhrSetup'] = (xhr, url) => {
    xhr.open('GET', withToken(url, token, gatewayOrigin), true)
  }

  function clearTimers(): void {
    window.clearTimeout(retryTimer)
    window.clearTimeout(refreshTimer)
    window.clearTimeout(followTimer)
    retryTimer = undefined
    refreshTimer = undefined
    followTimer = undefined
  }

  function destroyMedia(): void {
    lowlat?.stop()
    lowlat = null
    hls?.destroy()
    hls = null
    releaseVideo(video.value)
    transport.value = null
    initInfo.value = null
  }

  /** The session a look at the gateway answered, when it is the one this player plays (GET /stream may answer main only). */
  function ours(s: SessionInfo | null): SessionInfo | null {
    return s && s.stream !== undefined && s.stream !== chosen.value.stream ? null : s
  }

  /** Ask for (or join) the session of the right stream and play it. Each call supersedes the ones before. */
  async function start(): Promise<void> {
    const mine = ++generation
    clearTimers()
    const id = opts.deviceId()
    if (!opts.canStart() || id === null) {
      destroyMedia()
      return
    }
    const size = opts.size()
    const wasFollowing = following.value
    const waitMs = wasFollowing ? Math.max(REOPEN_WAIT_MS, opts.waitMs) : opts.waitMs
    try {
      let choice: { stream: StreamName; why: StreamWhy | null } = pickStream(id, size) ?? { stream: opts.firstStream?.() ?? 'main', why: null }
      let next = await begin(id, { stream: choice.stream, waitMs })
      if (mine !== generation) return
      learnTicket(id, next)
      // A camera without a sub stream of its own is served its main stream wherever sub was asked for.
      choice = { ...choice, stream: next.session.stream ?? choice.stream }
      // The first answer lists the camera's streams: ask again when another one suits this view.
      const better = pickStream(id, size)
      if (better && better.stream !== choice.stream) {
        next = await begin(id, { stream: better.stream, waitMs })
        if (mine !== generation) return
        learnTicket(id, next)
      }
      choice = better ?? choice
      chosen.value = choice
      error.value = null
      errorDetail.value = null
      ticket = next
      if (startStep({ session: next.session, playable: next.playable, following: wasFollowing }) === 'follow') {
        session.value = wasFollowing ? followedSession(session.value, next.session) : next.session
        follow(id)
        return
      }
      following.value = false
      followAttempt = 0
      session.value = next.session
      play(id, next)
    } catch (err) {
      if (mine !== generation) return
      destroyMedia()
      const { message, detail, retry } = opts.describeStartError(err)
      error.value = message
      errorDetail.value = detail ?? null
      if (retry) retryLater()
    }
  }

  /** The session is down: drop the media, look at its state with back-off, resume when it is live. */
  function follow(id: string): void {
    following.value = true
    recovering.value = null
    destroyMedia()
    window.clearTimeout(followTimer)
    const mine = generation
    followTimer = window.setTimeout(() => void lookAtFollowed(id, mine), sessionWaitDelayMs(followAttempt++))
  }

  async function lookAtFollowed(id: string, mine: number): Promise<void> {
    followTimer = undefined
    let next: SessionInfo | null
    try {
      next = ours((await look(id, chosen.value.stream)).session)
    } catch {
      if (mine === generation) follow(id)
      return
    }
    if (mine !== generation) return
    const step = followStep(next)
    if (step === 'wait') {
      session.value = followedSession(session.value, next)
      follow(id)
    } else {
      if (step === 'play') {
        following.value = false
        followAttempt = 0
      }
      void start()
    }
  }

  function play(id: string, next: LiveTicket): void {
    destroyMedia()
    const v = video.value
    if (!v) return
    if (opts.transport() === 'lowlat' && !wsBroken && next.wsUrl && lowLatencyAvailable()) playLowLatency(id, next, v)
    else playHls(next, v)
  }

  function playHls(next: LiveTicket, v: HTMLVideoElement): void {
    ticket = next
    token = tokenOf(next.url)
    gatewayOrigin = originOf(next.url)
    scheduleRefresh(next.expiresAt)
    transport.value = 'hls'
    if (Hls.isSupported()) {
      const h = new Hls(liveHlsConfig(xhrSetup))
      hls = h
      h.on(Hls.Events.ERROR, (_event, data) => onHlsError(h, data))
      h.on(Hls.Events.FRAG_BUFFERED, () => {
        failures = 0
        recovering.value = null
      })
      h.attachMedia(v)
      h.loadSource(next.url)
    } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
      v.src = next.url
    } else {
      transport.value = null
      error.value = t('player.error.unsupported')
      return
    }
    void v.play().catch(() => {
      // muted autoplay is allowed; a refusal here only means the source is not ready yet
    })
  }

  /** The WebSocket path; its token renewals (4401) and reconnects go through the live API. */
  function playLowLatency(id: string, next: LiveTicket, v: HTMLVideoElement): void {
    const stream = chosen.value.stream
    transport.value = 'lowlat'
    const p: LowLatencyPlayer = new LowLatencyPlayer({
      video: v,
      wsUrl: next.wsUrl,
      renew: async () => {
        const fresh = await begin(id, { stream })
        if (p === lowlat) {
          ticket = fresh
          session.value = fresh.session
        }
        return fresh.wsUrl
      },
      events: {
        init: (info) => {
          if (p !== lowlat) return
          initInfo.value = { codec: info.codec, mode: info.mode }
          learnCodec(id, info.stream, info.codec)
        },
        data: () => {
          if (p !== lowlat) return
          failures = 0
          recovering.value = null
        },
        ended: () => {
          if (p === lowlat) recovering.value = t('player.recover.restarting')
        },
        reconnecting: (why) => {
          if (p === lowlat && why !== 'token') recovering.value = t('player.recover.network')
        },
        failed: (failure, detail) => {
          if (p === lowlat) onLowLatencyFailure(id, stream, failure, detail)
        },
      },
    })
    lowlat = p
    p.start()
  }

  function onLowLatencyFailure(id: string, stream: StreamName, failure: LowLatencyFailure, detail: string | null): void {
    lowlat = null
    switch (failure) {
      case 'unsupported-codec': {
        // The detail is the refused codec string: with it known, another stream may suit (sub for an H.265 main).
        if (detail) learnCodec(id, stream, detail)
        const again = pickStream(id, opts.size())
        if (again && again.stream !== chosen.value.stream) {
          destroyMedia()
          void start()
          return
        }
        fallBackToHls()
        return
      }
      case 'forbidden':
        destroyMedia()
        error.value = t('player.error.forbidden')
        return
      case 'no-session':
      case 'renew-failed':
        destroyMedia()
        retryLater(t('player.recover.network'))
        return
      default:
        wsBroken = true
        fallBackToHls()
    }
  }

  function fallBackToHls(): void {
    destroyMedia()
    const v = video.value
    if (ticket && v) playHls(ticket, v)
  }

  function retryLater(reason?: string): void {
    if (reason) recovering.value = reason
    window.clearTimeout(retryTimer)
    retryTimer = window.setTimeout(() => {
      retryTimer = undefined
      void start()
    }, retryDelayMs(failures++))
  }

  function scheduleRefresh(expiresAt: string): void {
    window.clearTimeout(refreshTimer)
    refreshTimer = window.setTimeout(() => void refreshToken(), refreshDelayMs(expiresAt, Date.now()))
  }

  /** HLS: a fresh token before the old one lapses, swapped under hls.js without a glitch when the playlist stays put. */
  async function refreshToken(): Promise<void> {
    const mine = generation
    const id = opts.deviceId()
    if (id === null || transport.value !== 'hls') return
    try {
      const next = await begin(id, { stream: chosen.value.stream })
      if (mine !== generation) return
      session.value = next.session
      if (hls && ticket && samePlaylist(ticket.url, next.url)) {
        ticket = next
        token = tokenOf(next.url)
        scheduleRefresh(next.expiresAt)
      } else {
        play(id, next)
      }
    } catch {
      if (mine !== generation) return
      // the old token may still be good; try again soon, playback errors take over if not
      refreshTimer = window.setTimeout(() => void refreshToken(), 5_000)
    }
  }

  /** Whether hls.js was told to recover from a fatal media error in place. */
  function recoverMedia(h: Hls): boolean {
    if (opts.mediaRecovery === 'once') {
      if (failures !== 0) return false
      recovering.value = t('player.recover.media')
      failures++
      h.recoverMediaError()
      return true
    }
    recovering.value = t('player.recover.media')
    const at = Date.now()
    if (at - lastMediaErrorAt > MEDIA_RETRY_WINDOW_MS) {
      lastMediaErrorAt = at
      codecSwapped = false
      h.recoverMediaError()
      return true
    }
    if (!codecSwapped) {
      lastMediaErrorAt = at
      codecSwapped = true
      h.swapAudioCodec()
      h.recoverMediaError()
      return true
    }
    return false
  }

  function onHlsError(h: Hls, data: ErrorData): void {
    if (h !== hls || !data.fatal) return
    const code = data.response?.code
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && (code === 401 || code === 403)) {
      // token refused (expired while the tab slept): start over with a new one
      retryLater(t('player.recover.token'))
      return
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recoverMedia(h)) return
    destroyMedia()
    retryLater(data.type === Hls.ErrorTypes.NETWORK_ERROR ? t('player.recover.network') : t('player.recover.media'))
  }

  async function poll(): Promise<void> {
    const id = opts.deviceId()
    if (!opts.canPoll() || id === null || document.hidden || following.value) return
    try {
      const res = await look(id, chosen.value.stream)
      if (following.value || id !== opts.deviceId()) return
      const s = ours(res.session)
      if (!s) return
      session.value = s
      if (error.value !== null || retryTimer) return
      // stopped under an open player (idle timer, node restart): ask for it again, backing off
      if (s.state === 'stopped') retryLater()
      // down with no picture coming: stop fetching media and follow its state instead
      else if ((s.state === 'failed' || s.state === 'reconnecting') && !playing.value) follow(id)
    } catch {
      // keep the last known state; the player itself shows trouble with the video
    }
  }

  function tick(): void {
    now.value = Date.now()
    latency.value = lowlat ? lowlat.latencyMs(now.value) : hls ? latencyMs(hls.playingDate, now.value) : null
    const v = video.value
    const stuck =
      lastAdvanceAt.value > 0 && now.value - lastAdvanceAt.value > STUCK_MS && session.value?.state === 'live' && !retryTimer && !following.value
    if (stuck && v && !v.paused && error.value === null) {
      lastAdvanceAt.value = 0
      destroyMedia()
      retryLater(t('player.recover.stalled'))
    }
  }

  function onTimeUpdate(): void {
    const v = video.value
    if (!v) return
    if (v.currentTime !== lastTime) {
      lastTime = v.currentTime
      lastAdvanceAt.value = Date.now()
    }
  }

  /** A native (non-hls.js, non-MSE) player failed: try again later. */
  function onNativeError(): void {
    if (hls || lowlat || !ticket || transport.value !== 'hls') return
    retryLater(t('player.recover.network'))
  }

  /** The user's 重试: no back-off left over, the WebSocket tried again, start at once. */
  function retryNow(): void {
    failures = 0
    followAttempt = 0
    following.value = false
    wsBroken = false
    error.value = null
    recovering.value = null
    void start()
  }

  /** Supersede whatever is under way and show nothing: no more callbacks, timers, socket or hls.js. */
  function stop(): void {
    generation++
    clearTimers()
    destroyMedia()
  }

  /** Forget the last camera's state (another camera, the same one switched on or off, another view size or path). */
  function reset(): void {
    session.value = null
    error.value = null
    recovering.value = null
    lastAdvanceAt.value = 0
    lastTime = 0
    failures = 0
    followAttempt = 0
    following.value = false
    wsBroken = false
    chosen.value = { stream: 'main', why: null }
    ticket = null
    token = null
  }

  function toggleFullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen()
    else void root.value?.requestFullscreen?.()
  }

  function onFullscreenChange(): void {
    fullscreen.value = document.fullscreenElement === root.value
  }

  onMounted(() => {
    document.addEventListener('fullscreenchange', onFullscreenChange)
    void start()
    pollTimer = window.setInterval(() => void poll(), opts.pollMs)
    tickTimer = window.setInterval(tick, TICK_MS)
  })

  onBeforeUnmount(() => {
    generation++
    clearTimers()
    window.clearInterval(pollTimer)
    window.clearInterval(tickTimer)
    document.removeEventListener('fullscreenchange', onFullscreenChange)
    destroyMedia()
  })

  return {
    error,
    errorDetail,
    session,
    recovering,
    playing,
    latency,
    fullscreen,
    badge,
    following,
    start,
    stop,
    reset,
    poll,
    retryNow,
    onTimeUpdate,
    onNativeError,
    toggleFullscreen,
  }
}
