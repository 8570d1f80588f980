// The incidents pages' decisions (status looks and transitions, the form's checks, filters → query,
// live events on the list, timeline text); runs in node.
import { describe, expect, it } from 'vitest'
import type { Incident, IncidentSummary } from '../api/incidents.ts'
import { zhCN, en } from '../i18n/features/incidents.ts'
import {
  appendPage,
  applyLive,
  boundsOf,
  checkIncidentForm,
  conflicts,
  createInput,
  defaultFilters,
  emptyIncidentForm,
  filtersFromRoute,
  filtersToQuery,
  filtersToRoute,
  formFieldOf,
  formFromIncident,
  isEmptyPatch,
  isOpen,
  matchesFilters,
  patchOf,
  rangeReversed,
  STATUS_TAG,
  transitionsOf,
  typeName,
  type IncidentFilters,
} from '../components/incidents/incident-model.ts'
import { detailPairs, entryText, shownDetails } from '../components/incidents/timeline-text.ts'

const NOW = Date.parse('2026-05-01T08:00:00Z')

function summary(id: string, occurredAt: string, extra: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    id, number: `JQ${id}`, type: 'theft', priority: 2, source: 'call_110', status: 'new', title: `标题${id}`, address: '人民路1号',
    lat: 30.1, lon: 120.1, occurredAt, createdAt: occurredAt, updatedAt: occurredAt, createdByName: '张警官', version: 1, ...extra,
  }
}

function incident(extra: Partial<Incident> = {}): Incident {
  return {
    ...summary('1', '2026-05-01T07:30:00Z'), description: '', reporterName: '', reporterPhone: '', deviceId: null, siteId: null,
    closedAt: null, allowedTransitions: ['dispatched', 'cancelled'], ...extra,
  }
}

describe('status looks and transitions', () => {
  it('has a tag and both wordings for every status, and final statuses are not open', () => {
    for (const s of ['new', 'dispatched', 'on_scene', 'resolved', 'closed', 'cancelled'] as const) {
      expect(STATUS_TAG[s]).toBeTruthy()
      expect(zhCN.statuses[s]).toBeTruthy()
      expect(en.statuses[s]).toBeTruthy()
    }
    expect(isOpen('resolved')).toBe(true)
    expect(isOpen('closed')).toBe(false)
    expect(isOpen('cancelled')).toBe(false)
  })

  it('offers the server-sent transitions with cancel last, else the catalogue map', () => {
    expect(transitionsOf({ status: 'new', allowedTransitions: ['cancelled', 'dispatched'] }, null)).toEqual(['dispatched', 'cancelled'])
    expect(transitionsOf({ status: 'resolved' }, { transitions: { resolved: ['cancelled', 'closed', 'on_scene'] } })).toEqual(['closed', 'on_scene', 'cancelled'])
    expect(transitionsOf({ status: 'closed', allowedTransitions: [] }, { transitions: {} })).toEqual([])
  })

  it('names a type in the reader language and falls back to its code', () => {
    const types = [{ code: 'theft', zh: '盗窃', en: 'Theft' }]
    expect(typeName(types, 'theft', 'zh-CN')).toBe('盗窃')
    expect(typeName(types, 'theft', 'en')).toBe('Theft')
    expect(typeName(types, 'fraud', 'en')).toBe('fraud')
  })
})

