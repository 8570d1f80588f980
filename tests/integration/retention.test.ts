import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import type { DiskUse } from '../../gateway/recordings/media-files.ts';
import { localDay } from '../../gateway/recordings/timeline.ts';
import { createWorkerDeps, type WorkerDeps } from '../../workers/deps.ts';
import { bullPrefix, QUEUES } from '../../workers/jobs.ts';
import { createMediaAccess } from '../../workers/media.ts';
import { createRetentionFamily } from '../../workers/retention/family.ts';
import { createRetentionRepository, EXPIRED_VICTIMS, NODE_CANDIDATES } from '../../workers/retention/repository.ts';
import { runRetention } from '../../workers/retention/run.ts';
import { startFamily } from '../../workers/runner.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// Retention against real PostgreSQL, Redis, files and a real gateway: by default files are
// deleted through the gateway's internal API (as workers on other machines do), one test
// through the shared media directory. The run sees the whole shared test database, so
// beforeAll first runs it once over whatever earlier test files left (and forgets the queued
// files of their gateways, which are gone with their data directories); every assertion is
// on this file's own cameras, nodes and files.
let platform: Platform;
let close: () => Promise<void>;
let gateway: Gateway;
let consoleApp: App;
let deps: WorkerDeps;
let nodeId: string;
let mediaRoot: string;
const opened: { close(): Promise<void> }[] = [];

const DAY = 86_400_000;
const SEG_MS = 10_000;
const FILE_BYTES = 1024;
const run = (d: Pick<WorkerDeps, 'platform' | 'media' | 'evidence'> = deps) => runRetention(d, { trigger: 'manual', log: platform.log });

interface Seg { deviceId: string; startsAt: Date; endsAt: Date; path: string }

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const segPath = (deviceId: string, start: Date) => `rec/${deviceId}/${stamp(start).slice(0, 8)}/${stamp(start)}.ts`;
const exists = (rel: string) => existsSync(join(mediaRoot, rel));

async function camera(retentionDays: number): Promise<string> {
  return (await deps.devices.create({ name: `保存期限-${randomBytes(3).toString('hex')}`, enabled: false, recording: { mode: 'continuous', retentionDays } })).id;
}

/** `count` ten-second segments from `from` (every `stepMs`), 1 KB files in the media directory, indexed under `node`. */
async function segments(deviceId: string, from: number, count: number, node = nodeId, stepMs = SEG_MS): Promise<Seg[]> {
  const start = Math.floor(from / 1000) * 1000;
  const rows = Array.from({ length: count }, (_, i) => {
    const startsAt = new Date(start + i * stepMs);
    return { deviceId, startsAt, endsAt: new Date(startsAt.getTime() + SEG_MS), path: segPath(deviceId, startsAt), bytes: FILE_BYTES };
  });
  for (const r of rows) {
    mkdirSync(dirname(join(mediaRoot, r.path)), { recursive: true });
    writeFileSync(join(mediaRoot, r.path), Buffer.alloc(FILE_BYTES));
  }
  const { inserted } = await deps.recordings.insertSegments(rows, node);
  expect(inserted).toBe(count);
  return rows;
}

async function indexed(deviceId: string): Promise<string[]> {
  const { rows } = await platform.pool.query('SELECT path FROM recording_segments WHERE device_id = $1 ORDER BY starts_at', [deviceId]);
  return rows.map((r) => r.path as string);
}

async function hold(deviceId: string, startsAt: Date, endsAt: Date, ref = randomUUID(), kind: 'export' | 'bookmark' = 'bookmark') {
  await deps.holds.place([{ deviceId, startsAt, endsAt, kind, ref, reason: 'retention test' }]);
  return ref;
}

