import type { PoolClient, Queryable } from '../../core/db/pool.ts';
import type { Batch, PurgeRow } from './types.ts';

/** Any constant: a retention run holds this session advisory lock from start to end. */
const RUN_LOCK = 7_420_009;

/** A live hold of the segment's camera overlapping its [starts_at, ends_at). */
const HELD = `EXISTS (SELECT 1 FROM holds h WHERE h.device_id = s.device_id AND h.released_at IS NULL
  AND h.starts_at < s.ends_at AND h.ends_at > s.starts_at)`;

const PURGE_COLUMNS = `id, store, node_id AS "nodeId", path, bytes`;

/**
 * Queue what the CTE `gone` (path, bytes[, node_id]) took out of its index table. Every
 * statement below takes its victims, deletes (or expires) their index rows and queues their
 * files in ONE statement, so one transaction: the index never names a file that is going,
 * and a crash before the unlink leaves the file queued for the next run (008_workers.sql).
 * Victims are taken FOR UPDATE SKIP LOCKED: statements that somehow overlap never share a row.
 */
const queue = (store: 'media' | 'evidence', nodeExpr: string) => `queued AS (
  INSERT INTO media_purges (store, node_id, path, bytes)
  SELECT '${store}', ${nodeExpr}, path, bytes FROM gone
  ON CONFLICT (store, node_id, path) DO UPDATE SET bytes = EXCLUDED.bytes, queued_at = now()
  RETURNING ${PURGE_COLUMNS})`;

/** Delete the segments `victims` selects (ids) and queue their files; with the batch's last (starts_at, id). */
const takeSegments = (victims: string) => `WITH victims AS (${victims}),
  gone AS (DELETE FROM recording_segments s USING victims v WHERE s.id = v.id RETURNING s.id, s.node_id, s.path, s.bytes, s.starts_at),
  ${queue('media', `coalesce(node_id, '')`)},
  last AS (SELECT starts_at, id FROM gone ORDER BY starts_at DESC, id DESC LIMIT 1)
  SELECT q.*, (SELECT starts_at FROM last) AS "lastStartsAt", (SELECT id FROM last) AS "lastId" FROM queued q`;

function batchOf(rows: Record<string, unknown>[]): Batch & { last: { startsAt: Date; id: number } | null } {
  const queued = rows.map(({ lastStartsAt: _s, lastId: _i, ...row }) => row as unknown as PurgeRow);
  const first = rows[0];
  return {
    taken: queued.length,
    bytes: queued.reduce((n, r) => n + r.bytes, 0),
    queued,
    last: first ? { startsAt: first.lastStartsAt as Date, id: first.lastId as number } : null,
  };
}

/**
 * A camera's ($1) unheld segments that ended by the cutoff ($2), oldest first after the
 * cursor ($3, null at first), $4 at most. Exported for the plan checks (test and bench).
 */
export const EXPIRED_VICTIMS = `SELECT s.id FROM recording_segments s
  WHERE s.device_id = $1 AND s.starts_at < $2 AND s.ends_at <= $2 AND s.starts_at > coalesce($3::timestamptz, '-infinity')
    AND NOT ${HELD}
  ORDER BY s.starts_at LIMIT $4 FOR UPDATE OF s SKIP LOCKED`;

/** A node's ($1) unheld segments across its cameras, oldest first after the cursor ($2, $3; null at first), $4 at most. */
export const NODE_CANDIDATES = `SELECT s.id, s.bytes, s.starts_at FROM recording_segments s
  WHERE s.node_id = $1 AND (s.starts_at, s.id) > (coalesce($2::timestamptz, '-infinity'), coalesce($3::bigint, 0)) AND NOT ${HELD}
  ORDER BY s.starts_at, s.id LIMIT $4 FOR UPDATE OF s SKIP LOCKED`;

/*
 * Plans (PostgreSQL 15, 100,000 segments over 20 cameras on one node, one hold, ANALYZE;
 * EXPLAIN ANALYZE of one 1000-row batch; tests/integration/retention.test.ts asserts them):
 *
 *   expired:    Limit -> LockRows -> Nested Loop Anti Join (holds: holds_active_idx once there are many)
 *                 -> Index Scan using recording_segments_device_id_starts_at_key on recording_segments s
 *                      Index Cond: ((device_id = $1) AND (starts_at < $2) AND (starts_at > '-infinity'))
 *                      Filter: (ends_at <= $2)                       Execution Time: 2.8 ms
 *   high-water: Limit -> LockRows -> Nested Loop Anti Join
 *                 -> Index Scan using recording_segments_node_idx on recording_segments s
 *                      Index Cond: ((node_id = $1) AND (ROW(starts_at, id) > ROW('-infinity', 0)))
 *                                                                    Execution Time: 2.0 ms
 * Neither sorts: the index order is the ORDER BY, and a batch reads only its own rows.
 */
