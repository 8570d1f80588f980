import type { Queryable } from '../../core/db/pool.ts';
import type { ExportItem, ExportRecord, Manifest } from './types.ts';

const COLUMNS = `id, case_number AS "caseNumber", reason, requested_by AS "requestedBy", requested_by_name AS "requestedByName",
  requested_at AS "requestedAt", items, snapshot_ids AS "snapshotIds", status, progress, path, bytes::float8 AS bytes, sha256, manifest,
  error, error_code AS "errorCode", attempts, started_at AS "startedAt", finished_at AS "finishedAt"`;

export interface NewExport {
  id: string; caseNumber: string; reason: string; requestedBy: string; requestedByName: string;
  items: ExportItem[]; snapshotIds: string[];
}

/** The exports table: requests, progress and what was delivered. */
export function createExportRepository(db: Queryable) {
  return {
    async insert(e: NewExport): Promise<ExportRecord> {
      const { rows } = await db.query(
        `INSERT INTO exports (id, case_number, reason, requested_by, requested_by_name, items, snapshot_ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
        [e.id, e.caseNumber, e.reason, e.requestedBy, e.requestedByName, JSON.stringify(e.items), e.snapshotIds],
      );
      return rows[0] as ExportRecord;
    },

    async get(id: string): Promise<ExportRecord | null> {
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM exports WHERE id = $1`, [id]);
      return (rows[0] as ExportRecord | undefined) ?? null;
    },

    /** Newest first; `requestedBy` limits to one person's. */
    async list(page: { requestedBy: string | null; limit: number; offset: number }): Promise<{ items: ExportRecord[]; total: number }> {
      const [{ rows }, { rows: [count] }] = await Promise.all([
        db.query(`SELECT ${COLUMNS} FROM exports WHERE ($1::uuid IS NULL OR requested_by = $1) ORDER BY requested_at DESC, id DESC LIMIT $2 OFFSET $3`,
          [page.requestedBy, page.limit, page.offset]),
        db.query(`SELECT count(*)::int AS n FROM exports WHERE ($1::uuid IS NULL OR requested_by = $1)`, [page.requestedBy]),
      ]);
      return { items: rows as ExportRecord[], total: count.n as number };
    },

    /** A run begins: running, progress reset, one more attempt. Null when it is finished already. */
    async start(id: string): Promise<ExportRecord | null> {
      const { rows } = await db.query(
        `UPDATE exports SET status = 'running', started_at = now(), attempts = attempts + 1, progress = '{"percent": 0, "bytes": 0}', error = NULL, error_code = NULL
          WHERE id = $1 AND status IN ('queued', 'running', 'failed') RETURNING ${COLUMNS}`,
        [id],
      );
      return (rows[0] as ExportRecord | undefined) ?? null;
    },

    async progress(id: string, p: { percent: number; bytes: number; stage: string }): Promise<void> {
      await db.query(`UPDATE exports SET progress = $2 WHERE id = $1 AND status = 'running'`, [id, JSON.stringify(p)]);
    },

    /** Done, exactly once: false when another run completed it first. */
    async complete(id: string, d: { path: string; bytes: number; sha256: string; manifest: Manifest }): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE exports SET status = 'done', path = $2, bytes = $3, sha256 = $4, manifest = $5, finished_at = now(),
                progress = jsonb_build_object('percent', 100, 'bytes', $3::bigint, 'stage', 'packing')
          WHERE id = $1 AND status <> 'done' RETURNING id`,
        [id, d.path, d.bytes, d.sha256, JSON.stringify(d.manifest)],
      );
      return rowCount === 1;
    },

    async fail(id: string, code: string, message: string): Promise<void> {
      await db.query(`UPDATE exports SET status = 'failed', error_code = $2, error = $3, finished_at = now() WHERE id = $1 AND status <> 'done'`, [id, code, message]);
    },

    /** Snapshots an export may include: id, camera, time and evidence-store path. */
    async snapshots(ids: readonly string[]): Promise<{ id: string; deviceId: string; takenAt: Date; path: string }[]> {
      if (ids.length === 0) return [];
      const { rows } = await db.query(`SELECT id, device_id AS "deviceId", taken_at AS "takenAt", path FROM snapshots WHERE id = ANY($1::uuid[]) ORDER BY taken_at, id`, [ids]);
      return rows as { id: string; deviceId: string; takenAt: Date; path: string }[];
    },
  };
}

export type ExportRepository = ReturnType<typeof createExportRepository>;
