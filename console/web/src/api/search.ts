// Video search (视频查找): cameras near a point or an incident, and what a camera recorded over a
// time range (ranges, gaps, events). Shapes: /work/notes/contract-9.md, Video search & nearby.
import { http, seg } from './http.ts'
import type { LatLon, MapDevice } from './map.ts'

export type FootageEventKind = 'alarm' | 'snapshot' | 'bookmark' | 'offline'
export const FOOTAGE_EVENT_KINDS: FootageEventKind[] = ['alarm', 'snapshot', 'bookmark', 'offline']

export interface NearbyCamera {
  device: MapDevice
  distanceMeters: number
}

export interface NearbyResult {
  center: LatLon
  radius: number
  items: NearbyCamera[]
}

export interface NearbyQuery {
  lat?: number
  lon?: number
  radius?: number
  incidentId?: string
  kind?: 'camera' | 'checkpoint' | 'all'
  limit?: number
}

export interface TimeRange { from: string; to: string }

export interface FootageEvent {
  kind: FootageEventKind
  at: string
  to: string | null
  id: string
  label: string
}

export interface DeviceFootage {
  device: MapDevice
  ranges: TimeRange[]
  gaps: TimeRange[]
  events: FootageEvent[]
}

export interface FootageResult extends DeviceFootage {
  recordedSeconds: number
}

export interface FootageSearch {
  deviceIds?: string[]
  area?: { points: LatLon[] }
  from: string
  to: string
  tags?: string[]
  events?: FootageEventKind[]
  incidentId?: string
  limit?: number
}

export function searchNearby(query: NearbyQuery, signal?: AbortSignal): Promise<NearbyResult> {
  return http.get<NearbyResult>('/search/nearby', { query: { ...query }, signal })
}

export function searchFootage(req: FootageSearch, signal?: AbortSignal): Promise<{ items: FootageResult[]; truncated: boolean }> {
  return http.post<{ items: FootageResult[]; truncated: boolean }>('/search/footage', req, { signal })
}

/** Audited on the server (footage.search), with the incident as its reason when given. */
export function deviceFootage(deviceId: string, query: { from: string; to: string; incidentId?: string }, signal?: AbortSignal): Promise<DeviceFootage> {
  return http.get<DeviceFootage>(`/search/timeline/${seg(deviceId)}`, { query: { ...query }, signal })
}

/** Every located device, for the camera picker (the map's list). */
export async function listLocatedDevices(signal?: AbortSignal): Promise<MapDevice[]> {
  return (await http.get<{ items: MapDevice[] }>('/map/devices', { signal })).items
}
