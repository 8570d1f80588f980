/** Alarms (报警): every kind the platform raises, as the API and the realtime channel carry them. */
export const ALARM_KINDS = ['device_offline', 'device_online', 'recording_gap', 'session_failed', 'face', 'plate', 'manual', 'cue_unacked'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];
export const ALARM_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];
export const ALARM_STATES = ['open', 'acked', 'all'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** The severity a kind gets when its raiser names none. */
export const DEFAULT_SEVERITY: Record<AlarmKind, AlarmSeverity> = {
  device_offline: 'warning',
  device_online: 'info',
  recording_gap: 'warning',
  session_failed: 'warning',
  face: 'critical',
  plate: 'critical',
  manual: 'warning',
  // A cue nobody acknowledged in time (console/server/linkage escalation).
  cue_unacked: 'critical',
};

export interface Alarm {
  id: string;
  raisedAt: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  deviceId: string | null;
  deviceName: string | null;
  lat: number | null;
  lon: number | null;
  details: Record<string, unknown>;
  ackedAt: string | null;
  ackedByName: string | null;
  ackNote: string | null;
  incidentId: string | null;
  incidentNumber: string | null;
}

export interface RaiseInput {
  kind: AlarmKind;
  severity?: AlarmSeverity;
  deviceId?: string | null;
  /** Filled from the registry when absent (as are lat and lon). */
  deviceName?: string | null;
  lat?: number | null;
  lon?: number | null;
  details?: Record<string, unknown>;
  /** One alarm per occurrence: a second raise with the same key makes no row (raise answers null). */
  dedupKey?: string | null;
  /** When it happened (default now): a recording gap is raised when the segment after it is indexed. */
  raisedAt?: Date;
}

export interface AlarmQuery {
  state: AlarmState;
  kinds?: AlarmKind[];
  deviceId?: string;
  incidentId?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Only alarms raised before this moment (the next page of a list, newest first). */
  before?: Date;
}

/** Most alarms one list answers. */
export const MAX_ALARM_PAGE = 500;
/** Longest ack note kept (a 10 kB note is stored as text, whole). */
export const MAX_NOTE_LENGTH = 10_000;
