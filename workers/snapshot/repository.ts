import { withTransaction, type Pool, type Queryable } from '../../core/db/pool.ts';
import type { SnapshotPurpose, SnapshotRecord, SnapshotSource } from './types.ts';

interface Row {
  id: string; device_id: string; taken_at: Date; source: SnapshotSource; path: string; bytes: number;
  width: number | null; height: number | null; requested_by: string | null; requested_by_name: string;
  purpose: SnapshotPurpose; reason: string | null; job_id: string | null; incident_id: string | null; created_at: Date;
}

const COLUMNS = 'id, device_id, taken_at, source, path, bytes, width, height, requested_by, requested_by_name, purpose, reason, job_id, incident_id, created_at';

const toRecord = (r: Row): SnapshotRecord => ({
  id: r.id, deviceId: r.device_id, takenAt: r.taken_at, source: r.source, path: r.path, bytes: r.bytes,
  width: r.width, height: r.height, requestedBy: r.requested_by, requestedByName: r.requested_by_name,
  purpose: r.purpose, reason: r.reason, jobId: r.job_id, incidentId: r.incident_id, createdAt: r.created_at,
});

export type NewSnapshot = Omit<SnapshotRecord, 'createdAt'>;

function queries(db: Queryable) {
  return {
    /** Insert; null when a row with the same job id exists already (a retried or repeated job). */
    async insert(s: NewSnapshot): Promise<SnapshotRecord | null> {
      const { rows } = await db.query<Row>(
        `INSERT INTO snapshots (id, device_id, taken_at, source, path, bytes, width, height, requested_by, requested_by_name, purpose, reason, job_id, incident_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (job_id) DO NOTHING
         RETURNING ${COLUMNS}`,
        [s.id, s.deviceId, s.takenAt, s.source, s.path, s.bytes, s.width, s.height, s.requestedBy, s.requestedByName, s.purpose, s.reason, s.jobId, s.incidentId],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    },

    async get(id: string): Promise<SnapshotRecord | null> {
      const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM snapshots WHERE id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },

    async byJobId(jobId: string): Promise<SnapshotRecord | null> {
      const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM snapshots WHERE job_id = $1`, [jobId]);
      return rows[0] ? toRecord(rows[0]) : null;
    },

    /** Whether an incident exists (checked before a camera is asked for a picture for it). */
    async incidentExists(id: string): Promise<boolean> {
      const { rows } = await db.query('SELECT 1 FROM incidents WHERE id = $1', [id]);
      return rows.length > 0;
    },

    /** An incident's snapshots, oldest first (snapshots_incident_idx), at most `limit`. */
    async listForIncident(incidentId: string, limit: number): Promise<SnapshotRecord[]> {
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM snapshots WHERE incident_id = $1 ORDER BY taken_at, id LIMIT $2`, [incidentId, limit]);
      return rows.map(toRecord);
    },

    /** A camera's snapshots, newest first, taken before `before` when given (snapshots_device_idx). */
    async list(deviceId: string, page: { limit: number; before?: Date }): Promise<SnapshotRecord[]> {
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM snapshots
          WHERE device_id = $1 AND ($2::timestamptz IS NULL OR taken_at < $2)
          ORDER BY taken_at DESC, id DESC LIMIT $3`,
        [deviceId, page.before ?? null, page.limit],
      );
      return rows.map(toRecord);
    },
  };
}

export function createSnapshotRepository(pool: Pool) {
  return {
    ...queries(pool),
    /** Run `fn` in one transaction (the row and its audit row are written together). */
    transaction<T>(fn: (tx: { repo: ReturnType<typeof queries>; db: Queryable }) => Promise<T>): Promise<T> {
      return withTransaction(pool, (client) => fn({ repo: queries(client), db: client }));
    },
  };
}

export type SnapshotRepository = ReturnType<typeof createSnapshotRepository>;
