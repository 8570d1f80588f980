// Pure arithmetic of the recording timeline: days and hours in the site time zone, bar
// positions ↔ instants, and which footage a click opens. Instants are epoch milliseconds.
import type { TimelineRange } from '../api/media.ts'

const HOUR_MS = 3_600_000
const QUARTER_MS = 900_000

interface ZonedParts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** The wall-clock reading of an instant in a time zone. */
export function zonedParts(ms: number, timeZone: string): ZonedParts {
  const part: Record<string, number> = {}
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') part[p.type] = Number(p.value)
  }
  return {
    year: part.year ?? 1970,
    month: part.month ?? 1,
    day: part.day ?? 1,
    hour: (part.hour ?? 0) % 24,
    minute: part.minute ?? 0,
    second: part.second ?? 0,
  }
}

/** Offset of the zone from UTC at that instant (ms, east positive). */
function offsetMs(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone)
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000))
}

/** The instant a wall-clock reading happens in the zone: the earlier one when it happens twice, just after the jump when never. */
export function zonedToInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute)
  const first = wall - offsetMs(wall, timeZone)
  const second = wall - offsetMs(first, timeZone)
  const third = wall - offsetMs(wall - 2 * HOUR_MS, timeZone)
  const valid = [first, second, third].filter((t) => t + offsetMs(t, timeZone) === wall)
  return valid.length > 0 ? Math.min(...valid) : Math.max(first, second)
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

function parseDay(day: string): [number, number, number] | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null
}

/** YYYY-MM-DD of the instant in the zone. */
export function dayOf(ms: number, timeZone: string): string {
  const p = zonedParts(ms, timeZone)
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`
}

/** The calendar day after (or before, with -1) a YYYY-MM-DD day. */
export function addDays(day: string, n: number): string {
  const d = parseDay(day)
  if (!d) return day
  const date = new Date(Date.UTC(d[0], d[1] - 1, d[2] + n))
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`
}

/** Local midnight to the next local midnight: 23, 24 or 25 hours. */
export function dayBounds(day: string, timeZone: string): { from: number; to: number } | null {
  const d = parseDay(day)
  const n = parseDay(addDays(day, 1))
  if (!d || !n) return null
  return { from: zonedToInstant(d[0], d[1], d[2], 0, 0, timeZone), to: zonedToInstant(n[0], n[1], n[2], 0, 0, timeZone) }
}

export interface Span {
  from: number
  to: number
}

/** Position of an instant on the bar, 0 … 1 (clamped). */
export function toFraction(ms: number, span: Span): number {
  const width = span.to - span.from
  if (width <= 0) return 0
  return Math.min(1, Math.max(0, (ms - span.from) / width))
}

/** The instant at a position on the bar, to the second. */
export function fromFraction(fraction: number, span: Span): number {
  const f = Math.min(1, Math.max(0, fraction))
  return Math.round((span.from + f * (span.to - span.from)) / 1000) * 1000
}

export interface HourTick {
  /** 0 … 1 along the bar. */
  at: number
  /** Local hour, 0 … 23. */
  hour: number
  label: string
  /** Every third hour carries its label. */
  major: boolean
}

/** One tick at each local full hour of the span (a DST day has 23 or 25). Zone offsets are whole quarter hours. */
export function hourTicks(span: Span, timeZone: string): HourTick[] {
  const ticks: HourTick[] = []
  const start = Math.ceil(span.from / QUARTER_MS) * QUARTER_MS
  for (let t = start; t < span.to && ticks.length < 30; t += QUARTER_MS) {
    const p = zonedParts(t, timeZone)
    if (p.minute !== 0) continue
    ticks.push({ at: toFraction(t, span), hour: p.hour, label: `${pad(p.hour)}:00`, major: p.hour % 3 === 0 })
  }
  return ticks
}

export interface BarSegment {
  kind: TimelineRange['kind']
  /** Percent of the bar. */
  left: number
  width: number
  from: number
  to: number
}

/** Ranges clipped to the span, as percentages; empty ones dropped. */
export function barSegments(ranges: TimelineRange[], span: Span): BarSegment[] {
  const out: BarSegment[] = []
  for (const r of ranges) {
    const from = Math.max(span.from, Date.parse(r.from))
    const to = Math.min(span.to, Date.parse(r.to))
    if (!(to > from)) continue
    const left = toFraction(from, span) * 100
    const width = toFraction(to, span) * 100 - left
    out.push({ kind: r.kind, left, width, from, to })
  }
  return out
}

/**
 * What a click at t opens: from t (or, in a gap, from the next footage) to the end of the
 * day's range, never past now. Null when there is no footage at or after t.
 */
export function footageWindow(t: number, ranges: TimelineRange[], span: Span, now: number): Span | null {
  const footage = ranges
    .filter((r) => r.kind === 'footage')
    .map((r) => ({ from: Date.parse(r.from), to: Date.parse(r.to) }))
    .filter((r) => r.to > r.from)
    .sort((a, b) => a.from - b.from)
  const hit = footage.find((r) => r.to > t)
  if (!hit) return null
  const from = Math.max(t, hit.from, span.from)
  const to = Math.min(span.to, now)
  return to - from >= 1000 ? { from, to } : null
}

/** Where an instant falls in a played playlist: its fragment's start plus the offset into it. */
export function mediaTimeAt(
  ms: number,
  fragments: { start: number; duration: number; programDateTime: number | null }[],
): number | null {
  for (const f of fragments) {
    if (f.programDateTime === null) continue
    const end = f.programDateTime + f.duration * 1000
    if (ms >= f.programDateTime && ms < end) return f.start + (ms - f.programDateTime) / 1000
  }
  return null
}
