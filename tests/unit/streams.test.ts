import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import {
  backoffDelayMs, classifyFailure, codecMismatch, diskVerdict, failureState, initialMode, inputVideoCodec,
  recordingDays, shouldResetBackoff, shouldRestart, staleAfterMs, staleFor,
} from '../../gateway/streams/decide.ts';
import { buildSessionArgs, loggableCommand, StderrTail, type FfmpegExit, type FfmpegProcess } from '../../gateway/streams/ffmpeg.ts';
import { mediaLayout } from '../../gateway/streams/layout.ts';
import { createSessionManager, SessionLimitError } from '../../gateway/streams/sessions.ts';
import { createRtspRelay } from '../../gateway/streams/rtsp-relay.ts';
import { StreamSupervisor } from '../../gateway/streams/supervisor.ts';
import type { StateChange, StreamSource } from '../../gateway/streams/types.ts';
import { UrlRefused } from '../../gateway/streams/url-policy.ts';

const ID = '11111111-1111-4111-8111-111111111111';
const layout = mediaLayout('/data');
const LIVE = `/data/media/live/${ID}`;
const REC = `/data/media/rec/${ID}`;
const PASSWORD = 'p@ss:w/rd';
const source = (over: Partial<StreamSource> = {}): StreamSource => ({
  deviceId: ID, name: '人民路口', url: 'rtsp://10.0.0.5:554/Streaming/Channels/101',
  username: 'admin', password: PASSWORD, encoding: 'H264', record: false, ...over,
});

const GLOBAL = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-y'];
/** The credential relay's one-time loopback URL (what ffmpeg opens for a camera with a password). */
const RELAY_URL = 'rtsp://127.0.0.1:40123/Q2FtZXJhUGFzc3dvcmRzTmV2ZXJJbkFyZ3Y/Streaming/Channels/101';
const RTSP_IN = [
  '-rtsp_transport', 'tcp', '-timeout', '5000000', '-protocol_whitelist', 'rtsp,rtp,srtp,udp,tcp',
  '-fflags', '+genpts+discardcorrupt', '-probesize', '32',
  '-i', RELAY_URL,
];
const COPY = ['-map', '0:v:0', '-c:v', 'copy', '-an'];
const TRANSCODE = [
  '-map', '0:v:0', '-vf', "scale=w=-2:h='min(ih,1080)'",
  '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
  '-g', '50', '-sc_threshold', '0', '-force_key_frames', 'expr:gte(t,n_forced*1)', '-an',
];
const HLS_FLAGS = 'delete_segments+program_date_time+independent_segments+temp_file+omit_endlist';
const HLS = [
  '-f', 'hls', '-hls_time', '1', '-hls_list_size', '10', '-hls_flags', HLS_FLAGS,
  '-hls_start_number_source', 'epoch', '-hls_segment_type', 'mpegts',
  '-hls_segment_filename', `${LIVE}/seg-%d.ts`, `${LIVE}/index.m3u8`,
];
const SEGMENT = [
  '-f', 'segment', '-segment_time', '10', '-segment_format', 'mpegts', '-reset_timestamps', '1', '-strftime', '1',
  '-segment_list', `${REC}/segments-1700000000000.csv`, '-segment_list_type', 'csv', `${REC}/%Y%m%d/%Y%m%dT%H%M%SZ.ts`,
];

