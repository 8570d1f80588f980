// The alarms panel's decisions as plain functions: where an alarm from the realtime channel goes
// in a list, whether it belongs to the list's filter, and how its details read.
import type { Alarm, AlarmKind, AlarmQuery, AlarmSeverity } from '../../api/alarms.ts'

/** How many open alarms the bell's panel keeps (the page lists the rest). */
export const PANEL_SIZE = 50

/** Element Plus tag type per severity; the row colour comes from the CSS class `sev-<severity>`. */
export const SEVERITY_TAG: Record<AlarmSeverity, 'danger' | 'warning' | 'info'> = { critical: 'danger', warning: 'warning', info: 'info' }

/** Newest first: the alarm put in its place (an alarm already there is replaced), at most `max` kept. */
export function mergeAlarm(list: readonly Alarm[], alarm: Alarm, max = Infinity): Alarm[] {
  const rest = list.filter((a) => a.id !== alarm.id)
  const at = rest.findIndex((a) => a.raisedAt < alarm.raisedAt || (a.raisedAt === alarm.raisedAt && a.id < alarm.id))
  const next = at < 0 ? [...rest, alarm] : [...rest.slice(0, at), alarm, ...rest.slice(at)]
  return next.slice(0, max)
}

/** The panel's open list after an event: an acknowledged (or linked) alarm leaves it, others are merged. */
export function applyToOpen(list: readonly Alarm[], alarm: Alarm, max = PANEL_SIZE): Alarm[] {
  if (alarm.ackedAt) return list.filter((a) => a.id !== alarm.id)
  return mergeAlarm(list, alarm, max)
}

/** Whether an alarm belongs in a list asked for with `q` (a new alarm arriving live). */
export function matchesQuery(alarm: Alarm, q: AlarmQuery): boolean {
  const state = q.state ?? 'open'
  if (state === 'open' && alarm.ackedAt) return false
  if (state === 'acked' && !alarm.ackedAt) return false
  if (q.kinds?.length && !q.kinds.includes(alarm.kind)) return false
  if (q.deviceId && alarm.deviceId !== q.deviceId) return false
  if (q.incidentId && alarm.incidentId !== q.incidentId) return false
  const t = Date.parse(alarm.raisedAt)
  if (q.from && t < Date.parse(q.from)) return false
  if (q.to && t >= Date.parse(q.to)) return false
  return true
}

/** A page's list after an event: an alarm already shown is updated in place; a new one joins when it matches. */
export function applyToPage(list: readonly Alarm[], alarm: Alarm, q: AlarmQuery): Alarm[] {
  if (list.some((a) => a.id === alarm.id)) return list.map((a) => (a.id === alarm.id ? alarm : a))
  return matchesQuery(alarm, q) ? mergeAlarm(list, alarm) : [...list]
}

/** The alarm carried by a realtime event's payload, when it looks like one. */
export function alarmOf(payload: Record<string, unknown>): Alarm | null {
  const a = payload.alarm as Partial<Alarm> | undefined
  return a && typeof a.id === 'string' && typeof a.raisedAt === 'string' && typeof a.kind === 'string' ? (a as Alarm) : null
}

export type DetailPart =
  | { key: 'reason'; params: { reason: string } }
  | { key: 'gap'; params: { from: string; to: string; seconds: number } }
  | { key: 'score'; params: { score: number } }
  | { key: 'plate'; params: { plate: string } }

/** What of an alarm's details the list shows, as message keys and parameters (the page words them). */
export function detailParts(kind: AlarmKind, details: Record<string, unknown>): DetailPart[] {
  const parts: DetailPart[] = []
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : null)
  if (kind === 'recording_gap' && str(details.from) && str(details.to)) {
    parts.push({ key: 'gap', params: { from: details.from as string, to: details.to as string, seconds: Number(details.seconds) || 0 } })
  }
  if (typeof details.score === 'number') parts.push({ key: 'score', params: { score: Math.round(details.score * 100) } })
  if (str(details.plate)) parts.push({ key: 'plate', params: { plate: details.plate as string } })
  const reason = str(details.reason)
  if (reason) parts.push({ key: 'reason', params: { reason } })
  return parts
}
