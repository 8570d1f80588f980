import { spawn } from 'node:child_process';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { sha256 } from '../../core/crypto.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { redisConnection } from '../../workers/deps.ts';
import { bullPrefix, createJobProducer, QUEUES, type JobProducer } from '../../workers/jobs.ts';
import { createMaintenanceFamily } from '../../workers/maintenance/family.ts';
import { parseQueues } from '../../workers/main.ts';
import { PermanentJobError, startFamily, type RunnerOptions, type WorkerFamily } from '../../workers/runner.ts';
import { createJobRuns } from '../../workers/runs.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// The job platform against real Redis (BullMQ) and PostgreSQL: payload schemas refused at
// add, idempotent job ids, permanent and transient failures, run records, the SIGTERM
// drain, the job API and Bull Board's access. Each test uses its own queue prefix.
let platform: Platform;
let close: () => Promise<void>;
let consoleApp: App;
let jobs: JobProducer;
const opened: { close(): Promise<void> }[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runner options on this test's Redis prefix (a fresh prefix per call keeps tests apart). */
function runnerOptions(redisPrefix: string, over: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    log: platform.log, connection: redisConnection(platform), redisPrefix, concurrency: 1,
    lockMs: 5000, drainMs: 500, runs: createJobRuns(platform.pool), ...over,
  };
}

async function queueEvents(redisPrefix: string, queue: string): Promise<QueueEvents> {
  const events = new QueueEvents(queue, { connection: redisConnection(platform), prefix: bullPrefix(redisPrefix) });
  await events.waitUntilReady();
  opened.push(events);
  return events;
}

let prefixSeq = 0;
const freshPrefix = () => `${platform.config.redis.prefix}t${++prefixSeq}:`;

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  consoleApp = await buildConsole(platform);
  jobs = createJobProducer({ connection: redisConnection(platform), redisPrefix: platform.config.redis.prefix });
});
afterAll(async () => {
  for (const o of opened.reverse()) await o.close().catch(() => {});
  await jobs?.close();
  await consoleApp?.close();
  await close?.();
});

describe('payload schemas', () => {
  it('refuses a payload that fails its schema where it is added, naming the field', async () => {
    await expect(jobs.add('snapshot', 'snapshot.take', { deviceId: 'not-a-uuid', purpose: 'manual', requestedBy: { userId: null, name: 'rule:1' } }))
      .rejects.toMatchObject({ statusCode: 400, code: 'job.payload_invalid', field: 'deviceId' });
    await expect(jobs.add('snapshot', 'snapshot.take', { deviceId: crypto.randomUUID(), purpose: 'manual', requestedBy: { userId: null, name: '' } }))
      .rejects.toMatchObject({ code: 'job.payload_invalid', field: 'requestedBy.name' });
    await expect(jobs.add('export', 'export.build', { exportId: crypto.randomUUID(), extra: 1 } as never))
      .rejects.toMatchObject({ code: 'job.payload_invalid', field: 'extra' });
    await expect(jobs.add('maintenance', 'nope' as never, {} as never)).rejects.toMatchObject({ code: 'job.unknown' });
    // Nothing reached Redis.
    expect(await jobs.queue('snapshot').getJobCounts('wait', 'delayed')).toEqual({ wait: 0, delayed: 0 });
  });

  it('an id derived from the inputs makes adding twice one job', async () => {
    const id = `export-${crypto.randomUUID()}`;
    const payload = { exportId: id.slice(7) };
    const a = await jobs.add('export', 'export.build', payload, { jobId: id });
    const b = await jobs.add('export', 'export.build', payload, { jobId: id });
    expect(a.id).toBe(id);
    expect(b.id).toBe(id);
    expect(await jobs.queue('export').getJobCounts('wait')).toEqual({ wait: 1 });
    await jobs.queue('export').remove(id);
  });
});

