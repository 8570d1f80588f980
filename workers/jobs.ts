import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { Type, type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { badRequest } from '../core/http/errors.ts';

/**
 * Every queue's name and every job's payload and result, as runtime schemas: the one
 * contract producers (console routes, alarm rules, the face sampler) and workers import.
 * A producer imports this file and nothing else from workers/; a payload that fails its
 * schema is refused by `add`, with the field named, before anything reaches Redis.
 */
export const QUEUES = {
  maintenance: 'maintenance',
  snapshot: 'snapshot',
  export: 'export',
  retention: 'retention',
} as const;

export type QueueName = keyof typeof QUEUES;
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];

const Uuid = Type.String({ format: 'uuid' });
const Iso = Type.String({ format: 'date-time' });
const Strict = { additionalProperties: false } as const;

/** Who asked for a job: a person (userId) or a producer such as an alarm rule (userId null, name `rule:…`). */
export const Requester = Type.Object({
  userId: Type.Union([Uuid, Type.Null()]),
  name: Type.String({ minLength: 1, maxLength: 200 }),
}, Strict);

export const SNAPSHOT_PURPOSES = ['manual', 'alarm', 'incident', 'face', 'export'] as const;
export const SNAPSHOT_SOURCES = ['session', 'onvif', 'rtsp', 'recording'] as const;

export const SnapshotResult = Type.Object({
  snapshotId: Uuid,
  deviceId: Uuid,
  source: Type.Enum(SNAPSHOT_SOURCES),
  takenAt: Iso,
  bytes: Type.Integer({ minimum: 1 }),
}, Strict);

export const RetentionStoreReport = Type.Object({
  files: Type.Integer({ minimum: 0 }),
  bytes: Type.Integer({ minimum: 0 }),
}, Strict);

export const RetentionResult = Type.Object({
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]),
  /** Past each camera's retentionDays (segments and snapshots) and evidence.exportRetentionDays (exports). */
  expired: Type.Object({ segments: RetentionStoreReport, snapshots: RetentionStoreReport, exports: RetentionStoreReport }, Strict),
  /** Freed because a node's media disk was above the high-water mark. */
  highWater: Type.Array(Type.Object({
    nodeId: Type.String(), usedPercentBefore: Type.Number(), usedPercentAfter: Type.Number(), segments: RetentionStoreReport,
    /** True when held footage alone keeps the disk above the low-water mark. */
    stillAbove: Type.Boolean(),
  }, Strict)),
  /** Files a previous run (or a crash) left in the purge queue, finished now. */
  repaired: Type.Integer({ minimum: 0 }),
  /** Expired segments kept because a hold covers them. */
  keptHeld: Type.Integer({ minimum: 0 }),
  /** Files that could not be deleted now (their node is down): they stay queued for the next run. */
  deferred: Type.Integer({ minimum: 0 }),
  /** The oldest footage left per camera (cameras with footage). */
  oldest: Type.Array(Type.Object({ deviceId: Uuid, oldestAt: Iso }, Strict)),
  durationMs: Type.Integer({ minimum: 0 }),
}, Strict);

/** Every job: its payload and result schema. Job names are `family.verb`. */
export const JOBS = {
  maintenance: {
    /** Delete sessions past their expiry. Idempotent: a second run deletes nothing. Scheduled every 10 minutes. */
    'sessions.purge': {
      payload: Type.Object({}, Strict),
      result: Type.Object({ deleted: Type.Integer({ minimum: 0 }) }, Strict),
    },
    /** Delete realtime events past realtime.replayHours (workers/maintenance/events-purge.ts). Idempotent. Scheduled every 10 minutes. */
    'events.purge': {
      payload: Type.Object({}, Strict),
      result: Type.Object({ deleted: Type.Integer({ minimum: 0 }) }, Strict),
    },
    /** Delete GPS fixes past linkage.trackRetentionDays (unit_positions). Idempotent. Scheduled every 10 minutes. */
    'tracks.purge': {
      payload: Type.Object({}, Strict),
      result: Type.Object({ deleted: Type.Integer({ minimum: 0 }) }, Strict),
    },
  },
  snapshot: {
    /**
     * Take one picture of a camera: from its running session's newest keyframe, else its ONVIF
     * snapshot URI, else a short RTSP grab (on the gateway node that holds it), and store it.
     * `ref` makes it idempotent: the same producer and ref yield one snapshot.
     */
    'snapshot.take': {
      payload: Type.Object({
        deviceId: Uuid,
        purpose: Type.Enum(SNAPSHOT_PURPOSES),
        reason: Type.Optional(Type.String({ maxLength: 500 })),
        requestedBy: Requester,
        /** The producer's own key (an alarm id, an incident id + step): same ref, same snapshot. */
        ref: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+$' })),
      }, Strict),
      result: SnapshotResult,
    },
  },
  export: {
    /** Build the evidence package of an `exports` row (cut, join, hash, sign, zip). Job id `export-<id>`: one package per export. */
    'export.build': {
      payload: Type.Object({ exportId: Uuid }, Strict),
      result: Type.Object({
        exportId: Uuid,
        bytes: Type.Integer({ minimum: 0 }),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
        files: Type.Integer({ minimum: 0 }),
        gaps: Type.Integer({ minimum: 0 }),
      }, Strict),
    },
  },
  retention: {
    /** Delete what is past its retention period or above the disk high-water mark, skipping holds. Scheduled. */
    'retention.run': {
      payload: Type.Object({ trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]) }, Strict),
      result: RetentionResult,
    },
  },
} as const satisfies Record<QueueName, Record<string, { payload: TSchema; result: TSchema }>>;

