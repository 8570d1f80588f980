import type { Platform } from '../../core/platform.ts';
import type { WorkerDeps } from '../../workers/deps.ts';
import type { FootageService } from '../../gateway/recordings/service.ts';
import type { LiveService } from '../../gateway/streams/service.ts';
import type { SnapshotService } from '../../workers/snapshot/service.ts';
import type { ExportService } from '../../workers/export/service.ts';

/**
 * What the control-room features (console/server/*) build their services from: the
 * platform, the job and media dependencies the workers use, and the console's live,
 * footage, snapshot and export services. Each feature's routes.ts takes it as `ctx`.
 */
export interface ConsoleContext {
  platform: Platform;
  work: WorkerDeps;
  live: LiveService;
  footage: FootageService;
  snapshots: SnapshotService;
  exports: ExportService;
}