describe('the runner', () => {
  it('purges expired sessions on the schedule, records every run, and keeps one schedule however often it starts', async () => {
    const prefix = freshPrefix();
    const events = await queueEvents(prefix, QUEUES.maintenance);
    const user = await platform.identity.createUser({ username: `purge-${prefixSeq}`, password: 'purge-me-pw', roles: ['patrol'] });
    await platform.pool.query(`INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() - interval '1 hour'), ($3, $2, now() + interval '1 hour')`,
      [sha256(`expired-${prefixSeq}`), user.id, sha256(`live-${prefixSeq}`)]);
    const first = await startFamily(createMaintenanceFamily({ platform }), runnerOptions(prefix));
    opened.push(first);
    const again = await startFamily(createMaintenanceFamily({ platform }), runnerOptions(prefix));
    // Two starts, one scheduler per scheduled job (not two).
    expect((await first.queue.getJobSchedulers()).map((s) => s.key).sort()).toEqual(['events.purge', 'sessions.purge', 'tracks.purge']);
    await again.close();
    // The scheduler's first run happens at once; a second, added by hand, finds nothing left.
    await expect.poll(async () => (await platform.pool.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [user.id])).rows[0].n, { timeout: 15_000 }).toBe(1);
    const manual = await first.queue.add('sessions.purge', {});
    expect(await manual.waitUntilFinished(events, 15_000)).toEqual({ deleted: 0 });
    const runs = await createJobRuns(platform.pool).last({ name: 'sessions.purge', limit: 50 });
    const mine = runs.filter((r) => r.jobId === manual.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ status: 'ok', result: { deleted: 0 } });
    expect(mine[0]!.finishedAt!.getTime()).toBeGreaterThanOrEqual(mine[0]!.startedAt.getTime());
    // Keys live under this deployment's prefix only.
    const keys = await platform.redis.keys(`${bullPrefix(prefix)}:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith(platform.config.redis.prefix))).toBe(true);
  });

  it('fails for good at once on a permanent error, and retries a transient one with back-off', async () => {
    const prefix = freshPrefix();
    const events = await queueEvents(prefix, QUEUES.maintenance);
    let calls = 0;
    const family: WorkerFamily<'maintenance'> = {
      queue: 'maintenance',
      handlers: {
        'events.purge': async () => ({ deleted: 0 }),
        'tracks.purge': async () => ({ deleted: 0 }),
        'sessions.purge': async ({ job }) => {
          calls++;
          if ((job.opts.jobId ?? '').startsWith('permanent')) throw new PermanentJobError('test.gone', 'the thing is gone');
          if (job.attemptsMade < 2) throw new Error('database busy');
          return { deleted: 7 };
        },
      },
    };
    const running = await startFamily(family, runnerOptions(prefix));
    opened.push(running);
    const permanent = await running.queue.add('sessions.purge', {}, { jobId: 'permanent-1', attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    await expect(permanent.waitUntilFinished(events, 10_000)).rejects.toThrow('test.gone: the thing is gone');
    expect(calls).toBe(1);
    const failed = await running.queue.getJob('permanent-1');
    expect(failed!.attemptsMade).toBe(1);
    expect(await failed!.getState()).toBe('failed');

    calls = 0;
    const started = Date.now();
    const transient = await running.queue.add('sessions.purge', {}, { jobId: 'transient-1', attempts: 5, backoff: { type: 'exponential', delay: 200 } });
    expect(await transient.waitUntilFinished(events, 15_000)).toEqual({ deleted: 7 });
    expect(calls).toBe(3);
    // Two back-offs: 200 ms then 400 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('refuses on receipt a job added around the producer that fails its schema', async () => {
    const prefix = freshPrefix();
    const events = await queueEvents(prefix, QUEUES.maintenance);
    let calls = 0;
    const running = await startFamily({ queue: 'maintenance', handlers: { 'events.purge': async () => ({ deleted: 0 }), 'tracks.purge': async () => ({ deleted: 0 }), 'sessions.purge': async () => { calls++; return { deleted: 0 }; } } }, runnerOptions(prefix));
    opened.push(running);
    const bad = await running.queue.add('sessions.purge', { surprise: true }, { attempts: 3 });
    await expect(bad.waitUntilFinished(events, 10_000)).rejects.toThrow(/job\.payload_invalid/);
    expect(calls).toBe(0);
  });

  it('SIGTERM drain: a job that ends within the drain time completes; a longer one goes back to the queue and finishes on the next worker', async () => {
    const prefix = freshPrefix();
    const events = await queueEvents(prefix, QUEUES.maintenance);
    const seen: string[] = [];
    const slowFamily = (ms: number): WorkerFamily<'maintenance'> => ({
      queue: 'maintenance',
      handlers: {
        'events.purge': async () => ({ deleted: 0 }),
        'tracks.purge': async () => ({ deleted: 0 }),
        'sessions.purge': async ({ job, signal }) => {
          seen.push(`${job.id}:start`);
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, job.id === 'long' ? ms : 300);
            signal.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')); }, { once: true });
          });
          seen.push(`${job.id}:end`);
          return { deleted: 1 };
        },
      },
    });
    // Short job, drain 2 s: close() waits for it.
    const producer = createJobProducer({ connection: redisConnection(platform), redisPrefix: prefix });
    opened.push(producer);
    const a = await startFamily(slowFamily(60_000), runnerOptions(prefix, { drainMs: 2000 }));
    await producer.queue('maintenance').add('sessions.purge', {}, { jobId: 'short' });
    await expect.poll(() => seen.includes('short:start'), { timeout: 5000 }).toBe(true);
    await a.close();
    expect(seen).toContain('short:end');
    expect(await (await producer.queue('maintenance').getJob('short'))?.getState()).toBe('completed');

    // Long job, drain 500 ms: aborted, back in the queue with no attempt spent.
    const b = await startFamily(slowFamily(60_000), runnerOptions(prefix, { drainMs: 500 }));
    await producer.queue('maintenance').add('sessions.purge', {}, { jobId: 'long' });
    await expect.poll(() => seen.includes('long:start'), { timeout: 5000 }).toBe(true);
    const t0 = Date.now();
    await b.close();
    expect(Date.now() - t0).toBeLessThan(3000);
    const parked = await producer.queue('maintenance').getJob('long');
    expect(await parked!.getState()).toBe('waiting');
    expect(parked!.attemptsMade).toBe(0);

    // The next worker takes it and finishes it.
    const c = await startFamily(slowFamily(200), runnerOptions(prefix));
    opened.push(c);
    expect(await parked!.waitUntilFinished(events, 10_000)).toEqual({ deleted: 1 });
    expect(seen.filter((s) => s === 'long:end')).toHaveLength(1);
  });
});

describe('the job API and the queue board', () => {
  it('shows a job to the person who asked for it and to admins only', async () => {
    const owner = await loginAs(consoleApp, platform, ['investigator']);
    const other = await loginAs(consoleApp, platform, ['investigator']);
    const admin = await loginAs(consoleApp, platform, ['admin']);
    const job = await jobs.add('snapshot', 'snapshot.take', {
      deviceId: crypto.randomUUID(), purpose: 'incident', reason: 'test', requestedBy: { userId: owner.userId, name: owner.username }, ref: `t-${prefixSeq}`,
    }, { jobId: `snapshot-api-${crypto.randomUUID()}` });
    const get = (cookie: string) => consoleApp.inject({ method: 'GET', url: `/api/jobs/snapshot/${job.id}`, headers: { cookie } });
    const mine = await get(owner.cookie);
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ id: job.id, queue: 'snapshot', name: 'snapshot.take', attemptsMade: 0 });
    expect(mine.json()).not.toHaveProperty('data');
    expect((await get(other.cookie)).statusCode).toBe(403);
    expect((await get(admin.cookie)).statusCode).toBe(200);
    const missing = await consoleApp.inject({ method: 'GET', url: '/api/jobs/snapshot/nope', headers: { cookie: admin.cookie } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('job.not_found');
    expect((await consoleApp.inject({ method: 'GET', url: '/api/jobs/bogus/1', headers: { cookie: admin.cookie } })).statusCode).toBe(400);
    await jobs.queue('snapshot').remove(job.id);
  });

  it('Bull Board at /admin/queues answers admins only', async () => {
    const admin = await loginAs(consoleApp, platform, ['admin']);
    const monitor = await loginAs(consoleApp, platform, ['monitor', 'investigator', 'supervisor']);
    expect((await consoleApp.inject({ method: 'GET', url: '/admin/queues' })).statusCode).toBe(401);
    expect((await consoleApp.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: monitor.cookie } })).statusCode).toBe(403);
    expect((await consoleApp.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { cookie: monitor.cookie } })).statusCode).toBe(403);
    const page = await consoleApp.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: admin.cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const api = await consoleApp.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { cookie: admin.cookie } });
    expect(api.statusCode).toBe(200);
    const names = (api.json() as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual(['export', 'maintenance', 'retention', 'snapshot']);
    // A write from another site with the admin's cookie is refused like any other.
    const cross = await consoleApp.inject({ method: 'PUT', url: '/admin/queues/api/queues/snapshot/pause', headers: { cookie: admin.cookie, origin: 'http://evil.example' } });
    expect(cross.statusCode).toBe(403);
    expect(cross.json().code).toBe('auth.cross_site');
  });

  it('lists the last scheduled runs for admins, not for others', async () => {
    const admin = await loginAs(consoleApp, platform, ['admin']);
    const monitor = await loginAs(consoleApp, platform, ['monitor']);
    const res = await consoleApp.inject({ method: 'GET', url: '/api/admin/job-runs?name=sessions.purge&limit=5', headers: { cookie: admin.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.length).toBeGreaterThan(0);
    expect(res.json().items.every((r: { name: string }) => r.name === 'sessions.purge')).toBe(true);
    expect((await consoleApp.inject({ method: 'GET', url: '/api/admin/job-runs', headers: { cookie: monitor.cookie } })).statusCode).toBe(403);
  });
});

describe('skynet workers', () => {
  it('names the wrong queue in one line', () => {
    expect(() => parseQueues('snapshot,bogus')).toThrow('--queues: unknown queue "bogus" (queues: maintenance, snapshot, export, retention)');
    expect(parseQueues('export, snapshot,export')).toEqual(['export', 'snapshot']);
    expect(parseQueues(undefined)).toEqual(['maintenance', 'snapshot', 'export', 'retention']);
  });

  it('runs the queues named and stops cleanly on SIGTERM', async () => {
    const env = {
      ...process.env, SKYNET_DATABASE_URL: inject('databaseUrl'), SKYNET_REDIS_PREFIX: `${platform.config.redis.prefix}cli:`,
      SKYNET_DATA_DIR: platform.config.dataDir, SKYNET_SECRET_KEY: inject('secretKey'), SKYNET_LOG_FORMAT: 'text',
    };
    delete (env as Record<string, string | undefined>).VITEST;
    const child = spawn(process.execPath, ['bin/skynet.js', 'workers', '--queues', 'maintenance,snapshot'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    await expect.poll(() => out, { timeout: 30_000 }).toContain('Skynet workers are running (queues: maintenance, snapshot)');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);

    const bad = spawn(process.execPath, ['bin/skynet.js', 'workers', '--queues', 'faces'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    bad.stderr.on('data', (d) => { err += d; });
    expect(await new Promise((resolve) => bad.on('exit', resolve))).toBe(1);
    expect(err.trim()).toBe('skynet: --queues: unknown queue "faces" (queues: maintenance, snapshot, export, retention)');
    await sleep(0);
  });
});
