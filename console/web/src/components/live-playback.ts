// The hls.js lifecycle shared by LivePlayer and the wall's tiles: ask for a ticket, play it with
// the token on every request, renew the token before it lapses, recover from hls.js errors with
// back-off, notice a stuck picture, follow the gateway's session state, and tear it all down.
// What each component asks for (the start request, when to play, what to show) stays with it;
// the pure decisions live in live-player-model.ts.
import { computed, onBeforeUnmount, onMounted, ref, type Ref } from 'vue'
import { useI18n } from 'vue-i18n'
import Hls, { type ErrorData, type HlsConfig } from 'hls.js'
import { getStream, startLive, type LiveTicket, type SessionInfo } from '../api/media.ts'
import {
  latencyMs,
  liveHlsConfig,
  originOf,
  refreshDelayMs,
  releaseVideo,
  retryDelayMs,
  samePlaylist,
  tokenOf,
  withToken,
} from './live-player-model.ts'

const TICK_MS = 1_000
/** Frames that stopped this long ago while the gateway says live: the player is stuck, start over. */
const STUCK_MS = 12_000
/** A second media error this soon after the first gets a codec swap, a third a rebuild. */
const MEDIA_RETRY_WINDOW_MS = 5_000

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
  /** Ask for (or join) the session: the first ticket of a start. Renewals use startLive. */
  open: (deviceId: string) => Promise<LiveTicket>
  /** What a refused start says and whether to try again. */
  describeStartError: (err: unknown) => StartFailure
  /**
   * What a fatal media error gets: 'escalate' recovers, then swaps the audio codec within a short
   * window, then rebuilds; 'once' recovers only while nothing has failed yet, then rebuilds.
   */
  mediaRecovery: 'escalate' | 'once'
  pollMs: number
}

export function useLivePlayback(opts: LivePlaybackOptions) {
  const { t } = useI18n()
  const { root, video } = opts

  const error = ref<string | null>(null)
  const errorDetail = ref<string | null>(null)
  const session = ref<SessionInfo | null>(null)
  const recovering = ref<string | null>(null)
  const lastAdvanceAt = ref(0)
  const now = ref(Date.now())
  const latency = ref<number | null>(null)
  const fullscreen = ref(false)

  let hls: Hls | null = null
  let ticket: LiveTicket | null = null
  let token: string | null = null
  let gatewayOrigin = ''
  let generation = 0
  let failures = 0
  let lastMediaErrorAt = 0
  let codecSwapped = false
  let lastTime = 0
  let retryTimer: number | undefined
  let refreshTimer: number | undefined
  let pollTimer: number | undefined
  let tickTimer: number | undefined

  const playing = computed(() => lastAdvanceAt.value > 0 && now.value - lastAdvanceAt.value < 4_000)

  const xhrSetup: HlsConfig['xhrSetup'] = (xhr, url) => {
    xhr.open('GET', withToken(url, token, gatewayOrigin), true)
  }

  function clearTimers(): void {
    window.clearTimeout(retryTimer)
    window.clearTimeout(refreshTimer)
    retryTimer = undefined
    refreshTimer = undefined
  }

  function destroyHls(): void {
    hls?.destroy()
    hls = null
    releaseVideo(video.value)
  }

  /** Ask for (or join) the session and play it. Each call supersedes the ones before. */
  async function start(): Promise<void> {
    const mine = ++generation
    clearTimers()
    const id = opts.deviceId()
    if (!opts.canStart() || id === null) {
      destroyHls()
      return
    }
    try {
      const next = await opts.open(id)
      if (mine !== generation) return
      error.value = null
      errorDetail.value = null
      session.value = next.session
      play(next)
    } catch (err) {
      if (mine !== generation) return
      destroyHls()
      const { message, detail, retry } = opts.describeStartError(err)
      error.value = message
      errorDetail.value = detail ?? null
      if (retry) retryLater()
    }
  }

  function play(next: LiveTicket): void {
    ticket = next
    token = tokenOf(next.url)
    gatewayOrigin = originOf(next.url)
    scheduleRefresh(next.expiresAt)
    destroyHls()
    const v = video.value
    if (!v) return
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
      error.value = t('player.error.unsupported')
      return
    }
    void v.play().catch(() => {
      // muted autoplay is allowed; a refusal here only means the source is not ready yet
    })
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

  /** A fresh token before the old one lapses: swapped under hls.js without a glitch when the playlist stays put. */
  async function refreshToken(): Promise<void> {
    const mine = generation
    const id = opts.deviceId()
    if (id === null) return
    try {
      const next = await startLive(id)
      if (mine !== generation) return
      session.value = next.session
      if (hls && ticket && samePlaylist(ticket.url, next.url)) {
        ticket = next
        token = tokenOf(next.url)
        scheduleRefresh(next.expiresAt)
      } else {
        play(next)
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
    destroyHls()
    retryLater(data.type === Hls.ErrorTypes.NETWORK_ERROR ? t('player.recover.network') : t('player.recover.media'))
  }

  async function poll(): Promise<void> {
    const id = opts.deviceId()
    if (!opts.canPoll() || id === null || document.hidden) return
    try {
      const res = await getStream(id)
      session.value = res.session
      // stopped under an open player (idle timer, node restart): ask for it again, backing off
      if (res.session?.state === 'stopped' && error.value === null && !retryTimer) retryLater()
    } catch {
      // keep the last known state; the player itself shows trouble with the video
    }
  }

  function tick(): void {
    now.value = Date.now()
    latency.value = hls ? latencyMs(hls.playingDate, now.value) : null
    const v = video.value
    const stuck =
      lastAdvanceAt.value > 0 && now.value - lastAdvanceAt.value > STUCK_MS && session.value?.state === 'live' && !retryTimer
    if (stuck && v && !v.paused && error.value === null) {
      lastAdvanceAt.value = 0
      destroyHls()
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

  /** A native (non-hls.js) player failed: try again later. */
  function onNativeError(): void {
    if (hls || !ticket) return
    retryLater(t('player.recover.network'))
  }

  /** The user's 重试: no back-off left over, start at once. */
  function retryNow(): void {
    failures = 0
    error.value = null
    recovering.value = null
    void start()
  }

  /** Supersede whatever is under way and show nothing: no more callbacks, timers or hls.js. */
  function stop(): void {
    generation++
    clearTimers()
    destroyHls()
  }

  /** Forget the last camera's state (another camera, or the same one switched on or off). */
  function reset(): void {
    session.value = null
    error.value = null
    recovering.value = null
    lastAdvanceAt.value = 0
    lastTime = 0
    failures = 0
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
    destroyHls()
  })

  return {
    error,
    errorDetail,
    session,
    recovering,
    playing,
    latency,
    fullscreen,
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
