// Fragmented MP4 as a session's ffmpeg writes it on stdout (gateway/streams/ffmpeg.ts, `-f mp4
// -movflags empty_moov+default_base_moof+frag_keyframe -frag_duration 100000`): ftyp and moov (the
// init segment), then moof+mdat pairs of about 100 ms, a new one at every keyframe. This file cuts
// the byte stream into whole top-level boxes, whatever the pipe's chunk sizes, and reads just enough
// of them for the low-latency hub: the codec string and picture size of the init segment, and of
// each fragment whether it starts with a sync sample, its decode time and its duration.

/** Why the stream could not be read; stable, for logs and tests. */
export type Fmp4ErrorCode =
  | 'fmp4.bad_box'
  | 'fmp4.box_too_large'
  | 'fmp4.bad_init'
  | 'fmp4.unsupported_codec'
  | 'fmp4.bad_fragment'
  | 'fmp4.fragment_before_init';

/** A reading failure: returned (never thrown past the reader) so that garbage cannot stop the gateway. */
export class Fmp4Error extends Error {
  constructor(readonly code: Fmp4ErrorCode, message: string) {
    super(message);
    this.name = 'Fmp4Error';
  }
}

/**
 * The largest top-level box accepted. A fragment's mdat holds at most one keyframe interval's
 * part of ~100 ms; 32 MiB is far past any camera's keyframe and keeps a corrupt size field from
 * making the splitter wait for (and hold) gigabytes.
 */
export const MAX_BOX_BYTES = 32 * 1024 * 1024;

/** One top-level box, header included. */
export interface Box { type: string; bytes: Buffer }

/** What a browser needs to open a SourceBuffer for the init segment (MediaSource.isTypeSupported(mime)). */
export interface InitInfo {
  /** RFC 6381 codec string: `avc1.64001f`, `hvc1.1.6.L93.B0`. */
  codec: string;
  mime: string;
  width: number;
  height: number;
  /** The video track's media timescale (mdhd): decode times and durations are in these units. */
  timescale: number;
  trackId: number;
  /** trex defaults of the track, for fragments whose tfhd/trun leave them out. */
  defaultSampleDuration: number;
  defaultSampleFlags: number;
}

/** A moof and its mdat, as ffmpeg wrote them. */
export interface Fragment {
  /** [moof, mdat]: sent as they are, one after the other. */
  parts: Buffer[];
  byteLength: number;
  /** The first sample is a sync sample: a decoder can start here. */
  keyframe: boolean;
  /** tfdt baseMediaDecodeTime, in timescale units. */
  decodeTime: number;
  /** Sum of the sample durations, in timescale units. */
  duration: number;
  samples: number;
}

export type Fmp4Event =
  | { type: 'init'; segment: Buffer; info: InitInfo }
  | { type: 'fragment'; fragment: Fragment }
  | { type: 'error'; error: Fmp4Error };

const SAMPLE_IS_NON_SYNC = 0x10000;

/** A box header's type is four printable ASCII characters (top-level types always are). */
function printableType(b: Buffer, at: number): boolean {
  for (let i = at; i < at + 4; i++) if (b[i]! < 0x20 || b[i]! > 0x7e) return false;
  return true;
}

/**
 * The size of the box whose header starts `head` (at least 16 bytes, or all there is): a number,
 * 'more' when the header is not all there, or an error for a header that is no box.
 */