describe('the incident form', () => {
  it('starts from a wall tile prefill as a video patrol at the tile moment', () => {
    const f = emptyIncidentForm(NOW, { deviceId: 'd1', lat: 30.5, lon: 120.25, occurredAt: '2026-05-01T07:59:00Z' })
    expect(f).toMatchObject({ source: 'video_patrol', deviceId: 'd1', lat: '30.5', lon: '120.25', occurredAt: Date.parse('2026-05-01T07:59:00Z') })
    expect(emptyIncidentForm(NOW)).toMatchObject({ source: 'call_110', occurredAt: NOW, deviceId: null, priority: 3 })
  })

  it('asks for type and title and refuses bad coordinates, a lone coordinate and a future time', () => {
    const f = emptyIncidentForm(NOW)
    expect(Object.keys(checkIncidentForm(f, NOW)).sort()).toEqual(['title', 'type'])
    const ok = { ...f, type: 'theft', title: '盗窃' }
    expect(checkIncidentForm(ok, NOW)).toEqual({})
    expect(checkIncidentForm({ ...ok, lat: '91', lon: '120' }, NOW).lat?.key).toBe('latRange')
    expect(checkIncidentForm({ ...ok, lat: '30', lon: '-181' }, NOW).lon?.key).toBe('lonRange')
    expect(checkIncidentForm({ ...ok, lat: 'abc', lon: '120' }, NOW).lat?.key).toBe('number')
    expect(checkIncidentForm({ ...ok, lat: '30', lon: '' }, NOW).lon?.key).toBe('bothCoords')
    expect(checkIncidentForm({ ...ok, occurredAt: NOW + 10 * 60_000 }, NOW).occurredAt?.key).toBe('future')
    expect(checkIncidentForm({ ...ok, occurredAt: NOW + 60_000 }, NOW).occurredAt).toBeUndefined()
    expect(checkIncidentForm({ ...ok, title: 'x'.repeat(10_001) }, NOW).title).toEqual({ key: 'tooLong', params: { max: 10_000 } })
    expect(checkIncidentForm({ ...ok, reporterPhone: '1'.repeat(41) }, NOW).reporterPhone?.key).toBe('tooLong')
    expect(checkIncidentForm({ ...ok, title: '   ' }, NOW).title?.key).toBe('required')
  })

  it('keeps 10 kB descriptions and markup as they are in the request', () => {
    const long = '<b>x</b>'.repeat(1250) // 10 kB
    const f = { ...emptyIncidentForm(NOW, { deviceId: 'd1' }), type: 'theft', title: ' <img src=x> ', description: long, lat: '30.25', lon: '120.5' }
    expect(checkIncidentForm(f, NOW)).toEqual({})
    expect(createInput(f)).toEqual({
      type: 'theft', priority: 3, source: 'video_patrol', title: '<img src=x>', description: long, lat: 30.25, lon: 120.5,
      occurredAt: new Date(NOW).toISOString(), deviceId: 'd1',
    })
  })

  it('maps server field names onto form fields', () => {
    expect(formFieldOf('body.title')).toBe('title')
    expect(formFieldOf('/lat')).toBe('lat')
    expect(formFieldOf('lon')).toBe('lon')
    expect(formFieldOf('version')).toBeNull()
    expect(formFieldOf(undefined)).toBeNull()
  })

  it('sends only what changed with the loaded version, and lists the conflicts after a 409', () => {
    const base = incident({ version: 4, title: '原标题', description: '描述' })
    const f = formFromIncident(base)
    expect(isEmptyPatch(patchOf(base, f))).toBe(true)
    f.title = '新标题'
    f.priority = 1
    const patch = patchOf(base, f)
    expect(patch).toEqual({ version: 4, title: '新标题', priority: 1 })
    const theirs = incident({ version: 5, title: '别人改的', priority: 1 })
    expect(conflicts(patch, theirs)).toEqual([{ field: 'title', mine: '新标题', theirs: '别人改的' }])
  })
})

describe('filters', () => {
  it('turns filters into the list query, leaving out what is empty', () => {
    expect(filtersToQuery(defaultFilters())).toEqual({ limit: 50, status: 'new,dispatched,on_scene,resolved' })
    const f: IncidentFilters = {
      statuses: [], type: 'theft', priority: 1, source: 'video_patrol', from: Date.parse('2026-05-01T00:00:00Z'), to: null,
      q: ' 人民路 ', area: { minLat: 30, minLon: 120, maxLat: 30.2, maxLon: 120.3 },
    }
    expect(filtersToQuery(f, 20, 'c1')).toEqual({
      limit: 20, type: 'theft', priority: 1, source: 'video_patrol', from: '2026-05-01T00:00:00.000Z', q: '人民路',
      minLat: 30, minLon: 120, maxLat: 30.2, maxLon: 120.3, cursor: 'c1',
    })
    expect(rangeReversed({ ...f, to: f.from! - 1 })).toBe(true)
    expect(boundsOf([{ lat: 30.2, lon: 120 }, { lat: 30, lon: 120.3 }, { lat: 30.1, lon: 120.1 }])).toEqual({ minLat: 30, minLon: 120, maxLat: 30.2, maxLon: 120.3 })
  })

  it('keeps the filters in the address bar and reads them back, ignoring what is malformed', () => {
    expect(filtersToRoute(defaultFilters())).toEqual({})
    const f: IncidentFilters = {
      statuses: ['closed'], type: 'theft', priority: 2, source: 'call_110', from: Date.parse('2026-05-01T00:00:00Z'), to: Date.parse('2026-05-02T00:00:00Z'),
      q: '人民路', area: { minLat: 30, minLon: 120, maxLat: 30.2, maxLon: 120.3 },
    }
    const q = filtersToRoute(f)
    expect(q).toMatchObject({ status: 'closed', priority: '2', area: '30,120,30.2,120.3' })
    expect(filtersFromRoute(q)).toEqual(f)
    expect(filtersFromRoute({ status: 'all' }).statuses).toEqual([])
    expect(filtersFromRoute({ status: 'bogus', priority: '9', source: 'x', from: 'yesterday', area: '91,0,92,1', type: 'DROP TABLE' })).toEqual(defaultFilters())
  })

  it('matches an incident against status, text and area', () => {
    const f = defaultFilters()
    const i = summary('9', '2026-05-01T07:00:00Z')
    expect(matchesFilters(i, f)).toBe(true)
    expect(matchesFilters({ ...i, status: 'closed' }, f)).toBe(false)
    expect(matchesFilters(i, { ...f, q: 'jq9' })).toBe(true)
    expect(matchesFilters(i, { ...f, q: '解放路' })).toBe(false)
    expect(matchesFilters(i, { ...f, area: { minLat: 30, minLon: 120, maxLat: 30.2, maxLon: 120.2 } })).toBe(true)
    expect(matchesFilters({ ...i, lat: null, lon: null }, { ...f, area: { minLat: 30, minLon: 120, maxLat: 30.2, maxLon: 120.2 } })).toBe(false)
  })
})

