import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log as rootLog } from '../../core/log.ts';
import { withCaptureSei } from './capture-sei.ts';
import { streamConfig, type SimCodec, type StreamConfig } from './encoding.ts';
import {
  AccessUnitAssembler, AnnexBSplitter, findParameterSets, groupAccessUnits, H264, splitAnnexB, withParameterSets,
  type AccessUnit, type NalCodec, type ParameterSets,
} from './h264.ts';
import { H265 } from './hevc.ts';
import type { PtzVector, SimCamera } from './types.ts';

export { streamSize } from './encoding.ts';

/**
 * The video source behind one RTSP path of a simulated camera: a live libx264 / libx265 encode of a
 * test pattern with the camera name, a clock and the PTZ position burned in (synthetic), or a
 * pre-encoded Annex B file looped in real time (file). It starts when a client asks and stops when
 * none is left for `idleStopMs`, so idle simulated cameras cost nothing.
 */

/** The NAL syntax of each codec the simulator sends. */
export const NAL_CODECS: Record<SimCodec, NalCodec> = { h264: H264, h265: H265 };

export interface SourceFrame {
  /** The picture's NAL units, with the capture-time SEI (capture-sei.ts) in front of its slices. */
  au: AccessUnit;
  /** Presentation time on a 90 kHz clock, monotonic over the source's life (wraps only in RTP). */
  pts90k: number;
  /**
   * Date.now() when the frame came out of the encoder (or was scheduled, for a file source): the
   * capture time the AU's SEI carries.
   */
  wallclock: number;
}

export interface SourceOptions {
  profile: 'main' | 'sub';
  /** Stop this long after the last client left (default 10 s). */
  idleStopMs?: number;
}

/** Every ffmpeg the simulator starts in this process has this in its arguments (for `pgrep -f`). */
export function ffmpegMarker(pid = process.pid): string {
  return `skynet-sim-${pid}-`;
}

/** Overlay line for the PTZ position, as burned into the picture. */
export function ptzText(p: PtzVector): string {
  const s = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(3);
  return `PTZ pan ${s(p.pan)} tilt ${s(p.tilt)} zoom ${p.zoom.toFixed(3)}`;
}

const FONTS = [
  '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
];

function fontOption(): string {
  const f = FONTS.find((p) => existsSync(p));
  return f ? `fontfile=${quote(f)}` : 'font=Sans';
}

/** Quote a path for a filter option; our paths never contain a quote. */
function quote(p: string): string {
  if (p.includes("'")) throw new Error(`unsupported path for ffmpeg filter: ${p}`);
  return `'${p}'`;
}

/**
 * The encoder part of the command: libx264 baseline, or libx265 Main, both tuned for live (ultrafast,
 * zerolatency, no B-frames), a keyframe every `gop` frames and never in between (no scene cut, closed
 * GOP, so every keyframe is an IDR), parameter sets repeated before each one (a client can join at any
 * keyframe), and few threads: a simulated camera must stay cheap.
 */
export function encoderArgs(o: { codec: SimCodec; gop: number; width: number; height: number }): string[] {
  const small = o.width * o.height <= 640 * 360;
  const gop = String(o.gop);
  if (o.codec === 'h265') {
    const x265 = [
      `keyint=${gop}`, `min-keyint=${gop}`, 'scenecut=0', 'bframes=0', 'open-gop=0', 'repeat-headers=1', 'info=0',
      `pools=${small ? 1 : 2}`, 'frame-threads=1', 'log-level=error',
    ];
    return [
      '-c:v', 'libx265', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
      '-g', gop, '-keyint_min', gop, '-bf', '0', '-x265-params', x265.join(':'),
      '-an', '-f', 'hevc', 'pipe:1',
    ];
  }
  return [
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-bf', '0',
    '-x264-params', 'repeat-headers=1',
    ...(small ? ['-threads', '1'] : []),
    '-an', '-f', 'h264', 'pipe:1',
  ];
}

/**
 * ffmpeg arguments for the synthetic encode (exported for tests that check the exact command). H.264
 * with a keyframe every second unless `codec` and `gop` (frames) say otherwise.
 */