export function boxSize(head: Buffer, maxBoxBytes = MAX_BOX_BYTES): number | 'more' | Fmp4Error {
  if (head.length < 8) return 'more';
  if (!printableType(head, 4)) return new Fmp4Error('fmp4.bad_box', `not a box: type bytes ${head.subarray(4, 8).toString('hex')}`);
  let size = head.readUInt32BE(0);
  if (size === 1) {
    if (head.length < 16) return 'more';
    const large = head.readBigUInt64BE(8);
    size = large > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(large);
    if (size < 16) return new Fmp4Error('fmp4.bad_box', `box ${head.toString('latin1', 4, 8)} has a 64-bit size under 16`);
  } else if (size === 0) {
    return new Fmp4Error('fmp4.bad_box', `box ${head.toString('latin1', 4, 8)} runs to the end of the file: not a live stream`);
  } else if (size < 8) {
    return new Fmp4Error('fmp4.bad_box', `box ${head.toString('latin1', 4, 8)} has size ${size}`);
  }
  if (size > maxBoxBytes) return new Fmp4Error('fmp4.box_too_large', `box ${head.toString('latin1', 4, 8)} of ${size} bytes is over the ${maxBoxBytes}-byte limit`);
  return size;
}

/** Types a resync may start at: a fragment, or a new init segment. */
const RESYNC_TYPES = ['moof', 'ftyp'];

/**
 * Cuts a byte stream into whole top-level boxes. Chunks of any size go in; each box comes out
 * once all its bytes are there, copied into a buffer of its own (so a held fragment pins no pipe
 * chunk). A header that is no box is an error: the splitter then drops bytes until it finds a
 * moof or ftyp header with a sane size and carries on from there (a fragment or a new init).
 */
export function createBoxSplitter(maxBoxBytes = MAX_BOX_BYTES) {
  let parts: Buffer[] = [];
  let length = 0;
  let lost = false;

  /** The first n buffered bytes (fewer if fewer are there), copying only when they span chunks. */
  function head(n: number): Buffer {
    const first = parts[0];
    if (!first) return Buffer.alloc(0);
    if (first.length >= n || parts.length === 1) return first.subarray(0, n);
    return Buffer.concat(parts, Math.min(n, length)).subarray(0, n);
  }
  function take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const p = parts[0]!;
      const want = n - filled;
      if (p.length <= want) {
        p.copy(out, filled);
        filled += p.length;
        parts.shift();
      } else {
        p.copy(out, filled, 0, want);
        parts[0] = p.subarray(want);
        filled = n;
      }
    }
    length -= n;
    return out;
  }
  /** Lost: look for the next plausible moof/ftyp header; keep only what could still start one. */
  function resync(): boolean {
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
    let from = 4;
    for (;;) {
      const hits = RESYNC_TYPES.map((t) => all.indexOf(t, from, 'latin1')).filter((i) => i >= 0);
      if (hits.length === 0) break;
      const at = Math.min(...hits);
      const size = boxSize(all.subarray(at - 4, at + 12), maxBoxBytes);
      if (typeof size === 'number' && size >= 16) {
        parts = [all.subarray(at - 4)];
        length = all.length - at + 4;
        lost = false;
        return true;
      }
      from = at + 1;
    }
    // Keep what could still begin a header whose type is not all here yet.
    const keep = Math.min(7, all.length);
    parts = keep ? [all.subarray(all.length - keep)] : [];
    length = keep;
    return false;
  }

  return {
    /**
     * Whole boxes this chunk completed and, where a header was no box, its error: in stream order,
     * at most one error per chunk (the garbage after it is skipped while resyncing).
     */
    push(chunk: Buffer): (Box | Fmp4Error)[] {
      const out: (Box | Fmp4Error)[] = [];
      let failed = false;
      if (chunk.length) {
        parts.push(chunk);
        length += chunk.length;
      }
      for (;;) {
        if (lost && !resync()) break;
        const size = boxSize(head(16), maxBoxBytes);
        if (size === 'more') break;
        if (size instanceof Fmp4Error) {
          if (!failed) out.push(size);
          failed = true;
          lost = true;
          take(1); // the resync searches from the next byte
          continue;
        }
        if (length < size) break;
        const bytes = take(size);
        out.push({ type: bytes.toString('latin1', 4, 8), bytes });
      }
      return out;
    },
    /** Forget everything buffered (a new ffmpeg run starts a new stream). */
    reset(): void {
      parts = [];
      length = 0;
      lost = false;
    },
    /** Bytes held for a box not yet complete. */
    buffered(): number {
      return length;
    },
  };
}

