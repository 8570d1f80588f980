// Live view, stream state, recording timeline and footage. The URLs returned point at a
// gateway node (another origin): the player fetches them without cookies, the token is the auth.
// The token is a path segment (`/media/live/<device>/<token>/index.m3u8`, the same for vod):
// segment URIs in the playlist are relative to it (live-player-model.ts withToken renews it).
import { http, seg } from './http.ts'

export type SessionState = 'starting' | 'live' | 'reconnecting' | 'failed' | 'stopped' | 'degraded'

export interface SessionInfo {
  deviceId: string
  state: SessionState
  /** Why the session is in this state (last error, "idle", "disk full", …). */
  reason: string | null
  /** copy when the camera sends H.264, transcode otherwise; null until known. */
  mode: 'copy' | 'transcode' | null
  recording: boolean
  startedAt: string | null
  /** Wall-clock time of the newest live segment. */
  lastSegmentAt: string | null
  restarts: number
  viewers: number
}

export interface LiveTicket {
  /** Absolute gateway URL of the live playlist, its token in the path. */
  url: string
  expiresAt: string
  session: SessionInfo
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
}

/** Starts (or joins) the camera's live session. 503 when no node can take it, 502 when the camera is unreachable. */
export function startLive(deviceId: string): Promise<LiveTicket> {
  return http.post<LiveTicket>(`/devices/${seg(deviceId)}/live`, {})
}

export function getStream(deviceId: string, signal?: AbortSignal): Promise<{ session: SessionInfo | null }> {
  return http.get<{ session: SessionInfo | null }>(`/devices/${seg(deviceId)}/stream`, { signal })
}

export function getTimeline(deviceId: string, day: string, signal?: AbortSignal): Promise<Timeline> {
  return http.get<Timeline>(`/devices/${seg(deviceId)}/timeline`, { query: { day }, signal })
}

export function openFootage(deviceId: string, req: FootageRequest): Promise<FootageTicket> {
  return http.post<FootageTicket>(`/devices/${seg(deviceId)}/footage`, req)
}
