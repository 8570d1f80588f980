import type { Queryable } from '../../../core/db/pool.ts';
import type {
  Actor, Bookmark, ExportSummary, IncidentChanges, IncidentRecord, IncidentStatus, ListCursor, ListFilter, NewIncident, TimelineEntry,
} from './types.ts';

const SUMMARY = `i.id, i.number, i.type, i.priority, i.source, i.status, i.title, i.address, i.lat, i.lon,
  i.occurred_at AS "occurredAt", i.created_at AS "createdAt", i.updated_at AS "updatedAt", i.created_by_name AS "createdByName", i.version`;
const FULL = `${SUMMARY}, i.description, i.reporter_name AS "reporterName", i.reporter_phone AS "reporterPhone",
  i.device_id AS "deviceId", i.site_id AS "siteId", i.closed_at AS "closedAt",
  i.video_assisted AS "videoAssisted", i.dispatched_at AS "dispatchedAt", i.acknowledged_at AS "acknowledgedAt", i.en_route_at AS "enRouteAt", i.arrived_at AS "arrivedAt"`;

/** The text the trigram index (incidents_text_idx, migration 010) is built over: keep it identical. */
const TEXT = `(i.number || ' ' || i.title || ' ' || i.description || ' ' || i.address)`;

const CHANGE_COLUMNS: Record<keyof IncidentChanges, string> = {
  type: 'type', priority: 'priority', source: 'source', title: 'title', description: 'description', address: 'address',
  lat: 'lat', lon: 'lon', occurredAt: 'occurred_at', reporterName: 'reporter_name', reporterPhone: 'reporter_phone',
  deviceId: 'device_id', siteId: 'site_id',
};

const BOOKMARK = `b.id, b.incident_id AS "incidentId", b.device_id AS "deviceId", coalesce(d.name, '') AS "deviceName",
  b.starts_at AS "from", b.ends_at AS "to", b.note, b.created_by_name AS "createdByName", b.created_at AS "createdAt"`;

const TIMELINE = `id, at, actor_name AS "actorName", kind, details`;

/** `LIKE` pattern matching `text` anywhere, its wildcards taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

/** WHERE clauses and arguments of a list filter (the keyset position added by the caller). */
function where(f: ListFilter, args: unknown[]): string[] {
  const clauses: string[] = [];
  const arg = (v: unknown) => { args.push(v); return `$${args.length}`; };
  if (f.statuses?.length) clauses.push(`i.status = ANY(${arg(f.statuses)}::text[])`);
  if (f.type) clauses.push(`i.type = ${arg(f.type)}`);
  if (f.priority) clauses.push(`i.priority = ${arg(f.priority)}`);
  if (f.source) clauses.push(`i.source = ${arg(f.source)}`);
  if (f.from) clauses.push(`i.occurred_at >= ${arg(f.from)}`);
  if (f.to) clauses.push(`i.occurred_at < ${arg(f.to)}`);
  if (f.q) clauses.push(`${TEXT} ILIKE ${arg(containing(f.q))}`);
  if (f.bbox) {
    clauses.push(`i.lat BETWEEN ${arg(f.bbox.minLat)} AND ${arg(f.bbox.maxLat)}`, `i.lon BETWEEN ${arg(f.bbox.minLon)} AND ${arg(f.bbox.maxLon)}`);
  }
  return clauses;
}

