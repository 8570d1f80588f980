import type { Queryable } from './db/pool.ts';
import type { BusEvent, EventBus } from './redis.ts';

/**
 * The realtime event log behind the console's WebSocket (/api/events). An event is a row
 * first (table `events`, its id the order clients replay in), then published on the Redis
 * bus so every console replica fans it out to its own sockets. A client that reconnects
 * with the last id it saw reads what it missed from the rows (`since`).
 *
 * Topics: `alarms`, `devices`, `incidents`, `incident:<id>` (later `units`, `unit:<id>`).
 * Who may subscribe to which topic is the realtime server's business (console/server/realtime).
 */
export interface RealtimeEvent {
  id: number;
  at: string;
  topic: string;
  kind: string;
  payload: Record<string, unknown>;
}

/** The bus message type realtime events travel under. */
export const REALTIME_BUS_TYPE = 'realtime';

export interface EventLog {
  /**
   * Write the event row (in `db` when given, so it commits with the change it reports) and
   * publish it. With a transaction, call `publishAfterCommit` with the returned event once
   * the transaction has committed; without one it is published at once.
   */
  append(topic: string, kind: string, payload: Record<string, unknown>, db?: Queryable): Promise<RealtimeEvent>;
  /** Publish an event appended inside a transaction, after that transaction committed. */
  publishAfterCommit(event: RealtimeEvent): Promise<void>;
  /**
   * Publish an event that is stale as soon as a newer one exists (unit positions): it takes its id
   * from the events' own sequence, so it orders with every other event, but no row is written and
   * no replay carries it; a client that reconnects reloads the current state instead.
   */
  publishEphemeral(topic: string, kind: string, payload: Record<string, unknown>): Promise<RealtimeEvent>;
  /** Events after `afterId` on any of `topics` (oldest first), at most `limit`. */
  since(afterId: number, topics: readonly string[], limit: number): Promise<RealtimeEvent[]>;
  /** The newest event id (0 when none): a fresh client starts from here. */
  lastId(): Promise<number>;
  /** Hear every realtime event any process appends from now on. */
  subscribe(listener: (event: RealtimeEvent) => void): Promise<() => Promise<void>>;
  /** Delete events older than `hours` (the replay window); returns how many went. */
  purge(hours: number): Promise<number>;
}

interface Row { id: string; at: Date; topic: string; kind: string; payload: Record<string, unknown> }
const toEvent = (r: Row): RealtimeEvent => ({ id: Number(r.id), at: r.at.toISOString(), topic: r.topic, kind: r.kind, payload: r.payload });

export function createEventLog(opts: { db: Queryable; bus: EventBus }): EventLog {
  const { db, bus } = opts;
  const publish = (event: RealtimeEvent) => bus.publish(REALTIME_BUS_TYPE, { event });
  return {
    async append(topic, kind, payload, tx) {
      const { rows } = await (tx ?? db).query<Row>(
        'INSERT INTO events (topic, kind, payload) VALUES ($1, $2, $3) RETURNING id, at, topic, kind, payload',
        [topic, kind, JSON.stringify(payload)],
      );
      const event = toEvent(rows[0]!);
      if (!tx) await publish(event);
      return event;
    },
    publishAfterCommit: publish,
    async publishEphemeral(topic, kind, payload) {
      const { rows } = await db.query<{ id: string; at: Date }>(`SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id, now() AS at`);
      const event: RealtimeEvent = { id: Number(rows[0]!.id), at: rows[0]!.at.toISOString(), topic, kind, payload };
      await publish(event);
      return event;
    },
    async since(afterId, topics, limit) {
      if (topics.length === 0) return [];
      const { rows } = await db.query<Row>(
        'SELECT id, at, topic, kind, payload FROM events WHERE id > $1 AND topic = ANY($2) ORDER BY id LIMIT $3',
        [afterId, topics, limit],
      );
      return rows.map(toEvent);
    },
    async lastId() {
      const { rows } = await db.query<{ id: string | null }>('SELECT max(id) AS id FROM events');
      return Number(rows[0]?.id ?? 0);
    },
    subscribe(listener) {
      return bus.subscribe((message: BusEvent) => {
        if (message.type !== REALTIME_BUS_TYPE) return;
        const event = message.event as RealtimeEvent | undefined;
        if (event && typeof event.id === 'number' && typeof event.topic === 'string') listener(event);
      });
    },
    async purge(hours) {
      const { rowCount } = await db.query(`DELETE FROM events WHERE at < now() - make_interval(hours => $1)`, [hours]);
      return rowCount ?? 0;
    },
  };
}
