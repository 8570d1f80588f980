// Timeline arithmetic in a site time zone, DST days included; runs in node.
import { describe, expect, it } from 'vitest'
import {
  addDays,
  barSegments,
  clampView,
  clickOutcome,
  dayBounds,
  dayOf,
  followPlayhead,
  footageWindow,
  fromFraction,
  LEAD_IN_MS,
  mediaTimeAt,
  panView,
  rebaseView,
  stepZoom,
  tickStep,
  timeTicks,
  toFraction,
  zonedToInstant,
  zoomIndex,
  zoomView,
  ZOOM_LEVELS_MS,
} from '../components/timeline-model.ts'
import type { TimelineRange } from '../api/media.ts'

const SH = 'Asia/Shanghai'
const ms = (iso: string) => Date.parse(iso)

describe('days in a time zone', () => {
  it('finds the local day of an instant', () => {
    expect(dayOf(ms('2024-05-01T16:30:00Z'), SH)).toBe('2024-05-02')
    expect(dayOf(ms('2024-05-01T15:59:59Z'), SH)).toBe('2024-05-01')
    expect(dayOf(ms('2024-05-01T03:00:00Z'), 'America/New_York')).toBe('2024-04-30')
  })

  it('steps calendar days across months and years', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29')
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01')
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29')
  })

  it('bounds a day from local midnight to local midnight', () => {
    expect(dayBounds('2024-05-02', SH)).toEqual({ from: ms('2024-05-01T16:00:00Z'), to: ms('2024-05-02T16:00:00Z') })
    expect(dayBounds('2024-05-02', 'Asia/Kolkata')).toEqual({ from: ms('2024-05-01T18:30:00Z'), to: ms('2024-05-02T18:30:00Z') })
    expect(dayBounds('nope', SH)).toBeNull()
  })

  it('gives 23 and 25 hour days around daylight saving changes', () => {
    const spring = dayBounds('2024-03-31', 'Europe/Berlin')!
    expect(spring).toEqual({ from: ms('2024-03-30T23:00:00Z'), to: ms('2024-03-31T22:00:00Z') })
    const autumn = dayBounds('2024-11-03', 'America/New_York')!
    expect((autumn.to - autumn.from) / 3_600_000).toBe(25)
  })

  it('takes the earlier instant of a repeated wall-clock time', () => {
    expect(zonedToInstant(2024, 10, 27, 2, 30, 'Europe/Berlin')).toBe(ms('2024-10-27T00:30:00Z'))
    expect(zonedToInstant(2024, 11, 3, 1, 30, 'America/New_York')).toBe(ms('2024-11-03T05:30:00Z'))
  })
})

