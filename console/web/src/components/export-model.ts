// The evidence export form and list as pure functions: wall-clock times in the site time
// zone ↔ UTC instants, the request body, client-side checks, server fields → form items,
// and the declared gaps of a package. Tested in __tests__/export-model.test.ts.
import type { EvidenceExport, ExportGap, ExportStatus, NewExport } from '../api/exports.ts'
import type { TimelineRange } from '../api/media.ts'
import { zonedParts, zonedToInstant, type Span } from './timeline-model.ts'

/** The date picker's value format: a wall-clock reading, interpreted in the site time zone (never the browser's). */
export const WALL_FORMAT = 'YYYY-MM-DD HH:mm:ss'
/** How often an export being built is asked for its progress. */
export const EXPORT_POLL_MS = 1500

export interface ExportFormModel {
  caseNumber: string
  reason: string
  deviceIds: string[]
  /** [from, to] as WALL_FORMAT readings in the site time zone. */
  range: [string, string] | null
  snapshotIds: string[]
}

export type ExportProp = keyof ExportFormModel

export function emptyExportForm(): ExportFormModel {
  return { caseNumber: '', reason: '', deviceIds: [], range: null, snapshotIds: [] }
}

const pad = (n: number) => String(n).padStart(2, '0')

/** The instant a `YYYY-MM-DD HH:mm:ss` reading happens in the zone, or null when it is no such reading. */
export function wallToInstant(wall: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wall.trim())
  if (!m) return null
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null
  // Zone offsets are whole minutes: the seconds add on as they are.
  return zonedToInstant(year, month, day, hour, minute, timeZone) + second * 1000
}

