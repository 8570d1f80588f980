import { BOM, csvLine, zonedTime } from '../../../core/audit/csv.ts';
import { compactDate } from './periods.ts';
import type { DailyBrief, DeviceAreaStats, DeviceStats, IncidentStats, Period, ResponseGroup, ResponseStats, StatsLang } from './types.ts';

/**
 * The statistics as CSV for a spreadsheet (pure functions of plain values). The cells are
 * written by core/audit/csv.ts (always quoted, a leading apostrophe before = + - @ so a
 * spreadsheet never runs a cell) and the file starts with a UTF-8 byte-order mark so Excel
 * in zh-CN reads the Chinese right. Header and labels in the requested language.
 */

/** Names the CSV needs from outside: incident types from the catalogue. */
export interface CsvNames { type(code: string): string }

const SOURCES: Record<StatsLang, Record<string, string>> = {
  'zh-CN': { call_110: '110报警', video_patrol: '视频巡查', face_alarm: '人脸报警', plate_alarm: '车牌报警', patrol_report: '巡逻上报', other: '其他' },
  en: { call_110: '110 call', video_patrol: 'Video patrol', face_alarm: 'Face alarm', plate_alarm: 'Plate alarm', patrol_report: 'Patrol report', other: 'Other' },
};
const SHIFT_NAMES: Record<StatsLang, Record<string, string>> = {
  'zh-CN': { day: '白班（08–16时）', evening: '中班（16–24时）', night: '夜班（00–08时）' },
  en: { day: 'Day (08–16)', evening: 'Evening (16–24)', night: 'Night (00–08)' },
};
const WEEKDAYS: Record<StatsLang, string[]> = {
  'zh-CN': ['周一', '周二', '周三', '周四', '周五', '周六', '周日'],
  en: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
};

const WORDS = {
  'zh-CN': {
    noSite: '未归属区域', noGrid: '未划入网格', noUnit: '未知警组', total: '合计', direct: '（本级）',
    incidents: '警情总数', closed: '已结案', videoAssisted: '视频辅助破案', hour: (h: number) => `${String(h).padStart(2, '0')}时`,
    dims: { total: '合计', type: '类别', area: '区域', grid: '网格', hour: '时段', weekday: '星期', source: '来源' },
    groupBy: { area: '区域', unit: '警组', shift: '班次', type: '类别' },
    incidentHeader: ['分组', '项目', '数量', '上期（环比）', '去年同期（同比）', '环比变化', '同比变化'],
    responseHeader: (t: readonly number[], g: string) => [g, '派警数', '到场数', ...t.map((s) => `${s}秒内到场`), ...t.map((s) => `${s}秒到场率`),
      '响应用时中位数（秒）', '响应用时P90（秒）', '派警用时中位数（秒）', '派警用时P90（秒）', '途中用时中位数（秒）', '途中用时P90（秒）'],
    deviceHeader: ['区域', '摄像机', '在线', '降级', '离线', '未知', '在线率', '录像摄像机', '已录时长（秒）', '应录时长（秒）', '录像完整率'],
    briefHeader: ['栏目', '项目', '数值', '前一日', '去年同日'],
    brief: { day: '日期', totals: '总体', type: '类别', area: '区域', response: '快速反应', devices: '设备', notable: '重点警情',
      dispatched: '派警数', arrived: '到场数', within: (s: number) => `${s}秒内到场`, median: '响应用时中位数（秒）', p90: '响应用时P90（秒）',
      cameras: '摄像机', online: '在线', onlineRate: '在线率', completeness: '录像完整率', priority: (p: number) => `${p}级` },
  },
  en: {
    noSite: 'No area', noGrid: 'No grid', noUnit: 'Unknown unit', total: 'Total', direct: ' (itself)',
    incidents: 'Incidents', closed: 'Closed', videoAssisted: 'Solved with video', hour: (h: number) => `${String(h).padStart(2, '0')}:00`,
    dims: { total: 'Total', type: 'Type', area: 'Area', grid: 'Grid', hour: 'Hour', weekday: 'Weekday', source: 'Source' },
    groupBy: { area: 'Area', unit: 'Unit', shift: 'Shift', type: 'Type' },
    incidentHeader: ['Group', 'Item', 'Count', 'Previous period', 'Same period last year', 'Change on previous', 'Change on last year'],
    responseHeader: (t: readonly number[], g: string) => [g, 'Dispatched', 'Arrived', ...t.map((s) => `Arrived within ${s} s`), ...t.map((s) => `Within ${s} s rate`),
      'Response median (s)', 'Response p90 (s)', 'Dispatch median (s)', 'Dispatch p90 (s)', 'Travel median (s)', 'Travel p90 (s)'],
    deviceHeader: ['Area', 'Cameras', 'Online', 'Degraded', 'Offline', 'Unknown', 'Online rate', 'Recording cameras', 'Recorded (s)', 'Expected (s)', 'Recording completeness'],
    briefHeader: ['Section', 'Item', 'Value', 'Day before', 'Same day last year'],
    brief: { day: 'Date', totals: 'Totals', type: 'Type', area: 'Area', response: 'Response', devices: 'Devices', notable: 'Notable incidents',
      dispatched: 'Dispatched', arrived: 'Arrived', within: (s: number) => `Arrived within ${s} s`, median: 'Response median (s)', p90: 'Response p90 (s)',
      cameras: 'Cameras', online: 'Online', onlineRate: 'Online rate', completeness: 'Recording completeness', priority: (p: number) => `Priority ${p}` },
  },
} as const;

