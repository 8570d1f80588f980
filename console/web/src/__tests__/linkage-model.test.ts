import { describe, expect, it } from 'vitest'
import type { CameraRef, Cue, Proposal, RingSet, Unit } from '../api/linkage.ts'
import {
  ageUnit, applyPositions, checkGrid, checkRadii, cueCameraChoices, cueStepViews, distanceM, FollowThrottle, followTiles, forceSkips, forcibleSteps,
  formatElapsed, gridText, isStale, mergeCue, mergeUnit, orderProposals, parseGrid, positionAge, responseLevel, ringRows, wallRoute,
} from '../components/linkage/linkage-model.ts'

const T0 = Date.parse('2025-03-01T08:00:00Z')
const iso = (s: number) => new Date(T0 + s * 1000).toISOString()

function cue(over: Partial<Cue> = {}): Cue {
  return {
    id: 'c1', incidentId: 'i1', incidentNumber: 'JQ1', incidentTitle: 't', incidentAddress: '', incidentLat: 30, incidentLon: 120,
    unitId: 'u1', unitCallSign: '巡1', status: 'sent', message: '', cameraIds: [], snapshotId: null, ring: null, distanceM: 300,
    createdByName: 'm', sentAt: iso(0), ackDeadline: iso(60), receivedAt: null, enRouteAt: null, onSceneAt: null, doneAt: null,
    cancelledAt: null, escalatedAt: null, report: '', reassignedTo: null, version: 1, events: [], photos: [], allowedSteps: ['received', 'en_route', 'on_scene', 'done', 'cancelled', 'reassigned'],
    ...over,
  }
}

function unit(over: Partial<Unit> = {}): Unit {
  return {
    id: 'u1', callSign: '巡1', kind: 'vehicle', state: 'available', stationId: null, stationName: null, grid: null, gridName: '', terminalId: null,
    position: { lat: 30, lon: 120, heading: 90, speed: 5, at: iso(0), source: 'phone' }, stale: false, onDutySince: iso(-600),
    members: [], activeCueId: null, disabled: false, version: 1, updatedAt: iso(0), ...over,
  }
}

const cam = (id: string, d: number, over: Partial<CameraRef> = {}): CameraRef => ({ id, name: id, cameraType: 'fixed', lat: 30, lon: 120, status: 'online', distanceM: d, ...over })

describe('response colours', () => {
  it.each([[0, 'green'], [60, 'green'], [61, 'amber'], [180, 'amber'], [181, 'orange'], [300, 'orange'], [301, 'red'], [NaN, 'red']] as const)('%d s is %s', (s, level) => {
    expect(responseLevel(s)).toBe(level)
  })

  it('formats elapsed times', () => {
    expect(formatElapsed(45)).toBe('45 s')
    expect(formatElapsed(75)).toBe('1:15')
    expect(formatElapsed(3723)).toBe('1:02:03')
    expect(formatElapsed(-1)).toBe('—')
  })
})

describe('cue steps', () => {
  it('times each reached step from sent and counts the awaited one up to now', () => {
    const c = cue({ status: 'received', receivedAt: iso(40) })
    const steps = cueStepViews(c, T0 + 200_000)
    expect(steps.map((s) => s.state)).toEqual(['done', 'done', 'waiting', 'todo', 'todo'])
    expect(steps[1]).toMatchObject({ step: 'received', elapsed: 40, level: 'green' })
    expect(steps[2]).toMatchObject({ step: 'en_route', elapsed: 200, level: 'orange' })
    expect(steps[0]!.level).toBeNull()
  })

  it('waits for nothing once cancelled, and marks forced steps', () => {
    const c = cue({
      status: 'cancelled', receivedAt: iso(10), onSceneAt: iso(400), cancelledAt: iso(500),
      events: [{ at: iso(400), actorName: 'm', from: 'received', to: 'on_scene', override: true, reason: 'radio' }],
    })
    const steps = cueStepViews(c, T0 + 1e6)
    expect(steps.map((s) => s.state)).toEqual(['done', 'done', 'todo', 'done', 'todo'])
    expect(steps[3]).toMatchObject({ override: true, level: 'red', elapsed: 400 })
  })

  it('offers the forcible steps and knows which skip', () => {
    const c = cue({ status: 'received' })
    c.allowedSteps = ['en_route', 'on_scene', 'done', 'cancelled', 'reassigned']
    expect(forcibleSteps(c)).toEqual(['en_route', 'on_scene', 'done'])
    expect(forceSkips(c, 'en_route')).toBe(false)
    expect(forceSkips(c, 'on_scene')).toBe(true)
  })
})

