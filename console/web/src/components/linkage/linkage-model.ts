// The linkage's decisions as plain code (no DOM, no Vue), tested in __tests__/linkage-model.test.ts:
// the 1/3/5-minute response colours, a cue's steps with their times, merging realtime updates into
// lists, the rings grouped for the panel and the wall, a pasted grid polygon, and the throttle of
// the wall's "follow this unit".
import type { CameraRef, Cue, CueStatus, LonLat, PositionUpdate, Proposal, Ring, RingSet, Unit } from '../../api/linkage.ts'

// ---- response times -----------------------------------------------------------------

/** The rapid-response targets (快速反应圈), seconds: 1, 3 and 5 minutes (config linkage.responseTargetsSeconds). */
export const RESPONSE_TARGETS_S: readonly [number, number, number] = [60, 180, 300]

export type ResponseLevel = 'green' | 'amber' | 'orange' | 'red'

export const LEVEL_COLOR: Record<ResponseLevel, string> = {
  green: '#3ddc84',
  amber: '#ffc53d',
  orange: '#ff8a3d',
  red: '#ff4d4f',
}

/** ≤ 60 s green, ≤ 180 s amber, ≤ 300 s orange, beyond red. */
export function responseLevel(seconds: number, targets: readonly number[] = RESPONSE_TARGETS_S): ResponseLevel {
  if (!Number.isFinite(seconds)) return 'red'
  if (seconds <= targets[0]!) return 'green'
  if (seconds <= targets[1]!) return 'amber'
  if (seconds <= targets[2]!) return 'orange'
  return 'red'
}

/** Seconds between two ISO times (never negative: clocks of phones drift a little). */
export function secondsBetween(from: string, to: string | number): number {
  const a = Date.parse(from)
  const b = typeof to === 'number' ? to : Date.parse(to)
  if (!Number.isFinite(a) || !Number.isFinite(b)) return NaN
  return Math.max(0, Math.round((b - a) / 1000))
}

/** `45 s`, `1:15`, `12:03`, `1:02:03`: short enough for a step chip. */
export function formatElapsed(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  const pad = (n: number) => String(n).padStart(2, '0')
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}

// ---- a cue's steps --------------------------------------------------------------------

export const CUE_STEPS = ['sent', 'received', 'en_route', 'on_scene', 'done'] as const
export type CueStep = (typeof CUE_STEPS)[number]

const STEP_TIME: Record<CueStep, keyof Cue> = {
  sent: 'sentAt', received: 'receivedAt', en_route: 'enRouteAt', on_scene: 'onSceneAt', done: 'doneAt',
}

export const ACTIVE_CUE: readonly CueStatus[] = ['sent', 'received', 'en_route', 'on_scene']
export const isActiveCue = (status: CueStatus): boolean => ACTIVE_CUE.includes(status)

export interface StepView {
  step: CueStep
  /** When it was reached (ISO), or null. */
  at: string | null
  /** Seconds from sent: when reached, or — for the step the cue waits for — until now. */
  elapsed: number | null
  level: ResponseLevel | null
  state: 'done' | 'waiting' | 'todo'
  /** Forced by a monitor (an override in the cue's events). */
  override: boolean
}

/**
 * The five steps of a cue with their times. The first step not yet reached of an active cue is
 * `waiting` and counts up to `now`; a cancelled or reassigned cue waits for nothing.
 */
export function cueStepViews(cue: Cue, now: number): StepView[] {
  const active = isActiveCue(cue.status)
  let waitingSet = false
  return CUE_STEPS.map((step) => {
    const at = (cue[STEP_TIME[step]] as string | null) ?? null
    const override = cue.events.some((e) => e.to === step && e.override)
    if (at) {
      const elapsed = step === 'sent' ? 0 : secondsBetween(cue.sentAt, at)
      return { step, at, elapsed, level: step === 'sent' ? null : responseLevel(elapsed), state: 'done', override }
    }
    if (active && !waitingSet) {
      waitingSet = true
      const elapsed = secondsBetween(cue.sentAt, now)
      return { step, at: null, elapsed, level: responseLevel(elapsed), state: 'waiting', override }
    }
    return { step, at: null, elapsed: null, level: null, state: 'todo', override }
  })
}

