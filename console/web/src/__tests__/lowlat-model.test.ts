// The low-latency player's decisions: the wire format, staying at the live edge, trimming, the
// latency maths, closed sockets and the choice of stream; runs in node.
import { describe, expect, it } from 'vitest'
import {
  FAR_BEHIND_S,
  HEVC_PROBE_MIME,
  addMark,
  arrivalOf,
  chooseStream,
  clockOffsetMs,
  codecLabel,
  footageDecodes,
  latencyFrom,
  mainDecodes,
  mimeOf,
  onSocketClosed,
  parseControl,
  parsePacket,
  playbackRateFor,
  pruneMarks,
  quotaTrim,
  reconnectDelayMs,
  steer,
  trimBefore,
  type StreamOffer,
} from '../components/lowlat/lowlat-model.ts'

function packet(kind: number, arrivedAt: number, payload: number[]): ArrayBuffer {
  const buf = new ArrayBuffer(9 + payload.length)
  const view = new DataView(buf)
  view.setUint8(0, kind)
  view.setFloat64(1, arrivedAt, false)
  new Uint8Array(buf, 9).set(payload)
  return buf
}

describe('parsePacket', () => {
  it('splits the 9-byte header from the box bytes', () => {
    const p = parsePacket(packet(3, 1714521600123.5, [0, 0, 0, 8, 0x6d, 0x6f, 0x6f, 0x66]))!
    expect(p.kind).toBe('keyframe')
    expect(p.arrivedAt).toBe(1714521600123.5)
    expect([...p.payload]).toEqual([0, 0, 0, 8, 0x6d, 0x6f, 0x6f, 0x66])
    expect(parsePacket(packet(1, 5, [1]))!.kind).toBe('init')
    expect(parsePacket(packet(2, 5, [1]))!.kind).toBe('fragment')
  })

  it('refuses a message with no payload, an unknown kind or a bad time', () => {
    expect(parsePacket(packet(2, 5, []))).toBeNull()
    expect(parsePacket(packet(7, 5, [1]))).toBeNull()
    expect(parsePacket(packet(2, Number.NaN, [1]))).toBeNull()
    expect(parsePacket(new ArrayBuffer(3))).toBeNull()
  })
})

describe('parseControl', () => {
  it('reads the init message of the contract', () => {
    const text = JSON.stringify({ type: 'init', codec: 'avc1.64001f', mime: 'video/mp4; codecs="avc1.64001f"', width: 1280, height: 720, stream: 'main', mode: 'copy', serverTime: 1714521600000 })
    expect(parseControl(text)).toEqual({
      type: 'init',
      codec: 'avc1.64001f',
      mime: 'video/mp4; codecs="avc1.64001f"',
      width: 1280,
      height: 720,
      stream: 'main',
      mode: 'copy',
      serverTime: 1714521600000,
    })
  })

  it('reads skip and end, and ignores anything else', () => {
    expect(parseControl('{"type":"skip","dropped":12}')).toEqual({ type: 'skip', dropped: 12 })
    expect(parseControl('{"type":"end","reason":"ffmpeg exited with code 1"}')).toEqual({ type: 'end', reason: 'ffmpeg exited with code 1' })
    expect(parseControl('{"type":"init","codec":"avc1.64001f","mime":"video/mp4","stream":"third","mode":"copy"}')).toBeNull()
    expect(parseControl('{"type":"init","mime":"video/mp4","stream":"main","mode":"copy"}')).toBeNull()
    expect(parseControl('{"type":"hello"}')).toBeNull()
    expect(parseControl('not json')).toBeNull()
    expect(parseControl('null')).toBeNull()
  })

  it('builds the MIME type of a codec string', () => {
    expect(mimeOf('hvc1.1.6.L93.B0')).toBe('video/mp4; codecs="hvc1.1.6.L93.B0"')
  })
})

