import type { WorkerDeps } from '../deps.ts';

/** How often the realtime event log is trimmed (the same tick as the session purge). */
export const EVENTS_PURGE_EVERY_MS = 10 * 60_000;

/**
 * The `events.purge` job: delete realtime events older than realtime.replayHours, the
 * window a reconnecting client can replay from (console/server/realtime). Idempotent: a
 * second run deletes nothing new. A client that reconnects with an id older than the
 * window gets what is left and reloads its lists when it missed more than replay sends.
 */
export function createEventsPurge(deps: Pick<WorkerDeps, 'platform'>): () => Promise<{ deleted: number }> {
  const { eventLog, config } = deps.platform;
  return async () => ({ deleted: await eventLog.purge(config.realtime.replayHours) });
}