describe('ffmpeg arguments', () => {
  const build = (mode: 'copy' | 'transcode', over: Partial<StreamSource> = {}, input = RELAY_URL) =>
    buildSessionArgs({ source: source(over), input, mode, layout, sessionStartMs: 1_700_000_000_000 });

  it('copy, live only', () => {
    expect(build('copy')).toEqual([...GLOBAL, ...RTSP_IN, ...COPY, ...HLS]);
  });

  it('transcode, live only', () => {
    expect(build('transcode')).toEqual([...GLOBAL, ...RTSP_IN, ...TRANSCODE, ...HLS]);
  });

  it('copy with recording: a second output, the segment muxer with its CSV list', () => {
    expect(build('copy', { record: true })).toEqual([...GLOBAL, ...RTSP_IN, ...COPY, ...HLS, ...COPY, ...SEGMENT]);
  });

  it('transcode with recording: one encode, two muxers through tee', () => {
    expect(build('transcode', { record: true })).toEqual([
      ...GLOBAL, ...RTSP_IN, ...TRANSCODE, '-f', 'tee',
      `[f=hls:hls_time=1:hls_list_size=10:hls_flags=${HLS_FLAGS}:hls_start_number_source=epoch:hls_segment_type=mpegts:hls_segment_filename=${LIVE}/seg-%d.ts]${LIVE}/index.m3u8`
      + `|[f=segment:segment_time=10:segment_format=mpegts:reset_timestamps=1:strftime=1:segment_list=${REC}/segments-1700000000000.csv:segment_list_type=csv]${REC}/%Y%m%d/%Y%m%dT%H%M%SZ.ts`,
    ]);
  });

  it('rtmp (mobile ingest): read timeout instead of rtsp options, rtmp whitelist, no credentials', () => {
    const args = build('copy', { url: 'rtmp://127.0.0.1:1935/live/k3y', username: null, password: null }, 'rtmp://127.0.0.1:1935/live/k3y');
    expect(args).toEqual([
      ...GLOBAL, '-rw_timeout', '5000000', '-protocol_whitelist', 'rtmp,tcp', '-fflags', '+genpts+discardcorrupt', '-probesize', '32',
      '-i', 'rtmp://127.0.0.1:1935/live/k3y', ...COPY, ...HLS,
    ]);
    expect(args).not.toContain('-timeout'); // on rtmp, -timeout would make ffmpeg listen
  });

  it('rtsps gets its own whitelist; hls segment length and list size are parameters', () => {
    const args = buildSessionArgs({ source: source({ url: 'rtsps://cam.example/s', username: null, password: null }), input: 'rtsps://cam.example/s', mode: 'copy', layout, sessionStartMs: 1, hlsTime: 2, listSize: 6 });
    expect(args[args.indexOf('-protocol_whitelist') + 1]).toBe('rtsps,rtsp,rtp,srtp,udp,tcp,tls');
    expect(args[args.indexOf('-hls_time') + 1]).toBe('2');
    expect(args[args.indexOf('-hls_list_size') + 1]).toBe('6');
  });

  it('refuses file:, concat:, data: and malformed URLs before anything runs', () => {
    for (const url of ['file:///etc/passwd', 'concat:/a|/b', 'data:text/plain,x', 'subfile:,,start,0,end,0,:/etc/passwd', 'rtsp://cam /x', '']) {
      expect(() => build('copy', { url, username: null }, url)).toThrow(UrlRefused);
    }
  });

  it('never puts credentials on the command line: a URL holding them, or a source with them read directly, is refused', () => {
    expect(() => build('copy', { url: 'rtsp://root:s3cr%40t@10.0.0.9/live', username: null, password: null }, 'rtsp://root:s3cr%40t@10.0.0.9/live')).toThrow(/never put on ffmpeg's command line/);
    expect(() => build('copy', {}, source().url)).toThrow(UrlRefused);
    expect(() => build('copy', {}, 'rtsp://admin@127.0.0.1:40123/x')).toThrow(UrlRefused);
    for (const a of [build('copy'), build('transcode', { record: true })]) {
      expect(a.join(' ')).not.toMatch(/p%40ss|p@ss|admin/);
      expect(loggableCommand(a).startsWith('ffmpeg -hide_banner')).toBe(true);
    }
    // A source without credentials is read as it is.
    expect(build('copy', { url: 'rtsp://10.0.0.9/live', username: null, password: null }, 'rtsp://10.0.0.9/live')).toContain('rtsp://10.0.0.9/live');
  });
});

describe('stderr tail', () => {
  it('keeps the last lines, scrubbed, without the per-segment chatter', () => {
    const t = new StderrTail(3);
    t.push("Input #0, rtsp, from 'rtsp://admin:secret@10.0.0.5/live':");
    t.push("[hls @ 0x55d] Opening '/data/media/live/x/seg-1.ts.tmp' for writing");
    t.push('');
    t.push('a');
    t.push('b');
    expect(t.get()).toEqual(["Input #0, rtsp, from 'rtsp://***:***@10.0.0.5/live':", 'a', 'b']);
    t.push('c');
    expect(t.text()).toBe('a\nb\nc');
  });
});

describe('decisions', () => {
  it('backs off 1, 2, 4 … 30 s and resets after 60 s live', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelayMs(n))).toEqual([0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(shouldResetBackoff(100_000, 40_000)).toBe(true);
    expect(shouldResetBackoff(100_000, 50_000)).toBe(false);
    expect(shouldResetBackoff(100_000, null)).toBe(false);
  });

  it('calls a session stale by the age of its newest segment', () => {
    expect(staleAfterMs(1)).toBe(6000);
    expect(staleAfterMs(2)).toBe(8000);
    const base = { spawnedAt: 1000, staleAfterMs: 6000, startGraceMs: 10_000 };
    expect(staleFor({ ...base, now: 6000, lastSegmentMs: 5000 })).toBeNull();
    expect(staleFor({ ...base, now: 11_500, lastSegmentMs: 5000 })).toBe(6500);
    // before the first segment of this run (an older run's segment does not count): spawn + grace
    expect(staleFor({ ...base, now: 16_000, lastSegmentMs: 500 })).toBeNull();
    expect(staleFor({ ...base, now: 17_500, lastSegmentMs: null })).toBe(16_500);
  });

  it('classifies ffmpeg failures from the newest stderr lines', () => {
    const c = (lines: string[], code: number | null = 1, signal: string | null = null) => classifyFailure(lines, { code, signal }).reason;
    expect(c(['[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized', 'rtsp://***:***@h/x: Server returned 401 Unauthorized (authorization failed)'])).toBe('authentication refused by camera');
    expect(c(['[tcp @ 0x1] Connection to tcp://127.0.0.1:1?timeout=0 failed: Connection refused', 'rtsp://h/x: Connection refused'])).toBe('connection refused');
    expect(c(['rtsp://h/x: Connection timed out'], 0)).toBe('connection timed out');
    expect(c(['rtsp://h/x: Invalid data found when processing input'])).toBe('invalid data from camera');
    expect(c(['[segment @ 0x1] Failed to open segment: No space left on device'])).toBe('no space left on device');
    expect(c(['rtsp://h/x: Server returned 404 Not Found'])).toBe('stream not found on camera (404)');
    expect(c(['[tcp @ 0x1] Failed to resolve hostname cam.local: Name or service not known'])).toBe('camera unreachable');
    expect(c(['Stream mapping:', 'frame=  404 fps=10 q=-1.0 size=N/A'], null, 'SIGKILL')).toBe('ffmpeg killed by SIGKILL');
    expect(c([], 0)).toBe('stream ended');
    expect(c(['something odd'], 187)).toBe('ffmpeg exited with code 187');
    expect(classifyFailure([], { code: null, signal: null, error: 'spawn ffmpeg ENOENT' }).kind).toBe('spawn');
  });

  it('chooses the state of a failure and whether to retry', () => {
    const f = (lines: string[]) => classifyFailure(lines, { code: 1, signal: null });
    expect(failureState(f(['Server returned 401 Unauthorized']), 1)).toBe('failed');
    expect(failureState(f(['Connection refused']), 1)).toBe('reconnecting');
    expect(failureState(f(['Connection refused']), 5)).toBe('failed');
    expect(failureState(f(['No space left on device']), 1)).toBe('degraded');
    expect(shouldRestart({ stopRequested: false, failure: f(['Invalid data found when processing input']) })).toBe(true);
    expect(shouldRestart({ stopRequested: true, failure: null })).toBe(false);
    expect(shouldRestart({ stopRequested: false, failure: { kind: 'url', reason: 'URL refused' } })).toBe(false);
  });

  it('reads the input codec and chooses copy or transcode', () => {
    expect(inputVideoCodec('  Stream #0:0: Video: hevc (Main), yuvj420p(pc), 1920x1080, 25 fps')).toBe('hevc');
    expect(inputVideoCodec('  Stream #0:1[0x100]: Video: mjpeg (Baseline), yuvj422p')).toBe('mjpeg');
    expect(inputVideoCodec('  Stream #0:0(und): Video: h264 (Constrained Baseline), yuv420p')).toBe('h264');
    expect(inputVideoCodec('  Stream #0:1: Audio: pcm_alaw, 8000 Hz, mono')).toBeNull();
    expect(inputVideoCodec('Stream mapping:')).toBeNull();
    expect(initialMode(null)).toBe('copy');
    expect(initialMode('H264')).toBe('copy');
    expect(initialMode('h.264')).toBe('copy');
    expect(initialMode('H265')).toBe('transcode');
    expect(initialMode('JPEG')).toBe('transcode');
    expect(codecMismatch('h264')).toBeNull();
    expect(codecMismatch('hevc')).toEqual({ kind: 'codec', reason: 'camera sends hevc, not H.264: transcoding' });
  });

  it('degrades under the free-space threshold; creates tomorrow\'s recording directory before midnight', () => {
    expect(diskVerdict(499.7, 500)).toBe('disk full: 499 MB free');
    expect(diskVerdict(500, 500)).toBeNull();
    expect(recordingDays(Date.parse('2024-06-01T12:00:00Z'))).toEqual(['20240601']);
    expect(recordingDays(Date.parse('2024-06-01T23:57:00Z'))).toEqual(['20240601', '20240602']);
  });

  it('the session limit error names the limit (the route answers 503 with it)', () => {
    const e = new SessionLimitError(40);
    expect(e.message).toBe('this gateway node is at its limit of 40 sessions');
    expect(e).toMatchObject({ statusCode: 503, error: 'unavailable', limit: 40 });
  });
});

