import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Gateway } from '../../gateway/main.ts';
import { percentile } from './helpers.ts';
import { entryEndMs, parseMediaPlaylist } from './hls-playlist.ts';

/**
 * Load for the gateway benchmark: the simulated cameras in a child process (gateway-sim.ts),
 * and the copy-session ramp with what it reads to judge each step (playlists, /proc CPU
 * counters, the RTSP connections' kernel queues, the simulator's event loop).
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
/** Ramp: 8, 16, … 48 sessions, then 16 more a step (64, 80, …) up to the cap. */
const rampStep = (running: number) => (running < 48 ? 8 : 16);
export const HOLD_MS = 20_000;
/** Most copy sessions a ramp tries (gateway.maxSessions is raised to 200 for the run); SKYNET_BENCH_MAX_SESSIONS lowers it for a smoke run. */
export const RAMP_MAX = Number(process.env.SKYNET_BENCH_MAX_SESSIONS ?? 192);
export const POLL_MS = 500;
/** The ramp stops here, whatever passed, to keep the suite near 10 minutes. */
const RAMP_BUDGET_MS = 6 * 60_000;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => percentile(v, 50);
const round = (v: number, d = 1) => Number(v.toFixed(d));

export interface SimCam { id: string; name: string; onvifPort: number; rtsp: string; username: string; password: string }

export interface SimStats { loopDelayP50Ms: number; loopDelayP99Ms: number; loopDelayMaxMs: number }
export interface SimChild { child: ChildProcess; cameras: SimCam[]; stats: () => Promise<SimStats | null>; stop: () => Promise<void> }

/** What the simulator child's cameras loop: the file's size, rate, and its codec and GOP (advertised over ONVIF). */
export interface SimSource { width: number; height: number; fps: number; codec?: 'h264' | 'h265'; gopSeconds?: number }

/** The simulator child: resolves once it printed its cameras. */
export async function startSimChild(count: number, file: string, source: SimSource): Promise<SimChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'gateway-sim.ts'),
    JSON.stringify({ count, sourceFile: file, ...source })], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, SKYNET_LOG_LEVEL: 'error' },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let onStats: ((s: SimStats) => void) | null = null;
  const cameras = await new Promise<SimCam[]>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('simulator child did not start within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`simulator child exited (${code})`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('{"ready":true')) { clearTimeout(timer); resolve((JSON.parse(line) as { cameras: SimCam[] }).cameras); }
        if (line.startsWith('{"stats":')) onStats?.((JSON.parse(line) as { stats: SimStats }).stats);
      }
      if (buf.length > 100_000) buf = '';
    });
  });
  const stats = () => new Promise<SimStats | null>((resolve) => {
    const timer = setTimeout(() => { onStats = null; resolve(null); }, 3000);
    onStats = (st) => { clearTimeout(timer); onStats = null; resolve(st); };
    child.stdin!.write('stats\n');
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (await Promise.race([exited.then(() => true), sleep(6000).then(() => false)])) return;
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  };
  return { child, cameras, stats, stop };
}

