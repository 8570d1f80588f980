// Statistics (警情分析) and the daily brief (每日警情): GET /api/stats/* (console/server/stats,
// docs/control-room/stats.md). Ranges are site-local days: `from` the first day, `to` the day
// after the last (exclusive), both YYYY-MM-DD; the server reads them in the site time zone.
import { ApiError, buildUrl, http, type ErrorParams, type Query } from './http.ts'

export type ResponseGroupBy = 'area' | 'unit' | 'shift' | 'type'
export type StatsLang = 'zh-CN' | 'en'
export type SiteKind = 'platform' | 'area' | 'station'

export interface StatsRange {
  /** YYYY-MM-DD (site-local midnight) or an ISO date-time. */
  from: string
  /** Exclusive, written as `from`. */
  to: string
  siteId?: string | null
  type?: string | null
}

export interface PeriodCount { from: string; to: string; count: number }
export interface TypeCount { type: string; count: number; previous: number; lastYear: number }
/** `itself`: the level's own site, counting what is attached to it directly. */
export interface AreaCount { siteId: string | null; name: string; kind: SiteKind | null; itself: boolean; count: number }
export interface GridCount { unitId: string | null; callSign: string; gridName: string; count: number }

export interface IncidentStats {
  timeZone: string
  from: string
  to: string
  siteId: string | null
  type: string | null
  totals: {
    count: number
    previous: PeriodCount
    lastYear: PeriodCount
    /** 环比 as a fraction (0.25 = +25 %); null when the previous period had none. */
    previousChange: number | null
    /** 同比 as a fraction; null when last year had none. */
    lastYearChange: number | null
    closed: number
    videoAssisted: number
    videoAssistedRate: number | null
  }
  byType: TypeCount[]
  byArea: AreaCount[]
  byGrid: GridCount[]
  /** Site-local hour 0–23. */
  byHour: number[]
  /** Site-local weekday, 0 Monday … 6 Sunday. */
  byWeekday: number[]
  bySource: { source: string; count: number }[]
}

export interface Spread { median: number | null; p90: number | null }

export interface ResponseGroup {
  /** Site id, unit id, day|evening|night, or a type code; null: no site (or the total). */
  key: string | null
  label: string
  /** By area: the level's own site. */
  itself: boolean
  dispatched: number
  arrived: number
  within: number[]
  withinRate: (number | null)[]
  response: Spread
  dispatch: Spread
  travel: Spread
}

export interface ResponseStats {
  timeZone: string
  from: string
  to: string
  siteId: string | null
  type: string | null
  groupBy: ResponseGroupBy
  targetsSeconds: number[]
  total: ResponseGroup
  groups: ResponseGroup[]
}

export interface DeviceArea {
  siteId: string | null
  name: string
  kind: SiteKind | null
  itself: boolean
  cameras: number
  online: number
  degraded: number
  offline: number
  unknown: number
  onlineRate: number | null
  recordingCameras: number
  recordedSeconds: number
  expectedSeconds: number
  recordingCompleteness: number | null
}

export interface DeviceStats {
  timeZone: string
  at: string
  from: string
  to: string
  siteId: string | null
  total: DeviceArea
  byArea: DeviceArea[]
}

export interface NotableIncident {
  id: string
  number: string
  type: string
  priority: number
  status: string
  title: string
  address: string
  siteName: string | null
  occurredAt: string
  responseSeconds: number | null
}

export interface DailyBrief {
  timeZone: string
  date: string
  from: string
  to: string
  generatedAt: string
  totals: {
    count: number
    previousDay: { date: string; count: number }
    lastYear: { date: string; count: number }
    previousDayChange: number | null
    lastYearChange: number | null
    closed: number
    videoAssisted: number
  }
  byType: TypeCount[]
  byArea: AreaCount[]
  response: { targetsSeconds: number[]; total: ResponseGroup }
  notable: NotableIncident[]
  notableMore: number
  devices: { at: string; total: DeviceArea; byArea: DeviceArea[] }
}

export interface DeviceQuery { at?: string; from?: string; to?: string; siteId?: string | null }
export interface BriefQuery { date?: string; siteId?: string | null }

const clean = (q: object): Query => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && v !== null && v !== '')) as Query

export function incidentStats(q: StatsRange, signal?: AbortSignal): Promise<IncidentStats> {
  return http.get<IncidentStats>('/stats/incidents', { query: clean(q), signal })
}

export function responseStats(q: StatsRange & { groupBy: ResponseGroupBy }, signal?: AbortSignal): Promise<ResponseStats> {
  return http.get<ResponseStats>('/stats/response', { query: clean(q), signal })
}

export function deviceStats(q: DeviceQuery, signal?: AbortSignal): Promise<DeviceStats> {
  return http.get<DeviceStats>('/stats/devices', { query: clean(q), signal })
}

export function dailyBrief(q: BriefQuery, signal?: AbortSignal): Promise<DailyBrief> {
  return http.get<DailyBrief>('/stats/daily-brief', { query: clean(q), signal })
}

export type CsvKind = 'incidents' | 'response' | 'devices' | 'daily-brief'

/** The CSV address of a statistic with its query (the server answers it as an attachment). */
export function statsCsvUrl(kind: CsvKind, q: object, lang: StatsLang): string {
  return buildUrl(`/stats/${kind}`, { ...clean(q), format: 'csv', lang })
}

/** Fetch a statistic as CSV and hand it to the browser as a download; a refusal comes back as ApiError. */
export async function downloadStatsCsv(kind: CsvKind, q: object, lang: StatsLang): Promise<string> {
  const res = await fetch(statsCsvUrl(kind, q, lang), { credentials: 'same-origin', headers: { Accept: 'text/csv' } })
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
    throw new ApiError(res.status, String(body.error ?? `http_${res.status}`), String(body.message ?? res.statusText),
      typeof body.field === 'string' ? body.field : undefined, typeof body.code === 'string' ? body.code : undefined,
      (body.params as ErrorParams | undefined) ?? undefined)
  }
  const filename = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `skynet-${kind}.csv`
  const url = URL.createObjectURL(await res.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return filename
}
