import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { cpuSeconds } from '../../gateway/streams/cpu.ts';
import { streamKey } from '../../gateway/streams/keys.ts';
import type { SessionInfo } from '../../gateway/streams/types.ts';
import { encodedSource, sourceNote, SOURCE } from './gateway-source.ts';
import { api, withSimStack, type Ctx } from './gateway-stack.ts';
import type { BenchStep } from './helpers.ts';
import { entryEndMs, parseMediaPlaylist } from './hls-playlist.ts';

/**
 * gateway, SKYNET_BENCH_ONLY=transcode: the capped compat transcode (issue 10) — a 1080p25 H.265
 * camera's main stream decoded and encoded again as H.264 (libx264 veryfast, capped to
 * gateway.transcodeMaxHeight lines and gateway.transcodeMaxFps), for a browser that plays no
 * H.265. Simulated 1080p H.265 cameras (the pre-encoded file of the hevc step, looped in real
 * time by the simulator child) are registered through the console; compat sessions are opened
 * one more at a time as a user does (console POST /api/devices/:id/live { stream: 'compat' }),
 * 1, 2, … up to the node's transcode limit (gateway.maxTranscodes), each count held 20 s
 * (SKYNET_BENCH_TRANSCODE_HOLD_MS). Each compat ffmpeg's CPU is read from /proc over the hold
 * (and the session state's cpuPercent, a 5 s window, at its end); a count passes when every
 * compat session stays live without a restart and its live playlist keeps up with the clock.
 * After the limit, one more compat open shows what the node answers. SKYNET_BENCH_TRANSCODES caps
 * the count (a smoke run: 1).
 */

const HOLD_MS = Number(process.env.SKYNET_BENCH_TRANSCODE_HOLD_MS ?? 20_000);
const CAP = Number(process.env.SKYNET_BENCH_TRANSCODES ?? Infinity);
const POLL_MS = 500;
const SETTLE_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, d = 1) => Number(v.toFixed(d));
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

interface Probe { codec: string; profile: string; width: number; height: number; fps: number; seconds: number }

/** The newest live segment of a session, probed: codec, size, and frames ÷ duration. */
async function probeNewest(ctx: Ctx, key: string): Promise<Probe | null> {
  const text = await readFile(ctx.gateway.layout.livePlaylist(key), 'utf8').catch(() => '');
  const last = parseMediaPlaylist(text)?.entries.at(-1);
  if (!last) return null;
  const file = join(ctx.gateway.layout.liveDir(key), last.uri);
  try {
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames',
      '-show_entries', 'stream=codec_name,profile,width,height,nb_read_frames:format=duration', '-of', 'json', file], { timeout: 20_000 });
    const j = JSON.parse(stdout) as { streams: { codec_name: string; profile: string; width: number; height: number; nb_read_frames: string }[]; format: { duration: string } };
    const s = j.streams[0]!;
    const seconds = Number(j.format.duration) || last.durationS;
    return { codec: s.codec_name, profile: s.profile, width: s.width, height: s.height, fps: Number(s.nb_read_frames) / seconds, seconds };
  } catch {
    return null;
  }
}

interface Step {
  n: number;
  ok: boolean;
  findings: string[];
  /** /proc over the hold, % of one core, per compat ffmpeg. */
  compatPct: number[];
  /** The session state's cpuPercent (its own 5 s window) at the end of the hold. */
  apiPct: (number | null)[];
  mainPct: number[];
  simPct: number; nodePct: number; machinePct: number;
  /** How far each compat playlist's newest segment end advanced ÷ the wall time between the first and last poll (≈ 1: real time, ± a segment over the hold). */
  speed: number[];
  /** The smallest lag behind the clock in the second half of the hold minus that in the first (growing: the transcode cannot keep up). */
  drift: number[];
  maxContentAgeMs: number;
}

