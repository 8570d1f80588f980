/** Incidents (警情): the domain types the service, repository and routes share. */

export const INCIDENT_STATUSES = ['new', 'dispatched', 'on_scene', 'resolved', 'closed', 'cancelled'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Where the incident came from: a 110 call, a monitor watching video, an alarm, a patrol report. */
export const INCIDENT_SOURCES = ['call_110', 'video_patrol', 'face_alarm', 'plate_alarm', 'patrol_report', 'other'] as const;
export type IncidentSource = (typeof INCIDENT_SOURCES)[number];

/** 1 is the most urgent. */
export const INCIDENT_PRIORITIES = [1, 2, 3, 4] as const;
export type IncidentPriority = (typeof INCIDENT_PRIORITIES)[number];

/** Statuses a list filter reads as "open": not yet closed or cancelled. */
export const OPEN_STATUSES: readonly IncidentStatus[] = ['new', 'dispatched', 'on_scene', 'resolved'];

/** Timeline kinds written by this feature (others, e.g. cameras.searched, come from their owners). */
export type TimelineKind =
  | 'created' | 'updated' | 'status' | 'note' | 'bookmark.added' | 'bookmark.removed' | 'holds.released'
  | 'snapshot.added' | 'export.started' | 'alarm.joined' | 'cameras.searched' | 'camera.viewed' | (string & {});

export interface IncidentSummary {
  id: string;
  number: string;
  type: string;
  priority: number;
  source: IncidentSource;
  status: IncidentStatus;
  title: string;
  address: string;
  lat: number | null;
  lon: number | null;
  occurredAt: Date;
  createdAt: Date;
  updatedAt: Date;
  createdByName: string;
  version: number;
}

export interface IncidentRecord extends IncidentSummary {
  description: string;
  reporterName: string;
  reporterPhone: string;
  deviceId: string | null;
  siteId: string | null;
  closedAt: Date | null;
  /** Recorded when the incident is closed: whether video helped solve it (视频协助破案). */
  videoAssisted: boolean | null;
  /** Response times (快速反应): the first cue's dispatch, acknowledgement, en route and arrival (console/server/linkage). */
  dispatchedAt: Date | null;
  acknowledgedAt: Date | null;
  enRouteAt: Date | null;
  arrivedAt: Date | null;
}

export interface Incident extends IncidentRecord {
  allowedTransitions: IncidentStatus[];
}

/** The fields a person may change with PATCH (status has its own route). */
export const EDITABLE_FIELDS = [
  'type', 'priority', 'source', 'title', 'description', 'address', 'lat', 'lon', 'occurredAt', 'reporterName', 'reporterPhone', 'deviceId',
] as const;
export type EditableField = (typeof EDITABLE_FIELDS)[number];

export interface CreateIncidentInput {
  type: string;
  priority?: number;
  source: IncidentSource;
  title: string;
  description?: string;
  address?: string;
  lat?: number | null;
  lon?: number | null;
  occurredAt?: string;
  reporterName?: string;
  reporterPhone?: string;
  deviceId?: string | null;
}

export type IncidentPatch = Partial<Omit<CreateIncidentInput, 'source'> & { source: IncidentSource }> & { version: number };

/** A new row, resolved and checked by the service. */
export interface NewIncident {
  number: string;
  type: string;
  priority: number;
  source: IncidentSource;
  title: string;
  description: string;
  address: string;
  lat: number | null;
  lon: number | null;
  occurredAt: Date;
  reporterName: string;
  reporterPhone: string;
  deviceId: string | null;
  siteId: string | null;
  createdBy: string | null;
  createdByName: string;
}

/** Column values of an edit, already resolved (lat/lon in pairs, occurredAt a Date). */
export type IncidentChanges = Partial<{
  type: string; priority: number; source: IncidentSource; title: string; description: string; address: string;
  lat: number | null; lon: number | null; occurredAt: Date; reporterName: string; reporterPhone: string; deviceId: string | null; siteId: string | null;
}>;

export interface TimelineEntry {
  id: number;
  at: Date;
  actorName: string;
  kind: TimelineKind;
  details: Record<string, unknown>;
}

export interface Actor { id: string | null; name: string }

export interface Bookmark {
  id: string;
  incidentId: string;
  deviceId: string;
  deviceName: string;
  from: Date;
  to: Date;
  note: string;
  createdByName: string;
  createdAt: Date;
}

/** An export made for the incident, as its evidence list shows it. */
export interface ExportSummary {
  id: string;
  caseNumber: string;
  reason: string;
  status: string;
  requestedByName: string;
  requestedAt: Date;
  finishedAt: Date | null;
  bytes: number | null;
  items: { deviceId: string; from: string; to: string }[];
}

export interface ListFilter {
  statuses?: IncidentStatus[];
  type?: string;
  priority?: number;
  source?: IncidentSource;
  from?: Date;
  to?: Date;
  q?: string;
  bbox?: { minLat: number; minLon: number; maxLat: number; maxLon: number };
}

/** Keyset position: the last row of the previous page. */
export interface ListCursor { occurredAt: Date; id: string }

/** The list counts matching rows up to this many, then says the total is capped. */
export const TOTAL_CAP = 10_000;

/** Request facts for audit rows. */
export interface ReqMeta { ip?: string; requestId?: string }
