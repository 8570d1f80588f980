// PLACEHOLDER: replaced by the export family (being built now).
import type { WorkerDeps } from '../deps.ts';
import { PermanentJobError, type WorkerFamily } from '../runner.ts';

export function createExportFamily(_deps: WorkerDeps): WorkerFamily<'export'> {
  return { queue: 'export', handlers: {} as WorkerFamily<'export'>['handlers'] };
}
void PermanentJobError;
