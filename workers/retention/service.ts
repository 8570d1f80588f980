import type { WorkerDeps } from '../deps.ts';
import type { Hold } from './holds.ts';
import { createRetentionRepository } from './repository.ts';
import type { NodeDisk } from './types.ts';

/** What a camera keeps when its registry entry says nothing else (devices.retention_days default). */
export const DEFAULT_RETENTION_DAYS = 30;
/** A node's disk is asked for this long before the page shows it as not answering. */
const DISK_TIMEOUT_MS = 3000;

/** Retention for the admin pages (console process): its settings, each live node's disk, holds, the queue, the last run. */
export function createRetentionService(deps: Pick<WorkerDeps, 'platform' | 'media' | 'holds' | 'runs'>) {
  const { config, pool } = deps.platform;
  const repo = createRetentionRepository(pool);

  async function nodeDisk(nodeId: string): Promise<NodeDisk> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${DISK_TIMEOUT_MS} ms`)), DISK_TIMEOUT_MS); });
    try {
      return { nodeId, disk: await Promise.race([deps.media.disk(nodeId), timeout]), error: null };
    } catch (err) {
      return { nodeId, disk: null, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async overview() {
      const [nodes, active, purgeQueue, runs] = await Promise.all([
        repo.liveNodes(config.gateway.leaseSeconds * 2).then((ids) => Promise.all(ids.map(nodeDisk))),
        repo.activeHolds(),
        repo.queueLength(),
        deps.runs.last({ name: 'retention.run', limit: 1 }),
      ]);
      const last = runs[0];
      return {
        config: {
          highWaterPercent: config.retention.highWaterPercent, lowWaterPercent: config.retention.lowWaterPercent,
          intervalMinutes: config.retention.intervalMinutes, exportRetentionDays: config.evidence.exportRetentionDays,
          defaultRetentionDays: DEFAULT_RETENTION_DAYS, batchSize: config.retention.batchSize,
        },
        nodes,
        holds: { active },
        purgeQueue,
        lastRun: last ? { id: last.id, startedAt: last.startedAt, finishedAt: last.finishedAt, status: last.status, result: last.result, error: last.error } : null,
      };
    },

    /** Live holds, of one camera or all. */
    async holds(deviceId?: string): Promise<{ items: Hold[] }> {
      return { items: await deps.holds.active({ deviceId }) };
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
