import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import {
  backoffDelayMs, classifyFailure, codecChange, diskVerdict, failureState, initialPlan, inputVideoCodec,
  recordingDays, retryDelayMs, shouldResetBackoff, shouldRestart, staleAfterMs, staleFor, type VideoPlan,
} from '../../gateway/streams/decide.ts';
import { buildSessionArgs, loggableCommand, StderrTail, type FfmpegExit, type FfmpegProcess } from '../../gateway/streams/ffmpeg.ts';
import { parseStreamKey, streamKey } from '../../gateway/streams/keys.ts';
import { chooseServedStream } from '../../gateway/streams/service.ts';
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
  username: 'admin', password: PASSWORD, encoding: 'H264', record: false, stream: 'main', ...over,
});
const H264: VideoPlan = { mode: 'copy', codec: 'h264' };
const HEVC: VideoPlan = { mode: 'copy', codec: 'hevc' };
const TRANSCODED: VideoPlan = { mode: 'transcode', codec: 'h264' };

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
  '-map', '0:v:0', '-vf', "scale=w=-2:h='min(ih,720)',fps='min(source_fps,15)'",
  '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
  '-g', '30', '-sc_threshold', '0', '-force_key_frames', 'expr:gte(t,n_forced*1)',
  '-flags', '+global_header', '-x264-params', 'repeat-headers=1', '-an',
];
const LOWLAT = ['-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '100000', '-flush_packets', '1', 'pipe:1'];
const HLS_FLAGS = 'delete_segments+program_date_time+independent_segments+temp_file+omit_endlist';
const HLS = [
  '-f', 'hls', '-hls_time', '1', '-hls_list_size', '10', '-hls_flags', HLS_FLAGS,
  '-hls_start_number_source', 'generic', '-start_number', '1700000000', '-hls_segment_type', 'mpegts',
  '-hls_segment_filename', `${LIVE}/seg-%d.ts`, `${LIVE}/index.m3u8`,
];
const SEGMENT = [
  '-f', 'segment', '-segment_time', '10', '-segment_format', 'mpegts', '-reset_timestamps', '1', '-strftime', '1',
  '-segment_list', `${REC}/segments-1700000000000.csv`, '-segment_list_type', 'csv', `${REC}/%Y%m%d/%Y%m%dT%H%M%SZ.ts`,
];

describe('ffmpeg arguments', () => {
  const build = (mode: 'copy' | 'transcode' | VideoPlan, over: Partial<StreamSource> = {}, input = RELAY_URL, extra: { lowLatency?: boolean; append?: boolean; startNumber?: number } = {}) =>
    buildSessionArgs({
      source: source(over), input, plan: typeof mode === 'string' ? (mode === 'copy' ? H264 : TRANSCODED) : mode, key: over.stream === 'sub' ? `${ID}.sub` : ID,
      layout, sessionStartMs: 1_700_000_000_000, startNumber: extra.startNumber ?? 1_700_000_000, append: extra.append ?? false, initName: 'init-1700000000.mp4',
      lowLatency: extra.lowLatency ?? false, transcode: { maxHeight: 720, maxFps: 15 },
    });

  it('compat: the main session\'s fMP4 on stdin (only the pipe protocol), transcoded and capped, to its own live directory', () => {
    const args = buildSessionArgs({
      source: source({ stream: 'compat', url: 'pipe:0', username: null, password: null }), input: 'pipe:0', pipeInput: true, plan: TRANSCODED, key: `${ID}.compat`,
      layout, sessionStartMs: 1_700_000_000_000, startNumber: 1_700_000_000, append: false, lowLatency: false, transcode: { maxHeight: 720, maxFps: 15 },
    });
    expect(args).toEqual([
      ...GLOBAL, '-protocol_whitelist', 'pipe', '-f', 'mp4', '-fflags', '+genpts+discardcorrupt', '-i', 'pipe:0', ...TRANSCODE,
      ...HLS.map((a) => a.replace(LIVE, `${LIVE}.compat`)),
    ]);
  });

  it('serves compat only of a main stream that is not H.264, and main where a sub stream is missing', () => {
    const d = (main: string | null, sub = false) => [
      { stream: 'main' as const, encoding: main, width: 1920, height: 1080, fps: 25, gop: 100 },
      ...(sub ? [{ stream: 'sub' as const, encoding: 'H264', width: 640, height: 360, fps: 25, gop: 50 }] : []),
    ];
    expect(chooseServedStream(d('H265'), 'compat')).toBe('compat');
    expect(chooseServedStream(d(null), 'compat')).toBe('compat');
    expect(chooseServedStream(d('H264'), 'compat')).toBe('main');
    expect(chooseServedStream(d('H265'), 'sub')).toBe('main');
    expect(chooseServedStream(d('H265', true), 'sub')).toBe('sub');
    expect(chooseServedStream(d('H265', true), 'main')).toBe('main');
  });

  it('stream keys: main is the device id, sub and compat have their suffix, and parse back', () => {
    expect([streamKey(ID, 'main'), streamKey(ID, 'sub'), streamKey(ID, 'compat')]).toEqual([ID, `${ID}.sub`, `${ID}.compat`]);
    for (const stream of ['main', 'sub', 'compat'] as const) expect(parseStreamKey(streamKey(ID, stream))).toEqual({ deviceId: ID, stream });
    expect(parseStreamKey('../etc.compat')).toBeNull();
  });

  it('copy, live only', () => {
    expect(build('copy')).toEqual([...GLOBAL, ...RTSP_IN, ...COPY, ...HLS]);
  });

  it('transcode, live only: capped in size and frame rate', () => {
    expect(build('transcode')).toEqual([...GLOBAL, ...RTSP_IN, ...TRANSCODE, ...HLS]);
  });

  it('copy with recording: a second output, the segment muxer with its CSV list', () => {
    expect(build('copy', { record: true })).toEqual([...GLOBAL, ...RTSP_IN, ...COPY, ...HLS, ...COPY, ...SEGMENT]);
  });

  it('copy with recording and the low-latency path: a third output, fragmented MP4 on stdout', () => {
    expect(build('copy', { record: true }, RELAY_URL, { lowLatency: true })).toEqual([...GLOBAL, ...RTSP_IN, ...COPY, ...HLS, ...COPY, ...SEGMENT, ...COPY, ...LOWLAT]);
  });

  it('H.265 is copied: fMP4 HLS with an init segment per run, hvc1 sample entries, the recording in its own codec', () => {
    const args = build(HEVC, { record: true, encoding: 'H265' }, RELAY_URL, { lowLatency: true });
    expect(args).not.toContain('libx264');
    expect(args).toEqual([
      ...GLOBAL, ...RTSP_IN, ...COPY, '-tag:v', 'hvc1',
      '-f', 'hls', '-hls_time', '1', '-hls_list_size', '10', '-hls_flags', HLS_FLAGS,
      '-hls_start_number_source', 'generic', '-start_number', '1700000000', '-hls_segment_type', 'fmp4',
      '-hls_fmp4_init_filename', 'init-1700000000.mp4', '-hls_segment_filename', `${LIVE}/seg-%d.m4s`, `${LIVE}/index.m3u8`,
      ...COPY, ...SEGMENT, ...COPY, '-tag:v', 'hvc1', ...LOWLAT,
    ]);
  });

  it('a restart continues the playlist: append_list from the old window\'s sequence number', () => {
    const args = build('copy', {}, RELAY_URL, { append: true, startNumber: 42 });
    expect(args[args.indexOf('-hls_flags') + 1]).toBe(`${HLS_FLAGS}+append_list`);
    expect(args[args.indexOf('-start_number') + 1]).toBe('42');
  });

  it('a sub stream has its own live directory and never records', () => {
    const args = build('copy', { record: true, stream: 'sub' });
    expect(args).toContain(`/data/media/live/${ID}.sub/index.m3u8`);
    expect(args).not.toContain('segment');
  });

  it('transcode with recording and the low-latency path: one encode, three muxers through tee', () => {
    expect(build('transcode', { record: true }, RELAY_URL, { lowLatency: true })).toEqual([
      ...GLOBAL, ...RTSP_IN, ...TRANSCODE, '-f', 'tee',
      `[f=hls:hls_time=1:hls_list_size=10:hls_flags=${HLS_FLAGS}:hls_start_number_source=generic:start_number=1700000000:hls_segment_type=mpegts:hls_segment_filename=${LIVE}/seg-%d.ts]${LIVE}/index.m3u8`
      + `|[f=segment:segment_time=10:segment_format=mpegts:reset_timestamps=1:strftime=1:segment_list=${REC}/segments-1700000000000.csv:segment_list_type=csv]${REC}/%Y%m%d/%Y%m%dT%H%M%SZ.ts`
      + '|[f=mp4:movflags=empty_moov+default_base_moof+frag_keyframe:frag_duration=100000:flush_packets=1]pipe:1',
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
    const args = buildSessionArgs({
      source: source({ url: 'rtsps://cam.example/s', username: null, password: null }), input: 'rtsps://cam.example/s', plan: H264, key: ID, layout,
      sessionStartMs: 1, hlsTime: 2, listSize: 6, startNumber: 1, append: false,
    });
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
    expect(initialPlan(null)).toEqual(H264);
    expect(initialPlan('H264')).toEqual(H264);
    expect(initialPlan('h.264')).toEqual(H264);
    expect(initialPlan('H265')).toEqual(HEVC);
    expect(initialPlan('hevc')).toEqual(HEVC);
    expect(initialPlan('JPEG')).toEqual(TRANSCODED);
    expect(codecChange('h264', H264)).toBeNull();
    expect(codecChange('hevc', HEVC)).toBeNull();
    expect(codecChange('hevc', H264)).toEqual({ plan: HEVC, failure: { kind: 'codec', reason: 'camera sends hevc: copying it as it comes' } });
    expect(codecChange('mjpeg', H264)).toEqual({ plan: TRANSCODED, failure: { kind: 'codec', reason: 'camera sends mjpeg, which browsers cannot play: transcoding to H.264' } });
    expect(codecChange('mjpeg', TRANSCODED)).toBeNull();
  });

  it('a camera judged offline backs off to minutes, not every half minute', () => {
    expect(retryDelayMs(1, 'offline')).toBe(1000);
    expect(retryDelayMs(9, 'offline')).toBe(256_000);
    expect(retryDelayMs(20, 'offline')).toBe(300_000);
    expect(retryDelayMs(5, 'online')).toBe(16_000);
    expect(retryDelayMs(6, null)).toBe(32_000);
    expect(retryDelayMs(8, null)).toBe(128_000);
    expect(retryDelayMs(3, 'unknown')).toBe(4000);
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

  it('copies H.265 as it comes when the registry did not know the codec: restarted at once as fMP4, never transcoded', async () => {
    const changes: StateChange[] = [];
    const { f, sup } = make(source({ encoding: null }), changes);
    sup.start();
    await until(() => f.runs.length === 1);
    expect(f.runs[0]!.args).toContain('copy');
    f.runs[0]!.emit('  Stream #0:0: Video: hevc (Main), yuv420p(tv), 1920x1080, 25 fps');
    await until(() => f.runs.length === 2);
    expect(f.runs[0]!.stopped).toBe(true);
    expect(f.runs[1]!.args).not.toContain('libx264');
    expect(f.runs[1]!.args).toEqual(expect.arrayContaining(['-tag:v', 'hvc1', 'fmp4']));
    expect(changes.at(-1)).toMatchObject({ state: 'starting', mode: 'copy', reason: 'camera sends hevc: copying it as it comes' });
    expect(sup.info()).toMatchObject({ mode: 'copy', codec: 'hevc', transcodeReason: null, restarts: 1 });
    await sup.stop('test');
    expect(changes.at(-1)).toMatchObject({ state: 'stopped', reason: 'test' });
  });

  it('transcodes a codec browsers cannot play at all, says why, and counts against the node\'s transcode limit', async () => {
    const changes: StateChange[] = [];
    let slots = 1;
    const f = fakeSpawner();
    const sup = new StreamSupervisor({
      log: createLogger({ level: 'silent' }), layout: mediaLayout(`/tmp/skynet-unit-${process.pid}`), source: source({ encoding: null }), relay,
      onStateChange: (c) => changes.push(c), minFreeMb: () => 0, spawn: f.spawn, freeSpaceMb: async () => 1e6,
      acquireTranscode: () => (slots > 0 ? (slots--, true) : false), releaseTranscode: () => { slots++; },
    });
    sup.start();
    await until(() => f.runs.length === 1);
    f.runs[0]!.emit('  Stream #0:0: Video: mjpeg (Baseline), yuvj422p(pc), 1280x720, 25 fps');
    await until(() => f.runs.length === 2);
    expect(f.runs[1]!.args).toContain('libx264');
    expect(sup.info()).toMatchObject({ mode: 'transcode', codec: 'h264', transcodeReason: 'camera sends mjpeg' });
    expect(slots).toBe(0);
    await sup.stop('test');
    expect(slots).toBe(1);
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
