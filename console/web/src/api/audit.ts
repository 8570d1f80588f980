// The audit log (admins and supervisors): search, and the CSV export with the same filters.
import { ApiError, buildUrl, http } from './http.ts'

export type AuditOutcome = 'ok' | 'denied' | 'failed'

export interface AuditItem {
  id: number
  at: string
  actorId: string | null
  actorName: string
  actorKind: string
  action: string
  targetType: string | null
  targetId: string | null
  outcome: AuditOutcome
  reason: string | null
  details: Record<string, unknown>
  ip: string | null
  requestId: string | null
}

export interface AuditFilters {
  /** Part of the actor's name. */
  actor?: string
  /** An action or its dotted prefix (`user.`). */
  action?: string
  targetType?: string
  targetId?: string
  outcome?: AuditOutcome | ''
  /** ISO UTC. */
  from?: string
  to?: string
}

export interface AuditPage {
  items: AuditItem[]
  total: number
  totalCapped: boolean
  page: number
  pageSize: number
}

export function searchAudit(filters: AuditFilters, page: number, pageSize: number, signal?: AbortSignal): Promise<AuditPage> {
  return http.get<AuditPage>('/audit', { query: { ...filters, page, pageSize }, signal })
}

/** The export's address for these filters (times written in `timeZone` unless the server has its own). */
export function auditExportUrl(filters: AuditFilters, locale: string, timeZone: string): string {
  return buildUrl('/audit/export.csv', { ...filters, locale: locale === 'en' ? 'en' : 'zh-CN', timeZone })
}

/** Fetch the export and hand it to the browser as a download; a refusal comes back as ApiError. */
export async function downloadAuditCsv(filters: AuditFilters, locale: string, timeZone: string): Promise<{ filename: string; truncated: boolean }> {
  const res = await fetch(auditExportUrl(filters, locale, timeZone), { credentials: 'same-origin', headers: { Accept: 'text/csv' } })
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
    throw new ApiError(res.status, String(body.error ?? `http_${res.status}`), String(body.message ?? res.statusText),
      typeof body.field === 'string' ? body.field : undefined, typeof body.code === 'string' ? body.code : undefined,
      (body.params as Record<string, string | number | boolean | null> | undefined) ?? undefined)
  }
  const filename = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'audit.csv'
  const blob = await res.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return { filename, truncated: res.headers.get('x-audit-truncated') === 'true' }
}
