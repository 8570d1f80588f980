import type { ConnectionOptions } from 'bullmq';
import type { Platform } from '../core/platform.ts';
import { createDeviceRepository } from '../gateway/devices/repository.ts';
import { createDeviceService, type DeviceService } from '../gateway/devices/service.ts';
import { createGatewayClient, type GatewayClient } from '../gateway/nodes/client.ts';
import { createNodeRepository } from '../gateway/nodes/repository.ts';
import { createRecordingRepository, type RecordingRepository } from '../gateway/recordings/repository.ts';
import { evidenceStore, type EvidenceStore } from './evidence.ts';
import { createJobProducer, type JobProducer } from './jobs.ts';
import { createMediaAccess, type MediaAccess } from './media.ts';
import { createHoldRepository, type HoldRepository } from './retention/holds.ts';
import { createJobRuns, type JobRuns } from './runs.ts';

/**
 * What job families are built from: the platform, the gateway nodes' internal API, the way
 * to recording files (gateway API or shared directory), the evidence store, holds, run
 * records, and a producer for jobs that add jobs.
 */
export interface WorkerDeps {
  platform: Platform;
  connection: ConnectionOptions;
  gateway: GatewayClient;
  media: MediaAccess;
  evidence: EvidenceStore;
  holds: HoldRepository;
  runs: JobRuns;
  jobs: JobProducer;
  devices: DeviceService;
  recordings: RecordingRepository;
}

export function redisConnection(platform: Platform): ConnectionOptions {
  return { url: platform.config.redis.url, maxRetriesPerRequest: null } as ConnectionOptions;
}

export function createWorkerDeps(platform: Platform): WorkerDeps {
  const { config, pool, keys } = platform;
  const connection = redisConnection(platform);
  const gateway = createGatewayClient({ nodes: createNodeRepository(pool), serviceToken: keys.serviceToken, leaseSeconds: config.gateway.leaseSeconds });
  const recordings = createRecordingRepository(pool);
  return {
    platform, connection, gateway, recordings,
    media: createMediaAccess({ shared: config.workers.sharedMedia, dataDir: config.dataDir, gateway, recordings }),
    evidence: evidenceStore(config),
    holds: createHoldRepository(pool),
    runs: createJobRuns(pool),
    jobs: createJobProducer({ connection, redisPrefix: config.redis.prefix }),
    devices: createDeviceService({ repo: createDeviceRepository(pool), boxKey: keys.box }),
  };
}
