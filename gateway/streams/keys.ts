import { DEVICE_ID } from './layout.ts';

/**
 * A camera has up to two streams (ONVIF profiles): `main` (full resolution, often H.265 on real
 * cameras) and `sub` (an H.264 D1/720p stream for small tiles and phones). The gateway runs at most
 * one session per camera and stream; its key names the live directory, the low-latency feed and
 * the session in the manager: the device id for the main stream, `<deviceId>.sub` for the sub stream.
 */
export const STREAMS = ['main', 'sub'] as const;
export type StreamName = (typeof STREAMS)[number];

export function streamKey(deviceId: string, stream: StreamName): string {
  return stream === 'main' ? deviceId : `${deviceId}.sub`;
}

/** The device and stream of a key; null for anything that is not one of ours (never a path). */
export function parseStreamKey(key: string): { deviceId: string; stream: StreamName } | null {
  const sub = key.endsWith('.sub');
  const deviceId = sub ? key.slice(0, -4) : key;
  return DEVICE_ID.test(deviceId) ? { deviceId, stream: sub ? 'sub' : 'main' } : null;
}
