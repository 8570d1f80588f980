import { describe, expect, it } from 'vitest';
import { demoCameraSpecs } from '../../bin/demo.ts';
import { govLength, profiles as readProfiles } from '../../gateway/onvif/onvif-answers.ts';
import { createSimCamera } from '../../gateway/simulator/camera.ts';
import { reconfiguredSpec, resolveEncoding, SimSpecError, streamConfig } from '../../gateway/simulator/encoding.ts';
import { mediaOperations, streamProfiles, videoEncoderXml } from '../../gateway/simulator/onvif-device.ts';
import { defaultSpec } from '../../gateway/simulator/simulator.ts';
import { encoderArgs, syntheticArgs } from '../../gateway/simulator/source.ts';
import { envelope } from '../../gateway/simulator/soap.ts';
import type { SimCameraSpec } from '../../gateway/simulator/types.ts';

/** What a simulated camera sends and reports: codec, GOP, the encoder command, the ONVIF encoder configuration. */

const spec = (over: Partial<SimCameraSpec> = {}) => defaultSpec(0, over, { host: '127.0.0.1' });

function specError(fn: () => unknown): SimSpecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SimSpecError);
    return e as SimSpecError;
  }
  throw new Error('no SimSpecError');
}

describe('camera encoding', () => {
  it('defaults to H.264 with a 1 s GOP; factoryDefault is H.265 with a 4 s GOP', () => {
    expect(resolveEncoding(spec())).toEqual({ codec: 'h264', gopSeconds: 1 });
    expect(resolveEncoding(spec({ codec: 'h265', gopSeconds: 2.5 }))).toEqual({ codec: 'h265', gopSeconds: 2.5 });
    expect(resolveEncoding(spec({ factoryDefault: true }))).toEqual({ codec: 'h265', gopSeconds: 4 });
    expect(resolveEncoding(spec({ factoryDefault: true, codec: 'h265', gopSeconds: 4 }))).toEqual({ codec: 'h265', gopSeconds: 4 });
    expect(resolveEncoding(spec({ factoryDefault: false, gopSeconds: 10 }))).toEqual({ codec: 'h264', gopSeconds: 10 });
  });

  it('refuses a GOP outside 1–10 s, an unknown codec, a bad fps, naming the field and the camera', () => {
    for (const gopSeconds of [0, 0.5, 11, Number.NaN, '2' as unknown as number]) {
      const e = specError(() => resolveEncoding(spec({ gopSeconds })));
      expect(e).toMatchObject({ code: 'sim.invalid_spec', field: 'gopSeconds' });
      expect(e.message).toMatch(/^camera cam-001: gopSeconds must be a number of seconds from 1 to 10/);
    }
    expect(specError(() => resolveEncoding(spec({ codec: 'mjpeg' as 'h264' })))).toMatchObject({ field: 'codec', message: expect.stringContaining('"h264" or "h265"') });
    expect(specError(() => resolveEncoding(spec({ fps: 0 })))).toMatchObject({ code: 'sim.invalid_spec', field: 'fps' });
    expect(specError(() => resolveEncoding(spec({ fps: 120 })))).toMatchObject({ field: 'fps' });
  });

  it('refuses factoryDefault with a codec or GOP that is not the preset', () => {
    expect(specError(() => resolveEncoding(spec({ factoryDefault: true, codec: 'h264' })))).toMatchObject({ code: 'sim.conflicting_spec', field: 'codec' });
    expect(specError(() => resolveEncoding(spec({ factoryDefault: true, gopSeconds: 2 })))).toMatchObject({ code: 'sim.conflicting_spec', field: 'gopSeconds' });
  });

  it('gives the main stream the camera codec, the sub stream H.264 at the sub size, both the same GOP in seconds', () => {
    const s = spec({ width: 1920, height: 1080, fps: 25, factoryDefault: true });
    expect(streamConfig(s, 'main')).toEqual({ codec: 'h265', width: 1920, height: 1080, fps: 25, gopSeconds: 4, gopFrames: 100 });
    expect(streamConfig(s, 'sub')).toEqual({ codec: 'h264', width: 640, height: 360, fps: 15, gopSeconds: 4, gopFrames: 60 });
    expect(streamConfig(spec({ fps: 12.5, gopSeconds: 2 }), 'main')).toMatchObject({ fps: 13, gopFrames: 26 });
  });
});

