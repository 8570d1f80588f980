// The site tree (platforms, areas, stations): admins create, edit and delete.
import { http, seg } from './http.ts'

export type SiteKind = 'platform' | 'area' | 'station'
export const SITE_KINDS: SiteKind[] = ['platform', 'area', 'station']

export interface AdminSite {
  id: string
  code: string
  name: string
  kind: SiteKind
  parentId: string | null
  lat: number | null
  lon: number | null
  timezone: string
  /** Devices registered to this site. */
  devices: number
  /** Sites directly below it. */
  children: number
}

export interface SiteInput {
  code: string
  name: string
  kind: SiteKind
  parentId: string | null
  lat: number | null
  lon: number | null
}

export async function listSitesWithUsage(signal?: AbortSignal): Promise<AdminSite[]> {
  return (await http.get<{ items: AdminSite[] }>('/sites/usage', { signal })).items
}

export function createSite(input: SiteInput): Promise<AdminSite> {
  return http.post<AdminSite>('/sites', input)
}

export function updateSite(id: string, patch: Partial<SiteInput>): Promise<AdminSite> {
  return http.patch<AdminSite>(`/sites/${seg(id)}`, patch)
}

export function deleteSite(id: string): Promise<void> {
  return http.delete(`/sites/${seg(id)}`)
}
