// The statistics pages' logic, free of Vue and ECharts (unit-tested in __tests__/stats-model.test.ts):
// date ranges as site-local days, how a change is shown, durations, and the ECharts options the
// chart components draw (plain objects).
import { addDays } from '../timeline-model.ts'

/** Inclusive site-local days [first, last], YYYY-MM-DD, as the date range picker holds them. */
export type DayRange = [string, string]

export const RANGE_PRESETS = ['today', 'yesterday', 'last7', 'last30', 'thisMonth', 'lastMonth', 'thisYear'] as const
export type RangePreset = (typeof RANGE_PRESETS)[number]

/** The longest range the server takes (366 days). */
export const MAX_RANGE_DAYS = 366

const monthStart = (day: string) => `${day.slice(0, 8)}01`

/** A preset as inclusive days, relative to `today` (the site-local date). */
export function presetRange(preset: RangePreset, today: string): DayRange {
  switch (preset) {
    case 'today': return [today, today]
    case 'yesterday': { const y = addDays(today, -1); return [y, y] }
    case 'last7': return [addDays(today, -6), today]
    case 'last30': return [addDays(today, -29), today]
    case 'thisMonth': return [monthStart(today), today]
    case 'lastMonth': { const end = addDays(monthStart(today), -1); return [monthStart(end), end] }
    case 'thisYear': return [`${today.slice(0, 4)}-01-01`, today]
  }
}

/** Inclusive days as the API's [from, to): the day after the last is the end. */
export function rangeQuery(range: DayRange): { from: string; to: string } {
  return { from: range[0], to: addDays(range[1], 1) }
}

/** How many days an inclusive range covers. */
export function rangeDays(range: DayRange): number {
  const [a, b] = range.map((d) => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))))
  return Math.round((b! - a!) / 86_400_000) + 1
}

export interface ChangeView {
  /** up: more than before (for incidents, the worse way), down: fewer, flat: the same, none: nothing to compare with. */
  dir: 'up' | 'down' | 'flat' | 'none'
  text: string
}

/** A change (0.25 = +25 %) as an arrow direction and a signed percentage. */
export function changeView(change: number | null): ChangeView {
  if (change === null || !Number.isFinite(change)) return { dir: 'none', text: '—' }
  const p = Math.round(change * 1000) / 10
  if (p === 0) return { dir: 'flat', text: '0.0%' }
  return { dir: p > 0 ? 'up' : 'down', text: `${p > 0 ? '+' : ''}${p.toFixed(1)}%` }
}

/** A share (0–1) as a percentage with one decimal; a dash when there is none. */
export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? '—' : `${(Math.round(share * 1000) / 10).toFixed(1)}%`
}

/** Seconds as minutes and seconds (`2分05秒`, `2 min 05 s`); a dash when there is none. */
export function duration(seconds: number | null | undefined, lang: string): string {
  if (seconds === null || seconds === undefined) return '—'
  const total = Math.round(seconds)
  const m = Math.floor(total / 60)
  const s = total % 60
  if (lang === 'en') return m ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`
  return m ? `${m}分${String(s).padStart(2, '0')}秒` : `${s}秒`
}

/** The site an area bar opens when clicked: a group below the current level (not the level's own row, not "no site"). */
export function drillTarget(area: { siteId: string | null; kind: string | null }, currentSiteId: string | null): string | null {
  if (area.siteId === null || area.siteId === currentSiteId || area.kind === 'station') return null
  return area.siteId
}

// ── chart options ─────────────────────────────────────────────────────────

export const PALETTE = ['#1f8fff', '#7fc1ff', '#f5a623', '#3fc380', '#e5534b', '#a77bf3', '#2ec7c9', '#ffb980']
const TEXT = '#c3d1e4'
const AXIS = '#26406b'
const SPLIT = '#1a2c4c'

export interface SeriesSpec { name: string; data: (number | null)[]; color?: string; stack?: string }

export interface BarSpec {
  categories: string[]
  series: SeriesSpec[]
  /** Bars along the y axis (long category names: types, areas). */
  horizontal?: boolean
  /** Values are shares 0–1, shown as percentages (axis 0–100 %). */
  percent?: boolean
}

type Option = Record<string, unknown>

/** A bar chart in the control-room colours: one series per spec, legend when several. */
export function barOption(spec: BarSpec): Option {
  const categoryAxis = { type: 'category', data: spec.categories, axisLine: { lineStyle: { color: AXIS } }, axisLabel: { color: TEXT, interval: 0, hideOverlap: true }, axisTick: { show: false } }
  const valueAxis = {
    type: 'value', minInterval: spec.percent ? undefined : 1, max: spec.percent ? 1 : undefined,
    axisLabel: { color: TEXT, formatter: spec.percent ? (v: number) => `${Math.round(v * 100)}%` : undefined },
    splitLine: { lineStyle: { color: SPLIT } },
  }
  const many = spec.series.length > 1
  return {
    color: PALETTE,
    textStyle: { color: TEXT },
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' },
      valueFormatter: spec.percent ? (v: unknown) => percent(typeof v === 'number' ? v : null) : undefined,
    },
    legend: many ? { top: 0, textStyle: { color: TEXT } } : undefined,
    grid: { left: 8, right: 16, top: many ? 28 : 12, bottom: 8, containLabel: true },
    xAxis: spec.horizontal ? valueAxis : categoryAxis,
    yAxis: spec.horizontal ? { ...categoryAxis, inverse: true } : valueAxis,
    series: spec.series.map((s) => ({
      name: s.name, type: 'bar', data: s.data, stack: s.stack,
      barMaxWidth: 28, itemStyle: s.color ? { color: s.color } : undefined,
    })),
  }
}

/** A ring (pie) of shares with its legend beside it. */
export function pieOption(items: { name: string; value: number }[]): Option {
  return {
    color: PALETTE,
    textStyle: { color: TEXT },
    tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
    legend: { orient: 'vertical', right: 8, top: 'middle', textStyle: { color: TEXT } },
    series: [{
      type: 'pie', radius: ['45%', '72%'], center: ['38%', '50%'], avoidLabelOverlap: true,
      label: { show: false }, data: items.filter((i) => i.value > 0),
    }],
  }
}
