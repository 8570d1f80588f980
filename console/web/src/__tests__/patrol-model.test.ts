import { describe, expect, it } from 'vitest'
import type { Cue, Push } from '../api/patrol.ts'
import {
  ackSecondsLeft, applyCueChange, applyPushEvent, cueChange, cueProgress, fitWithin, haversineM, incidentPoint,
  nextStep, orderPushes, photoNeedsShrink, routeSummary, stepPosition,
} from '../components/patrol/patrol-model.ts'

const UNIT = '11111111-1111-4111-8111-111111111111'

function cue(over: Partial<Cue> = {}): Cue {
  return {
    id: 'c1', incidentId: 'i1', incidentNumber: 'JQ20261202001', incidentTitle: '打架斗殴', incidentAddress: '解放路 1 号',
    incidentLat: 30.2741, incidentLon: 120.1551, unitId: UNIT, unitCallSign: '巡逻一组', status: 'sent', message: '速到现场',
    cameraIds: [], snapshotId: null, ring: null, distanceM: 820, createdByName: '张监控', sentAt: '2026-12-02T10:00:00.000Z',
    ackDeadline: '2026-12-02T10:01:00.000Z', receivedAt: null, enRouteAt: null, onSceneAt: null, doneAt: null, cancelledAt: null,
    escalatedAt: null, report: '', reassignedTo: null, version: 1, events: [], photos: [], allowedSteps: ['received'],
    ...over,
  }
}

const push = (deviceId: string, at: string, cueId: string | null = null): Push => ({
  id: `p-${deviceId}`, unitId: UNIT, deviceId, deviceName: deviceId, cueId, pushedByName: '张监控', pushedAt: at,
})

describe('which cue the phone shows', () => {
  it('a cue for my unit it did not show is a new dispatch', () => {
    const change = cueChange(null, cue(), UNIT)
    expect(change.kind).toBe('new')
    expect(applyCueChange(null, change)?.id).toBe('c1')
  })

  it('ignores another unit\'s cue and a replayed older version', () => {
    const shown = cue({ status: 'received', version: 2 })
    expect(cueChange(null, cue({ unitId: 'other' }), UNIT).kind).toBe('same')
    expect(cueChange(shown, cue({ version: 1 }), UNIT).kind).toBe('same')
    expect(cueChange(shown, cue({ status: 'received', version: 2 }), UNIT).kind).toBe('same')
    expect(cueChange(shown, cue({ status: 'en_route', version: 3 }), UNIT).kind).toBe('updated')
  })

  it('says when the control room takes the shown cue back', () => {
    const shown = cue({ status: 'received', version: 2 })
    expect(cueChange(shown, cue({ status: 'cancelled', version: 3 }), UNIT)).toMatchObject({ kind: 'withdrawn' })
    expect(cueChange(shown, cue({ status: 'reassigned', version: 3 }), UNIT)).toMatchObject({ kind: 'withdrawn' })
  })

  it('a replay of an old finished cue does not replace the one shown', () => {
    const shown = cue({ id: 'c2', status: 'received' })
    expect(cueChange(shown, cue({ id: 'c1', status: 'done', version: 9 }), UNIT).kind).toBe('same')
    expect(cueChange(null, cue({ id: 'c1', status: 'cancelled' }), UNIT).kind).toBe('same')
  })
})

describe('the next step', () => {
  it.each([
    ['sent', 'received'], ['received', 'en_route'], ['en_route', 'on_scene'], ['on_scene', 'done'],
    ['done', null], ['cancelled', null], ['reassigned', null],
  ] as const)('%s → %s', (status, step) => {
    expect(nextStep(cue({ status }))).toBe(step)
  })

  it('is the next in order even when the event carries a monitor\'s steps', () => {
    expect(nextStep(cue({ status: 'received', allowedSteps: ['en_route', 'on_scene', 'done', 'cancelled', 'reassigned'] }))).toBe('en_route')
    expect(nextStep(null)).toBeNull()
  })

  it('lists each step with its time', () => {
    const p = cueProgress(cue({ status: 'received', receivedAt: '2026-12-02T10:00:20.000Z' }))
    expect(p.map((s) => s.status)).toEqual(['sent', 'received', 'en_route', 'on_scene', 'done'])
    expect(p.filter((s) => s.at).length).toBe(2)
  })

  it('counts down the acknowledgement while the cue is sent', () => {
    const now = Date.parse('2026-12-02T10:00:30.200Z')
    expect(ackSecondsLeft(cue(), now)).toBe(30)
    expect(ackSecondsLeft(cue(), Date.parse('2026-12-02T10:02:00.000Z'))).toBe(0)
    expect(ackSecondsLeft(cue({ status: 'received' }), now)).toBeNull()
  })
})

