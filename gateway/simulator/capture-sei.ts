/**
 * Capture timestamps carried inside the video: an SEI user_data_unregistered message (payloadType 5)
 * with our UUID and the picture's capture wall-clock time in ms (8 bytes, big-endian), one per access
 * unit, in front of the slices. The simulator writes it (source.ts); `ffmpeg -c copy` keeps SEI NAL
 * units, so the same bytes reach the gateway's fMP4 and the browser, and a benchmark or test can
 * measure glass-to-glass latency as "wall clock now minus the picture's capture time" at any hop.
 *
 * Parsing works on plain Uint8Arrays (a Buffer is one), so the gateway, the benchmarks and browser
 * code can all import it; only the builder returns a Node Buffer.
 */
import type { AccessUnit } from './h264.ts';

/** `h264` and `hevc` as ffmpeg and MP4 name them; `h265` (the simulator's name) is the same as `hevc`. */
export type CaptureCodec = 'h264' | 'hevc' | 'h265';

const UUID_BYTES = [0x5b, 0x1e, 0x7c, 0x3a, 0x9d, 0x42, 0x4f, 0x6e, 0x8a, 0x0b, 0xc4, 0xd2, 0xe1, 0xf0, 0x7a, 0x19];

/**
 * The uuid_iso_iec_11578 of our capture-time SEI (5b1e7c3a-9d42-4f6e-8a0b-c4d2e1f07a19): it tells our
 * message apart from the user data encoders write (x264 puts its version string in one). No two
 * consecutive zero bytes, so it never needs emulation prevention. A copy: changing it changes nothing.
 */
export const SKYNET_CAPTURE_UUID: Buffer = Buffer.from(UUID_BYTES);

/** SEI payloadType of user_data_unregistered (H.264 D.1.6, H.265 D.2.6). */
export const SEI_USER_DATA_UNREGISTERED = 5;
/** The message's payload: UUID (16) + capture time (8). */
const PAYLOAD_SIZE = 24;
const H264_SEI = 6;
const HEVC_PREFIX_SEI = 39;

const isHevc = (codec: CaptureCodec) => codec === 'hevc' || codec === 'h265';

/** A capture time that is not a whole number of ms the 8 bytes and a JS number both hold exactly. */
export class CaptureTimeError extends RangeError {
  readonly code = 'sei.invalid_time';
  constructor(value: number) {
    super(`capture time must be a whole number of ms from 0 to 2^53-1 (got ${String(value)})`);
    this.name = 'CaptureTimeError';
  }
}

/**
 * NAL payload bytes with emulation prevention (H.264 7.4.1, H.265 7.4.2): after two zero bytes, a
 * byte 0x00–0x03 gets an 0x03 in front, so no start code (00 00 01) can appear inside the NAL.
 */
