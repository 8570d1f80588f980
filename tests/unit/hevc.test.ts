import { describe, expect, it } from 'vitest';
import {
  AccessUnitAssembler, AnnexBSplitter, findParameterSets, groupAccessUnits, H264, RtpPacketizer, splitAnnexB, withParameterSets,
} from '../../gateway/simulator/h264.ts';
import { fragmentHevc, H265, HEVC_NAL, hevcFmtp, hevcNalType } from '../../gateway/simulator/hevc.ts';

/**
 * H.265 in the simulator: NAL types from the 2-byte header, access units, parameter sets, the
 * RFC 7798 packetizer (exact bytes) and the SDP fmtp. The byte patterns are those x265 writes
 * (checked against a real x265 stream: VPS 40 01, SPS 42 01, PPS 44 01, IDR_N_LP 28 01 …).
 */

const b = (...bytes: number[]) => Buffer.from(bytes);
const VPS = b(0x40, 0x01, 0x0c, 0x01, 0xff, 0xff);
const SPS = b(0x42, 0x01, 0x01, 0x01, 0x60, 0x80);
const PPS = b(0x44, 0x01, 0xc0, 0xf3);
const AUD = b(0x46, 0x01, 0x50);
const PREFIX_SEI = b(0x4e, 0x01, 0x05, 0x10);
const SUFFIX_SEI = b(0x50, 0x01, 0x84, 0x10);
/** Slice segments: byte 2's top bit is first_slice_segment_in_pic_flag. */
const IDR = b(0x26, 0x01, 0xaf, 0x11, 0x22); // IDR_W_RADL (19), first segment
const IDR_2 = b(0x26, 0x01, 0x2f, 0x33); // its second segment
const CRA = b(0x2a, 0x01, 0xad, 0x44); // CRA (21)
const TRAIL = b(0x02, 0x01, 0xd0, 0x55); // TRAIL_R (1), first segment
const TRAIL_2 = b(0x02, 0x01, 0x5e, 0x66);
const SC4 = b(0, 0, 0, 1);
const SC3 = b(0, 0, 1);
const annexB = (...nals: Buffer[]) => Buffer.concat(nals.flatMap((n, i) => [i % 2 ? SC3 : SC4, n]));

describe('H.265 NAL units', () => {
  it('reads the type from bits 1–6 of the 2-byte header', () => {
    expect([VPS, SPS, PPS, AUD, PREFIX_SEI, SUFFIX_SEI, IDR, CRA, TRAIL].map(hevcNalType)).toEqual([32, 33, 34, 35, 39, 40, 19, 21, 1]);
    expect(hevcNalType(b(0x7e, 0x01))).toBe(63);
    expect(hevcNalType(b(0x27, 0x01))).toBe(19); // the LayerId bit does not leak into the type
  });

  it('knows VCL, IRAP, AUD and parameter sets', () => {
    expect([IDR, CRA, TRAIL, VPS, PREFIX_SEI].map(H265.isVcl)).toEqual([true, true, true, false, false]);
    expect([IDR, CRA, b(0x20, 0x01, 0x80), b(0x2e, 0x01, 0x80), TRAIL, b(0x30, 0x01, 0x80)].map(H265.isKeyframeSlice))
      .toEqual([true, true, true, true, false, false]); // BLA_W_LP 16 and reserved IRAP 23 too; 24 is not IRAP
    expect([AUD, TRAIL].map(H265.isAud)).toEqual([true, false]);
    expect([VPS, SPS, PPS, IDR].map(H265.parameterSet)).toEqual(['vps', 'sps', 'pps', null]);
  });

  it('splits an Annex B stream of H.265 the same way however it is chunked', () => {
    const stream = annexB(AUD, VPS, SPS, PPS, PREFIX_SEI, IDR, IDR_2, AUD, TRAIL);
    const whole = splitAnnexB(stream);
    expect(whole).toEqual([AUD, VPS, SPS, PPS, PREFIX_SEI, IDR, IDR_2, AUD, TRAIL]);
    for (const size of [1, 2, 3, 7]) {
      const s = new AnnexBSplitter();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) got.push(...s.push(stream.subarray(i, i + size)));
      got.push(...s.flush());
      expect(got, `chunk size ${size}`).toEqual(whole);
    }
  });
});

