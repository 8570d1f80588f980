import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { Pool } from '../../core/db/pool.ts';
import { createIdentityRepository } from '../../core/identity/repository.ts';
import { bullPrefix, QUEUES, type JobTypes } from '../jobs.ts';

type Jobs = JobTypes['maintenance'];

/** Housekeeping that must keep running: expired sessions purged every 10 minutes. */
export async function startMaintenance(deps: { log: Logger; pool: Pool; connection: ConnectionOptions; redisPrefix: string }) {
  const prefix = bullPrefix(deps.redisPrefix);
  const queue = new Queue(QUEUES.maintenance, { connection: deps.connection, prefix });
  // A job scheduler with a fixed id: starting twice (or on several nodes) keeps one schedule.
  await queue.upsertJobScheduler('sessions.purge', { every: 10 * 60_000 }, { name: 'sessions.purge', data: {} });
  const identity = createIdentityRepository(deps.pool);

  const handlers: { [K in keyof Jobs]: (data: Jobs[K]['payload']) => Promise<Jobs[K]['result']> } = {
    'sessions.purge': async () => ({ deleted: await identity.deleteExpiredSessions() }),
  };

  const worker = new Worker(QUEUES.maintenance, async (job) => {
    const handler = handlers[job.name as keyof Jobs];
    if (!handler) throw new Error(`unknown maintenance job ${job.name}`);
    const result = await handler(job.data);
    deps.log.info({ job: job.name, jobId: job.id, result }, 'maintenance job done');
    return result;
  }, { connection: deps.connection, prefix, concurrency: 1 });
  worker.on('failed', (job, err) => deps.log.error({ job: job?.name, err: err.message }, 'maintenance job failed'));

  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
