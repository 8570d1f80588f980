/** What the gateway learns from and asks of ONVIF devices (onvif-client.ts, discovery.ts). */

/** How to reach one device's ONVIF service. The password never leaves the gateway. */
export interface OnvifConn {
  host: string;
  port: number;
  username: string;
  password: string;
  /** Limit for the whole operation, connection included. Default 5000 ms. */
  timeoutMs?: number;
}

export type OnvifErrorCode = 'unreachable' | 'timeout' | 'auth' | 'protocol' | 'unsupported';

/**
 * What exactly went wrong, finer than the code, so a person is told what to do
 * (service.ts turns it into an HTTP status and an API error code):
 * unreachable: `refused` (nothing listens on the port), `host_not_found` (the name does not resolve), `unreachable`;
 * timeout: `timeout`; auth: `auth`;
 * protocol: `too_large`, `not_onvif` (not HTTP, not SOAP, or lacking what ONVIF requires), `fault` (a SOAP fault),
 * `no_rtsp_profile` (no video profile with a usable RTSP URI), `no_token` (the device knows no such token),
 * `preset_exists`, `too_many_presets`, `invalid_preset_name`;
 * unsupported: `unsupported`, `no_media`, `no_ptz`.
 */
export type OnvifFailureKind =
  | 'refused' | 'host_not_found' | 'unreachable' | 'timeout' | 'auth'
  | 'too_large' | 'not_onvif' | 'fault' | 'no_rtsp_profile' | 'no_token' | 'preset_exists' | 'too_many_presets' | 'invalid_preset_name'
  | 'unsupported' | 'no_media' | 'no_ptz';

/** Something a probe refused from the device's answer while the rest of it succeeded (a hostile profile URI). */
export interface ProbeWarning {
  /** An API error code (`onvif.stream_uri_refused`), worded by the web app like an error. */
  code: string;
  params: Record<string, string | number>;
  /** English, for scripts and logs. */
  message: string;
}

export interface OnvifProfile {
  token: string;
  name: string;
  /** `H264`, `H265`, `JPEG`, `MPEG4` as the device reports it. */
  encoding: string;
  width: number;
  height: number;
  /** FrameRateLimit of the encoder configuration, when reported. */
  fps?: number;
  /**
   * Keyframe interval in frames (the encoder's GovLength, in its H264 or H265 element), when reported:
   * with `fps` it says how long a viewer may wait for the first picture.
   */
  gop?: number;
  /**
   * Without credentials; only rtsp: and rtsps: URIs are accepted. Absent when the device
   * reported none, or one the URL policy refuses (the probe then carries a warning).
   */
  rtspUri?: string;
  snapshotUri?: string;
}

export interface ProbeResult {
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
  hardwareId?: string;
  /** In the device's order. */
  profiles: OnvifProfile[];
  /** The highest-resolution profile's stream; null when no profile has a usable one. */
  rtspMain: string | null;
  /** The next one down; the main stream again when the device has one profile. */
  rtspSub: string | null;
  snapshotUri: string | null;
  ptz: boolean;
  /** The device's clock (UTC, ISO 8601) when it was asked. */
  onvifTime?: string;
  /** URIs the device reported and the URL policy refused (dropped from the result), and similar. */
  warnings: ProbeWarning[];
}

export interface PtzVelocity {
  /** Generic velocity space, -1 … 1. */
  pan: number;
  tilt: number;
  zoom: number;
  /** The device stops on its own after this long (sent as the ONVIF Timeout). */
  timeoutMs?: number;
}

export interface PtzStatus {
  pan: number;
  tilt: number;
  zoom: number;
  moving: boolean;
}

export interface PtzPresetInfo {
  token: string;
  name: string;
}

export type OnvifCheck = { ok: true; latencyMs: number } | { ok: false; code: OnvifErrorCode; message: string };

export interface DiscoveredDevice {
  /** `urn:uuid:…` from the EndpointReference, stable for a device. */
  urn: string;
  xaddrs: string[];
  /** From the first usable XAddr (the one on the address that answered when there are several). */
  host: string;
  port: number;
  scopes: string[];
  /** Decoded from the `onvif://www.onvif.org/name/…` scope. */
  name?: string;
  /** Decoded from the `onvif://www.onvif.org/hardware/…` scope. */
  hardware?: string;
  types: string[];
}