describe('H.265 access units', () => {
  it('groups VPS/SPS/PPS/prefix SEI with the IRAP picture and starts a new AU at each first slice segment', () => {
    const aus = groupAccessUnits([VPS, SPS, PPS, PREFIX_SEI, IDR, IDR_2, TRAIL, TRAIL_2, TRAIL], H265);
    expect(aus.map((a) => a.nals.map(hevcNalType))).toEqual([[32, 33, 34, 39, 19, 19], [1, 1], [1]]);
    expect(aus.map((a) => a.keyframe)).toEqual([true, false, false]);
  });

  it('keeps a suffix SEI with the picture before it, and starts an AU at the next VPS or AUD', () => {
    const aus = groupAccessUnits([AUD, TRAIL, SUFFIX_SEI, AUD, CRA, SUFFIX_SEI, VPS, SPS, PPS, IDR], H265);
    expect(aus.map((a) => a.nals.map(hevcNalType))).toEqual([[35, 1, 40], [35, 21, 40], [32, 33, 34, 19]]);
    expect(aus.map((a) => a.keyframe)).toEqual([false, true, true]);
  });

  it('emits an AU only when the next one starts; parameter sets alone are no picture', () => {
    const a = new AccessUnitAssembler(H265);
    expect(a.push(VPS)).toBeNull();
    expect(a.push(SPS)).toBeNull();
    expect(a.push(IDR)).toBeNull();
    expect(a.push(TRAIL)?.nals).toEqual([VPS, SPS, IDR]);
    expect(a.flush()?.nals).toEqual([TRAIL]);
    expect(new AccessUnitAssembler(H265).flush()).toBeNull();
  });

  it('would group the same bytes differently as H.264: the codec decides', () => {
    // Read as H.264, 0x26 is an SEI (type 6) and 0x42/0x44 are partition slices: no IDR at all.
    expect(groupAccessUnits([VPS, SPS, PPS, IDR], H264).some((a) => a.keyframe)).toBe(false);
    expect(groupAccessUnits([VPS, SPS, PPS, IDR], H265).map((a) => a.keyframe)).toEqual([true]);
  });

  it('finds VPS, SPS and PPS, and puts all three in front of a keyframe that lacks them', () => {
    expect(findParameterSets([AUD, VPS, SPS, PPS, IDR], H265)).toEqual({ vps: VPS, sps: SPS, pps: PPS });
    expect(findParameterSets([SPS, PPS, IDR], H265)).toBeNull();
    const ps = { vps: VPS, sps: SPS, pps: PPS };
    expect(withParameterSets({ nals: [AUD, IDR, IDR_2], keyframe: true }, ps, H265).nals).toEqual([VPS, SPS, PPS, AUD, IDR, IDR_2]);
    expect(withParameterSets({ nals: [SPS, PPS, IDR], keyframe: true }, ps, H265).nals).toEqual([VPS, SPS, PPS, IDR]);
    const full = { nals: [VPS, SPS, PPS, IDR], keyframe: true };
    expect(withParameterSets(full, ps, H265)).toBe(full);
    const p = { nals: [TRAIL], keyframe: false };
    expect(withParameterSets(p, ps, H265)).toBe(p);
  });
});