describe('bar position and time', () => {
  const span = dayBounds('2024-05-02', SH)!

  it('maps instants to fractions and back to the second', () => {
    const noon = ms('2024-05-02T04:00:00Z') // 12:00 in Shanghai
    expect(toFraction(noon, span)).toBe(0.5)
    expect(fromFraction(0.5, span)).toBe(noon)
    expect(fromFraction(0.25, span)).toBe(ms('2024-05-01T22:00:00Z'))
    expect(toFraction(span.from - 1000, span)).toBe(0)
    expect(fromFraction(1.2, span)).toBe(span.to)
    expect(fromFraction(toFraction(noon + 1234_000, span), span)).toBe(noon + 1234_000)
  })

  it('labels a day every 3 hours with hour marks on a narrow bar, every 2 hours on a wide one', () => {
    const narrow = timeTicks(span, SH, 600)
    expect(narrow.filter((t) => t.major).map((t) => t.label)).toEqual(['00:00', '03:00', '06:00', '09:00', '12:00', '15:00', '18:00', '21:00'])
    expect(narrow).toHaveLength(24)
    expect(narrow[0]).toMatchObject({ at: 0, label: '00:00', major: true })
    expect(narrow[12]).toMatchObject({ at: 0.5, label: '12:00', major: true })
    expect(narrow[13]?.major).toBe(false)
    const wide = timeTicks(span, SH, 1000)
    expect(wide.filter((t) => t.major)).toHaveLength(12)
    expect(wide).toHaveLength(48) // a mark each half hour
  })

  it('fits the labels to the zoom: 10 minutes over an hour, 2 minutes over 10 minutes', () => {
    const hour = { from: ms('2024-05-02T06:00:00Z'), to: ms('2024-05-02T07:00:00Z') } // 14:00–15:00
    const ticks = timeTicks(hour, SH, 600)
    expect(ticks.filter((t) => t.major).map((t) => t.label)).toEqual(['14:00', '14:10', '14:20', '14:30', '14:40', '14:50'])
    expect(ticks).toHaveLength(12) // a mark every 5 minutes
    expect(timeTicks(hour, SH, 1000).filter((t) => t.major)).toHaveLength(12) // room for a label every 5 minutes
    const ten = { from: ms('2024-05-02T06:03:00Z'), to: ms('2024-05-02T06:13:00Z') }
    const fine = timeTicks(ten, SH, 600)
    expect(fine.filter((t) => t.major).map((t) => t.label)).toEqual(['14:04', '14:06', '14:08', '14:10', '14:12'])
    expect(fine).toHaveLength(10)
    expect(fine[0]).toMatchObject({ at: 0, label: '14:03', major: false })
    expect(timeTicks(ten, SH, 1000).filter((t) => t.major)).toHaveLength(10) // room for every minute
    expect(tickStep(10 * 60_000, 300)).toEqual({ label: 5, minor: 1 })
  })

  it('ticks 23 hours on a spring-forward day and half- and quarter-hour zones on their own hours', () => {
    const berlin = dayBounds('2024-03-31', 'Europe/Berlin')!
    const spring = timeTicks(berlin, 'Europe/Berlin', 600)
    expect(spring.map((t) => t.label)).not.toContain('02:00')
    expect(spring).toHaveLength(23)
    const india = timeTicks(dayBounds('2024-05-02', 'Asia/Kolkata')!, 'Asia/Kolkata', 600)
    expect(india).toHaveLength(24)
    expect(india[1]?.at).toBeCloseTo(1 / 24)
    const nepal = timeTicks({ from: ms('2024-05-02T06:00:00Z'), to: ms('2024-05-02T07:00:00Z') }, 'Asia/Kathmandu', 600)
    expect(nepal.filter((t) => t.major).map((t) => t.label)).toEqual(['11:50', '12:00', '12:10', '12:20', '12:30', '12:40'])
  })
})

