// What the live tile shows and how the player retries and refreshes; runs in node.
import { describe, expect, it } from 'vitest'
import {
  coversVideo,
  followedSession,
  followStep,
  latencyMs,
  liveHlsConfig,
  playerView,
  reasonKey,
  refreshDelayMs,
  retryDelayMs,
  samePlaylist,
  sessionWaitDelayMs,
  startStep,
  streamBadge,
  tokenOf,
  withToken,
} from '../components/live-player-model.ts'
import type { SessionInfo } from '../api/media.ts'

function session(state: SessionInfo['state'], reason: string | null = null, more: Partial<SessionInfo> = {}): SessionInfo {
  return {
    deviceId: 'd1',
    stream: 'main',
    state,
    reason,
    mode: 'copy',
    codec: 'h264',
    codecString: null,
    width: null,
    height: null,
    transcodeReason: null,
    cpuPercent: null,
    recording: false,
    startedAt: null,
    lastSegmentAt: null,
    restarts: 0,
    viewers: 1,
    ...more,
  }
}

const base = { error: null, session: null, playing: false, recovering: null }

describe('playerView', () => {
  it('shows a refused start as an error', () => {
    expect(playerView({ ...base, error: 'session limit reached' })).toEqual({ state: 'error', reason: 'session limit reached' })
  })

  it('is starting until frames advance, then live', () => {
    expect(playerView(base).state).toBe('starting')
    expect(playerView({ ...base, session: session('live') }).state).toBe('starting')
    expect(playerView({ ...base, session: session('starting'), playing: true }).state).toBe('live')
    expect(playerView({ ...base, playing: true }).state).toBe('live')
  })

  it('passes on the gateway state and reason', () => {
    expect(playerView({ ...base, session: session('reconnecting', 'camera dropped'), playing: true })).toEqual({
      state: 'reconnecting',
      reason: 'camera dropped',
    })
    expect(playerView({ ...base, session: session('failed', 'connection refused') }).state).toBe('failed')
    expect(playerView({ ...base, session: session('degraded', 'disk full'), playing: true }).state).toBe('degraded')
  })

  it('reports the player recovering', () => {
    expect(playerView({ ...base, session: session('live'), recovering: 'network' })).toEqual({ state: 'reconnecting', reason: 'network' })
  })

  it('covers the picture unless live or degraded while playing', () => {
    expect(coversVideo({ state: 'live', reason: null }, true)).toBe(false)
    expect(coversVideo({ state: 'degraded', reason: 'disk full' }, true)).toBe(false)
    expect(coversVideo({ state: 'degraded', reason: 'disk full' }, false)).toBe(true)
    expect(coversVideo({ state: 'reconnecting', reason: null }, true)).toBe(true)
  })
})

describe('reasonKey', () => {
  it('recognises known reasons and leaves the rest as sent', () => {
    expect(reasonKey('ENOSPC: no space left on device')).toBe('player.reason.diskFull')
    expect(reasonKey('disk full')).toBe('player.reason.diskFull')
    expect(reasonKey('Connection refused')).toBe('player.reason.unreachable')
    expect(reasonKey('no segment for 6 s (stalled)')).toBe('player.reason.timeout')
    expect(reasonKey('something odd')).toBeNull()
    expect(reasonKey(null)).toBeNull()
  })
})

describe('timers', () => {
  it('backs off exponentially up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
  })

  it('refreshes a token well before it expires', () => {
    const now = Date.parse('2024-05-01T00:00:00Z')
    expect(refreshDelayMs('2024-05-01T00:10:00Z', now)).toBe(480_000)
    expect(refreshDelayMs('2024-05-01T00:01:00Z', now)).toBe(45_000)
    expect(refreshDelayMs('2024-05-01T00:00:10Z', now)).toBe(5_000)
    expect(refreshDelayMs('2023-01-01T00:00:00Z', now)).toBe(5_000)
    expect(refreshDelayMs('garbage', now)).toBe(60_000)
  })
})

describe('following a session that is down', () => {
  it('looks again at 2 s, 4 s, 8 s … at most 30 s', () => {
    expect([0, 1, 2, 3, 4, 9].map(sessionWaitDelayMs)).toEqual([2000, 4000, 8000, 16000, 30000, 30000])
  })

  it('plays a ticket unless its session is down; a restart while following waits for its playlist', () => {
    expect(startStep({ session: session('live'), playable: false, following: false })).toBe('play')
    expect(startStep({ session: session('starting'), playable: false, following: false })).toBe('play')
    expect(startStep({ session: session('failed', 'connection refused'), playable: false, following: false })).toBe('follow')
    expect(startStep({ session: session('reconnecting'), playable: true, following: false })).toBe('follow')
    expect(startStep({ session: session('starting'), playable: false, following: true })).toBe('follow')
    expect(startStep({ session: session('starting'), playable: true, following: true })).toBe('play')
    expect(startStep({ session: session('degraded', 'disk full'), playable: false, following: true })).toBe('play')
  })

  it('plays again once live, waits while down or starting, opens it again when stopped or gone', () => {
    expect(followStep(session('live'))).toBe('play')
    expect(followStep(session('degraded'))).toBe('play')
    expect(followStep(session('failed'))).toBe('wait')
    expect(followStep(session('reconnecting'))).toBe('wait')
    expect(followStep(session('starting'))).toBe('wait')
    expect(followStep(session('stopped', 'idle'))).toBe('reopen')
    expect(followStep(null)).toBe('reopen')
  })

  it('keeps showing the last failure through the session\'s restarts and idle stop', () => {
    const down = session('failed', 'connection refused')
    expect(followedSession(down, session('starting'))).toBe(down)
    expect(followedSession(down, session('stopped', 'idle'))).toBe(down)
    expect(followedSession(down, null)).toBe(down)
    const live = session('live')
    expect(followedSession(down, live)).toBe(live)
    const again = session('reconnecting', 'timeout')
    expect(followedSession(down, again)).toBe(again)
    const starting = session('starting')
    expect(followedSession(session('live'), starting)).toBe(starting)
    expect(followedSession(null, starting)).toBe(starting)
  })
})

