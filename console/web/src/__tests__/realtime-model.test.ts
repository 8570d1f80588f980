import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useRealtimeStore } from '../stores/realtime.ts'

// The store pulls in the session store and with it i18n, which sets <html lang> on import.
vi.mock('../i18n/index.ts', () => ({ adoptAccountLocale: () => {} }))
import {
  backoffDelay, BACKOFF_MAX_MS, eventsUrl, isFinalClose, MAX_TOPICS_PER_FRAME, resyncEvent, TopicBook, type RealtimeEvent,
} from '../stores/realtime-model.ts'

const ev = (id: number, topic = 'alarms'): RealtimeEvent => ({ id, at: '2026-12-02T10:00:00.000Z', topic, kind: 'alarm.raised', payload: {} })

describe('backoffDelay', () => {
  it.each([
    [0, 0.5, 1000], [1, 0.5, 2000], [2, 0.5, 4000], [4, 0.5, 16_000], [5, 0.5, 30_000], [50, 0.5, 30_000],
  ])('attempt %i with no jitter waits %i→%i ms', (attempt, random, ms) => {
    expect(backoffDelay(attempt, () => random)).toBe(ms)
  })

  it('jitters ±20 % but stays within 1 s … 30 s', () => {
    expect(backoffDelay(2, () => 0)).toBe(3200)
    expect(backoffDelay(2, () => 0.999999)).toBe(4800)
    expect(backoffDelay(0, () => 0)).toBe(1000)
    expect(backoffDelay(8, () => 0.999999)).toBe(BACKOFF_MAX_MS)
    expect(backoffDelay(-3, () => 0.5)).toBe(1000)
  })
})

describe('TopicBook', () => {
  it('subscribes a topic once however many handlers want it, unsubscribes with the last', () => {
    const book = new TopicBook()
    const a = () => {}
    const b = () => {}
    expect(book.add('alarms', a)).toBe(true)
    expect(book.add('alarms', b)).toBe(false)
    expect(book.remove('alarms', a)).toBe(false)
    expect(book.remove('alarms', a)).toBe(false) // twice: no effect
    expect(book.remove('alarms', b)).toBe(true)
    expect(book.topics()).toEqual([])
  })

  it('delivers each event once to the topic\'s handlers and drops replayed duplicates', () => {
    const book = new TopicBook()
    const got: number[] = []
    book.add('alarms', (e) => got.push(e.id))
    book.live('alarms', 10)
    for (const id of [9, 10, 11, 12, 11]) for (const h of book.accept(ev(id))) h(ev(id))
    expect(got).toEqual([11, 12])
    expect(book.accept(ev(13, 'devices'))).toEqual([])
  })

  it('re-subscribes after a reconnect from the oldest id known, fresh topics from now', () => {
    const book = new TopicBook()
    book.add('alarms', () => {})
    book.add('incidents', () => {})
    book.add('devices', () => {})
    book.live('alarms', 100)
    book.live('incidents', 100)
    book.accept(ev(130, 'alarms'))
    expect(book.resubscribeFrames()).toEqual([
      { op: 'subscribe', topics: ['alarms', 'incidents'], after: 100 },
      { op: 'subscribe', topics: ['devices'] },
    ])
    // The replay for incidents from 100 repeats alarms up to 130: dropped.
    expect(book.accept(ev(120, 'alarms'))).toEqual([])
    expect(book.accept(ev(120, 'incidents'))).toHaveLength(1)
  })

  it('splits frames at the server\'s topic limit', () => {
    const book = new TopicBook()
    for (let i = 0; i < MAX_TOPICS_PER_FRAME + 3; i++) book.add(`incident:${i}`, () => {})
    const frames = book.resubscribeFrames()
    expect(frames.map((f) => f.topics.length)).toEqual([MAX_TOPICS_PER_FRAME, 3])
  })

  it('after a resync the topic counts as current as of the connection\'s newest id', () => {
    const book = new TopicBook()
    const got: RealtimeEvent[] = []
    book.add('alarms', (e) => got.push(e))
    book.live('alarms', 5)
    for (const h of book.resynced('alarms', 2000)) h(resyncEvent('alarms', new Date('2026-12-02T10:00:00Z')))
    expect(got).toEqual([{ id: 0, at: '2026-12-02T10:00:00.000Z', topic: 'alarms', kind: 'resync', payload: {} }])
    expect(book.resubscribeFrames()).toEqual([{ op: 'subscribe', topics: ['alarms'], after: 2000 }])
    expect(book.resynced('devices', 1)).toEqual([])
  })

  it('forgets what it knew of a topic nobody wants any more', () => {
    const book = new TopicBook()
    const h = () => {}
    book.add('alarms', h)
    book.live('alarms', 50)
    book.remove('alarms', h)
    book.add('alarms', h)
    expect(book.resubscribeFrames()).toEqual([{ op: 'subscribe', topics: ['alarms'] }])
  })
})

