// The device form's flat model and its conversions to and from the API shapes.
import type {
  CameraType,
  Device,
  DeviceInput,
  DeviceKind,
  MediaProfile,
  ProbeResult,
  RecordingMode,
} from '../api/devices.ts'

export interface DeviceFormModel {
  kind: DeviceKind
  cameraType: CameraType | null
  name: string
  code: string
  siteId: string
  address: string
  lat: number | null | undefined
  lon: number | null | undefined
  heading: number | null | undefined
  tags: string[]
  onvifHost: string
  onvifPort: number | null | undefined
  username: string
  password: string
  hasPassword: boolean
  streamMain: string
  streamSub: string
  snapshot: string
  ptz: boolean
  recordingMode: RecordingMode
  retentionDays: number | null | undefined
  enabled: boolean
  /** Set by an ONVIF probe; sent only after one. */
  probed: { vendor: string | null; model: string | null; serial: string | null; firmware: string | null; profiles: MediaProfile[] } | null
}

/** What the discovery dialog hands to a new form. */
export interface DeviceFormPrefill {
  name?: string
  onvifHost?: string
  onvifPort?: number
}

export function emptyForm(prefill?: DeviceFormPrefill | null): DeviceFormModel {
  return {
    kind: 'camera',
    cameraType: 'fixed',
    name: prefill?.name ?? '',
    code: '',
    siteId: '',
    address: '',
    lat: null,
    lon: null,
    heading: null,
    tags: [],
    onvifHost: prefill?.onvifHost ?? '',
    onvifPort: prefill?.onvifPort ?? 80,
    username: '',
    password: '',
    hasPassword: false,
    streamMain: '',
    streamSub: '',
    snapshot: '',
    ptz: false,
    recordingMode: 'continuous',
    retentionDays: 30,
    enabled: true,
    probed: null,
  }
}

export function formFromDevice(d: Device): DeviceFormModel {
  return {
    kind: d.kind,
    cameraType: d.cameraType,
    name: d.name,
    code: d.code ?? '',
    siteId: d.siteId ?? '',
    address: d.address ?? '',
    lat: d.location?.lat ?? null,
    lon: d.location?.lon ?? null,
    heading: d.location?.heading ?? null,
    tags: [...d.tags],
    onvifHost: d.onvif?.host ?? '',
    onvifPort: d.onvif?.port ?? 80,
    username: d.onvif?.username ?? '',
    password: '',
    hasPassword: d.onvif?.hasPassword ?? false,
    streamMain: d.streams.main ?? '',
    streamSub: d.streams.sub ?? '',
    snapshot: d.streams.snapshot ?? '',
    ptz: d.ptz,
    recordingMode: d.recording.mode,
    retentionDays: d.recording.retentionDays,
    enabled: d.enabled,
    probed: null,
  }
}

const blank = (s: string): string | null => (s.trim() === '' ? null : s.trim())
const num = (n: number | null | undefined): number | null => (typeof n === 'number' && Number.isFinite(n) ? n : null)

export function formToInput(m: DeviceFormModel): DeviceInput {
  const lat = num(m.lat)
  const lon = num(m.lon)
  const onvifHost = blank(m.onvifHost)
  const input: DeviceInput = {
    kind: m.kind,
    cameraType: m.kind === 'camera' ? m.cameraType : null,
    name: m.name.trim(),
    code: blank(m.code),
    siteId: blank(m.siteId),
    address: blank(m.address),
    location: lat !== null && lon !== null ? { lat, lon, heading: num(m.heading) } : null,
    tags: m.tags.map((t) => t.trim()).filter((t) => t !== ''),
    onvif:
      m.kind !== 'mobile' && onvifHost
        ? {
            host: onvifHost,
            port: num(m.onvifPort) ?? 80,
            username: m.username.trim(),
            ...(m.password !== '' ? { password: m.password } : {}),
          }
        : null,
    streams: { main: blank(m.streamMain), sub: blank(m.streamSub), snapshot: blank(m.snapshot) },
    ptz: m.kind === 'camera' && m.ptz,
    recording: { mode: m.recordingMode, retentionDays: num(m.retentionDays) ?? 30 },
    enabled: m.enabled,
  }
  if (m.probed) Object.assign(input, m.probed)
  return input
}

/** Copy what a probe learned into the form; stream URLs the user typed are replaced. */
export function applyProbe(m: DeviceFormModel, p: ProbeResult): void {
  m.probed = {
    vendor: p.vendor,
    model: p.model,
    serial: p.serial,
    firmware: p.firmware,
    // Frame rate and GOP as the camera reported them: the live player says from them how long a first picture may take.
    profiles: p.profiles.map(({ token, name, encoding, width, height, fps, gop }) => ({
      token, name, encoding, width, height, ...(fps !== undefined ? { fps } : {}), ...(gop !== undefined ? { gop } : {}),
    })),
  }
  if (p.rtspMain) m.streamMain = p.rtspMain
  if (p.rtspSub) m.streamSub = p.rtspSub
  if (p.snapshotUri) m.snapshot = p.snapshotUri
  m.ptz = p.ptz
  if (p.ptz && m.cameraType === 'fixed') m.cameraType = 'ptz'
}

// Server field paths (body/onvif/host, onvif.host, /location/lat) → the form item they belong to.
const FIELD_TO_PROP: Record<string, keyof DeviceFormModel> = {
  name: 'name',
  code: 'code',
  kind: 'kind',
  cameraType: 'cameraType',
  siteId: 'siteId',
  address: 'address',
  location: 'lat',
  'location.lat': 'lat',
  'location.lon': 'lon',
  'location.heading': 'heading',
  tags: 'tags',
  onvif: 'onvifHost',
  'onvif.host': 'onvifHost',
  'onvif.port': 'onvifPort',
  'onvif.username': 'username',
  'onvif.password': 'password',
  serial: 'onvifHost',
  // An ad-hoc ONVIF probe's fields (POST /api/devices/probe).
  host: 'onvifHost',
  port: 'onvifPort',
  username: 'username',
  password: 'password',
  streams: 'streamMain',
  'streams.main': 'streamMain',
  'streams.sub': 'streamSub',
  'streams.snapshot': 'snapshot',
  ptz: 'ptz',
  recording: 'recordingMode',
  'recording.mode': 'recordingMode',
  'recording.retentionDays': 'retentionDays',
  enabled: 'enabled',
}

export function propForField(field: string): keyof DeviceFormModel | null {
  const path = field
    .replace(/^\/?body[./]?/, '')
    .replace(/^[/.]/, '')
    .replace(/\//g, '.')
    .replace(/\.\d+$/, '')
  return FIELD_TO_PROP[path] ?? null
}

/** The label (i18n key under device.field) of each form item, to word a server error naming its field. */
export const PROP_LABEL_KEY: Partial<Record<keyof DeviceFormModel, string>> = {
  name: 'name',
  code: 'code',
  kind: 'kind',
  cameraType: 'cameraType',
  siteId: 'site',
  address: 'address',
  lat: 'lat',
  lon: 'lon',
  heading: 'heading',
  tags: 'tags',
  onvifHost: 'onvifHost',
  onvifPort: 'onvifPort',
  username: 'username',
  password: 'password',
  streamMain: 'streamMain',
  streamSub: 'streamSub',
  snapshot: 'snapshot',
  ptz: 'ptz',
  recordingMode: 'recording',
  retentionDays: 'retentionDays',
  enabled: 'enabled',
}
