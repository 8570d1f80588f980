// The patrol phone's API (console/server/linkage/patrol-routes.ts, role patrol): my units and duty,
// my unit's cue and its steps, report photos, GPS fixes, and the cameras pushed to my unit.
// The shapes mirror console/server/linkage/schemas.ts (docs/control-room/linkage.md).
import { ApiError, http, seg, type ErrorParams } from './http.ts'
import type { LiveRequest, LiveTicket } from './media.ts'

// The shapes the control room's side uses too (api/linkage.ts), named here for the phone's modules.
import type { Cue, CuePhoto, CueStatus, Push, Unit, UnitCueStep } from './linkage.ts'
export type { Cue, CueEvent, CuePhoto, CueStatus, Position as UnitPosition, Push, Unit, UnitCueStep, UnitKind, UnitMember, UnitState } from './linkage.ts'
export { UNIT_CUE_STEPS } from './linkage.ts'
/** Statuses in which a cue holds its unit (rules.ts ACTIVE_CUE). */
export const ACTIVE_CUE_STATUSES: CueStatus[] = ['sent', 'received', 'en_route', 'on_scene']

export interface PatrolMe {
  /** The units I am a member of. */
  units: Unit[]
  duty: { unit: Unit; since: string } | null
  cue: Cue | null
  pushes: Push[]
}

export interface Fix { at: string; lat: number; lon: number; heading?: number | null; speed?: number | null; accuracy?: number | null }
export interface FixesResult { accepted: number; duplicates: number; rejected: { index: number; code: string; reason: string }[] }

export interface UnitStepBody {
  status: UnitCueStep
  report?: string
  lat?: number
  lon?: number
  version?: number
}

/** At most this many fixes in one POST /api/patrol/positions (FixesBody maxItems). */
export const MAX_FIXES_PER_REQUEST = 500

export function getPatrolMe(signal?: AbortSignal): Promise<PatrolMe> {
  return http.get<PatrolMe>('/patrol/me', { signal })
}

export function goOnDuty(unitId: string): Promise<unknown> {
  return http.post('/patrol/duty', { unitId })
}

/** 409 linkage.cue_active while the unit holds a cue. */
export function goOffDuty(): Promise<unknown> {
  return http.delete('/patrol/duty')
}

/** 429 linkage.gps_flood when sent too often, 409 linkage.not_on_duty when off duty. */
export function sendPositions(fixes: Fix[]): Promise<FixesResult> {
  return http.post<FixesResult>('/patrol/positions', { fixes })
}

export function getPatrolCue(id: string, signal?: AbortSignal): Promise<Cue> {
  return http.get<Cue>(`/patrol/cues/${seg(id)}`, { signal })
}

/** One step from the phone (409 linkage.cue_step_skipped etc. naming the rule). */
export function stepCue(id: string, body: UnitStepBody): Promise<Cue> {
  return http.post<Cue>(`/patrol/cues/${seg(id)}/steps`, body)
}

/** The image of a cue's photo (the cue's own unit may read it). */
export function cuePhotoUrl(cueId: string, photoId: string): string {
  return `/api/cues/${seg(cueId)}/photos/${seg(photoId)}`
}

/** Live view of a camera pushed to my unit: the same answer as POST /api/devices/:id/live (403 linkage.camera_not_pushed otherwise). */
export function startPatrolLive(deviceId: string, req: LiveRequest = {}): Promise<LiveTicket> {
  return http.post<LiveTicket>(patrolLivePath(deviceId), req)
}

/** The API path (under /api) of a pushed camera's live start, as LivePlayer's startUrl takes it. */
export function patrolLivePath(deviceId: string): string {
  return `/patrol/cameras/${seg(deviceId)}/live`
}

/**
 * A report photo (JPEG/PNG/WebP ≤ 8 MB, checked by content), as multipart field `file`.
 * The JSON wrapper in http.ts sends JSON or text only, so this one call builds its own request
 * and turns a refusal into the same ApiError.
 */
export async function uploadCuePhoto(cueId: string, file: Blob, name = 'photo.jpg', signal?: AbortSignal): Promise<CuePhoto> {
  const form = new FormData()
  form.append('file', file, name)
  let response: Response
  try {
    response = await fetch(`/api/patrol/cues/${seg(cueId)}/photos`, {
      method: 'POST', body: form, credentials: 'same-origin', headers: { Accept: 'application/json' }, signal,
    })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err))
  }
  let payload: unknown
  try {
    payload = (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : undefined
  } catch {
    payload = undefined
  }
  if (response.ok) return payload as CuePhoto
  const p = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>
  throw new ApiError(
    response.status,
    typeof p.error === 'string' ? p.error : `http_${response.status}`,
    typeof p.message === 'string' ? p.message : response.statusText,
    typeof p.field === 'string' ? p.field : undefined,
    typeof p.code === 'string' ? p.code : undefined,
    p.params && typeof p.params === 'object' ? (p.params as ErrorParams) : undefined,
  )
}