/** The steps a monitor may force now (the server's allowedSteps, without cancel and reassign: they have their own buttons). */
export function forcibleSteps(cue: Cue): Exclude<CueStep, 'sent'>[] {
  return cue.allowedSteps.filter((s): s is Exclude<CueStep, 'sent'> => (CUE_STEPS as readonly string[]).includes(s) && s !== 'sent')
}

/** Does forcing `to` skip a step (so the server needs a reason)? */
export function forceSkips(cue: Cue, to: CueStep): boolean {
  const i = (CUE_STEPS as readonly string[]).indexOf(cue.status)
  const j = CUE_STEPS.indexOf(to)
  return i >= 0 && j > i + 1
}

// ---- lists kept current ------------------------------------------------------------------

/** A cue into a list: a newer version replaces the one held, an older one is ignored. Active first, newest first. */
export function mergeCue(cues: readonly Cue[], cue: Cue): Cue[] {
  const held = cues.find((c) => c.id === cue.id)
  if (held && held.version > cue.version) return [...cues]
  const next = held ? cues.map((c) => (c.id === cue.id ? cue : c)) : [...cues, cue]
  return sortCues(next)
}

export function sortCues(cues: readonly Cue[]): Cue[] {
  return [...cues].sort((a, b) => Number(isActiveCue(b.status)) - Number(isActiveCue(a.status)) || Date.parse(b.sentAt) - Date.parse(a.sentAt))
}

/** A unit into a list (unit.updated): newer versions win; a new unit is added in call-sign order. */
export function mergeUnit(units: readonly Unit[], unit: Unit): Unit[] {
  const held = units.find((u) => u.id === unit.id)
  if (held && held.version > unit.version) return [...units]
  if (held) {
    // a unit.updated may carry an older position than the stream of unit.positions already gave
    const position = newerPosition(held.position, unit.position)
    const fresher = position !== unit.position
    return units.map((u) => (u.id === unit.id ? { ...unit, position, stale: fresher ? held.stale : unit.stale } : u))
  }
  return [...units, unit].sort((a, b) => a.callSign.localeCompare(b.callSign))
}

function newerPosition(a: Unit['position'], b: Unit['position']): Unit['position'] {
  if (!a) return b
  if (!b) return a
  return Date.parse(b.at) >= Date.parse(a.at) ? b : a
}

/** A `unit.positions` batch applied: each unit takes its newest fix and is no longer stale. Units not in the list are ignored. */
export function applyPositions<T extends Pick<Unit, 'id' | 'position' | 'stale'>>(units: readonly T[], positions: readonly PositionUpdate[]): T[] {
  const latest = new Map<string, PositionUpdate>()
  for (const p of positions) {
    if (!Number.isFinite(p.lat) || !Number.isFinite(p.lon)) continue
    const seen = latest.get(p.unitId)
    if (!seen || Date.parse(p.at) >= Date.parse(seen.at)) latest.set(p.unitId, p)
  }
  if (!latest.size) return [...units]
  return units.map((u) => {
    const p = latest.get(u.id)
    if (!p) return u
    if (u.position && Date.parse(u.position.at) > Date.parse(p.at)) return u
    return { ...u, position: { lat: p.lat, lon: p.lon, heading: p.heading, speed: p.speed, at: p.at, source: u.position?.source ?? 'phone' }, stale: false }
  })
}

/** The unit's position is too old to trust (grey): the server said so, or it aged past `staleSeconds` since. */
export function isStale(unit: Pick<Unit, 'position' | 'stale'>, now: number, staleSeconds = 120): boolean {
  if (!unit.position) return true
  if (unit.stale) return true
  const at = Date.parse(unit.position.at)
  return Number.isFinite(at) && now - at > staleSeconds * 1000
}

/** Seconds since the unit's last fix, or null without one. */
export function positionAge(unit: Pick<Unit, 'position'>, now: number): number | null {
  if (!unit.position) return null
  const at = Date.parse(unit.position.at)
  return Number.isFinite(at) ? Math.max(0, Math.round((now - at) / 1000)) : null
}