/** The `YYYY-MM-DD HH:mm:ss` reading of an instant in the zone. */
export function instantToWall(ms: number, timeZone: string): string {
  const p = zonedParts(ms, timeZone)
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`
}

/** The last `minutes` up to now (to the second), as picker readings. */
export function recentRange(now: number, timeZone: string, minutes: number): [string, string] {
  const to = Math.floor(now / 1000) * 1000
  return [instantToWall(to - minutes * 60_000, timeZone), instantToWall(to, timeZone)]
}

/**
 * A Date whose browser-local reading is the site's wall-clock reading of `ms`: what the
 * picker's shortcuts must return, since the picker formats Dates in the browser's zone.
 */
export function pickerDate(ms: number, timeZone: string): Date {
  const p = zonedParts(ms, timeZone)
  return new Date(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
}

/** A form problem found before asking the server: the i18n key of its wording (under exports.form). */
export type FormProblems = Partial<Record<ExportProp, string>>

export function checkExportForm(m: ExportFormModel, timeZone: string, now: number): FormProblems {
  const problems: FormProblems = {}
  if (!m.caseNumber.trim()) problems.caseNumber = 'caseNumberRequired'
  if (!m.reason.trim()) problems.reason = 'reasonRequired'
  if (m.deviceIds.length === 0) problems.deviceIds = 'camerasRequired'
  if (!m.range) {
    problems.range = 'rangeRequired'
  } else {
    const from = wallToInstant(m.range[0], timeZone)
    const to = wallToInstant(m.range[1], timeZone)
    if (from === null || to === null) problems.range = 'rangeRequired'
    else if (to <= from) problems.range = 'rangeBackwards'
    else if (from > now) problems.range = 'rangeFuture'
  }
  return problems
}

/** The request body: the same UTC range for every camera, snapshots only when some were picked. Null when the range does not read. */
export function exportRequest(m: ExportFormModel, timeZone: string): NewExport | null {
  if (!m.range) return null
  const from = wallToInstant(m.range[0], timeZone)
  const to = wallToInstant(m.range[1], timeZone)
  if (from === null || to === null) return null
  const iso = { from: new Date(from).toISOString(), to: new Date(to).toISOString() }
  const body: NewExport = {
    caseNumber: m.caseNumber.trim(),
    reason: m.reason.trim(),
    items: m.deviceIds.map((deviceId) => ({ deviceId, ...iso })),
  }
  if (m.snapshotIds.length > 0) body.snapshotIds = [...m.snapshotIds]
  return body
}

export interface FieldTarget {
  /** The form item that shows the error. */
  prop: ExportProp
  /** i18n key (under exports.form) of the field's label, to word `{field}`. */
  labelKey: string
  /** The request item the field belongs to (items.2.to → 2). */
  index: number | null
}

const FIELD_LABELS: Record<string, { prop: ExportProp; labelKey: string }> = {
  caseNumber: { prop: 'caseNumber', labelKey: 'caseNumber' },
  reason: { prop: 'reason', labelKey: 'reason' },
  items: { prop: 'deviceIds', labelKey: 'cameras' },
  'items.deviceId': { prop: 'deviceIds', labelKey: 'camera' },
  'items.from': { prop: 'range', labelKey: 'from' },
  'items.to': { prop: 'range', labelKey: 'to' },
  snapshotIds: { prop: 'snapshotIds', labelKey: 'snapshots' },
}

/** Where a server error naming a field (`items.0.to`, `/body/caseNumber`, `snapshotIds/3`) is shown. */
export function exportFieldTarget(field: string): FieldTarget | null {
  const parts = field
    .replace(/^\/?body[./]?/, '')
    .split(/[./]/)
    .filter(Boolean)
  let index: number | null = null
  const named: string[] = []
  for (const p of parts) {
    if (!/^\d+$/.test(p)) named.push(p)
    else if (index === null) index = Number(p)
  }
  const hit = FIELD_LABELS[named.join('.')]
  return hit ? { ...hit, index: named[0] === 'items' ? index : null } : null
}

/** Queued or running: its progress is worth asking for. */
export function isActive(status: ExportStatus): boolean {
  return status === 'queued' || status === 'running'
}

/** The list with one export replaced by its newer state (the rest untouched, the order kept). */
export function withExport(list: EvidenceExport[], updated: EvidenceExport): EvidenceExport[] {
  return list.map((e) => (e.id === updated.id ? updated : e))
}

export interface GapRow extends ExportGap {
  deviceName: string
  durationMs: number
}

/** The declared gaps of a package per camera, in the order of the request, then by time. */
export function gapRows(exp: Pick<EvidenceExport, 'gaps' | 'items'>): GapRow[] {
  const order = new Map(exp.items.map((item, i) => [item.deviceId, i]))
  const names = new Map(exp.items.map((item) => [item.deviceId, item.deviceName]))
  return exp.gaps
    .map((g) => ({ ...g, deviceName: names.get(g.deviceId) ?? g.deviceId, durationMs: Math.max(0, Date.parse(g.to) - Date.parse(g.from)) }))
    .sort((a, b) => (order.get(a.deviceId) ?? 1e9) - (order.get(b.deviceId) ?? 1e9) || Date.parse(a.from) - Date.parse(b.from))
}

/** `YYYY-MM-DD HH:mm:ss – HH:mm:ss` in the zone; the end keeps its date when it falls on another day. */
export function formatSpan(fromIso: string, toIso: string, timeZone: string): string {
  const from = Date.parse(fromIso)
  const to = Date.parse(toIso)
  if (!Number.isFinite(from) || !Number.isFinite(to)) return '—'
  const a = instantToWall(from, timeZone)
  const b = instantToWall(to, timeZone)
  return `${a} – ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`
}

/**
 * The range "导出此段录像" offers from the footage view: the part of the timeline on screen
 * that has footage (first footage start to last footage end in it), never past now. Null
 * when the view holds no footage.
 */
export function exportRangeFromView(view: Span, ranges: TimelineRange[], now: number): Span | null {
  let from = Infinity
  let to = -Infinity
  for (const r of ranges) {
    if (r.kind !== 'footage') continue
    const a = Math.max(Date.parse(r.from), view.from)
    const b = Math.min(Date.parse(r.to), view.to, now)
    if (b - a < 1000) continue
    from = Math.min(from, a)
    to = Math.max(to, b)
  }
  if (!Number.isFinite(from) || !Number.isFinite(to)) return null
  return { from: Math.floor(from / 1000) * 1000, to: Math.ceil(to / 1000) * 1000 }
}

/** What the exports page reads from its URL to open the new export dialog prefilled (from a device's footage). */
export interface ExportPrefill {
  deviceId: string
  from: string
  to: string
}

export function prefillFromQuery(query: Record<string, unknown>): ExportPrefill | null {
  const { deviceId, from, to } = query
  if (typeof deviceId !== 'string' || typeof from !== 'string' || typeof to !== 'string' || !deviceId) return null
  if (!Number.isFinite(Date.parse(from)) || !Number.isFinite(Date.parse(to))) return null
  return { deviceId, from, to }
}

/** The form a prefill opens: its camera and range as picker readings in the site time zone. */
export function formFromPrefill(p: ExportPrefill | null, timeZone: string, now: number): ExportFormModel {
  const m = emptyExportForm()
  if (!p) {
    m.range = recentRange(now, timeZone, 60)
    return m
  }
  m.deviceIds = [p.deviceId]
  m.range = [instantToWall(Date.parse(p.from), timeZone), instantToWall(Date.parse(p.to), timeZone)]
  return m
}
