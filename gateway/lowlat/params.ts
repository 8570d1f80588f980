import { createHash } from 'node:crypto';

/**
 * A camera reconfigured from its web page (another resolution, another bit depth) may keep its RTSP
 * session and simply send new parameter sets in band. ffmpeg copies them into the samples, but the
 * init segment (avcC / hvcC, written once per run from the SDP) still describes the old stream, and a
 * browser decoder given the old configuration shows garbage or stops. So the gateway compares the SPS
 * each keyframe carries in band with the init's: a new one means "restart the session" (a new run
 * reads the new SDP and writes a new init; viewers re-initialise).
 *
 * Some cameras put a slightly different SPS in the SDP than in band (another VUI) for ever: a
 * restart would not help them, so each in-band SPS triggers at most one restart (`ParameterWatch`).
 */

export type Codec = 'h264' | 'hevc';

/** The codec of an RFC 6381 codec string (`avc1.…`, `hvc1.…`); null for others. */
export function codecOfString(codec: string): Codec | null {
  if (/^avc[13]\./.test(codec)) return 'h264';
  if (/^(hvc1|hev1)\./.test(codec)) return 'hevc';
  return null;
}

const isSps = (nal: Buffer, codec: Codec) =>
  nal.length > 1 && (codec === 'h264' ? (nal[0]! & 0x1f) === 7 : ((nal[0]! >> 1) & 0x3f) === 33);

/** Where a box of `type` starts inside `bytes` (a plain scan: the init segment is a few hundred bytes). */
function findBox(bytes: Buffer, type: string): { start: number; size: number } | null {
  const t = Buffer.from(type, 'latin1');
  for (let i = 4; i + 4 <= bytes.length; i++) {
    if (bytes[i] === t[0] && bytes.subarray(i, i + 4).equals(t)) {
      const size = bytes.readUInt32BE(i - 4);
      if (size >= 8 && i - 4 + size <= bytes.length) return { start: i - 4, size };
    }
  }
  return null;
}

/** The SPS NAL units of an init segment's avcC (H.264) or hvcC (H.265) record. */
export function initSps(init: Buffer, codec: Codec): Buffer[] {
  const out: Buffer[] = [];
  if (codec === 'h264') {
    const box = findBox(init, 'avcC');
    if (!box) return out;
    const r = init.subarray(box.start + 8, box.start + box.size);
    if (r.length < 6) return out;
    let at = 6;
    const count = r[5]! & 0x1f;
    for (let i = 0; i < count && at + 2 <= r.length; i++) {
      const len = r.readUInt16BE(at);
      out.push(r.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    return out;
  }
  const box = findBox(init, 'hvcC');
  if (!box) return out;
  const r = init.subarray(box.start + 8, box.start + box.size);
  if (r.length < 23) return out;
  let at = 23;
  const arrays = r[22]!;
  for (let a = 0; a < arrays && at + 3 <= r.length; a++) {
    const type = r[at]! & 0x3f;
    const n = r.readUInt16BE(at + 1);
    at += 3;
    for (let i = 0; i < n && at + 2 <= r.length; i++) {
      const len = r.readUInt16BE(at);
      if (type === 33) out.push(r.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
  }
  return out;
}

/** The SPS NAL units in an mdat's samples (4-byte NAL lengths, as ffmpeg writes them). */
export function sampleSps(mdat: Buffer, codec: Codec): Buffer[] {
  const out: Buffer[] = [];
  let at = 8;
  while (at + 4 <= mdat.length) {
    const len = mdat.readUInt32BE(at);
    at += 4;
    if (len === 0 || at + len > mdat.length) break;
    const nal = mdat.subarray(at, at + len);
    if (isSps(nal, codec)) out.push(nal);
    at += len;
  }
  return out;
}

const digest = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/**
 * One run's watch: given its init segment, say of each keyframe fragment's mdat whether it carries an
 * SPS that neither the init nor an earlier restart has seen (→ restart once for it).
 */
export class ParameterWatch {
  private known = new Set<string>();
  private codec: Codec | null = null;
  /** SPS digests that already caused a restart (kept across runs of one session). */
  private readonly restartedFor = new Set<string>();

  /** A new run's init segment. */
  init(segment: Buffer, codecString: string): void {
    this.codec = codecOfString(codecString);
    this.known = new Set(this.codec ? initSps(segment, this.codec).map(digest) : []);
  }

  /** A keyframe fragment's mdat: a reason to restart the session, or null. */
  keyframe(mdat: Buffer): string | null {
    if (!this.codec || this.known.size === 0) return null;
    for (const sps of sampleSps(mdat, this.codec)) {
      const d = digest(sps);
      if (this.known.has(d)) continue;
      this.known.add(d);
      if (this.restartedFor.has(d)) continue;
      this.restartedFor.add(d);
      return 'the camera changed its stream settings (new parameter sets in band): restarting';
    }
    return null;
  }
}
