// Incidents (警情): the list, one incident with its timeline and evidence, and the evidence
// actions taken from it (bookmarks, snapshots, exports). Shapes: /work/notes/contract-9.md, Incidents.
import { http, seg } from './http.ts'
import type { Snapshot } from './snapshots.ts'
import type { EvidenceExport } from './exports.ts'

export type IncidentStatus = 'new' | 'dispatched' | 'on_scene' | 'resolved' | 'closed' | 'cancelled'
export type IncidentSource = 'call_110' | 'video_patrol' | 'face_alarm' | 'plate_alarm' | 'patrol_report' | 'other'

export const INCIDENT_STATUSES: IncidentStatus[] = ['new', 'dispatched', 'on_scene', 'resolved', 'closed', 'cancelled']
export const INCIDENT_SOURCES: IncidentSource[] = ['call_110', 'video_patrol', 'face_alarm', 'plate_alarm', 'patrol_report', 'other']
export const INCIDENT_PRIORITIES = [1, 2, 3, 4] as const

export interface IncidentType { code: string; zh: string; en: string }

export interface Catalogue {
  types: IncidentType[]
  sources: IncidentSource[]
  statuses: IncidentStatus[]
  priorities: number[]
  transitions: Partial<Record<IncidentStatus, IncidentStatus[]>>
  nearbyRadiusMeters: number
  maxRadiusMeters: number
  searchMaxRangeDays: number
  searchMaxCameras: number
}

export interface IncidentSummary {
  id: string
  number: string
  type: string
  /** 1 highest … 4. */
  priority: number
  source: IncidentSource
  status: IncidentStatus
  title: string
  address: string
  lat: number | null
  lon: number | null
  occurredAt: string
  createdAt: string
  updatedAt: string
  createdByName: string
  version: number
}

export interface Incident extends IncidentSummary {
  description: string
  reporterName: string
  reporterPhone: string
  deviceId: string | null
  siteId: string | null
  closedAt: string | null
  /** Recorded when closed: whether video helped solve it (视频协助破案). */
  videoAssisted?: boolean | null
  /** Response times: the first cue's dispatch, acknowledgement, en route and arrival. */
  dispatchedAt?: string | null
  acknowledgedAt?: string | null
  enRouteAt?: string | null
  arrivedAt?: string | null
  allowedTransitions: IncidentStatus[]
}

export interface CreateIncidentInput {
  type: string
  priority?: number
  source: IncidentSource
  title: string
  description?: string
  address?: string
  lat?: number
  lon?: number
  occurredAt?: string
  reporterName?: string
  reporterPhone?: string
  deviceId?: string
}

export type IncidentPatch = Partial<Omit<CreateIncidentInput, 'deviceId'>> & { version: number }

export interface TimelineEntry {
  id: number | string
  at: string
  actorName: string
  kind: string
  details: Record<string, unknown>
}

export interface Bookmark {
  id: string
  incidentId: string
  deviceId: string
  deviceName: string
  from: string
  to: string
  note: string
  createdByName: string
  createdAt: string
}

/** An export as the incident's evidence lists it (the exports API's shape; only some fields are sure to be there). */
export type IncidentExport = Pick<EvidenceExport, 'id' | 'caseNumber' | 'status' | 'requestedAt' | 'requestedByName'> & Partial<EvidenceExport>

export interface Evidence {
  bookmarks: Bookmark[]
  snapshots: Snapshot[]
  exports: IncidentExport[]
}

/** An alarm as the incident's evidence tab shows it (the alarms API's Alarm, the fields read here). */
export interface IncidentAlarm {
  id: string
  raisedAt: string
  kind: string
  severity: 'info' | 'warning' | 'critical'
  deviceId: string | null
  deviceName: string | null
  ackedAt: string | null
  ackedByName: string | null
  ackNote: string | null
}

export interface IncidentQuery {
  /** Comma-separated statuses. */
  status?: string
  type?: string
  priority?: number
  source?: string
  from?: string
  to?: string
  q?: string
  minLat?: number
  minLon?: number
  maxLat?: number
  maxLon?: number
  limit?: number
  cursor?: string
}

export interface IncidentPage {
  items: IncidentSummary[]
  nextCursor: string | null
  total: number
  totalCapped: boolean
}

export function getCatalogue(signal?: AbortSignal): Promise<Catalogue> {
  return http.get<Catalogue>('/incidents/catalogue', { signal })
}

export function listIncidents(query: IncidentQuery, signal?: AbortSignal): Promise<IncidentPage> {
  return http.get<IncidentPage>('/incidents', { query: { ...query }, signal })
}

export async function createIncident(input: CreateIncidentInput): Promise<Incident> {
  return (await http.post<{ incident: Incident }>('/incidents', input)).incident
}

export function getIncident(id: string, signal?: AbortSignal): Promise<Incident> {
  return http.get<Incident>(`/incidents/${seg(id)}`, { signal })
}

/** 409 incident.stale (params currentVersion, updatedByName) when someone else saved first. */
export function updateIncident(id: string, patch: IncidentPatch): Promise<Incident> {
  return http.patch<Incident>(`/incidents/${seg(id)}`, patch)
}

/** 409 incident.bad_transition (params from, to), or incident.stale. */
export function changeStatus(id: string, req: { version: number; status: IncidentStatus; note?: string; videoAssisted?: boolean }): Promise<Incident> {
  return http.post<Incident>(`/incidents/${seg(id)}/status`, req)
}

export async function getIncidentTimeline(id: string, signal?: AbortSignal): Promise<TimelineEntry[]> {
  return (await http.get<{ items: TimelineEntry[] }>(`/incidents/${seg(id)}/timeline`, { signal })).items
}

export async function addNote(id: string, text: string): Promise<TimelineEntry> {
  return (await http.post<{ entry: TimelineEntry }>(`/incidents/${seg(id)}/notes`, { text })).entry
}

export function getEvidence(id: string, signal?: AbortSignal): Promise<Evidence> {
  return http.get<Evidence>(`/incidents/${seg(id)}/evidence`, { signal })
}

export async function listIncidentAlarms(id: string, signal?: AbortSignal): Promise<IncidentAlarm[]> {
  return (await http.get<{ items: IncidentAlarm[] }>('/alarms', { query: { incidentId: id, state: 'all', limit: 200 }, signal })).items
}

/** Keeps the range's recordings (a hold) while the incident is open. */
export async function createBookmark(id: string, req: { deviceId: string; from: string; to: string; note?: string }): Promise<Bookmark> {
  return (await http.post<{ bookmark: Bookmark }>(`/incidents/${seg(id)}/bookmarks`, req)).bookmark
}

export function deleteBookmark(id: string, bookmarkId: string): Promise<void> {
  return http.delete(`/incidents/${seg(id)}/bookmarks/${seg(bookmarkId)}`)
}

/** `at` absent: a live picture; `at`: the recorded frame at that moment. */
export async function takeIncidentSnapshot(id: string, req: { deviceId: string; at?: string }): Promise<Snapshot> {
  return (await http.post<{ snapshot: Snapshot }>(`/incidents/${seg(id)}/snapshots`, req)).snapshot
}

/** An evidence export with the incident's number as its case number. */
export async function createIncidentExport(
  id: string,
  req: { items: { deviceId: string; from: string; to: string }[]; reason: string; snapshotIds?: string[] },
): Promise<EvidenceExport> {
  const res = await http.post<{ export: EvidenceExport }>(`/incidents/${seg(id)}/exports`, req)
  return res.export
}
