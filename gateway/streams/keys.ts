import { DEVICE_ID } from './layout.ts';

/**
 * A camera has up to two streams (ONVIF profiles): `main` (full resolution, often H.265 on real
 * cameras) and `sub` (an H.264 D1/720p stream for small tiles and phones). The gateway runs at most
 * one session per camera and stream; its key names the live directory, the low-latency feed and
 * the session in the manager: the device id for the main stream, `<deviceId>.sub` for the sub stream.
 */
export const STREAMS = ['main', 'sub', 'compat'] as const;
/**
 * `main` and `sub` are the camera's own streams; `compat` is the gateway's H.264 transcode of the
 * main stream, read from the main session's low-latency feed (no second pull from the camera), for
 * a browser that decodes neither the main stream (H.265 without an HEVC decoder) nor a sub stream
 * the camera lacks. Capped in size and frame rate, counted against the node's transcode limit.
 */
export type StreamName = (typeof STREAMS)[number];

/** A stream the camera itself sends (ONVIF profiles): what a source is pulled from. */
export type CameraStream = Exclude<StreamName, 'compat'>;

const SUFFIX: Record<StreamName, string> = { main: '', sub: '.sub', compat: '.compat' };

export function streamKey(deviceId: string, stream: StreamName): string {
  return deviceId + SUFFIX[stream];
}

/** The device and stream of a key; null for anything that is not one of ours (never a path). */
export function parseStreamKey(key: string): { deviceId: string; stream: StreamName } | null {
  const stream = key.endsWith('.sub') ? 'sub' : key.endsWith('.compat') ? 'compat' : 'main';
  const deviceId = key.slice(0, key.length - SUFFIX[stream].length);
  return DEVICE_ID.test(deviceId) ? { deviceId, stream } : null;
}
