// Live view, stream state, recording timeline and footage. The URLs returned point at a
// gateway node (another origin): the player fetches them without cookies, the token is the auth.
// The token is a path segment (`/media/live/<device>/<token>/index.m3u8`, the same for vod):
// segment URIs in the playlist are relative to it (live-player-model.ts withToken renews it).
import { http, seg } from './http.ts'
import type { StreamName, StreamOffer } from '../components/lowlat/lowlat-model.ts'

export type SessionState = 'starting' | 'live' | 'reconnecting' | 'failed' | 'stopped' | 'degraded'

export interface SessionInfo {
  deviceId: string
  /** Which of the camera's streams the session pulls (one session per camera and stream). */
  stream: StreamName
  state: SessionState
  /** Why the session is in this state (last error, "idle", "disk full", …). */
  reason: string | null
  /** copy when the camera sends H.264, transcode otherwise; null until known. */
  mode: 'copy' | 'transcode' | null
  /** What the camera sends (h264, hevc, …); null until known. */
  codec: string | null
  /** RFC 6381 codec string of the low-latency init segment (`avc1.64001f`); null until seen. */
  codecString: string | null
  width: number | null
  height: number | null
  /** Why the session transcodes (the camera's codec); null when it copies. */
  transcodeReason: string | null
  /** Percent of one core the session's ffmpeg used over the last 5 s; null until measured. */
  cpuPercent: number | null
  recording: boolean
  startedAt: string | null
  /** Wall-clock time of the newest live segment. */
  lastSegmentAt: string | null
  restarts: number
  viewers: number
}

export interface LiveTicket {
  /** Absolute gateway URL of the live playlist, its token in the path (`…/<token>/sub/index.m3u8` for sub). */
  url: string
  /** The low-latency feed: `ws(s)://<node>/media/live/<device>/ws?token=…&stream=…`. */
  wsUrl: string
  expiresAt: string
  session: SessionInfo
  /** The playlist listed a segment within waitMs (false without a wait). */
  playable: boolean
  /** The camera's streams (the sub entry only when it has a distinct sub stream). */
  streams: StreamOffer[]
}

export interface LiveRequest {
  /** How long the server may wait for a cold session's first playlist (ms, ≤ 15 000). */
  waitMs?: number
  stream?: StreamName
}

export interface TimelineRange {
  from: string
  to: string
  kind: 'footage' | 'missing'
}

export interface Timeline {
  /** YYYY-MM-DD in the site time zone. */
  day: string
  timezone: string
  from: string
  to: string
  ranges: TimelineRange[]
}

export interface FootageRequest {
  from: string
  to: string
  reason?: string
}

export interface FootageTicket {
  /** Absolute gateway URL of a VOD playlist, its token in the path (EXT-X-PROGRAM-DATE-TIME, EXT-X-GAP, EXT-X-START at from). */
  url: string
  expiresAt: string
  segments: number
  /** What the footage was recorded in (the main stream as the camera sends it); null when unknown. */
  codec?: 'h264' | 'hevc' | null
}

/**
 * Starts (or joins) the session of one of the camera's streams (main unless told). With waitMs the
 * server waits for a cold session's first playlist, so the player starts at once instead of
 * retrying a playlist that is not written yet. 503 when no node can take it, 502 when the camera
 * is unreachable.
 */
export function startLive(deviceId: string, req: LiveRequest = {}): Promise<LiveTicket> {
  return http.post<LiveTicket>(`/devices/${seg(deviceId)}/live`, req)
}

/** The session of one of the camera's streams (null when none runs); a server that knows one session per camera answers main's. */
export function getStream(deviceId: string, stream: StreamName = 'main', signal?: AbortSignal): Promise<{ session: SessionInfo | null }> {
  return http.get<{ session: SessionInfo | null }>(`/devices/${seg(deviceId)}/stream`, { query: { stream }, signal })
}

export function getTimeline(deviceId: string, day: string, signal?: AbortSignal): Promise<Timeline> {
  return http.get<Timeline>(`/devices/${seg(deviceId)}/timeline`, { query: { day }, signal })
}

export function openFootage(deviceId: string, req: FootageRequest): Promise<FootageTicket> {
  return http.post<FootageTicket>(`/devices/${seg(deviceId)}/footage`, req)
}
