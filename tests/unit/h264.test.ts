import { describe, expect, it } from 'vitest';
import {
  AccessUnitAssembler, AnnexBSplitter, findParameterSets, groupAccessUnits, h264Fmtp, interleave, nalType,
  profileLevelId, rtcpSenderReport, RtpPacketizer, splitAnnexB, spropParameterSets, withParameterSets,
} from '../../gateway/simulator/h264.ts';

const b = (...bytes: number[]) => Buffer.from(bytes);
const SPS = b(0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80);
const PPS = b(0x68, 0xce, 0x3c, 0x80);
/** Slices: second byte 0x88 → first_mb_in_slice = 0; 0x40 → first_mb_in_slice != 0. */
const IDR = b(0x65, 0x88, 0x84, 0x00, 0x33);
const P1 = b(0x41, 0x9a, 0x22, 0x11);
const P2 = b(0x41, 0x9a, 0x33);
const AUD = b(0x09, 0xf0);
const SC4 = b(0, 0, 0, 1);
const SC3 = b(0, 0, 1);
const annexB = (...nals: Buffer[]) => Buffer.concat(nals.flatMap((n, i) => [i % 2 ? SC3 : SC4, n]));

describe('Annex B splitting', () => {
  it('splits on 3- and 4-byte start codes and drops trailing zeros', () => {
    const nals = splitAnnexB(annexB(SPS, PPS, IDR, P1));
    expect(nals).toEqual([SPS, PPS, IDR, P1]);
  });

  it('gives the same NALs however the stream is chunked, including start codes cut in two', () => {
    const stream = annexB(AUD, SPS, PPS, IDR, AUD, P1, AUD, P2);
    const whole = splitAnnexB(stream);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const s = new AnnexBSplitter();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) got.push(...s.push(stream.subarray(i, i + size)));
      got.push(...s.flush());
      expect(got, `chunk size ${size}`).toEqual(whole);
    }
    expect(whole.map(nalType)).toEqual([9, 7, 8, 5, 9, 1, 9, 1]);
  });

  it('returns a NAL only once the next start code arrives', () => {
    const s = new AnnexBSplitter();
    expect(s.push(Buffer.concat([SC4, SPS]))).toEqual([]);
    expect(s.push(Buffer.concat([SC4, PPS]))).toEqual([SPS]);
    expect(s.flush()).toEqual([PPS]);
  });

  it('ignores bytes before the first start code and never grows beyond its limit', () => {
    const s = new AnnexBSplitter(16);
    expect(s.push(b(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20))).toEqual([]);
    expect(s.push(Buffer.concat([SC4, SPS, SC4]))).toEqual([SPS]);
  });
});

describe('access units', () => {
  it('groups parameter sets with the IDR and starts a new AU at each first slice', () => {
    const aus = groupAccessUnits([SPS, PPS, IDR, P1, P2]);
    expect(aus.map((a) => a.nals.map(nalType))).toEqual([[7, 8, 5], [1], [1]]);
    expect(aus.map((a) => a.keyframe)).toEqual([true, false, false]);
  });

  it('keeps the slices of one picture together (first_mb_in_slice != 0)', () => {
    const second = b(0x41, 0x40, 0x01);
    const aus = groupAccessUnits([SPS, PPS, IDR, b(0x65, 0x40, 0x02), P1, second]);
    expect(aus.map((a) => a.nals.length)).toEqual([4, 2]);
  });

  it('splits at an AUD and emits an AU only when the next one starts', () => {
    const a = new AccessUnitAssembler();
    expect(a.push(AUD)).toBeNull();
    expect(a.push(P1)).toBeNull();
    const au = a.push(AUD);
    expect(au?.nals).toEqual([AUD, P1]);
    expect(a.flush()).toBeNull(); // an AUD alone is not a picture
  });

  it('prepends SPS/PPS to a keyframe that lacks them', () => {
    const au = withParameterSets({ nals: [IDR], keyframe: true }, { sps: SPS, pps: PPS });
    expect(au.nals).toEqual([SPS, PPS, IDR]);
    const p = withParameterSets({ nals: [P1], keyframe: false }, { sps: SPS, pps: PPS });
    expect(p.nals).toEqual([P1]);
  });
});

describe('SDP parameters', () => {
  it('builds profile-level-id and sprop-parameter-sets', () => {
    const ps = findParameterSets([SPS, PPS, IDR])!;
    expect(profileLevelId(ps.sps)).toBe('42C01E');
    expect(spropParameterSets(ps)).toBe(`${SPS.toString('base64')},${PPS.toString('base64')}`);
    expect(h264Fmtp(96, ps)).toBe(`96 packetization-mode=1;profile-level-id=42C01E;sprop-parameter-sets=${SPS.toString('base64')},${PPS.toString('base64')}`);
    expect(findParameterSets([SPS, IDR])).toBeNull();
  });
});

