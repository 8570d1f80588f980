import type { Period, Shift } from './types.ts';

/**
 * Period math of the statistics (pure functions of plain values, unit-tested): site-local
 * days and times, the previous period (环比) and the same period a year earlier (同比), the
 * shift an hour of the day belongs to, and changes between two counts.
 */

/** The longest range one statistics request may cover. */
export const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;
/** A range of 366 days that crosses a daylight-saving change is an hour longer. */
const MAX_RANGE_MS = MAX_RANGE_DAYS * DAY_MS + 3_600_000;

export interface LocalParts { year: number; month: number; day: number; hour: number; minute: number; second: number; ms: number }

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock parts of `at` in `zone`. */
export function zonedParts(at: Date, zone: string): LocalParts {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year!, month: p.month!, day: p.day!, hour: p.hour! % 24, minute: p.minute!, second: p.second!, ms: at.getUTCMilliseconds() };
}

/** How far `zone`'s wall clock is ahead of UTC at `at`, in milliseconds. */
export function zoneOffsetMs(at: Date, zone: string): number {
  const p = zonedParts(at, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.ms) - at.getTime();
}

/**
 * The instant a wall-clock time in `zone` names. A time skipped by a daylight-saving change
 * moves forward by the gap; a repeated one takes its first occurrence.
 */
