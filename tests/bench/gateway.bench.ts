import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { liveFfmpegPids } from '../../gateway/streams/ffmpeg.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { HOLD_MS, POLL_MS, remuxRamp, startSimChild, stepLine, type SimChild } from './gateway-load.ts';
import type { BenchResult } from './run.ts';
import { benchLowLatency } from './gateway-lowlat.ts';
import { benchPlatform, percentile } from './helpers.ts';

/**
 * gateway: how fast live view starts (cold and warm, through the console API), how many
 * 1080p25 4 Mbit/s copy sessions one node sustains with no segment late, the latency a
 * viewer sees in Chromium with hls.js, and a 24-hour footage playlist's response time.
 * The cameras run in a child process (tests/bench/gateway-sim.ts) looping one pre-encoded
 * file, so their CPU is measured apart from the gateway's ffmpeg processes; the session
 * ramp and what judges it are in gateway-load.ts.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const SOURCE = { width: 1920, height: 1080, fps: 25, seconds: 10, bitrate: '4M' };
const COLD_STARTS = 5;
const WARM_STARTS = 5;
/** Most copy sessions the ramp tries (gateway.maxSessions is raised to 200 for the run). */
const RAMP_MAX = Number(process.env.SKYNET_BENCH_MAX_SESSIONS ?? 192);
const PLAYER_SAMPLE_MS = 15_000;
const VOD_REQUESTS = 100;
/** SKYNET_BENCH_ONLY=vod runs the 24-hour footage playlist step alone (no simulator, no sessions). */
const VOD_ONLY = process.env.SKYNET_BENCH_ONLY === 'vod';
/** SKYNET_BENCH_ONLY=lowlat runs the low-latency step alone (gateway-lowlat.ts). */
const LOWLAT_ONLY = process.env.SKYNET_BENCH_ONLY === 'lowlat';
const LOWLAT_TARGETS = {
  lowlat_latency_ms: { op: '<=', value: 1000 },
  lowlat_first_frame_ms_cold: { op: '<=', value: 1500 },
  lowlat_first_frame_ms_warm: { op: '<=', value: 500 },
  ptz_to_motion_ms: { op: '<=', value: 1500 },
} as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => percentile(v, 50);
const round = (v: number, d = 1) => Number(v.toFixed(d));

interface Ctx { platform: Platform; gateway: Gateway; consoleApp: App; base: string; cookie: string; ids: string[] }

