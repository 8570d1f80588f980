import type { Queryable } from '../../../core/db/pool.ts';
import { MAX_SEGMENT_MS } from '../../../gateway/recordings/repository.ts';
import { MAP_DEVICE_COLUMNS, toMapDevice } from '../map/repository.ts';
import type { FootageDevice, FootageEvent, FootageEventKind, IncidentRef, NearbyCamera, NearbyKind, TimeRange } from './types.ts';

const KINDS: Record<NearbyKind, string[] | null> = { camera: ['camera', 'mobile'], checkpoint: ['checkpoint'], all: null };

/*
 * Plan check (PostgreSQL 15, 2,200 located devices scattered over 11 × 11 km, EXPLAIN ANALYZE): the
 * nearby query is a Bitmap Index Scan on devices_earth_idx (the earth_box cube test: 93 candidates
 * for 1 km), a Bitmap Heap Scan with the exact distance as a filter, and a quicksort of what is left
 * (58 rows); 2.5 ms for 2 km on the loaded 2-core bench machine, against 11–17 ms with earth_distance()
 * as the filter. The
 * coverage query runs one LATERAL per camera over recording_segments_range_idx (an Index Only Scan
 * once the table is vacuumed: starts_at and ends_at are both in the index) in index order, so the
 * window functions need no sort; only merged ranges (a handful of rows per camera) leave the server.
 */
