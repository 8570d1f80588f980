// Monitor-patrol linkage (监巡联动), the control room's side: patrol units, cues to them, cameras
// pushed to their phones and the three rings around an incident. Shapes mirror
// console/server/linkage/schemas.ts (docs/control-room/linkage.md); times are ISO strings here.
import { http, request, seg } from './http.ts'

export const UNIT_KINDS = ['vehicle', 'foot', 'motorbike', 'ebike'] as const
export type UnitKind = (typeof UNIT_KINDS)[number]

/** available: on duty and free; busy: holds an active cue; off_duty: no member on duty. */
export const UNIT_STATES = ['available', 'busy', 'off_duty'] as const
export type UnitState = (typeof UNIT_STATES)[number]

export const CUE_STATUSES = ['sent', 'received', 'en_route', 'on_scene', 'done', 'cancelled', 'reassigned'] as const
export type CueStatus = (typeof CUE_STATUSES)[number]
/** The statuses a unit moves its cue through (a monitor may force them too). */
export const UNIT_CUE_STEPS = ['received', 'en_route', 'on_scene', 'done'] as const
export type UnitCueStep = (typeof UNIT_CUE_STEPS)[number]

/** Ring indexes: 0 管控圈 (control), 1 防控圈 (prevention), 2 封控圈 (sealing). */
export const RING_CODES = ['control', 'prevention', 'sealing'] as const
export type RingCode = (typeof RING_CODES)[number]

/** A [lon, lat] point, GeoJSON order. */
export type LonLat = [number, number]

export interface Position {
  lat: number
  lon: number
  heading: number | null
  speed: number | null
  at: string
  source: 'phone' | 'terminal'
}

export interface UnitMember { userId: string; username: string; displayName: string; onDuty: boolean }

export interface Unit {
  id: string
  callSign: string
  kind: UnitKind
  state: UnitState
  stationId: string | null
  stationName: string | null
  grid: LonLat[] | null
  gridName: string
  terminalId: string | null
  position: Position | null
  /** The position is older than linkage.staleSeconds, or there is none. */
  stale: boolean
  onDutySince: string | null
  members: UnitMember[]
  activeCueId: string | null
  disabled: boolean
  version: number
  updatedAt: string
}

export interface CueEvent {
  at: string
  actorName: string
  from: CueStatus | null
  to: CueStatus
  override: boolean
  reason: string
}

export interface CuePhoto { id: string; bytes: number; sha256: string; contentType: string; uploadedAt: string }

export interface Cue {
  id: string
  incidentId: string
  incidentNumber: string
  incidentTitle: string
  incidentAddress: string
  incidentLat: number | null
  incidentLon: number | null
  unitId: string
  unitCallSign: string
  status: CueStatus
  message: string
  cameraIds: string[]
  snapshotId: string | null
  ring: number | null
  distanceM: number | null
  /** Road ETA when the server gives one (a routing service configured and answering); absent or null otherwise. */
  etaSeconds?: number | null
  createdByName: string
  sentAt: string
  ackDeadline: string
  receivedAt: string | null
  enRouteAt: string | null
  onSceneAt: string | null
  doneAt: string | null
  cancelledAt: string | null
  escalatedAt: string | null
  report: string
  reassignedTo: string | null
  version: number
  events: CueEvent[]
  photos: CuePhoto[]
  /** For a monitor: every step it may force (with a reason when it skips). */
  allowedSteps: CueStatus[]
}

export interface CameraRef { id: string; name: string; cameraType: string | null; lat: number; lon: number; status: string; distanceM: number }

export interface Proposal {
  unit: Unit
  distanceM: number
  /** Road ETA when a routing service is configured and answered. */
  etaSeconds: number | null
  /** Cameras along the straight line from the unit to the incident. */
  alongTheWay: CameraRef[]
}

export interface RingMember { kind: 'camera' | 'checkpoint' | 'unit'; id: string; name: string; lat: number; lon: number; distanceM: number; state: string }

export interface Ring { ring: number; code: RingCode; radiusM: number; cameras: RingMember[]; checkpoints: RingMember[]; units: RingMember[] }

export interface RingSet {
  incidentId: string
  lat: number
  lon: number
  radiiM: [number, number, number]
  active: boolean
  setByName: string
  setAt: string
  /** Innermost first; each member is listed in the innermost ring that holds it. */
  rings: Ring[]
}

export interface Push { id: string; unitId: string; deviceId: string; deviceName: string; cueId: string | null; pushedByName: string; pushedAt: string }

export interface Linkage { proposals: Proposal[]; cameras: CameraRef[]; cues: Cue[]; rings: RingSet | null }

export interface UnitInput {
  callSign: string
  kind: UnitKind
  stationId?: string | null
  grid?: LonLat[] | null
  gridName?: string
  memberIds?: string[]
}

export type UnitPatch = Partial<UnitInput> & { disabled?: boolean; version: number }

export interface CueInput { unitId: string; message: string; cameraIds: string[]; snapshotId?: string | null }

export interface RingCueResult { items: Cue[]; skipped: { unitId: string; callSign: string; code: string }[] }

