// The incidents pages' decisions as pure functions (tested in __tests__/incident-model.test.ts):
// status looks and transitions, the create/edit form's checks (mirroring the server's schema),
// filters → list query, and how a live event changes the list on screen.
import type {
  Catalogue,
  CreateIncidentInput,
  IncidentPatch,
  IncidentQuery,
  IncidentSource,
  IncidentStatus,
  IncidentSummary,
  IncidentType,
  Incident,
} from '../../api/incidents.ts'

// ---- looks ------------------------------------------------------------------

export type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'

/** Element Plus tag type of a status: open ones stand out, final ones are grey. */
export const STATUS_TAG: Record<IncidentStatus, TagType> = {
  new: 'danger',
  dispatched: 'warning',
  on_scene: 'primary',
  resolved: 'success',
  closed: 'info',
  cancelled: 'info',
}

/** Colour bar of a priority (1 highest): red, orange, yellow, blue. */
export const PRIORITY_COLOR: Record<number, string> = { 1: '#f0443a', 2: '#ff8a1f', 3: '#e6c229', 4: '#3a8ee6' }

export const OPEN_STATUSES: IncidentStatus[] = ['new', 'dispatched', 'on_scene', 'resolved']
export const FINAL_STATUSES: IncidentStatus[] = ['closed', 'cancelled']

export function isOpen(status: IncidentStatus): boolean {
  return !FINAL_STATUSES.includes(status)
}

/** The type's name in the reader's language; the code itself when the catalogue does not know it. */
export function typeName(types: IncidentType[], code: string, locale: string): string {
  const t = types.find((x) => x.code === code)
  if (!t) return code
  return locale === 'en' ? t.en || t.zh : t.zh || t.en
}

/**
 * The buttons a status offers, in the order a monitor works: the incident's own
 * `allowedTransitions` when the server sent them, else the catalogue's map. Cancel comes last.
 */
export function transitionsOf(incident: Pick<Incident, 'status'> & { allowedTransitions?: IncidentStatus[] }, catalogue: Pick<Catalogue, 'transitions'> | null): IncidentStatus[] {
  const list = incident.allowedTransitions ?? catalogue?.transitions[incident.status] ?? []
  return [...list].sort((a, b) => (a === 'cancelled' ? 1 : 0) - (b === 'cancelled' ? 1 : 0))
}

// ---- form -------------------------------------------------------------------

/** The server's maxLength of each text (console/server/incidents/schemas.ts). */
export const LIMITS = { title: 10_000, description: 50_000, address: 10_000, reporterName: 200, reporterPhone: 40 } as const
/** An occurred time this far ahead of the clock is refused (clocks drift). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000

export interface IncidentFormModel {
  type: string
  priority: number
  source: IncidentSource | ''
  title: string
  description: string
  address: string
  /** Typed or picked on the map; '' when not set. */
  lat: string
  lon: string
  /** ms since epoch. */
  occurredAt: number | null
  reporterName: string
  reporterPhone: string
  deviceId: string | null
}

export type IncidentFormField = 'type' | 'priority' | 'source' | 'title' | 'description' | 'address' | 'lat' | 'lon' | 'occurredAt' | 'reporterName' | 'reporterPhone'

/** What a form error says: a key under incidents.form.errors and its parameters. */
export interface FormError { key: 'required' | 'tooLong' | 'latRange' | 'lonRange' | 'bothCoords' | 'future' | 'number'; params?: Record<string, number> }

export interface IncidentPrefill {
  deviceId?: string
  lat?: number
  lon?: number
  address?: string
  occurredAt?: string
  source?: IncidentSource
  title?: string
}

export function emptyIncidentForm(now: number, prefill?: IncidentPrefill | null): IncidentFormModel {
  const at = prefill?.occurredAt ? Date.parse(prefill.occurredAt) : NaN
  return {
    type: '',
    priority: 3,
    source: prefill?.source ?? (prefill?.deviceId ? 'video_patrol' : 'call_110'),
    title: prefill?.title ?? '',
    description: '',
    address: prefill?.address ?? '',
    lat: prefill?.lat !== undefined && prefill.lat !== null ? String(prefill.lat) : '',
    lon: prefill?.lon !== undefined && prefill.lon !== null ? String(prefill.lon) : '',
    occurredAt: Number.isFinite(at) ? at : now,
    reporterName: '',
    reporterPhone: '',
    deviceId: prefill?.deviceId ?? null,
  }
}