/** A stand-in ffmpeg the test drives: lines in, exit out. */
function fakeSpawner() {
  const runs: { args: string[]; emit: (line: string) => void; exit: (e: Partial<FfmpegExit>) => void; stopped: boolean }[] = [];
  const spawn = (args: string[], opts: { onLine?: (l: string) => void } = {}): FfmpegProcess => {
    let resolve!: (e: FfmpegExit) => void;
    const exited = new Promise<FfmpegExit>((r) => { resolve = r; });
    const tail = new StderrTail();
    const run = {
      args, stopped: false,
      emit: (l: string) => { tail.push(l); opts.onLine?.(l); },
      exit: (e: Partial<FfmpegExit>) => resolve({ code: null, signal: null, error: null, ...e }),
    };
    runs.push(run);
    return { pid: null, exited, tail, stop: async () => { run.stopped = true; run.exit({ signal: 'SIGTERM' }); } };
  };
  return { runs, spawn };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('supervisor (fake ffmpeg)', () => {
  const relay = createRtspRelay({ log: createLogger({ level: 'silent' }) });
  afterAll(async () => {
    rmSync(`/tmp/skynet-unit-${process.pid}`, { recursive: true, force: true });
    await relay.close();
  });
  const make = (src: StreamSource, changes: StateChange[], f = fakeSpawner()) => ({
    f,
    sup: new StreamSupervisor({
      log: createLogger({ level: 'silent' }), layout: mediaLayout(`/tmp/skynet-unit-${process.pid}`), source: src, relay,
      onStateChange: (c) => changes.push(c), minFreeMb: () => 0, spawn: f.spawn, freeSpaceMb: async () => 1e6,
    }),
  });

  it('switches to transcode at once when the camera turns out not to send H.264', async () => {
    const changes: StateChange[] = [];
    const { f, sup } = make(source({ encoding: null }), changes);
    sup.start();
    await until(() => f.runs.length === 1);
    expect(f.runs[0]!.args).toContain('copy');
    f.runs[0]!.emit('  Stream #0:0: Video: hevc (Main), yuv420p(tv), 1920x1080, 25 fps');
    await until(() => f.runs.length === 2);
    expect(f.runs[0]!.stopped).toBe(true);
    expect(f.runs[1]!.args).toContain('libx264');
    expect(changes.at(-1)).toMatchObject({ state: 'starting', mode: 'transcode', reason: 'camera sends hevc, not H.264: transcoding' });
    expect(sup.info()).toMatchObject({ mode: 'transcode', restarts: 1 });
    await sup.stop('test');
    expect(changes.at(-1)).toMatchObject({ state: 'stopped', reason: 'test' });
  });

  it('records a classified failure with the scrubbed tail and retries after the back-off', async () => {
    const changes: StateChange[] = [];
    const { f, sup } = make(source(), changes);
    sup.start();
    await until(() => f.runs.length === 1);
    f.runs[0]!.emit("Input #0, rtsp, from 'rtsp://admin:p%40ss@10.0.0.5/x':");
    f.runs[0]!.emit('rtsp://admin:p%40ss@10.0.0.5/x: Connection refused');
    f.runs[0]!.exit({ code: 1 });
    await until(() => changes.some((c) => c.state === 'reconnecting'));
    const c = changes.find((x) => x.state === 'reconnecting')!;
    expect(c.reason).toBe('connection refused');
    expect(c.stderrTail).toContain('rtsp://***:***@10.0.0.5/x: Connection refused');
    expect(c.stderrTail).not.toContain('p%40ss');
    const t0 = Date.now();
    await until(() => f.runs.length === 2, 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await sup.stop('test');
  });

  it('never spawns for a refused URL, and says why', async () => {
    const changes: StateChange[] = [];
    const { f, sup } = make(source({ url: 'file:///etc/passwd' }), changes);
    sup.start();
    await until(() => changes.some((c) => c.state === 'failed'));
    expect(f.runs).toHaveLength(0);
    expect(changes.at(-1)!.reason).toMatch(/^URL refused: url must use rtsp/);
    await sup.stop('test');
  });

  it('restarts at once with the new source when the registry changes it', async () => {
    const changes: StateChange[] = [];
    const { f, sup } = make(source(), changes);
    sup.start();
    await until(() => f.runs.length === 1);
    const input = (i: number) => f.runs[i]!.args[f.runs[i]!.args.indexOf('-i') + 1]!;
    expect(input(0)).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/Streaming\/Channels\/101$/);
    expect(relay.size()).toBe(1);
    sup.update(source({ password: 'n3w' }));
    await until(() => f.runs.length === 2);
    // A new run, a new one-time relay path; the old one is dropped.
    expect(input(1)).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/Streaming\/Channels\/101$/);
    expect(input(1)).not.toBe(input(0));
    expect(relay.size()).toBe(1);
    expect(f.runs[1]!.args.join(' ')).not.toContain('n3w');
    expect(changes.at(-1)).toMatchObject({ state: 'starting', reason: 'camera source changed' });
    sup.update(source({ password: 'n3w', record: true }));
    await until(() => f.runs.length === 3);
    expect(f.runs[2]!.args).toContain('segment');
    expect(changes.at(-1)).toMatchObject({ state: 'starting', reason: 'recording started' });
    sup.update(source({ password: 'n3w', record: true })); // nothing changed: no restart
    await new Promise((r) => setTimeout(r, 50));
    expect(f.runs).toHaveLength(3);
    await sup.stop('test');
    expect(relay.size()).toBe(0);
  });
});

