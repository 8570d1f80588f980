import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { createRecordingRepository } from '../../gateway/recordings/repository.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// SIGKILL in the middle of an export: `skynet workers --queues export` (its own process group,
// so its ffmpeg dies with it) is killed -9 while the job runs; a second worker picks the job up
// once its lock lapses, starts over cleanly, and the export ends with one package and one
// completion. The workers read the media directory directly (workers.sharedMedia).
let platform: Platform;
let close: () => Promise<void>;
let consoleApp: App;
const children: ChildProcess[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'skynet-export-crash-'));
const SEG_MS = 10_000;
const SEGMENTS = 90;

function startWorker(): ChildProcess {
  const env: Record<string, string | undefined> = {
    ...process.env, SKYNET_DATABASE_URL: inject('databaseUrl'), SKYNET_REDIS_PREFIX: platform.config.redis.prefix,
    SKYNET_DATA_DIR: platform.config.dataDir, SKYNET_SECRET_KEY: inject('secretKey'), SKYNET_WORKERS_LOCK_SECONDS: '5',
    SKYNET_WORKERS_SHARED_MEDIA: 'true', SKYNET_LOG_FORMAT: 'text',
  };
  delete env.VITEST;
  const child = spawn(process.execPath, ['bin/skynet.js', 'workers', '--queues', 'export'], { env, stdio: 'ignore', detached: true });
  children.push(child);
  return child;
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => { try { process.kill(-child.pid!, signal); } catch { /* gone */ } };

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  consoleApp = await buildConsole(platform);
  await consoleApp.ready();
  // One 10 s segment (noise keeps it large: the job must still be running when it is killed), copied.
  const segment = join(scratch, 'seg.ts');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-vf', 'noise=alls=60:allf=t',
    '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2M', '-g', '50', '-f', 'mpegts', '-y', segment]);
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const cam = (await devices.create({ name: 'crash-cam', streams: { main: 'rtsp://127.0.0.1:9/crash' } })).id;
  const t0 = Math.floor((Date.now() - 3 * 3_600_000) / SEG_MS) * SEG_MS;
  const rows = [];
  for (let i = 0; i < SEGMENTS; i++) {
    const start = t0 + i * SEG_MS;
    const name = new Date(start).toISOString().replace(/[-:]/g, '').slice(0, 15) + 'Z';
    const rel = `rec/${cam}/${name.slice(0, 8)}/${name}.ts`;
    mkdirSync(join(platform.config.dataDir, 'media', rel, '..'), { recursive: true });
    copyFileSync(segment, join(platform.config.dataDir, 'media', rel));
    rows.push({ deviceId: cam, startsAt: new Date(start), endsAt: new Date(start + SEG_MS), path: rel, bytes: statSync(segment).size });
  }
  await createRecordingRepository(platform.pool).insertSegments(rows, platform.config.gateway.nodeId);
  (globalThis as { crashCam?: { cam: string; t0: number } }).crashCam = { cam, t0 };
}, 120_000);

afterAll(async () => {
  for (const c of children) killGroup(c, 'SIGKILL');
  await consoleApp?.close();
  await close?.();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a worker killed mid-export', () => {
  it('is finished by the next worker: one package, one completion, no scratch left', async () => {
    const { cam, t0 } = (globalThis as unknown as { crashCam: { cam: string; t0: number } }).crashCam;
    const { cookie } = await loginAs(consoleApp, platform, ['investigator']);
    const first = startWorker();
    const res = await consoleApp.inject({ method: 'POST', url: '/api/exports', headers: { cookie }, payload: {
      caseNumber: 'CRASH-1', reason: 'kill -9 test', items: [{ deviceId: cam, from: new Date(t0).toISOString(), to: new Date(t0 + SEGMENTS * SEG_MS).toISOString() }],
    } });
    expect(res.statusCode).toBe(202);
    const id = res.json().export.id as string;
    const row = async () => (await platform.pool.query('SELECT status, progress, attempts FROM exports WHERE id = $1', [id])).rows[0];

    // Killed while it works: running, with progress reported.
    await expect.poll(async () => { const r = await row(); return r.status === 'running' && r.progress.bytes > 0; }, { timeout: 60_000, interval: 50 }).toBe(true);
    const killedAt = await row();
    killGroup(first, 'SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(killedAt.status).toBe('running');

    startWorker();
    await expect.poll(async () => (await row()).status, { timeout: 90_000, interval: 250 }).toBe('done');
    const done = await row();
    expect(done.attempts).toBe(2);
    const completions = await platform.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'export.completed' AND target_id = $1`, [id]);
    expect(completions.rows[0].n).toBe(1);
    const evidence = join(platform.config.dataDir, 'evidence');
    expect(readdirSync(join(evidence, 'exports'))).toEqual([`${id}.zip`]);
    // The scratch directory goes right after the row says done (a loaded machine can be between the two).
    await expect.poll(() => existsSync(join(evidence, 'tmp', `export-${id}`)), { timeout: 10_000 }).toBe(false);
    const pkg = await platform.pool.query('SELECT bytes::float8 AS bytes FROM exports WHERE id = $1', [id]);
    expect(statSync(join(evidence, 'exports', `${id}.zip`)).size).toBe(pkg.rows[0].bytes);
  }, 180_000);
});