/** Hold the open compat sessions for HOLD_MS, reading their CPU and judging whether they keep up. */
async function hold(ctx: Ctx, ids: string[], simPid: number): Promise<Step> {
  const { sessions, layout } = ctx.gateway;
  const keys = ids.map((id) => streamKey(id, 'compat'));
  const findings = new Map<string, string>();
  const flag = (i: number, kind: string, text: string) => { if (!findings.has(`${i}${kind}`)) findings.set(`${i}${kind}`, `compat ${i + 1}: ${text}`); };
  const spawns = keys.map((k) => sessions.debug(k)?.spawns ?? -1);
  const compatPids = keys.map((k) => sessions.debug(k)?.pid ?? 0);
  const mainPids = ids.map((id) => sessions.debug(id)?.pid ?? 0);
  const cpu = async (pids: number[]) => Promise.all(pids.map(async (p) => (p ? (await cpuSeconds(p)) ?? NaN : NaN)));
  const [c0, m0, s0] = [await cpu(compatPids), await cpu(mainPids), (await cpuSeconds(simPid)) ?? NaN];
  const node0 = process.cpuUsage();
  const mt0 = machineTicks();
  const t0 = performance.now();
  // Per session: the newest segment's end at the first and last poll, and the smallest lag (clock − that end) in each half of the hold.
  let target = 1;
  const seen = keys.map(() => ({ firstEnd: NaN, firstAt: NaN, lastEnd: NaN, lastAt: NaN, minLag: [Infinity, Infinity] }));
  let maxContentAgeMs = 0;
  const end = Date.now() + HOLD_MS;
  while (Date.now() < end) {
    const tick = Date.now();
    await Promise.all(keys.map(async (key, i) => {
      sessions.touch(key);
      const info = sessions.get(key);
      if (info?.state !== 'live') flag(i, 'state', `state ${info?.state ?? 'gone'} (${info?.reason ?? ''})`);
      if (sessions.debug(key)?.spawns !== spawns[i]) flag(i, 'spawn', `ffmpeg restarted (spawns ${spawns[i]} → ${sessions.debug(key)?.spawns})`);
      const path = layout.livePlaylist(key);
      const st = await stat(path).catch(() => null);
      const p = parseMediaPlaylist(await readFile(path, 'utf8').catch(() => ''));
      const last = p?.entries.at(-1);
      if (!p || !last || !st) { flag(i, 'playlist', 'no live playlist'); return; }
      target = p.target;
      const limit = 2 * p.target * 1000 + 1000;
      const contentAge = Date.now() - entryEndMs(last);
      maxContentAgeMs = Math.max(maxContentAgeMs, contentAge);
      if (contentAge > limit) flag(i, 'content', `newest segment ends ${Math.round(contentAge)} ms behind the clock (target ${p.target} s)`);
      if (Date.now() - st.mtimeMs > limit) flag(i, 'write', `playlist not rewritten for ${Math.round(Date.now() - st.mtimeMs)} ms`);
      const s = seen[i]!;
      const now = Date.now();
      if (Number.isNaN(s.firstEnd)) { s.firstEnd = entryEndMs(last); s.firstAt = now; }
      s.lastEnd = entryEndMs(last);
      s.lastAt = now;
      const half = end - now > HOLD_MS / 2 ? 0 : 1;
      s.minLag[half] = Math.min(s.minLag[half]!, now - entryEndMs(last));
    }));
    await sleep(Math.max(0, POLL_MS - (Date.now() - tick)));
  }
  const secs = (performance.now() - t0) / 1000;
  const [c1, m1, s1] = [await cpu(compatPids), await cpu(mainPids), (await cpuSeconds(simPid)) ?? NaN];
  const node = process.cpuUsage(node0);
  const mt1 = machineTicks();
  const pct = (a: number, b: number) => ((b - a) / secs) * 100;
  // The session state as the console shows it (its cpuPercent: the supervisor's own 5 s window).
  const apiPct = await Promise.all(ids.map(async (id) => (await api<{ session: SessionInfo | null }>(ctx, 'GET', `/api/devices/${id}/stream?stream=compat`)).session));
  const speed = seen.map((s) => (s.lastEnd - s.firstEnd) / Math.max(1, s.lastAt - s.firstAt));
  const drift = seen.map((s) => s.minLag[1]! - s.minLag[0]!);
  // Real time within a segment and a half over the window the polls saw (the playlist moves a segment at a time).
  const polled = Math.min(...seen.map((x) => x.lastAt - x.firstAt)) / 1000;
  const minSpeed = 1 - (1.5 * target) / Math.max(1, polled) - 0.05;
  speed.forEach((v, i) => { if (!(v >= minSpeed)) flag(i, 'speed', `media advanced ${round(v, 2)} s per second (< ${round(minSpeed, 2)})`); });
  drift.forEach((v, i) => { if (v > 1000) flag(i, 'drift', `falling behind: ${Math.round(v)} ms more behind the clock in the second half of the hold`); });
  return {
    n: ids.length, ok: findings.size === 0, findings: [...findings.values()],
    compatPct: c0.map((a, i) => pct(a, c1[i]!)), apiPct: apiPct.map((s) => s?.cpuPercent ?? null), mainPct: m0.map((a, i) => pct(a, m1[i]!)),
    simPct: pct(s0, s1), nodePct: ((node.user + node.system) / 1e6 / secs) * 100,
    machinePct: ((mt1.busy - mt0.busy) / Math.max(1, mt1.total - mt0.total)) * 100 * cpus().length, speed, drift, maxContentAgeMs,
  };
}