/** The child boxes of a box's payload [start, end): type, payload start, end. */
function* children(b: Buffer, start: number, end: number): Generator<{ type: string; start: number; end: number }> {
  let at = start;
  while (at + 8 <= end) {
    let size = b.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) throw new Fmp4Error('fmp4.bad_box', 'truncated 64-bit box header');
      size = Number(b.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) throw new Fmp4Error('fmp4.bad_box', `box ${b.toString('latin1', at + 4, at + 8)} overruns its parent`);
    yield { type: b.toString('latin1', at + 4, at + 8), start: at + header, end: at + size };
    at += size;
  }
}

function child(b: Buffer, start: number, end: number, type: string): { start: number; end: number } | null {
  for (const c of children(b, start, end)) if (c.type === type) return c;
  return null;
}

/** Reads within [start, end) or fails with the given code: a short box is never read past. */
function reader(b: Buffer, start: number, end: number, code: Fmp4ErrorCode, what: string) {
  const need = (at: number, n: number) => {
    if (at + n > end) throw new Fmp4Error(code, `${what} is truncated`);
  };
  return {
    u8: (at: number) => { need(at, 1); return b[at]!; },
    u16: (at: number) => { need(at, 2); return b.readUInt16BE(at); },
    u32: (at: number) => { need(at, 4); return b.readUInt32BE(at); },
    u64: (at: number) => { need(at, 8); return Number(b.readBigUInt64BE(at)); },
    bytes: (at: number, n: number) => { need(at, n); return b.subarray(at, at + n); },
  };
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** `avc1.PPCCLL` (ISO/IEC 14496-15 / RFC 6381): profile, constraint flags and level, bytes 1..3 of the avcC record. */
export function avcCodecString(entry: string, avcC: Buffer): string {
  if (avcC.length < 4 || avcC[0] !== 1) throw new Fmp4Error('fmp4.bad_init', 'avcC record is malformed');
  return `${entry}.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`;
}

/** The 32 bits in reverse order (the general_profile_compatibility_flags as the codec string writes them). */
function reverseBits32(n: number): number {
  let out = 0;
  for (let i = 0; i < 32; i++) out = (out << 1) | ((n >>> i) & 1);
  return out >>> 0;
}

/**
 * `hvc1.<space><profile>.<compat>.<tier><level>.<constraints>` (ISO/IEC 14496-15 Annex E) from the
 * hvcC record: profile space as '' / A / B / C, profile idc, the compatibility flags bit-reversed in
 * hex, L (main tier) or H (high tier) and the level idc, then the six constraint bytes in hex, each
 * after a dot, trailing zero bytes left out. `hev1` when the sample entry is hev1.
 */
export function hevcCodecString(entry: string, hvcC: Buffer): string {
  if (hvcC.length < 13 || hvcC[0] !== 1) throw new Fmp4Error('fmp4.bad_init', 'hvcC record is malformed');
  const b1 = hvcC[1]!;
  const space = ['', 'A', 'B', 'C'][b1 >> 6]!;
  const tier = (b1 >> 5) & 1 ? 'H' : 'L';
  const profile = b1 & 0x1f;
  const compat = reverseBits32(hvcC.readUInt32BE(2)).toString(16).toUpperCase();
  const constraints = [...hvcC.subarray(6, 12)];
  while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
  const level = hvcC[12]!;
  return [`${entry}.${space}${profile}`, compat, `${tier}${level}`, ...constraints.map((c) => hex2(c).toUpperCase())].join('.');
}

const AVC_ENTRIES = new Set(['avc1', 'avc3']);
const HEVC_ENTRIES = new Set(['hvc1', 'hev1']);
/** VisualSampleEntry: 8 bytes of SampleEntry, 16 reserved/pre-defined, width, height, …, 78 bytes before its child boxes. */
const VISUAL_ENTRY_WIDTH = 24;
const VISUAL_ENTRY_CHILDREN = 78;

/**
 * What the init segment says of its video track: the first trak whose handler is `vide`, its
 * mdhd timescale, its sample entry's codec and size, and its trex defaults.
 */
export function parseInit(moov: Buffer): InitInfo {
  const bad = (what: string) => new Fmp4Error('fmp4.bad_init', what);
  let video: { start: number; end: number } | null = null;
  for (const c of children(moov, 8, moov.length)) {
    if (c.type !== 'trak') continue;
    const mdia = child(moov, c.start, c.end, 'mdia');
    const hdlr = mdia && child(moov, mdia.start, mdia.end, 'hdlr');
    if (hdlr && hdlr.end - hdlr.start >= 12 && moov.toString('latin1', hdlr.start + 8, hdlr.start + 12) === 'vide') { video = c; break; }
  }
  if (!video) throw bad('the moov has no video track');
  const tkhd = child(moov, video.start, video.end, 'tkhd');
  if (!tkhd) throw bad('the video track has no tkhd');
  const tk = reader(moov, tkhd.start, tkhd.end, 'fmp4.bad_init', 'tkhd');
  const trackId = tk.u32(tkhd.start + (tk.u8(tkhd.start) === 1 ? 20 : 12));
  const mdia = child(moov, video.start, video.end, 'mdia')!;
  const mdhd = child(moov, mdia.start, mdia.end, 'mdhd');
  if (!mdhd) throw bad('the video track has no mdhd');
  const md = reader(moov, mdhd.start, mdhd.end, 'fmp4.bad_init', 'mdhd');
  const timescale = md.u32(mdhd.start + (md.u8(mdhd.start) === 1 ? 20 : 12));
  if (timescale === 0) throw bad('the video track has timescale 0');
  const minf = child(moov, mdia.start, mdia.end, 'minf');
  const stbl = minf && child(moov, minf.start, minf.end, 'stbl');
  const stsd = stbl && child(moov, stbl.start, stbl.end, 'stsd');
  if (!stsd) throw bad('the video track has no stsd');
  // stsd: version/flags, entry count, then the sample entries.
  const entry = children(moov, stsd.start + 8, stsd.end).next().value;
  if (!entry) throw bad('the stsd has no sample entry');
  const isAvc = AVC_ENTRIES.has(entry.type);
  if (!isAvc && !HEVC_ENTRIES.has(entry.type)) throw new Fmp4Error('fmp4.unsupported_codec', `sample entry ${entry.type} is neither H.264 nor H.265`);
  const se = reader(moov, entry.start, entry.end, 'fmp4.bad_init', `${entry.type} sample entry`);
  const width = se.u16(entry.start + VISUAL_ENTRY_WIDTH);
  const height = se.u16(entry.start + VISUAL_ENTRY_WIDTH + 2);
  if (entry.start + VISUAL_ENTRY_CHILDREN > entry.end) throw bad(`${entry.type} sample entry is truncated`);
  const config = child(moov, entry.start + VISUAL_ENTRY_CHILDREN, entry.end, isAvc ? 'avcC' : 'hvcC');
  if (!config) throw bad(`${entry.type} sample entry has no ${isAvc ? 'avcC' : 'hvcC'}`);
  const record = moov.subarray(config.start, config.end);
  const codec = isAvc ? avcCodecString(entry.type, record) : hevcCodecString(entry.type, record);

  let defaultSampleDuration = 0;
  let defaultSampleFlags = 0;
  const mvex = child(moov, 8, moov.length, 'mvex');
  if (mvex) {
    for (const c of children(moov, mvex.start, mvex.end)) {
      if (c.type !== 'trex') continue;
      const tr = reader(moov, c.start, c.end, 'fmp4.bad_init', 'trex');
      if (tr.u32(c.start + 4) !== trackId) continue;
      defaultSampleDuration = tr.u32(c.start + 12);
      defaultSampleFlags = tr.u32(c.start + 20);
    }
  }
  return { codec, mime: `video/mp4; codecs="${codec}"`, width, height, timescale, trackId, defaultSampleDuration, defaultSampleFlags };
}

// tfhd and trun flags (ISO/IEC 14496-12 8.8.7, 8.8.8).
const TFHD_BASE_DATA_OFFSET = 0x1;
const TFHD_SAMPLE_DESCRIPTION = 0x2;
const TFHD_DEFAULT_DURATION = 0x8;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;
const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_SAMPLE_FLAGS = 0x4;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_CTS = 0x800;

/**
 * What a moof says of the video track's samples: whether the first is a sync sample (trun
 * first_sample_flags, else the first sample's own flags, else tfhd default_sample_flags, else
 * trex's: sync when the non-sync bit 0x10000 is clear), the tfdt decode time, the summed durations
 * and the sample count.
 */
export function parseFragment(moof: Buffer, init: Pick<InitInfo, 'trackId' | 'defaultSampleDuration' | 'defaultSampleFlags'>): Omit<Fragment, 'parts' | 'byteLength'> {
  const bad = (what: string) => new Fmp4Error('fmp4.bad_fragment', what);
  for (const traf of children(moof, 8, moof.length)) {
    if (traf.type !== 'traf') continue;
    const tfhd = child(moof, traf.start, traf.end, 'tfhd');
    if (!tfhd) throw bad('a traf has no tfhd');
    const th = reader(moof, tfhd.start, tfhd.end, 'fmp4.bad_fragment', 'tfhd');
    const tfFlags = th.u32(tfhd.start) & 0xffffff;
    if (th.u32(tfhd.start + 4) !== init.trackId) continue;
    let at = tfhd.start + 8;
    if (tfFlags & TFHD_BASE_DATA_OFFSET) at += 8;
    if (tfFlags & TFHD_SAMPLE_DESCRIPTION) at += 4;
    let defaultDuration = init.defaultSampleDuration;
    let defaultFlags = init.defaultSampleFlags;
    if (tfFlags & TFHD_DEFAULT_DURATION) { defaultDuration = th.u32(at); at += 4; }
    if (tfFlags & TFHD_DEFAULT_SIZE) at += 4;
    if (tfFlags & TFHD_DEFAULT_FLAGS) defaultFlags = th.u32(at);

    const tfdt = child(moof, traf.start, traf.end, 'tfdt');
    let decodeTime = 0;
    if (tfdt) {
      const td = reader(moof, tfdt.start, tfdt.end, 'fmp4.bad_fragment', 'tfdt');
      decodeTime = td.u8(tfdt.start) === 1 ? td.u64(tfdt.start + 4) : td.u32(tfdt.start + 4);
    }

    let firstFlags: number | null = null;
    let duration = 0;
    let samples = 0;
    for (const trun of children(moof, traf.start, traf.end)) {
      if (trun.type !== 'trun') continue;
      const tr = reader(moof, trun.start, trun.end, 'fmp4.bad_fragment', 'trun');
      const flags = tr.u32(trun.start) & 0xffffff;
      const count = tr.u32(trun.start + 4);
      let p = trun.start + 8;
      if (flags & TRUN_DATA_OFFSET) p += 4;
      let first: number | null = null;
      if (flags & TRUN_FIRST_SAMPLE_FLAGS) { first = tr.u32(p); p += 4; }
      const fields = [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS].filter((f) => flags & f).length;
      if (p + count * fields * 4 > trun.end) throw bad(`trun of ${count} samples is truncated`);
      for (let i = 0; i < count; i++) {
        let sampleDuration = defaultDuration;
        if (flags & TRUN_DURATION) { sampleDuration = tr.u32(p); p += 4; }
        if (flags & TRUN_SIZE) p += 4;
        if (flags & TRUN_FLAGS) { if (i === 0 && first === null) first = tr.u32(p); p += 4; }
        if (flags & TRUN_CTS) p += 4;
        duration += sampleDuration;
      }
      if (samples === 0 && count > 0) firstFlags = first ?? defaultFlags;
      samples += count;
    }
    if (samples === 0) throw bad('the video track\'s traf has no samples');
    return { keyframe: ((firstFlags ?? defaultFlags) & SAMPLE_IS_NON_SYNC) === 0, decodeTime, duration, samples };
  }
  throw bad(`the moof has no traf for track ${init.trackId}`);
}

/** Top-level boxes a stream may carry that the low-latency path has no use for. */
const IGNORED = new Set(['free', 'skip', 'styp', 'sidx', 'prft', 'emsg', 'udta', 'uuid', 'mfra', 'meta']);

/**
 * The fMP4 stream of one ffmpeg run, read incrementally: chunks in, events out. `init` once the
 * ftyp+moov are there (the segment is both boxes' bytes, as a SourceBuffer takes them), `fragment`
 * for each moof+mdat, `error` for what cannot be read. Nothing throws out of `push`: after an error
 * the reader drops the broken part (a pending moof, the garbage up to the next box it recognises)
 * and goes on, and the caller decides what a break means for its viewers.
 */
export function createFmp4Reader(opts: { maxBoxBytes?: number } = {}) {
  const splitter = createBoxSplitter(opts.maxBoxBytes ?? MAX_BOX_BYTES);
  let ftyp: Buffer | null = null;
  let init: InitInfo | null = null;
  let moof: Buffer | null = null;
  let warnedEarly = false;

  function onBox(box: Box, out: Fmp4Event[]): void {
    switch (box.type) {
      case 'ftyp':
        ftyp = box.bytes;
        init = null;
        moof = null;
        warnedEarly = false;
        return;
      case 'moov': {
        moof = null;
        const info = parseInit(box.bytes);
        init = info;
        out.push({ type: 'init', segment: ftyp ? Buffer.concat([ftyp, box.bytes]) : box.bytes, info });
        return;
      }
      case 'moof':
        if (!init) {
          if (!warnedEarly) out.push({ type: 'error', error: new Fmp4Error('fmp4.fragment_before_init', 'a fragment came before any init segment: dropped until one comes') });
          warnedEarly = true;
          return;
        }
        if (moof) out.push({ type: 'error', error: new Fmp4Error('fmp4.bad_fragment', 'a moof came without its mdat: dropped') });
        moof = box.bytes;
        return;
      case 'mdat': {
        if (!moof || !init) return; // an mdat of a dropped moof
        const m = moof;
        moof = null;
        const meta = parseFragment(m, init);
        out.push({ type: 'fragment', fragment: { parts: [m, box.bytes], byteLength: m.length + box.bytes.length, ...meta } });
        return;
      }
      default:
        if (!IGNORED.has(box.type)) out.push({ type: 'error', error: new Fmp4Error('fmp4.bad_box', `unexpected top-level box ${JSON.stringify(box.type)}: skipped`) });
    }
  }

  return {
    push(chunk: Buffer): Fmp4Event[] {
      const out: Fmp4Event[] = [];
      for (const box of splitter.push(chunk)) {
        if (box instanceof Fmp4Error) {
          moof = null;
          out.push({ type: 'error', error: box });
          continue;
        }
        try {
          onBox(box, out);
        } catch (err) {
          if (box.type === 'moov') init = null;
          moof = null;
          out.push({ type: 'error', error: err instanceof Fmp4Error ? err : new Fmp4Error(box.type === 'moov' ? 'fmp4.bad_init' : 'fmp4.bad_fragment', String(err)) });
        }
      }
      return out;
    },
    /** Start over (a new ffmpeg run): no init, nothing buffered. */
    reset(): void {
      splitter.reset();
      ftyp = null;
      init = null;
      moof = null;
      warnedEarly = false;
    },
    /** The init segment's description once seen; null before. */
    info(): InitInfo | null {
      return init;
    },
    buffered(): number {
      return splitter.buffered() + (moof?.length ?? 0);
    },
  };
}

export type Fmp4Reader = ReturnType<typeof createFmp4Reader>;