/** How long ago, in the unit a reader wants: seconds under a minute, minutes under an hour, then hours. */
export function ageUnit(seconds: number): { unit: 'seconds' | 'minutes' | 'hours'; n: number } {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return { unit: 'seconds', n: s }
  if (s < 3600) return { unit: 'minutes', n: Math.floor(s / 60) }
  return { unit: 'hours', n: Math.floor(s / 3600) }
}

// ---- rings --------------------------------------------------------------------------------

export interface RingRow extends Ring {
  /** Units inside this ring that may be cued now (state available). */
  available: number
  /** The cameras of this ring for the wall, nearest first (checkpoints carry no picture). */
  wallCameras: string[]
}

/** The largest wall (25 tiles) takes this many cameras. */
export const WALL_MAX = 25

/** The ring set as the panel lists it: each ring's own members (innermost ring that holds them), counted. */
export function ringRows(set: RingSet | null): RingRow[] {
  if (!set) return []
  return [...set.rings].sort((a, b) => a.ring - b.ring).map((r) => ({
    ...r,
    available: r.units.filter((u) => u.state === 'available').length,
    wallCameras: [...r.cameras].sort((a, b) => a.distanceM - b.distanceM).slice(0, WALL_MAX).map((c) => c.id),
  }))
}

/** The wall's route with these cameras (the wall reads `?cameras=a,b,c`). */
export function wallRoute(cameraIds: readonly string[]): { path: string; query: { cameras: string } } | null {
  const ids = [...new Set(cameraIds)].slice(0, WALL_MAX)
  return ids.length ? { path: '/wall', query: { cameras: ids.join(',') } } : null
}

/** Ring radii a monitor typed: three increasing whole metres in 100..50000, or the reason they are not. */
export function checkRadii(radii: readonly number[]): 'count' | 'range' | 'order' | null {
  if (radii.length !== 3 || radii.some((r) => !Number.isInteger(r))) return 'count'
  if (radii.some((r) => r < 100 || r > 50_000)) return 'range'
  if (!(radii[0]! < radii[1]! && radii[1]! < radii[2]!)) return 'order'
  return null
}

// ---- proposals, cameras ---------------------------------------------------------------------

/** Proposals a monitor may cue now (available, enabled), then the others; nearest first within each. */
export function orderProposals(proposals: readonly Proposal[]): Proposal[] {
  const rank = (p: Proposal) => (p.unit.disabled ? 2 : p.unit.state === 'available' ? (p.unit.stale ? 1 : 0) : 2)
  return [...proposals].sort((a, b) => rank(a) - rank(b) || a.distanceM - b.distanceM)
}

/** The cameras a cue dialog offers: along the unit's way first, then the incident's nearby, once each, playable first. */
export function cueCameraChoices(proposal: Proposal | null, nearby: readonly CameraRef[]): CameraRef[] {
  const out: CameraRef[] = []
  const seen = new Set<string>()
  for (const c of [...(proposal?.alongTheWay ?? []), ...[...nearby].sort((a, b) => a.distanceM - b.distanceM)]) {
    if (seen.has(c.id) || c.cameraType === 'checkpoint') continue
    seen.add(c.id)
    out.push(c)
  }
  return out
}

// ---- the unit form's grid -----------------------------------------------------------------------

export type GridProblem = 'format' | 'count' | 'range' | 'distinct'

/**
 * A grid polygon pasted as text: JSON `[[lon, lat], …]` (or a GeoJSON Polygon / Feature), or one
 * `lon,lat` (or `lon lat`) per line. A closing point equal to the first is dropped.
 */
