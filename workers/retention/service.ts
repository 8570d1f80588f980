// PLACEHOLDER: replaced by the retention feature (being built now).
import type { WorkerDeps } from '../deps.ts';

export function createRetentionService(_deps: WorkerDeps) {
  return {};
}

export type RetentionService = ReturnType<typeof createRetentionService>;
