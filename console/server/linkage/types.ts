/**
 * Monitor-patrol linkage (监巡联动): patrol units, their duty and GPS, cues (监巡指令) with
 * every step timed, cameras pushed to a unit's phone, and the three rings (三圈) around an incident.
 */

export const UNIT_KINDS = ['vehicle', 'foot', 'motorbike', 'ebike'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

/** available: on duty and free; busy: holds an active cue; off_duty: no member on duty. */
export const UNIT_STATES = ['available', 'busy', 'off_duty'] as const;
export type UnitState = (typeof UNIT_STATES)[number];

export const CUE_STATUSES = ['sent', 'received', 'en_route', 'on_scene', 'done', 'cancelled', 'reassigned'] as const;
export type CueStatus = (typeof CUE_STATUSES)[number];
/** The statuses a unit moves its cue through from the phone. */
export const UNIT_CUE_STEPS = ['received', 'en_route', 'on_scene', 'done'] as const;
export type UnitCueStep = (typeof UNIT_CUE_STEPS)[number];

export const FIX_SOURCES = ['phone', 'terminal'] as const;
export type FixSource = (typeof FIX_SOURCES)[number];

/** Ring indexes: 0 管控圈 (control), 1 防控圈 (prevention), 2 封控圈 (sealing). */
export const RING_CODES = ['control', 'prevention', 'sealing'] as const;
export type RingCode = (typeof RING_CODES)[number];

/** A [lon, lat] point, GeoJSON order. */
export type LonLat = [number, number];

export interface Position {
  lat: number;
  lon: number;
  heading: number | null;
  speed: number | null;
  at: Date;
  source: FixSource;
}

export interface UnitMember { userId: string; username: string; displayName: string; onDuty: boolean }

export interface Unit {
  id: string;
  callSign: string;
  kind: UnitKind;
  state: UnitState;
  stationId: string | null;
  stationName: string | null;
  grid: LonLat[] | null;
  gridName: string;
  terminalId: string | null;
  position: Position | null;
  /** The position is older than linkage.staleSeconds (or there is none). */
  stale: boolean;
  onDutySince: Date | null;
  members: UnitMember[];
  activeCueId: string | null;
  disabled: boolean;
  version: number;
  updatedAt: Date;
}

export interface CueEvent {
  at: Date;
  actorName: string;
  from: CueStatus | null;
  to: CueStatus;
  override: boolean;
  reason: string;
}

export interface CuePhoto { id: string; bytes: number; sha256: string; contentType: string; uploadedAt: Date }

export interface Cue {
  id: string;
  incidentId: string;
  incidentNumber: string;
  incidentTitle: string;
  incidentAddress: string;
  incidentLat: number | null;
  incidentLon: number | null;
  unitId: string;
  unitCallSign: string;
  status: CueStatus;
  message: string;
  cameraIds: string[];
  snapshotId: string | null;
  ring: number | null;
  distanceM: number | null;
  createdByName: string;
  sentAt: Date;
  ackDeadline: Date;
  receivedAt: Date | null;
  enRouteAt: Date | null;
  onSceneAt: Date | null;
  doneAt: Date | null;
  cancelledAt: Date | null;
  escalatedAt: Date | null;
  report: string;
  reassignedTo: string | null;
  version: number;
  events: CueEvent[];
  photos: CuePhoto[];
  /** Where the unit may move it next (phone) and what a monitor may force. */
  allowedSteps: CueStatus[];
}

export interface CameraRef { id: string; name: string; cameraType: string | null; lat: number; lon: number; status: string; distanceM: number }

export interface UnitProposal {
  unit: Unit;
  distanceM: number;
  /** Road ETA from the routing service when one is configured and answered; otherwise null. */
  etaSeconds: number | null;
  /** Cameras within reach of the straight line from the unit to the incident, ordered along it. */
  alongTheWay: CameraRef[];
}

export interface RingMember { kind: 'camera' | 'checkpoint' | 'unit'; id: string; name: string; lat: number; lon: number; distanceM: number; state: string }

export interface RingSet {
  incidentId: string;
  lat: number;
  lon: number;
  radiiM: [number, number, number];
  active: boolean;
  setByName: string;
  setAt: Date;
  /** Innermost first; each member is listed in the innermost ring that holds it. */
  rings: { ring: number; code: RingCode; radiusM: number; cameras: RingMember[]; checkpoints: RingMember[]; units: RingMember[] }[];
}

export interface Push { id: string; unitId: string; deviceId: string; deviceName: string; cueId: string | null; pushedByName: string; pushedAt: Date }

export interface Fix { at: string; lat: number; lon: number; heading?: number | null; speed?: number | null; accuracy?: number | null }