describe('session manager (fake ffmpeg)', () => {
  const dir = `/tmp/skynet-unit-sm-${process.pid}`;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const X = '22222222-2222-4222-8222-222222222222';
  const Y = '33333333-3333-4333-8333-333333333333';

  it('one supervisor per camera, a bounded number, recording and reconcile', async () => {
    const f = fakeSpawner();
    const changes: StateChange[] = [];
    const registry = new Map([[X, source({ deviceId: X })], [Y, source({ deviceId: Y })]]);
    const m = createSessionManager({
      log: createLogger({ level: 'silent' }), layout: mediaLayout(dir), maxSessions: 1, idleStopMs: 60_000,
      source: async (id) => { const s = registry.get(id); if (!s) throw new Error('gone'); return s; },
      onStateChange: (c) => changes.push(c), supervisor: { spawn: f.spawn, freeSpaceMb: async () => 1e6 },
    });
    try {
      const [a, b] = await Promise.all([m.open(X, { viewer: true }), m.open(X, { viewer: true })]);
      expect(a.deviceId).toBe(X);
      expect(b.viewers).toBe(2);
      await until(() => f.runs.length === 1);
      await expect(m.open(Y)).rejects.toBeInstanceOf(SessionLimitError);
      await expect(m.open('../etc')).rejects.toThrow('not a device id');
      expect(m.list().map((s) => s.deviceId)).toEqual([X]);

      await m.setRecording([X]);
      await until(() => f.runs.length === 2);
      expect(f.runs[1]!.args).toContain('segment');
      expect(m.get(X)!.recording).toBe(true);

      registry.set(X, source({ deviceId: X, url: 'rtsp://10.0.0.6/live', username: null, password: null })); // no credentials: read directly
      await m.reconcile(X);
      await until(() => f.runs.length === 3);
      expect(f.runs[2]!.args.some((a) => a.includes('10.0.0.6'))).toBe(true);

      registry.delete(X);
      await m.setRecording([]);
      await m.reconcile(X);
      expect(m.get(X)).toBeNull();
      expect(changes.at(-1)).toMatchObject({ deviceId: X, state: 'stopped', reason: 'device removed or disabled: gone' });
      await m.open(Y);
      expect(m.get(Y)).not.toBeNull();
    } finally {
      await m.close();
    }
    expect(m.list()).toEqual([]);
  });
});