export function formFromIncident(i: Incident): IncidentFormModel {
  return {
    type: i.type,
    priority: i.priority,
    source: i.source,
    title: i.title,
    description: i.description ?? '',
    address: i.address ?? '',
    lat: i.lat === null ? '' : String(i.lat),
    lon: i.lon === null ? '' : String(i.lon),
    occurredAt: Date.parse(i.occurredAt),
    reporterName: i.reporterName ?? '',
    reporterPhone: i.reporterPhone ?? '',
    deviceId: i.deviceId,
  }
}

function coord(text: string): number | null {
  const s = text.trim()
  if (s === '') return null
  const n = Number(s)
  return Number.isFinite(n) ? n : NaN
}

/** The form's errors (none: an empty object); the same rules the server's schema holds. */
export function checkIncidentForm(f: IncidentFormModel, now: number): Partial<Record<IncidentFormField, FormError>> {
  const e: Partial<Record<IncidentFormField, FormError>> = {}
  if (!f.type) e.type = { key: 'required' }
  if (!f.source) e.source = { key: 'required' }
  if (![1, 2, 3, 4].includes(f.priority)) e.priority = { key: 'required' }
  if (!f.title.trim()) e.title = { key: 'required' }
  for (const field of ['title', 'description', 'address', 'reporterName', 'reporterPhone'] as const) {
    if (f[field].length > LIMITS[field]) e[field] = { key: 'tooLong', params: { max: LIMITS[field] } }
  }
  const lat = coord(f.lat)
  const lon = coord(f.lon)
  if (Number.isNaN(lat)) e.lat = { key: 'number' }
  else if (lat !== null && (lat < -90 || lat > 90)) e.lat = { key: 'latRange' }
  if (Number.isNaN(lon)) e.lon = { key: 'number' }
  else if (lon !== null && (lon < -180 || lon > 180)) e.lon = { key: 'lonRange' }
  if (!e.lat && !e.lon && (lat === null) !== (lon === null)) e[lat === null ? 'lat' : 'lon'] = { key: 'bothCoords' }
  if (f.occurredAt === null) e.occurredAt = { key: 'required' }
  else if (f.occurredAt > now + FUTURE_TOLERANCE_MS) e.occurredAt = { key: 'future' }
  return e
}

/** The server's field names (body.title, lat) → the form's. */
export function formFieldOf(serverField: string | undefined): IncidentFormField | null {
  if (!serverField) return null
  const name = serverField.replace(/^(body|\/)+\.?/, '').split(/[./]/).filter(Boolean)[0]
  const fields: IncidentFormField[] = ['type', 'priority', 'source', 'title', 'description', 'address', 'lat', 'lon', 'occurredAt', 'reporterName', 'reporterPhone']
  return fields.find((x) => x === name) ?? null
}

/** The create request: empty optional texts left out, coordinates as numbers. */
export function createInput(f: IncidentFormModel): CreateIncidentInput {
  const input: CreateIncidentInput = { type: f.type, priority: f.priority, source: f.source as IncidentSource, title: f.title.trim() }
  if (f.description.trim()) input.description = f.description
  if (f.address.trim()) input.address = f.address.trim()
  const lat = coord(f.lat)
  const lon = coord(f.lon)
  if (lat !== null && lon !== null && !Number.isNaN(lat) && !Number.isNaN(lon)) {
    input.lat = lat
    input.lon = lon
  }
  if (f.occurredAt !== null) input.occurredAt = new Date(f.occurredAt).toISOString()
  if (f.reporterName.trim()) input.reporterName = f.reporterName.trim()
  if (f.reporterPhone.trim()) input.reporterPhone = f.reporterPhone.trim()
  if (f.deviceId) input.deviceId = f.deviceId
  return input
}

/** The edit request: only what changed from `base`, with the version the form was loaded at. */
export function patchOf(base: Incident, f: IncidentFormModel): IncidentPatch {
  const full = createInput(f)
  const patch: IncidentPatch = { version: base.version }
  if (full.type !== base.type) patch.type = full.type
  if (full.priority !== base.priority) patch.priority = full.priority
  if (full.source !== base.source) patch.source = full.source
  if (full.title !== base.title) patch.title = full.title
  if ((full.description ?? '') !== (base.description ?? '')) patch.description = full.description ?? ''
  if ((full.address ?? '') !== (base.address ?? '')) patch.address = full.address ?? ''
  if ((full.reporterName ?? '') !== (base.reporterName ?? '')) patch.reporterName = full.reporterName ?? ''
  if ((full.reporterPhone ?? '') !== (base.reporterPhone ?? '')) patch.reporterPhone = full.reporterPhone ?? ''
  if (full.lat !== undefined && full.lon !== undefined && (full.lat !== base.lat || full.lon !== base.lon)) {
    patch.lat = full.lat
    patch.lon = full.lon
  }
  if (full.occurredAt && Date.parse(full.occurredAt) !== Date.parse(base.occurredAt)) patch.occurredAt = full.occurredAt
  return patch
}

