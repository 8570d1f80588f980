// The video wall's API (console/server/wall): the camera list of the device tree, each person's
// saved layouts and the tours monitors run (start/stop are audited on the server).
import { buildUrl, http, request, seg } from './http.ts'
import type { DeviceState } from './devices.ts'
import type { Tile, WallGrid } from '../components/wall/wall-model.ts'

export interface WallDevice {
  id: string
  name: string
  code: string | null
  cameraType: 'fixed' | 'ptz' | 'face' | null
  siteId: string | null
  siteName: string | null
  address: string | null
  lat: number | null
  lon: number | null
  status: DeviceState
  statusReason: string | null
  enabled: boolean
  ptz: boolean
  /** A sub stream URL is registered (small tiles would play it). */
  hasSub: boolean
}

export interface Layout {
  id: string
  name: string
  grid: WallGrid
  tiles: Tile[]
  isDefault: boolean
  updatedAt: string
}

export interface Tour {
  id: string
  name: string
  deviceIds: string[]
  intervalSeconds: number
  grid: WallGrid
  createdByName: string
  updatedAt: string
}

export interface TourInput {
  name: string
  deviceIds: string[]
  intervalSeconds: number
  grid: WallGrid
}

export async function listWallDevices(signal?: AbortSignal): Promise<WallDevice[]> {
  return (await http.get<{ items: WallDevice[] }>('/wall/devices', { signal })).items
}

export async function listLayouts(): Promise<Layout[]> {
  return (await http.get<{ items: Layout[] }>('/wall/layouts')).items
}

export function saveLayout(name: string, body: { grid: WallGrid; tiles: Tile[]; isDefault: boolean }): Promise<Layout> {
  return request<Layout>('PUT', `/wall/layouts/${seg(name)}`, { body })
}

export function deleteLayout(name: string): Promise<void> {
  return http.delete<void>(`/wall/layouts/${seg(name)}`)
}

export async function listTours(): Promise<Tour[]> {
  return (await http.get<{ items: Tour[] }>('/wall/tours')).items
}

export function createTour(input: TourInput): Promise<Tour> {
  return http.post<Tour>('/wall/tours', input)
}

export function updateTour(id: string, input: Partial<TourInput>): Promise<Tour> {
  return http.patch<Tour>(`/wall/tours/${seg(id)}`, input)
}

export function deleteTour(id: string): Promise<void> {
  return http.delete<void>(`/wall/tours/${seg(id)}`)
}

export function startTour(id: string): Promise<Tour> {
  return http.post<Tour>(`/wall/tours/${seg(id)}/start`, {})
}

export function stopTour(id: string): Promise<Tour> {
  return http.post<Tour>(`/wall/tours/${seg(id)}/stop`, {})
}

/** The tab is closing with a tour running: tell the server without waiting (keepalive outlives the page). */
export function stopTourOnLeave(id: string): void {
  void fetch(buildUrl(`/wall/tours/${seg(id)}/stop`), {
    method: 'POST', keepalive: true, credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}',
  }).catch(() => {})
}

