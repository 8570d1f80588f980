import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeOnvifSessions, probeDevice } from '../../gateway/onvif/onvif-client.ts';
import { readCaptureTimes, type CaptureCodec } from '../../gateway/simulator/capture-sei.ts';
import { SimSpecError } from '../../gateway/simulator/encoding.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { encodeTestFile, ffmpegMarker, streamSize } from '../../gateway/simulator/source.ts';
import type { SimCamera } from '../../gateway/simulator/types.ts';
import { gstPlay, gstPlayedCleanly, run, withCreds } from '../helpers/process.ts';

/**
 * Cameras as they are: a factory-default dome (H.265 main stream, 4 s GOP, H.264 sub stream) at
 * 640x360, 10 fps, checked with real clients — ffprobe (codec, size, keyframe interval over ~9 s),
 * GStreamer (rtph265depay → avdec_h265 decodes frames), a raw DESCRIBE (RFC 7798 SDP) — and with the
 * gateway's ONVIF probe (both profiles with encoding, size, fps and GOP). A second camera loops an
 * H.265 file. Encoders run only while a client pulls. Every access unit carries its capture time in
 * an SEI, and `ffmpeg -c copy` into fragmented MP4 (the gateway's low-latency output) keeps it.
 */

const require = createRequire(import.meta.url);
const { Cam } = require('onvif') as typeof import('onvif');

let sim: Simulator;
let dome: SimCamera;
let looped: SimCamera;
let work: string;


async function probeStream(cam: SimCamera, profile: 'main' | 'sub'): Promise<Record<string, unknown>> {
  const r = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', withCreds(cam, profile)]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).streams[0];
}

/** One DESCRIBE on a fresh connection (Basic auth): the SDP body. */
function describeSdp(cam: SimCamera, profile: 'main' | 'sub'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(cam.rtspPort, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no DESCRIBE answer')); }, 10_000);
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      clearTimeout(timer);
      socket.destroy();
      if (!head.startsWith('RTSP/1.0 200')) reject(new Error(head.split('\r\n')[0]));
      else resolve(buf.subarray(end + 4, end + 4 + len).toString());
    });
    const auth = Buffer.from(`${cam.spec.username}:${cam.spec.password}`).toString('base64');
    socket.write(`DESCRIBE ${cam.rtspUri(profile)} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\nAuthorization: Basic ${auth}\r\n\r\n`);
  });
}

interface Receipt { receivedAt: number; capturedAt: number }

/**
 * What the gateway's low-latency output does to a stream: `ffmpeg -c copy` from RTSP into fragmented
 * MP4 on stdout, with the gateway's input options (no probing past the first packet). Each mdat (ffmpeg writes 4-byte NAL lengths) is read for capture times as it arrives.
 */
async function captureTimesThroughFmp4(cam: SimCamera, profile: 'main' | 'sub', codec: CaptureCodec, seconds: number): Promise<{ spawnedAt: number; receipts: Receipt[] }> {
  const spawnedAt = Date.now();
  const child = spawn('ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-fflags', '+genpts+discardcorrupt', '-probesize', '32',
    '-i', withCreds(cam, profile), '-t', String(seconds),
    '-map', '0:v:0', '-c:v', 'copy', ...(codec === 'h264' ? [] : ['-tag:v', 'hvc1']),
    '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '100000', '-flush_packets', '1', 'pipe:1',
  ], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const receipts: Receipt[] = [];
  let stderr = '';
  let buf = Buffer.alloc(0);
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  child.stdout.on('data', (d: Buffer) => {
    const receivedAt = Date.now();
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 8 && buf.length >= buf.readUInt32BE(0)) {
      const size = buf.readUInt32BE(0);
      if (size < 8) throw new Error(`box of size ${size}`);
      if (buf.toString('latin1', 4, 8) === 'mdat') {
        for (const capturedAt of readCaptureTimes(buf.subarray(8, size), codec)) receipts.push({ receivedAt, capturedAt });
      }
      buf = buf.subarray(size);
    }
  });
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, (seconds + 15) * 1000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  expect(code, stderr).toBe(0);
  return { spawnedAt, receipts };
}

function ffmpegLeft(): string[] {
  const r = spawnSync('pgrep', ['-af', ffmpegMarker()], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sim-hevc-test-'));
  const file = join(work, 'loop.hevc');
  await encodeTestFile(file, { width: 320, height: 180, fps: 10, seconds: 2, codec: 'h265' });
  sim = await startSimulator({
    cameras: [
      { width: 640, height: 360, fps: 10, ptz: true, factoryDefault: true, name: '县政府广场高点球机' },
      { width: 320, height: 180, fps: 10, ptz: false, codec: 'h265', sourceFile: file },
    ],
    idleStopMs: 2000,
  });
  dome = sim.cameras[0]!;
  looped = sim.cameras[1]!;
});