/** True when the patch changes nothing (only the version). */
export function isEmptyPatch(p: IncidentPatch): boolean {
  return Object.keys(p).length === 1
}

/** The fields where my edit and the newer saved incident disagree: what 对比 shows after a 409. */
export function conflicts(mine: IncidentPatch, theirs: Incident): { field: string; mine: unknown; theirs: unknown }[] {
  const out: { field: string; mine: unknown; theirs: unknown }[] = []
  for (const [field, value] of Object.entries(mine)) {
    if (field === 'version') continue
    const current = (theirs as unknown as Record<string, unknown>)[field]
    const same = field === 'occurredAt' ? Date.parse(String(value)) === Date.parse(String(current)) : (value ?? '') === (current ?? '')
    if (!same) out.push({ field, mine: value, theirs: current })
  }
  return out
}

// ---- filters ----------------------------------------------------------------

export interface Bounds { minLat: number; minLon: number; maxLat: number; maxLon: number }

export interface IncidentFilters {
  statuses: IncidentStatus[]
  type: string
  priority: number | null
  source: IncidentSource | ''
  /** ms since epoch, either end may be open. */
  from: number | null
  to: number | null
  q: string
  area: Bounds | null
}

export function defaultFilters(): IncidentFilters {
  return { statuses: [...OPEN_STATUSES], type: '', priority: null, source: '', from: null, to: null, q: '', area: null }
}

/** The bounding box of drawn points (a rectangle's corners, a polygon's). */
export function boundsOf(points: { lat: number; lon: number }[]): Bounds | null {
  if (points.length === 0) return null
  const lats = points.map((p) => p.lat)
  const lons = points.map((p) => p.lon)
  return { minLat: Math.min(...lats), minLon: Math.min(...lons), maxLat: Math.max(...lats), maxLon: Math.max(...lons) }
}

/** The list query of the filters (the server's names; an empty filter is left out). */
export function filtersToQuery(f: IncidentFilters, limit = 50, cursor?: string | null): IncidentQuery {
  const q: IncidentQuery = { limit }
  if (f.statuses.length > 0 && f.statuses.length < 6) q.status = f.statuses.join(',')
  if (f.type) q.type = f.type
  if (f.priority !== null) q.priority = f.priority
  if (f.source) q.source = f.source
  if (f.from !== null) q.from = new Date(f.from).toISOString()
  if (f.to !== null) q.to = new Date(f.to).toISOString()
  if (f.q.trim()) q.q = f.q.trim()
  if (f.area) Object.assign(q, f.area)
  if (cursor) q.cursor = cursor
  return q
}

/** A reversed time range: the form says so before asking the server. */
export function rangeReversed(f: IncidentFilters): boolean {
  return f.from !== null && f.to !== null && f.from > f.to
}

/** Does an incident belong on the list these filters show (a live event's incident)? */
export function matchesFilters(i: IncidentSummary, f: IncidentFilters): boolean {
  if (f.statuses.length > 0 && !f.statuses.includes(i.status)) return false
  if (f.type && i.type !== f.type) return false
  if (f.priority !== null && i.priority !== f.priority) return false
  if (f.source && i.source !== f.source) return false
  const at = Date.parse(i.occurredAt)
  if (f.from !== null && at < f.from) return false
  if (f.to !== null && at > f.to) return false
  const text = f.q.trim().toLowerCase()
  if (text && ![i.number, i.title, i.address].some((s) => (s ?? '').toLowerCase().includes(text))) return false
  if (f.area) {
    if (i.lat === null || i.lon === null) return false
    if (i.lat < f.area.minLat || i.lat > f.area.maxLat || i.lon < f.area.minLon || i.lon > f.area.maxLon) return false
  }
  return true
}

/** Newest occurredAt first, then newest created (the server's order). */
function before(a: IncidentSummary, b: IncidentSummary): boolean {
  const d = Date.parse(b.occurredAt) - Date.parse(a.occurredAt)
  return d !== 0 ? d < 0 : a.id > b.id
}