describe('zoom and pan', () => {
  const day = dayBounds('2024-05-02', SH)!
  const at = (hhmm: string) => ms(`2024-05-02T${hhmm}:00+08:00`)
  const H = 3_600_000

  it('steps through 24 h, 6 h, 1 h and 10 min, and stops at either end', () => {
    expect(stepZoom(24 * H, 1)).toBe(6 * H)
    expect(stepZoom(6 * H, 1)).toBe(H)
    expect(stepZoom(H, 1)).toBe(600_000)
    expect(stepZoom(600_000, 1)).toBe(600_000)
    expect(stepZoom(H, -1)).toBe(6 * H)
    expect(stepZoom(24 * H, -1)).toBe(24 * H)
    expect(zoomIndex(25 * H)).toBe(0) // an autumn DST day is still the day level
    expect(zoomIndex(23 * H)).toBe(0)
    expect(ZOOM_LEVELS_MS).toHaveLength(4)
  })

  it('keeps the instant under the pointer in place when zooming', () => {
    const v = zoomView(day, day, H, at('14:00'))
    expect(v.to - v.from).toBe(H)
    // 14:00 is 14/24 along the day, and 14/24 along the new hour
    expect(toFraction(at('14:00'), v)).toBeCloseTo(14 / 24, 6)
    const ten = zoomView(day, v, 600_000, at('14:00'))
    expect(ten.to - ten.from).toBe(600_000)
    expect(toFraction(at('14:00'), ten)).toBeCloseTo(toFraction(at('14:00'), v), 6)
    expect(zoomView(day, ten, 24 * H, at('14:00'))).toEqual(day)
  })

  it('stays inside the day: a zoom at the edge and a pan past it stop there', () => {
    expect(zoomView(day, day, H, day.from)).toEqual({ from: day.from, to: day.from + H })
    const last = zoomView(day, day, H, day.to)
    expect(last).toEqual({ from: day.to - H, to: day.to })
    expect(panView(day, last, 30 * 60_000)).toEqual(last)
    expect(panView(day, last, -30 * 60_000)).toEqual({ from: day.to - 1.5 * H, to: day.to - 0.5 * H })
    expect(clampView(day, day.from - 5 * H, 2 * H)).toEqual({ from: day.from, to: day.from + 2 * H })
    expect(clampView(day, day.from, 30 * H)).toEqual(day)
  })

  it('keeps the time of day on another day, and pages to follow the playhead', () => {
    const before = dayBounds('2024-05-01', SH)!
    const v = { from: at('14:00'), to: at('15:00') }
    expect(rebaseView(day, before, v)).toEqual({ from: at('14:00') - 24 * H, to: at('15:00') - 24 * H })
    expect(followPlayhead(day, v, at('14:30'))).toBe(v)
    expect(followPlayhead(day, v, null)).toBe(v)
    expect(followPlayhead(day, v, at('15:01'))).toEqual({ from: at('15:01') - 6 * 60_000, to: at('15:01') + 54 * 60_000 })
    expect(followPlayhead(day, v, day.to + 1)).toBe(v)
  })
})

describe('a click on the timeline', () => {
  const ranges: TimelineRange[] = [
    { from: '2024-05-02T10:00:00+08:00', to: '2024-05-02T10:20:00+08:00', kind: 'footage' },
    { from: '2024-05-02T10:20:00+08:00', to: '2024-05-02T10:40:00+08:00', kind: 'missing' },
    { from: '2024-05-02T10:40:00+08:00', to: '2024-05-02T11:00:00+08:00', kind: 'footage' },
  ]
  const at = (hhmmss: string) => ms(`2024-05-02T${hhmmss}+08:00`)
  const late = at('23:00:00')

  it('plays from the click on footage', () => {
    expect(clickOutcome(at('10:05:00'), ranges, late)).toEqual({ kind: 'play', at: at('10:05:00') })
    expect(clickOutcome(at('10:59:59'), ranges, late).kind).toBe('play')
    // in the last second: its last second
    expect(clickOutcome(at('10:59:59') + 500, ranges, late)).toEqual({ kind: 'play', at: at('10:59:59') })
  })

  it('in a gap plays nothing and names the nearest footage before and after', () => {
    expect(clickOutcome(at('10:30:00'), ranges, late)).toEqual({
      kind: 'gap', at: at('10:30:00'),
      before: { at: at('10:20:00'), playFrom: at('10:20:00') - LEAD_IN_MS },
      after: { at: at('10:40:00'), playFrom: at('10:40:00') },
    })
    const morning = clickOutcome(at('08:00:00'), ranges, late)
    expect(morning).toMatchObject({ kind: 'gap', before: null, after: { at: at('10:00:00') } })
    const evening = clickOutcome(at('12:00:00'), ranges, late)
    expect(evening).toMatchObject({ kind: 'gap', before: { at: at('11:00:00'), playFrom: at('10:59:30') }, after: null })
    expect(clickOutcome(at('12:00:00'), [], late)).toEqual({ kind: 'gap', at: at('12:00:00'), before: null, after: null })
  })

  it('takes a click a few pixels off footage as meant for its edge', () => {
    const tol = 4 * 90_000 // 4 px on a day-wide bar of 960 px
    expect(clickOutcome(at('10:37:00'), ranges, late, tol)).toEqual({ kind: 'play', at: at('10:40:00') })
    expect(clickOutcome(at('10:23:00'), ranges, late, tol)).toEqual({ kind: 'play', at: at('10:20:00') - tol })
    expect(clickOutcome(at('10:30:00'), ranges, late, tol).kind).toBe('gap')
  })

  it('counts footage only up to now, and the short footage before a gap from its start', () => {
    const now = at('10:50:00')
    expect(clickOutcome(at('10:55:00'), ranges, now)).toMatchObject({ kind: 'gap', before: { at: now, playFrom: now - LEAD_IN_MS }, after: null })
    const short: TimelineRange[] = [{ from: '2024-05-02T10:00:00+08:00', to: '2024-05-02T10:00:10+08:00', kind: 'footage' }]
    expect(clickOutcome(at('10:05:00'), short, late)).toMatchObject({ before: { at: at('10:00:10'), playFrom: at('10:00:00') } })
  })
})

