import type { ChildProcess } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import { scrubUrl } from '../../core/log.ts';
import type { VideoPlan } from './decide.ts';
import type { MediaLayout } from './layout.ts';
import type { StreamSource } from './types.ts';
import { checkMediaUrl, PROTOCOL_WHITELIST, UrlRefused, type MediaScheme } from './url-policy.ts';

/**
 * The ffmpeg adapter of a stream session: the argument builder (pure, tested on its exact output)
 * and the process (spawned through fluent-ffmpeg, never a shell, in its own process group, stopped
 * as a group with a time limit, killed on process exit).
 */

export type SessionMode = 'copy' | 'transcode';

export interface SessionArgsInput {
  source: StreamSource;
  /**
   * What ffmpeg opens: the credential relay's one-time loopback URL for a source with credentials
   * (rtsp-relay.ts), else the source's own URL. Never holds credentials: they would show in `ps`.
   */
  input: string;
  /** Copy (in the camera's codec) or transcode to H.264. */
  plan: VideoPlan;
  /** The session's key (gateway/streams/keys.ts): names its live directory. */
  key: string;
  layout: MediaLayout;
  /** Names this run's segment list (`segments-<ms>.csv`); one per spawn so a restart never truncates a list. */
  sessionStartMs: number;
  /** Live segment length in seconds (default 1). */
  hlsTime?: number;
  /** Live playlist length in segments (default 10). */
  listSize?: number;
  /**
   * Media sequence number of the playlist's first entry. A run that continues a playlist left by the
   * previous run (the same session restarted) passes that playlist's EXT-X-MEDIA-SEQUENCE: ffmpeg appends
   * after its entries with an EXT-X-DISCONTINUITY (append_list) and numbering stays continuous. A fresh
   * playlist starts at the epoch second, so numbers keep rising across sessions too.
   */
  startNumber: number;
  /** Continue the playlist in the live directory (append_list) rather than start a new one. */
  append: boolean;
  /** fMP4 HLS (H.265): this run's init segment file name (`init-<n>.mp4`, one per run: old entries keep theirs). */
  initName?: string;
  /** Also write fragmented MP4 on stdout for the low-latency path (default true). */
  lowLatency?: boolean;
  /** Transcode caps (default 1080 lines, 25 fps). */
  transcode?: { maxHeight: number; maxFps: number };
  /** The input is fragmented MP4 on stdin (`input` is then `pipe:0`): the compat transcode of a main session's feed. */
  pipeInput?: boolean;
}

/** The low-latency output: fragmented MP4, a fragment every 100 ms and at every keyframe (so a keyframe always starts one). */
export const LOWLAT_FRAGMENT_US = 100_000;

/** Connect and read timeout for camera sockets (ffmpeg takes microseconds). */
export const IO_TIMEOUT_US = 5_000_000;
/** Recording segment length in seconds. */
export const RECORD_SEGMENT_S = 10;
/** ffmpeg runs with these added to its environment: strftime names in the recording pattern are UTC. */
export const FFMPEG_ENV = { TZ: 'UTC' } as const;

/** Input options per scheme: transport, timeouts, and only the protocols that scheme needs. */
function inputArgs(scheme: MediaScheme): string[] {
  const transport = scheme === 'rtsp' || scheme === 'rtsps'
    // -timeout on the rtsp demuxer: socket connect and read timeout (µs). (On rtmp it would mean "listen".)
    ? ['-rtsp_transport', 'tcp', '-timeout', String(IO_TIMEOUT_US)]
    : ['-rw_timeout', String(IO_TIMEOUT_US)];
  return [
    ...transport,
    '-protocol_whitelist', PROTOCOL_WHITELIST[scheme],
    '-fflags', '+genpts+discardcorrupt',
    // Stop probing after the first packet: the SDP already names the codec (all we need to choose copy
    // or transcode), and every probed second would be a second of start-up and a second of lead of
    // EXT-X-PROGRAM-DATE-TIME over the wall clock (probed frames are stamped as if after muxer start).
    '-probesize', '32',
  ];
}

/** A fragmented MP4 on stdin (our own main session's feed): no network, no protocol but the pipe. */
const PIPE_INPUT_ARGS = ['-protocol_whitelist', 'pipe', '-f', 'mp4', '-fflags', '+genpts+discardcorrupt'];

