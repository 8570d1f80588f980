import { http, seg } from './http.ts'

export interface PtzVelocity {
  pan: number
  tilt: number
  zoom: number
}

export interface PtzStatus {
  pan: number
  tilt: number
  zoom: number
  moving: boolean
}

export interface PtzPreset {
  token: string
  name: string
}

const base = (id: string) => `/devices/${seg(id)}/ptz`

export function ptzMove(id: string, velocity: PtzVelocity): Promise<void> {
  return http.post<void>(`${base(id)}/move`, velocity)
}

export function ptzStop(id: string): Promise<void> {
  return http.post<void>(`${base(id)}/stop`, {})
}

export function ptzStatus(id: string): Promise<PtzStatus> {
  return http.get<PtzStatus>(`${base(id)}/status`)
}

export async function listPresets(id: string): Promise<PtzPreset[]> {
  const res = await http.get<{ items: PtzPreset[] }>(`${base(id)}/presets`)
  return res.items
}

export async function createPreset(id: string, name: string): Promise<string> {
  const res = await http.post<{ token: string }>(`${base(id)}/presets`, { name })
  return res.token
}

export function gotoPreset(id: string, token: string): Promise<void> {
  return http.post<void>(`${base(id)}/presets/${seg(token)}/goto`, {})
}