describe('staying at the live edge', () => {
  it('plays at 1 near the target, 1.1 a little over it, 1.25 well over it', () => {
    expect([0, 0.3, 0.5, 0.51, 0.9, 1.39, 1.45, 2.9].map((a) => playbackRateFor(a, 0.4))).toEqual([1, 1, 1, 1.1, 1.1, 1.1, 1.25, 1.25])
    expect(playbackRateFor(Number.NaN)).toBe(1)
  })

  it('catches up by rate inside the last range, by a seek only when far behind', () => {
    const r = [{ start: 10, end: 14 }]
    expect(steer(13.6, r)).toEqual({ seekTo: null, rate: 1 })
    expect(steer(13, r)).toEqual({ seekTo: null, rate: 1.1 })
    expect(steer(11.5, r)).toEqual({ seekTo: null, rate: 1.25 })
    expect(steer(10.9, r)).toEqual({ seekTo: 13.6, rate: 1 })
    expect(FAR_BEHIND_S).toBe(3)
  })

  it('starts a new MediaSource at the first range, or at the live edge when that is far ahead', () => {
    expect(steer(0, [{ start: 12.3, end: 13.1 }])).toEqual({ seekTo: 12.3, rate: 1 })
    expect(steer(0, [{ start: 12.3, end: 16.3 }])).toEqual({ seekTo: 15.9, rate: 1 })
    expect(steer(0.05, [{ start: 0.1, end: 1 }])).toEqual({ seekTo: null, rate: 1.1 })
  })

  it('jumps the gap after a skip, from inside it or stuck at the end before it', () => {
    const r = [{ start: 10, end: 12 }, { start: 14, end: 15 }]
    expect(steer(12.5, r)).toEqual({ seekTo: 14, rate: 1 })
    expect(steer(11.9, r)).toEqual({ seekTo: 14, rate: 1 })
    // playing mid-range: the gap is jumped when the playhead gets there
    expect(steer(11.5, [{ start: 10, end: 12 }, { start: 13, end: 14 }])).toEqual({ seekTo: null, rate: 1.25 })
    // a gap with far more than FAR_BEHIND_S after it: straight to the live edge
    expect(steer(12, [{ start: 10, end: 12 }, { start: 14, end: 20 }])).toEqual({ seekTo: 19.6, rate: 1 })
  })

  it('goes back to the live edge from past the buffer, and does nothing with no buffer', () => {
    expect(steer(30, [{ start: 10, end: 12 }])).toEqual({ seekTo: 11.6, rate: 1 })
    expect(steer(30, [{ start: 10, end: 10.2 }])).toEqual({ seekTo: 10, rate: 1 })
    expect(steer(5, [])).toEqual({ seekTo: null, rate: 1 })
  })

  it('trims the past in batches, keeping ten seconds behind the playhead', () => {
    expect(trimBefore(20, [{ start: 0, end: 21 }])).toBe(10)
    expect(trimBefore(20, [{ start: 9, end: 21 }])).toBeNull()
    expect(trimBefore(20, [{ start: 8, end: 21 }])).toBe(10)
    expect(trimBefore(5, [{ start: 0, end: 6 }])).toBeNull()
    expect(trimBefore(5, [])).toBeNull()
  })

  it('frees all but the last second when the buffer is full, if there is a past to cut', () => {
    expect(quotaTrim(20, [{ start: 12, end: 21 }])).toBe(19)
    expect(quotaTrim(12.5, [{ start: 12, end: 21 }])).toBeNull()
    expect(quotaTrim(12.5, [])).toBeNull()
  })
})

