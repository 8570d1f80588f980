import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api/http.ts'
import type { Fix, FixesResult } from '../api/patrol.ts'
import { fixFromPosition, GpsQueue, keepFix, watchGps, type GpsQueueOptions } from '../components/patrol/gps-queue.ts'

/** A clock and timers the test moves by hand. */
function fakeTime(start = Date.parse('2026-12-02T10:00:00.000Z')) {
  let now = start
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = ++seq
      timers.set(id, { at: now + ms, fn })
      return id
    },
    clearTimer: (h: unknown) => { timers.delete(h as number) },
    pending: () => timers.size,
    /** Move the clock, firing due timers in order. */
    async advance(ms: number) {
      const end = now + ms
      for (;;) {
        await flushPromises()
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
        await flushPromises()
      }
      now = end
      await flushPromises()
    },
  }
}

/** Let every pending promise settle (the queue's timers are the fake ones, so a real macrotask is safe here). */
async function flushPromises() {
  await new Promise((resolve) => setTimeout(resolve, 0))
}

function memoryStorage() {
  const data = new Map<string, string>()
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => { data.set(k, v) },
    removeItem: (k: string) => { data.delete(k) },
  }
}

const fixAt = (time: ReturnType<typeof fakeTime>, i = 0): Fix => ({ at: new Date(time.now()).toISOString(), lat: 30.27 + i * 1e-5, lon: 120.15, heading: null, speed: null, accuracy: 8 })
const ok = (n: number): FixesResult => ({ accepted: n, duplicates: 0, rejected: [] })

function setup(overrides: Partial<GpsQueueOptions> = {}) {
  const time = fakeTime()
  const storage = memoryStorage()
  const sent: Fix[][] = []
  const send = vi.fn(async (fixes: Fix[]) => {
    sent.push(fixes)
    return ok(fixes.length)
  })
  let online = true
  const opts: GpsQueueOptions = {
    send, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer, isOnline: () => online, ...overrides,
  }
  const queue = new GpsQueue(opts)
  return { time, storage, sent, send, queue, opts, setOnline: (v: boolean) => { online = v } }
}