/** utime + stime of a process, in seconds; null when it is gone. */
function cpuSeconds(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Whole-machine CPU counters (all cores), in ticks: busy and total. */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

interface SocketQueues { readerRecvMaxKb: number; readerRecvSumKb: number; senderSendMaxKb: number; connections: number }

/**
 * Kernel queues of the RTSP connections (ss): bytes received but not yet read by the gateway's
 * ffmpeg (Recv-Q on its side), and bytes the simulator sent that wait (Send-Q on its side).
 */
async function socketQueues(rtspPorts: Set<number>): Promise<SocketQueues | null> {
  try {
    const { stdout } = await promisify(execFile)('ss', ['-tnH', 'state', 'established'], { timeout: 5000, maxBuffer: 16 * 2 ** 20 });
    const q: SocketQueues = { readerRecvMaxKb: 0, readerRecvSumKb: 0, senderSendMaxKb: 0, connections: 0 };
    for (const line of stdout.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const [recv, send, local, peer] = f.slice(-4) as [string, string, string, string];
      const port = (a: string) => Number(a.slice(a.lastIndexOf(':') + 1));
      if (rtspPorts.has(port(peer))) {
        q.connections++;
        q.readerRecvMaxKb = Math.max(q.readerRecvMaxKb, Number(recv) / 1024);
        q.readerRecvSumKb += Number(recv) / 1024;
      } else if (rtspPorts.has(port(local))) {
        q.senderSendMaxKb = Math.max(q.senderSendMaxKb, Number(send) / 1024);
      }
    }
    return q;
  } catch {
    return null;
  }
}

/** A live playlist as the judge reads it; `map` is the newest entry's fMP4 init segment (EXT-X-MAP), null for MPEG-TS. */
interface LivePlaylist { target: number; lastSeq: number; segments: number; edgeMs: number; map: string | null }

function parseLive(text: string): LivePlaylist | null {
  const p = parseMediaPlaylist(text);
  const last = p?.entries.at(-1);
  if (!p || !last) return null;
  return { target: p.target, lastSeq: last.seq, segments: p.entries.length, edgeMs: entryEndMs(last), map: last.map };
}

/** fMP4 (H.265): the init segment the newest entry's EXT-X-MAP names is on disk (players need it before any segment). */
async function initMissing(dir: string, map: string | null): Promise<boolean> {
  if (!map) return false;
  return (await stat(isAbsolute(map) ? map : join(dir, map)).catch(() => null)) === null;
}

/** Viewers attached to the ramp's sessions (gateway-viewers.ts): what they found and served during a hold. */
export interface RampWatch {
  /** Attach viewers to sessions just opened (they stay attached until close). */
  attach(ids: string[]): Promise<void>;
  /** A hold begins: findings and counters start again. */
  holdStart(): void;
  /** The hold is over: what the viewers found (per session and kind) and what they were served. */
  holdEnd(): { findings: { id: string; kind: string; text: string }[]; stats: WatchStats };
  close(): Promise<void>;
}

export interface WatchStats {
  viewers: { hls: number; lowlat: number };
  /** Bytes the viewers received per second of the hold × 8 / 1e6. */
  hlsMbitS: number; lowlatMbitS: number;
  /** HLS: segment fully received − its end on the wall clock (PDT + EXTINF). */
  hlsLagMs: { median: number; max: number };
  /** Low latency: message received − its arrival at the gateway (the message header's time). */
  lowlatDelayMs: { median: number; max: number };
}

export interface StepResult {
  n: number;
  /** Sessions whose live playlist was fMP4 (EXT-X-MAP) during the hold. */
  fmp4Sessions: number;
  /** Findings that make the step fail, one per session and kind. */
  late: string[];
  /** Sessions late only by the content-age rule (written on time, but showing the past). */
  lateByContentOnly: number;
  maxWriteAgeMs: number;
  maxContentAgeMs: number;
  /** mtime − (PDT + EXTINF) of each new segment when written: how far behind the clock it is published. */
  publishLagMs: { median: number; max: number };
  /** Largest growth of a session's publish lag over the hold (drift: media arriving slower than real time). */
  maxDriftMs: number;
  ffmpegPctPerSession: number; simPct: number; nodePct: number; machinePct: number;
  /** The simulator's event loop while the step's sessions started, and during the hold. */
  simRamp: SimStats | null; simHold: SimStats | null;
  /** RTSP connection queues half-way through the hold. */
  queues: SocketQueues | null;
  /** Late sessions among those this step started. */
  lateInBatch?: number;
  /** What the viewers of a watched ramp were served during the hold. */
  watch?: WatchStats;
}

interface Track { seq: number; seenAt: number; firstPub: number | null; lastPub: number | null }

/**
 * Hold the running sessions for HOLD_MS; every POLL_MS check each one's state, spawn count and
 * live playlist. The newest segment's age is judged twice: since ffmpeg wrote it (playlist
 * mtime), and how far the end of what it shows (EXT-X-PROGRAM-DATE-TIME + EXTINF) trails the clock.
 */
async function holdStep(gateway: Gateway, ids: string[], spawns: Map<string, number>, sim: SimChild, watch?: RampWatch): Promise<StepResult> {
  const { sessions, layout } = gateway;
  const simPid = sim.child.pid!;
  const simRamp = await sim.stats(); // since the step began opening sessions; resets the histogram
  const findings = new Map<string, Map<string, string>>();
  const flag = (id: string, kind: string, text: string) => {
    const f = findings.get(id) ?? new Map<string, string>();
    if (!f.has(kind)) f.set(kind, `${id.slice(0, 8)}: ${text}`);
    findings.set(id, f);
  };
  const tracks = new Map<string, Track>();
  const fmp4 = new Set<string>();
  let maxWriteAgeMs = 0, maxContentAgeMs = 0;
  const pids = ids.map((id) => sessions.debug(id)?.pid ?? 0);
  const cpu0 = pids.map((p) => cpuSeconds(p) ?? NaN);
  const sim0 = cpuSeconds(simPid) ?? NaN;
  const node0 = process.cpuUsage();
  const m0 = machineTicks();
  const t0 = performance.now();
  const end = Date.now() + HOLD_MS;
  const rtspPorts = new Set(sim.cameras.map((c) => Number(new URL(c.rtsp).port)));
  watch?.holdStart();
  let queues: Promise<SocketQueues | null> | null = null;
  while (Date.now() < end) {
    if (!queues && end - Date.now() < HOLD_MS / 2) queues = socketQueues(rtspPorts);
    const tick = Date.now();
    await Promise.all(ids.map(async (id) => {
      sessions.touch(id);
      const info = sessions.get(id);
      const dbg = sessions.debug(id);
      if (info?.state !== 'live') flag(id, 'state', `state ${info?.state ?? 'gone'} (${info?.reason ?? ''})`);
      if (dbg?.spawns !== spawns.get(id)) flag(id, 'spawn', `ffmpeg restarted (spawns ${spawns.get(id)} → ${dbg?.spawns})`);
      // stat, read, stat: a playlist rewritten in between is read again at the next poll.
      const path = layout.livePlaylist(id);
      const st = await stat(path).catch(() => null);
      const text = await readFile(path, 'utf8').catch(() => '');
      const steady = (await stat(path).catch(() => null))?.mtimeMs === st?.mtimeMs;
      const now = Date.now();
      const p = parseLive(text);
      if (!p || !st) { flag(id, 'playlist', 'no live playlist'); return; }
      const limit = 2 * p.target * 1000;
      const writeAge = now - st.mtimeMs;
      const contentAge = now - p.edgeMs;
      maxWriteAgeMs = Math.max(maxWriteAgeMs, writeAge);
      maxContentAgeMs = Math.max(maxContentAgeMs, contentAge);
      if (writeAge > limit) flag(id, 'write', `newest segment written ${Math.round(writeAge)} ms ago (target ${p.target} s)`);
      if (contentAge > limit) flag(id, 'content', `newest segment ends ${Math.round(contentAge)} ms behind the wall clock (target ${p.target} s)`);
      if (p.map) fmp4.add(id);
      if (await initMissing(layout.liveDir(id), p.map)) flag(id, 'init', `init segment ${p.map} named by EXT-X-MAP is missing`);
      const t = tracks.get(id);
      if (!t || p.lastSeq > t.seq) {
        const pub = steady ? st.mtimeMs - p.edgeMs : null;
        tracks.set(id, { seq: p.lastSeq, seenAt: now, firstPub: t?.firstPub ?? pub, lastPub: pub ?? t?.lastPub ?? null });
      } else if (now - t.seenAt > limit + POLL_MS) {
        flag(id, 'sequence', `media sequence stuck at ${p.lastSeq} for ${now - t.seenAt} ms`);
      }
    }));
    await sleep(Math.max(0, POLL_MS - (Date.now() - tick)));
  }
  const secs = (performance.now() - t0) / 1000;
  const watched = watch?.holdEnd();
  for (const f of watched?.findings ?? []) flag(f.id, f.kind, f.text);
  const used = pids.map((p, i) => (cpuSeconds(p) ?? NaN) - cpu0[i]!).filter(Number.isFinite);
  const node = process.cpuUsage(node0);
  const m1 = machineTicks();
  const pubs = [...tracks.values()].map((t) => t.lastPub).filter((v): v is number => v !== null);
  const drifts = [...tracks.values()].flatMap((t) => (t.lastPub !== null && t.firstPub !== null ? [t.lastPub - t.firstPub] : []));
  const late = [...findings.values()].flatMap((f) => [...f.values()]);
  return {
    n: ids.length, late, fmp4Sessions: fmp4.size,
    lateByContentOnly: [...findings.values()].filter((f) => f.size === 1 && f.has('content')).length,
    maxWriteAgeMs, maxContentAgeMs,
    publishLagMs: { median: median(pubs), max: pubs.length ? Math.max(...pubs) : NaN },
    maxDriftMs: drifts.length ? Math.max(...drifts) : NaN,
    ffmpegPctPerSession: used.length ? (used.reduce((a, b) => a + b, 0) / used.length / secs) * 100 : NaN,
    simPct: (((cpuSeconds(simPid) ?? NaN) - sim0) / secs) * 100,
    nodePct: ((node.user + node.system) / 1e6 / secs) * 100,
    machinePct: ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 * cpus().length,
    simRamp, simHold: await sim.stats(), queues: await queues,
    ...(watched ? { watch: watched.stats } : {}),
  };
}

export function stepLine(s: StepResult): string {
  const loop = (x: SimStats | null) => (x ? `p99 ${x.loopDelayP99Ms} ms, max ${x.loopDelayMaxMs} ms` : '?');
  const lateSessions = new Set(s.late.map((l) => l.slice(0, 8))).size;
  return `${s.n}: ${s.late.length ? `LATE (${lateSessions} sessions, ${s.lateInBatch ?? '?'} of them started in this step, ${s.lateByContentOnly} late only by content age)` : 'ok'}; `
    + `CPU: gateway ffmpeg ${round(s.ffmpegPctPerSession, 2)} %/session (${round(s.ffmpegPctPerSession * s.n)} % total), simulator ${round(s.simPct)} %, `
    + `gateway node ${round(s.nodePct)} %, whole machine ${round(s.machinePct)} % of ${cpus().length * 100} %; `
    + (s.fmp4Sessions ? `fMP4 playlists ${s.fmp4Sessions}/${s.n}; ` : '')
    + `newest segment written ≤ ${Math.round(s.maxWriteAgeMs)} ms ago, ending ≤ ${Math.round(s.maxContentAgeMs)} ms behind the clock; `
    + `segments published ${Math.round(s.publishLagMs.median)} ms (median) / ${Math.round(s.publishLagMs.max)} ms (max) after their end, drift over the hold ≤ ${Math.round(s.maxDriftMs)} ms; `
    + `simulator event loop delay while starting ${loop(s.simRamp)}, during the hold ${loop(s.simHold)}; `
    + (s.queues ? `RTSP socket queues (${s.queues.connections} connections): unread by ffmpeg max ${round(s.queues.readerRecvMaxKb)} KiB (sum ${round(s.queues.readerRecvSumKb)} KiB), unsent by the simulator max ${round(s.queues.senderSendMaxKb)} KiB` : 'RTSP socket queues unknown')
    + (s.watch ? `; ${watchLine(s.watch)}` : '');
}

function watchLine(w: WatchStats): string {
  return `viewers ${w.viewers.hls} HLS + ${w.viewers.lowlat} low-latency: served ${round(w.hlsMbitS)} + ${round(w.lowlatMbitS)} Mbit/s, `
    + `HLS segment received ${Math.round(w.hlsLagMs.median)} ms (median) / ${Math.round(w.hlsLagMs.max)} ms (max) after its end, `
    + `low-latency message received ${Math.round(w.lowlatDelayMs.median)} / ${Math.round(w.lowlatDelayMs.max)} ms after reaching the gateway`;
}

/**
 * Ramp copy sessions up (8 a step, 16 past 48) until a step has a late segment, or the cap or time budget.
 * With `watch`, each batch gets its viewers once playable, and what they find fails the step too.
 */
export async function remuxRamp(gateway: Gateway, ids: string[], sim: SimChild, max: number, opts: { watch?: RampWatch } = {}) {
  const running: string[] = [];
  const spawns = new Map<string, number>();
  const steps: StepResult[] = [];
  const started = Date.now();
  let stopReason = `cap of ${Math.min(max, ids.length)} sessions reached`;
  while (running.length + rampStep(running.length) <= Math.min(max, ids.length)) {
    if (Date.now() - started > RAMP_BUDGET_MS) { stopReason = `time budget (${RAMP_BUDGET_MS / 60_000} min) spent before the next step`; break; }
    const batch = ids.slice(running.length, running.length + rampStep(running.length));
    await sim.stats(); // reset: the next reading covers this step's start-up
    await Promise.all(batch.map((id) => gateway.sessions.open(id, { viewer: true })));
    const ok = await Promise.all(batch.map((id) => gateway.sessions.waitForPlaylist(id, 15_000)));
    running.push(...batch);
    await opts.watch?.attach(batch);
    await sleep(2000);
    for (const id of batch) spawns.set(id, gateway.sessions.debug(id)?.spawns ?? -1);
    const step = await holdStep(gateway, running, spawns, sim, opts.watch);
    if (ok.includes(false)) step.late.unshift(`${ok.filter((x) => !x).length} new session(s) not playable within 15 s`);
    const lateIds = new Set(step.late.map((l) => l.slice(0, 8)));
    step.lateInBatch = batch.filter((id) => lateIds.has(id.slice(0, 8))).length;
    steps.push(step);
    process.stderr.write(`gateway bench: step ${stepLine(step)}\n`);
    if (step.late.length) { stopReason = `${step.n} sessions failed`; break; }
  }
  await opts.watch?.close();
  for (const id of running) void gateway.sessions.stop(id, 'benchmark: ramp over');
  return { steps, stopReason };
}

export type Ramp = Awaited<ReturnType<typeof remuxRamp>>;

/** The best step with nothing late, and the first with something late. */
export function rampSummary(ramp: Ramp): { best: StepResult | undefined; failed: StepResult | undefined } {
  return { best: ramp.steps.filter((s) => s.late.length === 0).at(-1), failed: ramp.steps.find((s) => s.late.length > 0) };
}

/** The notes' lines of a ramp: how steps are judged (plus what else judged them), each step, why the failing one failed. */
export function rampNotes(ramp: Ramp, extraRule = ''): string[] {
  const { failed } = rampSummary(ramp);
  return [
    `remux ramp (copy sessions opened with sessions.open(viewer), steps of 8 to 48 then of 16, ${HOLD_MS / 1000} s hold, every ${POLL_MS} ms: state live, no respawn, newest segment written ≤ 2 × target duration ago (playlist mtime) and ending ≤ 2 × target duration behind the wall clock (EXT-X-PROGRAM-DATE-TIME + EXTINF), media sequence advancing, for fMP4 the EXT-X-MAP init segment present${extraRule}); stopped: ${ramp.stopReason}`,
    ...ramp.steps.map((s) => `  step ${stepLine(s)}`),
    ...(failed ? [`  why ${failed.n} failed: ${failed.late.slice(0, 6).join('; ')}${failed.late.length > 6 ? `; … ${failed.late.length} findings` : ''}`] : []),
  ];
}

/** What the CPU figures of the step lines mean. */
export function cpuNote(sessionMetric: string): string {
  return `CPU is percent of one core; this machine has ${cpus().length} cores (${cpus().length * 100} %), shared with other work: "whole machine" is everything running on it during the hold. The simulator child (RTSP server, RTP packetising of the looped file) is not part of the gateway's cost; ${sessionMetric} is the gateway's session ffmpeg processes only (/proc utime+stime over the hold); "gateway node" is the bench process (gateway, console and any viewers of the bench run in it)`;
}
