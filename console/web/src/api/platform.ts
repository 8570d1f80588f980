import { http } from './http.ts'

export interface Health {
  status: string
  timezone: string
}

export interface Site {
  id: string
  name: string
  code: string
  kind: string
  parentId: string | null
  timezone: string | null
}

export function fetchHealth(): Promise<Health> {
  return http.get<Health>('/health', { quiet401: true })
}

export async function listSites(): Promise<Site[]> {
  const res = await http.get<{ items: Site[] }>('/sites')
  return res.items
}
