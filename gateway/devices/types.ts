import type { OnvifProfile } from '../onvif/types.ts';

export const DEVICE_KINDS = ['camera', 'checkpoint', 'mobile'] as const;
export const CAMERA_TYPES = ['fixed', 'ptz', 'face'] as const;
export const DEVICE_STATES = ['unknown', 'online', 'offline', 'degraded'] as const;
export const RECORDING_MODES = ['none', 'continuous', 'event'] as const;

export type DeviceKind = (typeof DEVICE_KINDS)[number];
export type CameraType = (typeof CAMERA_TYPES)[number];
export type DeviceState = (typeof DEVICE_STATES)[number];
export type RecordingMode = (typeof RECORDING_MODES)[number];

/** A stream profile as ONVIF reports it; stored with the device (a hand-entered one may lack its URI). */
export type StreamProfile = Omit<OnvifProfile, 'rtspUri'> & { rtspUri?: string };

export interface DeviceStatus {
  state: DeviceState;
  reason: string | null;
  lastSeenAt: Date | null;
  checkedAt: Date | null;
}

/** A device as the API shows it: never a password. */
export interface Device {
  id: string;
  kind: DeviceKind;
  cameraType: CameraType | null;
  name: string;
  code: string | null;
  siteId: string | null;
  siteName: string | null;
  address: string | null;
  location: { lat: number; lon: number; heading: number | null } | null;
  tags: string[];
  onvif: { host: string; port: number; username: string | null; hasPassword: boolean } | null;
  streams: { main: string | null; sub: string | null; snapshot: string | null };
  profiles: StreamProfile[];
  vendor: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  ptz: boolean;
  recording: { mode: RecordingMode; retentionDays: number };
  /** A mobile camera's RTMP stream key, present only in the answer that created or rotated it: stored as a hash, shown once. */
  streamKey: string | null;
  hasStreamKey: boolean;
  /** SHA-256 (hex) of the key; internal, never in an API answer (not in DeviceSchema). */
  streamKeyHash: string | null;
  enabled: boolean;
  status: DeviceStatus;
  createdAt: Date;
  updatedAt: Date;
  /** Set when the device was deleted: it is out of service, its footage stays until retention ends. */
  decommissionedAt: Date | null;
}

/** What a person may set. Absent fields keep their value on update. */
export interface DeviceInput {
  kind?: DeviceKind;
  cameraType?: CameraType | null;
  name?: string;
  code?: string | null;
  siteId?: string | null;
  address?: string | null;
  location?: { lat: number; lon: number; heading?: number | null } | null;
  tags?: string[];
  onvif?: { host: string; port?: number; username?: string | null; password?: string | null } | null;
  streams?: { main?: string | null; sub?: string | null; snapshot?: string | null };
  profiles?: StreamProfile[];
  vendor?: string | null;
  model?: string | null;
  serial?: string | null;
  firmware?: string | null;
  ptz?: boolean;
  recording?: { mode?: RecordingMode; retentionDays?: number };
  enabled?: boolean;
}

/** The columns a write sets, after validation (password already sealed). */
export interface DeviceRecord {
  kind: DeviceKind;
  cameraType: CameraType | null;
  name: string;
  code: string | null;
  siteId: string | null;
  address: string | null;
  lat: number | null;
  lon: number | null;
  heading: number | null;
  tags: string[];
  onvifHost: string | null;
  onvifPort: number | null;
  username: string | null;
  passwordEnc: Buffer | null;
  rtspMain: string | null;
  rtspSub: string | null;
  snapshotUri: string | null;
  profiles: StreamProfile[];
  vendor: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  ptz: boolean;
  recordingMode: RecordingMode;
  retentionDays: number;
  streamKeyHash: string | null;
  /** A key made for this write (a new mobile camera): returned once, never stored. */
  newStreamKey?: string;
  enabled: boolean;
}

export interface DeviceFilter {
  q?: string;
  kind?: DeviceKind;
  cameraType?: CameraType;
  siteId?: string;
  status?: DeviceState;
  tag?: string;
  enabled?: boolean;
  ids?: string[];
}

export type DeviceSort = 'name' | 'code' | 'status' | 'updatedAt';
/** The requesting user's language: names sort by pinyin in zh-CN. */
export type ListLocale = 'zh-CN' | 'en';

/** What identifies a camera besides its code; registering one twice needs confirmation. */
export type DuplicateAttribute = 'onvif' | 'serial' | 'stream';
export interface DuplicateCandidate {
  key: number;
  selfId: string | null;
  host: string | null;
  port: number | null;
  serial: string | null;
  main: string | null;
  sub: string | null;
}
export interface DuplicateMatch {
  key: number;
  deviceId: string;
  deviceName: string;
  deviceCode: string | null;
  attribute: DuplicateAttribute;
  value: string;
}

export interface Site {
  id: string;
  code: string;
  name: string;
  kind: 'platform' | 'area' | 'station';
  parentId: string | null;
  lat: number | null;
  lon: number | null;
}

/** How the gateway connects to a device: decrypted only inside the gateway process. */
export interface DeviceConnection {
  id: string;
  kind: DeviceKind;
  name: string;
  onvifHost: string | null;
  onvifPort: number | null;
  username: string | null;
  password: string | null;
  rtspMain: string | null;
  rtspSub: string | null;
  snapshotUri: string | null;
  ptz: boolean;
  enabled: boolean;
  recordingMode: RecordingMode;
  /** Video encoding of the main profile as ONVIF reported it (H264, H265…), null when unknown. */
  encoding: string | null;
  /** The sub profile's encoding, null when unknown. */
  subEncoding: string | null;
  /** Set when the stored password cannot be decrypted (the secret key changed): the device needs its password again. */
  credentialError: string | null;
}