describe('merging realtime updates', () => {
  it('keeps the newest version of a cue, active ones first', () => {
    const a = cue({ id: 'a', status: 'done', sentAt: iso(100), version: 3 })
    const b = cue({ id: 'b', status: 'sent', sentAt: iso(0) })
    let list = mergeCue([a], b)
    expect(list.map((c) => c.id)).toEqual(['b', 'a'])
    list = mergeCue(list, { ...a, version: 2, status: 'sent' })
    expect(list.find((c) => c.id === 'a')!.status).toBe('done')
    list = mergeCue(list, { ...b, version: 2, status: 'received' })
    expect(list.find((c) => c.id === 'b')!.status).toBe('received')
  })

  it('applies the newest fix of each unit and freshens it', () => {
    const units = [unit({ stale: true }), unit({ id: 'u2', position: null })]
    const next = applyPositions(units, [
      { unitId: 'u1', lat: 30.001, lon: 120, heading: 0, speed: 3, at: iso(10) },
      { unitId: 'u1', lat: 30.002, lon: 120, heading: 0, speed: 3, at: iso(5) },
      { unitId: 'u9', lat: 1, lon: 1, heading: null, speed: null, at: iso(10) },
    ])
    expect(next[0]!.position!.lat).toBe(30.001)
    expect(next[0]!.stale).toBe(false)
    expect(next[1]!.position).toBeNull()
    // an older fix does not move it back
    expect(applyPositions(next, [{ unitId: 'u1', lat: 31, lon: 121, heading: 0, speed: 0, at: iso(1) }])[0]!.position!.lat).toBe(30.001)
  })

  it('keeps a newer streamed position when unit.updated carries an older one', () => {
    const streamed = applyPositions([unit()], [{ unitId: 'u1', lat: 30.01, lon: 120, heading: 0, speed: 1, at: iso(30) }])
    const merged = mergeUnit(streamed, unit({ version: 2, state: 'busy' }))
    expect(merged[0]!.state).toBe('busy')
    expect(merged[0]!.position!.lat).toBe(30.01)
    expect(mergeUnit(merged, unit({ version: 1, state: 'off_duty' }))[0]!.state).toBe('busy')
    expect(mergeUnit(merged, unit({ id: 'u0', callSign: '0' })).map((u) => u.id)).toEqual(['u0', 'u1'])
  })

  it('greys a unit without a fresh fix', () => {
    expect(isStale(unit({ position: null }), T0)).toBe(true)
    expect(isStale(unit(), T0 + 60_000)).toBe(false)
    expect(isStale(unit(), T0 + 121_000)).toBe(true)
    expect(isStale(unit({ stale: true }), T0)).toBe(true)
    expect(positionAge(unit(), T0 + 12_400)).toBe(12)
    expect(positionAge(unit({ position: null }), T0)).toBeNull()
  })

  it('says how long ago in the unit a reader wants', () => {
    expect(ageUnit(12)).toEqual({ unit: 'seconds', n: 12 })
    expect(ageUnit(125)).toEqual({ unit: 'minutes', n: 2 })
    expect(ageUnit(7300)).toEqual({ unit: 'hours', n: 2 })
  })
})

describe('rings', () => {
  const m = (kind: 'camera' | 'checkpoint' | 'unit', id: string, d: number, state = 'online') => ({ kind, id, name: id, lat: 30, lon: 120, distanceM: d, state })
  const set: RingSet = {
    incidentId: 'i1', lat: 30, lon: 120, radiiM: [1000, 3000, 5000], active: true, setByName: 'm', setAt: iso(0),
    rings: [
      { ring: 2, code: 'sealing', radiusM: 5000, cameras: [], checkpoints: [m('checkpoint', 'k1', 4000)], units: [m('unit', 'u3', 4500, 'off_duty')] },
      { ring: 0, code: 'control', radiusM: 1000, cameras: [m('camera', 'c2', 800), m('camera', 'c1', 100)], checkpoints: [], units: [m('unit', 'u1', 300, 'available'), m('unit', 'u2', 500, 'busy')] },
      { ring: 1, code: 'prevention', radiusM: 3000, cameras: [m('camera', 'c3', 2000)], checkpoints: [], units: [] },
    ],
  }

  it('lists the rings innermost first with what each holds', () => {
    const rows = ringRows(set)
    expect(rows.map((r) => r.code)).toEqual(['control', 'prevention', 'sealing'])
    expect(rows[0]).toMatchObject({ available: 1, wallCameras: ['c1', 'c2'] })
    expect(rows[2]).toMatchObject({ available: 0, wallCameras: [] })
    expect(ringRows(null)).toEqual([])
  })

  it('opens the wall with a ring\'s cameras', () => {
    expect(wallRoute(['a', 'b', 'a'])).toEqual({ path: '/wall', query: { cameras: 'a,b' } })
    expect(wallRoute([])).toBeNull()
    expect(wallRoute(Array.from({ length: 30 }, (_, i) => `c${i}`))!.query.cameras.split(',')).toHaveLength(25)
  })

  it('checks typed radii', () => {
    expect(checkRadii([1000, 3000, 5000])).toBeNull()
    expect(checkRadii([1000, 3000])).toBe('count')
    expect(checkRadii([50, 3000, 5000])).toBe('range')
    expect(checkRadii([3000, 1000, 5000])).toBe('order')
  })
})

