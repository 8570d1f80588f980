/**
 * H.265 (HEVC) for the simulator: the NAL syntax the shared Annex B / access-unit code in h264.ts
 * reads (2-byte NAL header, type = (byte0 >> 1) & 0x3f), the RFC 7798 fragmentation unit, and the
 * SDP fmtp. Real cameras send H.265 main streams (a factory-default dome does), so the gateway and
 * the browser must be tried against them.
 */
import type { NalCodec, ParameterSets } from './h264.ts';

export const HEVC_NAL = {
  /** IRAP pictures (BLA 16–18, IDR 19–20, CRA 21, reserved 22–23). */
  IRAP_FIRST: 16, IRAP_LAST: 23,
  IDR_W_RADL: 19, IDR_N_LP: 20, CRA: 21,
  VPS: 32, SPS: 33, PPS: 34, AUD: 35, EOS: 36, EOB: 37, FD: 38, PREFIX_SEI: 39, SUFFIX_SEI: 40,
  /** RFC 7798 packet types. */
  AP: 48, FU: 49,
} as const;

/** H.265 nal_unit_type: bits 1–6 of the first header byte. */
export function hevcNalType(nal: Uint8Array): number {
  return ((nal[0] ?? 0) >> 1) & 0x3f;
}

/** Types 0–31 are coded slice segments (VCL). */
function isVcl(nal: Uint8Array): boolean {
  return nal.length > 2 && hevcNalType(nal) < 32;
}

/** first_slice_segment_in_pic_flag: the first bit after the 2-byte NAL header. */
function isFirstSliceSegment(nal: Uint8Array): boolean {
  return ((nal[2] ?? 0) & 0x80) !== 0;
}

/** H.265 (ITU-T H.265) and RFC 7798 fragmentation units. */
export const H265: NalCodec = {
  name: 'h265',
  rtpName: 'H265',
  ffmpegFormat: 'hevc',
  parameterSetNames: ['vps', 'sps', 'pps'],
  fuOverhead: 3,
  type: hevcNalType,
  isAud: (nal) => hevcNalType(nal) === HEVC_NAL.AUD,
  isVcl,
  isFirstSliceOfPicture: (nal) => isVcl(nal) && isFirstSliceSegment(nal),
  // 7.4.2.4.4: VPS, SPS, PPS, prefix SEI, types 41–44 and 48–55 after the last VCL NAL start the next access unit.
  // EOS, EOB, filler data and suffix SEI belong to the picture before them.
  beginsAccessUnit: (nal) => {
    const t = hevcNalType(nal);
    return (t >= HEVC_NAL.VPS && t <= HEVC_NAL.PPS) || t === HEVC_NAL.PREFIX_SEI || (t >= 41 && t <= 44) || (t >= 48 && t <= 55);
  },
  isKeyframeSlice: (nal) => {
    const t = hevcNalType(nal);
    return t >= HEVC_NAL.IRAP_FIRST && t <= HEVC_NAL.IRAP_LAST;
  },
  parameterSet: (nal) => {
    const t = hevcNalType(nal);
    return t === HEVC_NAL.VPS ? 'vps' : t === HEVC_NAL.SPS ? 'sps' : t === HEVC_NAL.PPS ? 'pps' : null;
  },
  fragment: fragmentHevc,
  fmtp: hevcFmtp,
};

/**
 * RFC 7798 4.4.3 fragmentation units: a 2-byte payload header (F and LayerId/TID of the NAL, Type 49),
 * a 1-byte FU header (S, E, FuType = the NAL's type), then a piece of the NAL without its own header.
 */
export function fragmentHevc(nal: Buffer, maxPayload: number): Buffer[] {
  if (nal.length < 3) throw new Error('H.265 NAL too short to fragment');
  const payloadHeader0 = (nal[0]! & 0x81) | (HEVC_NAL.FU << 1);
  const payloadHeader1 = nal[1]!;
  const type = hevcNalType(nal);
  const chunk = maxPayload - 3;
  const out: Buffer[] = [];
  for (let off = 2; off < nal.length; off += chunk) {
    const end = Math.min(off + chunk, nal.length);
    const fuHeader = (off === 2 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
    out.push(Buffer.concat([Buffer.from([payloadHeader0, payloadHeader1, fuHeader]), nal.subarray(off, end)]));
  }
  return out;
}

/**
 * The a=fmtp value for an H.265 track (RFC 7798 7.1): the parameter sets in base64, so a client
 * can set up its decoder from the SDP before the first keyframe arrives.
 */
export function hevcFmtp(payloadType: number, p: ParameterSets): string {
  if (!p.vps) throw new Error('H.265 parameter sets lack the VPS');
  return `${payloadType} sprop-vps=${p.vps.toString('base64')};sprop-sps=${p.sps.toString('base64')};sprop-pps=${p.pps.toString('base64')}`;
}
