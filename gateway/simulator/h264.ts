/**
 * H.264 plumbing for the simulator, as pure functions over bytes:
 * Annex B splitting (streaming, codec-blind), access-unit grouping, parameter sets for SDP,
 * and the RFC 6184 RTP packetizer (single NAL unit packets and FU-A, packetization-mode=1).
 * Grouping and packetizing read the NAL syntax through a `NalCodec` (H264 here, H265 in hevc.ts),
 * so one assembler and one packetizer serve both codecs.
 */

export const NAL = { SLICE: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9, FU_A: 28 } as const;

export const RTP_CLOCK_RATE = 90_000;
export const DEFAULT_MTU = 1400;
const RTP_HEADER = 12;

/** H.264 nal_unit_type (low 5 bits of the 1-byte header). */
export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

/** Coded slice of a picture (types 1–5). */
export function isVcl(nal: Uint8Array): boolean {
  const t = nalType(nal);
  return t >= 1 && t <= 5;
}

/** first_mb_in_slice == 0, i.e. the first slice of a picture: ue(v) of 0 is a single `1` bit. */
function isFirstSlice(nal: Uint8Array): boolean {
  return ((nal[1] ?? 0) & 0x80) !== 0;
}

export type ParameterSetName = 'vps' | 'sps' | 'pps';

/**
 * What access-unit grouping, parameter-set handling and RTP fragmentation need to know of one
 * codec's NAL unit syntax. The two codecs differ in header size and type numbers, not in shape.
 */
export interface NalCodec {
  readonly name: 'h264' | 'h265';
  /** RTP encoding name in the SDP rtpmap (`H264`, `H265`). */
  readonly rtpName: string;
  /** ffmpeg's raw Annex B format name (`h264`, `hevc`). */
  readonly ffmpegFormat: string;
  /** The parameter sets a decoder needs before a keyframe, in stream order. */
  readonly parameterSetNames: readonly ParameterSetName[];
  /** Bytes a fragmentation unit adds in front of each piece (FU indicator + header, or payload header + FU header). */
  readonly fuOverhead: number;
  type(nal: Uint8Array): number;
  isAud(nal: Uint8Array): boolean;
  isVcl(nal: Uint8Array): boolean;
  /** A VCL NAL that begins a picture. */
  isFirstSliceOfPicture(nal: Uint8Array): boolean;
  /** A non-VCL NAL that, after a picture's slices, begins the next access unit. */
  beginsAccessUnit(nal: Uint8Array): boolean;
  /** A slice a decoder can start at (H.264 IDR, H.265 IRAP). */
  isKeyframeSlice(nal: Uint8Array): boolean;
  parameterSet(nal: Uint8Array): ParameterSetName | null;
  /** RTP payloads of at most `maxPayload` bytes carrying one NAL too large for a single packet. */
  fragment(nal: Buffer, maxPayload: number): Buffer[];
  /** The SDP a=fmtp value (payload type first) that carries the parameter sets. */
  fmtp(payloadType: number, p: ParameterSets): string;
}

