import { runSteps } from './helpers.ts';
import type { BenchResult } from './run.ts';

/**
 * linkage: the monitor-patrol linkage (监巡联动) at a site's size, through the HTTP API and the
 * realtime WebSocket — a cue reaching one of 500 connected phones, 2,000 vehicle terminals'
 * GPS fixes ingested and fanned out to 10 consoles, the nearest units and the rings among 2,000
 * units and 2,200 cameras, and incident statistics over 1,000,000 incidents.
 * Each step lives in its own module; SKYNET_BENCH_ONLY=cues|gps|geo|stats runs one;
 * SKYNET_BENCH_SCALE=0.1 is a smoke run at a tenth of the site (SKYNET_BENCH_GPS_SECONDS shortens the GPS window).
 */
export async function run(): Promise<BenchResult> {
  const { metrics, notes } = await runSteps({
    cues: async () => (await import('./linkage-cues.ts')).benchCues(),
    gps: async () => (await import('./linkage-gps.ts')).benchGps(),
    geo: async () => (await import('./linkage-geo.ts')).benchGeo(),
    stats: async () => (await import('./linkage-stats.ts')).benchStats(),
  });
  return {
    metrics,
    targets: {
      cue_delivery_p95_ms: { op: '<=', value: 200 },
      gps_updates_per_s: { op: '>=', value: 2000 },
      gps_fanout_p95_ms: { op: '<=', value: 500 },
      nearest_units_p95_ms: { op: '<=', value: 20 },
      ring_members_p95_ms: { op: '<=', value: 50 },
      incident_stats_p95_ms: { op: '<=', value: 500 },
    },
    notes,
  };
}
