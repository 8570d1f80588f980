import { mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/log.ts';
import {
  classifyFailure, codecChange, diskVerdict, failureState, initialPlan, inputVideoCodec, recordingDays, retryDelayMs,
  shouldResetBackoff, shouldRestart, staleAfterMs, staleFor, type Failure, type VideoPlan,
} from './decide.ts';
import { cpuSeconds, CpuMeter } from './cpu.ts';
import { freeSpaceMb } from './disk.ts';
import { buildSessionArgs, loggableCommand, spawnFfmpeg, type FfmpegProcess } from './ffmpeg.ts';
import { streamKey, type StreamName } from './keys.ts';
import type { MediaLayout } from './layout.ts';
import { continuation, staleInits } from './playlist-runs.ts';
import type { MediaRelay, RelayTicket } from './rtsp-relay.ts';
import type { SessionInfo, SessionState, StateChange, StreamSource } from './types.ts';
import { UrlRefused } from './url-policy.ts';

/**
 * One camera's watchdog (Frigate-style): it owns one ffmpeg at a time, judges health on a 1 s tick
 * by the age of the newest live segment, restarts with back-off and a classified reason, degrades
 * when the disk is full, and stops with a time limit. Every state change goes to `onStateChange`.
 */

export interface SupervisorOptions {
  log: Logger;
  layout: MediaLayout;
  source: StreamSource;
  /** Carries the camera's credentials, so that ffmpeg's arguments never do. */
  relay: MediaRelay;
  onStateChange: (change: StateChange) => void;
  /** Free space (MB) under which the session degrades instead of running. */
  minFreeMb: () => number;
  hlsTime?: number;
  listSize?: number;
  /** No new live segment for this long while running → restart (default max(6 s, 4 × hlsTime)). */
  staleAfterMs?: number;
  /** Extra time before the first segment of a run (default 10 s). */
  startGraceMs?: number;
  /** How often a degraded session looks at the disk again (default 5 s). */
  diskRetryMs?: number;
  /** Stop: SIGTERM, this long, SIGKILL (default 3 s). */
  stopGraceMs?: number;
  tickMs?: number;
  /** The low-latency feed of this session (its ffmpeg's fMP4 stdout goes there); none: no fMP4 output. */
  lowLatency?: LowLatencySink;
  /**
   * Asked before a run that must transcode: true takes one of the node's transcode slots (held until
   * `releaseTranscode`), false means the node is at its limit (the session fails with that reason).
   */
  acquireTranscode?: () => boolean;
  releaseTranscode?: () => void;
  /** Transcode caps (resolution, frame rate). */
  transcode?: { maxHeight: number; maxFps: number };
  /** The compat session's input: the main session's low-latency feed (gateway/lowlat/hub.ts tap), written to ffmpeg's stdin. */
  input?: FeedTap;
  /** Injected in tests. */
  spawn?: typeof spawnFfmpeg;
  freeSpaceMb?: (dir: string) => Promise<number>;
}

/** Where a session's ffmpeg stdout (fragmented MP4) goes: gateway/lowlat/hub.ts's feed. */
export interface LowLatencySink {
  start(meta: { stream: StreamName; mode: 'copy' | 'transcode' }): void;
  push(chunk: Buffer): void;
  end(reason: string): void;
  info(): { codec: string; width: number; height: number } | null;
}

/** A session's fMP4 read in process: the init, then fragments from a keyframe on; `restart` when a new run begins. */
export interface FeedTap {
  open(sink: { write(chunk: Buffer, keyframe: boolean): void; restart(reason: string): void }): () => void;
}

/**
 * Bytes queued to a compat ffmpeg's stdin past which fragments are dropped up to the next
 * keyframe (the transcode cannot keep up): bounded memory, and the picture skips ahead.
 */
export const COMPAT_INPUT_HIGH_WATER = 8 * 1024 * 1024;
const COMPAT_REASON = 'the browser decodes neither the main stream nor a sub stream: the main stream transcoded to H.264';

type Stdin = NodeJS.WritableStream & { writableLength: number; end(): unknown };

type Health = 'online' | 'offline' | 'degraded' | 'unknown' | null;

interface PlannedRestart {
  failure: Failure;
  /** Planned (mode switch, new source): respawn at once, not counted as a failure. */
  immediate: boolean;
}

const sameStream = (a: StreamSource, b: StreamSource) =>
  a.url === b.url && a.username === b.username && a.password === b.password;

export class StreamSupervisor {
  private src: StreamSource;
  private readonly log: Logger;
  private state: SessionState = 'starting';
  private reason: string | null = null;
  private plan: VideoPlan | null = null;
  /** Set when a run showed the registry's encoding wrong: the next runs follow what the camera sends. */
  private learned: VideoPlan | null = null;
  private transcodeReason: string | null = null;
  private holdsTranscode = false;
  private health: Health = null;
  private startedAt: number | null = null;
  private lastSegmentMs: number | null = null;
  private spawnedAt = 0;
  private liveSince: number | null = null;
  private spawns = 0;
  private failures = 0;
  private lastFailureReason: string | null = null;
  private codecSeen = false;
  private command: string | null = null;
  private proc: FfmpegProcess | null = null;
  /** The relay ticket of the running (or starting) ffmpeg. */
  private ticket: RelayTicket | null = null;
  private planned: PlannedRestart | null = null;
  private launching: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private ticking = false;
  private daysReady = '';
  private stopRequested = false;
  private emitted = false;
  /** The source the running (or last) ffmpeg was started with. */
  private runSource: StreamSource | null = null;
  private stopping: Promise<void> | null = null;
  /** Detaches the compat session's input from the main session's feed. */
  private detachInput: (() => void) | null = null;
  /** The running ffmpeg's CPU, sampled every tick. */
  private readonly cpu = new CpuMeter();

  constructor(private readonly o: SupervisorOptions) {
    this.src = o.source;
    this.log = o.log.child({ deviceId: o.source.deviceId, component: 'stream' });
  }

  get source(): StreamSource { return this.src; }
  /** When the running ffmpeg was spawned (0 when none runs): a playlist older than this is a leftover. */
  get runStartedAt(): number { return this.proc ? this.spawnedAt : 0; }
  get deviceId(): string { return this.src.deviceId; }
  /** The session's key: its live directory and low-latency feed. */
  get key(): string { return streamKey(this.src.deviceId, this.src.stream); }
  private get mode(): VideoPlan['mode'] | null { return this.plan?.mode ?? null; }

  /**
   * The health checker's judgement of the camera. Offline: retries back off to minutes (no ffmpeg
   * respawned every half minute for a dead camera). Back online: a session waiting to retry tries now.
   */
  setHealth(health: Health): void {
    const was = this.health;
    this.health = health;
    if (health === 'online' && was !== 'online' && was !== null && this.retryTimer && !this.proc && !this.launching && this.failures > 0) {
      this.log.info('camera judged online again: retrying now');
      this.launchSoon(0);
    }
  }

  start(): void {
    if (this.startedAt !== null || this.stopRequested) return;
    this.startedAt = Date.now();
    this.setState('starting', null);
    this.tickTimer = setInterval(() => void this.tick(), this.o.tickMs ?? 1000);
    this.tickTimer.unref();
    this.launchSoon(0);
  }

  info(): SessionInfo {
    const ll = this.proc ? this.o.lowLatency?.info() ?? null : null;
    return {
      deviceId: this.src.deviceId,
      stream: this.src.stream,
      state: this.state,
      reason: this.reason,
      mode: this.mode,
      codec: this.plan?.codec ?? null,
      codecString: ll?.codec ?? null,
      width: ll?.width ?? null,
      height: ll?.height ?? null,
      transcodeReason: this.plan?.mode === 'transcode' ? this.transcodeReason : null,
      cpuPercent: this.proc ? this.cpu.percent() : null,
      recording: this.src.record && this.src.stream === 'main',
      startedAt: this.startedAt === null ? null : new Date(this.startedAt).toISOString(),
      lastSegmentAt: this.lastSegmentMs === null ? null : new Date(this.lastSegmentMs).toISOString(),
      restarts: Math.max(0, this.spawns - 1),
      viewers: 0,
    };
  }

  /** Diagnostics: the running ffmpeg's pid, how many times it was spawned, its command line (scrubbed). */
  debug(): { pid: number | null; spawns: number; failures: number; command: string | null } {
    return { pid: this.proc?.pid ?? null, spawns: this.spawns, failures: this.failures, command: this.command };
  }

  /** The registry changed: restart at once when what ffmpeg reads or writes changed. */
  update(source: StreamSource): void {
    this.src = source;
    if (this.stopRequested) return;
    if (this.launching) void this.launching.then(() => this.applyUpdate());
    else this.applyUpdate();
  }

  private applyUpdate(): void {
    if (this.stopRequested) return;
    const run = this.runSource;
    // Never ran: a pending launch takes the new source; a refused URL (nothing pending) tries again.
    if (!run && (this.retryTimer || this.launching)) return;
    const streamChanged = !run || !sameStream(run, this.src) || run.encoding !== this.src.encoding;
    if (!streamChanged && run.record === this.src.record) return;
    if (streamChanged) this.learned = null;
    const reason = streamChanged ? 'camera source changed' : this.src.record ? 'recording started' : 'recording stopped';
    this.failures = 0;
    if (this.proc) {
      this.restart({ failure: { kind: 'exit', reason }, immediate: true });
    } else {
      this.setState('starting', reason);
      this.launchSoon(0);
    }
  }

  /** Restart the running ffmpeg at once, not counted as a failure (the stream changed under it). */
  restartNow(reason: string): void {
    if (this.stopRequested || !this.proc) return;
    this.restart({ failure: { kind: 'codec', reason }, immediate: true });
  }

  /** Stop ffmpeg (SIGTERM, ≤ 3 s, SIGKILL, all bounded), remove the live files, state stopped. */
  stop(reason: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopRequested = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.stopping = (async () => {
      await this.launching;
      const p = this.proc;
      this.closeInput();
      if (p) await p.stop(this.o.stopGraceMs ?? 3000);
      this.proc = null;
      this.closeInput();
      this.dropTicket();
      this.releaseTranscode();
      this.o.lowLatency?.end(reason);
      await rm(this.o.layout.liveDir(this.key), { recursive: true, force: true }).catch(() => {});
      this.liveSince = null;
      this.setState('stopped', reason);
    })();
    return this.stopping;
  }

  /** SIGKILL the running ffmpeg's group now (shutdown that ran out of time). */
  killNow(): void {
    this.stopRequested = true;
    const pid = this.proc?.pid;
    if (pid) try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }

  private launchSoon(delayMs: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopRequested || this.launching || this.proc) return;
      this.launching = this.launch().catch((e: unknown) => {
        this.log.error({ err: e }, 'stream launch failed');
        this.fail({ kind: 'spawn', reason: `could not start: ${(e as Error).message}` }, null);
      }).finally(() => { this.launching = null; });
    }, delayMs);
    this.retryTimer.unref();
  }

  private async launch(): Promise<void> {
    const { layout } = this.o;
    let free = Infinity;
    try {
      free = await (this.o.freeSpaceMb ?? freeSpaceMb)(layout.root);
    } catch (e) {
      this.log.warn({ err: e }, 'cannot read free disk space');
    }
    if (this.stopRequested) return;
    const full = diskVerdict(free, this.o.minFreeMb());
    if (full) {
      this.setState('degraded', full);
      this.launchSoon(this.o.diskRetryMs ?? 5000);
      return;
    }
    if (this.state === 'degraded') this.setState('starting', 'disk space available again');

    const compat = this.src.stream === 'compat';
    if (compat && !this.o.input) {
      this.fail({ kind: 'spawn', reason: 'could not start: no low-latency feed to transcode from' }, null);
      return;
    }
    const plan: VideoPlan = compat ? { mode: 'transcode', codec: 'h264' } : this.learned ?? initialPlan(this.src.encoding);
    if (compat) this.transcodeReason = COMPAT_REASON;
    if (plan.mode === 'transcode' && !this.holdsTranscode) {
      if (this.o.acquireTranscode && !this.o.acquireTranscode()) {
        this.fail({ kind: 'limit', reason: 'this gateway node is at its limit of transcoding sessions' }, null);
        return;
      }
      this.holdsTranscode = Boolean(this.o.acquireTranscode);
    } else if (plan.mode === 'copy') {
      this.releaseTranscode();
    }
    if (plan.mode === 'transcode' && !this.transcodeReason) this.transcodeReason = `camera sends ${this.src.encoding ?? 'an unknown codec'}`;
    const liveDir = layout.liveDir(this.key);
    // A restart of the same session continues the playlist players hold (with a discontinuity).
    const previous = this.plan?.codec === plan.codec ? await readFile(layout.livePlaylist(this.key), 'utf8').catch(() => null) : null;
    const runStartMs = Date.now();
    const run = continuation(previous, Math.floor(runStartMs / 1000));
    let args: string[];
    this.dropTicket();
    try {
      this.ticket = compat ? null : await this.o.relay.open(this.src);
      args = buildSessionArgs({
        source: this.src, input: compat ? 'pipe:0' : this.ticket?.url ?? this.src.url, pipeInput: compat, plan, key: this.key, layout, sessionStartMs: runStartMs,
        hlsTime: this.o.hlsTime, listSize: this.o.listSize, startNumber: run.startNumber, append: run.append, initName: run.initName,
        lowLatency: Boolean(this.o.lowLatency), transcode: this.o.transcode,
      });
    } catch (e) {
      this.dropTicket();
      if (e instanceof UrlRefused) this.fail({ kind: 'url', reason: `URL refused: ${e.message}` }, null);
      else this.fail({ kind: 'spawn', reason: `could not start: ${(e as Error).message}` }, null);
      return;
    }
    if (this.stopRequested) { this.dropTicket(); return; }
    if (run.append) {
      await Promise.all((await staleInits(liveDir, previous ?? '')).map((f) => unlink(join(liveDir, f)).catch(() => {})));
    } else {
      await rm(liveDir, { recursive: true, force: true });
    }
    await mkdir(liveDir, { recursive: true });
    if (this.src.record && this.src.stream === 'main') await this.ensureRecordingDays(true);
    if (this.stopRequested) { this.dropTicket(); return; }

    this.plan = plan;
    this.runSource = this.src;
    this.codecSeen = false;
    this.spawnedAt = Date.now();
    this.command = loggableCommand(args);
    if (this.ticket) this.command = this.command.split(this.ticket.token).join('***');
    const redact = this.ticket ? [this.ticket.token] : [];
    const feed = this.o.lowLatency;
    feed?.start({ stream: this.src.stream, mode: plan.mode });
    // fluent-ffmpeg may spawn at once (binary path cached): a stdin handed over inside the call waits for `proc`.
    let stdinEarly: Stdin | null = null;
    let spawned: FfmpegProcess | null = null;
    const proc: FfmpegProcess = (this.o.spawn ?? spawnFfmpeg)(args, {
      onLine: (line) => this.onLine(proc, line), redact,
      ...(feed ? { onStdout: (chunk: Buffer) => { if (proc === this.proc) feed.push(chunk); } } : {}),
      ...(compat ? { onStdin: (stdin: Stdin) => { if (spawned) this.feedInput(spawned, stdin); else stdinEarly = stdin; } } : {}),
    });
    spawned = proc;
    this.proc = proc;
    if (stdinEarly) this.feedInput(proc, stdinEarly);
    this.cpu.reset();
    this.spawns++;
    this.log.info({ command: this.command, mode: plan.mode, codec: plan.codec, spawn: this.spawns }, 'ffmpeg started');
    void proc.exited.then((exit) => this.onExit(proc, exit));
  }

  /** The compat session: the main session's feed into ffmpeg's stdin, dropping to the next keyframe when ffmpeg falls behind. */
  private feedInput(proc: FfmpegProcess, stdin: Stdin): void {
    if (proc !== this.proc || !this.o.input) return;
    let dropping = false;
    this.closeInput();
    const detach = this.o.input.open({
      write: (chunk, keyframe) => {
        if (proc !== this.proc) return;
        if (stdin.writableLength > COMPAT_INPUT_HIGH_WATER) dropping = true;
        if (dropping) {
          if (!keyframe || stdin.writableLength > COMPAT_INPUT_HIGH_WATER / 4) return;
          dropping = false;
        }
        stdin.write(chunk);
      },
      restart: (reason) => { if (proc === this.proc) this.restartNow(`main stream: ${reason}`); },
    });
    // Ending stdin is how a compat ffmpeg stops promptly (blocked on its input, it would wait out SIGTERM).
    this.detachInput = () => { detach(); stdin.end(); };
  }

  private closeInput(): void {
    this.detachInput?.();
    this.detachInput = null;
  }

  private onLine(proc: FfmpegProcess, line: string): void {
    // A compat session transcodes whatever the main stream carries: nothing to learn.
    if (proc !== this.proc || this.codecSeen || !this.plan || this.src.stream === 'compat') return;
    const codec = inputVideoCodec(line);
    if (!codec) return;
    this.codecSeen = true;
    const change = codecChange(codec, this.plan);
    if (change) {
      this.learned = change.plan;
      if (change.plan.mode === 'transcode') this.transcodeReason = `camera sends ${codec}`;
      this.restart({ failure: change.failure, immediate: true });
    }
  }

  private releaseTranscode(): void {
    if (!this.holdsTranscode) return;
    this.holdsTranscode = false;
    this.o.releaseTranscode?.();
  }

  private restart(p: PlannedRestart): void {
    if (!this.proc || this.planned) return;
    this.planned = p;
    this.closeInput();
    void this.proc.stop(this.o.stopGraceMs ?? 3000);
  }

  private onExit(proc: FfmpegProcess, exit: { code: number | null; signal: string | null; error: string | null }): void {
    if (proc !== this.proc) return;
    this.proc = null;
    this.closeInput();
    this.liveSince = null;
    const planned = this.planned;
    this.planned = null;
    // What the relay saw of the camera (refused, timed out, wrong password) says more than ffmpeg can.
    const relayed = this.ticket?.failure() ?? null;
    this.dropTicket();
    if (this.stopRequested) return;
    this.o.lowLatency?.end(planned?.failure.reason ?? 'ffmpeg ended');
    const tail = proc.tail.text() || null;
    if (planned?.immediate) {
      this.log.info({ reason: planned.failure.reason }, 'restarting ffmpeg');
      // The state says what the next run does (a codec switch: copy as H.265, or transcode).
      if (planned.failure.kind === 'codec' && this.learned) this.plan = this.learned;
      this.setState('starting', planned.failure.reason, planned.failure.kind === 'codec' ? tail : null);
      this.launchSoon(0);
      return;
    }
    const failure = planned?.failure ?? relayed ?? classifyFailure(proc.tail.get(), exit);
    // A camera that stays down fails again every back-off: warn when it starts failing or the
    // reason changes, and keep the repeats at debug (each is still a stream_events row).
    const repeat = this.failures > 0 && failure.reason === this.lastFailureReason;
    this.lastFailureReason = failure.reason;
    this.log[repeat ? 'debug' : 'warn']({ reason: failure.reason, code: exit.code, signal: exit.signal, stderr: tail, failures: this.failures + 1 }, 'ffmpeg ended');
    this.fail(failure, tail);
  }

  private dropTicket(): void {
    this.ticket?.close();
    this.ticket = null;
  }

  /** Record a failure and schedule the retry with back-off (or none, when the URL itself is refused). */
  private fail(failure: Failure, tail: string | null): void {
    this.failures++;
    this.setState(failureState(failure, this.failures), failure.reason, tail);
    if (!shouldRestart({ stopRequested: this.stopRequested, failure })) return;
    this.launchSoon(retryDelayMs(this.failures, this.health));
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopRequested) return;
    this.ticking = true;
    try {
      const proc = this.proc;
      if (!proc) return;
      if (this.src.record && this.src.stream === 'main') await this.ensureRecordingDays(false);
      if (proc.pid) {
        const used = await cpuSeconds(proc.pid);
        if (used !== null && proc === this.proc) this.cpu.add(proc.pid, Date.now(), used);
      }
      const now = Date.now();
      const mtime = await stat(this.o.layout.livePlaylist(this.key)).then((s) => s.mtimeMs, () => null);
      if (proc !== this.proc || this.stopRequested) return;
      if (mtime !== null && mtime > this.spawnedAt) {
        this.lastSegmentMs = Math.max(this.lastSegmentMs ?? 0, Math.round(mtime));
        if (this.state !== 'live' && !this.planned) {
          this.liveSince = now;
          this.setState('live', null);
        }
      }
      if (this.state === 'live' && shouldResetBackoff(now, this.liveSince)) this.failures = 0;
      const silent = staleFor({
        now, spawnedAt: this.spawnedAt, lastSegmentMs: this.lastSegmentMs,
        staleAfterMs: this.o.staleAfterMs ?? staleAfterMs(this.o.hlsTime ?? 1), startGraceMs: this.o.startGraceMs,
      });
      if (silent !== null) this.restart({ failure: { kind: 'stale', reason: `no segments for ${Math.round(silent / 1000)} s` }, immediate: false });
    } finally {
      this.ticking = false;
    }
  }

  /** ffmpeg's segment muxer does not create the day directories of the strftime pattern: we do. */
  private async ensureRecordingDays(force: boolean): Promise<void> {
    const days = recordingDays(Date.now());
    const key = days.join(',');
    if (!force && key === this.daysReady) return;
    const dir = this.o.layout.recDir(this.src.deviceId);
    await Promise.all(days.map((d) => mkdir(join(dir, d), { recursive: true })));
    this.daysReady = key;
  }

  private setState(state: SessionState, reason: string | null, stderrTail: string | null = null): void {
    if (this.emitted && state === this.state && reason === this.reason && stderrTail === null) return;
    this.emitted = true;
    this.state = state;
    this.reason = reason;
    this.log.info({ state, reason, mode: this.mode }, 'stream state');
    try {
      this.o.onStateChange({ deviceId: this.src.deviceId, stream: this.src.stream, state, reason, mode: this.mode, stderrTail });
    } catch (e) {
      this.log.error({ err: e }, 'onStateChange failed');
    }
  }
}

/** Live segment files in a session's live dir (diagnostics, tests). */
export async function liveSegments(layout: MediaLayout, key: string): Promise<string[]> {
  return (await readdir(layout.liveDir(key)).catch(() => [] as string[])).filter((f) => f.endsWith('.ts') || f.endsWith('.m4s'));
}
