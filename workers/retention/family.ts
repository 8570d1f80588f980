import type { WorkerDeps } from '../deps.ts';
import type { WorkerFamily } from '../runner.ts';
import { runRetention } from './run.ts';

/**
 * Retention on its schedule (every retention.intervalMinutes, and at once when the first
 * worker starts), each run recorded in job_runs, a manual run (POST /api/admin/retention/run)
 * too. Runs take a database lock, so two workers never delete the same thing twice.
 */
export function createRetentionFamily(deps: WorkerDeps): WorkerFamily<'retention'> {
  return {
    queue: 'retention',
    schedules: [{ name: 'retention.run', everyMs: deps.platform.config.retention.intervalMinutes * 60_000, payload: { trigger: 'schedule' } }],
    recordRuns: ['retention.run'],
    handlers: {
      'retention.run': ({ data, log, signal, progress }) => runRetention(deps, { trigger: data.trigger, log, signal, progress }),
    },
  };
}
