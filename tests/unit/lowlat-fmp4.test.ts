import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  avcCodecString, boxSize, createBoxSplitter, createFmp4Reader, Fmp4Error, hevcCodecString, parseFragment,
  type Fmp4Event, type Fragment, type InitInfo,
} from '../../gateway/lowlat/fmp4.ts';

// The low-latency path's fMP4 reader on what ffmpeg really writes (the session's flags, 3 s of
// testsrc2 with a keyframe every 2 s), cut into chunks of every size; the codec strings against
// ffprobe and the bytes of the records; hand-built boxes for the flag rules; garbage.

const run = promisify(execFile);
const MOVFLAGS = ['-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '100000', 'pipe:1'];
const encode = async (codec: string[]) => (await run('ffmpeg', [
  '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '3', ...codec, '-g', '50', '-bf', '0', ...MOVFLAGS,
], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 })).stdout as Buffer;

interface Probe { profile: string; level: number; width: number; height: number; timeBase: number; packets: { dts: number; key: boolean }[] }
async function probe(bytes: Buffer): Promise<Probe> {
  const child = execFile('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=profile,level,width,height,time_base:packet=dts,flags', '-of', 'json', '-i', 'pipe:0'], { maxBuffer: 16 * 1024 * 1024 });
  const out = new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`ffprobe exited ${code}`))));
  });
  child.stdin!.end(bytes);
  const j = JSON.parse(await out) as { streams: { profile: string; level: number; width: number; height: number; time_base: string }[]; packets: { dts: number; flags: string }[] };
  const s = j.streams[0]!;
  return { profile: s.profile, level: s.level, width: s.width, height: s.height, timeBase: Number(s.time_base.split('/')[1]), packets: j.packets.map((p) => ({ dts: p.dts, key: p.flags.includes('K') })) };
}

/** A small deterministic PRNG (mulberry32): the same chunk sizes on every run. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feed `bytes` in chunks of 1..maxChunk bytes (seeded), collecting every event. */
function feed(bytes: Buffer, maxChunk: number, seed = 1): Fmp4Event[] {
  const reader = createFmp4Reader();
  const random = prng(seed);
  const events: Fmp4Event[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(random() * maxChunk);
    events.push(...reader.push(bytes.subarray(at, at + n)));
    at += n;
  }
  return events;
}

const inits = (e: Fmp4Event[]) => e.filter((x): x is Extract<Fmp4Event, { type: 'init' }> => x.type === 'init');
const fragments = (e: Fmp4Event[]) => e.filter((x): x is Extract<Fmp4Event, { type: 'fragment' }> => x.type === 'fragment').map((x) => x.fragment);
const errorsOf = (e: Fmp4Event[]) => e.filter((x): x is Extract<Fmp4Event, { type: 'error' }> => x.type === 'error').map((x) => x.error.code);

/** The payload of the first box of `type` anywhere in `bytes` (a plain byte search: independent of the reader). */
function recordOf(bytes: Buffer, type: string): Buffer {
  const at = bytes.indexOf(type, 0, 'latin1');
  return bytes.subarray(at + 4, at - 4 + bytes.readUInt32BE(at - 4));
}

let h264: Buffer;
let hevc: Buffer;
let hev1: Buffer;
let probed: { h264: Probe; hevc: Probe };

beforeAll(async () => {
  [h264, hevc, hev1] = await Promise.all([
    encode(['-c:v', 'libx264', '-preset', 'veryfast']),
    encode(['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-tag:v', 'hvc1']),
    encode(['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error']),
  ]);
  probed = { h264: await probe(h264), hevc: await probe(hevc) };
}, 60_000);