/**
 * A figure this module wrote itself (`+12.5%`, `-3`): quoted, but without the apostrophe
 * csvCell puts before a leading + or -, which would make a spreadsheet read it as text. Only
 * a plain number, optionally signed and with a percent sign, passes as a figure.
 */
class Figure { constructor(readonly text: string) {} }
const FIGURE = /^[+-]?\d+(\.\d+)?%?$/;
export function figure(text: string): Figure | string {
  return FIGURE.test(text) ? new Figure(text) : text;
}

/** A share as a percentage with one decimal (`97.5%`), empty when there is none. */
export function percentCell(value: number | null): string {
  return value === null ? '' : `${(Math.round(value * 1000) / 10).toFixed(1)}%`;
}

/** A signed change as a percentage (`+12.5%`, `-3.0%`), empty when there is none. */
export function changeCell(value: number | null): Figure | string {
  if (value === null) return '';
  const p = (Math.round(value * 1000) / 10).toFixed(1);
  return figure(value > 0 ? `+${p}%` : `${p}%`);
}

const seconds = (v: number | null) => (v === null ? '' : Math.round(v));

/** One line: figures as they are, everything else through csvCell (quoted, formula starts neutralised). */
export function statsLine(cells: readonly unknown[]): string {
  const figures = cells.map((c) => (c instanceof Figure ? `"${c.text}"` : null));
  if (figures.every((f) => f === null)) return csvLine(cells);
  return cells.map((c, k) => figures[k] ?? csvLine([c]).slice(0, -2)).join(',') + '\r\n';
}

/** The whole file: byte-order mark, header, rows. */
export function csvTable(header: readonly unknown[], rows: readonly (readonly unknown[])[]): string {
  return BOM + csvLine(header) + rows.map((r) => statsLine(r)).join('');
}

/** `skynet-<kind>-<YYYYMMDD>-<YYYYMMDD>.csv`, the site-local first and last day of the period. */
export function csvFilename(kind: string, period: Period, zone: string): string {
  const last = new Date(Math.max(period.from.getTime(), period.to.getTime() - 1));
  const a = compactDate(period.from, zone);
  const b = compactDate(last, zone);
  return a === b ? `skynet-${kind}-${a}.csv` : `skynet-${kind}-${a}-${b}.csv`;
}

const areaName = (lang: StatsLang, a: { siteId: string | null; name: string; itself: boolean }) =>
  a.siteId === null ? WORDS[lang].noSite : a.itself ? `${a.name}${WORDS[lang].direct}` : a.name;

export function incidentsCsv(s: IncidentStats, lang: StatsLang, names: CsvNames): string {
  const w = WORDS[lang];
  const rows: unknown[][] = [
    [w.dims.total, w.incidents, s.totals.count, s.totals.previous.count, s.totals.lastYear.count, changeCell(s.totals.previousChange), changeCell(s.totals.lastYearChange)],
    [w.dims.total, w.closed, s.totals.closed, '', '', '', ''],
    [w.dims.total, w.videoAssisted, s.totals.videoAssisted, '', '', '', ''],
  ];
  for (const t of s.byType) {
    rows.push([w.dims.type, names.type(t.type), t.count, t.previous, t.lastYear,
      changeCell(t.previous === 0 ? null : (t.count - t.previous) / t.previous), changeCell(t.lastYear === 0 ? null : (t.count - t.lastYear) / t.lastYear)]);
  }
  for (const a of s.byArea) rows.push([w.dims.area, areaName(lang, a), a.count, '', '', '', '']);
  for (const g of s.byGrid) rows.push([w.dims.grid, g.unitId === null ? w.noGrid : [g.gridName, g.callSign].filter(Boolean).join(' / '), g.count, '', '', '', '']);
  s.byHour.forEach((n, h) => rows.push([w.dims.hour, w.hour(h), n, '', '', '', '']));
  s.byWeekday.forEach((n, d) => rows.push([w.dims.weekday, WEEKDAYS[lang][d], n, '', '', '', '']));
  for (const src of s.bySource) rows.push([w.dims.source, SOURCES[lang][src.source] ?? src.source, src.count, '', '', '', '']);
  return csvTable(w.incidentHeader, rows);
}

