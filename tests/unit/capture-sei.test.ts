import { describe, expect, it } from 'vitest';
import {
  addEmulationPrevention, CaptureTimeError, captureSeiNal, parseCaptureSei, readCaptureTimeAnnexB, readCaptureTimes,
  removeEmulationPrevention, SKYNET_CAPTURE_UUID, withCaptureSei,
} from '../../gateway/simulator/capture-sei.ts';

/**
 * The capture-time SEI every simulated access unit carries: exact bytes for both codecs, emulation
 * prevention both ways, finding it among other NAL units in MP4 samples and Annex B, and where the
 * simulator puts it in an access unit.
 */

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const UUID_HEX = '5b1e7c3a 9d424f6e 8a0bc4d2 e1f07a19';
/** 2024-05-31T16:08:37.171Z = 0x18F_CF69_0433: its top bytes 00 00 01 need emulation prevention. */
const T = 1_717_171_717_171;

/** MP4 sample: each NAL behind a big-endian length of `size` bytes. */
function lengthPrefixed(nals: Buffer[], size = 4): Buffer {
  return Buffer.concat(nals.flatMap((n) => {
    const len = Buffer.alloc(size);
    len.writeUIntBE(n.length, 0, size);
    return [len, n];
  }));
}

const H264_SPS = hex('67 42c01e d9 00');
const H264_PPS = hex('68 ce3c80');
const H264_AUD = hex('09 f0');
const H264_IDR = hex('65 88 84 00 33');
const H264_P = hex('41 9a 02 20');
/** x264's own user data SEI (another UUID, its version text). */
const X264_SEI = Buffer.concat([hex('06 05 14'), hex('dc45e9bd e6d948b7 962cd820 d923eeef'), Buffer.from('x264'), hex('80')]);
const HEVC_VPS = hex('4001 0c01ffff');
const HEVC_SPS = hex('4201 01016080');
const HEVC_PPS = hex('4401 c0f3');
const HEVC_AUD = hex('4601 50');
const HEVC_IDR = hex('2601 af1122');
const HEVC_TRAIL = hex('0201 d055');

describe('capture-time SEI bytes', () => {
  it('builds the H.264 SEI NAL: type 6, payloadType 5, size 24, UUID, time (emulation-prevented), stop bit', () => {
    expect(captureSeiNal('h264', T)).toEqual(hex(`06 05 18 ${UUID_HEX} 000003 018fcf69 0433 80`));
  });

  it('builds the H.265 PREFIX_SEI NAL with its 2-byte header (type 39, layer 0, TemporalId 0)', () => {
    const nal = captureSeiNal('hevc', T);
    expect(nal).toEqual(hex(`4e01 05 18 ${UUID_HEX} 000003 018fcf69 0433 80`));
    expect((nal[0]! >> 1) & 0x3f).toBe(39);
    expect(captureSeiNal('h265', T)).toEqual(nal);
  });

  it('escapes every run of zeros in the time (time 0: eight zero bytes)', () => {
    expect(captureSeiNal('h264', 0)).toEqual(hex(`06 05 18 ${UUID_HEX} 000003 000003 000003 0000 80`));
    expect(parseCaptureSei(captureSeiNal('h264', 0), 'h264')).toBe(0);
  });

  it('exports the UUID it writes, without zero pairs that would need escaping', () => {
    expect(SKYNET_CAPTURE_UUID).toEqual(hex(UUID_HEX));
    expect(SKYNET_CAPTURE_UUID.includes(Buffer.from([0, 0]))).toBe(false);
  });

  it('refuses a time that is not a whole, safe number of ms, with a stable code', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => captureSeiNal('h264', bad)).toThrow(CaptureTimeError);
    }
    expect(() => captureSeiNal('hevc', -1)).toThrow(expect.objectContaining({ code: 'sei.invalid_time' }));
  });

  it('reads back the largest safe time', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(parseCaptureSei(captureSeiNal('hevc', max), 'hevc')).toBe(max);
  });
});

describe('emulation prevention', () => {
  it('inserts 03 after two zeros before 00..03, and nowhere else', () => {
    expect(Buffer.from(addEmulationPrevention(hex('000000 ff 000001 ff 000002 ff 000003 ff 000004 ff 0000')))).toEqual(
      hex('00000300 ff 00000301 ff 00000302 ff 00000303 ff 000004 ff 0000'));
    // A run of zeros is escaped every two: 00 00 00 00 00 01 → 00 00 03 00 00 03 00 01.
    expect(Buffer.from(addEmulationPrevention(hex('0000000000 01')))).toEqual(hex('000003 000003 00 01'));
  });

  it('round-trips any bytes, and the escaped form never holds 00 00 00, 00 00 01 or 00 00 02', () => {
    let seed = 7;
    const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    for (let n = 0; n < 300; n++) {
      // Mostly zeros and small values: the bytes emulation prevention is about.
      const data = Uint8Array.from({ length: rand() % 64 }, () => (rand() % 3 === 0 ? rand() % 256 : rand() % 4 === 0 ? 3 : 0));
      const escaped = Buffer.from(addEmulationPrevention(data));
      for (let i = 0; i + 2 < escaped.length; i++) {
        if (escaped[i] === 0 && escaped[i + 1] === 0) expect(escaped[i + 2], `at ${i} in ${escaped.toString('hex')}`).toBeGreaterThan(2);
      }
      expect(Buffer.from(removeEmulationPrevention(escaped))).toEqual(Buffer.from(data));
    }
  });

  it('parses the time through emulation prevention for any time value', () => {
    for (const t of [0, 1, 255, 0x1_0000, 0x1_0000_0000, 0x3_0000_0000, T, Date.now(), 2 ** 52 + 3]) {
      expect(parseCaptureSei(captureSeiNal('h264', t), 'h264')).toBe(t);
      expect(parseCaptureSei(captureSeiNal('hevc', t), 'hevc')).toBe(t);
    }
  });
});

