import { runSteps } from './helpers.ts';
import type { BenchResult } from './run.ts';

/**
 * workers: snapshots through the console API (live session and cold camera), a one-hour
 * 4 Mbit/s evidence export (cut, join, hash, sign, zip) through the API with the package's
 * bytes counted, `skynet verify` on that package, and one retention run over a backlog of
 * 100,000 indexed segments. Each step lives with its feature's bench module; this file runs
 * them in turn (SKYNET_BENCH_ONLY=snapshot|export|retention runs one).
 */
export async function run(): Promise<BenchResult> {
  const { metrics, notes } = await runSteps({
    snapshot: async () => (await import('./workers-snapshot.ts')).benchSnapshots(),
    export: async () => (await import('./workers-export.ts')).benchExport(),
    retention: async () => (await import('./workers-retention.ts')).benchRetention(),
  });
  return {
    metrics,
    targets: {
      snapshot_live_p95_ms: { op: '<=', value: 300 },
      snapshot_cold_p95_ms: { op: '<=', value: 2000 },
      export_mb_per_s: { op: '>=', value: 100 },
      verify_mb_per_s: { op: '>=', value: 200 },
      retention_segments_per_s: { op: '>=', value: 2000 },
    },
    notes,
  };
}