/** The incidents, their numbering, timeline and bookmarks; the evidence rows that point at them. */
export function createIncidentRepository(db: Queryable) {
  return {
    /**
     * The next sequence number of the site-local day now falls on, taken under the day's row
     * lock: concurrent creators each get their own number, and a rolled-back creation gives
     * its number back with its transaction.
     */
    async nextNumber(timeZone: string): Promise<{ day: string; seq: number }> {
      const { rows } = await db.query(
        `INSERT INTO incident_numbers (day, last) VALUES ((now() AT TIME ZONE $1)::date, 1)
         ON CONFLICT (day) DO UPDATE SET last = incident_numbers.last + 1
         RETURNING to_char(day, 'YYYY-MM-DD') AS day, last`,
        [timeZone],
      );
      return { day: rows[0].day as string, seq: rows[0].last as number };
    },

    async insert(n: NewIncident): Promise<IncidentRecord> {
      const { rows } = await db.query(
        `INSERT INTO incidents AS i (number, type, priority, source, title, description, address, lat, lon, occurred_at,
           reporter_name, reporter_phone, device_id, site_id, created_by, created_by_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING ${FULL}`,
        [n.number, n.type, n.priority, n.source, n.title, n.description, n.address, n.lat, n.lon, n.occurredAt,
          n.reporterName, n.reporterPhone, n.deviceId, n.siteId, n.createdBy, n.createdByName],
      );
      return rows[0] as IncidentRecord;
    },

    async get(id: string): Promise<IncidentRecord | null> {
      const { rows } = await db.query(`SELECT ${FULL} FROM incidents i WHERE i.id = $1`, [id]);
      return (rows[0] as IncidentRecord | undefined) ?? null;
    },

    /** The version and who last changed the incident (for a 409 that tells who won). */
    async lastChange(id: string): Promise<{ version: number; updatedByName: string } | null> {
      const { rows } = await db.query(
        `SELECT i.version, coalesce((SELECT e.actor_name FROM incident_events e WHERE e.incident_id = i.id
                 AND e.kind IN ('created', 'updated', 'status') ORDER BY e.id DESC LIMIT 1), i.created_by_name) AS "updatedByName"
           FROM incidents i WHERE i.id = $1`,
        [id],
      );
      return (rows[0] as { version: number; updatedByName: string } | undefined) ?? null;
    },

    /**
     * Apply `changes` (and a status) when the row is still at `version`: the version goes up
     * by one. Null when the row moved on (or is gone): the caller's copy is stale.
     */
    async update(id: string, version: number, changes: IncidentChanges, status?: { to: IncidentStatus; closes: boolean; videoAssisted?: boolean }): Promise<IncidentRecord | null> {
      const args: unknown[] = [id, version];
      const sets = ['version = i.version + 1', 'updated_at = now()'];
      for (const [key, value] of Object.entries(changes) as [keyof IncidentChanges, unknown][]) {
        if (value === undefined) continue;
        args.push(value);
        sets.push(`${CHANGE_COLUMNS[key]} = $${args.length}`);
      }
      if (status) {
        args.push(status.to);
        sets.push(`status = $${args.length}`);
        if (status.closes) sets.push('closed_at = now()');
        if (status.videoAssisted !== undefined) {
          args.push(status.videoAssisted);
          sets.push(`video_assisted = $${args.length}`);
        }
      }
      const { rows } = await db.query(`UPDATE incidents i SET ${sets.join(', ')} WHERE i.id = $1 AND i.version = $2 RETURNING ${FULL}`, args);
      return (rows[0] as IncidentRecord | undefined) ?? null;
    },

    /** One page, newest occurrence first (ties by id), after the keyset position when given. */
    async list(filter: ListFilter, cursor: ListCursor | null, limit: number): Promise<IncidentRecord[]> {
      const args: unknown[] = [];
      const clauses = where(filter, args);
      if (cursor) {
        args.push(cursor.occurredAt, cursor.id);
        clauses.push(`(i.occurred_at, i.id) < ($${args.length - 1}, $${args.length}::uuid)`);
      }
      args.push(limit);
      const { rows } = await db.query(
        `SELECT ${SUMMARY} FROM incidents i ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
         ORDER BY i.occurred_at DESC, i.id DESC LIMIT $${args.length}`,
        args,
      );
      return rows as IncidentRecord[];
    },

    /** How many incidents match, counting at most `cap + 1` rows (so a huge match stays cheap). */
    async count(filter: ListFilter, cap: number): Promise<number> {
      const args: unknown[] = [];
      const clauses = where(filter, args);
      args.push(cap + 1);
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM incidents i ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} LIMIT $${args.length}) m`,
        args,
      );
      return rows[0].n as number;
    },

    async addEvent(incidentId: string, actor: Actor, kind: string, details: Record<string, unknown>): Promise<TimelineEntry> {
      const { rows } = await db.query(
        `INSERT INTO incident_events (incident_id, actor_id, actor_name, kind, details) VALUES ($1, $2, $3, $4, $5) RETURNING ${TIMELINE}`,
        [incidentId, actor.id, actor.name, kind, JSON.stringify(details)],
      );
      return rows[0] as TimelineEntry;
    },

    async timeline(incidentId: string, limit: number): Promise<TimelineEntry[]> {
      const { rows } = await db.query(`SELECT ${TIMELINE} FROM incident_events WHERE incident_id = $1 ORDER BY at, id LIMIT $2`, [incidentId, limit]);
      return rows as TimelineEntry[];
    },

    async insertBookmark(b: { incidentId: string; deviceId: string; from: Date; to: Date; note: string; createdBy: string | null; createdByName: string }): Promise<Bookmark> {
      const { rows } = await db.query(
        `WITH b AS (INSERT INTO bookmarks (incident_id, device_id, starts_at, ends_at, note, created_by, created_by_name)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *)
         SELECT ${BOOKMARK} FROM b LEFT JOIN devices d ON d.id = b.device_id`,
        [b.incidentId, b.deviceId, b.from, b.to, b.note, b.createdBy, b.createdByName],
      );
      return rows[0] as Bookmark;
    },

    async bookmark(incidentId: string, id: string): Promise<Bookmark | null> {
      const { rows } = await db.query(`SELECT ${BOOKMARK} FROM bookmarks b LEFT JOIN devices d ON d.id = b.device_id WHERE b.incident_id = $1 AND b.id = $2`, [incidentId, id]);
      return (rows[0] as Bookmark | undefined) ?? null;
    },

    async deleteBookmark(incidentId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query(`DELETE FROM bookmarks WHERE incident_id = $1 AND id = $2`, [incidentId, id]);
      return rowCount === 1;
    },

    async bookmarks(incidentId: string): Promise<Bookmark[]> {
      const { rows } = await db.query(`SELECT ${BOOKMARK} FROM bookmarks b LEFT JOIN devices d ON d.id = b.device_id WHERE b.incident_id = $1 ORDER BY b.starts_at, b.id`, [incidentId]);
      return rows as Bookmark[];
    },

    /** The snapshot ids taken for the incident, newest first. */
    async snapshotIds(incidentId: string, limit: number): Promise<string[]> {
      const { rows } = await db.query(`SELECT id FROM snapshots WHERE incident_id = $1 ORDER BY taken_at DESC, id DESC LIMIT $2`, [incidentId, limit]);
      return rows.map((r) => r.id as string);
    },

    async exports(incidentId: string): Promise<ExportSummary[]> {
      const { rows } = await db.query(
        `SELECT id, case_number AS "caseNumber", reason, status, requested_by_name AS "requestedByName", requested_at AS "requestedAt",
                finished_at AS "finishedAt", bytes::float8 AS bytes, items
           FROM exports WHERE incident_id = $1 ORDER BY requested_at DESC, id DESC`,
        [incidentId],
      );
      return rows as ExportSummary[];
    },

    /** Mark a snapshot as taken for the incident (kept when the snapshot service linked it already). */
    async linkSnapshot(snapshotId: string, incidentId: string): Promise<void> {
      await db.query(`UPDATE snapshots SET incident_id = $2 WHERE id = $1 AND incident_id IS NULL`, [snapshotId, incidentId]);
    },

    /** Mark an export as made for the incident (in the export request's transaction). */
    async linkExport(exportId: string, incidentId: string): Promise<void> {
      await db.query(`UPDATE exports SET incident_id = $2 WHERE id = $1`, [exportId, incidentId]);
    },

    /** Exports of the incident whose package retention already removed (their holds waited for the incident). */
    async expiredExportIds(incidentId: string): Promise<string[]> {
      const { rows } = await db.query(`SELECT id FROM exports WHERE incident_id = $1 AND status = 'expired'`, [incidentId]);
      return rows.map((r) => r.id as string);
    },
  };
}

export type IncidentRepository = ReturnType<typeof createIncidentRepository>;
