/** Evidence exports (证据导出): the domain types shared by the service, the job and the verifier. */

export const EXPORT_STATUSES = ['queued', 'running', 'done', 'failed', 'expired'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];
export const GAP_REASONS = ['no_recording', 'unreadable'] as const;
export type GapReason = (typeof GAP_REASONS)[number];
/** Fetching the segments (where the media directory is not shared), then cutting, hashing and zipping in one pass. */
export type ExportStage = 'fetching' | 'packing';

export interface ExportItem { deviceId: string; from: string; to: string }

/** A stretch of the requested range with no footage in the package, and where it falls in the MP4. */
export interface Gap { from: string; to: string; reason: GapReason; /** Milliseconds into the camera's MP4 where the gap falls (the cut starts at a keyframe, so ± one GOP). */ atMs: number }

export interface ExportRecord {
  id: string;
  caseNumber: string;
  reason: string;
  requestedBy: string;
  requestedByName: string;
  requestedAt: Date;
  items: ExportItem[];
  snapshotIds: string[];
  status: ExportStatus;
  progress: { percent: number; bytes: number; stage?: ExportStage };
  path: string | null;
  bytes: number | null;
  sha256: string | null;
  manifest: Manifest | null;
  error: string | null;
  errorCode: string | null;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** One camera in the manifest: what was asked, what was delivered, every gap. */
export interface ManifestCamera {
  deviceId: string;
  name: string;
  requested: { from: string; to: string };
  delivered: { from: string; to: string }[];
  gaps: Gap[];
  /** The MP4 in the package, or null when nothing of the range could be read. */
  file: string | null;
  note?: string;
}

export interface ManifestFile { path: string; bytes: number; sha256: string }

export interface Manifest {
  format: 'skynet.evidence-export/1';
  exportId: string;
  caseNumber: string;
  reason: string;
  requestedBy: { userId: string; name: string };
  requestedAt: string;
  builtAt: string;
  signer: { algorithm: 'Ed25519'; publicKeyPem: string; fingerprint: string };
  cameras: ManifestCamera[];
  /** Every snapshot asked for; one that could not be packed has file null and a note saying why (never left out silently). */
  snapshots: { id: string; deviceId: string | null; takenAt: string | null; file: string | null; note?: string }[];
  /** Every file of the package but manifest.json and manifest.sig, with its SHA-256. */
  files: ManifestFile[];
}

export const MANIFEST_NAME = 'manifest.json';
export const SIGNATURE_NAME = 'manifest.sig';

/** Export as the console shows it. */
export interface ExportView {
  id: string;
  caseNumber: string;
  reason: string;
  requestedByName: string;
  requestedAt: Date;
  items: (ExportItem & { deviceName: string })[];
  status: ExportStatus;
  progress: { percent: number; bytes: number; stage?: string };
  bytes: number | null;
  sha256: string | null;
  error: string | null;
  errorCode: string | null;
  finishedAt: Date | null;
  gaps: { deviceId: string; from: string; to: string; reason: GapReason }[];
  delivered: { deviceId: string; from: string; to: string; file: string; bytes: number }[] | null;
}

export const exportJobId = (exportId: string) => `export-${exportId}`;