describe('pushed cameras', () => {
  it('adds a pushed camera first and removes an unpushed one', () => {
    let list: Push[] = [push('a', '2026-12-02T10:00:00Z')]
    list = applyPushEvent(list, 'camera.pushed', push('b', '2026-12-02T10:01:00Z'))
    expect(list.map((p) => p.deviceId)).toEqual(['b', 'a'])
    list = applyPushEvent(list, 'camera.pushed', push('a', '2026-12-02T10:02:00Z'))
    expect(list.map((p) => p.deviceId)).toEqual(['a', 'b'])
    list = applyPushEvent(list, 'camera.unpushed', push('b', '2026-12-02T10:01:00Z'))
    expect(list.map((p) => p.deviceId)).toEqual(['a'])
    expect(applyPushEvent(list, 'camera.pushed', undefined)).toBe(list)
  })

  it('offers the cue\'s cameras first, then the newest', () => {
    const list = [push('a', '2026-12-02T10:00:00Z'), push('b', '2026-12-02T10:03:00Z'), push('c', '2026-12-02T09:00:00Z', 'c1')]
    expect(orderPushes(list, 'c1').map((p) => p.deviceId)).toEqual(['c', 'b', 'a'])
    expect(orderPushes(list, null).map((p) => p.deviceId)).toEqual(['b', 'a', 'c'])
  })
})

describe('the route', () => {
  it('measures a straight line in metres', () => {
    // 0.001° of latitude ≈ 111 m
    expect(haversineM({ lat: 30, lon: 120 }, { lat: 30.001, lon: 120 })).toBeCloseTo(111.2, 0)
    expect(haversineM({ lat: 30, lon: 120 }, { lat: 30, lon: 120 })).toBe(0)
  })

  it('measures from the phone when it has a fix, else gives the distance at dispatch', () => {
    const c = cue()
    const live = routeSummary(c, { lat: 30.2741 - 0.009, lon: 120.1551 })
    expect(live.live).toBe(true)
    expect(live.distanceM!).toBeGreaterThan(990)
    expect(live.distanceM!).toBeLessThan(1010)
    expect(routeSummary(c, null)).toEqual({ distanceM: 820, etaSeconds: null, live: false })
    expect(routeSummary(cue({ etaSeconds: 240 }), null).etaSeconds).toBe(240)
    expect(routeSummary(cue({ incidentLat: null, incidentLon: null, distanceM: null }), { lat: 1, lon: 1 })).toEqual({ distanceM: null, etaSeconds: null, live: false })
  })

  it('has no incident point without a location', () => {
    expect(incidentPoint(cue({ incidentLat: null }))).toBeNull()
    expect(incidentPoint(cue())).toEqual({ lat: 30.2741, lon: 120.1551 })
  })

  it('sends the phone\'s position with a step only when it is recent', () => {
    const now = Date.parse('2026-12-02T10:05:00.000Z')
    expect(stepPosition({ lat: 30, lon: 120, at: '2026-12-02T10:04:30.000Z' }, now)).toEqual({ lat: 30, lon: 120 })
    expect(stepPosition({ lat: 30, lon: 120, at: '2026-12-02T10:01:00.000Z' }, now)).toEqual({})
    expect(stepPosition(null, now)).toEqual({})
  })
})

describe('report photos', () => {
  it('re-encodes a photo only when the server would refuse it', () => {
    expect(photoNeedsShrink({ size: 3_000_000, type: 'image/jpeg' })).toBe(false)
    expect(photoNeedsShrink({ size: 9 * 1024 * 1024, type: 'image/jpeg' })).toBe(true)
    expect(photoNeedsShrink({ size: 1_000_000, type: 'image/heic' })).toBe(true)
  })

  it('fits the long side within the limit, keeping the shape', () => {
    expect(fitWithin(4032, 3024, 2560)).toEqual({ width: 2560, height: 1920 })
    expect(fitWithin(1000, 800, 2560)).toEqual({ width: 1000, height: 800 })
  })
})