/** One position of a `unit.positions` batch. */
export interface PositionUpdate { unitId: string; lat: number; lon: number; heading: number | null; speed: number | null; at: string }

// ---- units ------------------------------------------------------------------------

export async function listUnits(query: { state?: UnitState | ''; q?: string } = {}, signal?: AbortSignal): Promise<Unit[]> {
  return (await http.get<{ items: Unit[] }>('/units', { query, signal })).items
}

export function getUnit(id: string, signal?: AbortSignal): Promise<Unit> {
  return http.get<Unit>(`/units/${seg(id)}`, { signal })
}

export function createUnit(input: UnitInput): Promise<Unit> {
  return http.post<Unit>('/units', input)
}

/** 409 linkage.unit_stale when someone saved a newer version. */
export function updateUnit(id: string, patch: UnitPatch): Promise<Unit> {
  return http.patch<Unit>(`/units/${seg(id)}`, patch)
}

/** A new GPS terminal credential; the secret is in this answer only. */
export function issueTerminal(id: string): Promise<{ terminalId: string; secret: string }> {
  return http.post(`/units/${seg(id)}/terminal`, {})
}

export async function unitTrack(id: string, range: { from?: string; to?: string } = {}, signal?: AbortSignal): Promise<Position[]> {
  return (await http.get<{ items: Position[] }>(`/units/${seg(id)}/track`, { query: range, signal })).items
}

/** The cameras nearest the unit now (the wall's "follow this unit"). */
export async function unitNearbyCameras(id: string, limit: number, signal?: AbortSignal): Promise<CameraRef[]> {
  return (await http.get<{ items: CameraRef[] }>(`/units/${seg(id)}/nearby-cameras`, { query: { limit }, signal })).items
}

export async function listPushes(unitId: string, signal?: AbortSignal): Promise<Push[]> {
  return (await http.get<{ items: Push[] }>(`/units/${seg(unitId)}/pushes`, { signal })).items
}

export function pushCamera(unitId: string, deviceId: string, cueId?: string | null): Promise<Push> {
  return http.post<Push>(`/units/${seg(unitId)}/pushes`, cueId ? { deviceId, cueId } : { deviceId })
}

export function unpushCamera(unitId: string, deviceId: string): Promise<void> {
  return http.delete(`/units/${seg(unitId)}/pushes/${seg(deviceId)}`)
}

// ---- an incident's linkage, cues ------------------------------------------------------

export function getLinkage(incidentId: string, signal?: AbortSignal): Promise<Linkage> {
  return http.get<Linkage>(`/incidents/${seg(incidentId)}/linkage`, { signal })
}

/** 409 linkage.unit_off_duty / unit_busy / unit_disabled naming the rule. */
export function sendCue(incidentId: string, input: CueInput): Promise<Cue> {
  return http.post<Cue>(`/incidents/${seg(incidentId)}/cues`, input)
}

export async function listCues(query: { active?: boolean } = {}, signal?: AbortSignal): Promise<Cue[]> {
  return (await http.get<{ items: Cue[] }>('/cues', { query, signal })).items
}

export function getCue(id: string, signal?: AbortSignal): Promise<Cue> {
  return http.get<Cue>(`/cues/${seg(id)}`, { signal })
}

/** A monitor forcing a step (a radio confirmation): skipping one needs a reason. */
export function forceStep(cueId: string, status: UnitCueStep, reason: string): Promise<Cue> {
  return http.post<Cue>(`/cues/${seg(cueId)}/steps`, { status, reason })
}

export function cancelCue(cueId: string, reason: string): Promise<Cue> {
  return http.post<Cue>(`/cues/${seg(cueId)}/cancel`, { reason })
}

/** The new cue, to `unitId`. */
export function reassignCue(cueId: string, unitId: string, reason: string): Promise<Cue> {
  return http.post<Cue>(`/cues/${seg(cueId)}/reassign`, { unitId, reason })
}

/** A report photo's URL (served to the control room with the session cookie). */
export function cuePhotoUrl(cueId: string, photoId: string): string {
  return `/api/cues/${seg(cueId)}/photos/${seg(photoId)}`
}

// ---- rings --------------------------------------------------------------------------

export async function getRings(incidentId: string, signal?: AbortSignal): Promise<RingSet | null> {
  return (await http.get<RingSet | null>(`/incidents/${seg(incidentId)}/rings`, { signal })) ?? null
}

/** Set (or move) the rings; no radii: the configured defaults. */
export function setRings(incidentId: string, radiiM?: [number, number, number]): Promise<RingSet> {
  return request<RingSet>('PUT', `/incidents/${seg(incidentId)}/rings`, { body: radiiM ? { radiiM } : {} })
}

export function clearRings(incidentId: string): Promise<void> {
  return http.delete(`/incidents/${seg(incidentId)}/rings`)
}

/** Cue every available unit inside ring 0/1/2 (一键下达). */
export function cueRing(incidentId: string, ring: number, input: { message: string; cameraIds: string[] }): Promise<RingCueResult> {
  return http.post<RingCueResult>(`/incidents/${seg(incidentId)}/rings/${ring}/cues`, input)
}
