import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { nextTick, reactive } from 'vue'
import type { Cue, PatrolMe, Unit } from '../api/patrol.ts'
import type { RealtimeEvent } from '../stores/realtime-model.ts'

// The store pulls in the session store and with it i18n, which sets <html lang> on import.
vi.mock('../i18n/index.ts', () => ({ adoptAccountLocale: () => {} }))

// The realtime channel as a fake: which topics are wanted, and a way to deliver events.
const fakeRealtime = reactive({
  state: 'idle' as 'idle' | 'connecting' | 'open' | 'reconnecting',
  handlers: new Map<string, (e: RealtimeEvent) => void>(),
  start: vi.fn(),
  subscribe(topic: string, handler: (e: RealtimeEvent) => void) {
    fakeRealtime.handlers.set(topic, handler)
    return () => { fakeRealtime.handlers.delete(topic) }
  },
})
vi.mock('../stores/realtime.ts', () => ({ useRealtimeStore: () => fakeRealtime }))

const api = vi.hoisted(() => ({
  getPatrolMe: vi.fn(),
  goOnDuty: vi.fn(),
  goOffDuty: vi.fn(),
  sendPositions: vi.fn(),
  stepCue: vi.fn(),
  uploadCuePhoto: vi.fn(),
}))
vi.mock('../api/patrol.ts', async (orig) => ({ ...(await orig<typeof import('../api/patrol.ts')>()), ...api }))

import { usePatrolStore } from '../stores/patrol.ts'
import { useSessionStore } from '../stores/session.ts'

const UNIT = '11111111-1111-4111-8111-111111111111'

function unit(over: Partial<Unit> = {}): Unit {
  return {
    id: UNIT, callSign: '巡逻一组', kind: 'vehicle', state: 'available', stationId: null, stationName: null, grid: null, gridName: '',
    terminalId: null, position: null, stale: true, onDutySince: null, members: [], activeCueId: null, disabled: false, version: 1,
    updatedAt: '2026-12-02T10:00:00.000Z', ...over,
  }
}

function cue(over: Partial<Cue> = {}): Cue {
  return {
    id: 'c1', incidentId: 'i1', incidentNumber: 'JQ1', incidentTitle: '打架斗殴', incidentAddress: '', incidentLat: 30.27, incidentLon: 120.15,
    unitId: UNIT, unitCallSign: '巡逻一组', status: 'sent', message: '', cameraIds: [], snapshotId: null, ring: null, distanceM: null,
    createdByName: '张监控', sentAt: '2026-12-02T10:00:00.000Z', ackDeadline: '2026-12-02T10:01:00.000Z', receivedAt: null, enRouteAt: null,
    onSceneAt: null, doneAt: null, cancelledAt: null, escalatedAt: null, report: '', reassignedTo: null, version: 1, events: [], photos: [],
    allowedSteps: ['received'], ...over,
  }
}

const onDuty = (c: Cue | null = null): PatrolMe => ({ units: [unit()], duty: { unit: unit(), since: '2026-12-02T09:00:00.000Z' }, cue: c, pushes: [] })
const offDuty = (): PatrolMe => ({ units: [unit({ state: 'off_duty' })], duty: null, cue: null, pushes: [] })
const event = (kind: string, payload: Record<string, unknown>, id = 1): RealtimeEvent => ({ id, at: '2026-12-02T10:00:00.000Z', topic: `unit:${UNIT}`, kind, payload })
const settle = async () => { for (let i = 0; i < 5; i++) { await nextTick(); await new Promise((r) => setTimeout(r, 0)) } }