describe('RFC 7798 packetizer', () => {
  const header = (p: Buffer) => ({ marker: (p[1]! & 0x80) !== 0, pt: p[1]! & 0x7f, seq: p.readUInt16BE(2), ts: p.readUInt32BE(4) });

  it('sends small NALs as single NAL unit packets (the NAL header is the payload header), AUD left out', () => {
    const r = new RtpPacketizer({ ssrc: 7, sequence: 10, codec: H265 });
    const pkts = r.packetize({ nals: [AUD, VPS, SPS, PPS, IDR], keyframe: true }, 3000);
    expect(pkts.map(header)).toEqual([
      { marker: false, pt: 96, seq: 10, ts: 3000 },
      { marker: false, pt: 96, seq: 11, ts: 3000 },
      { marker: false, pt: 96, seq: 12, ts: 3000 },
      { marker: true, pt: 96, seq: 13, ts: 3000 },
    ]);
    expect(pkts.map((p) => p.subarray(12))).toEqual([VPS, SPS, PPS, IDR]);
  });

  it('fragments a large NAL into FUs: payload header type 49, FU header S/E and the NAL type, exact bytes', () => {
    const nal = Buffer.alloc(3000);
    nal[0] = 0x26; // IDR_W_RADL, LayerId 0
    nal[1] = 0x01; // TID 1
    for (let i = 2; i < nal.length; i++) nal[i] = i & 0xff;
    const pkts = new RtpPacketizer({ ssrc: 1, mtu: 1400, codec: H265 }).packetize([nal], 90000);
    // 2998 bytes after the NAL header, 1400 - 12 - 3 = 1385 per FU.
    expect(pkts.map((p) => p.length)).toEqual([1400, 1400, 12 + 3 + 228]);
    expect(pkts.map((p) => [...p.subarray(12, 16)])).toEqual([
      [0x62, 0x01, 0x80 | 19, 2], // start: S=1, FuType 19, then NAL byte 2
      [0x62, 0x01, 19, (2 + 1385) & 0xff], // middle
      [0x62, 0x01, 0x40 | 19, (2 + 2 * 1385) & 0xff], // end: E=1
    ]);
    expect(pkts.map((p) => header(p).marker)).toEqual([false, false, true]);
    const rebuilt = Buffer.concat([b(0x26, 0x01), ...pkts.map((p) => p.subarray(15))]);
    expect(rebuilt).toEqual(nal);
  });

  it('keeps the F bit, LayerId and TID of the NAL in the FU payload header', () => {
    const nal = Buffer.concat([b(0x27, 0x0a), Buffer.alloc(40, 9)]); // LayerId 0b100001, TID 2
    const fus = fragmentHevc(nal, 20);
    expect(fus.map((f) => [...f.subarray(0, 3)])).toEqual([[0x63, 0x0a, 0x93], [0x63, 0x0a, 0x13], [0x63, 0x0a, 0x53]]);
    expect(fus.map((f) => f.length)).toEqual([20, 20, 3 + 40 - 34]);
    const withF = fragmentHevc(Buffer.concat([b(0xa6, 0x01), Buffer.alloc(10)]), 8);
    expect(withF[0]![0]).toBe(0x80 | 0x62);
  });

  it('marks only the last packet of an AU whose last NAL is fragmented, and refuses an MTU an FU cannot fit', () => {
    const big = Buffer.concat([b(0x02, 0x01), Buffer.alloc(2000, 7)]);
    const pkts = new RtpPacketizer({ ssrc: 1, codec: H265 }).packetize([VPS, big], 0);
    expect(pkts.map((p) => (p[1]! & 0x80) !== 0)).toEqual([false, false, true]);
    expect(() => new RtpPacketizer({ ssrc: 1, mtu: 15, codec: H265 })).toThrow(/MTU/);
    expect(() => new RtpPacketizer({ ssrc: 1, mtu: 16, codec: H265 })).not.toThrow();
    expect(() => new RtpPacketizer({ ssrc: 1, mtu: 15 })).not.toThrow(); // H.264's FU-A needs one byte less
  });
});

describe('H.265 SDP', () => {
  it('carries VPS, SPS and PPS in base64 in the fmtp, and names H265 in the rtpmap', () => {
    const ps = findParameterSets([VPS, SPS, PPS, IDR], H265)!;
    expect(hevcFmtp(96, ps)).toBe(`96 sprop-vps=${VPS.toString('base64')};sprop-sps=${SPS.toString('base64')};sprop-pps=${PPS.toString('base64')}`);
    expect(hevcFmtp(96, ps)).toBe('96 sprop-vps=QAEMAf//;sprop-sps=QgEBAWCA;sprop-pps=RAHA8w==');
    expect(H265.fmtp(97, ps)).toMatch(/^97 sprop-vps=/);
    expect([H265.rtpName, H264.rtpName]).toEqual(['H265', 'H264']);
    expect(() => hevcFmtp(96, { sps: SPS, pps: PPS })).toThrow(/VPS/);
    expect(HEVC_NAL.FU).toBe(49);
  });
});