export function syntheticArgs(o: {
  width: number; height: number; fps: number; nameFile: string; ptzFile: string | null; clockOffsetSec: number; font?: string;
  codec?: SimCodec; gop?: number;
}): string[] {
  const font = o.font ?? fontOption();
  const size = Math.max(10, Math.round(o.height / 16));
  const pad = Math.max(2, Math.round(size / 3));
  const style = `${font}:fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.55:boxborderw=${Math.ceil(pad / 2)}`;
  const filters = [
    `drawtext=${style}:expansion=none:textfile=${quote(o.nameFile)}:x=${pad}:y=${pad}`,
    `drawtext=${style}:text='%{localtime\\:%Y-%m-%d} %{pts\\:hms\\:${o.clockOffsetSec.toFixed(3)}\\:24HH}':x=${pad}:y=${pad * 2 + size}`,
  ];
  if (o.ptzFile) {
    filters.push(`drawtext=${style}:expansion=none:reload=1:textfile=${quote(o.ptzFile)}:x=${pad}:y=h-${size + pad * 2}`);
  }
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning',
    '-re', '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`,
    '-vf', filters.join(','),
    ...encoderArgs({ codec: o.codec ?? 'h264', gop: o.gop ?? o.fps, width: o.width, height: o.height }),
  ];
}

/** Seconds since midnight in `timeZone` (the machine's when absent), for the burned-in clock. */
export function secondsSinceLocalMidnight(now = new Date(), timeZone?: string): number {
  if (!timeZone) {
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    return (now.getTime() - midnight.getTime()) / 1000;
  }
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(now).map((p) => [p.type, Number(p.value)]));
  return (parts.hour ?? 0) * 3600 + (parts.minute ?? 0) * 60 + (parts.second ?? 0) + now.getMilliseconds() / 1000;
}