export function zonedToUtc(p: Partial<LocalParts> & Pick<LocalParts, 'year' | 'month' | 'day'>, zone: string): Date {
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour ?? 0, p.minute ?? 0, p.second ?? 0, p.ms ?? 0);
  const first = zoneOffsetMs(new Date(wall), zone);
  let t = wall - first;
  const second = zoneOffsetMs(new Date(t), zone);
  if (second !== first) {
    // Near a change: of the two offsets, the one that reads back as this wall time (earliest first).
    const candidates = [wall - Math.max(first, second), wall - Math.min(first, second)];
    t = candidates.find((c) => c + zoneOffsetMs(new Date(c), zone) === wall) ?? wall - Math.min(first, second);
  }
  return new Date(t);
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYY-MM-DD` of a calendar date, or null when it is none (2026-02-30). */
export function parseDate(text: string): { year: number; month: number; day: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/**
 * A time a statistics request names: `YYYY-MM-DD` (the site-local midnight that starts the day),
 * `YYYY-MM-DDTHH:mm[:ss[.sss]]` (site-local wall time) or the same with `Z` or `±HH:mm`
 * (that instant). Null when it is not one of these or not a real date.
 */
export function parseStatsTime(text: string, zone: string): Date | null {
  const date = parseDate(text);
  if (date) return zonedToUtc(date, zone);
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text);
  if (!m) return null;
  const d = parseDate(m[1]!);
  const [hour, minute, second] = [Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
  if (!d || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Number((m[5] ?? '0').padEnd(3, '0'));
  if (!m[6]) return zonedToUtc({ ...d, hour, minute, second, ms }, zone);
  const zoneText = m[6].toUpperCase();
  let offset = 0;
  if (zoneText !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zoneText)!;
    if (Number(z[2]) > 14 || Number(z[3]) > 59) return null;
    offset = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60_000;
  }
  return new Date(Date.UTC(d.year, d.month - 1, d.day, hour, minute, second, ms) - offset);
}

/** The site-local calendar date of `at`, `YYYY-MM-DD`. */
export function localDate(at: Date, zone: string): string {
  const p = zonedParts(at, zone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** A calendar date `days` later (earlier when negative). */
export function addDays(date: string, days: number): string {
  const d = parseDate(date);
  if (!d) throw new Error(`not a date: ${date}`);
  return new Date(Date.UTC(d.year, d.month - 1, d.day + days)).toISOString().slice(0, 10);
}

/** The same calendar date `years` later (earlier when negative); 29 February becomes the 28th in a common year. */
export function addYearsToDate(date: string, years: number): string {
  const d = parseDate(date);
  if (!d) throw new Error(`not a date: ${date}`);
  const year = d.year + years;
  return `${pad(year, 4)}-${pad(d.month)}-${pad(Math.min(d.day, daysInMonth(year, d.month)))}`;
}

/** The site-local day `date` as [its midnight, the next midnight) — 23 or 25 hours on a daylight-saving change. */
export function localDayPeriod(date: string, zone: string): Period {
  const d = parseDate(date);
  if (!d) throw new Error(`not a date: ${date}`);
  const next = parseDate(addDays(date, 1))!;
  return { from: zonedToUtc(d, zone), to: zonedToUtc(next, zone) };
}

/** The same site-local wall time `years` earlier or later (29 February → the 28th). */
export function shiftYears(at: Date, years: number, zone: string): Date {
  const p = zonedParts(at, zone);
  const year = p.year + years;
  return zonedToUtc({ ...p, year, day: Math.min(p.day, daysInMonth(year, p.month)) }, zone);
}

/** Whether `at` is a site-local midnight. */
export function isLocalMidnight(at: Date, zone: string): boolean {
  const p = zonedParts(at, zone);
  return p.hour === 0 && p.minute === 0 && p.second === 0 && p.ms === 0;
}

/** Whole site-local days from `from` to `to` when both are local midnights, else null. */
export function localDaysBetween(period: Period, zone: string): number | null {
  if (!isLocalMidnight(period.from, zone) || !isLocalMidnight(period.to, zone)) return null;
  const a = parseDate(localDate(period.from, zone))!;
  const b = parseDate(localDate(period.to, zone))!;
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / DAY_MS);
}

/**
 * The periods a period is compared with:
 * - `previous` (环比): the period of equal length just before it — as many site-local days
 *   earlier when the period is whole days (so a daylight-saving change does not shift it by an
 *   hour), else the same number of milliseconds;
 * - `lastYear` (同比): the same site-local wall times one year earlier.
 */
export function comparisonPeriods(period: Period, zone: string): { previous: Period; lastYear: Period } {
  const days = localDaysBetween(period, zone);
  const previous = days !== null
    ? { from: localDayPeriod(addDays(localDate(period.from, zone), -days), zone).from, to: period.from }
    : { from: new Date(period.from.getTime() - (period.to.getTime() - period.from.getTime())), to: period.from };
  return { previous, lastYear: { from: shiftYears(period.from, -1, zone), to: shiftYears(period.to, -1, zone) } };
}

/** What is wrong with a range, if anything: `to` not after `from`, or longer than MAX_RANGE_DAYS. */
export function rangeProblem(period: Period): 'order' | 'too_long' | null {
  const ms = period.to.getTime() - period.from.getTime();
  if (ms <= 0) return 'order';
  if (ms > MAX_RANGE_MS) return 'too_long';
  return null;
}

/** The shift (班次) a site-local hour of the day belongs to: 08–16 day, 16–24 evening, 00–08 night. */
export function shiftOf(localHour: number): Shift {
  if (localHour >= 8 && localHour < 16) return 'day';
  if (localHour >= 16) return 'evening';
  return 'night';
}

/** The relative change from `before` to `now` (0.25 is +25 %); null when there was nothing before. */
export function change(now: number, before: number): number | null {
  return before === 0 ? null : (now - before) / before;
}

/** `part / whole`, null when `whole` is 0. */
export function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

/** The ISO weekday (0 Monday … 6 Sunday) and hour of `at` in `zone`. */
export function localWeekdayHour(at: Date, zone: string): { weekday: number; hour: number } {
  const p = zonedParts(at, zone);
  const weekday = (new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay() + 6) % 7;
  return { weekday, hour: p.hour };
}

/** A compact `YYYYMMDD` of the site-local date of `at` (file names). */
export function compactDate(at: Date, zone: string): string {
  return localDate(at, zone).replace(/-/g, '');
}

/** `period` cut into `parts` consecutive pieces of (nearly) equal length, whole milliseconds; fewer when it is shorter than `minPartMs` each. */
export function splitPeriod(period: Period, parts: number, minPartMs = 0): Period[] {
  const ms = period.to.getTime() - period.from.getTime();
  const n = Math.max(1, Math.min(parts, minPartMs > 0 ? Math.floor(ms / minPartMs) : parts, ms));
  const out: Period[] = [];
  for (let k = 0; k < n; k++) {
    out.push({ from: new Date(period.from.getTime() + Math.floor((ms * k) / n)), to: new Date(period.from.getTime() + Math.floor((ms * (k + 1)) / n)) });
  }
  return out;
}

/** Periods gathered into scans: those that overlap or touch share one scan of their union. */
export function scanGroups(periods: readonly Period[]): { from: Date; to: Date; members: number[] }[] {
  const order = periods.map((p, k) => ({ p, k })).sort((a, b) => a.p.from.getTime() - b.p.from.getTime());
  const groups: { from: Date; to: Date; members: number[] }[] = [];
  for (const { p, k } of order) {
    const last = groups.at(-1);
    if (last && p.from.getTime() <= last.to.getTime()) {
      last.members.push(k);
      if (p.to > last.to) last.to = p.to;
    } else groups.push({ from: p.from, to: p.to, members: [k] });
  }
  return groups;
}