describe('streamBadge', () => {
  it('says what plays: the init\'s codec and mode first, else the session\'s', () => {
    expect(streamBadge({ transport: 'lowlat', stream: 'main', why: 'decodes', init: { codec: 'avc1.64001f', mode: 'copy' }, session: session('live') })).toEqual({
      transport: 'lowlat',
      stream: 'main',
      codec: 'H.264',
      mode: 'copy',
      why: 'decodes',
    })
    expect(streamBadge({ transport: 'hls', stream: 'main', why: null, init: null, session: session('live', null, { codec: 'hevc', codecString: 'hvc1.1.6.L93.B0', mode: 'copy' }) })).toEqual({
      transport: 'hls',
      stream: 'main',
      codec: 'H.265',
      mode: 'copy',
      why: null,
    })
  })

  it('does not borrow another stream\'s session, and shows nothing while nothing plays', () => {
    expect(streamBadge({ transport: 'hls', stream: 'sub', why: 'small', init: null, session: session('live', null, { stream: 'main', mode: 'transcode' }) })).toEqual({
      transport: 'hls',
      stream: 'sub',
      codec: null,
      mode: null,
      why: 'small',
    })
    expect(streamBadge({ transport: null, stream: 'main', why: null, init: null, session: session('live') })).toBeNull()
  })
})

describe('tokens and URLs', () => {
  const gw = 'http://gw.local:8090'
  const url = `${gw}/media/live/d1/old.tok/index.m3u8`

  it('puts the newest token on gateway requests only: the path segment after the device', () => {
    expect(withToken(`${gw}/media/live/d1/old.tok/seg-12.ts`, 'new.tok', gw)).toBe(`${gw}/media/live/d1/new.tok/seg-12.ts`)
    expect(withToken(url, 'new.tok', gw)).toBe(`${gw}/media/live/d1/new.tok/index.m3u8`)
    expect(withToken(`${gw}/media/vod/d1/old.tok/seg/123.ts`, 'new.tok', gw)).toBe(`${gw}/media/vod/d1/new.tok/seg/123.ts`)
    expect(withToken(`${gw}/media/vod/gap.ts`, 'new.tok', gw)).toBe(`${gw}/media/vod/gap.ts`)
    expect(withToken('http://elsewhere/media/live/d1/old.tok/x.ts', 'new.tok', gw)).toBe('http://elsewhere/media/live/d1/old.tok/x.ts')
    expect(withToken(url, null, gw)).toBe(url)
  })

  it('tells a token swap from a move to another playlist', () => {
    expect(tokenOf(url)).toBe('old.tok')
    expect(tokenOf(`${gw}/media/vod/gap.ts`)).toBeNull()
    expect(tokenOf('not a url')).toBeNull()
    expect(samePlaylist(url, `${gw}/media/live/d1/new.tok/index.m3u8`)).toBe(true)
    expect(samePlaylist(url, `${gw}/media/live/d2/new.tok/index.m3u8`)).toBe(false)
    expect(samePlaylist(url, 'http://gw2.local:8090/media/live/d1/new.tok/index.m3u8')).toBe(false)
  })

  it('measures latency from the program date-time', () => {
    expect(latencyMs(new Date(1000), 2500)).toBe(1500)
    expect(latencyMs(null, 2500)).toBeNull()
    expect(latencyMs(new Date(5000), 2500)).toBeNull()
  })
})

describe('liveHlsConfig', () => {
  it('is a low-latency live configuration hls.js accepts', async () => {
    const cfg = liveHlsConfig(undefined)
    expect(cfg.liveSyncDuration).toBeLessThan(cfg.liveMaxLatencyDuration!)
    expect(cfg.liveSyncDurationCount).toBeUndefined()
    expect(cfg.maxLiveSyncPlaybackRate).toBe(1.2)
    expect(cfg.backBufferLength).toBe(10)
    const retry = cfg.manifestLoadPolicy!.default.errorRetry!
    expect(retry.shouldRetry!(retry, 0, false, { url: '', code: 404 }, false)).toBe(true)
    expect(retry.shouldRetry!(retry, 0, false, { url: '', code: 403 }, false)).toBe(false)
    expect(retry.shouldRetry!(retry, retry.maxNumRetry, false, { url: '', code: 404 }, false)).toBe(false)
  })
})
