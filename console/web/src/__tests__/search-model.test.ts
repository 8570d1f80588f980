// Video search decisions (incident window, bar layout, bookmark range, form checks, wall link); runs in node.
import { describe, expect, it } from 'vitest'
import type { NearbyCamera } from '../api/search.ts'
import type { MapDevice } from '../api/map.ts'
import { zhCN, en } from '../i18n/features/videoSearch.ts'
import {
  barPieces,
  bookmarkRange,
  byDistance,
  checkSearchForm,
  defaultSearchForm,
  eventMarks,
  formatDistance,
  incidentReason,
  incidentWindow,
  instantAt,
  percentAt,
  playWindow,
  recordedAt,
  recordedSeconds,
  searchRequest,
  wallLink,
  zoomAround,
  searchFromQuery,
  searchLink,
} from '../components/search/search-model.ts'

const T = (s: string) => Date.parse(`2026-05-01T${s}Z`)
const iso = (s: string) => `2026-05-01T${s}Z`
const span = { from: T('08:00:00'), to: T('09:00:00') }

function cam(id: string, distanceMeters: number, kind: MapDevice['kind'] = 'camera'): NearbyCamera {
  return {
    distanceMeters,
    device: { id, name: `cam-${id}`, kind, cameraType: 'fixed', lat: 30, lon: 120, heading: null, status: 'online', statusReason: null, hasSub: false, ptz: false, address: null, siteId: null },
  }
}

describe('the footage window of an incident', () => {
  it('is 15 minutes either side of the incident, never past now', () => {
    expect(incidentWindow(iso('08:30:00'), T('10:00:00'))).toEqual({ from: T('08:15:00'), to: T('08:45:00') })
    expect(incidentWindow(iso('08:30:00'), T('08:35:00'))).toEqual({ from: T('08:15:00'), to: T('08:35:00') })
    // an incident logged a little in the future of this clock still shows the last quarter hour
    expect(incidentWindow(iso('09:00:00'), T('08:50:00'))).toEqual({ from: T('08:35:00'), to: T('08:50:00') })
  })
})

describe('the bar', () => {
  it('places instants and fractions on the span, clamped', () => {
    expect(percentAt(T('08:30:00'), span)).toBe(50)
    expect(percentAt(T('07:00:00'), span)).toBe(0)
    expect(instantAt(0.25, span)).toBe(T('08:15:00'))
    expect(instantAt(2, span)).toBe(span.to)
  })

  it('clips ranges and gaps to the span, in time order', () => {
    const pieces = barPieces(
      [{ from: iso('07:50:00'), to: iso('08:15:00') }, { from: iso('08:30:00'), to: iso('09:30:00') }],
      [{ from: iso('08:15:00'), to: iso('08:30:00') }, { from: iso('10:00:00'), to: iso('11:00:00') }],
      span,
    )
    expect(pieces.map((p) => [p.kind, p.left, p.width])).toEqual([['footage', 0, 25], ['gap', 25, 25], ['footage', 50, 50]])
  })

  it('marks events inside the span; an offline span is a band', () => {
    const marks = eventMarks(
      [
        { kind: 'alarm', at: iso('08:06:00'), to: null, id: 'a', label: '离线' },
        { kind: 'offline', at: iso('07:30:00'), to: iso('08:12:00'), id: 'o', label: '' },
        { kind: 'bookmark', at: iso('09:10:00'), to: iso('09:20:00'), id: 'b', label: '' },
      ],
      span,
    )
    expect(marks.map((m) => [m.kind, m.left, Math.round(m.width)])).toEqual([['offline', 0, 20], ['alarm', 10, 0]])
  })

  it('tells whether a moment has footage and how much the span holds', () => {
    const ranges = [{ from: iso('08:00:00'), to: iso('08:10:00') }, { from: iso('08:50:00'), to: iso('09:10:00') }]
    expect(recordedAt(T('08:05:00'), ranges)).toBe(true)
    expect(recordedAt(T('08:10:00'), ranges)).toBe(false)
    expect(recordedSeconds(ranges, span)).toBe(20 * 60)
  })
})

describe('actions on a moment', () => {
  it('bookmarks 30 s either side, inside the span and not past now', () => {
    expect(bookmarkRange(T('08:30:00'), span, T('12:00:00'))).toEqual({ from: T('08:29:30'), to: T('08:30:30') })
    expect(bookmarkRange(T('08:00:10'), span, T('12:00:00'))).toEqual({ from: T('08:00:00'), to: T('08:00:40') })
    expect(bookmarkRange(T('08:40:00'), span, T('08:40:20'))).toEqual({ from: T('08:39:30'), to: T('08:40:20') })
  })

  it('zooms to 15 minutes either side, inside the span', () => {
    const day = { from: T('00:00:00'), to: T('23:59:59') }
    expect(zoomAround(T('12:00:00'), day)).toEqual({ from: T('11:45:00'), to: T('12:15:00') })
    expect(zoomAround(T('23:59:00'), day)).toEqual({ from: T('23:29:59'), to: T('23:59:59') })
    expect(zoomAround(T('08:10:00'), { from: T('08:00:00'), to: T('08:20:00') })).toEqual({ from: T('08:00:00'), to: T('08:20:00') })
  })

  it('plays up to 10 minutes from the moment', () => {
    expect(playWindow(T('08:30:00'), span, T('12:00:00'))).toEqual({ from: T('08:30:00'), to: T('08:40:00') })
    expect(playWindow(T('08:55:00'), span, T('12:00:00'))).toEqual({ from: T('08:55:00'), to: T('09:00:00') })
  })

  it('gives the incident as the footage reason', () => {
    expect(incidentReason('JQ20260501000012')).toBe('incident:JQ20260501000012')
  })
})