const stepLine = (s: Step) =>
  `${s.n} compat session${s.n === 1 ? '' : 's'}: ${s.ok ? 'ok' : `FAILED (${s.findings.slice(0, 4).join('; ')})`}; transcode ffmpeg ${s.compatPct.map((v) => round(v)).join(', ')} % of a core (mean ${round(mean(s.compatPct))}, `
  + `session state cpuPercent ${s.apiPct.map((v) => (v === null ? '?' : round(v))).join(', ')}); their main-stream copy sessions ${round(mean(s.mainPct), 2)} % each; `
  + `gateway ffmpeg total ${round(s.compatPct.reduce((a, b) => a + b, 0) + s.mainPct.reduce((a, b) => a + b, 0))} %; simulator ${round(s.simPct)} %, bench process (gateway + console) ${round(s.nodePct)} %, whole machine ${round(s.machinePct)} % of ${cpus().length * 100} %; `
  + `media advanced ${s.speed.map((v) => round(v, 2)).join(', ')} s per second, drift ${s.drift.map((v) => Math.round(v)).join(', ')} ms, newest segment ≤ ${Math.round(s.maxContentAgeMs)} ms behind the clock`;

export const benchTranscode: BenchStep = async () => {
  const config = loadConfig({ env: {}, file: undefined });
  const limit = config.gateway.maxTranscodes;
  const max = Math.max(1, Math.min(limit, CAP));
  const source = await encodedSource({ codec: 'h265', gopSeconds: 1 });
  // One camera more than the count, to show what a compat open past the limit gets.
  return withSimStack(source, max + 1, async ({ ctx, sim }) => {
    const node = ctx.gateway.sessions.transcodes();
    const steps: Step[] = [];
    const opens: number[] = [];
    let probe: Probe | null = null;
    let stopped = `the count reached ${max === limit ? `the node's transcode limit (gateway.maxTranscodes ${limit})` : `SKYNET_BENCH_TRANSCODES=${max}`}`;
    for (let n = 1; n <= max; n++) {
      const id = ctx.ids[n - 1]!;
      const t0 = performance.now();
      const live = await api<{ session: SessionInfo; playable: boolean }>(ctx, 'POST', `/api/devices/${id}/live`, { stream: 'compat', waitMs: 15_000 });
      if (live.session.stream !== 'compat') throw new Error(`camera ${n} served ${live.session.stream}, not compat: does it advertise H.265?`);
      const playable = live.playable || await ctx.gateway.sessions.waitForPlaylist(streamKey(id, 'compat'), 20_000);
      opens.push(performance.now() - t0);
      if (!playable) { stopped = `compat session ${n} not playable within 35 s (${ctx.gateway.sessions.get(streamKey(id, 'compat'))?.reason ?? ''})`; break; }
      await sleep(SETTLE_MS);
      const step = await hold(ctx, ctx.ids.slice(0, n), sim.child.pid!);
      steps.push(step);
      process.stderr.write(`gateway bench: transcode ${stepLine(step)}\n`);
      probe ??= await probeNewest(ctx, streamKey(id, 'compat'));
      if (!step.ok) { stopped = `${n} sessions failed`; break; }
    }
    // Past the limit: what one more compat open gets.
    let past = 'not tried (the ramp stopped before the limit)';
    if (steps.at(-1)?.ok && steps.at(-1)!.n === limit) {
      const id = ctx.ids[limit]!;
      const res = await fetch(`${ctx.base}/api/devices/${id}/live`, { method: 'POST', headers: { cookie: ctx.cookie, 'content-type': 'application/json' }, body: JSON.stringify({ stream: 'compat', waitMs: 5000 }) });
      const body = await res.text();
      await sleep(2000);
      const info = ctx.gateway.sessions.get(streamKey(id, 'compat'));
      past = `HTTP ${res.status}${res.ok ? '' : ` ${body.slice(0, 160)}`}; session ${info?.state ?? 'none'}${info?.reason ? ` (${info.reason})` : ''}; node transcodes ${JSON.stringify(ctx.gateway.sessions.transcodes())}`;
    }
    const best = steps.filter((s) => s.ok).at(-1);
    const chosen = best ?? steps[0];
    const metrics: Record<string, number> = { transcode_cpu_pct_per_session: chosen ? round(mean(chosen.compatPct), 1) : NaN };
    if (limit > 1) metrics.transcode_sessions_max = best?.n ?? 0;
    return {
      metrics,
      notes: [
        sourceNote(source, sim.cameras.length),
        `compat = console POST /api/devices/:id/live { stream: 'compat' } on an H.265 camera: the gateway keeps the camera's main session (H.265 copy) and transcodes its low-latency fMP4 feed (no second camera connection) with libx264 veryfast, zerolatency, capped to ${config.gateway.transcodeMaxHeight} lines and ${config.gateway.transcodeMaxFps} fps (gateway.transcodeMaxHeight / transcodeMaxFps), GOP 2 × fps, a keyframe every second, into HLS + its own low-latency feed`,
        probe ? `capped output (ffprobe of a live segment): ${probe.codec} ${probe.profile} ${probe.width}x${probe.height} at ${round(probe.fps, 2)} fps (frames ÷ duration of a ${round(probe.seconds, 2)} s segment), from ${SOURCE.width}x${SOURCE.height}p${SOURCE.fps}` : 'capped output: no segment could be probed',
        `node limit: gateway.maxTranscodes ${limit} (the session manager before the ramp: ${JSON.stringify(node)}); counts tried 1…${max}, each held ${HOLD_MS / 1000} s after ${SETTLE_MS / 1000} s to settle, every ${POLL_MS} ms: state live, no ffmpeg restart, playlist rewritten and its newest segment ending ≤ 2 × target duration + 1 s behind the clock, the newest segment's end advancing at real time (≥ 1 − 1.5 segments ÷ the polled window − 0.05: 0.87 over 20 s) and the smallest lag behind the clock growing by ≤ 1 s from the first half of the hold to the second; stopped: ${stopped}`,
        `opening each compat session (POST → playable): ${opens.map((v) => Math.round(v)).join(', ')} ms`,
        ...steps.map((s) => `  ${stepLine(s)}`),
        `transcode_cpu_pct_per_session: the mean of the compat ffmpeg processes' /proc utime+stime over the hold, % of one core, at ${best ? `the largest passing count (${best.n})` : 'the first count (none passed)'}; the main-stream copies and the simulator are not included`,
        `one more compat open past the limit: ${past}`,
      ],
    };
  });
};