describe('latency', () => {
  const t0 = 1_714_521_600_000

  it('dates the frame on screen from the fragment that holds it', () => {
    let marks = addMark([], { mediaEnd: 10.1, arrivedAt: t0 + 100 })
    marks = addMark(marks, { mediaEnd: 10.2, arrivedAt: t0 + 205 })
    marks = addMark(marks, { mediaEnd: 10.3, arrivedAt: t0 + 300 })
    expect(arrivalOf(marks, 10.15)).toBeCloseTo(t0 + 155, 6)
    expect(arrivalOf(marks, 10.3)).toBe(t0 + 300)
    expect(arrivalOf(marks, 9.9)).toBeCloseTo(t0 - 100, 6)
    expect(arrivalOf(marks, 10.4)).toBeNull()
  })

  it('starts the marks again when the timeline restarts, and bounds them', () => {
    const marks = addMark([{ mediaEnd: 50, arrivedAt: t0 }], { mediaEnd: 0.1, arrivedAt: t0 + 10 })
    expect(marks).toEqual([{ mediaEnd: 0.1, arrivedAt: t0 + 10 }])
    let many = [{ mediaEnd: 0, arrivedAt: 0 }]
    for (let i = 1; i <= 10; i++) many = addMark(many, { mediaEnd: i, arrivedAt: i }, 4)
    expect(many.map((m) => m.mediaEnd)).toEqual([7, 8, 9, 10])
    expect(pruneMarks(many, 20, 11).map((m) => m.mediaEnd)).toEqual([9, 10])
    expect(pruneMarks(many, 5, 11).map((m) => m.mediaEnd)).toEqual([7, 8, 9, 10])
  })

  it('is now minus the arrival on the local clock, corrected by the init\'s serverTime', () => {
    // the gateway's clock runs 2 s behind this one; the init took 5 ms to come
    const offset = clockOffsetMs(t0, t0 + 2005)
    expect(offset).toBe(2005)
    expect(latencyFrom(t0 + 2005 + 400, t0, offset)).toBe(400)
    expect(latencyFrom(t0 + 2005 - 100, t0, offset)).toBe(0)
    expect(latencyFrom(t0 + 2005 - 1000, t0, offset)).toBeNull()
    expect(latencyFrom(t0, null, 0)).toBeNull()
    expect(latencyFrom(t0 + 700_000, t0, 0)).toBeNull()
  })
})

describe('onSocketClosed', () => {
  const fed = { delivered: true, handshakeFailures: 0, attempt: 0 }

  it('gets a fresh ticket at once when the token expired or was revoked (4401)', () => {
    expect(onSocketClosed({ ...fed, code: 4401 })).toEqual({ action: 'renew', delayMs: 0, reason: 'token' })
    expect(onSocketClosed({ ...fed, code: 4401, attempt: 2 })).toEqual({ action: 'renew', delayMs: 2000, reason: 'token' })
  })

  it('reconnects with back-off after a stopped session (4410) or a dropped connection (1006)', () => {
    expect(onSocketClosed({ ...fed, code: 4410 })).toEqual({ action: 'renew', delayMs: 500, reason: 'stopped' })
    expect(onSocketClosed({ code: 4410, delivered: false, handshakeFailures: 1, attempt: 1 })).toEqual({ action: 'renew', delayMs: 1000, reason: 'stopped' })
    expect(onSocketClosed({ ...fed, code: 1006, attempt: 3 })).toEqual({ action: 'renew', delayMs: 4000, reason: 'network' })
    expect(onSocketClosed({ ...fed, code: 1011, attempt: 6 })).toEqual({ action: 'fail', failure: 'ws-failed' })
  })

  it('reports a wrong camera (4403) and a missing session (4404)', () => {
    expect(onSocketClosed({ ...fed, code: 4403 })).toEqual({ action: 'fail', failure: 'forbidden' })
    expect(onSocketClosed({ ...fed, code: 4404 })).toEqual({ action: 'fail', failure: 'no-session' })
  })

  it('tries a socket that delivered nothing once more with a fresh ticket, then gives up for HLS', () => {
    expect(onSocketClosed({ code: 1006, delivered: false, handshakeFailures: 0, attempt: 0 })).toEqual({ action: 'renew', delayMs: 500, reason: 'network' })
    expect(onSocketClosed({ code: 1006, delivered: false, handshakeFailures: 1, attempt: 1 })).toEqual({ action: 'fail', failure: 'ws-failed' })
    expect(onSocketClosed({ code: 1011, delivered: false, handshakeFailures: 1, attempt: 1 })).toEqual({ action: 'fail', failure: 'ws-failed' })
  })

  it('backs off 0.5 s, 1 s, 2 s … at most 15 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(reconnectDelayMs)).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000])
  })
})

