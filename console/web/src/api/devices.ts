import { http, seg, type ErrorParams } from './http.ts'

export type DeviceKind = 'camera' | 'checkpoint' | 'mobile'
export type CameraType = 'fixed' | 'ptz' | 'face'
export type DeviceState = 'unknown' | 'online' | 'offline' | 'degraded'
export type RecordingMode = 'none' | 'continuous' | 'event'
export type DeviceSort = 'name' | 'code' | 'status' | 'updatedAt'

export const DEVICE_KINDS: DeviceKind[] = ['camera', 'checkpoint', 'mobile']
export const CAMERA_TYPES: CameraType[] = ['fixed', 'ptz', 'face']
export const DEVICE_STATES: DeviceState[] = ['online', 'offline', 'degraded', 'unknown']
export const RECORDING_MODES: RecordingMode[] = ['none', 'continuous', 'event']

export interface MediaProfile {
  token: string
  name: string
  encoding: string
  width: number
  height: number
  /** FrameRateLimit the camera reported. */
  fps?: number
  /** Keyframe interval in frames (ONVIF GovLength), when the camera reported it. */
  gop?: number
  /** The profile's stream, without credentials (absent when the camera reported none or a refused one). */
  rtspUri?: string | null
}

export interface GeoLocation {
  lat: number
  lon: number
  heading: number | null
}

export interface Streams {
  main: string | null
  sub: string | null
  snapshot: string | null
}

export interface Recording {
  mode: RecordingMode
  retentionDays: number
}

export interface DeviceStatus {
  state: DeviceState
  reason: string | null
  lastSeenAt: string | null
  checkedAt: string | null
}

export interface Device {
  id: string
  kind: DeviceKind
  cameraType: CameraType | null
  name: string
  code: string | null
  siteId: string | null
  siteName: string | null
  address: string | null
  location: GeoLocation | null
  tags: string[]
  onvif: { host: string; port: number; username: string; hasPassword: boolean } | null
  streams: Streams
  profiles: MediaProfile[]
  vendor: string | null
  model: string | null
  serial: string | null
  firmware: string | null
  ptz: boolean
  recording: Recording
  /** Only in the answer that created the device or rotated its key: shown once. */
  streamKey?: string | null
  hasStreamKey?: boolean
  enabled: boolean
  status: DeviceStatus
  createdAt: string
  updatedAt: string
  /** Set once the device was deleted: out of service, its footage kept until its retention ends. */
  decommissionedAt: string | null
}

export interface DeviceInput {
  kind: DeviceKind
  cameraType: CameraType | null
  name: string
  code: string | null
  siteId: string | null
  address: string | null
  location: GeoLocation | null
  tags: string[]
  /** password absent or empty on PATCH means unchanged. */
  onvif: { host: string; port: number; username: string; password?: string } | null
  streams: Streams
  ptz: boolean
  recording: Recording
  enabled: boolean
  /** Filled by an ONVIF probe in the form; only sent after one. */
  vendor?: string | null
  model?: string | null
  serial?: string | null
  firmware?: string | null
  profiles?: MediaProfile[]
  /** Register anyway although the ONVIF endpoint, serial or a stream URL is already registered. */
  confirmDuplicate?: boolean
}

/** The params of a 409 `device.duplicate`: the device already registered, and what it shares. */
export interface DuplicateParams {
  attribute: 'onvif' | 'serial' | 'stream'
  value: string
  deviceId: string
  deviceName: string
  deviceCode: string
}

export interface DeviceQuery {
  q?: string
  kind?: DeviceKind | ''
  cameraType?: CameraType | ''
  siteId?: string
  status?: DeviceState | ''
  tag?: string
  enabled?: 'true' | 'false' | ''
  page: number
  pageSize: number
  sort?: DeviceSort
  order?: 'asc' | 'desc'
  /** How names sort (by pinyin in zh-CN): the UI language. */
  locale?: string
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  pageSize: number
}

/** One problem of one CSV row: worded from `code` and `params`; `field` is the CSV column. */
export interface CsvRefusal {
  row: number
  field: string | null
  code: string
  params: ErrorParams
  reason: string
}

/** All or nothing: `applied` false means nothing was written. */
export interface ImportReport {
  applied: boolean
  rows: number
  created: number
  updated: number
  refused: CsvRefusal[]
}

export interface ProbeRequest {
  host: string
  port: number
  username: string
  password: string
}

export interface ProbedProfile extends MediaProfile {
  rtspUri: string | null
  snapshotUri: string | null
}

export interface ProbeResult {
  vendor: string | null
  model: string | null
  serial: string | null
  firmware: string | null
  profiles: ProbedProfile[]
  rtspMain: string | null
  rtspSub: string | null
  snapshotUri: string | null
  ptz: boolean
  /** What the probe dropped from the camera's answer (a file: or concat: URI…), worded like an error code. */
  warnings?: ProbeWarning[]
}

export interface ProbeWarning {
  code: string
  params: Record<string, string | number>
  message: string
}

export interface DiscoverRequest {
  timeoutMs?: number
  host?: string
  port?: number
}

export interface DiscoveredDevice {
  urn: string
  host: string
  port: number
  xaddrs: string[] | string
  name: string | null
  hardware: string | null
  scopes: string[]
  /** The registered device at this ONVIF address, if any. */
  registered?: { deviceId: string; name: string } | null
}

export function listDevices(query: DeviceQuery, signal?: AbortSignal): Promise<Page<Device>> {
  return http.get<Page<Device>>('/devices', { query: { ...query }, signal })
}

export function getDevice(id: string): Promise<Device> {
  return http.get<Device>(`/devices/${seg(id)}`)
}

export function createDevice(input: DeviceInput): Promise<Device> {
  return http.post<Device>('/devices', input)
}

export function updateDevice(id: string, input: Partial<DeviceInput>): Promise<Device> {
  return http.patch<Device>(`/devices/${seg(id)}`, input)
}

/** A new RTMP stream key for a mobile camera (admins), shown once. */
export function rotateStreamKey(id: string): Promise<{ streamKey: string }> {
  return http.post<{ streamKey: string }>(`/devices/${seg(id)}/stream-key`, {})
}

export function deleteDevice(id: string): Promise<void> {
  return http.delete(`/devices/${seg(id)}`)
}

export function importDevicesCsv(csv: string, confirmDuplicate = false): Promise<ImportReport> {
  return http.post<ImportReport>('/devices/import', undefined, {
    raw: { contentType: 'text/csv', data: csv },
    query: confirmDuplicate ? { confirmDuplicate: true } : undefined,
  })
}

/** The import template (header and an example row that imports as it stands), enumeration labels in `locale`. */
export function fetchImportTemplate(locale: string): Promise<string> {
  return http.get<string>('/devices/import/template', { query: { locale } })
}

export function probeDevice(req: ProbeRequest): Promise<ProbeResult> {
  return http.post<ProbeResult>('/devices/probe', req)
}

/** Probe a registered device again with its stored credentials (editing without retyping the password). */
export function probeRegisteredDevice(id: string): Promise<ProbeResult> {
  return http.post<ProbeResult>(`/devices/${seg(id)}/probe`, {})
}

export async function discoverDevices(req: DiscoverRequest): Promise<DiscoveredDevice[]> {
  const res = await http.post<{ items: DiscoveredDevice[] }>('/devices/discover', req)
  return res.items
}
