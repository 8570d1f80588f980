import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startConsole } from '../../console/server/main.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { startGateway } from '../../gateway/main.ts';
import { createRecordingRepository } from '../../gateway/recordings/repository.ts';
import { createWorkerDeps, redisConnection } from '../../workers/deps.ts';
import { createExportFamily } from '../../workers/export/family.ts';
import { startFamily } from '../../workers/runner.ts';
import { createJobRuns } from '../../workers/runs.ts';
import { benchPlatform } from './helpers.ts';

const run = promisify(execFile);
const SEG_MS = 10_000;
const SEGMENTS = 360;

/** Wall time of `node bin/skynet.js verify …` as a person runs it, and its exit code. */
function timeVerify(args: string[]): Promise<{ ms: number; code: number | null; out: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/skynet.js', 'verify', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code, out }));
  });
}

/**
 * One hour of one 4 Mbit/s camera (360 copies of one generated 10 s H.264 segment, indexed),
 * exported through the listening console's API with the worker in this process fetching the
 * segments from the listening gateway's internal API (workers.sharedMedia off), then
 * `skynet verify` on the package as a child process.
 */
export async function benchExport(): Promise<{ metrics: { export_mb_per_s: number; verify_mb_per_s: number }; notes: string[] }> {
  // SKYNET_BENCH_SHARED_MEDIA=1: the worker reads segments in place (workers.sharedMedia), as where it shares the gateway's disk.
  const shared = process.env.SKYNET_BENCH_SHARED_MEDIA === '1';
  const { platform, close } = await benchPlatform(shared ? { 'workers.sharedMedia': true } : {});
  const notes: string[] = [];
  const gateway = await startGateway(platform);
  const consoleApp = await startConsole(platform);
  const worker = await startFamily(createExportFamily(createWorkerDeps(platform)), {
    log: platform.log, connection: redisConnection(platform), redisPrefix: platform.config.redis.prefix,
    concurrency: 1, lockMs: 30_000, drainMs: 1000, runs: createJobRuns(platform.pool),
  });
  try {
    const address = consoleApp.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const media = join(platform.config.dataDir, 'media');
    const segment = join(platform.config.dataDir, 'bench-seg.ts');
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-vf', 'noise=alls=40:allf=t',
      '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '4M', '-maxrate', '4M', '-bufsize', '8M', '-g', '50', '-f', 'mpegts', '-y', segment]);
    const segBytes = (await stat(segment)).size;
    const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
    const cam = (await devices.create({ name: 'bench-export', streams: { main: 'rtsp://127.0.0.1:9/bench' } })).id;
    const t0 = Math.floor((Date.now() - 2 * 3_600_000) / SEG_MS) * SEG_MS;
    const rows = [];
    for (let i = 0; i < SEGMENTS; i++) {
      const start = t0 + i * SEG_MS;
      const name = new Date(start).toISOString().replace(/[-:]/g, '').slice(0, 15) + 'Z';
      const rel = `rec/${cam}/${name.slice(0, 8)}/${name}.ts`;
      await mkdir(join(media, rel, '..'), { recursive: true });
      await copyFile(segment, join(media, rel));
      rows.push({ deviceId: cam, startsAt: new Date(start), endsAt: new Date(start + SEG_MS), path: rel, bytes: segBytes });
    }
    await createRecordingRepository(platform.pool).insertSegments(rows, platform.config.gateway.nodeId);
    notes.push(`footage: ${SEGMENTS} segments of ${(segBytes / 1e6).toFixed(2)} MB (${((segBytes * 8) / 10 / 1e6).toFixed(2)} Mbit/s), ${((segBytes * SEGMENTS) / 1e9).toFixed(2)} GB`);

    await platform.identity.createUser({ username: 'bench-exporter', password: 'bench-exporter-pw', roles: ['investigator'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench-exporter', password: 'bench-exporter-pw' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const api = (path: string, body?: unknown) => fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST', headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
    });

    const started = performance.now();
    const res = await api('/api/exports', { caseNumber: 'BENCH-1', reason: 'benchmark', items: [{ deviceId: cam, from: new Date(t0).toISOString(), to: new Date(t0 + SEGMENTS * SEG_MS).toISOString() }] });
    if (res.status !== 202) throw new Error(`POST /api/exports: ${res.status} ${await res.text()}`);
    const id = (await res.json() as { export: { id: string } }).export.id;
    const stages = new Set<string>();
    let done: { status: string; bytes: number; error: string | null } | null = null;
    for (;;) {
      const e = await (await api(`/api/exports/${id}`)).json() as { status: string; bytes: number; error: string | null; progress: { stage?: string } };
      if (e.progress.stage) stages.add(e.progress.stage);
      if (e.status === 'done' || e.status === 'failed') { done = e; break; }
      await new Promise((r) => setTimeout(r, 200));
    }
    const exportMs = performance.now() - started;
    if (done.status !== 'done') throw new Error(`the export failed: ${done.error}`);
    const zip = platform.config.evidence.dir ? join(platform.config.evidence.dir, 'exports', `${id}.zip`) : join(platform.config.dataDir, 'evidence', 'exports', `${id}.zip`);
    const exportMbps = done.bytes / 1e6 / (exportMs / 1000);
    notes.push(`export: ${(done.bytes / 1e9).toFixed(2)} GB package in ${(exportMs / 1000).toFixed(1)} s through the API (stages seen: ${[...stages].join(', ')})`);

    const startup = await timeVerify([join(platform.config.dataDir, 'absent.zip')]);
    const verified = await timeVerify([zip]);
    if (verified.code !== 0) throw new Error(`skynet verify failed: ${verified.out}`);
    const verifyMbps = done.bytes / 1e6 / (verified.ms / 1000);
    notes.push(`verify: ${(verified.ms / 1000).toFixed(1)} s wall for the child process, of which ~${(startup.ms / 1000).toFixed(1)} s is bin/skynet.js start-up (Node and the tsx loader); ${(done.bytes / 1e6 / ((verified.ms - startup.ms) / 1000)).toFixed(0)} MB/s without it`);

    // The MP4's duration, read back from the package with ffprobe (ZIP STORE: the bytes as they are, through unzip -p).
    const { stdout } = await run('sh', ['-c', 'unzip -Z1 "$1" | grep "^video/" | head -1', 'sh', zip]);
    const mp4 = join(platform.config.dataDir, 'bench.mp4');
    await run('sh', ['-c', 'unzip -p "$1" "$2" > "$3"', 'sh', zip, stdout.trim(), mp4]).catch(() => null);
    const probed = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', mp4]).then((r) => Number(r.stdout.trim()), () => NaN);
    notes.push(`mp4 duration (ffprobe): ${probed.toFixed(1)} s of ${SEGMENTS * 10} s requested`);
    return { metrics: { export_mb_per_s: Number(exportMbps.toFixed(1)), verify_mb_per_s: Number(verifyMbps.toFixed(1)) }, notes };
  } finally {
    await worker.close();
    await consoleApp.close();
    await gateway.close();
    await close();
  }
}
