import { UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import Value from 'typebox/value';
import { HttpError, type ErrorParams } from '../core/http/errors.ts';
import { bullPrefix, checkPayload, createJobProducer, jobDef, QUEUES, type JobName, type JobProducer, type Payload, type QueueName, type Result } from './jobs.ts';
import type { JobRuns } from './runs.ts';

/**
 * A failure that retrying cannot mend (the camera was deleted, the range holds no
 * footage): the job fails for good at once, with `code` as its reason. Everything else
 * thrown is transient and retried with back-off.
 */
export class PermanentJobError extends Error {
  constructor(readonly code: string, message: string, readonly params: ErrorParams = {}) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/** What a handler gets: the checked payload, the job, an abort signal (shutdown), a logger. */
export interface JobContext<Q extends QueueName, N extends JobName<Q>> {
  data: Payload<Q, N>;
  job: Job;
  /** Aborted when the worker is stopping and the drain time is up: stop, the job goes back to the queue. */
  signal: AbortSignal;
  log: Logger;
  /** Report progress (percent, bytes, stage): stored on the job, visible through the API. */
  progress(p: Record<string, unknown>): Promise<void>;
}

export type Handlers<Q extends QueueName> = { [N in JobName<Q>]: (ctx: JobContext<Q, N>) => Promise<Result<Q, N>> };

/** One job family: its queue, a handler per job name, and what it schedules. */
export interface WorkerFamily<Q extends QueueName = QueueName> {
  queue: Q;
  handlers: Handlers<Q>;
  /** Repeating jobs (one scheduler per name, however many workers start); each run is recorded in job_runs. */
  schedules?: { name: JobName<Q>; everyMs: number; payload: Record<string, unknown> }[];
  /** Names whose runs are recorded in job_runs even when added by hand (a manual retention run). */
  recordRuns?: readonly JobName<Q>[];
  close?(): Promise<void>;
}

export interface RunnerOptions {
  log: Logger;
  connection: ConnectionOptions;
  redisPrefix: string;
  concurrency: number;
  lockMs: number;
  drainMs: number;
  runs: JobRuns;
}

/** The reason BullMQ stores for a permanent failure: `code: message`, so the API can show both. */
export function failedReasonOf(err: PermanentJobError): string {
  return `${err.code}: ${err.message}`;
}

/**
 * Run one family on its queue: the BullMQ worker with the configured concurrency, the
 * family's schedules, payload checks on receipt (a job added around the producer still
 * meets its schema), permanent failures as BullMQ's UnrecoverableError, run records,
 * and a drain on close: running jobs get `drainMs` to finish, then are aborted and put
 * back in the queue (WaitingError: no attempt is spent).
 */
export async function startFamily<Q extends QueueName>(family: WorkerFamily<Q>, o: RunnerOptions) {
  const prefix = bullPrefix(o.redisPrefix);
  const log = o.log.child({ queue: family.queue });
  const producer: JobProducer = createJobProducer({ connection: o.connection, redisPrefix: o.redisPrefix });
  const queue = producer.queue(family.queue);
  for (const s of family.schedules ?? []) {
    checkPayload(family.queue, s.name, s.payload);
    await queue.upsertJobScheduler(s.name, { every: s.everyMs }, { name: s.name, data: s.payload });
  }
  const recorded = new Set<string>([...(family.schedules ?? []).map((s) => s.name), ...(family.recordRuns ?? [])]);
  let stopping = false;

  const processor = async (job: Job, token: string | undefined, signal?: AbortSignal) => {
    const handler = (family.handlers as Record<string, ((ctx: JobContext<Q, JobName<Q>>) => Promise<unknown>) | undefined>)[job.name];
    if (!handler) throw new UnrecoverableError(`job.unknown: no job ${job.name} on queue ${family.queue}`);
    try {
      checkPayload(family.queue, job.name, job.data);
    } catch (err) {
      throw new UnrecoverableError(`job.payload_invalid: ${(err as Error).message}`);
    }
    const abort = signal ?? new AbortController().signal;
    const jobLog = log.child({ job: job.name, jobId: job.id, attempt: job.attemptsMade + 1 });
    const runId = recorded.has(job.name) ? await o.runs.start({ queue: family.queue, name: job.name, jobId: job.id ?? null }) : null;
    const started = Date.now();
    try {
      const result = await handler({
        data: job.data as Payload<Q, JobName<Q>>, job, signal: abort, log: jobLog,
        progress: (p) => job.updateProgress(p),
      });
      const def = jobDef(family.queue, job.name)!;
      if (!Value.Check(def.result, result)) {
        const first = [...Value.Errors(def.result, result)][0];
        jobLog.error({ path: first?.instancePath, problem: first?.message }, 'job result does not meet its schema');
      }
      if (runId !== null) await o.runs.finish(runId, 'ok', result as Record<string, unknown>, null);
      jobLog.info({ ms: Date.now() - started, result }, 'job done');
      return result;
    } catch (err) {
      if (abort.aborted && stopping) {
        // Shutdown: back to the queue, no attempt spent; another worker (or this one restarted) takes it.
        if (runId !== null) await o.runs.finish(runId, 'failed', null, 'interrupted by shutdown; the job went back to the queue').catch(() => {});
        if (token) await job.moveToWait(token);
        jobLog.warn('job interrupted by shutdown: back in the queue');
        throw new WaitingError();
      }
      const permanent = err instanceof PermanentJobError ? err
        : err instanceof HttpError && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 408 && err.statusCode !== 429
          ? new PermanentJobError(err.code, err.message, err.params) : null;
      if (runId !== null) await o.runs.finish(runId, 'failed', null, permanent ? failedReasonOf(permanent) : (err as Error).message).catch(() => {});
      if (permanent) {
        jobLog.warn({ code: permanent.code, err: permanent.message }, 'job failed for good');
        throw new UnrecoverableError(failedReasonOf(permanent));
      }
      jobLog.warn({ err: (err as Error).message }, 'job failed; it will be retried with back-off');
      throw err;
    }
  };

  const worker = new Worker(QUEUES[family.queue], processor, {
    connection: o.connection, prefix, concurrency: o.concurrency,
    lockDuration: o.lockMs, stalledInterval: Math.max(1000, Math.floor(o.lockMs / 2)), maxStalledCount: 2,
    autorun: true,
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
  await worker.waitUntilReady();

  return {
    queue,
    worker,
    /** Stop taking jobs; let running ones finish for drainMs, then abort them back into the queue. */
    async close(): Promise<void> {
      stopping = true;
      const timer = setTimeout(() => worker.cancelAllJobs('shutdown'), o.drainMs);
      try {
        await worker.close();
      } finally {
        clearTimeout(timer);
        await family.close?.();
        await producer.close();
      }
    },
  };
}

export type RunningFamily = Awaited<ReturnType<typeof startFamily>>;