describe('close codes and the URL', () => {
  it('stops on 4401/4403, reconnects on everything else', () => {
    expect([4401, 4403, 1008, 1006, 1001, 1000].map(isFinalClose)).toEqual([true, true, false, false, false, false])
  })

  it('uses wss on https pages', () => {
    expect(eventsUrl({ protocol: 'https:', host: 'vms.example:8443' })).toBe('wss://vms.example:8443/api/events')
    expect(eventsUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/api/events')
  })
})

// The store itself, on a fake WebSocket: what it sends, when it reconnects, what handlers get.
class FakeSocket {
  static readonly OPEN = 1
  static all: FakeSocket[] = []
  readyState = 0
  sent: Record<string, unknown>[] = []
  onmessage: ((e: { data: string }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  constructor(readonly url: string) { FakeSocket.all.push(this) }
  send(data: string) { this.sent.push(JSON.parse(data)) }
  close(code = 1000) { this.drop(code) }
  /** The server's side. */
  push(m: unknown) { this.readyState = 1; this.onmessage?.({ data: JSON.stringify(m) }) }
  drop(code: number, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }) }
}

describe('useRealtimeStore (on a fake WebSocket)', () => {
  const fetched: string[] = []
  const tick = () => new Promise<void>((r) => queueMicrotask(r))

  beforeEach(() => {
    vi.useFakeTimers()
    FakeSocket.all = []
    fetched.length = 0
    vi.stubGlobal('WebSocket', FakeSocket)
    vi.stubGlobal('window', { location: { protocol: 'http:', host: 'console.test' } })
    vi.stubGlobal('fetch', async (url: string) => { fetched.push(url); return new Response('{}', { status: 401, headers: { 'content-type': 'application/json' } }) })
    setActivePinia(createPinia())
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('subscribes once per topic, replays after a reconnect, hands resync to handlers', async () => {
    const store = useRealtimeStore()
    const a: RealtimeEvent[] = []
    const b: RealtimeEvent[] = []
    const offA = store.subscribe('alarms', (e) => a.push(e))
    store.start()
    store.start() // once per tab
    expect(FakeSocket.all).toHaveLength(1)
    expect(FakeSocket.all[0]!.url).toBe('ws://console.test/api/events')
    expect(store.state).toBe('connecting')
    const first = FakeSocket.all[0]!
    first.push({ op: 'hello', lastId: 50 })
    expect(store.state).toBe('open')
    expect(first.sent).toEqual([{ op: 'subscribe', topics: ['alarms'] }])
    const offB = store.subscribe('alarms', (e) => b.push(e))
    store.subscribe('devices', () => {})
    await tick()
    expect(first.sent.slice(1)).toEqual([{ op: 'subscribe', topics: ['devices'] }])
    first.push({ op: 'subscribed', topics: ['alarms'], refused: [] })
    first.push({ op: 'event', event: ev(51) })
    first.push({ op: 'event', event: ev(51) })
    expect(a.map((e) => e.id)).toEqual([51])
    expect(b.map((e) => e.id)).toEqual([51])

    first.drop(1006)
    expect(store.state).toBe('reconnecting')
    vi.advanceTimersByTime(700)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(600) // 1 s ± 20 %
    expect(FakeSocket.all).toHaveLength(2)
    const second = FakeSocket.all[1]!
    second.push({ op: 'hello', lastId: 70 })
    expect(second.sent).toEqual([{ op: 'subscribe', topics: ['alarms'], after: 51 }, { op: 'subscribe', topics: ['devices'] }])
    second.push({ op: 'resync', topics: ['alarms'] })
    expect(a.at(-1)).toMatchObject({ id: 0, topic: 'alarms', kind: 'resync' })
    expect(b.at(-1)?.kind).toBe('resync')

    offA()
    offB()
    offB() // twice: no effect
    await tick()
    expect(second.sent.at(-1)).toEqual({ op: 'unsubscribe', topics: ['alarms'] })
    expect(second.sent.filter((f) => f.op === 'unsubscribe')).toHaveLength(1)
  })

  it('stops for good when the sign-in ends (4401) and lets the app\'s 401 handler run', async () => {
    const store = useRealtimeStore()
    store.start()
    FakeSocket.all[0]!.push({ op: 'hello', lastId: 0 })
    FakeSocket.all[0]!.drop(4401, 'realtime.revoked')
    expect(store.state).toBe('idle')
    expect(store.lastCloseReason).toBe('realtime.revoked')
    await vi.advanceTimersByTimeAsync(120_000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(fetched).toEqual(['/api/auth/me'])
  })

  it('backs off further while the console stays away, and stop() ends it', () => {
    const store = useRealtimeStore()
    store.start()
    FakeSocket.all[0]!.drop(1006)
    FakeSocket.all[0]!.drop(1006) // a second close event of the same socket schedules nothing more
    vi.advanceTimersByTime(1300)
    expect(FakeSocket.all).toHaveLength(2)
    FakeSocket.all.at(-1)!.drop(1006)
    vi.advanceTimersByTime(1300)
    expect(FakeSocket.all).toHaveLength(2) // the second wait is 2 s ± 20 %
    vi.advanceTimersByTime(1200)
    expect(FakeSocket.all).toHaveLength(3)
    FakeSocket.all.at(-1)!.drop(1006)
    vi.advanceTimersByTime(3100)
    expect(FakeSocket.all).toHaveLength(3) // 4 s ± 20 %
    vi.advanceTimersByTime(1800)
    expect(FakeSocket.all).toHaveLength(4)
    expect(store.state).toBe('reconnecting')
    store.stop()
    expect(store.state).toBe('idle')
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(4)
  })
})
