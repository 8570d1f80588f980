// Video search decisions as pure functions (tested in __tests__/search-model.test.ts): the window of
// footage around an incident, a footage timeline laid out on a bar, the range a bookmark takes
// around a clicked moment, the search form's checks, and the wall link of the nearest cameras.
import type { FootageEvent, FootageSearch, FootageEventKind, NearbyCamera, TimeRange } from '../../api/search.ts'
import type { LatLon } from '../../api/map.ts'

export interface Span { from: number; to: number }

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

/** Footage to look at around an incident: 15 minutes before to 15 after, never past now. */
export function incidentWindow(occurredAt: string, now: number, beforeMs = 15 * MIN, afterMs = 15 * MIN): Span {
  const at = Date.parse(occurredAt)
  const base = Number.isFinite(at) ? Math.min(at, now) : now
  const to = Math.min(base + afterMs, now)
  return { from: base - beforeMs, to: Math.max(to, base - beforeMs + MIN) }
}

export interface BarPiece {
  kind: 'footage' | 'gap'
  left: number
  width: number
  from: number
  to: number
}

export interface EventMark {
  kind: FootageEventKind
  id: string
  label: string
  at: number
  left: number
  /** Width in percent for events with an end (offline spans); 0 for instants. */
  width: number
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x))

/** Percent of the bar at an instant. */
export function percentAt(ms: number, span: Span): number {
  const w = span.to - span.from
  return w <= 0 ? 0 : clamp01((ms - span.from) / w) * 100
}

/** The instant at a fraction (0..1) of the bar. */
export function instantAt(fraction: number, span: Span): number {
  return Math.round(span.from + clamp01(fraction) * (span.to - span.from))
}

/** Recorded ranges and gaps clipped to the span, as bar pieces; outside the span they are dropped. */
export function barPieces(ranges: TimeRange[], gaps: TimeRange[], span: Span): BarPiece[] {
  const out: BarPiece[] = []
  const add = (kind: BarPiece['kind'], r: TimeRange) => {
    const from = Math.max(Date.parse(r.from), span.from)
    const to = Math.min(Date.parse(r.to), span.to)
    if (!(to > from)) return
    const left = percentAt(from, span)
    out.push({ kind, from, to, left, width: percentAt(to, span) - left })
  }
  for (const r of ranges) add('footage', r)
  for (const g of gaps) add('gap', g)
  return out.sort((a, b) => a.from - b.from)
}

/** Events inside the span as marks on the bar. */
export function eventMarks(events: FootageEvent[], span: Span): EventMark[] {
  const out: EventMark[] = []
  for (const e of events) {
    const at = Date.parse(e.at)
    const end = e.to ? Date.parse(e.to) : at
    if (!Number.isFinite(at) || end < span.from || at > span.to) continue
    const left = percentAt(Math.max(at, span.from), span)
    out.push({ kind: e.kind, id: e.id, label: e.label, at, left, width: e.to ? percentAt(Math.min(end, span.to), span) - left : 0 })
  }
  return out.sort((a, b) => a.at - b.at)
}

/** Is there footage at this instant? */
export function recordedAt(ms: number, ranges: TimeRange[]): boolean {
  return ranges.some((r) => Date.parse(r.from) <= ms && ms < Date.parse(r.to))
}

/** Seconds of footage inside the span. */
export function recordedSeconds(ranges: TimeRange[], span: Span): number {
  let total = 0
  for (const r of ranges) total += Math.max(0, Math.min(Date.parse(r.to), span.to) - Math.max(Date.parse(r.from), span.from))
  return Math.round(total / 1000)
}

/**
 * What a bookmark of a clicked moment keeps: 30 s before to 30 s after, inside the footage shown
 * and never past now (the server refuses a future end).
 */
export function bookmarkRange(at: number, span: Span, now: number, beforeMs = 30_000, afterMs = 30_000): Span {
  const limitTo = Math.min(span.to, now)
  let to = Math.min(at + afterMs, limitTo)
  let from = Math.max(at - beforeMs, span.from)
  if (to <= from) {
    to = Math.min(at + 1000, now)
    from = to - beforeMs - afterMs
  }
  return { from, to }
}

/** A closer view: `halfMs` either side of the moment, kept inside the span. */
export function zoomAround(at: number, span: Span, halfMs = 15 * MIN): Span {
  const width = Math.min(2 * halfMs, span.to - span.from)
  const from = Math.min(Math.max(at - width / 2, span.from), span.to - width)
  return { from, to: from + width }
}

/** Footage to play from a clicked moment: up to 10 minutes from it, not past the span or now. */
export function playWindow(at: number, span: Span, now: number, lengthMs = 10 * MIN): Span {
  const to = Math.min(at + lengthMs, span.to, now)
  return { from: at, to: Math.max(to, at + 1000) }
}