export function parseGrid(text: string): { points: LonLat[] } | { problem: GridProblem } {
  const src = text.trim()
  if (!src) return { problem: 'format' }
  let raw: unknown
  if (src.startsWith('[') || src.startsWith('{')) {
    try {
      raw = JSON.parse(src)
    } catch {
      return { problem: 'format' }
    }
    raw = unwrapGeoJson(raw)
  } else {
    raw = src.split(/[\n;]+/).map((l) => l.trim()).filter(Boolean).map((l) => l.split(/[\s,，]+/).filter(Boolean).map(Number))
  }
  if (!Array.isArray(raw)) return { problem: 'format' }
  const points: LonLat[] = []
  for (const p of raw) {
    if (!Array.isArray(p) || p.length < 2 || !p.slice(0, 2).every((x) => typeof x === 'number' && Number.isFinite(x))) return { problem: 'format' }
    points.push([p[0] as number, p[1] as number])
  }
  return checkGrid(points)
}

function unwrapGeoJson(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { type?: string; geometry?: unknown; coordinates?: unknown }
    if (o.type === 'Feature') return unwrapGeoJson(o.geometry)
    if (o.type === 'Polygon' && Array.isArray(o.coordinates)) return o.coordinates[0]
    return null
  }
  // [[[lon, lat], …]] (a polygon's rings): the outer ring
  if (Array.isArray(v) && Array.isArray(v[0]) && Array.isArray((v[0] as unknown[])[0])) return v[0]
  return v
}

/** A drawn or parsed polygon as the server takes it (3 to 500 distinct points in range), the closing point dropped. */
export function checkGrid(input: readonly LonLat[]): { points: LonLat[] } | { problem: GridProblem } {
  const points = [...input]
  if (points.length > 3) {
    const a = points[0]!
    const z = points[points.length - 1]!
    if (a[0] === z[0] && a[1] === z[1]) points.pop()
  }
  if (points.length < 3 || points.length > 500) return { problem: 'count' }
  if (points.some(([lon, lat]) => lon < -180 || lon > 180 || lat < -90 || lat > 90)) return { problem: 'range' }
  if (new Set(points.map((p) => `${p[0]},${p[1]}`)).size < 3) return { problem: 'distinct' }
  return { points }
}

/** A grid as text to paste elsewhere: JSON, 6 decimals (≈ 0.1 m). */
export function gridText(points: readonly LonLat[] | null): string {
  if (!points?.length) return ''
  return JSON.stringify(points.map(([lon, lat]) => [round6(lon), round6(lat)]))
}
const round6 = (x: number) => Math.round(x * 1e6) / 1e6

// ---- follow a unit on the wall ----------------------------------------------------------------------

const R = 6_371_000
const rad = (d: number) => (d * Math.PI) / 180

/** Great-circle distance in metres. */
export function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dLat = rad(b.lat - a.lat)
  const dLon = rad(b.lon - a.lon)
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)))
}

/**
 * When the wall following a unit asks again for the cameras nearest it: once the unit has moved more
 * than `minMoveM` from where the tiles were chosen, and at most once per `minIntervalMs` (a move
 * inside the interval is answered when it ends, with the newest position).
 */
export class FollowThrottle {
  private last: { lat: number; lon: number } | null = null
  private lastAt = -Infinity

  constructor(readonly minMoveM = 50, readonly minIntervalMs = 3000) {}

  /** A new position: 0 refresh now, n > 0 refresh in n ms (then offer again), null nothing to do. */
  offer(pos: { lat: number; lon: number }, now: number): number | null {
    if (this.last && distanceM(this.last, pos) <= this.minMoveM) return null
    const wait = this.lastAt + this.minIntervalMs - now
    return wait > 0 ? wait : 0
  }

  /** The tiles were chosen for `pos` at `now`. */
  refreshed(pos: { lat: number; lon: number }, now: number): void {
    this.last = { lat: pos.lat, lon: pos.lon }
    this.lastAt = now
  }

  reset(): void {
    this.last = null
    this.lastAt = -Infinity
  }
}

/** The tiles following a unit: its nearest cameras in order, as many as the grid holds. */
export function followTiles(cameras: readonly CameraRef[], grid: number): (string | null)[] {
  const ids = [...cameras].sort((a, b) => a.distanceM - b.distanceM).slice(0, grid).map((c) => c.id)
  return Array.from({ length: grid }, (_, i) => ids[i] ?? null)
}