/** MP4 sample entry tag: `hvc1` (parameter sets in the init segment) is what MSE and Safari expect of H.265. */
const mp4Tag = (plan: VideoPlan): string[] => (plan.codec === 'hevc' && plan.mode === 'copy' ? ['-tag:v', 'hvc1'] : []);

function videoArgs(plan: VideoPlan, caps: { maxHeight: number; maxFps: number }): string[] {
  // Audio is dropped: the console plays video only, and copying a camera's G.711 would break HLS.
  if (plan.mode === 'copy') return ['-map', '0:v:0', '-c:v', 'copy', '-an'];
  return [
    '-map', '0:v:0',
    '-vf', `scale=w=-2:h='min(ih,${caps.maxHeight})',fps='min(source_fps,${caps.maxFps})'`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', String(caps.maxFps * 2), '-sc_threshold', '0', '-force_key_frames', 'expr:gte(t,n_forced*1)',
    // Through tee the encoder cannot tell that the MP4 output needs SPS/PPS out of band (avcC): global
    // headers for it, and repeated in-band headers for the MPEG-TS outputs.
    '-flags', '+global_header', '-x264-params', 'repeat-headers=1',
    '-an',
  ];
}

/** movflags of the low-latency output: moov first (no samples), one moof per fragment with its own base, cut at keyframes. */
const LOWLAT_MOVFLAGS = 'empty_moov+default_base_moof+frag_keyframe';

function lowLatencyOptions(): [string, string][] {
  return [['movflags', LOWLAT_MOVFLAGS], ['frag_duration', String(LOWLAT_FRAGMENT_US)], ['flush_packets', '1']];
}

function hlsOptions(input: SessionArgsInput, hlsTime: number, listSize: number): [string, string][] {
  const { layout, key, plan } = input;
  const fmp4 = plan.codec === 'hevc';
  return [
    ['hls_time', String(hlsTime)],
    ['hls_list_size', String(listSize)],
    ['hls_flags', `delete_segments+program_date_time+independent_segments+temp_file+omit_endlist${input.append ? '+append_list' : ''}`],
    // Media sequence numbers are ours (startNumber): continuous across a restart, rising across sessions.
    ['hls_start_number_source', 'generic'],
    ['start_number', String(input.startNumber)],
    // H.264 in MPEG-TS (every player); H.265 in fMP4 (hls.js and Safari play HEVC only from fMP4).
    ['hls_segment_type', fmp4 ? 'fmp4' : 'mpegts'],
    ...(fmp4 ? [['hls_fmp4_init_filename', input.initName ?? 'init.mp4'] as [string, string]] : []),
    ['hls_segment_filename', `${layout.liveDir(key)}/seg-%d.${fmp4 ? 'm4s' : 'ts'}`],
  ];
}

function recordOptions(layout: MediaLayout, deviceId: string, sessionStartMs: number): [string, string][] {
  return [
    ['segment_time', String(RECORD_SEGMENT_S)],
    ['segment_format', 'mpegts'],
    ['reset_timestamps', '1'],
    ['strftime', '1'],
    ['segment_list', layout.segmentList(deviceId, sessionStartMs)],
    ['segment_list_type', 'csv'],
  ];
}

const flags = (opts: [string, string][]) => opts.flatMap(([k, v]) => [`-${k}`, v]);

