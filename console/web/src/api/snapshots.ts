// Snapshots (抓图): one picture of a camera, kept as evidence. `url` is a short-lived signed
// link to the JPEG (about 10 minutes): a list fetched again gives fresh ones.
import { http, seg } from './http.ts'

export type SnapshotSource = 'session' | 'onvif' | 'rtsp' | 'recording'
export type SnapshotPurpose = 'manual' | 'alarm' | 'incident' | 'face' | 'export'

export interface Snapshot {
  id: string
  deviceId: string
  takenAt: string
  /** The running session's newest keyframe, the camera's ONVIF snapshot URI, or a short RTSP grab. */
  source: SnapshotSource
  bytes: number
  width: number | null
  height: number | null
  purpose: SnapshotPurpose
  reason: string | null
  requestedByName: string
  url: string
  urlExpiresAt: string
}

export interface SnapshotQuery {
  limit?: number
  /** ISO time: only snapshots taken before it (the next page of a strip). */
  before?: string
}

/** Take a picture now. 502 when the camera cannot be reached, worded by describeError. */
export async function takeSnapshot(deviceId: string, reason?: string): Promise<Snapshot> {
  const res = await http.post<{ snapshot: Snapshot }>(`/devices/${seg(deviceId)}/snapshots`, reason ? { reason } : {})
  return res.snapshot
}

/** Newest first. */
export async function listSnapshots(deviceId: string, query: SnapshotQuery = {}, signal?: AbortSignal): Promise<Snapshot[]> {
  const res = await http.get<{ items: Snapshot[] }>(`/devices/${seg(deviceId)}/snapshots`, { query: { ...query }, signal })
  return res.items
}

export function getSnapshot(id: string): Promise<Snapshot> {
  return http.get<Snapshot>(`/snapshots/${seg(id)}`)
}