/** A process in its own group, stopped as a group: SIGTERM, ≤ 2 s, SIGKILL. */
export async function stopProcessGroup(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try { process.kill(-child.pid!, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
  };
  signal('SIGTERM');
  const timer = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
  if ((await Promise.race([exited.then(() => 'exited' as const), timer(graceMs)])) === 'exited') return;
  signal('SIGKILL');
  await Promise.race([exited, timer(1000)]);
}

/** Loaded, keyframe-first access units of a file source, shared by every camera using the file (per codec). */
const fileCache = new Map<string, Promise<{ aus: AccessUnit[]; params: ParameterSets }>>();

function loadFile(path: string, codec: NalCodec): Promise<{ aus: AccessUnit[]; params: ParameterSets }> {
  const key = `${codec.name}:${path}`;
  let p = fileCache.get(key);
  if (!p) {
    p = readFile(path).then((data) => {
      const nals = splitAnnexB(data);
      const params = findParameterSets(nals, codec);
      if (!params) throw new Error(`${path}: no ${codec.parameterSetNames.join('/').toUpperCase()} (is it ${codec.rtpName} Annex B?)`);
      const all = groupAccessUnits(nals, codec);
      const first = all.findIndex((a) => a.keyframe);
      if (first < 0) throw new Error(`${path}: no keyframe`);
      return { aus: all.slice(first).map((a) => withParameterSets(a, params, codec)), params };
    });
    p.catch(() => fileCache.delete(key));
    fileCache.set(key, p);
  }
  return p;
}

type Listener = (f: SourceFrame) => void;

/** One stream (main /101 or sub /102) of a simulated camera, started on demand (see the top of this file). */
export class VideoSource {
  private cfg: StreamConfig;
  /**
   * A file source serves the streams whose codec is the file's (the main stream's `codec`, H.264 by
   * default); the H.264 sub stream of a camera that loops an H.265 file is a live encode.
   */
  readonly kind: 'synthetic' | 'file';
  private readonly log;
  private readonly idleStopMs: number;
  private readonly workDir: string;
  private params: ParameterSets | null = null;
  private gopFrames: SourceFrame[] = [];
  private readonly listeners = new Set<Listener>();
  private waiters: { resolve: (p: ParameterSets) => void; reject: (e: Error) => void }[] = [];
  private child: ChildProcess | null = null;
  private fileTimer: NodeJS.Timeout | null = null;
  private ptzTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDelay = 1000;
  private running = false;
  private closed = false;
  private frameNo = 0;
  private ptsBase = 0;
  /** pts90k of the last frame sent, so a restarted encoder continues after it. */
  private lastPts = -1;
  private readonly born = Date.now();
  private stderr: string[] = [];
  private lastPtz = '';
  private snapshotSeq = 0;

  constructor(private readonly camera: SimCamera, private readonly opts: SourceOptions) {
    this.cfg = streamConfig(camera.spec, opts.profile);
    this.kind = camera.spec.sourceFile && this.config.codec === streamConfig(camera.spec, 'main').codec ? 'file' : 'synthetic';
    this.idleStopMs = opts.idleStopMs ?? 10_000;
    this.log = rootLog.child({ camera: camera.spec.id, profile: opts.profile, component: 'sim-source' });
    const safeId = camera.spec.id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
    this.workDir = join(tmpdir(), `${ffmpegMarker()}${safeId}-${opts.profile}-${Math.random().toString(36).slice(2, 8)}`);
  }

  get isRunning(): boolean { return this.running; }
  /** What this stream sends now: codec, size, rate, keyframe interval (encoding.ts); see reconfigure(). */
  get config(): StreamConfig { return this.cfg; }
  get codec(): NalCodec { return NAL_CODECS[this.cfg.codec]; }
  get width(): number { return this.cfg.width; }
  get height(): number { return this.cfg.height; }
  get fps(): number { return this.cfg.fps; }

  /** The PTZ overlay file ffmpeg reloads every frame (synthetic source of a PTZ camera). */
  get ptzFile(): string | null { return this.kind === 'synthetic' && this.camera.spec.ptz ? join(this.workDir, 'ptz.txt') : null; }
  parameterSets(): ParameterSets | null { return this.params; }
  stderrTail(): string[] { return [...this.stderr]; }

  /** Frames since the last keyframe, keyframe first: what a new client gets first. */
  gop(): SourceFrame[] { return [...this.gopFrames]; }

  /** Start if stopped and wait for SPS/PPS and a keyframe. Arms the idle timer if nobody subscribes. */
  ready(timeoutMs = 10_000): Promise<ParameterSets> {
    if (this.closed) return Promise.reject(new Error('source closed'));
    this.start();
    this.armIdle();
    if (this.params && this.gopFrames.length > 0) return Promise.resolve(this.params);
    return new Promise<ParameterSets>((resolve, reject) => {
      const w = {
        resolve: (p: ParameterSets) => { clearTimeout(t); resolve(p); },
        reject: (e: Error) => { clearTimeout(t); reject(e); },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no keyframe within ${timeoutMs} ms${this.stderr.length ? `: ${this.stderr.slice(-3).join(' | ')}` : ''}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    this.clearIdle();
    this.start();
    return () => {
      if (this.listeners.delete(fn) && this.listeners.size === 0) this.armIdle();
    };
  }

  /** A JPEG of the latest frame: decodes the current GOP with a one-shot ffmpeg. */
  async snapshot(timeoutMs = 10_000): Promise<Buffer> {
    await this.ready(timeoutMs);
    const frames = this.gop();
    mkdirSync(this.workDir, { recursive: true });
    const out = join(this.workDir, `snap-${++this.snapshotSeq}.jpg`);
    const child = spawn('ffmpeg', [
      '-hide_banner', '-nostats', '-loglevel', 'error', '-f', this.codec.ffmpegFormat, '-i', 'pipe:0',
      '-an', '-update', '1', '-q:v', '4', '-y', out,
    ], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    child.stdin!.on('error', () => { /* ffmpeg gone: reported by the exit code */ });
    const start = Buffer.from([0, 0, 0, 1]);
    for (const f of frames) for (const n of f.au.nals) child.stdin!.write(Buffer.concat([start, n]));
    child.stdin!.end();
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { void stopProcessGroup(child, 500); }, timeoutMs);
      child.once('error', (e) => { clearTimeout(t); err += e.message; resolve(-1); });
      child.once('exit', (c) => { clearTimeout(t); resolve(c); });
    });
    try {
      if (code !== 0) throw new Error(`snapshot ffmpeg failed (${code}): ${err.trim().split('\n').slice(-2).join(' | ')}`);
      return readFileSync(out);
    } finally {
      rmSync(out, { force: true });
    }
  }

  /**
   * Take the camera's spec again (after a reconfiguration from its web page) and, when this stream's
   * encoding changed and the encoder runs, restart it with the new settings. Subscribers stay: they get
   * the new encoder's parameter sets and keyframe in band, with timestamps that keep increasing.
   * Resolves true when the encoding changed. A file source keeps looping its file: its encoding is
   * the file's (Simulator.reconfigure refuses a camera that loops one).
   */
  async reconfigure(): Promise<boolean> {
    if (this.kind === 'file') return false;
    const next = streamConfig(this.camera.spec, this.opts.profile);
    const c = this.cfg;
    if (next.codec === c.codec && next.width === c.width && next.height === c.height && next.fps === c.fps && next.gopFrames === c.gopFrames &&
      next.gopSeconds === c.gopSeconds) return false;
    this.cfg = next;
    if (this.closed) return true;
    this.params = null;
    const wasRunning = this.running;
    if (wasRunning) await this.stop();
    this.log.info({ codec: next.codec, size: `${next.width}x${next.height}`, fps: next.fps, gop: next.gopFrames, restarted: wasRunning }, 'encoding changed');
    if (wasRunning && !this.closed) {
      this.start();
      this.armIdle();
    }
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.rejectWaiters(new Error('source closed'));
    await this.stop();
    rmSync(this.workDir, { recursive: true, force: true });
  }

  private start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.clearRestart();
    this.frameNo = 0;
    this.ptsBase = Math.max(Math.round((Date.now() - this.born) * 90), this.lastPts + Math.round(90_000 / this.fps));
    this.gopFrames = [];
    if (this.kind === 'file') this.startFile();
    else this.startFfmpeg();
  }

  private async stop(): Promise<void> {
    this.clearIdle();
    this.clearRestart();
    if (this.ptzTimer) clearInterval(this.ptzTimer);
    if (this.fileTimer) clearTimeout(this.fileTimer);
    this.ptzTimer = this.fileTimer = null;
    this.running = false;
    this.gopFrames = [];
    const child = this.child;
    this.child = null;
    if (child) await stopProcessGroup(child);
  }

  private startFfmpeg(): void {
    mkdirSync(this.workDir, { recursive: true });
    const nameFile = join(this.workDir, 'name.txt');
    writeFileSync(nameFile, this.camera.spec.name || this.camera.spec.id);
    this.lastPtz = '';
    this.writePtz();
    const args = syntheticArgs({
      width: this.width, height: this.height, fps: this.fps, nameFile, ptzFile: this.ptzFile,
      clockOffsetSec: secondsSinceLocalMidnight(new Date(), this.camera.spec.timezone),
      codec: this.config.codec, gop: this.config.gopFrames,
    });
    // TZ makes %{localtime} (the date line) follow the site's zone too.
    const env = this.camera.spec.timezone ? { ...process.env, TZ: this.camera.spec.timezone } : process.env;
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    this.child = child;
    this.log.debug({ pid: child.pid, codec: this.config.codec, size: `${this.width}x${this.height}`, fps: this.fps, gop: this.config.gopFrames }, 'encoder started');
    const splitter = new AnnexBSplitter();
    const assembler = new AccessUnitAssembler(this.codec);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      for (const nal of splitter.push(chunk)) {
        const au = assembler.push(nal);
        if (au) this.onAccessUnit(au);
      }
    });
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = (lines.pop() ?? '').slice(-500);
      for (const l of lines) if (l.trim()) this.stderr.push(l.slice(0, 500));
      if (this.stderr.length > 20) this.stderr.splice(0, this.stderr.length - 20);
    });
    child.once('error', (e) => { if (this.child === child) this.onUnexpectedExit(`ffmpeg failed to start: ${e.message}`); });
    child.once('exit', (code, signal) => { if (this.child === child) this.onUnexpectedExit(`ffmpeg exited (${code ?? signal})`); });
    if (this.ptzFile) this.ptzTimer = setInterval(() => this.writePtz(), 200);
  }

  /** Rewrite the PTZ overlay file atomically when the position changed. */
  private writePtz(): void {
    const file = this.ptzFile;
    if (!file) return;
    const text = ptzText(this.camera.ptzPosition());
    if (text === this.lastPtz) return;
    try {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
      this.lastPtz = text;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'ptz overlay write failed');
    }
  }

  private startFile(): void {
    const path = this.camera.spec.sourceFile!;
    loadFile(path, this.codec).then(({ aus }) => {
      if (!this.running || this.closed || this.fileTimer) return;
      const interval = 1000 / this.fps;
      let t0 = performance.now();
      let i = 0;
      const tick = () => {
        if (!this.running) return;
        this.onAccessUnit(aus[i % aus.length]!);
        i++;
        let next = t0 + i * interval;
        const now = performance.now();
        if (now - next > 1000) { t0 = now - i * interval; next = now; } // blocked for a while: do not burst
        this.fileTimer = setTimeout(tick, Math.max(0, next - now));
      };
      tick();
    }, (e: Error) => this.onUnexpectedExit(`file source: ${e.message}`));
  }

  private onAccessUnit(raw: AccessUnit): void {
    const found = raw.keyframe ? findParameterSets(raw.nals, this.codec) : null;
    if (found) this.params = found;
    const wallclock = Date.now();
    const au = withCaptureSei(withParameterSets(raw, this.params, this.codec), this.codec.name, wallclock);
    const frame: SourceFrame = { au, pts90k: this.ptsBase + Math.round((this.frameNo++ * 90_000) / this.fps), wallclock };
    this.lastPts = frame.pts90k;
    // The GOP is kept for the next client; a file whose keyframes are further apart than a second past the GOP is not.
    if (au.keyframe) this.gopFrames = [frame];
    else if (this.gopFrames.length > 0 && this.gopFrames.length < this.config.gopFrames + this.fps) this.gopFrames.push(frame);
    else this.gopFrames = [];
    this.restartDelay = 1000;
    if (au.keyframe && this.params) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w.resolve(this.params);
    }
    for (const l of this.listeners) {
      try { l(frame); } catch (e) { this.log.warn({ err: (e as Error).message }, 'frame listener failed'); }
    }
  }

  private onUnexpectedExit(reason: string): void {
    this.log.warn({ reason, stderr: this.stderr.slice(-5) }, 'source stopped unexpectedly');
    void this.stop();
    this.rejectWaiters(new Error(`${reason}${this.stderr.length ? `: ${this.stderr.slice(-3).join(' | ')}` : ''}`));
    if (this.closed || this.listeners.size === 0) return;
    this.restartTimer = setTimeout(() => { this.restartTimer = null; this.start(); }, this.restartDelay);
    this.restartDelay = Math.min(this.restartDelay * 2, 10_000);
  }

  private rejectWaiters(e: Error): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(e);
  }

  private armIdle(): void {
    this.clearIdle();
    if (this.listeners.size > 0 || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.listeners.size === 0 && this.running) {
        this.log.debug('idle: stopping source');
        void this.stop();
      }
    }, this.idleStopMs);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private clearRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }
}

/**
 * Encode a looping test file for file sources (benchmarks, tests): testsrc2, a keyframe every
 * `gopSeconds` (default 1); H.264 baseline (veryfast), or with `codec: 'h265'` the live H.265 encoder's settings.
 */
export async function encodeTestFile(out: string, o: { width: number; height: number; fps: number; seconds: number; codec?: SimCodec; gopSeconds?: number }): Promise<void> {
  const gop = String(Math.max(1, Math.round(o.fps * (o.gopSeconds ?? 1))));
  const encoder = o.codec === 'h265'
    ? encoderArgs({ codec: 'h265', gop: Number(gop), width: o.width, height: o.height }).slice(0, -1)
    : ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-bf', '0', '-x264-params', 'repeat-headers=1', '-f', 'h264'];
  const child = spawn('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`, '-t', String(o.seconds),
    ...encoder, out,
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => { void stopProcessGroup(child); }, 120_000);
    child.once('error', (e) => { clearTimeout(t); err += e.message; resolve(-1); });
    child.once('exit', (c) => { clearTimeout(t); resolve(c); });
  });
  if (code !== 0) throw new Error(`encoding ${out} failed: ${err.trim()}`);
}