/** A tee slave option value or target: our paths never hold tee's special characters; refuse rather than escape. */
function teeSafe(v: string): string {
  if (/[[\]|:\\'"]/.test(v)) throw new Error(`media path unusable in an ffmpeg tee output: ${v}`);
  return v;
}

/**
 * The ffmpeg command line of one session run. Throws (UrlRefused) before anything spawns when the
 * input is not an allowed scheme (`file:`, `concat:`, …) or would carry credentials: a process's
 * arguments are readable by every user of the machine, so credentials reach the camera only
 * through the relay.
 */
export function buildSessionArgs(input: SessionArgsInput): string[] {
  const { source, plan, layout, sessionStartMs, key } = input;
  const hlsTime = input.hlsTime ?? 1;
  const listSize = input.listSize ?? 10;
  const caps = input.transcode ?? { maxHeight: 1080, maxFps: 25 };
  let opening: string[];
  if (input.pipeInput) {
    opening = [...PIPE_INPUT_ARGS, '-i', 'pipe:0'];
  } else {
    const checked = checkMediaUrl(input.input, 'url');
    if (checked.username || checked.password || (input.input === source.url && source.username)) {
      throw new UrlRefused('url', 'url: credentials are never put on ffmpeg\'s command line (use the relay)', 'url.invalid');
    }
    opening = [...inputArgs(checked.scheme), '-i', checked.url];
  }
  const id = source.deviceId;
  const record = source.record && source.stream === 'main';
  const lowLatency = input.lowLatency ?? true;
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-y',
    // No -xerror: on ffmpeg 5.1 it makes the "Non-monotonous DTS" of an RTSP stream's first packets
    // fatal (and a transcode's odd corrupt frame). A stall ends the process anyway (the 5 s read
    // timeout ends the input), and the supervisor's segment-age watchdog restarts it sooner.
    ...opening,
    ...videoArgs(plan, caps),
  ];
  const hls = hlsOptions(input, hlsTime, listSize);
  const rec = recordOptions(layout, id, sessionStartMs);
  if (plan.mode === 'copy') {
    // Copying: one output per use, each mapping the camera's video again (no encode, a few % CPU each).
    return [
      ...args, ...mp4Tag(plan), '-f', 'hls', ...flags(hls), layout.livePlaylist(key),
      ...(record ? [...videoArgs(plan, caps), '-f', 'segment', ...flags(rec), layout.recPattern(id)] : []),
      ...(lowLatency ? [...videoArgs(plan, caps), ...mp4Tag(plan), '-f', 'mp4', ...flags(lowLatencyOptions()), 'pipe:1'] : []),
    ];
  }
  // Transcoding: encode once, mux to each use through tee.
  const slave = (format: string, opts: [string, string][], target: string) =>
    `[f=${format}:${opts.map(([k, v]) => `${k}=${teeSafe(v)}`).join(':')}]${target === 'pipe:1' ? target : teeSafe(target)}`;
  const slaves = [
    slave('hls', hls, layout.livePlaylist(key)),
    ...(record ? [slave('segment', rec, layout.recPattern(id))] : []),
    ...(lowLatency ? [slave('mp4', lowLatencyOptions(), 'pipe:1')] : []),
  ];
  return slaves.length === 1
    ? [...args, '-f', 'hls', ...flags(hls), layout.livePlaylist(key)]
    : [...args, '-f', 'tee', slaves.join('|')];
}

/** The command line as it may be logged or shown: credentials removed. */
export function loggableCommand(args: readonly string[]): string {
  return scrubUrl(['ffmpeg', ...args].join(' '));
}

/** Lines ffmpeg prints on every segment: kept out of the diagnostic tail. */
const NOISE = /\] Opening '.*' for (writing|reading)$|^\s*$/;

