// The patrol phone's decisions as plain code (tested in __tests__/patrol-model.test.ts): which cue
// the phone shows when an event or a reload brings one, the unit's next step and its button, the
// pushed cameras as events change them, the straight-line route and the ack countdown.
import { ACTIVE_CUE_STATUSES, UNIT_CUE_STEPS, type Cue, type CueStatus, type Push, type UnitCueStep } from '../../api/patrol.ts'

export const isActiveCue = (status: CueStatus) => ACTIVE_CUE_STATUSES.includes(status)

/** What an incoming cue (an event, an answer) does to the one shown. */
export type CueChange =
  | { kind: 'same' }
  /** A cue for this unit the phone did not show: a new dispatch. */
  | { kind: 'new'; cue: Cue }
  | { kind: 'updated'; cue: Cue }
  /** The shown cue was cancelled or reassigned away by the control room. */
  | { kind: 'withdrawn'; cue: Cue }

/**
 * The phone shows at most one cue, its unit's active one (a unit holds one at a time). An event for
 * the shown cue replaces it unless it is older (version); an active cue for another id is a new
 * dispatch; a final one for another id (a replay of an older cue) changes nothing.
 */
export function cueChange(shown: Cue | null, incoming: Cue, unitId: string | null): CueChange {
  if (unitId !== null && incoming.unitId !== unitId) return { kind: 'same' }
  if (shown && shown.id === incoming.id) {
    if (incoming.version < shown.version) return { kind: 'same' }
    if (incoming.version === shown.version && incoming.status === shown.status) return { kind: 'same' }
    if (isActiveCue(shown.status) && (incoming.status === 'cancelled' || incoming.status === 'reassigned')) return { kind: 'withdrawn', cue: incoming }
    return { kind: 'updated', cue: incoming }
  }
  if (!isActiveCue(incoming.status)) return { kind: 'same' }
  return { kind: 'new', cue: incoming }
}

/** The cue after a change (withdrawn: kept to show why, with no buttons). */
export function applyCueChange(shown: Cue | null, change: CueChange): Cue | null {
  return change.kind === 'same' ? shown : change.cue
}

/**
 * The one step the unit may take next: the following status in sent → received → en_route → on_scene
 * → done (rules.ts). Derived from the status, not from allowedSteps, because a cue that comes over the
 * realtime channel may carry the steps a monitor may force.
 */
export function nextStep(cue: Cue | null): UnitCueStep | null {
  if (!cue || !isActiveCue(cue.status)) return null
  const i = (['sent', ...UNIT_CUE_STEPS] as CueStatus[]).indexOf(cue.status)
  return UNIT_CUE_STEPS[i] ?? null
}

/** The progress row: each step with its time (null: not yet). */
export function cueProgress(cue: Cue): { status: CueStatus; at: string | null }[] {
  return [
    { status: 'sent', at: cue.sentAt },
    { status: 'received', at: cue.receivedAt },
    { status: 'en_route', at: cue.enRouteAt },
    { status: 'on_scene', at: cue.onSceneAt },
    { status: 'done', at: cue.doneAt },
  ]
}

/** Seconds left to acknowledge a cue still `sent` (0 when past), null otherwise. */
export function ackSecondsLeft(cue: Cue | null, now: number): number | null {
  if (!cue || cue.status !== 'sent') return null
  const deadline = Date.parse(cue.ackDeadline)
  if (!Number.isFinite(deadline)) return null
  return Math.max(0, Math.ceil((deadline - now) / 1000))
}

/** The cameras pushed to the unit after a camera.pushed / camera.unpushed event (newest first). */
export function applyPushEvent(pushes: Push[], kind: string, push: Push | undefined | null): Push[] {
  if (!push || typeof push.deviceId !== 'string') return pushes
  const rest = pushes.filter((p) => p.deviceId !== push.deviceId)
  if (kind === 'camera.pushed') return [push, ...rest]
  if (kind === 'camera.unpushed') return rest
  return pushes
}

/** The cameras the phone offers: those pushed with the shown cue first, then the rest, newest first. */
export function orderPushes(pushes: Push[], cueId: string | null): Push[] {
  const at = (p: Push) => Date.parse(p.pushedAt) || 0
  return [...pushes].sort((a, b) => Number(b.cueId === cueId && cueId !== null) - Number(a.cueId === cueId && cueId !== null) || at(b) - at(a))
}

export interface LatLonPoint { lat: number; lon: number }

const R = 6_371_008.8

/** Great-circle distance in metres. */
export function haversineM(a: LatLonPoint, b: LatLonPoint): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** The incident of a cue as a point, null when it has no location. */
export function incidentPoint(cue: Cue | null): LatLonPoint | null {
  if (!cue || cue.incidentLat === null || cue.incidentLon === null) return null
  if (!Number.isFinite(cue.incidentLat) || !Number.isFinite(cue.incidentLon)) return null
  return { lat: cue.incidentLat, lon: cue.incidentLon }
}

/**
 * The straight line from the unit to the incident: measured from the phone's own position when it
 * has one, else the cue's distance at dispatch; the ETA only when the server gave one.
 */
export function routeSummary(cue: Cue | null, own: LatLonPoint | null): { distanceM: number | null; etaSeconds: number | null; live: boolean } {
  const target = incidentPoint(cue)
  const eta = typeof cue?.etaSeconds === 'number' && Number.isFinite(cue.etaSeconds) ? cue.etaSeconds : null
  if (target && own) return { distanceM: haversineM(own, target), etaSeconds: eta, live: true }
  return { distanceM: cue?.distanceM ?? null, etaSeconds: eta, live: false }
}

/** A short note for the next step's request: the phone's position when it is recent (≤ 2 min). */
export function stepPosition(own: { lat: number; lon: number; at: string } | null, now: number): { lat: number; lon: number } | Record<string, never> {
  if (!own) return {}
  const at = Date.parse(own.at)
  if (!Number.isFinite(at) || now - at > 120_000) return {}
  if (Math.abs(own.lat) > 90 || Math.abs(own.lon) > 180) return {}
  return { lat: own.lat, lon: own.lon }
}

/** Report photos: the server takes JPEG/PNG/WebP up to 8 MB, at most 9 per cue (service.ts MAX_PHOTOS). */
export const MAX_REPORT_PHOTOS = 9
export const PHOTO_MAX_BYTES = 8 * 1024 * 1024
export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp']
/** The long side of a photo shrunk to fit under the limit. */
export const PHOTO_MAX_SIDE_PX = 2560

/** Whether a chosen file needs re-encoding before upload: too big, or a type the server refuses (HEIC). */
export function photoNeedsShrink(file: { size: number; type: string }): boolean {
  return file.size > PHOTO_MAX_BYTES || (file.type !== '' && !PHOTO_TYPES.includes(file.type))
}

/** The size to draw a w×h picture at so its long side is at most `max`. */
export function fitWithin(w: number, h: number, max = PHOTO_MAX_SIDE_PX): { width: number; height: number } {
  const long = Math.max(w, h)
  if (long <= max || long <= 0) return { width: w, height: h }
  const k = max / long
  return { width: Math.round(w * k), height: Math.round(h * k) }
}
