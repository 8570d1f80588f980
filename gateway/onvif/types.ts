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

export interface OnvifProfile {
  token: string;
  name: string;
  /** `H264`, `H265`, `JPEG`, `MPEG4` as the device reports it. */
  encoding: string;
  width: number;
  height: number;
  fps?: number;
  /** Without credentials; only rtsp: and rtsps: URIs are accepted. */
  rtspUri: string;
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
  /** The highest-resolution profile's stream. */
  rtspMain: string;
  /** The next one down; the main stream again when the device has one profile. */
  rtspSub: string;
  snapshotUri: string | null;
  ptz: boolean;
  /** The device's clock (UTC, ISO 8601) when it was asked. */
  onvifTime?: string;
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