function responseLabel(s: ResponseStats, g: ResponseGroup, lang: StatsLang, names: CsvNames): string {
  const w = WORDS[lang];
  if (s.groupBy === 'type') return g.key === null ? '' : names.type(g.key);
  if (s.groupBy === 'shift') return g.key === null ? '' : SHIFT_NAMES[lang][g.key] ?? g.key;
  if (s.groupBy === 'unit') return g.key === null ? w.noUnit : g.label;
  return g.key === null ? w.noSite : g.itself ? `${g.label}${w.direct}` : g.label;
}

const responseCells = (g: ResponseGroup) => [
  g.dispatched, g.arrived, ...g.within, ...g.withinRate.map(percentCell),
  seconds(g.response.median), seconds(g.response.p90), seconds(g.dispatch.median), seconds(g.dispatch.p90), seconds(g.travel.median), seconds(g.travel.p90),
];

export function responseCsv(s: ResponseStats, lang: StatsLang, names: CsvNames): string {
  const w = WORDS[lang];
  const rows = [[w.total, ...responseCells(s.total)], ...s.groups.map((g) => [responseLabel(s, g, lang, names), ...responseCells(g)])];
  return csvTable(w.responseHeader(s.targetsSeconds, w.groupBy[s.groupBy]), rows);
}

const deviceCells = (d: DeviceAreaStats) => [
  d.cameras, d.online, d.degraded, d.offline, d.unknown, percentCell(d.onlineRate), d.recordingCameras,
  Math.round(d.recordedSeconds), Math.round(d.expectedSeconds), percentCell(d.recordingCompleteness),
];

export function devicesCsv(s: DeviceStats, lang: StatsLang): string {
  const w = WORDS[lang];
  const rows = [[w.total, ...deviceCells(s.total)], ...s.byArea.map((a) => [areaName(lang, a), ...deviceCells(a)])];
  return csvTable(w.deviceHeader, rows);
}

export function briefCsv(b: DailyBrief, lang: StatsLang, names: CsvNames): string {
  const w = WORDS[lang];
  const x = w.brief;
  const rows: unknown[][] = [
    [x.day, b.date, '', b.totals.previousDay.date, b.totals.lastYear.date],
    [x.totals, w.incidents, b.totals.count, b.totals.previousDay.count, b.totals.lastYear.count],
    [x.totals, w.closed, b.totals.closed, '', ''],
    [x.totals, w.videoAssisted, b.totals.videoAssisted, '', ''],
  ];
  for (const t of b.byType) rows.push([x.type, names.type(t.type), t.count, t.previous, t.lastYear]);
  for (const a of b.byArea) rows.push([x.area, areaName(lang, a), a.count, '', '']);
  const r = b.response.total;
  rows.push([x.response, x.dispatched, r.dispatched, '', ''], [x.response, x.arrived, r.arrived, '', '']);
  b.response.targetsSeconds.forEach((t, k) => rows.push([x.response, x.within(t), `${r.within[k]} (${percentCell(r.withinRate[k] ?? null)})`, '', '']));
  rows.push([x.response, x.median, seconds(r.response.median), '', ''], [x.response, x.p90, seconds(r.response.p90), '', '']);
  rows.push([x.devices, x.cameras, b.devices.total.cameras, '', ''], [x.devices, x.online, b.devices.total.online, '', ''],
    [x.devices, x.onlineRate, percentCell(b.devices.total.onlineRate), '', ''], [x.devices, x.completeness, percentCell(b.devices.total.recordingCompleteness), '', '']);
  for (const n of b.notable) {
    rows.push([x.notable, `${n.number} ${zonedTime(n.occurredAt, b.timeZone)}`, [x.priority(n.priority), names.type(n.type), n.title, n.address, n.siteName ?? ''].filter(Boolean).join(' · '), '', '']);
  }
  return csvTable(w.briefHeader, rows);
}