describe('usePatrolStore', () => {
  let watchers: number
  beforeEach(() => {
    setActivePinia(createPinia())
    fakeRealtime.state = 'idle'
    fakeRealtime.handlers.clear()
    for (const fn of Object.values(api)) fn.mockReset()
    watchers = 0
    const listeners = new Map<string, () => void>()
    vi.stubGlobal('window', {
      addEventListener: (name: string, fn: () => void) => { listeners.set(name, fn) },
      removeEventListener: (name: string) => { listeners.delete(name) },
      dispatch: (name: string) => listeners.get(name)?.(),
    })
    vi.stubGlobal('navigator', {
      onLine: true,
      geolocation: { watchPosition: () => ++watchers, clearWatch: () => { watchers-- } },
    })
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {}, removeItem: () => {} })
    const session = useSessionStore()
    session.user = { id: 'u1', username: 'p', displayName: 'P', roles: ['patrol'], locale: null }
  })
  afterEach(() => {
    usePatrolStore().stop()
    vi.unstubAllGlobals()
  })

  it('listens to the unit\'s topic once on duty and shows a cue the channel brings', async () => {
    api.getPatrolMe.mockResolvedValue(onDuty())
    const patrol = usePatrolStore()
    patrol.start()
    await settle()
    expect(fakeRealtime.start).toHaveBeenCalled()
    expect([...fakeRealtime.handlers.keys()]).toEqual([`unit:${UNIT}`])
    expect(watchers).toBe(1) // GPS while on duty
    fakeRealtime.handlers.get(`unit:${UNIT}`)!(event('cue.sent', { cue: cue() }))
    expect(patrol.cue?.id).toBe('c1')
    expect(patrol.lastChange?.kind).toBe('new')
    fakeRealtime.handlers.get(`unit:${UNIT}`)!(event('cue.updated', { cue: cue({ status: 'cancelled', version: 2 }) }, 2))
    expect(patrol.cue?.status).toBe('cancelled')
    expect(patrol.lastChange?.kind).toBe('withdrawn')
  })

  it('reloads GET /api/patrol/me on a resync and on every reconnection', async () => {
    api.getPatrolMe.mockResolvedValue(onDuty())
    const patrol = usePatrolStore()
    patrol.start()
    await settle()
    expect(api.getPatrolMe).toHaveBeenCalledTimes(1)
    fakeRealtime.state = 'open'
    await settle()
    expect(api.getPatrolMe).toHaveBeenCalledTimes(2)
    fakeRealtime.state = 'reconnecting'
    await settle()
    // the cue came while the phone was away
    api.getPatrolMe.mockResolvedValue(onDuty(cue()))
    fakeRealtime.state = 'open'
    await settle()
    expect(api.getPatrolMe).toHaveBeenCalledTimes(3)
    expect(patrol.cue?.id).toBe('c1')
    expect(patrol.lastChange?.kind).toBe('new')
    fakeRealtime.handlers.get(`unit:${UNIT}`)!({ ...event('resync', {}), id: 0 })
    await settle()
    expect(api.getPatrolMe).toHaveBeenCalledTimes(4)
  })

  it('goes on duty, then off: subscribes, watches GPS, and stops both', async () => {
    api.getPatrolMe.mockResolvedValueOnce(offDuty())
    const patrol = usePatrolStore()
    patrol.start()
    await settle()
    expect(fakeRealtime.handlers.size).toBe(0)
    expect(watchers).toBe(0)
    api.goOnDuty.mockResolvedValue({})
    api.getPatrolMe.mockResolvedValueOnce(onDuty())
    await patrol.startDuty(UNIT)
    await settle()
    expect(api.goOnDuty).toHaveBeenCalledWith(UNIT)
    expect(fakeRealtime.handlers.has(`unit:${UNIT}`)).toBe(true)
    expect(watchers).toBe(1)
    api.goOffDuty.mockResolvedValue(undefined)
    api.getPatrolMe.mockResolvedValueOnce(offDuty())
    await patrol.endDuty()
    await settle()
    expect(fakeRealtime.handlers.size).toBe(0)
    expect(watchers).toBe(0)
  })

  it('takes a step with the cue\'s version and shows the answer', async () => {
    api.getPatrolMe.mockResolvedValue(onDuty(cue()))
    const patrol = usePatrolStore()
    patrol.start()
    await settle()
    api.stepCue.mockResolvedValue(cue({ status: 'received', version: 2, receivedAt: '2026-12-02T10:00:10.000Z' }))
    await patrol.step('received')
    expect(api.stepCue).toHaveBeenCalledWith('c1', expect.objectContaining({ status: 'received', version: 1 }))
    expect(patrol.cue?.status).toBe('received')
  })
})
