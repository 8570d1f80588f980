import { runSteps } from './helpers.ts';
import type { BenchResult } from './run.ts';

/**
 * console: the control room's requests on a site-sized database, through the HTTP API —
 * nearby cameras among 2,200, footage search over 2,200 cameras × 30 days of segments,
 * a filtered incident page over 1,000,000 incidents, an alarm row fanned out to 20
 * connected consoles' WebSockets, and a 16-tile wall opened in headless Chromium.
 * Each step lives with its feature's bench module; SKYNET_BENCH_ONLY=search|incidents|alarms|wall runs one.
 */
export async function run(): Promise<BenchResult> {
  const { metrics, notes } = await runSteps({
    search: async () => (await import('./console-search.ts')).benchSearch(),
    incidents: async () => (await import('./console-incidents.ts')).benchIncidents(),
    alarms: async () => (await import('./console-alarms.ts')).benchAlarms(),
    wall: async () => (await import('./console-wall.ts')).benchWall(),
  });
  return {
    metrics,
    targets: {
      nearby_cameras_p95_ms: { op: '<=', value: 20 },
      footage_search_p95_ms: { op: '<=', value: 100 },
      incident_list_p95_ms: { op: '<=', value: 100 },
      alarm_fanout_p95_ms: { op: '<=', value: 200 },
      wall_16_first_frame_ms: { op: '<=', value: 4000 },
    },
    notes,
  };
}