describe('live events on the list', () => {
  const f = defaultFilters()
  const list = [summary('3', '2026-05-01T07:30:00Z'), summary('2', '2026-05-01T07:00:00Z'), summary('1', '2026-05-01T06:00:00Z')]

  it('places a new incident by its time and counts it', () => {
    const out = applyLive(list, summary('4', '2026-05-01T07:10:00Z'), f, false)
    expect(out.items.map((x) => x.id)).toEqual(['3', '4', '2', '1'])
    expect(out.delta).toBe(1)
  })

  it('leaves an older new row to the next page when more pages remain', () => {
    const out = applyLive(list, summary('0', '2026-05-01T05:00:00Z'), f, true)
    expect(out.items).toBe(list)
    expect(out.delta).toBe(1)
  })

  it('replaces a changed row, drops it when it stops matching, and ignores an older version', () => {
    const changed = applyLive(list, { ...list[1]!, title: '改了', version: 2 }, f, false)
    expect(changed.items[1]!.title).toBe('改了')
    expect(changed.delta).toBe(0)
    const closed = applyLive(list, { ...list[1]!, status: 'closed', version: 2 }, f, false)
    expect(closed.items.map((x) => x.id)).toEqual(['3', '1'])
    expect(closed.delta).toBe(-1)
    const newer = [{ ...list[0]!, version: 5 }]
    expect(applyLive(newer, { ...list[0]!, version: 4, title: 'old' }, f, false).items[0]!.version).toBe(5)
  })

  it('ignores a new incident the filters exclude, and never lists a row twice after more', () => {
    expect(applyLive(list, summary('5', '2026-05-01T07:50:00Z', { status: 'cancelled' }), f, false)).toEqual({ items: list, delta: 0 })
    expect(appendPage(list, [list[2]!, summary('0', '2026-05-01T05:00:00Z')]).map((x) => x.id)).toEqual(['3', '2', '1', '0'])
  })
})

describe('timeline text', () => {
  it('words every timeline kind the server writes, in both languages (dotted kinds nested, as vue-i18n reads them)', () => {
    const kinds = ['created', 'updated', 'status', 'note', 'bookmark.added', 'bookmark.removed', 'holds.released', 'snapshot.added', 'export.started', 'alarm.joined', 'cameras.searched', 'camera.viewed']
    const at = (messages: unknown, path: string) => path.split('.').reduce<unknown>((m, k) => (m as Record<string, unknown> | undefined)?.[k], messages)
    for (const kind of kinds) {
      expect(typeof at(zhCN.timelineKinds, kind), kind).toBe('string')
      expect(typeof at(en.timelineKinds, kind), kind).toBe('string')
    }
  })

  it('reads a note and lists other details as text, without ids', () => {
    expect(entryText({ text: '<b>到场</b>' })).toBe('<b>到场</b>')
    expect(entryText({ note: '  ' })).toBeNull()
    expect(detailPairs({ deviceId: 'x', deviceName: '南门', radius: 500, ids: [1, 2], extra: { a: 1 }, empty: '' }, [])).toEqual([
      ['deviceName', '南门'], ['radius', '500'], ['ids', '1, 2'], ['extra', '{"a":1}'],
    ])
  })

  it('shows the chosen details of a known kind and all but id lists of an unknown one', () => {
    const d = { lat: 30, lon: 120, radius: 500, count: 2, deviceIds: ['a', 'b'] }
    expect(shownDetails('cameras.searched', d)).toEqual([['radius', '500'], ['count', '2']])
    expect(shownDetails('created', { type: 'theft', title: 'x' })).toEqual([])
    expect(shownDetails('future.kind', d)).toEqual([['lat', '30'], ['lon', '120'], ['radius', '500'], ['count', '2']])
  })
})
