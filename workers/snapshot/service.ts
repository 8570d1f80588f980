// PLACEHOLDER: replaced by the snapshot feature (being built now).
import type { WorkerDeps } from '../deps.ts';

export function createSnapshotService(_deps: WorkerDeps) {
  return {};
}

export type SnapshotService = ReturnType<typeof createSnapshotService>;
