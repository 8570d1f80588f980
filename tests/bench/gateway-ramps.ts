import { cpuNote, RAMP_MAX, rampNotes, rampSummary, remuxRamp } from './gateway-load.ts';
import { encodedSource, sourceNote } from './gateway-source.ts';
import { withSimStack } from './gateway-stack.ts';
import { HLS_BEHIND_TARGETS, LOWLAT_BEHIND_MS, watchSessions } from './gateway-viewers.ts';
import type { BenchStep } from './helpers.ts';

/**
 * gateway, two more copy-session ramps (gateway-load.ts remuxRamp, judged the same way):
 * - SKYNET_BENCH_ONLY=hevc: every camera sends H.265, which the gateway copies into fMP4 HLS;
 * - SKYNET_BENCH_ONLY=watched: H.264 as in the suite's ramp, every session watched over HLS and the
 *   low-latency WebSocket by the viewers of gateway-viewers.ts, their egress measured.
 * SKYNET_BENCH_MAX_SESSIONS caps either ramp (a smoke run: 8).
 */

export const HEVC_TARGETS = { hevc_copy_sessions_max: { op: '>=', value: 40 } } as const;
export const WATCHED_TARGETS = { remux_sessions_max_watched: { op: '>=', value: 40 } } as const;

const round = (v: number, d = 2) => Number(v.toFixed(d));

/** H.265 1080p25 ~4 Mbit/s, 1 s GOP, on every camera; copy sessions ramped until one is late. */
export const benchHevcCopy: BenchStep = async () => {
  const source = await encodedSource({ codec: 'h265', gopSeconds: 1 });
  return withSimStack(source, RAMP_MAX, async ({ ctx, sim }) => {
    const ramp = await remuxRamp(ctx.gateway, ctx.ids, sim, RAMP_MAX);
    const { best } = rampSummary(ramp);
    return {
      metrics: { hevc_copy_sessions_max: best?.n ?? 0, hevc_copy_cpu_pct_per_session: best?.ffmpegPctPerSession ?? NaN },
      notes: [
        sourceNote(source, sim.cameras.length),
        'GOP: 1 s (not the factory-default 4 s), so segments are 1 s as in the H.264 ramp and the lateness limits (2 × target duration) are the same; the cameras advertise H.265 over ONVIF, the gateway copies it (-c:v copy, -tag:v hvc1) into fMP4 HLS (EXT-X-MAP init-<n>.mp4, seg-<n>.m4s) and into its low-latency fMP4 feed (no viewer attached)',
        ...rampNotes(ramp),
        cpuNote('hevc_copy_cpu_pct_per_session'),
      ],
    };
  });
};

/** H.264 as in the suite's ramp, each session watched by an HLS and a low-latency viewer; egress at the best passing step. */
export const benchWatched: BenchStep = async () => {
  const source = await encodedSource({ codec: 'h264', gopSeconds: 1 });
  return withSimStack(source, RAMP_MAX, async ({ ctx, sim }) => {
    const ramp = await remuxRamp(ctx.gateway, ctx.ids, sim, RAMP_MAX, { watch: watchSessions(ctx) });
    const { best } = rampSummary(ramp);
    const w = best?.watch;
    return {
      metrics: {
        remux_sessions_max_watched: best?.n ?? 0,
        egress_mbit_s: w ? round(w.hlsMbitS + w.lowlatMbitS) : NaN,
        egress_hls_mbit_s: w ? round(w.hlsMbitS) : NaN,
        egress_lowlat_mbit_s: w ? round(w.lowlatMbitS) : NaN,
      },
      notes: [
        sourceNote(source, sim.cameras.length),
        'viewers (in the bench process, which also runs the gateway and the console): per session, once it is playable, console POST /api/devices/:id/live, then (a) an HLS viewer on its token URL that GETs the live playlist every target duration and every segment new since its last (joining at the newest; init segments once), counting body bytes, and (b) a low-latency viewer on its wsUrl that reads and counts every message (text and binary, payload bytes); neither decodes',
        `egress_*_mbit_s: bytes the viewers received during the best passing step's hold ÷ its length × 8 ÷ 1e6 (HLS: playlists + segments; low latency: WebSocket message payloads); egress_mbit_s is their sum`,
        ...rampNotes(ramp, `; and per viewer: HLS requests answered 200, no segment missed (slid out of the playlist before it was fetched), each segment received ≤ ${HLS_BEHIND_TARGETS} × target duration after its end; low-latency socket open, no skip-forward (the gateway's sign of a viewer that cannot keep up), every fragment received ≤ ${LOWLAT_BEHIND_MS} ms after reaching the gateway (its header's arrival time)`),
        cpuNote('the per-session ffmpeg figure'),
      ],
    };
  });
};
