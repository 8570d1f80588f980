import { benchGop4 } from './gateway-gop4.ts';
import { cpuNote, RAMP_MAX, rampNotes, rampSummary, remuxRamp } from './gateway-load.ts';
import { benchLowLatency } from './gateway-lowlat.ts';
import { playerLatency, playerMedian, playerNote } from './gateway-player.ts';
import { benchHevcCopy, benchWatched, HEVC_TARGETS, WATCHED_TARGETS } from './gateway-ramps.ts';
import { encodedSource, sourceNote } from './gateway-source.ts';
import { benchTranscode } from './gateway-transcode.ts';
import { api, startStack, startViewing, waitForLeases, withSimStack, type Ctx } from './gateway-stack.ts';
import type { BenchResult } from './run.ts';
import { percentile, type BenchStep } from './helpers.ts';

/**
 * gateway: how fast live view starts (cold and warm, through the console API), how many
 * 1080p25 4 Mbit/s copy sessions one node sustains with no segment late, the latency a
 * viewer sees in Chromium with hls.js, and a 24-hour footage playlist's response time.
 * The cameras run in a child process (tests/bench/gateway-sim.ts) looping one pre-encoded
 * file, so their CPU is measured apart from the gateway's ffmpeg processes; the session
 * ramp and what judges it are in gateway-load.ts.
 *
 * SKYNET_BENCH_ONLY runs one step alone instead: `vod` (the footage playlist), `lowlat`
 * (gateway-lowlat.ts), `hevc` (the ramp with H.265 cameras) and `watched` (the ramp with every
 * session watched: gateway-ramps.ts), `gop4` (player latency on a 4 s GOP: gateway-gop4.ts).
 */

const COLD_STARTS = 5;
const WARM_STARTS = 5;
const VOD_REQUESTS = 100;
/** SKYNET_BENCH_ONLY=vod runs the 24-hour footage playlist step alone (no simulator, no sessions). */
const VOD_ONLY = process.env.SKYNET_BENCH_ONLY === 'vod';
const LOWLAT_TARGETS = {
  lowlat_latency_ms: { op: '<=', value: 1000 },
  lowlat_first_frame_ms_cold: { op: '<=', value: 1500 },
  lowlat_first_frame_ms_warm: { op: '<=', value: 500 },
  ptz_to_motion_ms: { op: '<=', value: 1500 },
} as const;
/** The steps SKYNET_BENCH_ONLY=<name> runs alone, each with its targets; their notes are prefixed with the name. */
const SOLO_STEPS: Record<string, { step: BenchStep; targets: BenchResult['targets'] }> = {
  lowlat: { step: benchLowLatency, targets: LOWLAT_TARGETS },
  hevc: { step: benchHevcCopy, targets: HEVC_TARGETS },
  gop4: { step: benchGop4, targets: {} },
  watched: { step: benchWatched, targets: WATCHED_TARGETS },
  // transcode_cpu_pct_per_session (and transcode_sessions_max): report only, no target (gateway-transcode.ts).
  transcode: { step: benchTranscode, targets: {} },
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => percentile(v, 50);
const round = (v: number, d = 1) => Number(v.toFixed(d));

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
  const only = process.env.SKYNET_BENCH_ONLY;
  const solo = only ? SOLO_STEPS[only] : undefined;
  if (only && !solo) throw new Error(`SKYNET_BENCH_ONLY=${only}: the gateway suite's steps are vod, ${Object.keys(SOLO_STEPS).join(', ')} (unset: the full run)`);
  if (solo) {
    const r = await solo.step();
    return { metrics: r.metrics, targets: solo.targets, notes: r.notes.map((n) => `${only}: ${n}`) };
  }
  const source = await encodedSource({ codec: 'h264', gopSeconds: 1 });
  const simCount = COLD_STARTS + RAMP_MAX;
  return withSimStack(source, simCount, async ({ ctx, sim }) => {
    const vodId = (await api<{ id: string }>(ctx, 'POST', '/api/devices', { name: '录像回放基准' })).id;
    await waitForLeases(ctx.gateway, [vodId]);
    const vod = await vodPlaylistTimes(ctx, vodId);
    const starts = await startTimes(ctx, ctx.ids.slice(0, COLD_STARTS));
    const player = await playerLatency((await startViewing(ctx, starts.warmId)).url);
    await ctx.gateway.sessions.stop(starts.warmId, 'benchmark: player measured');
    await sleep(3000); // let the simulator's idle sources stop before the ramp
    const ramp = await remuxRamp(ctx.gateway, ctx.ids.slice(COLD_STARTS), sim, RAMP_MAX);
    const { best } = rampSummary(ramp);
    const metrics: Record<string, number> = {
      first_segment_cold_ms: median(starts.cold),
      first_segment_warm_ms: median(starts.warm),
      remux_sessions_max: best?.n ?? 0,
      remux_cpu_pct_per_session: best?.ffmpegPctPerSession ?? NaN,
      player_latency_ms: playerMedian(player),
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
        sourceNote(source, simCount),
        `start viewing = console POST /api/devices/:id/live {waitMs} over HTTP → the gateway session → first GET of the token URL listing a segment. cold (${COLD_STARTS} cameras): median ${Math.round(median(starts.cold))} ms, p95 ${Math.round(percentile(starts.cold, 95))} ms, all ${starts.cold.map(Math.round).join(', ')} ms; warm: median ${Math.round(median(starts.warm))} ms, p95 ${Math.round(percentile(starts.warm, 95))} ms`,
        playerNote(player),
        ...rampNotes(ramp),
        `${cpuNote('remux_cpu_pct_per_session')}; source_cpu_pct_* is the simulator child's`,
        `VOD 24 h: ${vod.indexed} segments indexed, ${vod.listed} EXTINF lines (${vod.gaps} gap pieces), playlist ${vod.bytes} bytes (${Math.round(vod.bytes / Math.max(1, vod.listed))} per segment, sent with content-encoding ${vod.encoding}); ${vod.times.length} GETs over HTTP (after 3 warm-up): p50 ${round(percentile(vod.times, 50))} ms, p95 ${round(percentile(vod.times, 95))} ms, max ${round(Math.max(...vod.times))} ms`,
      ],
    };
  });
}

/** The VOD playlist step alone: console + gateway, one device without a stream, 8,640 indexed segments. */
async function runVodOnly(): Promise<BenchResult> {
  const { ctx, close } = await startStack({ 'health.intervalSeconds': 86_400 });
  try {
    const vodId = (await api<{ id: string }>(ctx, 'POST', '/api/devices', { name: '录像回放基准' })).id;
    await waitForLeases(ctx.gateway, [vodId]);
    const vod = await vodPlaylistTimes(ctx, vodId);
    return {
      metrics: { vod_playlist_p95_ms: percentile(vod.times, 95), vod_playlist_bytes: vod.bytes },
      targets: { vod_playlist_p95_ms: { op: '<=', value: 100 } },
      notes: [`VOD 24 h (SKYNET_BENCH_ONLY=vod): ${vod.indexed} segments indexed, ${vod.listed} EXTINF lines (${vod.gaps} gap pieces), playlist ${vod.bytes} bytes (${Math.round(vod.bytes / Math.max(1, vod.listed))} per segment, content-encoding ${vod.encoding}); ${vod.times.length} GETs over HTTP (after 3 warm-up): p50 ${round(percentile(vod.times, 50))} ms, p95 ${round(percentile(vod.times, 95))} ms, max ${round(Math.max(...vod.times))} ms`],
    };
  } finally {
    await close();
  }
}