describe('bar segments', () => {
  const span = dayBounds('2024-05-02', SH)!

  it('clips ranges to the day as percentages', () => {
    const ranges: TimelineRange[] = [
      { from: '2024-05-01T10:00:00Z', to: '2024-05-01T22:00:00Z', kind: 'footage' }, // starts the day before
      { from: '2024-05-01T22:00:00Z', to: '2024-05-01T22:00:00Z', kind: 'missing' }, // empty
      { from: '2024-05-01T22:00:00Z', to: '2024-05-02T04:00:00Z', kind: 'missing' },
    ]
    const segs = barSegments(ranges, span)
    expect(segs).toHaveLength(2)
    expect(segs[0]).toMatchObject({ kind: 'footage', left: 0, width: 25 })
    expect(segs[1]).toMatchObject({ kind: 'missing', left: 25, width: 25 })
  })
})

describe('footageWindow', () => {
  const span = dayBounds('2024-05-02', SH)!
  const ranges: TimelineRange[] = [
    { from: '2024-05-01T16:00:00Z', to: '2024-05-01T20:00:00Z', kind: 'footage' },
    { from: '2024-05-01T20:00:00Z', to: '2024-05-01T21:00:00Z', kind: 'missing' },
    { from: '2024-05-01T21:00:00Z', to: '2024-05-02T02:00:00Z', kind: 'footage' },
  ]
  const late = span.to + 1

  it('plays from the click to the end of the day', () => {
    expect(footageWindow(ms('2024-05-01T17:00:00Z'), ranges, span, late)).toEqual({ from: ms('2024-05-01T17:00:00Z'), to: span.to })
  })

  it('skips a gap to the next footage', () => {
    expect(footageWindow(ms('2024-05-01T20:30:00Z'), ranges, span, late)?.from).toBe(ms('2024-05-01T21:00:00Z'))
  })

  it('stops at now and has nothing after the last footage', () => {
    const now = ms('2024-05-01T23:00:00Z')
    expect(footageWindow(ms('2024-05-01T22:00:00Z'), ranges, span, now)).toEqual({ from: ms('2024-05-01T22:00:00Z'), to: now })
    expect(footageWindow(ms('2024-05-02T03:00:00Z'), ranges, span, late)).toBeNull()
    expect(footageWindow(ms('2024-05-01T17:00:00Z'), [], span, late)).toBeNull()
  })
})

describe('mediaTimeAt', () => {
  const t0 = ms('2024-05-01T17:00:00Z')
  const fragments = [
    { start: 0, duration: 2, programDateTime: t0 },
    { start: 2, duration: 2, programDateTime: t0 + 2000 },
    { start: 4, duration: 2, programDateTime: t0 + 60_000 }, // after a gap
  ]

  it('finds the media time of a wall-clock instant', () => {
    expect(mediaTimeAt(t0 + 3000, fragments)).toBe(3)
    expect(mediaTimeAt(t0 + 61_000, fragments)).toBe(5)
    expect(mediaTimeAt(t0 + 30_000, fragments)).toBeNull()
  })
})
