import { createIdentityRepository } from '../../core/identity/repository.ts';
import type { WorkerDeps } from '../deps.ts';
import type { WorkerFamily } from '../runner.ts';
import { createLinkageRepository } from '../../console/server/linkage/repository.ts';
import { createEventsPurge, EVENTS_PURGE_EVERY_MS } from './events-purge.ts';

export const PURGE_EVERY_MS = 10 * 60_000;

/** Housekeeping that must keep running: expired sessions, realtime events past the replay window and GPS tracks past their retention purged every 10 minutes (each run recorded). */
export function createMaintenanceFamily(deps: Pick<WorkerDeps, 'platform'>): WorkerFamily<'maintenance'> {
  const identity = createIdentityRepository(deps.platform.pool);
  return {
    queue: 'maintenance',
    schedules: [{ name: 'sessions.purge', everyMs: PURGE_EVERY_MS, payload: {} }, { name: 'events.purge', everyMs: EVENTS_PURGE_EVERY_MS, payload: {} },
      { name: 'tracks.purge', everyMs: PURGE_EVERY_MS, payload: {} }],
    handlers: {
      'sessions.purge': async () => ({ deleted: await identity.deleteExpiredSessions() }),
      'events.purge': createEventsPurge(deps),
      // GPS tracks (console/server/linkage) past linkage.trackRetentionDays.
      'tracks.purge': async () => ({ deleted: await createLinkageRepository(deps.platform.pool).purgeTrack(deps.platform.config.linkage.trackRetentionDays) }),
    },
  };
}