/** H.264 (ISO/IEC 14496-10) and RFC 6184 FU-A. */
export const H264: NalCodec = {
  name: 'h264',
  rtpName: 'H264',
  ffmpegFormat: 'h264',
  parameterSetNames: ['sps', 'pps'],
  fuOverhead: 2,
  type: nalType,
  isAud: (nal) => nalType(nal) === NAL.AUD,
  isVcl,
  isFirstSliceOfPicture: (nal) => isVcl(nal) && isFirstSlice(nal),
  // 7.4.1.2.3: SPS, PPS, SEI and types 14–18 after the last VCL NAL start the next access unit.
  beginsAccessUnit: (nal) => {
    const t = nalType(nal);
    return t === NAL.SPS || t === NAL.PPS || t === NAL.SEI || (t >= 14 && t <= 18);
  },
  isKeyframeSlice: (nal) => nalType(nal) === NAL.IDR,
  parameterSet: (nal) => {
    const t = nalType(nal);
    return t === NAL.SPS ? 'sps' : t === NAL.PPS ? 'pps' : null;
  },
  fragment: (nal, maxPayload) => {
    const indicator = (nal[0]! & 0xe0) | NAL.FU_A;
    const type = nal[0]! & 0x1f;
    const chunk = maxPayload - 2;
    const out: Buffer[] = [];
    for (let off = 1; off < nal.length; off += chunk) {
      const end = Math.min(off + chunk, nal.length);
      const header = (off === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
      out.push(Buffer.concat([Buffer.from([indicator, header]), nal.subarray(off, end)]));
    }
    return out;
  },
  fmtp: h264Fmtp,
};

/**
 * Splits an Annex B byte stream into NAL units (without start codes). Feed chunks as they come;
 * a NAL is returned once the next start code is seen, `flush()` returns the last one.
 */
export class AnnexBSplitter {
  private buf: Buffer = Buffer.alloc(0);
  /** Offset where the current NAL's payload starts, -1 before the first start code. */
  private nalStart = -1;
  /** Where to resume scanning for a start code. */
  private scanFrom = 0;

  constructor(private readonly maxNalBytes = 16 * 1024 * 1024) {}

  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    const b = this.buf;
    let i = this.scanFrom;
    for (; i + 2 < b.length; i++) {
      if (b[i + 2]! > 1) { i += 2; continue; } // fast skip: no start code can end within these bytes
      if (b[i] !== 0 || b[i + 1] !== 0 || b[i + 2] !== 1) continue;
      if (this.nalStart >= 0) {
        const nal = trimTrailingZeros(b.subarray(this.nalStart, i));
        if (nal.length > 0) out.push(Buffer.from(nal));
      }
      this.nalStart = i + 3;
      i += 2;
    }
    // Drop consumed bytes; keep what may still be part of a start code.
    const keepFrom = this.nalStart >= 0 ? this.nalStart : Math.max(0, b.length - 3);
    this.buf = b.subarray(keepFrom);
    this.scanFrom = Math.max(0, i - keepFrom);
    if (this.nalStart >= 0) this.nalStart = 0;
    if (this.buf.length > this.maxNalBytes) this.reset(); // not Annex B, or a broken stream: never grow unbounded
    return out;
  }

  flush(): Buffer[] {
    const rest = this.nalStart >= 0 ? trimTrailingZeros(this.buf) : Buffer.alloc(0);
    this.reset();
    return rest.length > 0 ? [Buffer.from(rest)] : [];
  }

  private reset(): void {
    this.buf = Buffer.alloc(0);
    this.nalStart = -1;
    this.scanFrom = 0;
  }
}