type Jobs = typeof JOBS;
export type JobName<Q extends QueueName> = keyof Jobs[Q] & string;
type Def<Q extends QueueName, N extends JobName<Q>> = Jobs[Q][N] extends { payload: infer P extends TSchema; result: infer R extends TSchema } ? { payload: P; result: R } : never;
export type Payload<Q extends QueueName, N extends JobName<Q>> = Static<Def<Q, N>['payload']>;
export type Result<Q extends QueueName, N extends JobName<Q>> = Static<Def<Q, N>['result']>;

/** Back-off and bookkeeping every job gets unless it says otherwise. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 86_400, count: 5000 },
  removeOnFail: { age: 30 * 86_400, count: 5000 },
};

/** BullMQ's key prefix for one deployment (Redis keys and queue names never collide across runs). */
export function bullPrefix(redisPrefix: string): string {
  return `${redisPrefix}bull`;
}

/** The schema of a job, or null when the queue has no such job. */
export function jobDef(queue: string, name: string): { payload: TSchema; result: TSchema } | null {
  const family = (JOBS as Record<string, Record<string, { payload: TSchema; result: TSchema }>>)[queue];
  return family && Object.hasOwn(family, name) ? family[name]! : null;
}

/**
 * Check a payload against its schema: the first problem as a 400 naming the field
 * (`requestedBy.name`), code `job.payload_invalid`.
 */
export function checkPayload(queue: string, name: string, data: unknown): void {
  const def = jobDef(queue, name);
  if (!def) throw badRequest(`no job ${name} on queue ${queue}`, { code: 'job.unknown', params: { queue, name } });
  const errors = [...Value.Errors(def.payload, data)];
  if (errors.length === 0) return;
  // Prefer an error on a named field over the object-level one.
  const first = errors.find((e) => e.instancePath !== '' && e.keyword !== 'boolean') ?? errors[0]!;
  const extra = first.keyword === 'additionalProperties' ? (first.params as { additionalProperties?: string[] }).additionalProperties?.[0] : undefined;
  const path = first.instancePath.split('/').filter(Boolean);
  const field = extra ? [...path, extra].join('.') : path.join('.') || '(payload)';
  const reason = first.keyword === 'boolean' ? 'is not a known field' : first.message;
  throw badRequest(`job ${name}: ${field} ${reason}`, { field, code: 'job.payload_invalid', params: { field, queue, name, reason } });
}

export interface JobState {
  id: string;
  queue: QueueName;
  name: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  result: unknown;
  failedReason: string | null;
  createdAt: string;
  processedAt: string | null;
  finishedAt: string | null;
  data: unknown;
}

/**
 * Adding jobs, for producers: one BullMQ Queue per queue name, opened on first use.
 * Every payload is checked against its schema first.
 */
export function createJobProducer(opts: { connection: ConnectionOptions; redisPrefix: string }) {
  const prefix = bullPrefix(opts.redisPrefix);
  const queues = new Map<QueueName, Queue>();
  const queueOf = (name: QueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(QUEUES[name], { connection: opts.connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
      queues.set(name, q);
    }
    return q;
  };

  return {
    queue: queueOf,

    /**
     * Add a job. `jobId` makes it idempotent: adding the same id again while the first is
     * kept returns that job instead of a second one.
     */
    async add<Q extends QueueName, N extends JobName<Q>>(queue: Q, name: N, payload: Payload<Q, N>, options: JobsOptions = {}): Promise<{ id: string }> {
      checkPayload(queue, name, payload);
      const job = await queueOf(queue).add(name, payload, options);
      return { id: job.id! };
    },

    /** A job's state, progress and result, or null when it is unknown (or removed by age). */
    async state(queue: QueueName, id: string): Promise<JobState | null> {
      const job = await queueOf(queue).getJob(id);
      if (!job) return null;
      const state = await job.getState();
      const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
      return {
        id: job.id!, queue, name: job.name, state, progress: job.progress, attemptsMade: job.attemptsMade,
        result: job.returnvalue ?? null, failedReason: job.failedReason ?? null,
        createdAt: new Date(job.timestamp).toISOString(), processedAt: iso(job.processedOn), finishedAt: iso(job.finishedOn), data: job.data,
      };
    },

    async close(): Promise<void> {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}

export type JobProducer = ReturnType<typeof createJobProducer>;