describe('GpsQueue', () => {
  it('sends a batch every 5 s, not a request per fix', async () => {
    const { time, queue, sent } = setup()
    queue.add(fixAt(time, 0))
    await time.advance(2_000)
    queue.add(fixAt(time, 1))
    expect(sent).toHaveLength(0)
    await time.advance(3_000)
    expect(sent).toHaveLength(1)
    expect(sent[0]).toHaveLength(2)
    expect(queue.status()).toMatchObject({ state: 'idle', queued: 0, lastError: null })
    expect(queue.status().lastSentAt).toBe(time.now())
  })

  it('sends at once when 10 are queued', async () => {
    const { time, queue, sent } = setup()
    for (let i = 0; i < 10; i++) queue.add(fixAt(time, i))
    await flushPromises()
    expect(sent).toHaveLength(1)
    expect(sent[0]).toHaveLength(10)
  })

  it('keeps the queue in storage while offline and sends it, oldest first, on online', async () => {
    const { time, queue, sent, storage, setOnline } = setup()
    setOnline(false)
    for (let i = 0; i < 25; i++) {
      queue.add(fixAt(time, i))
      await time.advance(1_000)
    }
    expect(sent).toHaveLength(0)
    expect(queue.status()).toMatchObject({ state: 'offline', queued: 25 })
    expect(JSON.parse(storage.getItem('skynet.patrol.gpsQueue')!)).toHaveLength(25)
    setOnline(true)
    queue.online()
    await flushPromises()
    expect(sent).toHaveLength(1)
    expect(sent[0]!.map((f) => f.lat)).toEqual(Array.from({ length: 25 }, (_, i) => 30.27 + i * 1e-5))
    expect(storage.getItem('skynet.patrol.gpsQueue')).toBeNull()
  })

  it('sends what an earlier page left in storage (a reload while offline)', async () => {
    const time = fakeTime()
    const storage = memoryStorage()
    storage.setItem('skynet.patrol.gpsQueue', JSON.stringify([fixAt(time, 0), { garbage: true }, fixAt(time, 1)]))
    const send = vi.fn(async (fixes: Fix[]) => ok(fixes.length))
    const queue = new GpsQueue({ send, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer })
    expect(queue.pending()).toHaveLength(2)
    await time.advance(5_000)
    expect(send).toHaveBeenCalledTimes(1)
    expect(queue.status().queued).toBe(0)
  })

  it('keeps at most 2000, dropping the oldest', async () => {
    const { time, queue, setOnline } = setup()
    setOnline(false)
    for (let i = 0; i < 2_100; i++) queue.add({ ...fixAt(time), lat: i })
    expect(queue.status()).toMatchObject({ queued: 2_000, dropped: 100 })
    expect(queue.pending()[0]!.lat).toBe(100)
    expect(queue.pending().at(-1)!.lat).toBe(2_099)
  })

  it('drains a long backlog in requests of at most 500', async () => {
    const { time, queue, sent, setOnline } = setup()
    setOnline(false)
    for (let i = 0; i < 1_200; i++) queue.add(fixAt(time, i))
    await time.advance(6_000)
    setOnline(true)
    queue.online()
    await time.advance(5_000)
    expect(sent.map((b) => b.length)).toEqual([500, 500, 200])
    expect(queue.status().queued).toBe(0)
  })

  it('keeps a batch whose send failed and sends it with the next success', async () => {
    const { time, queue, send, sent } = setup()
    send.mockImplementationOnce(async () => { throw new ApiError(0, 'network', 'Failed to fetch') })
    queue.add(fixAt(time, 0))
    await time.advance(5_000)
    expect(send).toHaveBeenCalledTimes(1)
    expect(queue.status()).toMatchObject({ state: 'waiting', queued: 1, lastError: 'network' })
    queue.add(fixAt(time, 1))
    await time.advance(5_000)
    expect(sent.at(-1)).toHaveLength(2)
    expect(queue.status()).toMatchObject({ state: 'idle', queued: 0, lastError: null })
  })

  it('backs off on 429, doubling, and does not send early however many are queued', async () => {
    const { time, queue, send } = setup()
    const flood = () => { throw new ApiError(429, 'Too Many Requests', 'too many', undefined, 'linkage.gps_flood') }
    send.mockImplementationOnce(async () => flood()).mockImplementationOnce(async () => flood())
    for (let i = 0; i < 10; i++) queue.add(fixAt(time, i))
    await flushPromises()
    expect(send).toHaveBeenCalledTimes(1)
    expect(queue.status()).toMatchObject({ state: 'waiting', lastError: 'linkage.gps_flood' })
    expect(queue.status().retryAt).toBe(time.now() + 5_000)
    for (let i = 0; i < 10; i++) queue.add(fixAt(time, i))
    queue.online() // an online event does not cut a flood back-off short
    await time.advance(4_999)
    expect(send).toHaveBeenCalledTimes(1)
    await time.advance(1)
    expect(send).toHaveBeenCalledTimes(2)
    // second refusal: 10 s
    await time.advance(9_999)
    expect(send).toHaveBeenCalledTimes(2)
    await time.advance(1)
    expect(send).toHaveBeenCalledTimes(3)
    expect(queue.status()).toMatchObject({ state: 'idle', queued: 0 })
  })

  it('stops and forgets the queue on 409 linkage.not_on_duty', async () => {
    const onStopped = vi.fn()
    const { time, queue, send, storage } = setup({ onStopped })
    send.mockImplementationOnce(async () => { throw new ApiError(409, 'Conflict', 'not on duty', undefined, 'linkage.not_on_duty') })
    for (let i = 0; i < 10; i++) queue.add(fixAt(time, i))
    await flushPromises()
    expect(onStopped).toHaveBeenCalledWith('linkage.not_on_duty')
    expect(queue.status()).toMatchObject({ state: 'stopped', queued: 0 })
    expect(storage.getItem('skynet.patrol.gpsQueue')).toBeNull()
    queue.add(fixAt(time, 11))
    await time.advance(60_000)
    expect(send).toHaveBeenCalledTimes(1)
    expect(time.pending()).toBe(0)
    queue.resume()
    queue.add(fixAt(time, 12))
    await time.advance(5_000)
    expect(send).toHaveBeenCalledTimes(2)
  })

  it('drops a batch the server refuses as invalid rather than retrying it forever', async () => {
    const { time, queue, send } = setup()
    send.mockImplementationOnce(async () => { throw new ApiError(400, 'Bad Request', 'bad', 'fixes', 'validation') })
    queue.add(fixAt(time, 0))
    await time.advance(5_000)
    expect(queue.status()).toMatchObject({ state: 'idle', queued: 0, lastError: 'validation' })
  })

  it('keeps fixes queued while a batch is in flight', async () => {
    const { time, queue, send, sent } = setup()
    let release!: () => void
    send.mockImplementationOnce((fixes: Fix[]) => new Promise<FixesResult>((resolve) => {
      sent.push(fixes)
      release = () => resolve(ok(fixes.length))
    }))
    queue.add(fixAt(time, 0))
    await time.advance(5_000)
    expect(queue.status().state).toBe('sending')
    queue.add(fixAt(time, 1))
    release()
    await flushPromises()
    expect(queue.pending().map((f) => f.lat)).toEqual([30.27 + 1e-5])
    await time.advance(5_000)
    expect(sent).toHaveLength(2)
    expect(queue.status().queued).toBe(0)
  })

  it('stop() keeps the stored queue unless told to clear it', async () => {
    const { time, queue, storage, setOnline } = setup()
    setOnline(false)
    queue.add(fixAt(time, 0))
    queue.stop()
    expect(storage.getItem('skynet.patrol.gpsQueue')).not.toBeNull()
    queue.stop(true)
    expect(storage.getItem('skynet.patrol.gpsQueue')).toBeNull()
  })
})