/** The last lines of a process's stderr, credentials scrubbed, per-segment chatter left out. */
export class StderrTail {
  private readonly lines: string[] = [];
  /** `redact`: strings masked wherever they appear (a relay token). */
  constructor(private readonly max = 30, private readonly redact: readonly string[] = []) {}
  push(line: string): void {
    if (NOISE.test(line)) return;
    let text = scrubUrl(line);
    for (const r of this.redact) if (r) text = text.split(r).join('***');
    this.lines.push(text.slice(0, 500));
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  get(): string[] { return [...this.lines]; }
  text(): string { return this.lines.join('\n'); }
}

export interface FfmpegExit {
  code: number | null;
  signal: string | null;
  /** Spawn failure (ffmpeg missing), when there was no process. */
  error: string | null;
}

export interface FfmpegProcess {
  readonly pid: number | null;
  /** Resolves once the process has exited and its stderr is drained. */
  readonly exited: Promise<FfmpegExit>;
  readonly tail: StderrTail;
  /** SIGTERM to the group, wait ≤ graceMs, SIGKILL the group; resolves within graceMs + 1 s. */
  stop(graceMs?: number): Promise<void>;
}

/** Process groups of the ffmpegs alive in this process: killed on any exit. */
const liveGroups = new Set<number>();
let exitHookSet = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

/** SIGKILL every ffmpeg group this process started and that is still alive (synchronous). */
export function killAllFfmpeg(): void {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  liveGroups.clear();
}

/** Pids of the live ffmpeg groups (diagnostics, tests). */
export function liveFfmpegPids(): number[] {
  return [...liveGroups];
}

interface FluentInternals {
  _spawnFfmpeg(
    args: string[],
    options: Record<string, unknown>,
    processCB: (proc: ChildProcess, stdoutRing: unknown, stderrRing: { callback(cb: (line: string) => void): void }) => void,
    endCB: (err: Error | null) => void,
  ): void;
}

/**
 * Start ffmpeg with `args`. fluent-ffmpeg resolves the binary (FFMPEG_PATH, then PATH via the
 * `which` module) and splits stderr into lines; its public `run()` fixes the spawn options
 * (no `detached`, no `env`), so we call its `_spawnFfmpeg(args, spawnOptions, …)`, which hands
 * our options to child_process.spawn unchanged: `detached: true` (own process group, so a stop
 * reaches ffmpeg and anything it forks), `env` with TZ=UTC, stdin closed, no shell.
 */
export function spawnFfmpeg(args: string[], opts: {
  onLine?: (line: string) => void;
  /** ffmpeg's stdout (the low-latency fMP4 output, `pipe:1`), chunk by chunk; stdout is ignored when absent. */
  onStdout?: (chunk: Buffer) => void;
  /** ffmpeg's stdin as a pipe (for a `pipe:0` input), handed over once the process runs; closed when absent. */
  onStdin?: (stdin: NonNullable<ChildProcess['stdin']>) => void;
  tailLines?: number;
  redact?: readonly string[];
} = {}): FfmpegProcess {
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('exit', killAllFfmpeg);
  }
  const tail = new StderrTail(opts.tailLines ?? 30, opts.redact);
  let child: ChildProcess | null = null;
  let resolveExit!: (e: FfmpegExit) => void;
  const exited = new Promise<FfmpegExit>((r) => { resolveExit = r; });
  let done = false;
  let cancelled = false;
  const finish = (error: string | null) => {
    if (done) return;
    done = true;
    const c = child as ChildProcess | null;
    if (c?.pid) liveGroups.delete(c.pid);
    // A process that never started (ENOENT) has no pid, and Node puts the errno in exitCode.
    const ran = c?.pid !== undefined && (c.exitCode !== null || c.signalCode !== null);
    resolveExit(ran ? { code: c!.exitCode, signal: c!.signalCode, error: null } : { code: null, signal: null, error: error ?? 'ffmpeg did not start' });
  };

  const command = ffmpeg() as unknown as FluentInternals;
  command._spawnFfmpeg(
    [...args],
    {
      detached: true,
      stdio: [opts.onStdin ? 'pipe' : 'ignore', opts.onStdout ? 'pipe' : 'ignore', 'pipe'],
      env: { ...process.env, ...FFMPEG_ENV },
      windowsHide: true,
      stdoutLines: opts.tailLines ?? 30,
    },
    (proc, _stdout, stderrRing) => {
      child = proc;
      if (!proc.pid) return; // spawn failed: fluent reports the error through endCB
      const pid = proc.pid;
      liveGroups.add(pid);
      proc.once('exit', () => liveGroups.delete(pid));
      if (cancelled) killGroup(pid, 'SIGKILL'); // stopped while fluent was still resolving the binary
      // Read as it comes: a stdout nobody drains would block ffmpeg, and with it HLS and recording.
      if (opts.onStdin && proc.stdin) {
        // Writes after ffmpeg exits fail with EPIPE: the exit is what the supervisor acts on.
        proc.stdin.on('error', () => {});
        opts.onStdin(proc.stdin);
      }
      if (opts.onStdout && proc.stdout) {
        const sink = opts.onStdout;
        proc.stdout.on('data', (chunk: Buffer) => {
          try { sink(chunk); } catch { /* the consumer's failure must not stop the process's other outputs */ }
        });
        proc.stdout.on('error', () => {});
      }
      stderrRing.callback((line) => {
        tail.push(line);
        opts.onLine?.(line);
      });
    },
    (err) => finish(err ? err.message : null),
  );

  const timer = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
  return {
    get pid() { return child?.pid ?? null; },
    exited,
    tail,
    async stop(graceMs = 3000) {
      if (done) return;
      const pid = (child as ChildProcess | null)?.pid;
      if (!pid) {
        cancelled = true;
        await Promise.race([exited, timer(graceMs)]);
        return;
      }
      killGroup(pid, 'SIGTERM');
      await Promise.race([exited, timer(graceMs)]);
      if (done) return;
      killGroup(pid, 'SIGKILL');
      await Promise.race([exited, timer(1000)]);
    },
  };
}