async function purgeRows(node: string): Promise<number> {
  return (await platform.pool.query(`SELECT count(*)::int AS n FROM media_purges WHERE node_id = $1`, [node])).rows[0].n;
}

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'retention.batchSize': 10 }));
  gateway = await startGateway(platform);
  nodeId = platform.config.gateway.nodeId;
  mediaRoot = gateway.layout.root;
  deps = createWorkerDeps(platform);
  consoleApp = await buildConsole(platform);
  await run(); // whatever earlier test files left in the shared database
  await platform.pool.query(`DELETE FROM media_purges WHERE node_id <> $1`, [nodeId]);
});
afterAll(async () => {
  for (const o of opened.reverse()) await o.close().catch(() => {});
  await deps?.jobs.close();
  await consoleApp?.close();
  await gateway?.close();
  await close?.();
});

describe('past the retention period', () => {
  let camA: string;
  let heldFrom: Date;

  it('deletes expired segments (rows and files), snapshots and export packages; keeps held footage, longer periods and recent footage', async () => {
    const now = Date.now();
    camA = await camera(7);
    const camB = await camera(30);
    const camC = await camera(7);
    const oldA = await segments(camA, now - 10 * DAY, 30);
    const newA = await segments(camA, now - 3_600_000, 5);
    const oldB = await segments(camB, now - 10 * DAY, 5);
    const oldC = await segments(camC, now - 10 * DAY, 5);
    const newC = await segments(camC, now - 3 * DAY, 3);
    await deps.devices.remove(camC); // decommissioned: its footage goes when its period ends, not before
    // A hold over part of segments 10 and 14 and all between: those five stay.
    heldFrom = new Date(oldA[10]!.startsAt.getTime() + 1000);
    await hold(camA, heldFrom, new Date(oldA[14]!.endsAt.getTime() - 1000));

    const snap = async (deviceId: string, takenAt: Date) => {
      const id = randomUUID();
      const path = deps.evidence.snapshotPath(deviceId, takenAt, id);
      await deps.evidence.put(path, Buffer.alloc(500, 1));
      await platform.pool.query(`INSERT INTO snapshots (id, device_id, taken_at, source, path, bytes, requested_by_name, purpose) VALUES ($1, $2, $3, 'session', $4, 500, 'test', 'manual')`,
        [id, deviceId, takenAt, path]);
      return { id, path };
    };
    const oldSnap = await snap(camA, new Date(now - 8 * DAY));
    const newSnap = await snap(camA, new Date(now - 6 * DAY));

    const user = await platform.identity.createUser({ username: `ret-${randomBytes(3).toString('hex')}`, password: 'retention-pw-1', roles: ['investigator'] });
    const pkg = async (ageDays: number) => {
      const id = randomUUID();
      const path = deps.evidence.exportPath(id);
      await deps.evidence.put(path, Buffer.alloc(3000, 2));
      const at = new Date(now - ageDays * DAY);
      await platform.pool.query(
        `INSERT INTO exports (id, case_number, reason, requested_by, requested_by_name, requested_at, items, status, path, bytes, started_at, finished_at)
         VALUES ($1, 'A-1', 'test', $2, 'test', $3, '[]', 'done', $4, 3000, $3, $3)`, [id, user.id, at, path]);
      return { id, path };
    };
    const oldPkg = await pkg(91);
    const newPkg = await pkg(10);
    await hold(camB, oldB[0]!.startsAt, oldB[4]!.endsAt, oldPkg.id, 'export');

    const report = await run();
    expect(report.expired).toEqual({
      segments: { files: 25 + 5, bytes: 30 * FILE_BYTES },
      snapshots: { files: 1, bytes: 500 },
      exports: { files: 1, bytes: 3000 },
    });
    expect([report.keptHeld, report.repaired, report.deferred]).toEqual([5, 0, 0]);
    expect(report.highWater).toEqual([]);

    const keptA = [...oldA.slice(10, 15), ...newA].map((s) => s.path);
    expect(await indexed(camA)).toEqual(keptA);
    expect(oldA.filter((s) => !keptA.includes(s.path)).some((s) => exists(s.path))).toBe(false);
    expect(keptA.every(exists)).toBe(true);
    expect(await indexed(camB)).toEqual(oldB.map((s) => s.path));
    expect(oldB.every((s) => exists(s.path))).toBe(true);
    expect(await indexed(camC)).toEqual(newC.map((s) => s.path));
    expect(oldC.some((s) => exists(s.path))).toBe(false);
    expect(newC.every((s) => exists(s.path))).toBe(true);

    const snaps = await platform.pool.query('SELECT id FROM snapshots WHERE device_id = $1', [camA]);
    expect(snaps.rows.map((r) => r.id)).toEqual([newSnap.id]);
    expect(existsSync(deps.evidence.abs(oldSnap.path))).toBe(false);
    expect(existsSync(deps.evidence.abs(newSnap.path))).toBe(true);

    const pkgs = await platform.pool.query('SELECT id, status, path FROM exports WHERE id = ANY($1::uuid[]) ORDER BY requested_at', [[oldPkg.id, newPkg.id]]);
    expect(pkgs.rows).toEqual([{ id: oldPkg.id, status: 'expired', path: null }, { id: newPkg.id, status: 'done', path: newPkg.path }]);
    expect(existsSync(deps.evidence.abs(oldPkg.path))).toBe(false);
    expect(existsSync(deps.evidence.abs(newPkg.path))).toBe(true);
    expect(await deps.holds.active({ kind: 'export', ref: oldPkg.id })).toEqual([]);

    expect(report.oldest).toContainEqual({ deviceId: camA, oldestAt: oldA[10]!.startsAt.toISOString() });
    expect(report.oldest).toContainEqual({ deviceId: camC, oldestAt: newC[0]!.startsAt.toISOString() });
    expect(await purgeRows(nodeId)).toBe(0);

    // Idempotent: a second run finds nothing more (the held ones are counted again).
    const again = await run();
    expect([again.expired.segments.files, again.expired.snapshots.files, again.expired.exports.files, again.keptHeld]).toEqual([0, 0, 0, 5]);
  });

  it('lists the live holds for admins and supervisors; a monitor is refused', async () => {
    const supervisor = (await loginAs(consoleApp, platform, ['supervisor'])).cookie;
    const monitor = (await loginAs(consoleApp, platform, ['monitor'])).cookie;
    const res = await consoleApp.inject({ method: 'GET', url: `/api/admin/holds?deviceId=${camA}`, headers: { cookie: supervisor } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items).toHaveLength(1);
    expect(res.json().items[0]).toMatchObject({ deviceId: camA, kind: 'bookmark', startsAt: heldFrom.toISOString(), releasedAt: null });
    expect((await consoleApp.inject({ method: 'GET', url: `/api/admin/holds?deviceId=nope`, headers: { cookie: supervisor } })).statusCode).toBe(400);
    expect((await consoleApp.inject({ method: 'GET', url: '/api/admin/holds', headers: { cookie: monitor } })).statusCode).toBe(403);
  });
});

describe('above the disk high-water mark', () => {
  // The real statfs measurement is exercised through the gateway route (GET /api/admin/retention
  // below shows this node's disk). Here disk() is computed from the bytes actually left in the
  // test's camera directories over a pretend capacity, so the run's stopping point is exact.
  function pretendDisk(node: string, cams: string[], capacity: { bytes: number }) {
    return async (id: string): Promise<DiskUse> => {
      if (id !== node) return { totalBytes: 1e12, usedBytes: 0, freeBytes: 1e12, usedPercent: 0 };
      let used = 0;
      for (const cam of cams) {
        const dir = join(mediaRoot, 'rec', cam);
        if (!existsSync(dir)) continue;
        for (const day of readdirSync(dir)) for (const f of readdirSync(join(dir, day))) used += statSync(join(dir, day, f)).size;
      }
      const free = Math.max(0, capacity.bytes - used);
      return { totalBytes: capacity.bytes, usedBytes: used, freeBytes: free, usedPercent: (100 * used) / (used + free) };
    };
  }

  it('frees exactly the oldest segments of the node across cameras until under low-water; held ones survive even when that leaves it above', async () => {
    // A node of its own (its index rows name it) reached at the real gateway's internal address.
    const node = `hw-${randomBytes(3).toString('hex')}`;
    await platform.pool.query(
      `INSERT INTO gateway_nodes (id, internal_url, public_url, max_sessions, heartbeat_at) SELECT $1, internal_url, public_url, 0, now() + interval '1 hour' FROM gateway_nodes WHERE id = $2`, [node, nodeId]);
    try {
      const h1 = await camera(30);
      const h2 = await camera(30);
      const t0 = Date.now() - 2 * DAY;
      const a = await segments(h1, t0, 20, node);
      const b = await segments(h2, t0 + 5000, 20, node);
      const capacity = { bytes: 44 * 1024 }; // 40 KiB used of 44: 90.9 %
      const disk = pretendDisk(node, [h1, h2], capacity);

      const report = await run({ ...deps, media: { ...deps.media, disk } });
      // Under 80 % of 44 KiB means at most 35 KiB: five files, the oldest across both cameras.
      const gone = [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!].map((s) => s.path);
      expect(report.highWater).toEqual([{
        nodeId: node, usedPercentBefore: expect.closeTo((100 * 40) / 44, 6), usedPercentAfter: expect.closeTo((100 * 35) / 44, 6),
        segments: { files: 5, bytes: 5 * FILE_BYTES }, stillAbove: false,
      }]);
      expect(report.expired.segments.files).toBe(0);
      expect(gone.some(exists)).toBe(false);
      expect([...a, ...b].filter((s) => !gone.includes(s.path)).every((s) => exists(s.path))).toBe(true);
      expect([...(await indexed(h1)), ...(await indexed(h2))].sort()).toEqual([...a, ...b].map((s) => s.path).filter((p) => !gone.includes(p)).sort());

      // All of h1 held, and h1 alone is above 80 % of 21 KiB: the shared-directory path deletes
      // all of h2 and reports the disk still above.
      await hold(h1, new Date(t0 - SEG_MS), new Date(t0 + DAY));
      capacity.bytes = 21 * 1024;
      const shared = createMediaAccess({ shared: true, dataDir: platform.config.dataDir, gateway: deps.gateway, recordings: deps.recordings });
      const full = await run({ ...deps, media: { ...shared, disk } });
      expect(full.highWater).toHaveLength(1);
      expect(full.highWater[0]).toMatchObject({ nodeId: node, usedPercentBefore: 100, usedPercentAfter: expect.closeTo((100 * 17) / 21, 6), segments: { files: 18, bytes: 18 * FILE_BYTES }, stillAbove: true });
      expect(await indexed(h2)).toEqual([]);
      expect(b.some((s) => exists(s.path))).toBe(false);
      expect(await indexed(h1)).toEqual(a.slice(3).map((s) => s.path));
      expect(a.slice(3).every((s) => exists(s.path))).toBe(true);
      expect(await purgeRows(node)).toBe(0);
    } finally {
      await platform.pool.query(`DELETE FROM gateway_nodes WHERE id = $1`, [node]);
    }
  });
});

describe('the purge queue', () => {
  it('finishes files a crashed run left queued (counted repaired); files of a node that is down stay queued (deferred)', async () => {
    const cam = await camera(1);
    const segs = await segments(cam, Date.now() - 3 * DAY, 4);
    // The crash: the batch left the index and entered the queue, and the process died before unlinking.
    const cutoff = new Date(Date.now() - DAY);
    const batch = await createRetentionRepository(platform.pool).expireSegments(cam, cutoff, null, 100);
    expect(batch.taken).toBe(4);
    expect(await indexed(cam)).toEqual([]);
    expect(segs.every((s) => exists(s.path))).toBe(true);
    const snapId = randomUUID();
    const snapPath = deps.evidence.snapshotPath(cam, new Date(), snapId);
    await deps.evidence.put(snapPath, Buffer.alloc(10));
    const down = `down-${randomBytes(3).toString('hex')}`;
    await platform.pool.query(`INSERT INTO media_purges (store, node_id, path, bytes) VALUES ('evidence', '', $1, 10), ('media', $2, $3, 1)`,
      [snapPath, down, segPath(cam, new Date(0))]);

    const report = await run();
    expect([report.repaired, report.deferred, report.expired.segments.files]).toEqual([5, 1, 0]);
    expect(segs.some((s) => exists(s.path))).toBe(false);
    expect(existsSync(deps.evidence.abs(snapPath))).toBe(false);
    expect(await purgeRows(nodeId)).toBe(0);
    expect(await purgeRows(down)).toBe(1);
    await platform.pool.query(`DELETE FROM media_purges WHERE node_id = $1`, [down]);
  });

  it('never deletes a file the index names: a queued path that is indexed again (a gateway re-indexed it) leaves the queue, the file stays', async () => {
    const cam = await camera(30);
    const [seg] = await segments(cam, Date.now() - DAY, 1);
    await platform.pool.query(`INSERT INTO media_purges (store, node_id, path, bytes) VALUES ('media', $1, $2, $3)`, [nodeId, seg!.path, FILE_BYTES]);
    const report = await run();
    expect([report.repaired, report.deferred, report.expired.segments.files]).toEqual([0, 0, 0]);
    expect(exists(seg!.path)).toBe(true);
    expect(await indexed(cam)).toEqual([seg!.path]);
    expect(await purgeRows(nodeId)).toBe(0);
  });

  it('the batch queries walk their indexes in order: no sort, no sequential scan of recording_segments', async () => {
    const cam = await camera(1);
    await segments(cam, Date.now() - 3 * DAY, 50);
    const client = await platform.pool.connect();
    try {
      // A test-sized table would be read sequentially by choice; what matters is that the
      // indexes can serve these queries in their ORDER BY (so a batch reads only its rows).
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const explain = async (sql: string, params: unknown[]) => (await client.query(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN'] as string).join('\n');
      const expired = await explain(EXPIRED_VICTIMS, [cam, new Date(Date.now() - DAY), null, 1000]);
      expect(expired).toMatch(/Index Scan using recording_segments_(range_idx|device_id_starts_at_key) on recording_segments s/);
      expect(expired).toContain('holds_active_idx');
      const node = await explain(NODE_CANDIDATES, [nodeId, null, null, 1000]);
      expect(node).toContain('Index Scan using recording_segments_node_idx on recording_segments s');
      for (const plan of [expired, node]) {
        expect(plan).not.toMatch(/Seq Scan on recording_segments|\bSort\b/);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    await run();
  });

  it('two runs at once do not process the same files twice: their counts add up to the backlog', async () => {
    const cam = await camera(1);
    const segs = await segments(cam, Date.now() - 5 * DAY, 60);
    const [r1, r2] = await Promise.all([run(), run()]);
    expect(r1.expired.segments.files + r2.expired.segments.files).toBe(60);
    expect(r1.expired.segments.bytes + r2.expired.segments.bytes).toBe(60 * FILE_BYTES);
    expect(r1.repaired + r2.repaired).toBe(0);
    expect(await indexed(cam)).toEqual([]);
    expect(segs.some((s) => exists(s.path))).toBe(false);
    expect(await purgeRows(nodeId)).toBe(0);
  });
});

describe('what people see', () => {
  it('the footage timeline shows a deleted range as missing', async () => {
    const investigator = (await loginAs(consoleApp, platform, ['investigator'])).cookie;
    const cam = await camera(1);
    const now = Date.now();
    const tz = platform.config.site.timezone;
    // Ends 1 h 29 min past the one-day period (moved back should it straddle local midnight).
    let start = now - DAY - 90 * 60_000;
    if (localDay(tz, new Date(start)) !== localDay(tz, new Date(start + 70_000))) start -= 5 * 60_000;
    const old = await segments(cam, start, 6);
    const kept = await segments(cam, now - DAY + 30 * 60_000, 6);
    const from = old[0]!.startsAt.getTime();
    const to = old[5]!.endsAt.getTime();
    const day = localDay(tz, old[0]!.startsAt);
    const timeline = async () => {
      const res = await consoleApp.inject({ method: 'GET', url: `/api/devices/${cam}/timeline?day=${day}`, headers: { cookie: investigator } });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().ranges as { kind: string; from: string; to: string }[]).map((r) => ({ kind: r.kind, from: Date.parse(r.from), to: Date.parse(r.to) }));
    };
    const covering = (ranges: { kind: string; from: number; to: number }[]) => ranges.filter((r) => r.from < to && r.to > from);
    expect(covering(await timeline())).toEqual([{ kind: 'footage', from, to }]);
    await run();
    expect(await indexed(cam)).toEqual(kept.map((s) => s.path));
    const after = covering(await timeline());
    expect(after.every((r) => r.kind === 'missing')).toBe(true);
    expect(after[0]!.from).toBeLessThanOrEqual(from);
    expect(after.at(-1)!.to).toBeGreaterThanOrEqual(to);
  });

  it('records each run of the job (GET /api/admin/job-runs) and answers GET /api/admin/retention for admins only', async () => {
    const prefix = `${platform.config.redis.prefix}ret:`;
    const since = new Date();
    const events = new QueueEvents(QUEUES.retention, { connection: deps.connection, prefix: bullPrefix(prefix) });
    await events.waitUntilReady();
    opened.push(events);
    const running = await startFamily(createRetentionFamily(deps), {
      log: platform.log, connection: deps.connection, redisPrefix: prefix, concurrency: 1, lockMs: 10_000, drainMs: 2000, runs: deps.runs,
    });
    opened.push(running);
    expect((await running.queue.getJobSchedulers()).map((s) => s.key)).toEqual(['retention.run']);
    // The schedule's first run starts at once and is recorded; after it, the manual run does the work.
    await expect.poll(async () => (await platform.pool.query(
      `SELECT count(*)::int AS n FROM job_runs WHERE name = 'retention.run' AND job_id LIKE 'repeat:%' AND started_at >= $1 AND status = 'ok'`, [since])).rows[0].n, { timeout: 15_000 }).toBe(1);
    const cam = await camera(1);
    await segments(cam, Date.now() - 2 * DAY, 3);
    const job = await running.queue.add('retention.run', { trigger: 'manual' });
    const result = await job.waitUntilFinished(events, 20_000);
    expect(result).toMatchObject({ trigger: 'manual', expired: { segments: { files: 3, bytes: 3 * FILE_BYTES } } });

    const admin = (await loginAs(consoleApp, platform, ['admin'])).cookie;
    const runs = await consoleApp.inject({ method: 'GET', url: '/api/admin/job-runs?name=retention.run&limit=50', headers: { cookie: admin } });
    expect(runs.statusCode, runs.body).toBe(200);
    const mine = runs.json().items.filter((r: { jobId: string }) => r.jobId === job.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ status: 'ok', result: { trigger: 'manual', expired: { segments: { files: 3 } } } });

    const res = await consoleApp.inject({ method: 'GET', url: '/api/admin/retention', headers: { cookie: admin } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.config).toEqual({ highWaterPercent: 90, lowWaterPercent: 80, intervalMinutes: 60, exportRetentionDays: 90, defaultRetentionDays: 30, batchSize: 10 });
    const me = body.nodes.find((n: { nodeId: string }) => n.nodeId === nodeId);
    expect(me.error).toBeNull();
    expect(me.disk.totalBytes).toBeGreaterThan(0);
    expect(me.disk.usedPercent).toBeGreaterThan(0);
    expect(me.disk.usedPercent).toBeLessThanOrEqual(100);
    expect(body.holds.active).toBeGreaterThanOrEqual(2);
    expect(body.purgeQueue).toBeTypeOf('number');
    expect(body.lastRun).toMatchObject({ status: 'ok' });
    expect(body.lastRun.result).toMatchObject({ trigger: expect.any(String), durationMs: expect.any(Number) });

    const monitor = (await loginAs(consoleApp, platform, ['monitor'])).cookie;
    expect((await consoleApp.inject({ method: 'GET', url: '/api/admin/retention', headers: { cookie: monitor } })).statusCode).toBe(403);
    expect((await consoleApp.inject({ method: 'GET', url: '/api/admin/retention' })).statusCode).toBe(401);
  });
});
