// The alarms panel's decisions as plain functions: where an alarm from the realtime channel goes
// in a list, whether it belongs to the list's filter, and how its details read.
import type { Alarm, AlarmKind, AlarmQuery, AlarmSeverity } from '../../api/alarms.ts'

/** How many open alarms the bell's panel keeps (the page lists the rest). */
export const PANEL_SIZE = 50

/** Element Plus tag type per severity; the row colour comes from the CSS class `sev-<severity>`. */
export const SEVERITY_TAG: Record<AlarmSeverity, 'danger' | 'warning' | 'info'> = { critical: 'danger', warning: 'warning', info: 'info' }

/** Wide characters (CJK, full-width forms) take a full em of the 12 px button font; others about 7.5 px. */
const WIDE = /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/

/**
 * Width in pixels of a table column holding small buttons on one line, from their labels: text
 * (12 px per wide character, 7.5 px per other), 24 px of padding and border per button, 12 px
 * between buttons and 24 px of cell padding, rounded up to 10 px. Estimated from the words, not
 * measured, so the column fits in either language on first paint ("Acknowledge" is 3× 确认).
 */
export function buttonRowWidth(labels: readonly string[]): number {
  let text = 0
  for (const label of labels) for (const ch of label) text += WIDE.test(ch) ? 12 : 7.5
  const width = text + labels.length * 24 + Math.max(0, labels.length - 1) * 12 + 24
  return Math.ceil(width / 10) * 10
}

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

/** One cause of an alarm as the server words it: a stable code (`alarms.reason.<code>`) and its facts. */
export interface AlarmCause {
  code: string
  params: Record<string, string | number>
}

export type DetailPart =
  /** `reason`: the server's raw text (shown when a cause is unknown to this console); `causes`: the coded causes, when the server sent them. */
  | { key: 'reason'; params: { reason: string }; causes?: AlarmCause[] }
  | { key: 'gap'; params: { from: string; to: string; seconds: number } }
  | { key: 'score'; params: { score: number } }
  | { key: 'plate'; params: { plate: string } }

/** The well-formed causes of `details.reasons` (console/server/alarms/reasons.ts); anything else is skipped. */
export function alarmCauses(details: Record<string, unknown>): AlarmCause[] {
  if (!Array.isArray(details.reasons)) return []
  const causes: AlarmCause[] = []
  for (const r of details.reasons as unknown[]) {
    if (!r || typeof r !== 'object') continue
    const { code, params } = r as { code?: unknown; params?: unknown }
    if (typeof code !== 'string' || !/^[a-z0-9_]+$/.test(code)) continue
    const clean: Record<string, string | number> = {}
    if (params && typeof params === 'object') {
      for (const [k, v] of Object.entries(params)) if (typeof v === 'string' || typeof v === 'number') clean[k] = v
    }
    causes.push({ code, params: clean })
  }
  return causes
}

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
  const causes = alarmCauses(details)
  if (causes.length) parts.push({ key: 'reason', params: { reason: reason ?? '' }, causes })
  else if (reason) parts.push({ key: 'reason', params: { reason } })
  return parts
}

/**
 * A reason in words: every cause through `word` (null when this console has no wording for its
 * code), joined; the raw text when any cause has no wording (a newer server's code) or none came.
 */
export function reasonText(part: Extract<DetailPart, { key: 'reason' }>, word: (cause: AlarmCause) => string | null, separator: string): string {
  const worded = (part.causes ?? []).map(word)
  if (worded.length && worded.every((w): w is string => w !== null)) return worded.join(separator)
  return part.params.reason
}