afterAll(async () => {
  closeOnvifSessions();
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('an H.265 factory-default camera', () => {
  it('serves H.265 at the camera size to ffprobe over RTSP/TCP', async () => {
    expect(await probeStream(dome, 'main')).toMatchObject({ codec_name: 'hevc', profile: 'Main', width: 640, height: 360, pix_fmt: 'yuv420p' });
  }, 30_000);

  it('sends a keyframe every 4 s (40 frames at 10 fps), seen over ~9 s of packets', async () => {
    const r = await run('ffprobe', [
      '-v', 'error', '-rtsp_transport', 'tcp', '-read_intervals', '%+9', '-select_streams', 'v:0',
      '-show_entries', 'packet=pts_time,flags', '-of', 'json', withCreds(dome),
    ], 30_000);
    expect(r.code, r.stderr).toBe(0);
    const packets = (JSON.parse(r.stdout).packets as { pts_time?: string; flags: string }[]);
    const keys = packets.map((p, i) => ({ i, pts: p.pts_time === undefined ? null : Number(p.pts_time), key: p.flags.startsWith('K') })).filter((p) => p.key);
    expect(keys.length, JSON.stringify(keys)).toBeGreaterThanOrEqual(2);
    const frameGaps = keys.slice(1).map((k, n) => k.i - keys[n]!.i);
    expect(frameGaps.every((g) => g === 40), `frames between keyframes: ${frameGaps.join(', ')}`).toBe(true);
    const timed = keys.filter((k) => k.pts !== null);
    const secondGaps = timed.slice(1).map((k, n) => k.pts! - timed[n]!.pts!);
    expect(secondGaps.length).toBeGreaterThanOrEqual(1);
    for (const g of secondGaps) expect(g).toBeCloseTo(4, 1);
  }, 40_000);

  it('plays in GStreamer: rtph265depay, h265parse and avdec_h265 decode frames', async () => {
    const p = await gstPlay(dome.rtspUri('main'), dome.spec.username, dome.spec.password,
      ['rtph265depay', '!', 'h265parse', '!', 'avdec_h265', '!', 'fakesink', 'num-buffers=30'], 30_000);
    expect(gstPlayedCleanly(p)).toBeNull();
  }, 40_000);

  it('describes the main stream per RFC 7798 (H265/90000, sprop-vps/sps/pps) and the sub stream as H.264', async () => {
    const main = await describeSdp(dome, 'main');
    expect(main).toContain('a=rtpmap:96 H265/90000\r\n');
    expect(main).toMatch(/\r\na=fmtp:96 sprop-vps=[A-Za-z0-9+/]+=*;sprop-sps=[A-Za-z0-9+/]+=*;sprop-pps=[A-Za-z0-9+/]+=*\r\n/);
    const vps = Buffer.from(/sprop-vps=([^;]+)/.exec(main)![1]!, 'base64');
    expect((vps[0]! >> 1) & 0x3f).toBe(32);
    expect(main).toContain('a=framerate:10');
    const sub = await describeSdp(dome, 'sub');
    expect(sub).toContain('a=rtpmap:96 H264/90000\r\n');
    expect(sub).toMatch(/a=fmtp:96 packetization-mode=1;profile-level-id=[0-9A-F]{6};sprop-parameter-sets=/);
  }, 30_000);

  it('sends its sub stream as H.264 at the sub size', async () => {
    const size = streamSize(dome.spec, 'sub');
    expect(size).toEqual({ width: 320, height: 180, fps: 10 });
    expect(await probeStream(dome, 'sub')).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
  }, 30_000);

  it('reports both profiles to the gateway\'s ONVIF probe with encoding, size, fps and GOP', async () => {
    const r = await probeDevice({ host: '127.0.0.1', port: dome.onvifPort, username: dome.spec.username, password: dome.spec.password, timeoutMs: 5000 });
    expect(r.profiles).toEqual([
      { token: 'Profile_101', name: 'mainStream', encoding: 'H265', width: 640, height: 360, fps: 10, gop: 40, rtspUri: dome.rtspUri('main'), snapshotUri: dome.snapshotUri() },
      { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 320, height: 180, fps: 10, gop: 40, rtspUri: dome.rtspUri('sub') },
    ]);
    expect(r.rtspMain).toBe(dome.rtspUri('main'));
    expect(r.rtspSub).toBe(dome.rtspUri('sub'));
  }, 20_000);

  it('reads as H265 with its GovLength in the onvif package NVRs use (GetProfiles, GetVideoEncoderConfigurations)', async () => {
    const cam = await new Promise<InstanceType<typeof Cam>>((resolve, reject) => {
      const c = new Cam({ hostname: '127.0.0.1', port: dome.onvifPort, username: dome.spec.username, password: dome.spec.password, timeout: 3000 },
        (err) => (err ? reject(err) : resolve(c)));
    });
    const configs = await new Promise<unknown>((resolve, reject) =>
      (cam as unknown as { getVideoEncoderConfigurations(cb: (e: unknown, d: unknown) => void): void })
        .getVideoEncoderConfigurations((err, data) => (err ? reject(err) : resolve(data))));
    expect(configs).toEqual([
      expect.objectContaining({ encoding: 'H265', resolution: { width: 640, height: 360 }, H265: { govLength: 40, H265Profile: 'Main' } }),
      expect.objectContaining({ encoding: 'H264', resolution: { width: 320, height: 180 }, H264: { govLength: 40, H264Profile: 'Baseline' } }),
    ]);
    expect(cam.profiles).toHaveLength(2);
  }, 20_000);

  it('takes a JPEG snapshot of the H.265 stream', async () => {
    const jpeg = await dome.snapshot();
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  }, 20_000);
});

describe('an H.265 file source', () => {
  it('loops the file as H.265 on the main stream, and encodes its sub stream live as H.264', async () => {
    expect(sim.media(looped.spec.id)!.main.kind).toBe('file');
    expect(sim.media(looped.spec.id)!.sub.kind).toBe('synthetic');
    expect(await probeStream(looped, 'main')).toMatchObject({ codec_name: 'hevc', width: 320, height: 180 });
    expect(await probeStream(looped, 'sub')).toMatchObject({ codec_name: 'h264', width: 160, height: 90 });
  }, 30_000);
});

describe('capture times in the stream', () => {
  const cases = [
    { what: 'the live H.265 main stream (4 s GOP)', cam: () => dome, profile: 'main', codec: 'hevc', gopMs: 4000 },
    { what: 'the live H.264 sub stream', cam: () => dome, profile: 'sub', codec: 'h264', gopMs: 4000 },
    { what: 'an H.265 file looped in real time', cam: () => looped, profile: 'main', codec: 'hevc', gopMs: 1000 },
  ] as const;
  for (const c of cases) {
    it(`survive ffmpeg -c copy into fragmented MP4: ${c.what}`, async () => {
      const { spawnedAt, receipts } = await captureTimesThroughFmp4(c.cam(), c.profile, c.codec, 3);
      // 3 s at 10 fps, plus the GOP a new client gets at once: one time per frame.
      expect(receipts.length).toBeGreaterThanOrEqual(25);
      const times = receipts.map((r) => r.capturedAt);
      for (let i = 1; i < times.length; i++) expect(times[i], `frame ${i}: ${times.slice(0, i + 1).join(', ')}`).toBeGreaterThan(times[i - 1]!);
      for (const r of receipts) {
        const lag = r.receivedAt - r.capturedAt;
        expect(lag).toBeGreaterThanOrEqual(0);
        // A GOP sent on PLAY (when the encoder already ran) was captured before the client came; what is
        // captured since arrives within a second (~200 ms here: one 100 ms fragment and a frame).
        expect(lag, `captured ${r.capturedAt - spawnedAt} ms after ffmpeg started`).toBeLessThan(r.capturedAt < spawnedAt ? c.gopMs + 1000 : 1000);
      }
      expect(receipts.filter((r) => r.capturedAt >= spawnedAt).length).toBeGreaterThanOrEqual(20);
    }, 30_000);
  }
});

describe('simulator life cycle', () => {
  it('refuses a camera whose GOP is out of range before anything listens, naming the field', async () => {
    const err = await startSimulator({ cameras: [{ id: 'ok' }, { id: 'bad', gopSeconds: 12 }] }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SimSpecError);
    expect(err).toMatchObject({ code: 'sim.invalid_spec', field: 'gopSeconds', message: expect.stringContaining('camera bad') });
  });

  it('stops idle H.265 encoders and leaves no ffmpeg behind on close', async () => {
    const media = sim.cameras.map((c) => sim.media(c.spec.id)!);
    const end = Date.now() + 10_000;
    while (media.some((m) => m.main.isRunning || m.sub.isRunning) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(media.every((m) => !m.main.isRunning && !m.sub.isRunning)).toBe(true);
    await sim.close();
    expect(ffmpegLeft()).toEqual([]);
  }, 20_000);
});
