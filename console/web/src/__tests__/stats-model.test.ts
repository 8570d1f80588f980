import { describe, expect, it } from 'vitest'
import {
  barOption, changeView, drillTarget, duration, percent, pieOption, presetRange, rangeDays, rangeQuery,
} from '../components/stats/stats-model.ts'

// The statistics pages' logic: site-local day ranges as the API takes them, changes and shares as
// shown, durations, the area drill-down, and the chart options.
describe('day ranges', () => {
  it('turns presets into inclusive site-local days', () => {
    const today = '2026-03-15'
    expect(presetRange('today', today)).toEqual(['2026-03-15', '2026-03-15'])
    expect(presetRange('yesterday', today)).toEqual(['2026-03-14', '2026-03-14'])
    expect(presetRange('last7', today)).toEqual(['2026-03-09', '2026-03-15'])
    expect(presetRange('last30', today)).toEqual(['2026-02-14', '2026-03-15'])
    expect(presetRange('thisMonth', today)).toEqual(['2026-03-01', '2026-03-15'])
    expect(presetRange('lastMonth', today)).toEqual(['2026-02-01', '2026-02-28'])
    expect(presetRange('lastMonth', '2026-01-10')).toEqual(['2025-12-01', '2025-12-31'])
    expect(presetRange('thisYear', today)).toEqual(['2026-01-01', '2026-03-15'])
  })

  it('sends the day after the last as the exclusive end, and counts the days', () => {
    expect(rangeQuery(['2026-03-01', '2026-03-31'])).toEqual({ from: '2026-03-01', to: '2026-04-01' })
    expect(rangeQuery(['2024-02-29', '2024-02-29'])).toEqual({ from: '2024-02-29', to: '2024-03-01' })
    expect(rangeDays(['2026-03-01', '2026-03-31'])).toBe(31)
    expect(rangeDays(['2025-01-01', '2025-12-31'])).toBe(365)
    expect(rangeDays(['2024-01-01', '2024-12-31'])).toBe(366)
  })
})

describe('figures', () => {
  it('shows a change as a direction and a signed percentage', () => {
    expect(changeView(0.125)).toEqual({ dir: 'up', text: '+12.5%' })
    expect(changeView(-0.03)).toEqual({ dir: 'down', text: '-3.0%' })
    expect(changeView(0)).toEqual({ dir: 'flat', text: '0.0%' })
    expect(changeView(0.0001)).toEqual({ dir: 'flat', text: '0.0%' })
    expect(changeView(null)).toEqual({ dir: 'none', text: '—' })
    expect(changeView(Number.POSITIVE_INFINITY)).toEqual({ dir: 'none', text: '—' })
  })

  it('shows shares and durations', () => {
    expect(percent(0.5)).toBe('50.0%')
    expect(percent(1 / 3)).toBe('33.3%')
    expect(percent(null)).toBe('—')
    expect(duration(45, 'zh-CN')).toBe('45秒')
    expect(duration(125.4, 'zh-CN')).toBe('2分05秒')
    expect(duration(125.4, 'en')).toBe('2 min 05 s')
    expect(duration(9, 'en')).toBe('9 s')
    expect(duration(null, 'en')).toBe('—')
  })

  it('drills into an area below the current level, not into the level itself, a station or "no site"', () => {
    expect(drillTarget({ siteId: 'a1', kind: 'area' }, null)).toBe('a1')
    expect(drillTarget({ siteId: 'a1', kind: 'area' }, 'a1')).toBeNull()
    expect(drillTarget({ siteId: 's1', kind: 'station' }, 'a1')).toBeNull()
    expect(drillTarget({ siteId: null, kind: null }, null)).toBeNull()
  })
})

describe('chart options', () => {
  it('draws one bar series per spec, a legend only for several', () => {
    const one = barOption({ categories: ['a', 'b'], series: [{ name: 'n', data: [1, 2], color: '#fff' }] }) as any
    expect(one.legend).toBeUndefined()
    expect(one.xAxis.data).toEqual(['a', 'b'])
    expect(one.series).toEqual([expect.objectContaining({ name: 'n', type: 'bar', data: [1, 2], itemStyle: { color: '#fff' } })])
    const two = barOption({ horizontal: true, categories: ['x'], series: [{ name: 'a', data: [1] }, { name: 'b', data: [2] }] }) as any
    expect(two.legend).toBeDefined()
    expect(two.yAxis).toMatchObject({ type: 'category', data: ['x'], inverse: true })
    expect(two.xAxis.type).toBe('value')
  })

  it('puts shares on a 0–100 % axis', () => {
    const o = barOption({ percent: true, categories: ['a'], series: [{ name: 'r', data: [0.5] }] }) as any
    expect(o.yAxis.max).toBe(1)
    expect(o.yAxis.axisLabel.formatter(0.25)).toBe('25%')
    expect(o.tooltip.valueFormatter(0.125)).toBe('12.5%')
  })

  it('leaves empty slices out of a ring', () => {
    const o = pieOption([{ name: 'a', value: 3 }, { name: 'b', value: 0 }]) as any
    expect(o.series[0].data).toEqual([{ name: 'a', value: 3 }])
  })
})
