import type { Platform } from '../core/platform.ts';
import { startMaintenance } from './maintenance/worker.ts';

/** The workers process: BullMQ workers for every job family (closed on SIGTERM by the CLI). */
export async function startWorkers(platform: Platform) {
  const log = platform.log.child({ process: 'workers' });
  const connection = { url: platform.config.redis.url, maxRetriesPerRequest: null } as const;
  const maintenance = await startMaintenance({ log, pool: platform.pool, connection, redisPrefix: platform.config.redis.prefix });
  return {
    async close() {
      await maintenance.close();
    },
  };
}
