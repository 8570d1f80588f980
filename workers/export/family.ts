import type { WorkerDeps } from '../deps.ts';
import type { WorkerFamily } from '../runner.ts';
import { createExportService } from './service.ts';

/**
 * The export worker: `export.build` { exportId } (job id export-<id>). Everything it needs
 * is read from the row; segments come through the gateway's internal API or the shared media
 * directory. See build.ts for why a rerun leaves one package and one completion.
 */
export function createExportFamily(deps: WorkerDeps): WorkerFamily<'export'> {
  const exports = createExportService(deps);
  return {
    queue: 'export',
    handlers: {
      'export.build': ({ data, job, signal, log, progress }) => exports.build(data.exportId, {
        signal, log, progress, finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      }),
    },
  };
}