/** The looped source: 1080p25, ~4 Mbit/s, 1 s GOP, no B-frames; encoded once into bench-results/.cache. */
async function sourceFile(): Promise<{ path: string; kbps: number }> {
  const dir = join(process.cwd(), 'bench-results', '.cache');
  const path = join(dir, `testsrc2-${SOURCE.width}x${SOURCE.height}p${SOURCE.fps}-${SOURCE.bitrate}-gop${SOURCE.fps}.h264`);
  const size = () => { try { return statSync(path).size; } catch { return 0; } };
  if (size() === 0) {
    mkdirSync(dir, { recursive: true });
    await promisify(execFile)('ffmpeg', [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${SOURCE.width}x${SOURCE.height}:rate=${SOURCE.fps}`, '-t', String(SOURCE.seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
      '-b:v', SOURCE.bitrate, '-maxrate', SOURCE.bitrate, '-bufsize', '8M',
      '-g', String(SOURCE.fps), '-keyint_min', String(SOURCE.fps), '-sc_threshold', '0', '-bf', '0',
      '-x264-params', 'repeat-headers=1', '-f', 'h264', path,
    ], { timeout: 180_000 });
  }
  return { path, kbps: (size() * 8) / SOURCE.seconds / 1000 };
}

async function api<T>(ctx: Ctx, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${ctx.base}${path}`, {
    method, headers: { cookie: ctx.cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** "Start viewing" as the console does it, until the playlist served to the browser lists a segment. */
async function startViewing(ctx: Ctx, id: string): Promise<{ ms: number; url: string; playable: boolean }> {
  const t0 = performance.now();
  const live = await api<{ url: string; playable: boolean }>(ctx, 'POST', `/api/devices/${id}/live`, { waitMs: 10_000 });
  for (;;) {
    const res = await fetch(live.url);
    if (res.ok && (await res.text()).includes('#EXTINF')) return { ms: performance.now() - t0, url: live.url, playable: live.playable };
    if (!res.ok) await res.arrayBuffer();
    if (performance.now() - t0 > 15_000) throw new Error(`no playable playlist for ${id} after 15 s (${res.status})`);
    await sleep(25);
  }
}

async function startTimes(ctx: Ctx, coldIds: string[]) {
  const cold: number[] = [];
  for (const id of coldIds) {
    cold.push((await startViewing(ctx, id)).ms);
    await sleep(1000);
  }
  const warmId = coldIds[0]!;
  const warm: number[] = [];
  for (let i = 0; i < WARM_STARTS; i++) {
    warm.push((await startViewing(ctx, warmId)).ms);
    await sleep(300);
  }
  for (const id of coldIds.slice(1)) await ctx.gateway.sessions.stop(id, 'benchmark: cold start measured');
  return { cold, warm, warmId };
}

const PLAYER_PAGE = `<!doctype html><html><body><video id="v" muted playsinline style="width:640px"></video>
<script src="/hls.min.js"></script>
<script>
window.bench = { samples: [], startedAt: 0, playingAt: 0, errors: [] };
window.startPlayer = (url, cfgJson) => {
  const cfg = JSON.parse(cfgJson, (k, v) => (v && typeof v === 'object' && typeof v.__fn === 'string') ? (0, eval)('(' + v.__fn + ')') : v);
  const video = document.getElementById('v');
  const hls = new Hls(cfg);
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_e, d) => bench.errors.push(d.type + ':' + d.details + (d.fatal ? ':fatal' : '')));
  video.addEventListener('playing', () => {
    if (bench.playingAt) return;
    bench.playingAt = Date.now();
    const t = setInterval(() => {
      const d = hls.playingDate;
      if (d) bench.samples.push(Date.now() - d.getTime());
      if (Date.now() - bench.playingAt >= ${PLAYER_SAMPLE_MS}) clearInterval(t);
    }, 500);
  });
  const retry = hls.config.manifestLoadPolicy.default.errorRetry;
  if (typeof retry.shouldRetry !== 'function') bench.errors.push('config: shouldRetry was not revived');
  bench.startedAt = Date.now();
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch((e) => bench.errors.push('play: ' + e.message));
};
</script></body></html>`;

/** Wall clock minus hls.js's playingDate, in headless Chromium, with the console's live configuration. */
async function playerLatency(url: string) {
  const model = (await import(join(ROOT, 'console/web/src/components/live-player-model.ts'))) as { liveHlsConfig: (x: undefined) => Record<string, unknown> };
  const cfgJson = JSON.stringify(model.liveHlsConfig(undefined), (_k, v: unknown) => (typeof v === 'function' ? { __fn: v.toString() } : v));
  const hlsJs = readFileSync(join(ROOT, 'node_modules/hls.js/dist/hls.min.js'));
  const server: Server = createServer((req, res) => {
    if (req.url === '/hls.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PLAYER_PAGE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // Run in the page: its globals are declared here, the Node tsconfig has no DOM types.
    type PageGlobals = {
      startPlayer: (u: string, c: string) => void;
      bench: { samples: number[]; startedAt: number; playingAt: number; errors: string[] };
      document: { querySelector(s: string): { currentTime: number } | null };
    };
    await page.evaluate(([u, c]) => (globalThis as unknown as PageGlobals).startPlayer(u!, c!), [url, cfgJson]);
    const state = () => page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { ...g.bench, currentTime: g.document.querySelector('video')?.currentTime ?? 0 };
    });
    const deadline = Date.now() + 20_000;
    while (!(await state()).playingAt) {
      if (Date.now() > deadline) throw new Error(`hls.js did not start playing within 20 s: ${(await state()).errors.join(', ')}`);
      await sleep(200);
    }
    await sleep(PLAYER_SAMPLE_MS + 700);
    const s = await state();
    return { samples: s.samples, startupMs: s.playingAt - s.startedAt, errors: s.errors, currentTime: s.currentTime };
  } finally {
    await browser.close();
    server.close();
  }
}

/** A 24-hour footage playlist (8,640 ten-second segments) over HTTP, minted through the console. */
async function vodPlaylistTimes(ctx: Ctx, deviceId: string) {
  const to = new Date(Math.floor(Date.now() / 10_000) * 10_000 - 60_000);
  const from = new Date(to.getTime() - 24 * 3600_000);
  const n = 8640;
  const starts = Array.from({ length: n }, (_, i) => new Date(from.getTime() + i * 10_000));
  await ctx.platform.pool.query(
    `INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes, node_id)
     SELECT $1::uuid, s, s + interval '10 seconds', $3::text || to_char(s AT TIME ZONE 'UTC', 'YYYYMMDD/YYYYMMDD"T"HH24MISS"Z"') || '.ts', 5000000, 'bench'
       FROM unnest($2::timestamptz[]) AS s`,
    [deviceId, starts, `rec/${deviceId}/`],
  );
  await ctx.platform.pool.query('ANALYZE recording_segments');
  const footage = await api<{ url: string; segments: number }>(ctx, 'POST', `/api/devices/${deviceId}/footage`, { from: from.toISOString(), to: to.toISOString(), reason: 'benchmark' });
  const times: number[] = [];
  let bytes = 0, text = '', encoding = 'identity';
  for (let i = 0; i < VOD_REQUESTS + 3; i++) {
    const t = performance.now();
    const res = await fetch(footage.url);
    text = await res.text();
    if (!res.ok) throw new Error(`VOD playlist: ${res.status} ${text.slice(0, 200)}`);
    if (i >= 3) times.push(performance.now() - t); // 3 warm-up requests not counted
    bytes = Buffer.byteLength(text);
    encoding = res.headers.get('content-encoding') ?? 'identity';
  }
  const listed = text.split('\n').filter((l) => l.startsWith('#EXTINF')).length;
  return { times, bytes, encoding, listed, indexed: footage.segments, gaps: text.split('\n').filter((l) => l === '#EXT-X-GAP').length };
}

export async function run(): Promise<BenchResult> {
  if (VOD_ONLY) return runVodOnly();
  if (LOWLAT_ONLY) {
    const r = await benchLowLatency();
    return { metrics: r.metrics, targets: LOWLAT_TARGETS, notes: r.notes.map((n) => `lowlat: ${n}`) };
  }
  const source = await sourceFile();
  const { platform, close } = await benchPlatform({
    'health.intervalSeconds': 86_400, 'gateway.maxSessions': 200, 'gateway.idleStopSeconds': 86_400,
  });
  const simCount = COLD_STARTS + RAMP_MAX;
  let sim: SimChild | null = null;
  let gateway: Gateway | null = null;
  let consoleApp: App | null = null;
  const seenPids = new Set<number>();
  try {
    sim = await startSimChild(simCount, source.path, { width: SOURCE.width, height: SOURCE.height, fps: SOURCE.fps });
    gateway = await startGateway(platform, { listen: true });
    consoleApp = await buildConsole(platform);
    await consoleApp.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(consoleApp.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench', password: 'bench-password', roles: ['admin'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const ctx: Ctx = { platform, gateway, consoleApp, base, cookie, ids: [] };
    for (let i = 0; i < sim.cameras.length; i += 8) {
      const created = await Promise.all(sim.cameras.slice(i, i + 8).map((c) => api<{ id: string }>(ctx, 'POST', '/api/devices', {
        name: c.name, onvif: { host: '127.0.0.1', port: c.onvifPort, username: c.username, password: c.password }, streams: { main: c.rtsp },
      })));
      ctx.ids.push(...created.map((d) => d.id));
    }
    const vodId = (await api<{ id: string }>(ctx, 'POST', '/api/devices', { name: '录像回放基准' })).id;
    const everyone = [...ctx.ids, vodId];
    const deadline = Date.now() + 60_000;
    while (!everyone.every((id) => gateway!.membership.held().includes(id))) {
      if (Date.now() > deadline) throw new Error('the gateway did not lease every benchmark device within 60 s');
      await sleep(250);
    }
    const pidWatch = setInterval(() => { for (const p of liveFfmpegPids()) seenPids.add(p); }, 1000);
    pidWatch.unref();

    const vod = await vodPlaylistTimes(ctx, vodId);
    const starts = await startTimes(ctx, ctx.ids.slice(0, COLD_STARTS));
    const player = await playerLatency((await startViewing(ctx, starts.warmId)).url);
    await gateway.sessions.stop(starts.warmId, 'benchmark: player measured');
    await sleep(3000); // let the simulator's idle sources stop before the ramp
    const ramp = await remuxRamp(gateway, ctx.ids.slice(COLD_STARTS), sim, RAMP_MAX);
    clearInterval(pidWatch);
    for (const p of liveFfmpegPids()) seenPids.add(p);

    const passed = ramp.steps.filter((s) => s.late.length === 0);
    const best = passed.at(-1);
    const failed = ramp.steps.find((s) => s.late.length > 0);
    const lat = player.samples;
    const metrics: Record<string, number> = {
      first_segment_cold_ms: median(starts.cold),
      first_segment_warm_ms: median(starts.warm),
      remux_sessions_max: best?.n ?? 0,
      remux_cpu_pct_per_session: best?.ffmpegPctPerSession ?? NaN,
      player_latency_ms: lat.length ? median(lat) : NaN,
      vod_playlist_p95_ms: percentile(vod.times, 95),
      source_cpu_pct_total: best?.simPct ?? NaN,
      source_cpu_pct_per_camera: best ? best.simPct / best.n : NaN,
    };
    return {
      metrics,
      targets: {
        first_segment_cold_ms: { op: '<=', value: 2000 },
        first_segment_warm_ms: { op: '<=', value: 300 },
        remux_sessions_max: { op: '>=', value: 40 },
        player_latency_ms: { op: '<=', value: 3000 },
        vod_playlist_p95_ms: { op: '<=', value: 100 },
      },
      notes: [
        `source: ${SOURCE.width}x${SOURCE.height}p${SOURCE.fps} H.264 (testsrc2, 1 s GOP, no B-frames) at ${Math.round(source.kbps)} kbit/s, looped in real time by ${simCount} simulated cameras in a child process (RTSP over TCP)`,
        `start viewing = console POST /api/devices/:id/live {waitMs} over HTTP → the gateway session → first GET of the token URL listing a segment. cold (${COLD_STARTS} cameras): median ${Math.round(median(starts.cold))} ms, p95 ${Math.round(percentile(starts.cold, 95))} ms, all ${starts.cold.map(Math.round).join(', ')} ms; warm: median ${Math.round(median(starts.warm))} ms, p95 ${Math.round(percentile(starts.warm, 95))} ms`,
        `player: hls.js (node_modules) in headless Chromium with the console's liveHlsConfig, page on another origin; started playing ${player.startupMs} ms after loadSource; ${lat.length} samples of Date.now() − playingDate every 500 ms: median ${Math.round(median(lat))} ms, p95 ${Math.round(percentile(lat, 95))} ms, min ${Math.round(Math.min(...lat))} ms, max ${Math.round(Math.max(...lat))} ms; currentTime ${round(player.currentTime)} s; hls.js errors: ${player.errors.join(', ') || 'none'}`,
        `remux ramp (copy sessions opened with sessions.open(viewer), steps of 8 to 48 then of 16, ${HOLD_MS / 1000} s hold, every ${POLL_MS} ms: state live, no respawn, newest segment written ≤ 2 × target duration ago (playlist mtime) and ending ≤ 2 × target duration behind the wall clock (EXT-X-PROGRAM-DATE-TIME + EXTINF), media sequence advancing); stopped: ${ramp.stopReason}`,
        ...ramp.steps.map((s) => `  step ${stepLine(s)}`),
        ...(failed ? [`  why ${failed.n} failed: ${failed.late.slice(0, 6).join('; ')}${failed.late.length > 6 ? `; … ${failed.late.length} findings` : ''}`] : []),
        `CPU is percent of one core; this machine has ${cpus().length} cores (${cpus().length * 100} %), shared with other work: "whole machine" is everything running on it during the hold. source_cpu_pct_* is the simulator child (RTSP server, RTP packetising of the looped file), not part of the gateway's cost; remux_cpu_pct_per_session is the gateway's session ffmpeg processes only (/proc utime+stime over the hold)`,
        `VOD 24 h: ${vod.indexed} segments indexed, ${vod.listed} EXTINF lines (${vod.gaps} gap pieces), playlist ${vod.bytes} bytes (${Math.round(vod.bytes / Math.max(1, vod.listed))} per segment, sent with content-encoding ${vod.encoding}); ${vod.times.length} GETs over HTTP (after 3 warm-up): p50 ${round(percentile(vod.times, 50))} ms, p95 ${round(percentile(vod.times, 95))} ms, max ${round(Math.max(...vod.times))} ms`,
      ],
    };
  } finally {
    await consoleApp?.close().catch(() => {});
    await gateway?.close().catch(() => {});
    await sim?.stop();
    await close().catch(() => {});
    await sleep(500);
    const left = [...seenPids].filter((p) => { try { process.kill(p, 0); return true; } catch { return false; } });
    if (left.length) process.stderr.write(`gateway bench: ffmpeg still running after close: ${left.join(', ')}\n`);
    else process.stderr.write(`gateway bench: clean up ok (${seenPids.size} gateway ffmpeg processes seen, none left; simulator child exited ${sim?.child.exitCode ?? sim?.child.signalCode})\n`);
  }
}

/** The VOD playlist step alone: console + gateway, one device without a stream, 8,640 indexed segments. */
async function runVodOnly(): Promise<BenchResult> {
  const { platform, close } = await benchPlatform({ 'health.intervalSeconds': 86_400 });
  let gateway: Gateway | null = null;
  let consoleApp: App | null = null;
  try {
    gateway = await startGateway(platform, { listen: true });
    consoleApp = await buildConsole(platform);
    await consoleApp.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(consoleApp.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench', password: 'bench-password', roles: ['admin'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const ctx: Ctx = { platform, gateway, consoleApp, base, cookie, ids: [] };
    const vodId = (await api<{ id: string }>(ctx, 'POST', '/api/devices', { name: '录像回放基准' })).id;
    const deadline = Date.now() + 60_000;
    while (!gateway.membership.held().includes(vodId)) {
      if (Date.now() > deadline) throw new Error('the gateway did not lease the benchmark device within 60 s');
      await sleep(250);
    }
    const vod = await vodPlaylistTimes(ctx, vodId);
    return {
      metrics: { vod_playlist_p95_ms: percentile(vod.times, 95), vod_playlist_bytes: vod.bytes },
      targets: { vod_playlist_p95_ms: { op: '<=', value: 100 } },
      notes: [`VOD 24 h (SKYNET_BENCH_ONLY=vod): ${vod.indexed} segments indexed, ${vod.listed} EXTINF lines (${vod.gaps} gap pieces), playlist ${vod.bytes} bytes (${Math.round(vod.bytes / Math.max(1, vod.listed))} per segment, content-encoding ${vod.encoding}); ${vod.times.length} GETs over HTTP (after 3 warm-up): p50 ${round(percentile(vod.times, 50))} ms, p95 ${round(percentile(vod.times, 95))} ms, max ${round(Math.max(...vod.times))} ms`],
    };
  } finally {
    await consoleApp?.close().catch(() => {});
    await gateway?.close().catch(() => {});
    await close().catch(() => {});
  }
}
