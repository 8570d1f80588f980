// The device page's media profile table, as plain values; runs in node.
import { describe, expect, it } from 'vitest'
import { profileRows } from '../components/device-profiles.ts'
import type { MediaProfile } from '../api/devices.ts'

const main: MediaProfile = { token: 'Profile_101', name: 'mainStream', encoding: 'H265', width: 1920, height: 1080, fps: 25, gop: 100, rtspUri: 'rtsp://10.0.0.5/Streaming/Channels/101' }
const sub: MediaProfile = { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 640, height: 360, fps: 15, gop: 60, rtspUri: 'rtsp://10.0.0.5/Streaming/Channels/102' }
const streams = { main: 'rtsp://10.0.0.5/Streaming/Channels/101', sub: 'rtsp://10.0.0.5/Streaming/Channels/102', snapshot: null }

describe('media profile rows', () => {
  it('names main and sub, the codec, size, frame rate and GOP in frames and seconds', () => {
    expect(profileRows({ profiles: [main, sub], streams })).toEqual([
      { token: 'Profile_101', name: 'mainStream', stream: 'main', encoding: 'H265', resolution: '1920×1080', fps: 25, gop: 100, gopSeconds: 4 },
      { token: 'Profile_102', name: 'subStream', stream: 'sub', encoding: 'H264', resolution: '640×360', fps: 15, gop: 60, gopSeconds: 4 },
    ])
  })

  it('matches the registered stream URLs before the order, as the live API does', () => {
    const swapped = { main: streams.sub, sub: streams.main, snapshot: null }
    expect(profileRows({ profiles: [main, sub], streams: swapped }).map((r) => r.stream)).toEqual(['sub', 'main'])
    const third: MediaProfile = { token: 'P3', name: 'third', encoding: 'JPEG', width: 320, height: 240 }
    expect(profileRows({ profiles: [third, main, sub], streams }).map((r) => r.stream)).toEqual([null, 'main', 'sub'])
  })

  it('falls back to the first and second profile without URIs, one profile being the main only', () => {
    const bare = [{ ...main, rtspUri: undefined }, { ...sub, rtspUri: undefined }]
    expect(profileRows({ profiles: bare, streams }).map((r) => r.stream)).toEqual(['main', 'sub'])
    expect(profileRows({ profiles: [bare[0]!], streams }).map((r) => r.stream)).toEqual(['main'])
    expect(profileRows({ profiles: [], streams })).toEqual([])
  })

  it('leaves out what the camera did not report', () => {
    const unknown: MediaProfile = { token: 'p', name: 'p', encoding: 'H264', width: 0, height: 0 }
    expect(profileRows({ profiles: [unknown], streams: { main: null, sub: null, snapshot: null } })[0]).toEqual({
      token: 'p', name: 'p', stream: 'main', encoding: 'H264', resolution: null, fps: null, gop: null, gopSeconds: null,
    })
    expect(profileRows({ profiles: [{ ...unknown, gop: 50 }], streams })[0]).toMatchObject({ gop: 50, gopSeconds: null })
    expect(profileRows({ profiles: [{ ...unknown, fps: 12.5, gop: 25 }], streams })[0]).toMatchObject({ fps: 12.5, gopSeconds: 2 })
  })
})