export function createSearchRepository(db: Queryable) {
  return {
    /** Located devices in service within `radius` metres of the centre, nearest first. */
    async nearby(c: { lat: number; lon: number; radius: number; kind: NearbyKind; limit: number }): Promise<NearbyCamera[]> {
      // The box test uses devices_earth_idx; the exact distance is the haversine on earthdistance's own
      // sphere (earth() = 6,378,168 m), so it equals earth_distance() but costs plain float arithmetic
      // instead of two ll_to_earth() cubes per row (≈ 5 times faster on 100 candidates).
      const { rows } = await db.query(
        `SELECT * FROM (
           SELECT ${MAP_DEVICE_COLUMNS},
                  2 * 6378168 * asin(sqrt(power(sin(radians(d.lat - $1) / 2), 2)
                                      + cos(radians($1)) * cos(radians(d.lat)) * power(sin(radians(d.lon - $2) / 2), 2))) AS distance
             FROM devices d
            WHERE d.lat IS NOT NULL AND d.lon IS NOT NULL AND d.decommissioned_at IS NULL
              AND earth_box(ll_to_earth($1, $2), $3) @> ll_to_earth(d.lat, d.lon)
              AND ($4::text[] IS NULL OR d.kind = ANY($4::text[]))
         ) x WHERE distance <= $3
         ORDER BY distance, id LIMIT $5`,
        [c.lat, c.lon, c.radius, KINDS[c.kind], c.limit],
      );
      return rows.map((r) => ({ device: toMapDevice(r), distanceMeters: Math.round(Number(r.distance) * 10) / 10 }));
    },

    /** One device, decommissioned ones too (their footage stays searchable). */
    async device(id: string): Promise<FootageDevice | null> {
      const { rows } = await db.query(`SELECT ${MAP_DEVICE_COLUMNS} FROM devices d WHERE d.id = $1`, [id]);
      return rows[0] ? toMapDevice(rows[0]) : null;
    },

    /**
     * Devices matching a footage search, by name, up to `limit` (ask one more to know there are more):
     * the ids given (decommissioned too), and/or those inside the polygon (bbox prefilter, then
     * `point(lon, lat) <@ polygon`), and/or sharing a tag. Without ids, only devices in service.
     */
    async footageDevices(f: {
      ids: string[] | null; polygon: string | null; bbox: { minLat: number; maxLat: number; minLon: number; maxLon: number } | null;
      tags: string[] | null; limit: number;
    }): Promise<FootageDevice[]> {
      const { rows } = await db.query(
        `SELECT ${MAP_DEVICE_COLUMNS} FROM devices d
          WHERE ($1::uuid[] IS NULL OR d.id = ANY($1::uuid[]))
            AND ($1::uuid[] IS NOT NULL OR d.decommissioned_at IS NULL)
            AND ($2::polygon IS NULL OR (d.lat BETWEEN $3 AND $4 AND d.lon BETWEEN $5 AND $6 AND point(d.lon, d.lat) <@ $2::polygon))
            AND ($7::text[] IS NULL OR d.tags && $7::text[])
          ORDER BY d.name, d.id LIMIT $8`,
        [f.ids, f.polygon, f.bbox?.minLat ?? null, f.bbox?.maxLat ?? null, f.bbox?.minLon ?? null, f.bbox?.maxLon ?? null, f.tags, f.limit],
      );
      return rows.map(toMapDevice);
    },

    /**
     * Recorded ranges of each camera over [from, to): segments closer than `toleranceMs` merged into
     * one range (gaps and islands, in SQL), clipped to the window. Rows: a handful per camera.
     * Each segment is compared with the one before it (lag), three times cheaper than a running
     * max of all earlier ends; segments do not overlap (one segmenter per camera, unique start), so
     * the two agree. Should two nodes have recorded one camera at once, a segment lying wholly
     * inside the one before could show a hole that is not there, never hide one.
     */
    async coverage(deviceIds: readonly string[], from: Date, to: Date, toleranceMs: number): Promise<Map<string, TimeRange[]>> {
      const out = new Map<string, TimeRange[]>(deviceIds.map((id) => [id, []]));
      if (deviceIds.length === 0) return out;
      const { rows } = await db.query<{ device_id: string; s: number; e: number }>(
        `SELECT u.id AS device_id, (extract(epoch FROM greatest(c.s, $2)) * 1000)::float8 AS s, (extract(epoch FROM least(c.e, $3)) * 1000)::float8 AS e
           FROM unnest($1::uuid[]) AS u(id)
           CROSS JOIN LATERAL (
             -- An island starts where a segment begins more than the tolerance after the previous one
             -- ended; it ends where the next island's first segment says the previous one ended.
             SELECT s, coalesce(lead(prev_end) OVER (ORDER BY s), last_end) AS e FROM (
               SELECT starts_at AS s, prev_end, max(ends_at) OVER () AS last_end FROM (
                 SELECT starts_at, ends_at, lag(ends_at) OVER (ORDER BY starts_at) AS prev_end
                   FROM recording_segments
                  WHERE device_id = u.id AND starts_at < $3 AND starts_at > $2::timestamptz - make_interval(secs => ${MAX_SEGMENT_MS / 1000}) AND ends_at > $2
               ) g
             ) h WHERE prev_end IS NULL OR s > prev_end + make_interval(secs => $4::float8 / 1000)
           ) c
          ORDER BY 1, 2`,
        [deviceIds, from, to, toleranceMs],
      );
      for (const r of rows) if (r.e > r.s) out.get(r.device_id)!.push({ from: new Date(r.s), to: new Date(r.e) });
      return out;
    },

    /**
     * Events of the cameras in [from, to) by kind: alarms raised, snapshots taken, bookmarks
     * overlapping, offline periods overlapping (runs of `offline` status rows, from the one that
     * started it, which may lie before `from`, to the next other status, or null while still offline).
     */
    async events(deviceIds: readonly string[], from: Date, to: Date, kinds: readonly FootageEventKind[], perKindLimit: number): Promise<(FootageEvent & { deviceId: string })[]> {
      if (deviceIds.length === 0 || kinds.length === 0) return [];
      const parts: string[] = [];
      if (kinds.includes('alarm')) {
        parts.push(`(SELECT 'alarm' AS kind, device_id, raised_at AS at, NULL::timestamptz AS until, id::text AS id, kind AS label
                      FROM alarms WHERE device_id = ANY($1::uuid[]) AND raised_at >= $2 AND raised_at < $3 ORDER BY raised_at LIMIT $4)`);
      }
      if (kinds.includes('snapshot')) {
        parts.push(`(SELECT 'snapshot', device_id, taken_at, NULL::timestamptz, id::text, coalesce(nullif(reason, ''), purpose)
                      FROM snapshots WHERE device_id = ANY($1::uuid[]) AND taken_at >= $2 AND taken_at < $3 ORDER BY taken_at LIMIT $4)`);
      }
      if (kinds.includes('bookmark')) {
        parts.push(`(SELECT 'bookmark', device_id, starts_at, ends_at, id::text, note
                      FROM bookmarks WHERE device_id = ANY($1::uuid[]) AND starts_at < $3 AND ends_at > $2 ORDER BY starts_at LIMIT $4)`);
      }
      if (kinds.includes('offline')) {
        parts.push(`(WITH ev AS (
                        SELECT e.id, e.device_id, e.at, e.status FROM device_status_events e
                         WHERE e.device_id = ANY($1::uuid[]) AND e.at >= $2 AND e.at < $3
                        UNION ALL
                        -- A run still going at the start: its first row, after the last other status before the start.
                        SELECT p.id, p.device_id, p.at, p.status FROM unnest($1::uuid[]) AS u(id) CROSS JOIN LATERAL (
                          SELECT id, device_id, at, status FROM device_status_events
                           WHERE device_id = u.id AND at < $2 AND at > coalesce((
                                   SELECT max(at) FROM device_status_events WHERE device_id = u.id AND at < $2 AND status <> 'offline'
                                 ), '-infinity'::timestamptz)
                           ORDER BY at LIMIT 1
                        ) p
                      ), marked AS (
                        SELECT id, device_id, at, status = 'offline' AS off,
                               lag(status = 'offline') OVER (PARTITION BY device_id ORDER BY at, id) AS prev_off
                          FROM ev
                      ), runs AS (
                        SELECT id, device_id, at, off, lead(at) OVER (PARTITION BY device_id ORDER BY at, id) AS ends
                          FROM marked WHERE prev_off IS DISTINCT FROM off
                      )
                      SELECT 'offline', device_id, at, ends, id::text, ''
                        FROM runs WHERE off AND (ends IS NULL OR ends > $2) ORDER BY at LIMIT $4)`);
      }
      const { rows } = await db.query<{ kind: FootageEventKind; device_id: string; at: Date; until: Date | null; id: string; label: string | null }>(
        parts.join(' UNION ALL '), [deviceIds, from, to, perKindLimit],
      );
      return rows.map((r) => ({ deviceId: r.device_id, kind: r.kind, at: r.at, to: r.until, id: r.id, label: r.label ?? '' }));
    },

    /** The incident a search names (its number is the audited reason). */
    async incident(id: string): Promise<IncidentRef | null> {
      const { rows } = await db.query<IncidentRef>('SELECT id, number, lat, lon, status FROM incidents WHERE id = $1', [id]);
      return rows[0] ?? null;
    },

  };
}

export type SearchRepository = ReturnType<typeof createSearchRepository>;
