import type { WorkerDeps } from '../deps.ts';
import type { WorkerFamily } from '../runner.ts';
import { createSnapshotService } from './service.ts';
import { snapshotJobId } from './types.ts';

/**
 * The snapshot worker: `snapshot.take` for producers (alarm rules, incident evidence, the face
 * sampler). The frame is taken by the gateway node that holds the camera; this process stores
 * it. Idempotent: the row's job_id is the producer's ref made into a key (snapshotJobId), or
 * the BullMQ job itself (its id and when it was added, so a Redis reset reusing ids never
 * finds an older job's picture), so a run again finds its snapshot instead of taking another.
 * A camera that gives no picture in time is retried with back-off (502/504); a decommissioned,
 * disabled or unknown camera fails for good (4xx).
 */
export function createSnapshotFamily(deps: WorkerDeps): WorkerFamily<'snapshot'> {
  const snapshots = createSnapshotService(deps);
  return {
    queue: 'snapshot',
    handlers: {
      'snapshot.take': async ({ data, job, signal }) => {
        const jobKey = data.ref ? snapshotJobId(data.deviceId, data.purpose, data.ref) : `${job.id}@${job.timestamp}`;
        const s = await snapshots.take({
          deviceId: data.deviceId, purpose: data.purpose, reason: data.reason ?? null, requestedBy: data.requestedBy, jobKey, signal,
        });
        return { snapshotId: s.id, deviceId: s.deviceId, source: s.source, takenAt: s.takenAt.toISOString(), bytes: s.bytes };
      },
    },
  };
}
