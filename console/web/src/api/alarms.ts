// Alarms (报警): device offline and back, recording gaps, failed sessions, later face and plate
// alarms. Listed newest first, acknowledged once with a note, turned into an incident (new or
// joined). New and changed alarms arrive on the realtime channel's `alarms` topic.
import { http, seg } from './http.ts'
import type { CreateIncidentInput, Incident } from './incidents.ts'

export type AlarmKind = 'device_offline' | 'device_online' | 'recording_gap' | 'session_failed' | 'face' | 'plate' | 'manual' | 'cue_unacked'
export type AlarmSeverity = 'info' | 'warning' | 'critical'
export type AlarmState = 'open' | 'acked' | 'all'

export const ALARM_KINDS: AlarmKind[] = ['device_offline', 'device_online', 'recording_gap', 'session_failed', 'face', 'plate', 'manual', 'cue_unacked']
export const ALARM_SEVERITIES: AlarmSeverity[] = ['critical', 'warning', 'info']

export interface Alarm {
  id: string
  raisedAt: string
  kind: AlarmKind
  severity: AlarmSeverity
  deviceId: string | null
  deviceName: string | null
  lat: number | null
  lon: number | null
  /** Kind-specific facts: reason, from/to/seconds of a recording gap, score of a match … */
  details: Record<string, unknown>
  ackedAt: string | null
  ackedByName: string | null
  ackNote: string | null
  incidentId: string | null
  incidentNumber: string | null
}

export interface AlarmQuery {
  state?: AlarmState
  /** One kind or several. */
  kinds?: AlarmKind[]
  deviceId?: string
  incidentId?: string
  from?: string
  to?: string
  limit?: number
  /** ISO time: only alarms raised before it (the next page). */
  before?: string
}

export interface AlarmSummary {
  open: number
  critical: number
}

export async function listAlarms(query: AlarmQuery = {}, signal?: AbortSignal): Promise<Alarm[]> {
  const { kinds, ...rest } = query
  const res = await http.get<{ items: Alarm[] }>('/alarms', { query: { ...rest, kind: kinds?.length ? kinds.join(',') : undefined }, signal })
  return res.items
}

export function alarmSummary(signal?: AbortSignal): Promise<AlarmSummary> {
  return http.get<AlarmSummary>('/alarms/summary', { signal })
}

/** Once: a second acknowledgement answers 409 alarm.already_acked (worded by describeError). */
export function ackAlarm(id: string, note?: string): Promise<Alarm> {
  return http.post<Alarm>(`/alarms/${seg(id)}/ack`, note ? { note } : {})
}

/** Join an existing incident; an open alarm is acknowledged by it. */
export function joinIncident(id: string, incidentId: string): Promise<{ alarm: Alarm; incident: Incident }> {
  return http.post(`/alarms/${seg(id)}/incident`, { incidentId })
}

/** A new incident from the alarm: its place, moment and camera unless given. */
export function newIncidentFromAlarm(
  id: string,
  incident: Partial<CreateIncidentInput> & { type: string },
): Promise<{ alarm: Alarm; incident: Incident }> {
  return http.post(`/alarms/${seg(id)}/incident`, { incident })
}