describe.each([['H.264', () => h264, () => probed.h264], ['H.265', () => hevc, () => probed.hevc]] as const)('%s from ffmpeg', (_name, bytes, probeOf) => {
  const chunkings = [['1-byte to 16-byte chunks', 16], ['chunks up to 1 KiB', 1024], ['chunks up to 64 KiB (a pipe\'s)', 65536], ['the whole stream at once', Infinity]] as const;

  it.each(chunkings)('reads the same init and fragments from %s', (_what, max) => {
    const whole = feed(bytes(), Number.MAX_SAFE_INTEGER);
    const events = max === Infinity ? whole : feed(bytes(), max, 7);
    expect(errorsOf(events)).toEqual([]);
    expect(inits(events)).toHaveLength(1);
    expect(events[0]!.type).toBe('init');
    const strip = (f: Fragment) => ({ ...f, parts: f.parts.map((p) => p.toString('hex')) });
    expect(fragments(events).map(strip)).toEqual(fragments(whole).map(strip));
  });

  it('passes the bytes on as ffmpeg wrote them: init + fragments is the stream, less its closing mfra', () => {
    const events = feed(bytes(), 4096);
    const out = Buffer.concat([inits(events)[0]!.segment, ...fragments(events).flatMap((f) => f.parts)]);
    const mfra = bytes().lastIndexOf('mfra', undefined, 'latin1') - 4;
    expect(out.equals(bytes().subarray(0, mfra))).toBe(true);
  });

  it('cuts ~100 ms fragments (three 40 ms frames) that cover the 3 s, each decode time following the last', () => {
    const { info } = inits(feed(bytes(), 4096))[0]!;
    const frags = fragments(feed(bytes(), 4096));
    expect(info.timescale).toBe(probeOf().timeBase);
    const ms = frags.map((f) => (f.duration / info.timescale) * 1000);
    expect(frags.length).toBeGreaterThanOrEqual(20);
    expect(frags.length).toBeLessThanOrEqual(30);
    for (const d of ms) {
      expect(d).toBeGreaterThanOrEqual(40);
      expect(d).toBeLessThanOrEqual(200);
    }
    expect(frags.reduce((n, f) => n + f.samples, 0)).toBe(75);
    expect(frags.reduce((n, f) => n + f.duration, 0)).toBe(3 * info.timescale);
    frags.forEach((f, i) => { if (i > 0) expect(f.decodeTime).toBe(frags[i - 1]!.decodeTime + frags[i - 1]!.duration); });
  });

  it('flags exactly the fragments that start at a keyframe: one per 2 s GOP, as ffprobe sees them', () => {
    const { info } = inits(feed(bytes(), 4096))[0]!;
    const frags = fragments(feed(bytes(), 4096));
    const keyDts = probeOf().packets.filter((p) => p.key).map((p) => p.dts);
    expect(keyDts).toEqual([0, 2 * info.timescale]);
    expect(frags.filter((f) => f.keyframe).map((f) => f.decodeTime)).toEqual(keyDts);
    // frag_keyframe: each keyframe starts a fragment of its own.
    for (const f of frags) expect(f.keyframe).toBe(keyDts.includes(f.decodeTime));
  });

  it('gives the picture size of the sample entry', () => {
    const { info } = inits(feed(bytes(), 4096))[0]!;
    expect([info.width, info.height]).toEqual([320, 180]);
    expect([probeOf().width, probeOf().height]).toEqual([320, 180]);
  });
});

