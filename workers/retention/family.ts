// PLACEHOLDER: replaced by the retention family (being built now).
import type { WorkerDeps } from '../deps.ts';
import { PermanentJobError, type WorkerFamily } from '../runner.ts';

export function createRetentionFamily(_deps: WorkerDeps): WorkerFamily<'retention'> {
  return { queue: 'retention', handlers: {} as WorkerFamily<'retention'>['handlers'] };
}
void PermanentJobError;
