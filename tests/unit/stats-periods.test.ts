import { describe, expect, it } from 'vitest';
import {
  addDays, addYearsToDate, change, comparisonPeriods, localDate, localDayPeriod, localDaysBetween, localWeekdayHour, parseStatsTime, rangeProblem, ratio,
  scanGroups, shiftOf, shiftYears, splitPeriod, zonedToUtc,
} from '../../console/server/stats/periods.ts';

// Period math of the statistics: site-local days and times (China, and a zone with daylight
// saving), 环比 and 同比 periods, range checks, shifts, the parts a long breakdown is cut into.
const CN = 'Asia/Shanghai';
const NY = 'America/New_York';
const d = (iso: string) => new Date(iso);
const p = (from: string, to: string) => ({ from: d(from), to: d(to) });
const iso = (x: { from: Date; to: Date }) => ({ from: x.from.toISOString(), to: x.to.toISOString() });

describe('reading times', () => {
  it('takes a date as the site-local midnight and a bare date-time as site-local', () => {
    expect(parseStatsTime('2026-03-01', CN)?.toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(parseStatsTime('2026-03-01T08:30', CN)?.toISOString()).toBe('2026-03-01T00:30:00.000Z');
    expect(parseStatsTime('2026-03-01 08:30:15.5', CN)?.toISOString()).toBe('2026-03-01T00:30:15.500Z');
  });

  it('takes a date-time with Z or an offset as that instant', () => {
    expect(parseStatsTime('2026-03-01T08:30:00Z', CN)?.toISOString()).toBe('2026-03-01T08:30:00.000Z');
    expect(parseStatsTime('2026-03-01T08:30:00+05:30', CN)?.toISOString()).toBe('2026-03-01T03:00:00.000Z');
    expect(parseStatsTime('2026-03-01T08:30:00-0400', CN)?.toISOString()).toBe('2026-03-01T12:30:00.000Z');
  });

  it('refuses what is not a real date or time', () => {
    for (const bad of ['', 'yesterday', '2026-3-1', '2026-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-03-01T24:00', '2026-03-01T10:60',
      '2026-03-01T10:00:61', '2026-03-01T10:00+15:00', '1969-12-31', '2026-03-01T10', '2026-03-01Z']) {
      expect(parseStatsTime(bad, CN), bad).toBeNull();
    }
    expect(parseStatsTime('2024-02-29', CN)).not.toBeNull();
  });

  it('moves a wall time skipped by daylight saving forward, and takes the first of a repeated one', () => {
    // 2026-03-08 02:30 does not exist in New York (02:00 → 03:00): 03:30 EDT.
    expect(zonedToUtc({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, NY).toISOString()).toBe('2026-03-08T07:30:00.000Z');
    // 2026-11-01 01:30 happens twice: first in EDT (−4).
    expect(zonedToUtc({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, NY).toISOString()).toBe('2026-11-01T05:30:00.000Z');
    expect(zonedToUtc({ year: 2026, month: 7, day: 1 }, NY).toISOString()).toBe('2026-07-01T04:00:00.000Z');
  });
});

describe('days', () => {
  it('knows a site-local day, 23 or 25 hours across a daylight-saving change', () => {
    expect(iso(localDayPeriod('2026-03-01', CN))).toEqual({ from: '2026-02-28T16:00:00.000Z', to: '2026-03-01T16:00:00.000Z' });
    const spring = localDayPeriod('2026-03-08', NY);
    expect(spring.to.getTime() - spring.from.getTime()).toBe(23 * 3_600_000);
    const autumn = localDayPeriod('2026-11-01', NY);
    expect(autumn.to.getTime() - autumn.from.getTime()).toBe(25 * 3_600_000);
  });

  it('counts calendar days, a year back, and the local date of an instant', () => {
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addYearsToDate('2024-02-29', -1)).toBe('2023-02-28');
    expect(addYearsToDate('2026-03-02', -1)).toBe('2025-03-02');
    expect(localDate(d('2026-02-28T16:00:00Z'), CN)).toBe('2026-03-01');
    expect(localDate(d('2026-02-28T15:59:59Z'), CN)).toBe('2026-02-28');
    expect(localDaysBetween(p('2026-02-28T16:00:00Z', '2026-03-31T16:00:00Z'), CN)).toBe(31);
    expect(localDaysBetween(p('2026-02-28T16:00:00Z', '2026-03-31T17:00:00Z'), CN)).toBeNull();
  });

  it('tells the site-local weekday (0 Monday) and hour', () => {
    expect(localWeekdayHour(d('2026-03-01T15:59:59Z'), CN)).toEqual({ weekday: 6, hour: 23 });
    expect(localWeekdayHour(d('2026-03-01T16:00:00Z'), CN)).toEqual({ weekday: 0, hour: 0 });
  });
});

describe('comparison periods', () => {
  it('takes 环比 as as many days just before and 同比 as the same range a year earlier', () => {
    const march = { from: parseStatsTime('2026-03-01', CN)!, to: parseStatsTime('2026-04-01', CN)! };
    const c = comparisonPeriods(march, CN);
    expect(iso(c.previous)).toEqual({ from: '2026-01-28T16:00:00.000Z', to: '2026-02-28T16:00:00.000Z' });
    expect(iso(c.lastYear)).toEqual({ from: '2025-02-28T16:00:00.000Z', to: '2025-03-31T16:00:00.000Z' });
  });

  it('keeps whole days whole across daylight saving, and takes 29 February a year back as the 28th', () => {
    const week = { from: parseStatsTime('2026-03-09', NY)!, to: parseStatsTime('2026-03-16', NY)! };
    expect(comparisonPeriods(week, NY).previous.from.toISOString()).toBe(parseStatsTime('2026-03-02', NY)!.toISOString());
    const leap = { from: parseStatsTime('2024-02-29', CN)!, to: parseStatsTime('2024-03-01', CN)! };
    expect(iso(comparisonPeriods(leap, CN).lastYear)).toEqual({ from: '2023-02-27T16:00:00.000Z', to: '2023-02-28T16:00:00.000Z' });
    expect(shiftYears(d('2024-02-29T04:00:00Z'), -1, CN).toISOString()).toBe('2023-02-28T04:00:00.000Z');
  });

  it('takes a period of hours back by its length', () => {
    const c = comparisonPeriods(p('2026-03-01T01:00:00Z', '2026-03-01T07:00:00Z'), CN);
    expect(iso(c.previous)).toEqual({ from: '2026-02-28T19:00:00.000Z', to: '2026-03-01T01:00:00.000Z' });
    expect(iso(c.lastYear)).toEqual({ from: '2025-03-01T01:00:00.000Z', to: '2025-03-01T07:00:00.000Z' });
  });
});

describe('ranges, shifts and changes', () => {
  it('refuses an empty or reversed range and one over 366 days', () => {
    expect(rangeProblem(p('2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z'))).toBe('order');
    expect(rangeProblem(p('2026-03-02T00:00:00Z', '2026-03-01T00:00:00Z'))).toBe('order');
    expect(rangeProblem(p('2025-03-01T00:00:00Z', '2026-03-02T00:00:00Z'))).toBeNull();
    expect(rangeProblem(p('2025-03-01T00:00:00Z', '2026-03-03T00:00:00Z'))).toBe('too_long');
  });

  it('puts each hour in its shift: 08–16 day, 16–24 evening, 00–08 night', () => {
    const shifts = Array.from({ length: 24 }, (_, h) => shiftOf(h));
    expect(shifts.slice(0, 8).every((s) => s === 'night')).toBe(true);
    expect(shifts.slice(8, 16).every((s) => s === 'day')).toBe(true);
    expect(shifts.slice(16).every((s) => s === 'evening')).toBe(true);
  });

  it('tells a change and a share, and nothing when there is nothing to divide by', () => {
    expect(change(5, 2)).toBe(1.5);
    expect(change(1, 4)).toBe(-0.75);
    expect(change(3, 0)).toBeNull();
    expect(ratio(1, 4)).toBe(0.25);
    expect(ratio(0, 0)).toBeNull();
  });
});

describe('scans', () => {
  it('cuts a long period into consecutive parts, a short one not at all', () => {
    const year = p('2025-03-01T00:00:00Z', '2026-03-01T00:00:00Z');
    const parts = splitPeriod(year, 2, 7 * 86_400_000);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.from).toEqual(year.from);
    expect(parts[0]!.to).toEqual(parts[1]!.from);
    expect(parts[1]!.to).toEqual(year.to);
    expect(splitPeriod(p('2026-03-01T00:00:00Z', '2026-03-10T00:00:00Z'), 2, 7 * 86_400_000)).toHaveLength(1);
    expect(splitPeriod(p('2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.001Z'), 4)).toHaveLength(1);
  });

  it('reads overlapping or touching periods in one scan', () => {
    const groups = scanGroups([p('2025-03-01T00:00:00Z', '2026-03-01T00:00:00Z'), p('2025-03-02T00:00:00Z', '2026-03-02T00:00:00Z'), p('2020-01-01T00:00:00Z', '2020-02-01T00:00:00Z')]);
    expect(groups.map((g) => [iso(g), g.members])).toEqual([
      [{ from: '2020-01-01T00:00:00.000Z', to: '2020-02-01T00:00:00.000Z' }, [2]],
      [{ from: '2025-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' }, [0, 1]],
    ]);
    expect(scanGroups([p('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'), p('2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z')])).toHaveLength(1);
  });
});