describe('codec strings', () => {
  it('avc1: profile, constraint flags and level as the avcC says, and as ffprobe names them', () => {
    const { info } = inits(feed(h264, 4096))[0]!;
    const avcC = recordOf(h264, 'avcC');
    expect(info.codec).toBe(`avc1.${avcC.subarray(1, 4).toString('hex')}`);
    const profiles: Record<string, number> = { Baseline: 66, 'Constrained Baseline': 66, Main: 77, High: 100 };
    expect(info.codec.slice(5, 7)).toBe(profiles[probed.h264.profile]!.toString(16));
    expect(parseInt(info.codec.slice(9, 11), 16)).toBe(probed.h264.level);
    expect(info.mime).toBe(`video/mp4; codecs="${info.codec}"`);
  });

  it('hvc1: well formed, Main profile and the level ffprobe reports', () => {
    const { info } = inits(feed(hevc, 4096))[0]!;
    expect(info.codec).toMatch(/^hvc1\.[ABC]?\d{1,2}\.[0-9A-F]{1,8}\.[LH]\d{1,3}(\.[0-9A-F]{2}){0,6}$/);
    expect(probed.hevc.profile).toBe('Main');
    expect(info.codec).toBe(`hvc1.1.6.L${probed.hevc.level}.90`);
    expect(info.mime).toBe(`video/mp4; codecs="${info.codec}"`);
  });

  it('hev1 when the sample entry is hev1 (ffmpeg\'s default tag for HEVC)', () => {
    const { info } = inits(feed(hev1, 4096))[0]!;
    expect(info.codec).toMatch(/^hev1\.1\.6\.L\d+\.90$/);
  });

  it('hvcC fields: profile space letter, tier, bit-reversed compatibility flags, constraint bytes with trailing zeros dropped', () => {
    const record = (b1: number, compat: number, constraints: number[], level: number) => {
      const b = Buffer.alloc(23);
      b[0] = 1;
      b[1] = b1;
      b.writeUInt32BE(compat, 2);
      constraints.forEach((c, i) => { b[6 + i] = c; });
      b[12] = level;
      return b;
    };
    expect(hevcCodecString('hvc1', record(0x01, 0x60000000, [0xb0, 0, 0, 0, 0, 0], 93))).toBe('hvc1.1.6.L93.B0');
    expect(hevcCodecString('hev1', record(0x02, 0x20000000, [0x90], 120))).toBe('hev1.2.4.L120.90');
    // Space 1 (A), high tier, profile 4: compat 0x08000000 reversed is 0x10.
    expect(hevcCodecString('hvc1', record(0x40 | 0x20 | 0x04, 0x08000000, [0xb0, 0x00, 0x01], 153))).toBe('hvc1.A4.10.H153.B0.00.01');
    expect(hevcCodecString('hvc1', record(0xc1, 0x60000000, [], 60))).toBe('hvc1.C1.6.L60');
    expect(() => hevcCodecString('hvc1', Buffer.from([1, 2, 3]))).toThrow(Fmp4Error);
  });

  it('avcC: avc3 entries keep their name; a malformed record is an error', () => {
    expect(avcCodecString('avc3', Buffer.from([1, 0x4d, 0x40, 0x1f, 0xff]))).toBe('avc3.4d401f');
    expect(() => avcCodecString('avc1', Buffer.from([0, 0x64, 0, 0x1f]))).toThrow(/avcC/);
  });
});

// Hand-built boxes for the rules of the sync flag.
const box = (type: string, ...payload: Buffer[]) => {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
};
const u32 = (...n: number[]) => Buffer.concat(n.map((x) => { const b = Buffer.alloc(4); b.writeUInt32BE(x >>> 0, 0); return b; }));
const NON_SYNC = 0x01010000;
const SYNC = 0x02000000;
function moof(o: { tfhdFlags?: number; defaultDuration?: number; defaultFlags?: number; trun: { flags: number; samples: number[][]; first?: number }; decodeTime?: bigint }) {
  const tfhdFlags = (o.tfhdFlags ?? 0) | 0x020000;
  const opt = (flag: number, value: number) => (tfhdFlags & flag ? u32(value) : Buffer.alloc(0));
  const tfhd = box('tfhd', u32(tfhdFlags, 1), opt(0x8, o.defaultDuration ?? 0), opt(0x10, 1000), opt(0x20, o.defaultFlags ?? 0));
  const tfdt = o.decodeTime === undefined ? Buffer.alloc(0) : (() => { const b = Buffer.alloc(12); b.writeUInt32BE(0x01000000, 0); b.writeBigUInt64BE(o.decodeTime!, 4); return box('tfdt', b); })();
  const { flags, samples, first } = o.trun;
  const trun = box('trun', u32(flags, samples.length), flags & 0x1 ? u32(0) : Buffer.alloc(0), flags & 0x4 ? u32(first ?? 0) : Buffer.alloc(0), ...samples.map((s) => u32(...s)));
  return box('moof', box('mfhd', u32(0, 1)), box('traf', tfhd, tfdt, trun));
}
const TRACK: Pick<InitInfo, 'trackId' | 'defaultSampleDuration' | 'defaultSampleFlags'> = { trackId: 1, defaultSampleDuration: 0, defaultSampleFlags: 0 };

