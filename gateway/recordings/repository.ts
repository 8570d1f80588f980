import type { Queryable } from '../../core/db/pool.ts';
import type { NewSegment, RecordingSegment, Span } from './types.ts';

/**
 * No recording segment is longer than this. It bounds range queries from below
 * (`starts_at > from - MAX_SEGMENT`), so a range reads only its part of
 * recording_segments_range_idx instead of the camera's whole history.
 */
export const MAX_SEGMENT_MS = 60 * 60 * 1000;

const COLUMNS = `id, device_id AS "deviceId", starts_at AS "startsAt", ends_at AS "endsAt", path, bytes, node_id AS "nodeId"`;

/*
 * Plan check (PostgreSQL 15; one camera with 3 days × 8,640 ten-second segments, after
 * ANALYZE; tests/integration/recordings.test.ts runs this query under EXPLAIN ANALYZE
 * and asserts the index is used and nothing is scanned sequentially):
 *
 *   Index Scan using recording_segments_range_idx on recording_segments
 *       (cost=0.29..1220.41 rows=6000 width=131) (actual time=0.026..0.849 rows=8640 loops=1)
 *     Index Cond: ((device_id = '…'::uuid) AND (starts_at < '2024-05-02 16:00:00+00')
 *       AND (starts_at > ('2024-05-01 16:00:00+00' - '01:00:00'::interval)) AND (ends_at > '2024-05-01 16:00:00+00'))
 *   Execution Time: 1.074 ms
 *
 * No sort node: the index order is the ORDER BY.
 */
export function createRecordingRepository(db: Queryable) {
  const range = `device_id = $1 AND starts_at < $3 AND starts_at > $2::timestamptz - make_interval(secs => ${MAX_SEGMENT_MS / 1000}) AND ends_at > $2`;

  return {
    /**
     * Insert closed segments; a segment already indexed (same path, or same camera
     * and start) is left as it is. Rows of devices missing from the registry are
     * skipped and named in `unknownDevices`, instead of failing the batch.
     */
    async insertSegments(rows: readonly NewSegment[], nodeId: string | null): Promise<{ inserted: number; unknownDevices: string[] }> {
      if (rows.length === 0) return { inserted: 0, unknownDevices: [] };
      const { rows: [result] } = await db.query(
        `WITH input AS (
           SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::bigint[])
             AS u(device_id, starts_at, ends_at, path, bytes)
         ), known AS (
           SELECT id FROM devices WHERE id IN (SELECT DISTINCT device_id FROM input)
         ), added AS (
           INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes, node_id)
           SELECT device_id, starts_at, ends_at, path, bytes, $6 FROM input WHERE device_id IN (SELECT id FROM known)
           ON CONFLICT DO NOTHING
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM added)::int AS inserted,
                ARRAY(SELECT DISTINCT device_id::text FROM input WHERE device_id NOT IN (SELECT id FROM known)) AS unknown`,
        [rows.map((r) => r.deviceId), rows.map((r) => r.startsAt), rows.map((r) => r.endsAt), rows.map((r) => r.path), rows.map((r) => r.bytes), nodeId],
      );
      return { inserted: result.inserted, unknownDevices: result.unknown };
    },

    /** Which of `paths` (files of one camera starting around [from, to]) are indexed already. */
    async indexedPaths(deviceId: string, paths: readonly string[], around: { from: Date; to: Date }): Promise<Set<string>> {
      if (paths.length === 0) return new Set();
      const { rows } = await db.query(
        `SELECT path FROM recording_segments
          WHERE device_id = $1 AND starts_at >= $2::timestamptz - interval '1 day' AND starts_at < $3::timestamptz + interval '1 day' AND path = ANY($4::text[])`,
        [deviceId, around.from, around.to, paths],
      );
      return new Set(rows.map((r) => r.path as string));
    },

    /** Where the camera's last segment starting before `before` (within MAX_SEGMENT) ends, if any. */
    async previousEnd(deviceId: string, before: Date): Promise<Date | null> {
      const { rows } = await db.query(
        `SELECT ends_at FROM recording_segments
          WHERE device_id = $1 AND starts_at < $2 AND starts_at > $2::timestamptz - make_interval(secs => ${MAX_SEGMENT_MS / 1000})
          ORDER BY starts_at DESC LIMIT 1`,
        [deviceId, before],
      );
      return (rows[0]?.ends_at as Date | undefined) ?? null;
    },

    /** Segments of a camera overlapping [from, to), in order. */
    async segmentsInRange(deviceId: string, from: Date, to: Date): Promise<RecordingSegment[]> {
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM recording_segments WHERE ${range} ORDER BY starts_at`, [deviceId, from, to]);
      return rows as RecordingSegment[];
    },

    /**
     * Just what a playlist needs, times as epoch ms (a 24-hour playlist reads 8,640 rows:
     * numbers parse several times faster than timestamptz text).
     */
    async playlistSegments(deviceId: string, from: Date, to: Date): Promise<{ id: number; startsAt: Date; endsAt: Date }[]> {
      const { rows } = await db.query(
        `SELECT id, (extract(epoch FROM starts_at) * 1000)::float8 AS s, (extract(epoch FROM ends_at) * 1000)::float8 AS e
           FROM recording_segments WHERE ${range} ORDER BY starts_at`,
        [deviceId, from, to],
      );
      return rows.map((r) => ({ id: r.id as number, startsAt: new Date(r.s as number), endsAt: new Date(r.e as number) }));
    },

    async countInRange(deviceId: string, from: Date, to: Date): Promise<number> {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM recording_segments WHERE ${range}`, [deviceId, from, to]);
      return rows[0].n as number;
    },

    /** A segment, only if it belongs to `deviceId`. */
    async segmentById(deviceId: string, id: number): Promise<RecordingSegment | null> {
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM recording_segments WHERE device_id = $1 AND id = $2`, [deviceId, id]);
      return (rows[0] as RecordingSegment | undefined) ?? null;
    },

    /**
     * Footage of a camera over [from, to) as merged spans: segments closer than
     * `toleranceMs` join one span (gaps and islands), so a day is a handful of rows.
     */
    async coverage(deviceId: string, from: Date, to: Date, toleranceMs: number): Promise<Span[]> {
      const { rows } = await db.query(
        `SELECT min(starts_at) AS "startsAt", max(ends_at) AS "endsAt" FROM (
           SELECT starts_at, ends_at, count(*) FILTER (WHERE gap) OVER (ORDER BY starts_at) AS island FROM (
             SELECT starts_at, ends_at,
                    starts_at > max(ends_at) OVER (ORDER BY starts_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                                + make_interval(secs => $4::float8 / 1000) AS gap
               FROM recording_segments WHERE ${range}
           ) s
         ) i GROUP BY island ORDER BY 1`,
        [deviceId, from, to, toleranceMs],
      );
      return rows as Span[];
    },
  };
}

export type RecordingRepository = ReturnType<typeof createRecordingRepository>;
