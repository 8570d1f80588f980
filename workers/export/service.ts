// PLACEHOLDER: replaced by the export feature (being built now).
import type { WorkerDeps } from '../deps.ts';

export function createExportService(_deps: WorkerDeps) {
  return {};
}

export type ExportService = ReturnType<typeof createExportService>;
