import { withTransaction } from '../../../core/db/pool.ts';
import { badRequest } from '../../../core/http/errors.ts';
import type { Platform } from '../../../core/platform.ts';
import { INCIDENT_SOURCES } from '../incidents/types.ts';
import { areaLevel, memberArrays, rollUp } from './areas.ts';
import { briefCsv, csvFilename, devicesCsv, incidentsCsv, responseCsv, type CsvNames } from './csv.ts';
import {
  addDays, addYearsToDate, change, comparisonPeriods, localDate, localDayPeriod, MAX_RANGE_DAYS, parseDate, parseStatsTime, rangeProblem, ratio, splitPeriod,
} from './periods.ts';
import { createStatsRepository } from './repository.ts';
import type {
  AreaCount, AreaLevel, BreakdownRow, CompareCounts, DailyBrief, DeviceAreaStats, DeviceSiteRow, DeviceStats, GridCount, IncidentStats, Period,
  ResponseGroup, ResponseGroupBy, ResponseRow, ResponseStats, StatsLang, TypeCount,
} from './types.ts';

/** The range the device figures cover when none is asked: the 24 hours up to `at`. */
const DEVICE_WINDOW_MS = 86_400_000;
/** Passes one breakdown is cut into (the cores PostgreSQL has to run them), and the shortest part worth its own pass. */
const BREAKDOWN_PARTS = 2;
const BREAKDOWN_MIN_PART_MS = 7 * 86_400_000;
/** Notable incidents one daily brief lists (the count beyond is told). */
const NOTABLE_LIMIT = 50;

export interface RangeQuery { from: string; to: string; siteId?: string; type?: string }
export interface ResponseQuery extends RangeQuery { groupBy: ResponseGroupBy }
export interface DeviceQuery { at?: string; from?: string; to?: string; siteId?: string }
export interface BriefQuery { date?: string; siteId?: string }

/** A CSV answer: the file's text and its name. */
export interface CsvFile { filename: string; body: string }

/**
 * Statistics (警情分析): incidents by type, area, grid, hour and weekday with their 环比 and 同比,
 * response times against the rapid-response targets, camera online rate and recording
 * completeness by area, and the daily brief (每日警情) — as JSON or as CSV. Read only: every
 * figure comes from the incidents, cues, devices and recording segments as they stand.
 */