describe('finding capture times', () => {
  it('ignores other NAL units, other SEI user data, and the other codec\'s SEI', () => {
    expect(parseCaptureSei(X264_SEI, 'h264')).toBeNull();
    expect(parseCaptureSei(H264_IDR, 'h264')).toBeNull();
    expect(parseCaptureSei(captureSeiNal('hevc', T), 'h264')).toBeNull(); // 0x4e is H.264 type 14
    expect(parseCaptureSei(captureSeiNal('h264', T), 'hevc')).toBeNull(); // 0x06 is H.265 type 3, a slice
    expect(parseCaptureSei(hex('06'), 'h264')).toBeNull();
  });

  it('finds our message after other SEI messages in one NAL, including a payloadType past 255', () => {
    const ours = captureSeiNal('h264', T).subarray(1, -1); // the sei_message without header and stop bit
    const nal = Buffer.concat([hex('06'), hex('00 01 aa'), hex('ff 05 02 bbcc'), ours, hex('80')]);
    expect(parseCaptureSei(nal, 'h264')).toBe(T);
  });

  it('returns null for a truncated message', () => {
    expect(parseCaptureSei(captureSeiNal('h264', T).subarray(0, 20), 'h264')).toBeNull();
  });

  it('reads the times of an MP4 sample of length-prefixed NALs (4, 2 and 1 byte lengths)', () => {
    const au = [H264_AUD, H264_SPS, H264_PPS, X264_SEI, captureSeiNal('h264', T), H264_IDR];
    expect(readCaptureTimes(lengthPrefixed(au), 'h264')).toEqual([T]);
    expect(readCaptureTimes(lengthPrefixed(au, 2), 'h264', 2)).toEqual([T]);
    expect(readCaptureTimes(lengthPrefixed(au, 1), 'h264', 1)).toEqual([T]);
    // An mdat of several samples read as one run of NALs: one time per sample, in order.
    const mdat = Buffer.concat([lengthPrefixed(au), lengthPrefixed([captureSeiNal('h264', T + 100), H264_P])]);
    expect(readCaptureTimes(mdat, 'h264')).toEqual([T, T + 100]);
    const hevc = lengthPrefixed([HEVC_VPS, HEVC_SPS, HEVC_PPS, captureSeiNal('hevc', T), HEVC_IDR, captureSeiNal('hevc', T + 40), HEVC_TRAIL]);
    expect(readCaptureTimes(hevc, 'hevc')).toEqual([T, T + 40]);
  });

  it('stops at a length past the end of the sample, keeping what it found', () => {
    const sample = Buffer.concat([lengthPrefixed([captureSeiNal('h264', T), H264_IDR]), hex('0000ffff 65')]);
    expect(readCaptureTimes(sample, 'h264')).toEqual([T]);
    expect(readCaptureTimes(Buffer.alloc(0), 'h264')).toEqual([]);
    expect(() => readCaptureTimes(sample, 'h264', 5)).toThrow(RangeError);
  });

  it('reads the time of an Annex B access unit (3- and 4-byte start codes)', () => {
    const au = Buffer.concat([hex('00000001'), HEVC_AUD, hex('000001'), HEVC_VPS, hex('00000001'), captureSeiNal('hevc', T), hex('000001'), HEVC_IDR]);
    expect(readCaptureTimeAnnexB(au, 'hevc')).toBe(T);
    expect(readCaptureTimeAnnexB(Buffer.concat([hex('00000001'), captureSeiNal('h264', T)]), 'h264')).toBe(T);
    expect(readCaptureTimeAnnexB(Buffer.concat([hex('00000001'), H264_IDR]), 'h264')).toBeNull();
  });
});

describe('the SEI in an access unit', () => {
  it('goes after the AUD, parameter sets and the encoder\'s SEI, before the first slice (H.264)', () => {
    const au = { nals: [H264_AUD, H264_SPS, H264_PPS, X264_SEI, H264_IDR], keyframe: true };
    const out = withCaptureSei(au, 'h264', T);
    expect(out).toEqual({ nals: [H264_AUD, H264_SPS, H264_PPS, X264_SEI, captureSeiNal('h264', T), H264_IDR], keyframe: true });
    expect(au.nals).toHaveLength(5); // the given AU (a file's cached one) is left as it was
  });

  it('goes before the first slice segment (H.265), and a stale capture SEI is replaced', () => {
    const recorded = { nals: [HEVC_AUD, HEVC_VPS, HEVC_SPS, HEVC_PPS, captureSeiNal('hevc', 1000), HEVC_IDR], keyframe: true };
    expect(withCaptureSei(recorded, 'h265', T).nals).toEqual([HEVC_AUD, HEVC_VPS, HEVC_SPS, HEVC_PPS, captureSeiNal('hevc', T), HEVC_IDR]);
    expect(withCaptureSei({ nals: [HEVC_TRAIL], keyframe: false }, 'hevc', T).nals).toEqual([captureSeiNal('hevc', T), HEVC_TRAIL]);
  });
});