describe('nearby cameras', () => {
  it('orders by distance, words it, and puts the nearest cameras (no checkpoints) on the wall', () => {
    const items = [cam('c', 300), cam('a', 20), cam('k', 10, 'checkpoint'), cam('b', 120)]
    expect(byDistance(items).map((x) => x.device.id)).toEqual(['k', 'a', 'b', 'c'])
    expect(wallLink(items, 2)).toEqual({ path: '/wall', query: { cameras: 'a,b' } })
    expect(wallLink([cam('k', 1, 'checkpoint')], 4)).toBeNull()
    expect(formatDistance(85.4)).toBe('85 m')
    expect(formatDistance(1234)).toBe('1.2 km')
    expect(formatDistance(-1)).toBe('—')
  })
})

describe('the footage search form', () => {
  const limits = { maxRangeDays: 31, maxCameras: 3 }
  it('defaults to the last 24 hours and asks for cameras or an area', () => {
    const f = defaultSearchForm(T('12:00:00'))
    expect(f.to! - f.from!).toBe(24 * 3600_000)
    expect(checkSearchForm(f, limits)).toEqual({ field: 'where', key: 'cameraOrArea' })
  })

  it('refuses a reversed or too long range, too many cameras and a two-point area', () => {
    const f = { ...defaultSearchForm(T('12:00:00')), deviceIds: ['a'] }
    expect(checkSearchForm(f, limits)).toBeNull()
    expect(checkSearchForm({ ...f, from: f.to }, limits)?.key).toBe('reversed')
    expect(checkSearchForm({ ...f, from: f.to! - 32 * 86_400_000 }, limits)).toEqual({ field: 'range', key: 'tooLong', params: { days: 31 } })
    expect(checkSearchForm({ ...f, deviceIds: ['a', 'b', 'c', 'd'] }, limits)?.key).toBe('tooManyCameras')
    expect(checkSearchForm({ ...f, area: [{ lat: 1, lon: 1 }, { lat: 2, lon: 2 }] }, limits)?.key).toBe('polygon')
    expect(checkSearchForm({ ...f, from: null }, limits)?.key).toBe('required')
  })

  it('builds the request with only what is set', () => {
    const f = { ...defaultSearchForm(T('12:00:00')), area: [{ lat: 1, lon: 1 }, { lat: 2, lon: 1 }, { lat: 2, lon: 2 }], events: ['alarm' as const] }
    expect(searchRequest(f, 'inc1')).toEqual({
      from: iso('12:00:00').replace('Z', '.000Z').replace('05-01T12', '04-30T12'), to: iso('12:00:00').replace('Z', '.000Z'),
      area: { points: [{ lat: 1, lon: 1 }, { lat: 2, lon: 1 }, { lat: 2, lon: 2 }] }, events: ['alarm'], incidentId: 'inc1',
    })
  })

  it('has every error worded in both languages', () => {
    for (const k of ['required', 'reversed', 'tooLong', 'cameraOrArea', 'tooManyCameras', 'polygon'] as const) {
      expect(zhCN.errors[k]).toBeTruthy()
      expect(en.errors[k]).toBeTruthy()
    }
  })
})

describe('search links', () => {
  const A = '11111111-2222-3333-4444-555555555555'
  const B = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
  it('links an incident to the search page an hour either side, and reads the link back', () => {
    const link = searchLink({ id: A, occurredAt: iso('08:30:00') }, [A, B], T('12:00:00'))
    expect(link).toEqual({ path: '/search', query: { cameras: `${A},${B}`, incidentId: A, from: iso('07:30:00').replace('Z', '.000Z'), to: iso('09:30:00').replace('Z', '.000Z') } })
    const back = searchFromQuery(link.query, T('12:00:00'))
    expect(back.incidentId).toBe(A)
    expect(back.form).toMatchObject({ deviceIds: [A, B], from: T('07:30:00'), to: T('09:30:00') })
  })

  it('ignores what is malformed in a link', () => {
    const back = searchFromQuery({ cameras: `${A},'; DROP,`, from: iso('10:00:00'), to: iso('09:00:00'), incidentId: 'x' }, T('12:00:00'))
    expect(back.incidentId).toBeNull()
    expect(back.form.deviceIds).toEqual([A])
    expect(back.form.to! - back.form.from!).toBe(24 * 3600_000)
  })
})
