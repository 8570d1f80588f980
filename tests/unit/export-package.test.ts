import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../core/signing.ts';
import { keyframeInpoint, prepareCut } from '../../workers/export/ffmpeg.ts';
import { buildInThread, type BuildInput } from '../../workers/export/package.ts';
import { verifyPackage } from '../../workers/export/verify.ts';

// One pass from ffmpeg's stdout into the ZIP: the MP4 written once, hashed on the way, CRCs
// (native, swapped into yazl's CRC module) checked by an independent reader (Python's zipfile),
// and the package verified as `skynet verify` does.
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'skynet-export-package-'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
const segments = [join(dir, 'a.ts'), join(dir, 'b.ts')];

const input = (over: Partial<BuildInput>): BuildInput => ({
  out: join(dir, 'package.zip'), videos: [], files: [],
  signingKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  manifest: {
    format: 'skynet.evidence-export/1', exportId: 'e1', caseNumber: 'C-1', reason: 'unit test',
    requestedBy: { userId: 'u1', name: 'tester' }, requestedAt: '2026-12-03T00:00:00.000Z', builtAt: '2026-12-03T00:00:01.000Z',
    signer: { algorithm: 'Ed25519', publicKeyPem, fingerprint: fingerprintOf(publicKey) }, cameras: [], snapshots: [],
  },
  ...over,
});

beforeAll(() => {
  // Two 2 s segments cut from one run, so their timestamps continue as a recorder's do.
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-f', 'segment', '-segment_time', '2', '-segment_format', 'mpegts', '-y', join(dir, 'seg%d.ts')]);
  execFileSync('mv', [join(dir, 'seg0.ts'), segments[0]!]);
  execFileSync('mv', [join(dir, 'seg1.ts'), segments[1]!]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the cut starts at the keyframe at or before the requested start', () => {
  it('goes back to the keyframe, or to the file start when that is its first keyframe', () => {
    const k = (...pts: number[]) => pts.map((p) => ({ pts: p, dts: p }));
    expect(keyframeInpoint(1.9, k(1.4, 2.4, 3.4))).toBeNull();
    expect(keyframeInpoint(2.9, k(1.4, 2.4, 3.4))).toBe(2.4);
    expect(keyframeInpoint(2.4, k(1.4, 2.4, 3.4))).toBe(2.4);
    expect(keyframeInpoint(2.3995, k(1.4, 2.4, 3.4))).toBe(2.4);
    expect(keyframeInpoint(1.0, k(1.4, 2.4))).toBeNull();
    expect(keyframeInpoint(5, [])).toBeNull();
    // B-frames (an H.265 camera): the keyframe is chosen by what is shown, cut at its decoding time.
    expect(keyframeInpoint(6.48, [{ pts: 1.48, dts: 1.4 }, { pts: 5.48, dts: 5.28 }, { pts: 9.48, dts: 9.28 }])).toBe(5.28);
  });
});

describe('packing an evidence package in one pass', () => {
  it('streams the cut into the ZIP with correct CRCs and hashes, and the package verifies', async () => {
    const jpeg = join(dir, 'snap.jpg');
    writeFileSync(jpeg, randomBytes(300_000));
    const cut = await prepareCut([{ path: segments[0]!, inpoint: 0.5, outpoint: null }, { path: segments[1]!, inpoint: null, outpoint: 1.5 }], join(dir, 'list.txt'));
    expect(cut.codec).toBe('h264');
    // From 1.5 s into the first file: its keyframe at 1 s.
    const later = await prepareCut([{ path: segments[0]!, inpoint: 1.5, outpoint: null }, { path: segments[1]!, inpoint: null, outpoint: 1.5 }], join(dir, 'list2.txt'));
    const built = await buildInThread(input({
      videos: [{ name: 'video/cam.mp4', args: cut.args }, { name: 'video/later.mp4', args: later.args }], files: [{ name: 'snapshots/s.jpg', abs: jpeg }],
    }), {});

    expect(built.manifest.files.map((f) => f.path)).toEqual(['video/cam.mp4', 'video/later.mp4', 'snapshots/s.jpg']);
    expect(built.manifest.files[2]!.bytes).toBe(300_000);
    const check = await run('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip()); print(",".join(sorted(z.namelist())))', join(dir, 'package.zip')]);
    expect(check.stdout.trim().split('\n')).toEqual(['None', 'manifest.json,manifest.sig,snapshots/s.jpg,video/cam.mp4,video/later.mp4']);

    const verdict = await verifyPackage(join(dir, 'package.zip'), { publicKeyPem });
    expect(verdict.ok).toBe(true);
    expect(verdict.files.filter((f) => !f.ok)).toEqual([]);

    // The MP4 plays 3.5 s: all of the first file (its keyframe before the 0.5 s inpoint is its
    // first frame), and 0 → 1.5 s of the second.
    const probe = async (name: string) => {
      const mp4 = join(dir, name);
      execFileSync('sh', ['-c', `unzip -p '${join(dir, 'package.zip')}' 'video/${name}' > '${mp4}'`]);
      const probed = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', mp4]);
      const info = JSON.parse(probed.stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
      return { codec: info.streams[0]!.codec_name, duration: Number(info.format.duration) };
    };
    expect(await probe('cam.mp4')).toEqual({ codec: 'h264', duration: expect.closeTo(3.52, 1) });
    expect(await probe('later.mp4')).toEqual({ codec: 'h264', duration: expect.closeTo(2.52, 1) });
  });

  it('fails the package, naming ffmpeg, when a segment is not video', async () => {
    const junk = join(dir, 'junk.ts');
    writeFileSync(junk, randomBytes(50_000));
    const cut = await prepareCut([{ path: junk, inpoint: null, outpoint: null }], join(dir, 'junk.txt'));
    await expect(buildInThread(input({ out: join(dir, 'junk.zip'), videos: [{ name: 'video/junk.mp4', args: cut.args }] }), {}))
      .rejects.toThrow(/ffmpeg exited/);
  });
});
