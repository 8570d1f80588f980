import type { Platform } from '../core/platform.ts';
import { createWorkerDeps, type WorkerDeps } from './deps.ts';
import { createExportFamily } from './export/family.ts';
import { QUEUE_NAMES, type QueueName } from './jobs.ts';
import { createMaintenanceFamily } from './maintenance/family.ts';
import { createRetentionFamily } from './retention/family.ts';
import { startFamily, type RunningFamily, type WorkerFamily } from './runner.ts';
import { createSnapshotFamily } from './snapshot/family.ts';

/** Every job family, by queue. */
const FAMILIES: { [Q in QueueName]: (deps: WorkerDeps) => WorkerFamily<Q> } = {
  maintenance: createMaintenanceFamily,
  snapshot: createSnapshotFamily,
  export: createExportFamily,
  retention: createRetentionFamily,
};

/** `--queues snapshot,export` as queue names; a wrong name is refused naming it and the choices. */
export function parseQueues(text: string | undefined): QueueName[] {
  if (text === undefined) return [...QUEUE_NAMES];
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(QUEUE_NAMES as string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--queues: ${unknown.length ? `unknown queue ${unknown.map((u) => JSON.stringify(u)).join(', ')}` : 'no queue named'} (queues: ${QUEUE_NAMES.join(', ')})`);
  }
  return [...new Set(names)] as QueueName[];
}

/**
 * The workers process: one BullMQ worker per queue it runs (all, or those named), each
 * with the configured concurrency. close() drains (see runner.ts): the CLI calls it on
 * SIGTERM and Ctrl-C.
 */
export async function startWorkers(platform: Platform, options: { queues?: readonly QueueName[] } = {}) {
  const log = platform.log.child({ process: 'workers' });
  const deps = createWorkerDeps(platform);
  const { workers: w } = platform.config;
  const abandoned = await deps.runs.abandon(w.lockSeconds * 2000);
  if (abandoned) log.warn({ runs: abandoned }, 'marked scheduled runs left unfinished by a stopped worker as failed');
  const running: RunningFamily[] = [];
  try {
    for (const queue of options.queues ?? QUEUE_NAMES) {
      const family = (FAMILIES[queue] as (d: WorkerDeps) => WorkerFamily)(deps);
      running.push(await startFamily(family, {
        log, connection: deps.connection, redisPrefix: platform.config.redis.prefix,
        concurrency: w.concurrency[queue], lockMs: w.lockSeconds * 1000, drainMs: w.drainSeconds * 1000, runs: deps.runs,
      }));
    }
  } catch (err) {
    await Promise.allSettled(running.map((r) => r.close()));
    await deps.jobs.close();
    throw err;
  }
  log.info({ queues: options.queues ?? QUEUE_NAMES }, 'workers started');
  return {
    queues: running.map((r) => r.queue.name),
    families: running,
    async close() {
      await Promise.allSettled(running.map((r) => r.close()));
      await deps.jobs.close();
    },
  };
}

export type Workers = Awaited<ReturnType<typeof startWorkers>>;
