// The realtime client's decisions as plain code, without a socket (stores/realtime.ts owns
// the socket): reconnect back-off, topic reference counts, what was seen per topic, and the
// frames to send after (re)connecting. Tested in __tests__/realtime-model.test.ts.

export interface RealtimeEvent {
  id: number
  at: string
  topic: string
  kind: string
  payload: Record<string, unknown>
}

export type Handler = (event: RealtimeEvent) => void

/** Reconnect delays: 1 s doubling to 30 s, each ±20 % so a restarted console is not hit by every tab at once. */
export const BACKOFF_MIN_MS = 1000
export const BACKOFF_MAX_MS = 30_000

/** The delay before reconnect attempt `attempt` (0 for the first), with `random()` in [0, 1). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, Math.min(attempt, 10)))
  const jittered = base * (0.8 + 0.4 * random())
  return Math.round(Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, jittered)))
}

/** The server takes at most this many topics in one frame (console/server/realtime/protocol.ts). */
export const MAX_TOPICS_PER_FRAME = 50

export type ClientFrame =
  | { op: 'subscribe'; topics: string[]; after?: number }
  | { op: 'unsubscribe'; topics: string[] }

/** The synthetic event handlers get when the server says they missed too much: reload the list. */
export function resyncEvent(topic: string, now: Date = new Date()): RealtimeEvent {
  return { id: 0, at: now.toISOString(), topic, kind: 'resync', payload: {} }
}

const chunk = (topics: string[]): string[][] => {
  const out: string[][] = []
  for (let i = 0; i < topics.length; i += MAX_TOPICS_PER_FRAME) out.push(topics.slice(i, i + MAX_TOPICS_PER_FRAME))
  return out
}

/**
 * Who wants which topic, and how far each topic is known. A topic is subscribed on the server
 * while at least one handler wants it; `since[topic]` is the id up to which this tab has every
 * event of it (set when it goes live, raised by each event), so a reconnect asks for what came after.
 */
export class TopicBook {
  private readonly handlers = new Map<string, Set<Handler>>()
  private readonly since = new Map<string, number>()

  /** Add a handler; true when the topic is new (subscribe it on the server). */
  add(topic: string, handler: Handler): boolean {
    let set = this.handlers.get(topic)
    const fresh = !set
    if (!set) this.handlers.set(topic, (set = new Set()))
    set.add(handler)
    return fresh
  }

  /** Remove a handler; true when nobody wants the topic any more (unsubscribe it on the server). */
  remove(topic: string, handler: Handler): boolean {
    const set = this.handlers.get(topic)
    if (!set || !set.delete(handler)) return false
    if (set.size > 0) return false
    this.handlers.delete(topic)
    this.since.delete(topic)
    return true
  }

  topics(): string[] {
    return [...this.handlers.keys()]
  }

  has(topic: string): boolean {
    return this.handlers.has(topic)
  }

  /** The server confirmed the topic live on a connection that said hello with `lastId`. */
  live(topic: string, lastId: number): void {
    if (this.handlers.has(topic) && !this.since.has(topic)) this.since.set(topic, lastId)
  }

  /**
   * An event arrived: the handlers to call, or none when it is a duplicate (a replay can
   * overlap what was seen live) or nobody wants the topic.
   */
  accept(event: RealtimeEvent): Handler[] {
    const set = this.handlers.get(event.topic)
    if (!set) return []
    const known = this.since.get(event.topic)
    if (known !== undefined && event.id <= known) return []
    this.since.set(event.topic, event.id)
    return [...set]
  }

  /** The server said `topic` missed too much: after reloading, the tab is current as of `lastId`. */
  resynced(topic: string, lastId: number): Handler[] {
    const set = this.handlers.get(topic)
    if (!set) return []
    this.since.set(topic, Math.max(this.since.get(topic) ?? 0, lastId))
    return [...set]
  }

  /**
   * The frames to send once a (new) connection said hello: topics known up to some id are
   * asked for what came after the oldest of those ids (duplicates are dropped by `accept`);
   * topics never live yet are subscribed from now.
   */
  resubscribeFrames(): ClientFrame[] {
    const known = this.topics().filter((t) => this.since.has(t))
    const fresh = this.topics().filter((t) => !this.since.has(t))
    const frames: ClientFrame[] = []
    if (known.length) {
      const after = Math.min(...known.map((t) => this.since.get(t)!))
      for (const topics of chunk(known)) frames.push({ op: 'subscribe', topics, after })
    }
    for (const topics of chunk(fresh)) frames.push({ op: 'subscribe', topics })
    return frames
  }
}

/** Close codes that mean "do not reconnect": the sign-in ended (4401) or the role lost the channel (4403). */
export function isFinalClose(code: number): boolean {
  return code === 4401 || code === 4403
}

/** `ws(s)://host/api/events` for the page at `location`. */
export function eventsUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`
}