export function createStatsService(deps: { platform: Platform; now?: () => Date }) {
  const { pool, config } = deps.platform;
  const now = deps.now ?? (() => new Date());
  const repo = createStatsRepository(pool);
  const zone = config.site.timezone;
  const catalogue = config.incidents.types;
  const typeCodes = new Set(catalogue.map((t) => t.code));
  const targets = [...config.linkage.responseTargetsSeconds];

  const names = (lang: StatsLang): CsvNames => ({
    type: (code) => { const t = catalogue.find((c) => c.code === code); return t ? (lang === 'en' ? t.en : t.zh) : code; },
  });

  // ── input ────────────────────────────────────────────────────────────────

  function time(field: string, text: string): Date {
    const at = parseStatsTime(text, zone);
    if (!at) throw badRequest(`${field} is not a date (YYYY-MM-DD) or a date-time`, { field, code: 'stats.bad_date', params: { field, value: text.slice(0, 40) } });
    return at;
  }

  function checkRange(p: Period): Period {
    const problem = rangeProblem(p);
    if (problem === 'order') throw badRequest('to must be after from', { field: 'to', code: 'stats.range_order' });
    if (problem === 'too_long') throw badRequest(`a range covers at most ${MAX_RANGE_DAYS} days`, { field: 'to', code: 'stats.range_too_long', params: { maxDays: MAX_RANGE_DAYS } });
    return p;
  }

  const period = (q: { from: string; to: string }): Period => checkRange({ from: time('from', q.from), to: time('to', q.to) });

  function checkType(type: string | undefined): string | null {
    if (type === undefined || type === '') return null;
    if (!typeCodes.has(type)) throw badRequest('type is not in the incident type catalogue', { field: 'type', code: 'stats.type_unknown', params: { type } });
    return type;
  }

  async function level(siteId: string | undefined): Promise<AreaLevel> {
    const l = areaLevel(await repo.sites(), siteId ?? null);
    if (!l) throw badRequest('siteId names no site', { field: 'siteId', code: 'stats.site_unknown', params: { siteId: siteId ?? null } });
    return l;
  }

  // ── incidents ────────────────────────────────────────────────────────────

  /**
   * The period's breakdown and the comparison counts, side by side: PostgreSQL runs grouping
   * sets in one process, so a long period is cut in BREAKDOWN_PARTS, each pass on its own
   * connection (and transaction), and the parts' counts are added up.
   */
  async function countIncidents(p: Period, compare: readonly Period[], f: { scope: string[] | null; type: string | null }): Promise<{ rows: BreakdownRow[]; compared: CompareCounts[] }> {
    const [parts, compared] = await Promise.all([
      Promise.all(splitPeriod(p, BREAKDOWN_PARTS, BREAKDOWN_MIN_PART_MS).map((part) => withTransaction(pool, (db) => createStatsRepository(db).breakdown(part, f, zone)))),
      repo.countsByType(compare, f),
    ]);
    return { rows: parts.flat(), compared };
  }

  function typeCounts(rows: readonly BreakdownRow[], compared: readonly CompareCounts[], type: string | null): TypeCount[] {
    const counts = new Map<string, number>();
    for (const r of rows) if (r.set === 'main') counts.set(r.type, (counts.get(r.type) ?? 0) + r.count);
    const codes = type ? [type] : catalogue.map((t) => t.code);
    for (const c of [counts, ...compared.map((x) => x.byType)]) for (const code of c.keys()) if (!codes.includes(code)) codes.push(code);
    const order = new Map(codes.map((c, k) => [c, k]));
    return codes
      .map((code) => ({ type: code, count: counts.get(code) ?? 0, previous: compared[0]?.byType.get(code) ?? 0, lastYear: compared[1]?.byType.get(code) ?? 0 }))
      .sort((a, b) => b.count - a.count || order.get(a.type)! - order.get(b.type)!);
  }

  function areaCounts(rows: readonly BreakdownRow[], l: AreaLevel): AreaCount[] {
    const perSite = rows.flatMap((r) => (r.set === 'main' ? [{ siteId: r.siteId, value: r.count }] : []));
    return rollUp(l, perSite, (a, b) => a + b, () => 0)
      .map(({ group, value }) => ({ siteId: group?.id ?? null, name: group?.name ?? '', kind: group?.kind ?? null, itself: group !== null && group.id === l.parent?.id, count: value }))
      .sort((a, b) => b.count - a.count);
  }

  async function summarise(rows: readonly BreakdownRow[], l: AreaLevel) {
    let count = 0;
    let closed = 0;
    let videoAssisted = 0;
    const byHour = Array.from({ length: 24 }, () => 0);
    const byWeekday = Array.from({ length: 7 }, () => 0);
    const sources = new Map<string, number>(INCIDENT_SOURCES.map((s) => [s, 0]));
    const grids = new Map<string | null, number>();
    for (const r of rows) {
      if (r.set === 'main') {
        count += r.count;
        if (r.closed) closed += r.count;
        if (r.videoAssisted) videoAssisted += r.count;
        sources.set(r.source, (sources.get(r.source) ?? 0) + r.count);
      } else if (r.set === 'grid') grids.set(r.unitId, (grids.get(r.unitId) ?? 0) + r.count);
      else { byHour[r.hour]! += r.count; byWeekday[r.weekday]! += r.count; }
    }
    const units = new Map((await repo.units([...grids.keys()].filter((id): id is string => id !== null))).map((u) => [u.id, u]));
    const byGrid: GridCount[] = [...grids]
      .map(([unitId, n]) => ({ unitId, callSign: (unitId && units.get(unitId)?.callSign) || '', gridName: (unitId && units.get(unitId)?.gridName) || '', count: n }))
      .sort((a, b) => b.count - a.count || a.callSign.localeCompare(b.callSign));
    return {
      count, closed, videoAssisted, byHour, byWeekday, byGrid,
      byArea: areaCounts(rows, l),
      bySource: [...sources].map(([source, n]) => ({ source, count: n })),
    };
  }

  async function incidents(q: RangeQuery): Promise<IncidentStats> {
    const p = period(q);
    const type = checkType(q.type);
    const l = await level(q.siteId);
    const { previous, lastYear } = comparisonPeriods(p, zone);
    const f = { scope: l.scope, type };
    const { rows, compared } = await countIncidents(p, [previous, lastYear], f);
    const s = await summarise(rows, l);
    const [prev, year] = [compared[0]!.count, compared[1]!.count];
    return {
      timeZone: zone, from: p.from, to: p.to, siteId: q.siteId ?? null, type,
      totals: {
        count: s.count,
        previous: { ...previous, count: prev },
        lastYear: { ...lastYear, count: year },
        previousChange: change(s.count, prev),
        lastYearChange: change(s.count, year),
        closed: s.closed, videoAssisted: s.videoAssisted, videoAssistedRate: ratio(s.videoAssisted, s.closed),
      },
      byType: typeCounts(rows, compared, type),
      byArea: s.byArea, byGrid: s.byGrid, byHour: s.byHour, byWeekday: s.byWeekday, bySource: s.bySource,
    };
  }

  // ── response ─────────────────────────────────────────────────────────────

  const group = (r: ResponseRow, label: string, itself = false): ResponseGroup => ({
    key: r.key, label, itself, dispatched: r.dispatched, arrived: r.arrived, within: r.within,
    withinRate: r.within.map((n) => ratio(n, r.dispatched)), response: r.response, dispatch: r.dispatch, travel: r.travel,
  });
  const empty = (key: string | null, label: string, itself = false): ResponseGroup => group({
    key, dispatched: 0, arrived: 0, within: targets.map(() => 0),
    response: { median: null, p90: null }, dispatch: { median: null, p90: null }, travel: { median: null, p90: null },
  }, label, itself);

  async function responseFigures(p: Period, l: AreaLevel, type: string | null, groupBy: ResponseGroupBy): Promise<{ total: ResponseGroup; groups: ResponseGroup[] }> {
    const rows = await repo.response(p, { scope: l.scope, type }, { groupBy, targets, timeZone: zone, members: memberArrays(l) });
    const totalRow = rows.find((r) => r.key === '*');
    const byKey = new Map(rows.filter((r) => r.key !== '*').map((r) => [r.key, r]));
    let groups: ResponseGroup[];
    if (groupBy === 'area') {
      // Every group of the level (the named site itself only when something is attached to it directly), then "no site".
      groups = l.groups.filter((g) => g.id !== l.parent?.id || byKey.has(g.id))
        .map((g) => (byKey.has(g.id) ? group(byKey.get(g.id)!, g.name, g.id === l.parent?.id) : empty(g.id, g.name, g.id === l.parent?.id)));
      if (byKey.has(null)) groups.push(group(byKey.get(null)!, ''));
      groups.sort((a, b) => b.dispatched - a.dispatched);
    } else if (groupBy === 'unit') {
      const units = new Map((await repo.units([...byKey.keys()].filter((k): k is string => k !== null))).map((u) => [u.id, u]));
      groups = [...byKey.values()].map((r) => group(r, (r.key && units.get(r.key)?.callSign) || ''))
        .sort((a, b) => b.dispatched - a.dispatched || a.label.localeCompare(b.label));
    } else if (groupBy === 'shift') {
      groups = (['day', 'evening', 'night'] as const).map((s) => (byKey.has(s) ? group(byKey.get(s)!, s) : empty(s, s)));
    } else {
      const codes = type ? [type] : catalogue.map((t) => t.code);
      for (const k of byKey.keys()) if (k !== null && !codes.includes(k)) codes.push(k);
      groups = codes.map((c) => (byKey.has(c) ? group(byKey.get(c)!, c) : empty(c, c))).sort((a, b) => b.dispatched - a.dispatched);
    }
    return { total: totalRow ? group({ ...totalRow, key: null }, '') : empty(null, ''), groups };
  }

  async function response(q: ResponseQuery): Promise<ResponseStats> {
    const p = period(q);
    const type = checkType(q.type);
    const l = await level(q.siteId);
    const { total, groups } = await responseFigures(p, l, type, q.groupBy);
    return { timeZone: zone, from: p.from, to: p.to, siteId: q.siteId ?? null, type, groupBy: q.groupBy, targetsSeconds: targets, total, groups };
  }

  // ── devices ──────────────────────────────────────────────────────────────

  const sumDevices = (a: DeviceSiteRow, b: DeviceSiteRow): DeviceSiteRow => ({
    siteId: a.siteId, cameras: a.cameras + b.cameras, online: a.online + b.online, degraded: a.degraded + b.degraded, offline: a.offline + b.offline,
    unknown: a.unknown + b.unknown, recordingCameras: a.recordingCameras + b.recordingCameras,
    recordedSeconds: a.recordedSeconds + b.recordedSeconds, expectedSeconds: a.expectedSeconds + b.expectedSeconds,
  });
  const noDevices = (): DeviceSiteRow => ({ siteId: null, cameras: 0, online: 0, degraded: 0, offline: 0, unknown: 0, recordingCameras: 0, recordedSeconds: 0, expectedSeconds: 0 });
  const deviceArea = (r: DeviceSiteRow, site: { id: string; name: string; kind: DeviceAreaStats['kind'] } | null, itself = false): DeviceAreaStats => ({
    ...r, siteId: site?.id ?? null, name: site?.name ?? '', kind: site?.kind ?? null, itself,
    onlineRate: ratio(r.online, r.cameras),
    recordingCompleteness: r.expectedSeconds > 0 ? Math.min(1, r.recordedSeconds / r.expectedSeconds) : null,
  });

  async function deviceFigures(o: { at: Date; live: boolean; period: Period }, l: AreaLevel): Promise<{ total: DeviceAreaStats; byArea: DeviceAreaStats[] }> {
    const rows = await repo.devices({ ...o, scope: l.scope });
    const rolled = rollUp(l, rows.map((r) => ({ siteId: r.siteId, value: r })), sumDevices, noDevices);
    const byArea = rolled.map(({ group: g, value }) => deviceArea(value, g, g !== null && g.id === l.parent?.id));
    // The rows are the scope's already (the SQL narrowed them to the site's subtree).
    return { total: deviceArea(rows.reduce(sumDevices, noDevices()), null), byArea };
  }

  async function devices(q: DeviceQuery): Promise<DeviceStats> {
    const t = now();
    const asked = q.at !== undefined ? time('at', q.at) : null;
    const to = q.to !== undefined ? time('to', q.to) : (asked ?? t);
    const from = q.from !== undefined ? time('from', q.from) : new Date(to.getTime() - DEVICE_WINDOW_MS);
    checkRange({ from, to });
    let at = asked ?? (q.to !== undefined ? to : t);
    const live = at.getTime() >= t.getTime();
    if (live) at = t;
    const l = await level(q.siteId);
    // Nothing can have been recorded after now: the expectation stops there too.
    const covered = { from, to: new Date(Math.min(to.getTime(), t.getTime())) };
    const figures = await deviceFigures({ at, live, period: covered }, l);
    return { timeZone: zone, at, from, to, siteId: q.siteId ?? null, ...figures };
  }

  // ── daily brief ──────────────────────────────────────────────────────────

  async function dailyBrief(q: BriefQuery): Promise<DailyBrief> {
    const t = now();
    const today = localDate(t, zone);
    const date = q.date ?? addDays(today, -1);
    if (!parseDate(date)) throw badRequest('date is not a date (YYYY-MM-DD)', { field: 'date', code: 'stats.bad_date', params: { field: 'date', value: date.slice(0, 40) } });
    if (date > today) throw badRequest('date is after today', { field: 'date', code: 'stats.date_future', params: { date } });
    const l = await level(q.siteId);
    const p = localDayPeriod(date, zone);
    const dayBefore = addDays(date, -1);
    const yearBefore = addYearsToDate(date, -1);
    const f = { scope: l.scope, type: null };
    const until = new Date(Math.min(p.to.getTime(), t.getTime()));
    const [{ rows, compared }, resp, notable, devs] = await Promise.all([
      countIncidents(p, [localDayPeriod(dayBefore, zone), localDayPeriod(yearBefore, zone)], f),
      responseFigures(p, l, null, 'type'),
      repo.notable(p, f, NOTABLE_LIMIT),
      deviceFigures({ at: until, live: until.getTime() >= t.getTime(), period: { from: p.from, to: until } }, l),
    ]);
    const s = await summarise(rows, l);
    const [prev, year] = [compared[0]!.count, compared[1]!.count];
    return {
      timeZone: zone, date, from: p.from, to: p.to, generatedAt: t,
      totals: {
        count: s.count,
        previousDay: { date: dayBefore, count: prev },
        lastYear: { date: yearBefore, count: year },
        previousDayChange: change(s.count, prev),
        lastYearChange: change(s.count, year),
        closed: s.closed, videoAssisted: s.videoAssisted,
      },
      byType: typeCounts(rows, compared, null),
      byArea: s.byArea,
      response: { targetsSeconds: targets, total: resp.total },
      notable: notable.items, notableMore: Math.max(0, notable.total - notable.items.length),
      devices: { at: until, ...devs },
    };
  }

  return {
    incidents,
    response,
    devices,
    dailyBrief,

    async incidentsCsv(q: RangeQuery, lang: StatsLang): Promise<CsvFile> {
      const s = await incidents(q);
      return { filename: csvFilename('incidents', s, zone), body: incidentsCsv(s, lang, names(lang)) };
    },
    async responseCsv(q: ResponseQuery, lang: StatsLang): Promise<CsvFile> {
      const s = await response(q);
      return { filename: csvFilename(`response-${s.groupBy}`, s, zone), body: responseCsv(s, lang, names(lang)) };
    },
    async devicesCsv(q: DeviceQuery, lang: StatsLang): Promise<CsvFile> {
      const s = await devices(q);
      return { filename: csvFilename('devices', s, zone), body: devicesCsv(s, lang) };
    },
    async dailyBriefCsv(q: BriefQuery, lang: StatsLang): Promise<CsvFile> {
      const b = await dailyBrief(q);
      return { filename: `skynet-daily-brief-${b.date.replace(/-/g, '')}.csv`, body: briefCsv(b, lang, names(lang)) };
    },
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