describe('reconfiguration from the web page', () => {
  it('changes size, rate and GOP and keeps the rest of the spec; the sub stream follows the main size', () => {
    const next = reconfiguredSpec(spec({ name: '东门' }), { width: 1280, height: 720, fps: 25, gopSeconds: 2 });
    expect(next).toEqual({ ...spec({ name: '东门' }), width: 1280, height: 720, fps: 25, gopSeconds: 2 });
    expect(streamConfig(next, 'sub')).toEqual({ codec: 'h264', width: 640, height: 360, fps: 15, gopSeconds: 2, gopFrames: 30 });
  });

  it('leaves the factory preset when a codec or GOP is chosen, keeping the preset\'s other value; a size change alone keeps it', () => {
    const dome = spec({ factoryDefault: true });
    expect(reconfiguredSpec(dome, { codec: 'h264' })).toMatchObject({ factoryDefault: false, codec: 'h264', gopSeconds: 4 });
    expect(reconfiguredSpec(dome, { gopSeconds: 1 })).toMatchObject({ factoryDefault: false, codec: 'h265', gopSeconds: 1 });
    expect(reconfiguredSpec(dome, { width: 1920, height: 1080 })).toEqual({ ...dome, width: 1920, height: 1080 });
    expect(reconfiguredSpec(dome, { codec: undefined })).toEqual(dome);
  });

  it('refuses what the camera cannot take, naming the field: odd or out-of-range sizes, bad GOP or fps, other fields, a looped file', () => {
    const s = spec();
    expect(specError(() => reconfiguredSpec(s, { width: 641 }))).toMatchObject({ code: 'sim.invalid_spec', field: 'width' });
    expect(specError(() => reconfiguredSpec(s, { height: 32 }))).toMatchObject({ field: 'height' });
    expect(specError(() => reconfiguredSpec(s, { width: 5000 }))).toMatchObject({ field: 'width' });
    expect(specError(() => reconfiguredSpec(s, { gopSeconds: 11 }))).toMatchObject({ field: 'gopSeconds' });
    expect(specError(() => reconfiguredSpec(s, { fps: 0 }))).toMatchObject({ field: 'fps' });
    expect(specError(() => reconfiguredSpec(s, { codec: 'mjpeg' as 'h264' }))).toMatchObject({ field: 'codec' });
    expect(specError(() => reconfiguredSpec(s, { password: 'x' } as object))).toMatchObject({ field: 'password', message: expect.stringContaining('cannot be reconfigured') });
    expect(specError(() => reconfiguredSpec(spec({ sourceFile: '/tmp/loop.h264' }), { fps: 5 }))).toMatchObject({ field: 'sourceFile' });
  });
});

describe('encoder command', () => {
  it('encodes H.265 live: libx265 ultrafast/zerolatency, keyint = fps × GOP, no B-frames, closed GOP, headers repeated, one thread when small', () => {
    expect(encoderArgs({ codec: 'h265', gop: 60, width: 640, height: 360 })).toEqual([
      '-c:v', 'libx265', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
      '-g', '60', '-keyint_min', '60', '-bf', '0',
      '-x265-params', 'keyint=60:min-keyint=60:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:info=0:pools=1:frame-threads=1:log-level=error',
      '-an', '-f', 'hevc', 'pipe:1',
    ]);
    expect(encoderArgs({ codec: 'h265', gop: 100, width: 1920, height: 1080 })).toContain(
      'keyint=100:min-keyint=100:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:info=0:pools=2:frame-threads=1:log-level=error');
  });

  it('keeps H.264 as it was, with the GOP it is given', () => {
    expect(encoderArgs({ codec: 'h264', gop: 30, width: 640, height: 360 })).toEqual([
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
      '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-bf', '0', '-x264-params', 'repeat-headers=1', '-threads', '1',
      '-an', '-f', 'h264', 'pipe:1',
    ]);
  });

  it('burns in the same overlays whatever the codec', () => {
    const o = { width: 640, height: 360, fps: 15, nameFile: '/t/name.txt', ptzFile: '/t/ptz.txt', clockOffsetSec: 10, font: 'font=Sans' };
    const h264 = syntheticArgs(o);
    const h265 = syntheticArgs({ ...o, codec: 'h265', gop: 60 });
    const vf = (a: string[]) => a[a.indexOf('-vf') + 1];
    expect(vf(h265)).toBe(vf(h264));
    expect(h265.slice(0, h265.indexOf('-c:v'))).toEqual(h264.slice(0, h264.indexOf('-c:v')));
    expect(h265.slice(h265.indexOf('-c:v'))).toEqual(encoderArgs({ codec: 'h265', gop: 60, width: 640, height: 360 }));
    expect(h264[h264.indexOf('-g') + 1]).toBe('15');
  });
});

