import { frameLatencies, viewer } from './gateway-lowlat.ts';
import { PLAYER_SAMPLE_MS, playerLatency, playerMedian, playerNote } from './gateway-player.ts';
import { encodedSource, sourceNote } from './gateway-source.ts';
import { startViewing, withSimStack } from './gateway-stack.ts';
import { percentile, type BenchStep } from './helpers.ts';
import { parseMediaPlaylist } from './hls-playlist.ts';

/**
 * gateway, SKYNET_BENCH_ONLY=gop4: the HLS player's latency on a camera with a 4 s GOP (what cameras
 * ship with), through the console like player_latency_ms; then the low-latency WebSocket's on the same
 * camera. H.264, as headless Chromium has no HEVC decoder. No target: it shows why the low-latency path exists.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => percentile(v, 50);
/** The low-latency viewer's first 3 s (the held GOP it gets on joining) are left out, as in gateway-lowlat.ts. */
const LOWLAT_SKIP_MS = 3000;

/** The served playlist's target duration and segment lengths: how a 4 s GOP shapes the HLS segments. */
async function segmentShape(url: string): Promise<{ target: number; durations: number[] }> {
  const p = parseMediaPlaylist(await (await fetch(url)).text());
  return { target: p?.target ?? NaN, durations: p?.entries.map((e) => e.durationS) ?? [] };
}

/** Receipt − capture (the simulator's SEI) of each frame on the low-latency socket, over the player's sample length. */
async function lowLatencySample(wsUrl: string): Promise<number[]> {
  const v = viewer(wsUrl, 'h264');
  await sleep(LOWLAT_SKIP_MS + PLAYER_SAMPLE_MS);
  await v.close();
  return frameLatencies(v, LOWLAT_SKIP_MS);
}

export const benchGop4: BenchStep = async () => {
  const source = await encodedSource({ codec: 'h264', gopSeconds: 4 });
  return withSimStack(source, 1, async ({ ctx }) => {
    const id = ctx.ids[0]!;
    const view = await startViewing(ctx, id);
    const player = await playerLatency(view.url);
    const shape = await segmentShape(view.url);
    const lat = await lowLatencySample(view.wsUrl);
    return {
      metrics: {
        player_latency_ms_gop4: playerMedian(player),
        player_latency_ms_gop4_lowlat: lat.length ? Math.round(median(lat)) : NaN,
      },
      notes: [
        sourceNote(source, 1),
        `start viewing: console POST /api/devices/:id/live {waitMs} → first GET of the token URL listing a segment: ${Math.round(view.ms)} ms; served playlist: target duration ${shape.target} s, segments ${shape.durations.join(', ')} s (-hls_time 1, but ffmpeg cuts a copy only at keyframes)`,
        playerNote(player),
        `low latency, same camera and session: console's wsUrl, a Node WebSocket client (gateway-lowlat.ts viewer); ${lat.length} frames over ${PLAYER_SAMPLE_MS / 1000} s after its first ${LOWLAT_SKIP_MS / 1000} s, receipt − capture (SEI) p50 ${Math.round(median(lat))} ms, p95 ${Math.round(percentile(lat, 95))} ms, max ${Math.round(lat.reduce((a, b) => Math.max(a, b), -Infinity))} ms (no decode: a browser adds its ≈ 0.3–0.5 s buffer)`,
        'no target: HLS latency grows with the segment (= GOP) length, the low-latency path\'s does not (100 ms fragments) — why it exists',
      ],
    };
  });
};
