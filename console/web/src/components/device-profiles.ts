import type { Device, MediaProfile } from '../api/devices.ts'

/** One line of the device page's media profile table. */
export interface ProfileRow {
  token: string
  name: string
  /** The registered stream this profile feeds, or null for a profile neither uses. */
  stream: 'main' | 'sub' | null
  encoding: string
  /** `1920×1080`; null when the camera reported no size. */
  resolution: string | null
  fps: number | null
  gop: number | null
  /** The keyframe interval in seconds (GOP / fps, to 0.1 s); null unless both are known. */
  gopSeconds: number | null
}

/**
 * Which profile is the main and which the sub stream: the one whose URI is the device's stream URL,
 * else the first and second profile — the rule the gateway's live API uses (gateway/streams/service.ts
 * describeStreams), so the page and the player agree on what "main" is.
 */
function streamProfiles(d: Pick<Device, 'profiles' | 'streams'>): { main: MediaProfile | undefined; sub: MediaProfile | undefined } {
  const pick = (uri: string | null, index: number) =>
    (uri ? d.profiles.find((p) => p.rtspUri && p.rtspUri === uri) : undefined) ?? d.profiles[index]
  return { main: pick(d.streams.main, 0), sub: pick(d.streams.sub, 1) }
}

/** The device's ONVIF profiles as the table shows them, in the camera's order. */
export function profileRows(d: Pick<Device, 'profiles' | 'streams'>): ProfileRow[] {
  const { main, sub } = streamProfiles(d)
  return d.profiles.map((p) => {
    const fps = typeof p.fps === 'number' && p.fps > 0 ? p.fps : null
    const gop = typeof p.gop === 'number' && p.gop > 0 ? p.gop : null
    return {
      token: p.token,
      name: p.name,
      stream: p === main ? 'main' : p === sub ? 'sub' : null,
      encoding: p.encoding,
      resolution: p.width > 0 && p.height > 0 ? `${p.width}×${p.height}` : null,
      fps,
      gop,
      gopSeconds: fps !== null && gop !== null ? Math.round((gop / fps) * 10) / 10 : null,
    }
  })
}