export interface LiveOutcome {
  items: IncidentSummary[]
  /** +1 a row joined the list, -1 one left it, 0 none. */
  delta: -1 | 0 | 1
}

/**
 * A created or updated incident heard live: a known row is replaced (or leaves when it no longer
 * matches), a new matching row is placed by time — unless it sorts below the last loaded row while
 * more pages remain (it will come with "more"). An older version than the row shown is ignored.
 */
export function applyLive(items: IncidentSummary[], incoming: IncidentSummary, f: IncidentFilters, hasMore: boolean): LiveOutcome {
  const at = items.findIndex((x) => x.id === incoming.id)
  const matches = matchesFilters(incoming, f)
  if (at >= 0) {
    if (items[at]!.version > incoming.version) return { items, delta: 0 }
    const rest = items.filter((x) => x.id !== incoming.id)
    if (!matches) return { items: rest, delta: -1 }
    return { items: insertSorted(rest, incoming), delta: 0 }
  }
  if (!matches) return { items, delta: 0 }
  const last = items[items.length - 1]
  if (hasMore && last && !before(incoming, last)) return { items, delta: 1 }
  return { items: insertSorted(items, incoming), delta: 1 }
}

function insertSorted(items: IncidentSummary[], row: IncidentSummary): IncidentSummary[] {
  const i = items.findIndex((x) => before(row, x))
  const out = [...items]
  out.splice(i < 0 ? out.length : i, 0, row)
  return out
}

/** Rows of the next page appended, without any row twice (a live insert may have brought one already). */
export function appendPage(items: IncidentSummary[], page: IncidentSummary[]): IncidentSummary[] {
  const seen = new Set(items.map((x) => x.id))
  return [...items, ...page.filter((x) => !seen.has(x.id))]
}

// ---- filters in the address bar (a reload or a shared link keeps them) -----------

const STATUS_SET = new Set<string>(['new', 'dispatched', 'on_scene', 'resolved', 'closed', 'cancelled'])
const SOURCE_SET = new Set<string>(['call_110', 'video_patrol', 'face_alarm', 'plate_alarm', 'patrol_report', 'other'])

/** The filters as route query values; the defaults are left out. */
export function filtersToRoute(f: IncidentFilters): Record<string, string> {
  const q: Record<string, string> = {}
  const defaults = defaultFilters()
  if (f.statuses.join(',') !== defaults.statuses.join(',')) q.status = f.statuses.length ? f.statuses.join(',') : 'all'
  if (f.type) q.type = f.type
  if (f.priority !== null) q.priority = String(f.priority)
  if (f.source) q.source = f.source
  if (f.from !== null) q.from = new Date(f.from).toISOString()
  if (f.to !== null) q.to = new Date(f.to).toISOString()
  if (f.q.trim()) q.q = f.q.trim()
  if (f.area) q.area = [f.area.minLat, f.area.minLon, f.area.maxLat, f.area.maxLon].join(',')
  return q
}

/** Filters read back from the route query; anything malformed falls back to its default. */
export function filtersFromRoute(query: Record<string, unknown>): IncidentFilters {
  const f = defaultFilters()
  const str = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : '')
  const status = str('status')
  if (status === 'all') f.statuses = []
  else if (status) {
    const list = status.split(',').filter((s) => STATUS_SET.has(s)) as IncidentStatus[]
    if (list.length) f.statuses = list
  }
  if (/^[a-z0-9_]{1,40}$/.test(str('type'))) f.type = str('type')
  const p = Number(str('priority'))
  if ([1, 2, 3, 4].includes(p)) f.priority = p
  if (SOURCE_SET.has(str('source'))) f.source = str('source') as IncidentSource
  const from = Date.parse(str('from'))
  const to = Date.parse(str('to'))
  if (Number.isFinite(from)) f.from = from
  if (Number.isFinite(to)) f.to = to
  f.q = str('q').slice(0, 200)
  const a = str('area').split(',').map(Number)
  if (a.length === 4 && a.every(Number.isFinite) && a[0]! <= a[2]! && a[1]! <= a[3]! && Math.abs(a[0]!) <= 90 && Math.abs(a[2]!) <= 90 && Math.abs(a[1]!) <= 180 && Math.abs(a[3]!) <= 180) {
    f.area = { minLat: a[0]!, minLon: a[1]!, maxLat: a[2]!, maxLon: a[3]! }
  }
  return f
}