export function addEmulationPrevention(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** The inverse: drop each 0x03 that follows two zero bytes (what a decoder does before parsing). */
export function removeEmulationPrevention(ebsp: Uint8Array): Uint8Array {
  const out = new Uint8Array(ebsp.length);
  let n = 0;
  let zeros = 0;
  for (const byte of ebsp) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

/**
 * The SEI NAL unit (no start code, no length prefix) that carries `captureMs`: H.264 type 6
 * (nal_ref_idc 0), or H.265 PREFIX_SEI type 39 (layer 0, TemporalId 0), then payloadType 5,
 * payloadSize 24, the UUID, the time, and the RBSP stop bit; emulation prevention applied.
 * Throws CaptureTimeError for a time that is not a safe whole number of ms.
 */
export function captureSeiNal(codec: CaptureCodec, captureMs: number): Buffer {
  if (!Number.isSafeInteger(captureMs) || captureMs < 0) throw new CaptureTimeError(captureMs);
  const rbsp = new Uint8Array(2 + PAYLOAD_SIZE + 1);
  rbsp[0] = SEI_USER_DATA_UNREGISTERED;
  rbsp[1] = PAYLOAD_SIZE;
  rbsp.set(UUID_BYTES, 2);
  const view = new DataView(rbsp.buffer);
  view.setUint32(18, Math.floor(captureMs / 0x1_0000_0000));
  view.setUint32(22, captureMs % 0x1_0000_0000);
  rbsp[26] = 0x80; // rbsp_trailing_bits: stop bit, then byte alignment
  const header = isHevc(codec) ? [HEVC_PREFIX_SEI << 1, 0x01] : [H264_SEI];
  return Buffer.concat([Buffer.from(header), addEmulationPrevention(rbsp)]);
}

/** Whether a NAL unit is an SEI of the codec (H.264 type 6; H.265 prefix or suffix SEI). */
function isSeiNal(nal: Uint8Array, codec: CaptureCodec): boolean {
  if (isHevc(codec)) {
    const t = ((nal[0] ?? 0) >> 1) & 0x3f;
    return nal.length > 2 && (t === HEVC_PREFIX_SEI || t === HEVC_PREFIX_SEI + 1);
  }
  return nal.length > 1 && ((nal[0] ?? 0) & 0x1f) === H264_SEI;
}

/**
 * The capture time in one NAL unit (with its header, emulation prevention still in), or null when it
 * is not an SEI carrying our message. Walks every SEI message of the NAL; a truncated one ends the walk.
 */
export function parseCaptureSei(nal: Uint8Array, codec: CaptureCodec): number | null {
  if (!isSeiNal(nal, codec)) return null;
  const rbsp = removeEmulationPrevention(nal.subarray(isHevc(codec) ? 2 : 1));
  let i = 0;
  // sei_message()s until the stop bit: payloadType and payloadSize are runs of 0xFF plus a last byte.
  while (i < rbsp.length && rbsp[i] !== 0x80) {
    let type = 0;
    while (rbsp[i] === 0xff) { type += 255; i++; }
    type += rbsp[i++] ?? 0;
    let size = 0;
    while (rbsp[i] === 0xff) { size += 255; i++; }
    size += rbsp[i++] ?? 0;
    if (i + size > rbsp.length) return null;
    if (type === SEI_USER_DATA_UNREGISTERED && size >= PAYLOAD_SIZE && UUID_BYTES.every((b, k) => rbsp[i + k] === b)) {
      const view = new DataView(rbsp.buffer, rbsp.byteOffset + i + 16, 8);
      const ms = view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4);
      return Number.isSafeInteger(ms) ? ms : null;
    }
    i += size;
  }
  return null;
}

/**
 * The capture times in an MP4 sample (an fMP4 mdat's sample, or any run of length-prefixed NAL units):
 * `lengthSize` is the avcC / hvcC lengthSizeMinusOne + 1 (4 in what ffmpeg writes). Normally one time
 * per sample; empty when the stream carries none. A length past the end stops the walk.
 */
export function readCaptureTimes(sample: Uint8Array, codec: CaptureCodec, lengthSize = 4): number[] {
  if (!Number.isInteger(lengthSize) || lengthSize < 1 || lengthSize > 4) throw new RangeError(`NAL length size must be 1 to 4 bytes (got ${lengthSize})`);
  const times: number[] = [];
  let i = 0;
  while (i + lengthSize <= sample.length) {
    let len = 0;
    for (let k = 0; k < lengthSize; k++) len = len * 256 + sample[i + k]!;
    i += lengthSize;
    if (len === 0) continue;
    if (i + len > sample.length) break;
    const t = parseCaptureSei(sample.subarray(i, i + len), codec);
    if (t !== null) times.push(t);
    i += len;
  }
  return times;
}

/**
 * The capture time of an Annex B access unit (NAL units behind 00 00 01 / 00 00 00 01 start codes,
 * as RTP depacketizers and raw `.h264` / `.hevc` files give them): the first one found, or null.
 */
export function readCaptureTimeAnnexB(data: Uint8Array, codec: CaptureCodec): number | null {
  let start = -1;
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] !== 0 || data[i + 1] !== 0 || data[i + 2] !== 1) continue;
    if (start >= 0) {
      const t = parseCaptureSei(trimZeros(data.subarray(start, i)), codec);
      if (t !== null) return t;
    }
    start = i + 3;
    i += 2;
  }
  return start >= 0 ? parseCaptureSei(trimZeros(data.subarray(start)), codec) : null;
}

/** A NAL ends before the zero bytes of the next 4-byte start code (trailing_zero_8bits). */
function trimZeros(nal: Uint8Array): Uint8Array {
  let end = nal.length;
  while (end > 0 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

/**
 * The access unit with our SEI for `captureMs` in front of its first slice (after the AUD, parameter
 * sets and the encoder's own SEIs). A capture SEI already in the AU (a file recorded from a simulated
 * camera and looped) is replaced, so each AU carries exactly one time: this one. Returns a new AU; the
 * given one (a file source's cached AU) is not changed.
 */
export function withCaptureSei(au: AccessUnit, codec: CaptureCodec, captureMs: number): AccessUnit {
  const sei = captureSeiNal(codec, captureMs);
  const nals = au.nals.filter((n) => parseCaptureSei(n, codec) === null);
  const firstSlice = nals.findIndex((n) => isVclNal(n, codec));
  nals.splice(firstSlice < 0 ? nals.length : firstSlice, 0, sei);
  return { ...au, nals };
}

/** Coded slice NAL units: H.264 types 1–5, H.265 types 0–31. */
function isVclNal(nal: Uint8Array, codec: CaptureCodec): boolean {
  if (isHevc(codec)) return nal.length > 2 && (((nal[0] ?? 0) >> 1) & 0x3f) < 32;
  const t = (nal[0] ?? 0) & 0x1f;
  return t >= 1 && t <= 5;
}