describe('RTP packetizer (RFC 6184)', () => {
  const header = (p: Buffer) => ({
    version: p[0]! >> 6, marker: (p[1]! & 0x80) !== 0, pt: p[1]! & 0x7f,
    seq: p.readUInt16BE(2), ts: p.readUInt32BE(4), ssrc: p.readUInt32BE(8),
  });

  it('sends small NALs as single NAL unit packets, marker on the AU\'s last one, AUD left out', () => {
    const r = new RtpPacketizer({ ssrc: 0xdeadbeef, sequence: 100 });
    const pkts = r.packetize({ nals: [AUD, SPS, PPS, IDR], keyframe: true }, 123456);
    expect(pkts).toHaveLength(3);
    expect(pkts.map((p) => header(p))).toEqual([
      { version: 2, marker: false, pt: 96, seq: 100, ts: 123456, ssrc: 0xdeadbeef },
      { version: 2, marker: false, pt: 96, seq: 101, ts: 123456, ssrc: 0xdeadbeef },
      { version: 2, marker: true, pt: 96, seq: 102, ts: 123456, ssrc: 0xdeadbeef },
    ]);
    expect(pkts[0]!.subarray(12)).toEqual(SPS);
    expect(pkts[2]!.subarray(12)).toEqual(IDR);
  });

  it('fragments a large NAL with FU-A: S on the first, E on the last, payload reassembles', () => {
    const nal = Buffer.alloc(3000);
    nal[0] = 0x65; // nri 3, IDR
    for (let i = 1; i < nal.length; i++) nal[i] = i & 0xff;
    const r = new RtpPacketizer({ ssrc: 1, mtu: 1400 });
    const pkts = r.packetize([nal], 90000);
    expect(pkts.length).toBe(Math.ceil((nal.length - 1) / (1400 - 14)));
    for (const p of pkts) expect(p.length).toBeLessThanOrEqual(1400);
    const fu = pkts.map((p) => ({ indicator: p[12]!, fuHeader: p[13]!, marker: header(p).marker }));
    expect(fu.every((f) => f.indicator === (0x60 | 28))).toBe(true);
    expect(fu.map((f) => f.fuHeader)).toEqual([0x85, 0x05, 0x45]);
    expect(fu.map((f) => f.marker)).toEqual([false, false, true]);
    const rebuilt = Buffer.concat([b((fu[0]!.indicator & 0xe0) | (fu[0]!.fuHeader & 0x1f)), ...pkts.map((p) => p.subarray(14))]);
    expect(rebuilt).toEqual(nal);
  });

  it('marks only the last packet of an AU whose last NAL is fragmented', () => {
    const big = Buffer.alloc(2000, 7);
    big[0] = 0x41;
    const pkts = new RtpPacketizer({ ssrc: 1 }).packetize([SPS, big], 0);
    expect(pkts.map((p) => (p[1]! & 0x80) !== 0)).toEqual([false, false, true]);
  });

  it('wraps the sequence number at 65535 and the timestamp at 2^32', () => {
    const r = new RtpPacketizer({ ssrc: 1, sequence: 65534 });
    const pkts = r.packetize([P1, P2, P1], 2 ** 32 + 5);
    expect(pkts.map((p) => p.readUInt16BE(2))).toEqual([65534, 65535, 0]);
    expect(pkts[0]!.readUInt32BE(4)).toBe(5);
    expect(r.sequence).toBe(1);
    expect(r.packetCount).toBe(3);
  });
});

describe('RTCP and interleaving', () => {
  it('builds a sender report with NTP time and an SDES CNAME, 32-bit aligned', () => {
    const p = rtcpSenderReport({ ssrc: 42, wallclockMs: 1_700_000_000_500, rtpTime: 9000, packetCount: 3, octetCount: 300, cname: 'cam-001@sim' });
    expect(p[1]).toBe(200);
    expect(p.readUInt16BE(2)).toBe(6);
    expect(p.readUInt32BE(8)).toBe(1_700_000_000 + 2_208_988_800);
    expect(p.readUInt32BE(12)).toBe(2 ** 31);
    expect(p.readUInt32BE(16)).toBe(9000);
    expect(p[29]).toBe(202);
    expect(p.length % 4).toBe(0);
    expect((p.readUInt16BE(30) + 1) * 4).toBe(p.length - 28);
  });

  it('frames data for the TCP connection', () => {
    expect(interleave(1, b(1, 2, 3))).toEqual(b(0x24, 1, 0, 3, 1, 2, 3));
  });
});
