import type { BenchResult } from './run.ts';

/**
 * workers: snapshots through the console API (live session and cold camera), a one-hour
 * 4 Mbit/s evidence export (cut, join, hash, sign, zip) through the API with the package's
 * bytes counted, `skynet verify` on that package, and one retention run over a backlog of
 * 100,000 indexed segments. Each step lives with its feature's bench module; this file runs
 * them in turn (SKYNET_BENCH_ONLY=snapshot|export|retention runs one).
 */
const ONLY = process.env.SKYNET_BENCH_ONLY;

export async function run(): Promise<BenchResult> {
  const metrics: Record<string, number> = {};
  const notes: string[] = [];
  const step = async (name: string, fn: () => Promise<{ metrics: Record<string, number>; notes: string[] }>) => {
    if (ONLY && ONLY !== name) return;
    const started = Date.now();
    const r = await fn();
    Object.assign(metrics, r.metrics);
    notes.push(...r.notes.map((n) => `${name}: ${n}`), `${name}: step took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  await step('snapshot', async () => (await import('./workers-snapshot.ts')).benchSnapshots());
  await step('export', async () => (await import('./workers-export.ts')).benchExport());
  await step('retention', async () => (await import('./workers-retention.ts')).benchRetention());
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