describe('ONVIF encoder configuration', () => {
  const camera = createSimCamera(spec({ id: 'dome-1', width: 1280, height: 720, fps: 25, factoryDefault: true, ptz: false }));
  const ctx = { camera, params: {}, base: 'http://127.0.0.1:80', now: Date.now() };

  it('reports Encoding H265 with an H265 element (GovLength, Main) for the main stream and H264 for the sub', () => {
    const [main, sub] = streamProfiles(camera);
    expect(videoEncoderXml(main!)).toContain('<tt:Encoding>H265</tt:Encoding><tt:Resolution><tt:Width>1280</tt:Width><tt:Height>720</tt:Height></tt:Resolution>');
    expect(videoEncoderXml(main!)).toContain('<tt:FrameRateLimit>25</tt:FrameRateLimit>');
    expect(videoEncoderXml(main!)).toContain('<tt:H265><tt:GovLength>100</tt:GovLength><tt:H265Profile>Main</tt:H265Profile></tt:H265>');
    expect(videoEncoderXml(main!)).not.toContain('<tt:H264>');
    expect(videoEncoderXml(sub!)).toContain('<tt:Encoding>H264</tt:Encoding>');
    expect(videoEncoderXml(sub!)).toContain('<tt:H264><tt:GovLength>60</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>');
  });

  it('is what the gateway reads from GetProfiles: encoding, size, fps and GOP per profile', async () => {
    const xml = envelope(await mediaOperations.GetProfiles!(ctx) as string);
    expect(readProfiles(xml)).toEqual([
      { token: 'Profile_101', name: 'mainStream', encoding: 'H265', width: 1280, height: 720, fps: 25, gop: 100, ptz: false },
      { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 640, height: 360, fps: 15, gop: 60, ptz: false },
    ]);
  });

  it('answers GetVideoEncoderConfigurations and GetVideoEncoderConfiguration, and a fault for an unknown token', async () => {
    const all = await mediaOperations.GetVideoEncoderConfigurations!(ctx) as string;
    expect(all.match(/<trt:Configurations token="VideoEncoder_Profile_10[12]">/g)).toHaveLength(2);
    const one = await mediaOperations.GetVideoEncoderConfiguration!({ ...ctx, params: { ConfigurationToken: 'VideoEncoder_Profile_101' } }) as string;
    expect(one).toMatch(/^<trt:GetVideoEncoderConfigurationResponse><trt:Configuration token="VideoEncoder_Profile_101">.*<tt:Encoding>H265<\/tt:Encoding>/);
    const none = await mediaOperations.GetVideoEncoderConfiguration!({ ...ctx, params: { ConfigurationToken: 'nope' } });
    expect(none).toMatchObject({ subcodes: ['ter:InvalidArgVal', 'ter:NoConfig'] });
  });

  it('reads GovLength from the H264, H265 or MPEG4 element, and nothing from a missing or nonsense one', () => {
    expect(govLength({ H264: { GovLength: '50' } })).toBe(50);
    expect(govLength({ H265: { GovLength: '100' } })).toBe(100);
    expect(govLength({ MPEG4: { GovLength: '12' } })).toBe(12);
    for (const enc of [{}, { H264: { GovLength: '0' } }, { H264: { GovLength: '2.5' } }, { H265: { GovLength: 'x' } }, { H264: {} }]) expect(govLength(enc)).toBeUndefined();
  });
});

describe('demo cameras', () => {
  it('mixes encodings like a real network: a factory-default dome, H.265 main streams, an H.264 2 s GOP, the rest defaults', () => {
    const live = Array.from({ length: 6 }, (_, i) => ({ name: `n${i}`, code: `c${i}`, cameraType: i < 2 ? 'ptz' as const : 'fixed' as const }));
    const specs = demoCameraSpecs(live);
    expect(specs.map((s) => [s.factoryDefault ?? false, s.codec ?? 'h264', s.gopSeconds ?? (s.factoryDefault ? 4 : 1)])).toEqual([
      [true, 'h264', 4], [false, 'h265', 1], [false, 'h265', 2], [false, 'h264', 2], [false, 'h264', 1], [false, 'h264', 1],
    ]);
    expect(specs[0]).toEqual({ id: 'cam-001', name: 'n0', code: 'c0', ptz: true, width: 640, height: 360, fps: 15, factoryDefault: true });
    expect(specs.map((s, i) => resolveEncoding(defaultSpec(i, s, { host: '127.0.0.1' })).codec)).toEqual(['h265', 'h265', 'h265', 'h264', 'h264', 'h264']);
  });
});