describe('fixes from the browser', () => {
  it('turns a GeolocationPosition into a fix, NaN heading and speed as null', () => {
    const fix = fixFromPosition({ timestamp: Date.parse('2026-12-02T10:00:00.000Z'), coords: { latitude: 30.27, longitude: 120.15, heading: NaN, speed: null, accuracy: 12 } })
    expect(fix).toEqual({ at: '2026-12-02T10:00:00.000Z', lat: 30.27, lon: 120.15, heading: null, speed: null, accuracy: 12 })
  })

  it('thins fixes closer than 2 s', () => {
    const a: Fix = { at: '2026-12-02T10:00:00.000Z', lat: 1, lon: 1 }
    expect(keepFix(null, a)).toBe(true)
    expect(keepFix(a, { ...a, at: '2026-12-02T10:00:01.500Z' })).toBe(false)
    expect(keepFix(a, { ...a, at: '2026-12-02T10:00:02.000Z' })).toBe(true)
  })

  it('watches the position and stops watching', () => {
    let success: PositionCallback | null = null
    const geo = {
      watchPosition: vi.fn((s: PositionCallback) => { success = s; return 7 }),
      clearWatch: vi.fn(),
    }
    const fixes: Fix[] = []
    const stop = watchGps(geo, (f) => fixes.push(f), () => {})
    const pos = (t: number) => ({ timestamp: t, coords: { latitude: 30, longitude: 120, heading: 90, speed: 3, accuracy: 5 } }) as unknown as GeolocationPosition
    success!(pos(0))
    success!(pos(1_000))
    success!(pos(3_000))
    expect(fixes).toHaveLength(2)
    stop()
    expect(geo.clearWatch).toHaveBeenCalledWith(7)
  })

  it('reports a phone without geolocation', () => {
    const onError = vi.fn()
    watchGps(undefined, () => {}, onError)
    expect(onError).toHaveBeenCalledWith(2, expect.any(String))
  })
})
