import type { DayTimeline, Span, TimelineRange } from './types.ts';

/** Two pieces of footage closer than this are one range on the timeline. */
export const TIMELINE_TOLERANCE_MS = 1500;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function localParts(timeZone: string, at: number) {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at `at`, in ms (+08:00 → 28_800_000; +05:30 → 19_800_000). */
export function zoneOffsetMs(timeZone: string, at: number): number {
  const p = localParts(timeZone, at);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}

/** Is `day` a real calendar date written YYYY-MM-DD? */
export function isDay(day: string): boolean {
  const m = DAY.exec(day);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === day;
}

/** The earliest instant footage can be asked about, and how far ahead a day may lie. */
export const EARLIEST_FOOTAGE = Date.UTC(1970, 0, 1);
export const MAX_YEARS_AHEAD = 2;

/** The latest instant anyone may ask about: `MAX_YEARS_AHEAD` years after `now`. */
function latest(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear() + MAX_YEARS_AHEAD, d.getUTCMonth(), d.getUTCDate(), 23, 59, 59, 999);
}

/** An instant footage can exist at (or a range can name): from 1970 to a couple of years ahead. */
export function instantAllowed(at: number, now: number = Date.now()): boolean {
  return Number.isFinite(at) && at >= EARLIEST_FOOTAGE && at <= latest(now);
}

/** A day a timeline can be asked for: a real calendar date between 1970-01-01 and a couple of years ahead. */
export function dayAllowed(day: string, now: number = Date.now()): boolean {
  return isDay(day) && instantAllowed(Date.parse(`${day}T00:00:00Z`), now);
}

/** Today (or the day of `now`) in the zone, as YYYY-MM-DD. */
export function localDay(timeZone: string, now: Date = new Date()): string {
  const p = localParts(timeZone, now.getTime());
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** The UTC instant at which local midnight starting `day` falls in the zone (DST-safe). */
function localMidnight(day: string, timeZone: string): number {
  const m = DAY.exec(day);
  if (!m) throw new RangeError(`not a day: ${day}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  let utc = wall - zoneOffsetMs(timeZone, wall);
  const again = wall - zoneOffsetMs(timeZone, utc);
  if (again !== utc) utc = again;
  return utc;
}

/** The UTC bounds [from, to) of a local day in the zone. */
export function dayBounds(day: string, timeZone: string): { from: Date; to: Date } {
  if (!isDay(day)) throw new RangeError(`not a day: ${day}`);
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { from: new Date(localMidnight(day, timeZone)), to: new Date(localMidnight(next, timeZone)) };
}

/**
 * A camera's day: footage ranges (contiguous segments merged) and the missing
 * ranges between them, over the local day in the site's zone. What lies after
 * `now` has not happened yet, so it is not reported as missing.
 */
export function dayTimeline(spans: readonly Span[], options: { day: string; timezone: string; now?: Date; toleranceMs?: number }): DayTimeline {
  const { from, to } = dayBounds(options.day, options.timezone);
  const tolerance = options.toleranceMs ?? TIMELINE_TOLERANCE_MS;
  const start = from.getTime();
  const limit = Math.min(to.getTime(), (options.now ?? new Date()).getTime());

  const footage: { from: number; to: number }[] = [];
  const sorted = [...spans].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
  for (const span of sorted) {
    const s = Math.max(span.startsAt.getTime(), start);
    const e = Math.min(span.endsAt.getTime(), limit);
    if (e <= s) continue;
    const last = footage.at(-1);
    if (last && s - last.to <= tolerance) last.to = Math.max(last.to, e);
    else footage.push({ from: s, to: e });
  }

  const ranges: TimelineRange[] = [];
  let cursor = start;
  for (const f of footage) {
    if (f.from - cursor > tolerance) ranges.push({ from: new Date(cursor), to: new Date(f.from), kind: 'missing' });
    else f.from = Math.min(f.from, cursor);
    ranges.push({ from: new Date(f.from), to: new Date(f.to), kind: 'footage' });
    cursor = f.to;
  }
  if (limit - cursor > 0) {
    const last = ranges.at(-1);
    if (last?.kind === 'footage' && limit - cursor <= tolerance) last.to = new Date(limit);
    else ranges.push({ from: new Date(cursor), to: new Date(limit), kind: 'missing' });
  }
  return { day: options.day, timezone: options.timezone, from, to, ranges };
}
