import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFmp4Reader, type Fmp4Event } from '../../gateway/lowlat/fmp4.ts';
import { codecOfString, initSps, ParameterWatch, sampleSps } from '../../gateway/lowlat/params.ts';

// In-band parameter sets against the init segment's, on what ffmpeg writes: a camera that changes its
// resolution on the same RTSP session shows up as a keyframe whose SPS the init does not describe.

const run = promisify(execFile);
/** 2 s of testsrc2 as the session's low-latency output, with SPS/PPS repeated in band before every IDR (as cameras send). */
const encode = async (size: string, codec: string[]) => (await run('ffmpeg', [
  '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-t', '2', ...codec, '-g', '25', '-bf', '0',
  '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '100000', 'pipe:1',
], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 })).stdout as Buffer;

interface Stream { init: Buffer; codec: string; keyframes: Buffer[] }
function read(bytes: Buffer): Stream {
  const events: Fmp4Event[] = createFmp4Reader().push(bytes);
  const init = events.find((e): e is Extract<Fmp4Event, { type: 'init' }> => e.type === 'init')!;
  const keyframes = events.filter((e): e is Extract<Fmp4Event, { type: 'fragment' }> => e.type === 'fragment' && e.fragment.keyframe).map((e) => e.fragment.parts[1]!);
  return { init: init.segment, codec: init.info.codec, keyframes };
}

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-x264-params', 'repeat-headers=1'];
const X265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:repeat-headers=1', '-tag:v', 'hvc1'];
let small: Stream;
let large: Stream;
let hevcSmall: Stream;
let hevcLarge: Stream;

beforeAll(async () => {
  [small, large, hevcSmall, hevcLarge] = (await Promise.all([
    encode('320x180', X264), encode('640x360', X264), encode('320x180', X265), encode('640x360', X265),
  ])).map(read) as [Stream, Stream, Stream, Stream];
}, 60_000);

describe('in-band parameter sets (a camera reconfigured on the same session)', () => {
  it('reads the SPS of the init record and of the samples: the same stream agrees with itself', () => {
    expect(codecOfString(small.codec)).toBe('h264');
    expect(codecOfString(hevcSmall.codec)).toBe('hevc');
    expect(codecOfString('mp4v.20.9')).toBeNull();
    for (const s of [small, hevcSmall]) {
      const c = codecOfString(s.codec)!;
      const fromInit = initSps(s.init, c);
      expect(fromInit).toHaveLength(1);
      expect(s.keyframes.length).toBeGreaterThanOrEqual(2);
      for (const k of s.keyframes) expect(sampleSps(k, c).map((b) => b.toString('hex'))).toEqual([fromInit[0]!.toString('hex')]);
    }
  });

  it('says "restart" once for a keyframe carrying another stream\'s SPS, and never for its own', () => {
    for (const [a, b] of [[small, large], [hevcSmall, hevcLarge]] as const) {
      const w = new ParameterWatch();
      w.init(a.init, a.codec);
      for (const k of a.keyframes) expect(w.keyframe(k)).toBeNull();
      expect(w.keyframe(b.keyframes[0]!)).toMatch(/changed its stream settings/);
      // The same new SPS again (the restart is under way, or the camera's SDP is stale for good): once is enough.
      expect(w.keyframe(b.keyframes[1]!)).toBeNull();
      w.init(a.init, a.codec);
      expect(w.keyframe(b.keyframes[0]!)).toBeNull();
      // After the restart the init describes the new stream.
      w.init(b.init, b.codec);
      for (const k of b.keyframes) expect(w.keyframe(k)).toBeNull();
    }
  });

  it('ignores garbage and streams it cannot read', () => {
    const w = new ParameterWatch();
    w.init(Buffer.from('not an init segment'), 'avc1.42e01e');
    expect(w.keyframe(Buffer.alloc(64, 0xff))).toBeNull();
    expect(sampleSps(Buffer.from([0, 0, 0, 8, 0x6d, 0x64, 0x61, 0x74, 0xff, 0xff, 0xff, 0xff]), 'h264')).toEqual([]);
  });
});
