import { createHash } from 'node:crypto';
import type { SNAPSHOT_PURPOSES, SNAPSHOT_SOURCES } from '../jobs.ts';

export type SnapshotSource = (typeof SNAPSHOT_SOURCES)[number];
export type SnapshotPurpose = (typeof SNAPSHOT_PURPOSES)[number];

/** A stored snapshot (one `snapshots` row). */
export interface SnapshotRecord {
  id: string;
  deviceId: string;
  takenAt: Date;
  source: SnapshotSource;
  /** Relative to the evidence store (workers/evidence.ts SNAPSHOT_PATH). */
  path: string;
  bytes: number;
  width: number | null;
  height: number | null;
  requestedBy: string | null;
  requestedByName: string;
  purpose: SnapshotPurpose;
  reason: string | null;
  jobId: string | null;
  /** The incident it was taken for (purpose incident), if any. */
  incidentId: string | null;
  createdAt: Date;
}

/** A snapshot as the API shows it: a signed image URL instead of the path. */
export interface Snapshot {
  id: string;
  deviceId: string;
  takenAt: Date;
  source: SnapshotSource;
  bytes: number;
  width: number | null;
  height: number | null;
  purpose: SnapshotPurpose;
  reason: string | null;
  requestedByName: string;
  incidentId: string | null;
  url: string;
  urlExpiresAt: Date;
}

/**
 * The BullMQ job id of a `snapshot.take` with a producer's `ref`: the same camera, purpose and
 * ref give the same id (adding twice is one job) and the same stored key (a job run again, or
 * added again after its record was cleared, finds its snapshot). A hash, as BullMQ ids may not
 * hold the `:` a ref may.
 */
export function snapshotJobId(deviceId: string, purpose: SnapshotPurpose, ref: string): string {
  return `snap-${createHash('sha256').update(`${deviceId}\n${purpose}\n${ref}`).digest('hex').slice(0, 40)}`;
}
