import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startGateway } from '../../gateway/main.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import type { Platform } from '../../core/platform.ts';
import { createWorkerDeps, type WorkerDeps } from '../../workers/deps.ts';
import { createMediaAccess } from '../../workers/media.ts';
import { EXPIRED_VICTIMS, NODE_CANDIDATES } from '../../workers/retention/repository.ts';
import { runRetention } from '../../workers/retention/run.ts';
import { benchPlatform } from './helpers.ts';

const CAMERAS = 20;
const BACKLOG = 100_000;
const SHARED_BACKLOG = 20_000;
const FILE = Buffer.alloc(1024);

/**
 * A backlog of `count` expired segments over CAMERAS cameras (retention 1 day, a month old),
 * indexed under `nodeId` by one INSERT … SELECT generate_series, each with a real 1 KB file
 * in the gateway's media directory.
 */
async function backlog(platform: Platform, root: string, cameras: string[], nodeId: string, count: number, offsetDays: number): Promise<void> {
  const { rows } = await platform.pool.query(
    `WITH s AS (
       SELECT i, ($2::uuid[])[1 + i % $3] AS device_id,
              date_trunc('second', now()) - make_interval(days => $5) + make_interval(secs => (i / $3) * 10) AS t
         FROM generate_series(0, $1 - 1) i
     )
     INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes, node_id)
     SELECT device_id, t, t + interval '10 seconds',
            'rec/' || device_id || '/' || to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD') || '/' || to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"') || '.ts',
            1024, $4
       FROM s
     RETURNING path`,
    [count, cameras, cameras.length, nodeId, offsetDays],
  );
  const paths = rows.map((r) => r.path as string);
  for (const dir of new Set(paths.map((p) => dirname(join(root, p))))) await mkdir(dir, { recursive: true });
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < paths.length) await writeFile(join(root, paths[next++]!), FILE);
  }));
  await platform.pool.query('ANALYZE recording_segments');
}

function filesLeft(root: string): number {
  const rec = join(root, 'rec');
  if (!existsSync(rec)) return 0;
  let n = 0;
  for (const cam of readdirSync(rec)) for (const day of readdirSync(join(rec, cam))) n += readdirSync(join(rec, cam, day)).length;
  return n;
}

async function timedRun(platform: Platform, deps: Pick<WorkerDeps, 'platform' | 'media' | 'evidence'>, root: string, count: number) {
  const t0 = performance.now();
  const report = await runRetention(deps, { trigger: 'manual', log: platform.log });
  const seconds = (performance.now() - t0) / 1000;
  const { rows } = await platform.pool.query('SELECT (SELECT count(*)::int FROM recording_segments) AS rows, (SELECT count(*)::int FROM media_purges) AS queued');
  const left = filesLeft(root);
  if (report.expired.segments.files !== count || rows[0].rows !== 0 || rows[0].queued !== 0 || left !== 0) {
    throw new Error(`retention bench: expected ${count} segments gone, report says ${report.expired.segments.files}; ${rows[0].rows} rows, ${rows[0].queued} queued and ${left} files left`);
  }
  return { seconds, perSecond: count / seconds };
}

/** Plan of a batch query: the index it reads, and whether anything is scanned sequentially. */
async function plan(platform: Platform, sql: string, params: unknown[]): Promise<string> {
  const { rows } = await platform.pool.query(`EXPLAIN ${sql}`, params);
  const text = rows.map((r) => r['QUERY PLAN'] as string).join('\n');
  const indexes = [...new Set([...text.matchAll(/using (\w+)/gi)].map((m) => m[1]))].join(', ');
  return `${indexes || 'no index'}${/Seq Scan on recording_segments/.test(text) ? ' (SEQ SCAN of recording_segments)' : ''}${/\bSort\b/.test(text) ? ' (sorts)' : ''}`;
}

/**
 * One retention run as production runs it (files deleted through the gateway's internal API,
 * 1000 rows a batch, ≤ 2000 paths a call) over 100,000 expired segments with real files; then
 * the same over 20,000 through the shared media directory.
 */
export async function benchRetention(): Promise<{ metrics: { retention_segments_per_s: number }; notes: string[] }> {
  const { platform, close } = await benchPlatform({ 'health.intervalSeconds': 86_400 });
  const gateway = await startGateway(platform, { listen: true });
  const deps = createWorkerDeps(platform);
  const notes: string[] = [];
  try {
    const root = gateway.layout.root;
    const nodeId = platform.config.gateway.nodeId;
    const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
    const cameras: string[] = [];
    for (let i = 0; i < CAMERAS; i++) cameras.push((await devices.create({ name: `bench-retention-${i}`, enabled: false, recording: { mode: 'continuous', retentionDays: 1 } })).id);

    let t0 = performance.now();
    await backlog(platform, root, cameras, nodeId, BACKLOG, 30);
    notes.push(`backlog: ${BACKLOG} indexed segments with 1 KB files over ${CAMERAS} cameras written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const cutoff = new Date(Date.now() - 86_400_000);
    notes.push(`plan, expired batch: ${await plan(platform, EXPIRED_VICTIMS, [cameras[0], new Date(Date.now() - 86_400_000), null, 1000])}`);
    notes.push(`plan, high-water batch: ${await plan(platform, NODE_CANDIDATES, [nodeId, null, null, 1000])}`);

    const api = await timedRun(platform, deps, root, BACKLOG);
    notes.push(`gateway internal API: ${BACKLOG} segments (rows and files) in ${api.seconds.toFixed(2)} s = ${Math.round(api.perSecond)}/s`);

    t0 = performance.now();
    await backlog(platform, root, cameras, nodeId, SHARED_BACKLOG, 40);
    notes.push(`second backlog of ${SHARED_BACKLOG} written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const shared = createMediaAccess({ shared: true, dataDir: platform.config.dataDir, gateway: deps.gateway, recordings: deps.recordings });
    const local = await timedRun(platform, { ...deps, media: shared }, root, SHARED_BACKLOG);
    notes.push(`shared media directory: ${SHARED_BACKLOG} segments in ${local.seconds.toFixed(2)} s = ${Math.round(local.perSecond)}/s`);
    return { metrics: { retention_segments_per_s: api.perSecond }, notes };
  } finally {
    await deps.jobs.close();
    await gateway.close();
    await close();
  }
}