describe('parseFragment', () => {
  it('trun first_sample_flags decide over tfhd default_sample_flags (ffmpeg\'s keyframe fragments)', () => {
    const m = moof({ tfhdFlags: 0x38, defaultDuration: 512, defaultFlags: NON_SYNC, trun: { flags: 0x205, first: SYNC, samples: [[100], [50], [50]] }, decodeTime: 5n * 2n ** 32n });
    expect(parseFragment(m, TRACK)).toEqual({ keyframe: true, decodeTime: 5 * 2 ** 32, duration: 1536, samples: 3 });
  });
  it('tfhd default_sample_flags decide when the trun has no flags (ffmpeg\'s other fragments)', () => {
    const m = moof({ tfhdFlags: 0x38, defaultDuration: 512, defaultFlags: NON_SYNC, trun: { flags: 0x201, samples: [[100], [50]] } });
    expect(parseFragment(m, TRACK)).toMatchObject({ keyframe: false, decodeTime: 0, duration: 1024 });
  });
  it('the first sample\'s own flags, with per-sample durations', () => {
    const m = moof({ defaultFlags: SYNC, trun: { flags: 0x500, samples: [[40, NON_SYNC], [40, SYNC]] } });
    expect(parseFragment(m, TRACK)).toMatchObject({ keyframe: false, duration: 80, samples: 2 });
    const k = moof({ tfhdFlags: 0x20, defaultFlags: NON_SYNC, trun: { flags: 0x500, samples: [[40, SYNC], [40, NON_SYNC]] } });
    expect(parseFragment(k, TRACK).keyframe).toBe(true);
  });
  it('trex defaults when neither tfhd nor trun says', () => {
    const m = moof({ trun: { flags: 0x200, samples: [[10], [10], [10]] } });
    expect(parseFragment(m, { trackId: 1, defaultSampleDuration: 3000, defaultSampleFlags: NON_SYNC })).toMatchObject({ keyframe: false, duration: 9000 });
    expect(parseFragment(m, { trackId: 1, defaultSampleDuration: 3000, defaultSampleFlags: 0 }).keyframe).toBe(true);
  });
  it('a trun that claims more samples than it holds, or no traf of the track, is a bad fragment', () => {
    const m = moof({ trun: { flags: 0x300, samples: [[40, 10]] } });
    m.writeUInt32BE(1000, m.indexOf('trun', 0, 'latin1') + 8); // sample_count
    expect(() => parseFragment(m, TRACK)).toThrow(expect.objectContaining({ code: 'fmp4.bad_fragment' }));
    expect(() => parseFragment(moof({ trun: { flags: 0, samples: [[]] } }), { ...TRACK, trackId: 2 })).toThrow(/no traf for track 2/);
  });
});

describe('box splitting', () => {
  it('sizes: 32-bit, 64-bit, and what is no box', () => {
    expect(boxSize(Buffer.concat([u32(16), Buffer.from('moof')]))).toBe(16);
    expect(boxSize(Buffer.concat([u32(1), Buffer.from('mdat'), u32(0, 100)]))).toBe(100);
    expect(boxSize(Buffer.concat([u32(1), Buffer.from('mdat')]))).toBe('more');
    expect(boxSize(Buffer.from([0, 0]))).toBe('more');
    expect((boxSize(Buffer.concat([u32(0), Buffer.from('mdat')])) as Fmp4Error).code).toBe('fmp4.bad_box');
    expect((boxSize(Buffer.concat([u32(4), Buffer.from('moof')])) as Fmp4Error).code).toBe('fmp4.bad_box');
    expect((boxSize(Buffer.concat([u32(16), Buffer.from([0xde, 0xad, 0xbe, 0xef])])) as Fmp4Error).code).toBe('fmp4.bad_box');
    expect((boxSize(Buffer.concat([u32(0x7fffffff), Buffer.from('mdat')]), 1024) as Fmp4Error).code).toBe('fmp4.box_too_large');
  });

  it('holds a partial box and nothing more; reset forgets it', () => {
    const s = createBoxSplitter();
    const b = box('free', Buffer.alloc(100));
    expect(s.push(b.subarray(0, 50))).toEqual([]);
    expect(s.buffered()).toBe(50);
    expect(s.push(Buffer.concat([b.subarray(50), b.subarray(0, 3)])).map((x) => 'bytes' in x && x.bytes.equals(b))).toEqual([true]);
    expect(s.buffered()).toBe(3);
    s.reset();
    expect(s.buffered()).toBe(0);
  });
});