describe('proposals and cameras', () => {
  const p = (id: string, d: number, over: Partial<Unit> = {}, along: CameraRef[] = []): Proposal => ({ unit: unit({ id, ...over }), distanceM: d, etaSeconds: null, alongTheWay: along })

  it('puts units that can be cued first, nearest first', () => {
    const list = orderProposals([p('busy', 10, { state: 'busy' }), p('far', 900), p('stale', 100, { stale: true }), p('near', 200)])
    expect(list.map((x) => x.unit.id)).toEqual(['near', 'far', 'stale', 'busy'])
  })

  it('offers the cameras along the way, then the nearby ones, once each', () => {
    const choices = cueCameraChoices(p('u', 1, {}, [cam('a', 50), cam('b', 20)]), [cam('c', 300), cam('a', 50), cam('d', 10)])
    expect(choices.map((c) => c.id)).toEqual(['a', 'b', 'd', 'c'])
    expect(cueCameraChoices(null, [cam('x', 2), cam('y', 1)]).map((c) => c.id)).toEqual(['y', 'x'])
  })
})

describe('grid polygons', () => {
  it('reads JSON, GeoJSON and lines', () => {
    expect(parseGrid('[[120.1,30.1],[120.2,30.1],[120.2,30.2]]')).toEqual({ points: [[120.1, 30.1], [120.2, 30.1], [120.2, 30.2]] })
    expect(parseGrid('{"type":"Polygon","coordinates":[[[1,1],[2,1],[2,2],[1,1]]]}')).toEqual({ points: [[1, 1], [2, 1], [2, 2]] })
    expect(parseGrid('120.1,30.1\n120.2 30.1\n120.2，30.2')).toEqual({ points: [[120.1, 30.1], [120.2, 30.1], [120.2, 30.2]] })
  })

  it('names what is wrong', () => {
    expect(parseGrid('')).toEqual({ problem: 'format' })
    expect(parseGrid('[[1,2],[3')).toEqual({ problem: 'format' })
    expect(parseGrid('[[1,1],[2,2]]')).toEqual({ problem: 'count' })
    expect(parseGrid('[[1,1],[2,2],[200,3]]')).toEqual({ problem: 'range' })
    expect(checkGrid([[1, 1], [1, 1], [2, 2]])).toEqual({ problem: 'distinct' })
  })

  it('writes a grid back as JSON', () => {
    expect(gridText([[120.1234567, 30.7654321], [1, 2], [3, 4]])).toBe('[[120.123457,30.765432],[1,2],[3,4]]')
    expect(gridText(null)).toBe('')
  })
})

describe('following a unit on the wall', () => {
  const at = (north: number) => ({ lat: 30 + north / 111_195, lon: 120 })

  it('measures metres', () => {
    expect(distanceM(at(0), at(100))).toBeCloseTo(100, 0)
  })

  it('refreshes at once for the first position, then only after 50 m, at most every 3 s', () => {
    const th = new FollowThrottle()
    expect(th.offer(at(0), 0)).toBe(0)
    th.refreshed(at(0), 0)
    expect(th.offer(at(30), 1000)).toBeNull()
    expect(th.offer(at(60), 1000)).toBe(2000)
    expect(th.offer(at(60), 3000)).toBe(0)
    th.refreshed(at(60), 3000)
    expect(th.offer(at(100), 10_000)).toBeNull()
    expect(th.offer(at(200), 10_000)).toBe(0)
    th.reset()
    expect(th.offer(at(200), 10_001)).toBe(0)
  })

  it('fills the tiles nearest first', () => {
    expect(followTiles([cam('b', 20), cam('a', 10), cam('c', 30)], 4)).toEqual(['a', 'b', 'c', null])
    expect(followTiles([cam('b', 20), cam('a', 10)], 1)).toEqual(['a'])
  })
})