/** Distance as read in a control room: 85 m, 1.2 km. */
export function formatDistance(m: number): string {
  if (!Number.isFinite(m) || m < 0) return '—'
  if (m < 1000) return `${Math.round(m)} m`
  return `${(m / 1000).toFixed(m < 10_000 ? 1 : 0)} km`
}

/** Nearest first (the server orders so; a stable re-sort keeps it true after merges). */
export function byDistance(items: NearbyCamera[]): NearbyCamera[] {
  return [...items].sort((a, b) => a.distanceMeters - b.distanceMeters || a.device.name.localeCompare(b.device.name))
}

/** The wall with the nearest `n` cameras (the wall reads ?cameras=a,b,c). Checkpoints carry no picture. */
export function wallLink(items: NearbyCamera[], n: number): { path: string; query: { cameras: string } } | null {
  const ids = byDistance(items).filter((x) => x.device.kind !== 'checkpoint').slice(0, n).map((x) => x.device.id)
  return ids.length ? { path: '/wall', query: { cameras: ids.join(',') } } : null
}

// ---- the search form ----------------------------------------------------------

export interface FootageSearchForm {
  deviceIds: string[]
  area: LatLon[] | null
  /** ms since epoch. */
  from: number | null
  to: number | null
  tags: string[]
  events: FootageEventKind[]
}

export function defaultSearchForm(now: number): FootageSearchForm {
  return { deviceIds: [], area: null, from: now - DAY, to: now, tags: [], events: [] }
}

export type SearchFormError =
  | { field: 'range'; key: 'required' | 'reversed' | 'tooLong'; params?: Record<string, number> }
  | { field: 'where'; key: 'cameraOrArea' | 'tooManyCameras' | 'polygon'; params?: Record<string, number> }

/** The form's first error: the same limits as the server (search.maxRangeDays, search.maxCameras). */
export function checkSearchForm(f: FootageSearchForm, limits: { maxRangeDays: number; maxCameras: number }): SearchFormError | null {
  if (f.from === null || f.to === null) return { field: 'range', key: 'required' }
  if (f.from >= f.to) return { field: 'range', key: 'reversed' }
  if (f.to - f.from > limits.maxRangeDays * DAY) return { field: 'range', key: 'tooLong', params: { days: limits.maxRangeDays } }
  if (f.deviceIds.length === 0 && !f.area) return { field: 'where', key: 'cameraOrArea' }
  if (f.deviceIds.length > limits.maxCameras) return { field: 'where', key: 'tooManyCameras', params: { max: limits.maxCameras } }
  if (f.area && f.area.length < 3) return { field: 'where', key: 'polygon' }
  return null
}

export function searchRequest(f: FootageSearchForm, incidentId?: string | null): FootageSearch {
  const req: FootageSearch = { from: new Date(f.from ?? 0).toISOString(), to: new Date(f.to ?? 0).toISOString() }
  if (f.deviceIds.length) req.deviceIds = [...f.deviceIds]
  if (f.area) req.area = { points: f.area.map((p) => ({ lat: p.lat, lon: p.lon })) }
  if (f.tags.length) req.tags = [...f.tags]
  if (f.events.length) req.events = [...f.events]
  if (incidentId) req.incidentId = incidentId
  return req
}

/** The footage-ticket reason an incident gives (audited with every playback from it). */
export function incidentReason(number: string): string {
  return `incident:${number}`
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The search form a link opens (`/search?cameras=a,b&from=&to=&incidentId=`): malformed parts are ignored. */
export function searchFromQuery(query: Record<string, unknown>, now: number): { form: FootageSearchForm; incidentId: string | null } {
  const form = defaultSearchForm(now)
  const str = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : '')
  form.deviceIds = str('cameras').split(',').filter((id) => UUID.test(id)).slice(0, 5000)
  const from = Date.parse(str('from'))
  const to = Date.parse(str('to'))
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) {
    form.from = from
    form.to = to
  }
  const incidentId = UUID.test(str('incidentId')) ? str('incidentId') : null
  return { form, incidentId }
}

/** The search page link for an incident's cameras: an hour either side of the incident. */
export function searchLink(incident: { id: string; occurredAt: string }, deviceIds: string[], now: number): { path: string; query: Record<string, string> } {
  const at = Math.min(Date.parse(incident.occurredAt) || now, now)
  return {
    path: '/search',
    query: { cameras: deviceIds.join(','), incidentId: incident.id, from: new Date(at - HOUR).toISOString(), to: new Date(Math.min(at + HOUR, now)).toISOString() },
  }
}
