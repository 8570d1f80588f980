import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../../core/crypto.ts';
import type { Platform } from '../../core/platform.ts';
import { bullPrefix, QUEUES } from '../../workers/jobs.ts';
import { startMaintenance } from '../../workers/maintenance/worker.ts';
import { testPlatform } from '../helpers/platform.ts';

let platform: Platform;
let close: () => Promise<void>;
let maintenance: Awaited<ReturnType<typeof startMaintenance>>;
let events: QueueEvents;

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  const connection = { url: platform.config.redis.url, maxRetriesPerRequest: null };
  maintenance = await startMaintenance({ log: platform.log, pool: platform.pool, connection, redisPrefix: platform.config.redis.prefix });
  events = new QueueEvents(QUEUES.maintenance, { connection, prefix: bullPrefix(platform.config.redis.prefix) });
  await events.waitUntilReady();
});
afterAll(async () => {
  await events?.close();
  await maintenance?.close();
  await close?.();
});

it('purges expired sessions on a BullMQ job under this run\'s prefix, and a second run changes nothing', async () => {
  // Let the scheduler's own first run finish, so the counts below are ours alone.
  for (let i = 0; i < 50; i++) {
    const c = await maintenance.queue.getJobCounts('active', 'wait');
    if (c.active === 0 && c.wait === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const user = await platform.identity.createUser({ username: 'purge-me', password: 'purge-me-pw', roles: ['patrol'] });
  await platform.pool.query(`INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() - interval '1 hour'), ($3, $2, now() + interval '1 hour')`,
    [sha256('expired'), user.id, sha256('live')]);
  const first = await maintenance.queue.add('sessions.purge', {});
  expect(await first.waitUntilFinished(events, 15_000)).toEqual({ deleted: 1 });
  const second = await maintenance.queue.add('sessions.purge', {});
  expect(await second.waitUntilFinished(events, 15_000)).toEqual({ deleted: 0 });
  const { rows } = await platform.pool.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [user.id]);
  expect(rows[0].n).toBe(1);
  const keys = await platform.redis.keys(`${bullPrefix(platform.config.redis.prefix)}:*`);
  expect(keys.length).toBeGreaterThan(0);
  expect(keys.every((k) => k.startsWith(platform.config.redis.prefix))).toBe(true);
});

it('keeps one purge schedule however many times workers start', async () => {
  const again = await startMaintenance({ log: platform.log, pool: platform.pool, connection: { url: platform.config.redis.url, maxRetriesPerRequest: null }, redisPrefix: platform.config.redis.prefix });
  const schedulers = await maintenance.queue.getJobSchedulers();
  await again.close();
  expect(schedulers.map((s) => s.key)).toEqual(['sessions.purge']);
});
