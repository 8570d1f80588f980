// Timeline arithmetic in a site time zone, DST days included; runs in node.
import { describe, expect, it } from 'vitest'
import {
  addDays,
  barSegments,
  dayBounds,
  dayOf,
  footageWindow,
  fromFraction,
  hourTicks,
  mediaTimeAt,
  toFraction,
  zonedToInstant,
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

  it('ticks each local hour', () => {
    const ticks = hourTicks(span, SH)
    expect(ticks).toHaveLength(24)
    expect(ticks[0]).toMatchObject({ at: 0, hour: 0, label: '00:00', major: true })
    expect(ticks[12]).toMatchObject({ at: 0.5, hour: 12, label: '12:00', major: true })
    expect(ticks[13]?.major).toBe(false)
  })

  it('ticks 23 hours on a spring-forward day and half-hour zones on their own hours', () => {
    const spring = hourTicks(dayBounds('2024-03-31', 'Europe/Berlin')!, 'Europe/Berlin')
    expect(spring.map((t) => t.hour)).not.toContain(2)
    expect(spring).toHaveLength(23)
    const india = hourTicks(dayBounds('2024-05-02', 'Asia/Kolkata')!, 'Asia/Kolkata')
    expect(india).toHaveLength(24)
    expect(india[1]?.at).toBeCloseTo(1 / 24)
  })

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