describe('garbage', () => {
  it('random bytes: an error, never a throw, and nothing held past a few bytes', () => {
    const reader = createFmp4Reader();
    const random = prng(3);
    const junk = Buffer.from(Array.from({ length: 256 * 1024 }, () => Math.floor(random() * 256)));
    let events: Fmp4Event[] = [];
    for (let at = 0; at < junk.length; at += 4096) events.push(...reader.push(junk.subarray(at, at + 4096)));
    expect(errorsOf(events).length).toBeGreaterThanOrEqual(1);
    expect(errorsOf(events).every((c) => c.startsWith('fmp4.'))).toBe(true);
    expect(inits(events)).toEqual([]);
    expect(reader.buffered()).toBeLessThan(MAX_HELD_AFTER_JUNK);
    // Then a real stream: read from its ftyp on.
    events = reader.push(h264);
    expect(inits(events)).toHaveLength(1);
    expect(fragments(events).length).toBeGreaterThanOrEqual(20);
  });

  it.each([[16], [2048], [Number.MAX_SAFE_INTEGER]])('garbage between fragments (chunks up to %i bytes): an error, then the reader resyncs at the next moof, losing nothing else', (max) => {
    const clean = fragments(feed(h264, Number.MAX_SAFE_INTEGER));
    const cut = h264.indexOf('moof', 20_000, 'latin1') - 4;
    const broken = Buffer.concat([h264.subarray(0, cut), Buffer.from('this is no box at all, sorry'), h264.subarray(cut)]);
    const events = feed(broken, max, 5);
    // Its first four bytes, read as a size, say 1.9 GB.
    expect(errorsOf(events)).toEqual(['fmp4.box_too_large']);
    expect(fragments(events).length).toBe(clean.length);
    expect(fragments(events).map((f) => f.decodeTime)).toEqual(clean.map((f) => f.decodeTime));
  });

  it('a huge size field: box_too_large, not a wait for gigabytes', () => {
    const reader = createFmp4Reader({ maxBoxBytes: 1024 * 1024 });
    const events = reader.push(Buffer.concat([u32(0x7ffffff0), Buffer.from('mdat'), Buffer.alloc(1000)]));
    expect(errorsOf(events)).toEqual(['fmp4.box_too_large']);
    expect(reader.buffered()).toBeLessThan(MAX_HELD_AFTER_JUNK);
  });

  it('a broken init: bad_init, no init, and the fragments after it are dropped with one error', () => {
    const moovAt = h264.indexOf('moov', 0, 'latin1');
    const avcC = h264.indexOf('avcC', moovAt, 'latin1');
    const broken = Buffer.from(h264);
    broken[avcC + 4] = 0; // configurationVersion
    const events = feed(broken, 4096);
    expect(errorsOf(events)).toEqual(['fmp4.bad_init', 'fmp4.fragment_before_init']);
    expect(inits(events)).toEqual([]);
    expect(fragments(events)).toEqual([]);
  });

  it('an init of a codec other than H.264/H.265: unsupported_codec', () => {
    const broken = Buffer.from(h264);
    const entry = broken.indexOf('avc1', broken.indexOf('stsd', 0, 'latin1'), 'latin1');
    broken.write('mp4v', entry, 'latin1');
    expect(errorsOf(feed(broken, 4096))[0]).toBe('fmp4.unsupported_codec');
  });

  it('a moof without its mdat: that fragment is dropped, the next one read', () => {
    const f = fragments(feed(h264, Number.MAX_SAFE_INTEGER));
    const init = inits(feed(h264, Number.MAX_SAFE_INTEGER))[0]!.segment;
    const events = createFmp4Reader().push(Buffer.concat([init, f[1]!.parts[0]!, ...f[2]!.parts]));
    expect(errorsOf(events)).toEqual(['fmp4.bad_fragment']);
    expect(fragments(events).map((x) => x.decodeTime)).toEqual([f[2]!.decodeTime]);
  });
});

/** After junk the splitter keeps at most the 7 bytes that could begin a header. */
const MAX_HELD_AFTER_JUNK = 8;
