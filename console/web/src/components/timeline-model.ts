// Pure arithmetic of the recording timeline: days and hours in the site time zone, bar
// positions ↔ instants, and which footage a click opens. Instants are epoch milliseconds.
import type { TimelineRange } from '../api/media.ts'

const MINUTE_MS = 60_000
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

export interface TimeTick {
  /** The instant (ms). */
  t: number
  /** 0 … 1 along the view. */
  at: number
  /** HH:MM in the site time zone. */
  label: string
  /** Labelled ticks; the others are short marks between them. */
  major: boolean
}

/** Label steps (minutes of the local day) and the marks between labels, finest first. */
const TICK_STEPS: { label: number; minor: number }[] = [
  { label: 1, minor: 1 },
  { label: 2, minor: 1 },
  { label: 5, minor: 1 },
  { label: 10, minor: 5 },
  { label: 15, minor: 5 },
  { label: 30, minor: 10 },
  { label: 60, minor: 15 },
  { label: 120, minor: 30 },
  { label: 180, minor: 60 },
  { label: 360, minor: 60 },
]
/** The room one HH:MM label needs, in pixels. */
const LABEL_PX = 64

/** The finest label step whose labels fit a bar `barPx` wide showing `widthMs`. */
export function tickStep(widthMs: number, barPx: number): { label: number; minor: number } {
  const room = Math.max(2, Math.floor(barPx / LABEL_PX))
  return TICK_STEPS.find((s) => widthMs / (s.label * MINUTE_MS) <= room) ?? TICK_STEPS[TICK_STEPS.length - 1]!
}

/**
 * Ticks at local wall-clock multiples of the step that fits the zoom (every 3 h over a day,
 * every 10 min over an hour, every 2 min over 10 min), in the site time zone: a DST day has
 * 23 or 25 hours, and half- or quarter-hour zones still tick on their own full hours.
 * Zone offsets are whole minutes, so local minute boundaries are UTC minute boundaries.
 */
export function timeTicks(view: Span, timeZone: string, barPx = 960): TimeTick[] {
  const step = tickStep(view.to - view.from, barPx)
  // Steps of 15 minutes and more fall on quarter hours in every zone.
  const stride = step.minor % 15 === 0 ? QUARTER_MS : MINUTE_MS
  const ticks: TimeTick[] = []
  for (let t = Math.ceil(view.from / stride) * stride; t < view.to && ticks.length < 400; t += stride) {
    const p = zonedParts(t, timeZone)
    const minuteOfDay = p.hour * 60 + p.minute
    if (minuteOfDay % step.minor !== 0) continue
    ticks.push({ t, at: toFraction(t, view), label: `${pad(p.hour)}:${pad(p.minute)}`, major: minuteOfDay % step.label === 0 })
  }
  return ticks
}

/** The zoom levels: a whole day, 6 hours, 1 hour, 10 minutes. */
export const ZOOM_LEVELS_MS = [24 * HOUR_MS, 6 * HOUR_MS, HOUR_MS, 10 * MINUTE_MS] as const

/** The zoom level one step in (+1) or out (-1) from the view's width. */
export function stepZoom(widthMs: number, direction: 1 | -1): number {
  const i = zoomIndex(widthMs)
  return ZOOM_LEVELS_MS[Math.min(ZOOM_LEVELS_MS.length - 1, Math.max(0, i + direction))]!
}

/** Which zoom level a view width is (the nearest; a 23- or 25-hour day is the day level). */
export function zoomIndex(widthMs: number): number {
  let best = 0
  ZOOM_LEVELS_MS.forEach((z, i) => {
    if (Math.abs(Math.log(widthMs / z)) < Math.abs(Math.log(widthMs / ZOOM_LEVELS_MS[best]!))) best = i
  })
  return best
}

/** A view `widthMs` wide starting at `from`, moved (not shrunk) to lie inside the day; the whole day when wider. */
export function clampView(day: Span, from: number, widthMs: number): Span {
  const dayWidth = day.to - day.from
  if (widthMs >= dayWidth || dayWidth <= 0) return { from: day.from, to: day.to }
  const start = Math.min(day.to - widthMs, Math.max(day.from, from))
  return { from: start, to: start + widthMs }
}

/**
 * Zoom to `widthMs` keeping `anchor` where it is on the bar (under the mouse for the wheel,
 * the playhead or the middle for the buttons). Level widths of a whole day mean the day.
 */
export function zoomView(day: Span, view: Span, widthMs: number, anchor: number): Span {
  const width = widthMs >= ZOOM_LEVELS_MS[0] ? day.to - day.from : widthMs
  const a = Math.min(view.to, Math.max(view.from, anchor))
  const fraction = view.to > view.from ? (a - view.from) / (view.to - view.from) : 0.5
  return clampView(day, Math.round(a - fraction * width), width)
}

/** The view moved by `deltaMs` (negative: earlier), kept inside the day. */
export function panView(day: Span, view: Span, deltaMs: number): Span {
  return clampView(day, view.from + Math.round(deltaMs), view.to - view.from)
}

/** The same view on another day: the same width at the same time from the day's start. */
export function rebaseView(previousDay: Span, day: Span, view: Span): Span {
  return clampView(day, day.from + (view.from - previousDay.from), view.to - view.from)
}

/**
 * While playing, the view follows the playhead: when it leaves the view the view pages on,
 * putting the playhead a tenth in. Unchanged when the playhead is inside or outside the day.
 */
export function followPlayhead(day: Span, view: Span, playhead: number | null): Span {
  if (playhead === null || playhead < day.from || playhead > day.to) return view
  if (playhead >= view.from && playhead <= view.to) return view
  const width = view.to - view.from
  return clampView(day, playhead - Math.round(width / 10), width)
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

/** The nearest footage on one side of a gap: when it ends (before) or starts (after), and where to play it from. */
export interface NearbyFootage {
  at: number
  playFrom: number
}

export type ClickOutcome =
  | { kind: 'play'; at: number }
  | { kind: 'gap'; at: number; before: NearbyFootage | null; after: NearbyFootage | null }

/** Footage before a gap is played from this long before it ends: what led up to the gap. */
export const LEAD_IN_MS = 30_000

/**
 * What a click at t means. Inside footage (at least a second of it left): play from t. Within
 * `toleranceMs` of footage (a few pixels at the current zoom): play from the edge that was
 * meant. Elsewhere (a gap, the future, a day without footage): nothing plays; the nearest
 * footage before and after, within the ranges given, is offered instead.
 */
export function clickOutcome(t: number, ranges: TimelineRange[], now: number, toleranceMs = 0): ClickOutcome {
  const footage = ranges
    .filter((r) => r.kind === 'footage')
    .map((r) => ({ from: Date.parse(r.from), to: Math.min(now, Date.parse(r.to)) }))
    .filter((r) => r.to - r.from >= 1000)
    .sort((a, b) => a.from - b.from)
  if (footage.some((r) => t >= r.from && t <= r.to - 1000)) return { kind: 'play', at: t }
  const next = footage.find((r) => r.from > t) ?? null
  const prev = [...footage].reverse().find((r) => r.to - 1000 < t) ?? null
  if (next && next.from - t <= toleranceMs) return { kind: 'play', at: next.from }
  if (prev && t - prev.to <= toleranceMs) return { kind: 'play', at: Math.max(prev.from, prev.to - Math.max(1000, toleranceMs)) }
  return {
    kind: 'gap',
    at: t,
    before: prev ? { at: prev.to, playFrom: Math.max(prev.from, prev.to - LEAD_IN_MS) } : null,
    after: next ? { at: next.from, playFrom: next.from } : null,
  }
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
