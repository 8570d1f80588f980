// PLACEHOLDER: replaced by the snapshot family (being built now).
import type { WorkerDeps } from '../deps.ts';
import { PermanentJobError, type WorkerFamily } from '../runner.ts';

export function createSnapshotFamily(_deps: WorkerDeps): WorkerFamily<'snapshot'> {
  return { queue: 'snapshot', handlers: {} as WorkerFamily<'snapshot'>['handlers'] };
}
void PermanentJobError;