function trimTrailingZeros(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

/** Split a whole Annex B buffer at once. */
export function splitAnnexB(data: Uint8Array): Buffer[] {
  const s = new AnnexBSplitter(Number.MAX_SAFE_INTEGER);
  return [...s.push(data), ...s.flush()];
}

export interface AccessUnit {
  nals: Buffer[];
  /** Contains a slice a decoder can start at (H.264 IDR, H.265 IRAP). */
  keyframe: boolean;
}

/**
 * Groups NAL units into access units (H.264 7.4.1.2.3, H.265 7.4.2.4.4): a new AU starts at an AUD,
 * at a parameter set / prefix SEI (and the like) after a picture's slices, or at the first slice of a
 * picture after a picture's slices. An AU is returned when the next one begins; `flush()` returns the last one.
 */
export class AccessUnitAssembler {
  private nals: Buffer[] = [];
  private seenVcl = false;

  constructor(private readonly codec: NalCodec = H264) {}

  push(nal: Buffer): AccessUnit | null {
    const c = this.codec;
    const vcl = c.isVcl(nal);
    const startsNew =
      this.nals.length > 0 &&
      (c.isAud(nal) || (this.seenVcl && (vcl ? c.isFirstSliceOfPicture(nal) : c.beginsAccessUnit(nal))));
    const done = startsNew ? this.take() : null;
    this.nals.push(nal);
    if (vcl) this.seenVcl = true;
    return done;
  }

  flush(): AccessUnit | null {
    if (this.seenVcl) return this.take();
    this.nals = [];
    return null;
  }

  private take(): AccessUnit | null {
    const nals = this.nals;
    const hadVcl = this.seenVcl;
    this.nals = [];
    this.seenVcl = false;
    if (!hadVcl) return null; // parameter sets without a picture: nothing to show yet
    return { nals, keyframe: nals.some((n) => this.codec.isKeyframeSlice(n)) };
  }
}

/** Group a complete list of NALs into access units. */
export function groupAccessUnits(nals: Buffer[], codec: NalCodec = H264): AccessUnit[] {
  const a = new AccessUnitAssembler(codec);
  const out: AccessUnit[] = [];
  for (const n of nals) {
    const au = a.push(n);
    if (au) out.push(au);
  }
  const last = a.flush();
  if (last) out.push(last);
  return out;
}

/** SPS and PPS (H.264), and the VPS too for H.265. */
export interface ParameterSets {
  vps?: Buffer;
  sps: Buffer;
  pps: Buffer;
}

/** The first of each parameter set the codec needs among these NALs, if all of them are there. */
export function findParameterSets(nals: Buffer[], codec: NalCodec = H264): ParameterSets | null {
  const found: Partial<Record<ParameterSetName, Buffer>> = {};
  for (const n of nals) {
    const name = codec.parameterSet(n);
    if (name && !found[name]) found[name] = n;
  }
  if (!codec.parameterSetNames.every((name) => found[name])) return null;
  return Object.fromEntries(codec.parameterSetNames.map((name) => [name, found[name]])) as unknown as ParameterSets;
}

/** `profile-level-id`: profile_idc, constraint flags and level_idc from the SPS, as 6 hex digits. */
export function profileLevelId(sps: Uint8Array): string {
  if (sps.length < 4) throw new Error('SPS too short');
  return Buffer.from(sps.subarray(1, 4)).toString('hex').toUpperCase();
}

/** `sprop-parameter-sets`: base64 SPS and PPS, comma separated. */
export function spropParameterSets(p: ParameterSets): string {
  return `${p.sps.toString('base64')},${p.pps.toString('base64')}`;
}

/** The a=fmtp value for an H.264 track in packetization-mode 1. */
export function h264Fmtp(payloadType: number, p: ParameterSets): string {
  return `${payloadType} packetization-mode=1;profile-level-id=${profileLevelId(p.sps)};sprop-parameter-sets=${spropParameterSets(p)}`;
}

/** Put the parameter sets in front of a keyframe that lacks any of them (so every keyframe can start a decoder). */
export function withParameterSets(au: AccessUnit, p: ParameterSets | null, codec: NalCodec = H264): AccessUnit {
  if (!au.keyframe || !p) return au;
  const present = new Set(au.nals.map((n) => codec.parameterSet(n)));
  if (codec.parameterSetNames.every((name) => present.has(name))) return au;
  const rest = au.nals.filter((n) => codec.parameterSet(n) === null);
  return { ...au, nals: [...codec.parameterSetNames.map((name) => p[name]!), ...rest] };
}

export interface RtpPacketizerOptions {
  ssrc: number;
  payloadType?: number;
  /** Largest RTP packet (header included). */
  mtu?: number;
  /** First sequence number (16 bit). */
  sequence?: number;
  /** How NALs are fragmented (H264: RFC 6184 FU-A; H265 in hevc.ts: RFC 7798 FU). Default H264. */
  codec?: NalCodec;
}

/** RTP packetizer (RFC 6184 or RFC 7798 by codec) with its own sequence counter (one per RTP session). */
export class RtpPacketizer {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly mtu: number;
  readonly codec: NalCodec;
  /** Next sequence number to use. */
  sequence: number;
  packetCount = 0;
  octetCount = 0;

  constructor(o: RtpPacketizerOptions) {
    this.ssrc = o.ssrc >>> 0;
    this.payloadType = o.payloadType ?? 96;
    this.mtu = o.mtu ?? DEFAULT_MTU;
    this.codec = o.codec ?? H264;
    this.sequence = (o.sequence ?? 0) & 0xffff;
    if (this.mtu < RTP_HEADER + this.codec.fuOverhead + 1) throw new Error('MTU too small');
  }

  /**
   * RTP packets for one access unit at this 32-bit RTP timestamp: a NAL that fits is sent as a single
   * NAL unit packet, a larger one as fragmentation units. AUDs are left out; the marker bit is set on
   * the AU's last packet.
   */
  packetize(au: AccessUnit | Buffer[], timestamp: number): Buffer[] {
    const nals = (Array.isArray(au) ? au : au.nals).filter((n) => n.length > 0 && !this.codec.isAud(n));
    const out: Buffer[] = [];
    const maxPayload = this.mtu - RTP_HEADER;
    nals.forEach((nal, idx) => {
      const lastNal = idx === nals.length - 1;
      const payloads = nal.length <= maxPayload ? [nal] : this.codec.fragment(nal, maxPayload);
      payloads.forEach((payload, i) => out.push(this.packet(payload, timestamp, lastNal && i === payloads.length - 1)));
    });
    return out;
  }

  private packet(payload: Buffer, timestamp: number, marker: boolean): Buffer {
    const p = Buffer.allocUnsafe(RTP_HEADER + payload.length);
    p[0] = 0x80; // V=2, no padding, no extension, no CSRC
    p[1] = (marker ? 0x80 : 0) | (this.payloadType & 0x7f);
    p.writeUInt16BE(this.sequence, 2);
    p.writeUInt32BE(timestamp >>> 0, 4);
    p.writeUInt32BE(this.ssrc, 8);
    payload.copy(p, RTP_HEADER);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.packetCount++;
    this.octetCount += payload.length;
    return p;
  }
}

/** 2^32 as a float, for NTP fractions. */
const NTP_FRAC = 0x1_0000_0000;
/** Seconds from 1900 (NTP epoch) to 1970 (Unix epoch). */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** An RTCP compound packet: sender report (RFC 3550 6.4.1) followed by SDES CNAME. */
export function rtcpSenderReport(o: {
  ssrc: number; wallclockMs: number; rtpTime: number; packetCount: number; octetCount: number; cname: string;
}): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(o.ssrc >>> 0, 4);
  const secs = Math.floor(o.wallclockMs / 1000);
  sr.writeUInt32BE((secs + NTP_UNIX_OFFSET) >>> 0, 8);
  sr.writeUInt32BE(Math.floor(((o.wallclockMs - secs * 1000) / 1000) * NTP_FRAC) >>> 0, 12);
  sr.writeUInt32BE(o.rtpTime >>> 0, 16);
  sr.writeUInt32BE(o.packetCount >>> 0, 20);
  sr.writeUInt32BE(o.octetCount >>> 0, 24);
  const name = Buffer.from(o.cname, 'utf8').subarray(0, 255);
  const chunkLen = 4 + 2 + name.length + 1; // ssrc, type+len, text, end
  const padded = Math.ceil(chunkLen / 4) * 4;
  const sdes = Buffer.alloc(4 + padded);
  sdes[0] = 0x81; // one chunk
  sdes[1] = 202;
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(o.ssrc >>> 0, 4);
  sdes[8] = 1; // CNAME
  sdes[9] = name.length;
  name.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}

/** RTSP interleaved frame: `$`, channel, 16-bit length, data. */
export function interleave(channel: number, data: Buffer): Buffer {
  const h = Buffer.allocUnsafe(4);
  h[0] = 0x24;
  h[1] = channel & 0xff;
  h.writeUInt16BE(data.length, 2);
  return Buffer.concat([h, data]);
}