export function createRetentionRepository(db: Queryable) {
  return {
    /** Take the run lock on `client`: a session lock, so it goes with the connection should the worker die. */
    async tryLock(client: PoolClient): Promise<boolean> {
      const { rows } = await client.query('SELECT pg_try_advisory_lock($1) AS ok', [RUN_LOCK]);
      return rows[0].ok as boolean;
    },
    async unlock(client: PoolClient): Promise<void> {
      await client.query('SELECT pg_advisory_unlock($1)', [RUN_LOCK]);
    },

    /** Up to `limit` rows of the purge queue after `afterId`, in order. */
    async queued(limit: number, afterId: number): Promise<PurgeRow[]> {
      const { rows } = await db.query(`SELECT ${PURGE_COLUMNS} FROM media_purges WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
      return rows as PurgeRow[];
    },

    /** Files handled (unlinked, already gone, or never to be touched): out of the queue. */
    async dequeue(ids: readonly number[]): Promise<void> {
      if (ids.length) await db.query('DELETE FROM media_purges WHERE id = ANY($1::bigint[])', [ids]);
    },

    /** Which of `paths` the recording index names: those files are footage again (a restarted gateway re-indexed them), not garbage. */
    async indexedPaths(paths: readonly string[]): Promise<Set<string>> {
      if (paths.length === 0) return new Set();
      const { rows } = await db.query('SELECT path FROM recording_segments WHERE path = ANY($1::text[])', [paths]);
      return new Set(rows.map((r) => r.path as string));
    },

    /**
     * Cameras with segments or snapshots past their retention at `now`, decommissioned ones
     * included (their footage stays until its period ends, then goes like any other).
     */
    async devicesWithExpired(now: Date): Promise<{ id: string; retentionDays: number }[]> {
      const { rows } = await db.query(
        `SELECT d.id, d.retention_days AS "retentionDays" FROM devices d
           CROSS JOIN LATERAL (SELECT $1::timestamptz - make_interval(secs => d.retention_days * 86400) AS cutoff) c
          WHERE EXISTS (SELECT 1 FROM recording_segments s WHERE s.device_id = d.id AND s.starts_at < c.cutoff AND s.ends_at <= c.cutoff)
             OR EXISTS (SELECT 1 FROM snapshots sn WHERE sn.device_id = d.id AND sn.taken_at < c.cutoff)
          ORDER BY d.id`,
        [now],
      );
      return rows as { id: string; retentionDays: number }[];
    },

    /**
     * One batch of a camera's unheld segments that ended by `cutoff`, oldest first, after the
     * cursor `after` (so held ones are passed over once, not read again every batch).
     */
    async expireSegments(deviceId: string, cutoff: Date, after: Date | null, limit: number): Promise<Batch & { last: Date | null }> {
      const { rows } = await db.query(takeSegments(EXPIRED_VICTIMS), [deviceId, cutoff, after, limit]);
      const b = batchOf(rows);
      return { ...b, last: b.last?.startsAt ?? null };
    },

    /** A camera's segments past `cutoff` that a hold keeps. */
    async countExpired(deviceId: string, cutoff: Date): Promise<number> {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM recording_segments s WHERE s.device_id = $1 AND s.starts_at < $2 AND s.ends_at <= $2 AND ${HELD}`,
        [deviceId, cutoff]);
      return rows[0].n as number;
    },

    /**
     * One batch of a node's oldest unheld segments across its cameras, after the cursor, whose
     * bytes cover `needBytes`: the shortest oldest-first run that does, at most `limit` rows.
     */
    async freeOldest(nodeId: string, needBytes: number, after: { startsAt: Date; id: number } | null, limit: number) {
      const { rows } = await db.query(takeSegments(`SELECT id FROM (
           SELECT id, sum(bytes) OVER (ORDER BY starts_at, id) - bytes AS before FROM (${NODE_CANDIDATES}) c
         ) w WHERE before < $5`),
      [nodeId, after?.startsAt ?? null, after?.id ?? null, limit, needBytes]);
      return batchOf(rows);
    },

    /**
     * One batch of a camera's snapshots taken before `cutoff`, oldest first; kept while a hold
     * of the camera covers the moment, or an export still being built includes it.
     */
    async expireSnapshots(deviceId: string, cutoff: Date, limit: number): Promise<Batch> {
      const { rows } = await db.query(
        `WITH victims AS (
           SELECT sn.id FROM snapshots sn
            WHERE sn.device_id = $1 AND sn.taken_at < $2
              AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.device_id = sn.device_id AND h.released_at IS NULL
                                AND h.starts_at <= sn.taken_at AND h.ends_at > sn.taken_at)
              AND NOT EXISTS (SELECT 1 FROM exports e WHERE e.status IN ('queued', 'running') AND sn.id = ANY (e.snapshot_ids))
            ORDER BY sn.taken_at LIMIT $3 FOR UPDATE OF sn SKIP LOCKED
         ),
         gone AS (DELETE FROM snapshots sn USING victims v WHERE sn.id = v.id RETURNING sn.path, sn.bytes::bigint AS bytes),
         ${queue('evidence', `''`)}
         SELECT * FROM queued`,
        [deviceId, cutoff, limit]);
      const queued = rows as PurgeRow[];
      return { taken: queued.length, bytes: queued.reduce((n, r) => n + r.bytes, 0), queued };
    },

    /**
     * One batch of export packages made before `cutoff`: each row turns 'expired' (path NULL;
     * its manifest stays as the record of what was delivered) and its package is queued. Run
     * on `tx`, the transaction that also releases the exports' holds.
     */
    async expireExports(tx: Queryable, cutoff: Date, limit: number): Promise<Batch & { ids: string[] }> {
      const { rows } = await tx.query(
        `WITH victims AS (
           SELECT id, path, coalesce(bytes, 0) AS bytes FROM exports
            WHERE status = 'done' AND path IS NOT NULL AND coalesce(finished_at, requested_at) < $1
            ORDER BY coalesce(finished_at, requested_at) LIMIT $2 FOR UPDATE SKIP LOCKED
         ),
         gone AS (UPDATE exports e SET status = 'expired', path = NULL FROM victims v WHERE e.id = v.id RETURNING e.id, v.path, v.bytes),
         ${queue('evidence', `''`)}
         SELECT g.id::text AS "exportId", q.* FROM gone g JOIN queued q ON q.path = g.path`,
        [cutoff, limit]);
      const queued = rows.map(({ exportId: _e, ...row }) => row as PurgeRow);
      return { ids: rows.map((r) => r.exportId as string), taken: queued.length, bytes: queued.reduce((n, r) => n + r.bytes, 0), queued };
    },

    /**
     * Of `ids` (exports whose package just expired), those made for an incident that is still
     * open: their holds stay until the incident is closed or cancelled (the incident releases them).
     */
    async heldByOpenIncident(tx: Queryable, ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const { rows } = await tx.query(
        `SELECT e.id::text AS id FROM exports e JOIN incidents i ON i.id = e.incident_id
          WHERE e.id = ANY($1::uuid[]) AND i.status NOT IN ('closed', 'cancelled')`, [ids]);
      return new Set(rows.map((r) => r.id as string));
    },

    /** The oldest footage left of each camera that has any. */
    async oldest(): Promise<{ deviceId: string; oldestAt: Date }[]> {
      const { rows } = await db.query(
        `SELECT d.id AS "deviceId", o.starts_at AS "oldestAt" FROM devices d
           CROSS JOIN LATERAL (SELECT starts_at FROM recording_segments s WHERE s.device_id = d.id ORDER BY starts_at LIMIT 1) o
          ORDER BY d.id`);
      return rows as { deviceId: string; oldestAt: Date }[];
    },

    /** Gateway nodes heard from within `staleSeconds`. */
    async liveNodes(staleSeconds: number): Promise<string[]> {
      const { rows } = await db.query(`SELECT id FROM gateway_nodes WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY id`, [staleSeconds]);
      return rows.map((r) => r.id as string);
    },

    async activeHolds(): Promise<number> {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM holds WHERE released_at IS NULL');
      return rows[0].n as number;
    },

    async queueLength(): Promise<number> {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM media_purges');
      return rows[0].n as number;
    },
  };
}

export type RetentionRepository = ReturnType<typeof createRetentionRepository>;