describe('chooseStream', () => {
  const offer = (stream: 'main' | 'sub', encoding: string | null): StreamOffer => ({ stream, encoding, width: 1920, height: 1080, fps: 25, gop: 50 })
  const h264Only = (mime: string) => mime.includes('avc1')
  const everything = () => true
  const h265Main = [offer('main', 'H265'), offer('sub', 'H264')]

  it('gives small tiles and phones the sub stream when the camera has one', () => {
    expect(chooseStream({ streams: h265Main, size: 'small', isTypeSupported: everything })).toEqual({ stream: 'sub', why: 'small' })
    expect(chooseStream({ streams: [offer('main', 'H264')], size: 'small', isTypeSupported: h264Only })).toEqual({ stream: 'main', why: 'decodes' })
  })

  it('gives a large view H.265 main where the browser decodes it, else the sub stream, else main transcoded', () => {
    expect(chooseStream({ streams: h265Main, size: 'large', isTypeSupported: everything })).toEqual({ stream: 'main', why: 'decodes' })
    expect(chooseStream({ streams: h265Main, size: 'large', isTypeSupported: h264Only })).toEqual({ stream: 'sub', why: 'undecodable' })
    expect(chooseStream({ streams: [offer('main', 'H265')], size: 'large', isTypeSupported: h264Only })).toEqual({ stream: 'compat', why: 'transcode' })
    expect(chooseStream({ streams: [offer('main', 'H264'), offer('sub', 'H264')], size: 'large', isTypeSupported: h264Only })).toEqual({ stream: 'main', why: 'decodes' })
  })

  it('tests the H.265 probe first, then the exact string once an init told it', () => {
    const tested: string[] = []
    const probeOnly = (mime: string) => {
      tested.push(mime)
      return mime === HEVC_PROBE_MIME
    }
    expect(chooseStream({ streams: h265Main, size: 'large', isTypeSupported: probeOnly })).toEqual({ stream: 'main', why: 'decodes' })
    expect(tested).toEqual([HEVC_PROBE_MIME])
    expect(chooseStream({ streams: h265Main, size: 'large', isTypeSupported: probeOnly, mainCodec: 'hvc1.2.4.L153.B0' })).toEqual({ stream: 'sub', why: 'undecodable' })
    expect(tested).toEqual([HEVC_PROBE_MIME, HEVC_PROBE_MIME, 'video/mp4; codecs="hvc1.2.4.L153.B0"'])
  })

  it('asks for main while nothing is known of the streams', () => {
    expect(chooseStream({ streams: [], size: 'small', isTypeSupported: everything })).toEqual({ stream: 'main', why: 'unknown' })
  })

  it('decodes H.264, tries an unknown encoding, refuses MJPEG', () => {
    expect(mainDecodes('H264', null, () => false)).toBe(true)
    expect(mainDecodes(null, null, () => false)).toBe(true)
    expect(mainDecodes('JPEG', null, everything)).toBe(false)
    expect(mainDecodes('H264', 'avc1.640033', h264Only)).toBe(true)
    expect(mainDecodes('H264', 'avc1.640033', () => false)).toBe(false)
  })

  it('labels codecs for the overlay', () => {
    expect(['avc1.64001f', 'h264', 'hvc1.1.6.L93.B0', 'hev1.1.6.L93.B0', 'hevc', 'H265', 'mp4v.20.9', null].map(codecLabel)).toEqual([
      'H.264', 'H.264', 'H.265', 'H.265', 'H.265', 'H.265', 'MP4V', null,
    ])
  })
})

describe('footage in the camera\'s own codec', () => {
  it('plays H.264 and unknown codecs, and H.265 only where the browser decodes HEVC', () => {
    const none = () => false
    const hevc = (mime: string) => mime.includes('hvc1')
    expect(footageDecodes('h264', none)).toBe(true)
    expect(footageDecodes(null, none)).toBe(true)
    expect(footageDecodes('hevc', none)).toBe(false)
    expect(footageDecodes('hevc', hevc)).toBe(true)
  })
})
