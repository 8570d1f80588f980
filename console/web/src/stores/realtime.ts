// The realtime client: one WebSocket to /api/events per tab (protocol: docs/control-room/realtime.md).
// Pages subscribe to topics; the store keeps one server subscription per topic however many
// handlers want it, reconnects with back-off, replays what it missed and, when it missed too
// much, hands the handlers a synthetic { kind: 'resync' } event so their lists reload.
import { ref, watch } from 'vue'
import { defineStore } from 'pinia'
import { http } from '../api/http.ts'
import { useSessionStore } from './session.ts'
import {
  backoffDelay, eventsUrl, isFinalClose, resyncEvent, TopicBook,
  type ClientFrame, type Handler, type RealtimeEvent as ModelEvent,
} from './realtime-model.ts'

export type RealtimeEvent = ModelEvent

export type RealtimeState = 'idle' | 'connecting' | 'open' | 'reconnecting'

/** A client ping this often; no answer within PONG_WAIT_MS means the connection is dead (sleep, a cut network). */
const PING_EVERY_MS = 25_000
const PONG_WAIT_MS = 10_000

export const useRealtimeStore = defineStore('realtime', () => {
  const state = ref<RealtimeState>('idle')
  /** The close reason of the last connection that ended (a stable code such as realtime.revoked), for the indicator's tooltip. */
  const lastCloseReason = ref<string | null>(null)
  const book = new TopicBook()
  let socket: WebSocket | null = null
  let started = false
  let attempt = 0
  let opened = false
  /** The newest event id this connection knows of (hello's lastId, raised by each event). */
  let latestId = 0
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null
  let pingTimer: ReturnType<typeof setInterval> | null = null
  let pongTimer: ReturnType<typeof setTimeout> | null = null
  /** Subscribe/unsubscribe changes gathered over one tick, sent as one frame each (the server counts frames). */
  let pendingSub = new Set<string>()
  let pendingUnsub = new Set<string>()
  let flushQueued = false

  const session = useSessionStore()
  // Signed out (or a 401 anywhere): the socket goes too.
  watch(() => session.user, (user) => { if (!user) stop() })

  function sendFrame(frame: ClientFrame | { op: 'ping' }): void {
    if (socket?.readyState === WebSocket.OPEN && opened) socket.send(JSON.stringify(frame))
  }

  function flush(): void {
    flushQueued = false
    const subs = [...pendingSub].filter((t) => book.has(t))
    const unsubs = [...pendingUnsub].filter((t) => !book.has(t))
    pendingSub = new Set()
    pendingUnsub = new Set()
    if (!opened) return // sent with the others after hello
    if (subs.length) sendFrame({ op: 'subscribe', topics: subs })
    if (unsubs.length) sendFrame({ op: 'unsubscribe', topics: unsubs })
  }
  function queueFlush(): void {
    if (flushQueued) return
    flushQueued = true
    queueMicrotask(flush)
  }

  function call(handlers: Handler[], event: RealtimeEvent): void {
    for (const handler of handlers) {
      try {
        handler(event)
      } catch (err) {
        console.error('realtime handler failed', err)
      }
    }
  }

  function onMessage(raw: MessageEvent): void {
    let msg: { op?: string; [k: string]: unknown }
    try {
      msg = JSON.parse(String(raw.data)) as typeof msg
    } catch {
      return
    }
    switch (msg.op) {
      case 'hello': {
        opened = true
        attempt = 0
        latestId = Number(msg.lastId) || 0
        state.value = 'open'
        lastCloseReason.value = null
        pendingSub = new Set()
        pendingUnsub = new Set()
        for (const frame of book.resubscribeFrames()) sendFrame(frame)
        startPings()
        break
      }
      case 'subscribed': {
        for (const topic of (msg.topics as string[] | undefined) ?? []) book.live(topic, latestId)
        const refused = (msg.refused as { topic: string; code: string }[] | undefined) ?? []
        if (refused.length) console.warn('realtime topics refused', refused)
        break
      }
      case 'event': {
        const event = msg.event as RealtimeEvent
        if (!event || typeof event.id !== 'number') return
        latestId = Math.max(latestId, event.id)
        call(book.accept(event), event)
        break
      }
      case 'resync': {
        for (const topic of (msg.topics as string[] | undefined) ?? []) call(book.resynced(topic, latestId), resyncEvent(topic))
        break
      }
      case 'pong': {
        if (pongTimer) clearTimeout(pongTimer)
        pongTimer = null
        break
      }
    }
  }

  function checkSignIn(): Promise<unknown> {
    return http.get('/auth/me').catch(() => {})
  }

  function startPings(): void {
    stopPings()
    pingTimer = setInterval(() => {
      sendFrame({ op: 'ping' })
      if (pongTimer) return
      pongTimer = setTimeout(() => { pongTimer = null; socket?.close() }, PONG_WAIT_MS)
    }, PING_EVERY_MS)
  }
  function stopPings(): void {
    if (pingTimer) clearInterval(pingTimer)
    if (pongTimer) clearTimeout(pongTimer)
    pingTimer = null
    pongTimer = null
  }

  function connect(): void {
    reconnectTimer = null
    if (!started) return
    state.value = attempt === 0 && !lastCloseReason.value ? 'connecting' : 'reconnecting'
    opened = false
    const ws = new WebSocket(eventsUrl(window.location))
    socket = ws
    ws.onmessage = (e) => { if (socket === ws) onMessage(e) }
    ws.onclose = (e) => {
      if (socket !== ws) return
      const wasOpen = opened
      socket = null
      opened = false
      stopPings()
      lastCloseReason.value = e.reason || `close ${e.code}`
      if (!started) { state.value = 'idle'; return }
      if (isFinalClose(e.code)) {
        started = false
        state.value = 'idle'
        // Ask who we are without quieting a 401: the app's 401 handler sends the user to the login page.
        void checkSignIn()
        return
      }
      // Refused before the upgrade (a browser only sees the close): ask once whether the sign-in still holds.
      if (!wasOpen && attempt === 2) void checkSignIn()
      state.value = 'reconnecting'
      reconnectTimer = setTimeout(connect, backoffDelay(attempt++))
    }
  }

  /** Connect (once per tab; later calls do nothing). Reconnects with back-off and replays what it missed. */
  function start(): void {
    if (started) return
    started = true
    attempt = 0
    lastCloseReason.value = null
    connect()
  }

  /** Close the socket (logout). */
  function stop(): void {
    started = false
    if (reconnectTimer) clearTimeout(reconnectTimer)
    reconnectTimer = null
    stopPings()
    const ws = socket
    socket = null
    opened = false
    ws?.close(1000)
    state.value = 'idle'
  }

  /**
   * Hear a topic's events ('alarms', 'devices', 'incidents', 'incident:<id>'): subscribes on the server
   * while at least one handler wants the topic. Returns the unsubscribe function (call it on unmount).
   */
  function subscribe(topic: string, handler: (event: RealtimeEvent) => void): () => void {
    if (book.add(topic, handler)) {
      pendingUnsub.delete(topic)
      pendingSub.add(topic)
      queueFlush()
    }
    let done = false
    return () => {
      if (done) return
      done = true
      if (book.remove(topic, handler)) {
        pendingSub.delete(topic)
        pendingUnsub.add(topic)
        queueFlush()
      }
    }
  }

  return { state, lastCloseReason, start, stop, subscribe }
})
