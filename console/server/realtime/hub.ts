import type { Logger } from 'pino';
import type { EventLog, RealtimeEvent } from '../../../core/events.ts';
import { allows } from '../../../core/identity/guard.ts';
import type { IdentityService } from '../../../core/identity/service.ts';
import type { Access, Principal } from '../../../core/identity/types.ts';
import type { BusEvent, EventBus } from '../../../core/redis.ts';
import {
  CLOSE, createRateWindow, MAX_BUFFERED_BYTES, MAX_TOPICS_PER_SOCKET, parseClientMessage, PING_INTERVAL_MS,
  REPLAY_LIMIT, replayPlan, topicVerdict, type CloseReason, type TopicCode,
} from './protocol.ts';

/** What the hub needs of a `ws` WebSocket (the server side @fastify/websocket hands over). */
export interface RealtimeSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  ping(): void;
  close(code: number, reason: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'pong' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

const OPEN = 1;
/** The rows are checked for events the bus missed this often, leaving the newest few seconds to the bus. */
const CATCH_UP_INTERVAL_MS = 5_000;
const CATCH_UP_GRACE_MS = 3_000;
const RECENT_IDS = 5_000;

/** The credential a socket was opened with: checked again on every keepalive tick and on `identity.revoked`. */
export interface Credential { bearer?: string; cookie?: string }

export interface HubOptions {
  eventLog: EventLog;
  /** The platform bus: `identity.revoked` arrives here. */
  events: EventBus;
  identity: Pick<IdentityService, 'authenticate'>;
  log: Logger;
  /** Who may hold the channel at all (the route's access). */
  access: Access;
  /** For topics a role hears only when they are its own (a patrol user's `unit:<id>`): is this one? Absent: refused. */
  isMember?: (topic: string, principal: Principal) => Promise<boolean>;
  maxMessagesPerSecond: number;
  pingIntervalMs?: number;
  maxBufferedBytes?: number;
  /** How often the rows are checked for events the bus did not bring (a Redis reconnect). */
  catchUpIntervalMs?: number;
  /** Rows younger than this are left to the bus (their publish may be on its way). */
  catchUpGraceMs?: number;
}

interface Conn {
  id: number;
  socket: RealtimeSocket;
  principal: Principal;
  credential: Credential;
  topics: Set<string>;
  /** Topics being replayed: live events for them wait here until the replay is sent. */
  pending: Map<string, RealtimeEvent[]>;
  rate: ReturnType<typeof createRateWindow>;
  alive: boolean;
  closed: boolean;
  /** `hello` has been sent. */
  greeted: boolean;
  /** Frames are handled one after the other (hello first), so a replay keeps its order. */
  chain: Promise<void>;
}

export interface HubStats { sockets: number; topics: Record<string, number> }

/**
 * The realtime hub of one console process: hears every event once (eventLog.subscribe) and
 * fans it out to the sockets subscribed to its topic, replays missed events from the rows,
 * keeps sockets alive with pings, and closes the ones that flood, send garbage, stop reading
 * (slow consumers), die, or whose credentials end.
 */
export function createRealtimeHub(o: HubOptions) {
  const pingIntervalMs = o.pingIntervalMs ?? PING_INTERVAL_MS;
  const maxBuffered = o.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const catchUpIntervalMs = o.catchUpIntervalMs ?? CATCH_UP_INTERVAL_MS;
  const catchUpGraceMs = o.catchUpGraceMs ?? CATCH_UP_GRACE_MS;
  const conns = new Set<Conn>();
  const byTopic = new Map<string, Set<Conn>>();
  let seq = 0;
  let timer: NodeJS.Timeout | null = null;
  let catchUpTimer: NodeJS.Timeout | null = null;
  /** The newest event id heard: a topic first wanted now is checked for missed rows from here. */
  let heardMax = 0;
  /** Ids fanned out lately, so an event caught up from the rows and then heard on the bus goes out once. */
  const recent = new Set<number>();
  /** Per subscribed topic: the id up to which its rows are known to have gone out (catchUp). */
  const checked = new Map<string, number>();
  let catchingUp = false;
  const unsubscribers: (() => Promise<void>)[] = [];

  function sendRaw(conn: Conn, frame: string): void {
    if (conn.closed || conn.socket.readyState !== OPEN) return;
    if (conn.socket.bufferedAmount > maxBuffered) {
      o.log.warn({ socket: conn.id, user: conn.principal.username, buffered: conn.socket.bufferedAmount }, 'realtime socket does not read: closed as a slow consumer');
      close(conn, CLOSE.policy, 'realtime.slow_consumer', true);
      return;
    }
    conn.socket.send(frame);
  }
  const send = (conn: Conn, message: Record<string, unknown>) => sendRaw(conn, JSON.stringify(message));

  function addTopic(conn: Conn, topic: string): void {
    conn.topics.add(topic);
    let set = byTopic.get(topic);
    if (!set) {
      byTopic.set(topic, (set = new Set()));
      checked.set(topic, heardMax);
    }
    set.add(conn);
  }
  function removeTopic(conn: Conn, topic: string): void {
    conn.topics.delete(topic);
    conn.pending.delete(topic);
    const set = byTopic.get(topic);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) {
      byTopic.delete(topic);
      checked.delete(topic);
    }
  }
  function forget(conn: Conn): void {
    for (const topic of [...conn.topics]) removeTopic(conn, topic);
    conns.delete(conn);
  }

  /** Close with a code and reason; a socket that does not finish the close handshake is cut after 2 s (at once for a slow consumer). */
  function close(conn: Conn, code: number, reason: CloseReason, hard = false): void {
    if (conn.closed) return;
    conn.closed = true;
    forget(conn);
    try {
      conn.socket.close(code, reason);
    } catch {
      // already closing
    }
    if (hard) conn.socket.terminate();
    else setTimeout(() => conn.socket.terminate(), 2000).unref();
  }

  function onEvent(event: RealtimeEvent): void {
    if (recent.has(event.id)) return;
    recent.add(event.id);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
    if (event.id > heardMax) heardMax = event.id;
    const set = byTopic.get(event.topic);
    if (!set || set.size === 0) return;
    const frame = JSON.stringify({ op: 'event', event });
    for (const conn of [...set]) {
      const waiting = conn.pending.get(event.topic);
      if (!waiting) sendRaw(conn, frame);
      else if (waiting.push(event) > REPLAY_LIMIT) {
        // The replay is taking so long that the events held behind it would grow without end.
        o.log.warn({ socket: conn.id, user: conn.principal.username }, 'realtime replay outpaced by live events: closed as a slow consumer');
        close(conn, CLOSE.policy, 'realtime.slow_consumer', true);
      }
    }
  }

  /** Wait (up to 10 s) until the socket has sent half of what it buffers; false when it is closed or still full. */
  async function room(conn: Conn): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (!conn.closed && conn.socket.bufferedAmount > maxBuffered / 2) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return !conn.closed;
  }

  /** topicVerdict, with `member` settled by the membership check (refused when it fails or is absent). */
  async function memberVerdict(topic: string, principal: Principal): Promise<'ok' | TopicCode> {
    const verdict = topicVerdict(topic, principal);
    if (verdict !== 'member') return verdict;
    try {
      return o.isMember && (await o.isMember(topic, principal)) ? 'ok' : 'realtime.topic_forbidden';
    } catch (err) {
      o.log.warn({ err, topic }, 'realtime membership check failed: refused');
      return 'realtime.topic_forbidden';
    }
  }

  async function subscribe(conn: Conn, topics: string[], after: number | null): Promise<void> {
    const accepted: string[] = [];
    const added: string[] = [];
    const refused: { topic: string; code: TopicCode }[] = [];
    for (const topic of topics) {
      if (conn.topics.has(topic)) { accepted.push(topic); continue; }
      const verdict = await memberVerdict(topic, conn.principal);
      if (verdict !== 'ok') { refused.push({ topic, code: verdict }); continue; }
      if (conn.topics.size >= MAX_TOPICS_PER_SOCKET) { refused.push({ topic, code: 'realtime.too_many_topics' }); continue; }
      addTopic(conn, topic);
      accepted.push(topic);
      added.push(topic);
    }
    const replay = after !== null && added.length > 0;
    if (replay) for (const topic of added) conn.pending.set(topic, []);
    send(conn, { op: 'subscribed', topics: accepted, refused });
    if (!replay) return;
    let rows: RealtimeEvent[] | null = null;
    try {
      rows = await o.eventLog.since(after, added, REPLAY_LIMIT + 1);
    } catch (err) {
      o.log.warn({ err, socket: conn.id }, 'realtime replay failed: the client is told to resync');
    }
    const plan = rows ? replayPlan(rows) : { send: [], resync: true };
    const sent = new Set<number>();
    if (plan.resync) send(conn, { op: 'resync', topics: added });
    for (const event of plan.send) {
      // A replay of up to 1000 events can outrun a slow link: wait for room rather than cut a reader that keeps up.
      if (conn.socket.bufferedAmount > maxBuffered / 2 && !(await room(conn))) {
        if (!conn.closed) {
          o.log.warn({ socket: conn.id, user: conn.principal.username }, 'realtime socket does not read its replay: closed as a slow consumer');
          close(conn, CLOSE.policy, 'realtime.slow_consumer', true);
        }
        return;
      }
      sent.add(event.id);
      send(conn, { op: 'event', event });
    }
    // Live events heard while reading the rows: those the replay did not already carry.
    const live: RealtimeEvent[] = [];
    for (const topic of added) {
      const waiting = conn.pending.get(topic);
      if (!waiting) continue; // unsubscribed meanwhile
      conn.pending.delete(topic);
      live.push(...waiting);
    }
    live.sort((a, b) => a.id - b.id);
    for (const event of live) if (event.id > after && !sent.has(event.id)) send(conn, { op: 'event', event });
  }

  function handle(conn: Conn, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (conn.closed) return;
    if (conn.rate.hit(Date.now())) {
      o.log.warn({ socket: conn.id, user: conn.principal.username }, 'realtime socket flooded: closed');
      return close(conn, CLOSE.policy, 'realtime.flood');
    }
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const msg = parseClientMessage(buf, isBinary);
    if ('garbage' in msg) {
      o.log.info({ socket: conn.id, user: conn.principal.username, reason: msg.garbage }, 'realtime socket sent garbage: closed');
      return close(conn, CLOSE.policy, msg.garbage);
    }
    // A ping is answered at once, even behind a long replay (but never before hello).
    if (msg.op === 'ping' && conn.greeted) return send(conn, { op: 'pong' });
    conn.chain = conn.chain.then(async () => {
      if (conn.closed) return;
      if (msg.op === 'ping') return send(conn, { op: 'pong' });
      if (msg.op === 'unsubscribe') { for (const topic of msg.topics) removeTopic(conn, topic); return; }
      await subscribe(conn, msg.topics, msg.after);
    }).catch((err: unknown) => { o.log.warn({ err, socket: conn.id }, 'realtime frame failed'); });
  }

  /** Authenticate the socket's credential again: closed when it no longer holds; topics its roles lost are dropped. */
  async function recheck(conn: Conn): Promise<void> {
    let principal: Principal | null;
    try {
      principal = await o.identity.authenticate(conn.credential);
    } catch (err) {
      o.log.warn({ err, socket: conn.id }, 'realtime credential check failed (kept open)');
      return;
    }
    if (conn.closed) return;
    if (!principal) return close(conn, CLOSE.unauthenticated, 'realtime.revoked');
    if (allows(o.access, principal) !== 'ok') return close(conn, CLOSE.forbidden, 'realtime.forbidden');
    conn.principal = principal;
    const refused: { topic: string; code: TopicCode }[] = [];
    for (const topic of [...conn.topics]) {
      const verdict = await memberVerdict(topic, principal);
      if (verdict !== 'ok') { removeTopic(conn, topic); refused.push({ topic, code: verdict }); }
    }
    if (refused.length) send(conn, { op: 'subscribed', topics: [...conn.topics], refused });
  }

  function tick(): void {
    for (const conn of [...conns]) {
      if (!conn.alive) {
        o.log.info({ socket: conn.id, user: conn.principal.username }, 'realtime socket missed a ping: cut');
        conn.closed = true;
        forget(conn);
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.socket.ping();
      } catch {
        // closing already
      }
      void recheck(conn);
    }
  }

  /**
   * The bus drops what is published while this process's subscriber reconnects. Each
   * subscribed topic has a checkpoint (the newest id heard when the topic was first wanted,
   * then advanced by this check): rows after it that are older than the grace period and were
   * not fanned out are fanned out now; more than REPLAY_LIMIT of them → `resync`.
   */
  async function catchUp(): Promise<void> {
    if (catchingUp) return;
    catchingUp = true;
    try {
      const topics = [...byTopic.keys()];
      if (topics.length === 0) return;
      const from = Math.min(...topics.map((t) => checked.get(t) ?? heardMax));
      const rows = await o.eventLog.since(from, topics, REPLAY_LIMIT + 1);
      const cutoff = Date.now() - catchUpGraceMs;
      let safe: number | null = null;
      const due: RealtimeEvent[] = [];
      for (const e of rows) {
        if (Date.parse(e.at) > cutoff) break; // this one and later ones are left to the bus for now
        safe = e.id;
        const mark = checked.get(e.topic);
        if (mark !== undefined && e.id > mark && !recent.has(e.id)) due.push(e);
      }
      if (due.length > 0) o.log.warn({ from, events: due.length }, 'realtime events the bus did not bring: sent from the event log');
      if (due.length > 0 && rows.length > REPLAY_LIMIT) {
        const last = await o.eventLog.lastId();
        const missed = new Set(due.map((e) => e.topic));
        for (const conn of [...conns]) {
          const theirs = [...conn.topics].filter((t) => missed.has(t));
          if (theirs.length) send(conn, { op: 'resync', topics: theirs });
        }
        for (const t of topics) if (checked.has(t)) checked.set(t, Math.max(checked.get(t)!, last));
        return;
      }
      for (const event of due) onEvent(event);
      if (safe !== null) for (const t of topics) if (checked.has(t)) checked.set(t, Math.max(checked.get(t)!, safe));
    } catch (err) {
      o.log.warn({ err }, 'realtime catch-up failed');
    } finally {
      catchingUp = false;
    }
  }

  function onBus(message: BusEvent): void {
    if (message.type !== 'identity.revoked' || typeof message.userId !== 'string') return;
    for (const conn of [...conns]) if (conn.principal.userId === message.userId) void recheck(conn);
  }

  return {
    /** Hear the event log and the bus (once per hub) and start the keepalive tick. */
    async start(): Promise<void> {
      unsubscribers.push(await o.eventLog.subscribe(onEvent));
      unsubscribers.push(await o.events.subscribe(onBus));
      heardMax = Math.max(heardMax, await o.eventLog.lastId());
      timer = setInterval(tick, pingIntervalMs);
      timer.unref();
      catchUpTimer = setInterval(() => void catchUp(), catchUpIntervalMs);
      catchUpTimer.unref();
    },

    /** Close every socket (1001) and stop hearing. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      if (catchUpTimer) clearInterval(catchUpTimer);
      timer = null;
      catchUpTimer = null;
      for (const conn of [...conns]) close(conn, CLOSE.goingAway, 'realtime.shutdown', true);
      await Promise.all(unsubscribers.splice(0).map((u) => u().catch(() => {})));
    },

    /** Take a socket whose upgrade request was authenticated as `principal`: `hello` first, then frames. */
    attach(socket: RealtimeSocket, principal: Principal, credential: Credential): void {
      const conn: Conn = {
        id: ++seq, socket, principal, credential, topics: new Set(), pending: new Map(),
        rate: createRateWindow(o.maxMessagesPerSecond), alive: true, closed: false, greeted: false, chain: Promise.resolve(),
      };
      conns.add(conn);
      socket.on('message', (data, isBinary) => handle(conn, data, isBinary));
      socket.on('pong', () => { conn.alive = true; });
      socket.on('close', () => { conn.closed = true; forget(conn); });
      socket.on('error', () => { conn.closed = true; forget(conn); socket.terminate(); });
      conn.chain = o.eventLog.lastId()
        .catch((err: unknown) => {
          o.log.warn({ err }, 'realtime hello could not read the newest event id');
          return heardMax;
        })
        .then((lastId) => {
          send(conn, { op: 'hello', lastId });
          conn.greeted = true;
        });
    },

    stats(): HubStats {
      return { sockets: conns.size, topics: Object.fromEntries([...byTopic].map(([t, s]) => [t, s.size])) };
    },
  };
}

export type RealtimeHub = ReturnType<typeof createRealtimeHub>;
