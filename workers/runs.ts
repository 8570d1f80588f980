import type { Queryable } from '../core/db/pool.ts';

/** One run of a scheduled job as the admin page shows it. */
export interface JobRun {
  id: number;
  queue: string;
  name: string;
  jobId: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  status: 'running' | 'ok' | 'failed';
  result: Record<string, unknown> | null;
  error: string | null;
}

const COLUMNS = `id, queue, name, job_id AS "jobId", started_at AS "startedAt", finished_at AS "finishedAt", status, result, error`;

/** job_runs: every run of a scheduled job (purge, retention), started, finished, what it did. */
export function createJobRuns(db: Queryable) {
  return {
    async start(r: { queue: string; name: string; jobId: string | null }): Promise<number> {
      const { rows } = await db.query(`INSERT INTO job_runs (queue, name, job_id) VALUES ($1, $2, $3) RETURNING id`, [r.queue, r.name, r.jobId]);
      return rows[0].id as number;
    },

    async finish(id: number, status: 'ok' | 'failed', result: Record<string, unknown> | null, error: string | null): Promise<void> {
      await db.query(`UPDATE job_runs SET finished_at = now(), status = $2, result = $3, error = $4 WHERE id = $1`, [id, status, result === null ? null : JSON.stringify(result), error]);
    },

    /** The last runs, newest first, of one job name or of all. */
    async last(opts: { name?: string; limit: number }): Promise<JobRun[]> {
      const { rows } = await db.query(
        `SELECT ${COLUMNS} FROM job_runs WHERE ($1::text IS NULL OR name = $1) ORDER BY started_at DESC, id DESC LIMIT $2`,
        [opts.name ?? null, opts.limit],
      );
      return rows as JobRun[];
    },

    /** Runs left 'running' by a process that died: marked failed when their worker starts again. */
    async abandon(olderThanMs: number): Promise<number> {
      const { rowCount } = await db.query(
        `UPDATE job_runs SET status = 'failed', finished_at = now(), error = 'the worker stopped during this run'
          WHERE status = 'running' AND started_at < now() - make_interval(secs => $1::float8 / 1000)`,
        [olderThanMs],
      );
      return rowCount ?? 0;
    },
  };
}

export type JobRuns = ReturnType<typeof createJobRuns>;
