import type { AddressInfo } from 'node:net';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import { benchPlatform, percentile } from './helpers.ts';

/**
 * Video search on a site-sized database, through the console's HTTP API (a listening console,
 * one signed-in investigator, requests one after another):
 * - 2,200 located cameras scattered over ≈ 11 × 11 km around the demo town's centre;
 * - 30 days of recording segments for every camera. Real segments are 60 s (95 M rows for this
 *   site), too many to load on the bench machine: the bench writes 10-minute segments instead
 *   (2,200 × 30 × 144 ≈ 9.5 M rows), with one segment in 200 missing so coverage has gaps.
 * - nearby: ≥ 200 requests at random points with a radius of 500–3,000 m → nearby_cameras_p95_ms;
 * - footage search for one camera over one day, and for a drawn 1 × 1 km square over 30 days
 *   → footage_search_p95_ms is the worse of the two p95s (both in the notes).
 */
const CAMERAS = 2200;
const DAYS = 30;
const SEGMENT_MINUTES = 10;
const NEARBY_REQUESTS = 250;
const CAMERA_DAY_REQUESTS = 100;
const AREA_REQUESTS = 60;
const WARMUP = 10;
const CENTER = { lat: 37.0603, lon: 115.6691 };
const SPREAD = { lat: 0.05, lon: 0.062 };
const round = (v: number) => Number(v.toFixed(1));
const M_PER_DEG = 111_195;

/** A deterministic random sequence, so runs compare. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function benchSearch(): Promise<{ metrics: { nearby_cameras_p95_ms: number; footage_search_p95_ms: number }; notes: string[] }> {
  const { platform, close } = await benchPlatform({ 'search.maxCameras': 500 });
  let app: App | null = null;
  const notes: string[] = [];
  try {
    const { pool } = platform;
    const loadStarted = Date.now();
    await pool.query(
      `INSERT INTO devices (kind, camera_type, name, code, lat, lon, heading, tags, recording_mode)
       SELECT 'camera', 'fixed', '基准摄像机-' || lpad(i::text, 4, '0'), 'BENCH' || lpad(i::text, 6, '0'),
              $1 + (random() * 2 - 1) * $3, $2 + (random() * 2 - 1) * $4, 0, CASE WHEN i % 10 = 0 THEN ARRAY['重点部位'] ELSE '{}' END, 'continuous'
         FROM generate_series(1, $5) AS i`,
      [CENTER.lat, CENTER.lon, SPREAD.lat, SPREAD.lon, CAMERAS],
    );
    // 9.5 M segment rows: load without the indexes, then build them (as a restore would), then vacuum
    // so the coverage query's index-only scans see an all-visible table.
    const end = new Date();
    end.setUTCMinutes(Math.floor(end.getUTCMinutes() / SEGMENT_MINUTES) * SEGMENT_MINUTES, 0, 0);
    const start = new Date(end.getTime() - DAYS * 86_400_000);
    await pool.query('ALTER TABLE recording_segments DROP CONSTRAINT recording_segments_device_id_starts_at_key, DROP CONSTRAINT recording_segments_path_key, DROP CONSTRAINT recording_segments_device_id_fkey');
    await pool.query('DROP INDEX recording_segments_range_idx, recording_segments_node_idx');
    await pool.query(
      `INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes, node_id)
       SELECT d.id, t, t + make_interval(mins => $3), 'rec/' || d.id || '/' || to_char(t, 'YYYYMMDD') || '/' || to_char(t, 'YYYYMMDD"T"HH24MISS"Z"') || '.ts', 60000000, 'bench'
         FROM devices d CROSS JOIN generate_series($1::timestamptz, $2::timestamptz - make_interval(mins => $3), make_interval(mins => $3)) AS t
        WHERE random() >= 0.005`,
      [start, end, SEGMENT_MINUTES],
    );
    await pool.query('ALTER TABLE recording_segments ADD CONSTRAINT recording_segments_device_id_starts_at_key UNIQUE (device_id, starts_at)');
    await pool.query('ALTER TABLE recording_segments ADD CONSTRAINT recording_segments_path_key UNIQUE (path)');
    await pool.query('ALTER TABLE recording_segments ADD CONSTRAINT recording_segments_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices(id) ON DELETE CASCADE');
    await pool.query('CREATE INDEX recording_segments_range_idx ON recording_segments (device_id, starts_at, ends_at)');
    await pool.query('CREATE INDEX recording_segments_node_idx ON recording_segments (node_id, starts_at, id)');
    await pool.query('VACUUM ANALYZE recording_segments');
    await pool.query('VACUUM ANALYZE devices');
    const n = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM recording_segments')).rows[0]!.n;
    notes.push(`${CAMERAS} cameras, ${n.toLocaleString('en')} segments of ${SEGMENT_MINUTES} min over ${DAYS} days (0.5% missing), loaded and indexed in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s`);

    app = await buildConsole(platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench', password: 'bench-password', roles: ['investigator'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const timed = async (method: string, path: string, body?: unknown): Promise<{ ms: number; json: unknown }> => {
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, { method, headers: { cookie, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      const ms = performance.now() - t0;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      return { ms, json: JSON.parse(text) };
    };
    const random = rng(9);
    const point = () => ({ lat: CENTER.lat + (random() * 2 - 1) * SPREAD.lat, lon: CENTER.lon + (random() * 2 - 1) * SPREAD.lon });

    // Nearby cameras.
    const nearby: number[] = [];
    let found = 0;
    for (let i = 0; i < WARMUP + NEARBY_REQUESTS; i++) {
      const p = point();
      const radius = 500 + Math.floor(random() * 2500);
      const r = await timed('GET', `/api/search/nearby?lat=${p.lat}&lon=${p.lon}&radius=${radius}&limit=100`);
      if (i >= WARMUP) { nearby.push(r.ms); found += (r.json as { items: unknown[] }).items.length; }
    }
    notes.push(`nearby: ${NEARBY_REQUESTS} requests, radius 500–3000 m, ${(found / NEARBY_REQUESTS).toFixed(1)} cameras per answer on average; p50 ${round(percentile(nearby, 50))} ms, p95 ${round(percentile(nearby, 95))} ms`);

    // One camera over one day.
    const { rows: devices } = await pool.query<{ id: string }>('SELECT id FROM devices ORDER BY id');
    const dayMs: number[] = [];
    for (let i = 0; i < WARMUP + CAMERA_DAY_REQUESTS; i++) {
      const id = devices[Math.floor(random() * devices.length)]!.id;
      const dayStart = new Date(start.getTime() + Math.floor(random() * (DAYS - 1)) * 86_400_000);
      const r = await timed('POST', '/api/search/footage', { deviceIds: [id], from: dayStart.toISOString(), to: new Date(dayStart.getTime() + 86_400_000).toISOString() });
      if (i >= WARMUP) dayMs.push(r.ms);
    }
    const dayP95 = percentile(dayMs, 95);
    notes.push(`footage, one camera × one day: ${CAMERA_DAY_REQUESTS} requests; p50 ${round(percentile(dayMs, 50))} ms, p95 ${round(dayP95)} ms`);

    // A drawn 1 × 1 km square over 30 days.
    const areaMs: number[] = [];
    const cams: number[] = [];
    let ranges = 0;
    const half = { lat: 500 / M_PER_DEG, lon: 500 / (M_PER_DEG * Math.cos((CENTER.lat * Math.PI) / 180)) };
    for (let i = 0; i < WARMUP + AREA_REQUESTS; i++) {
      const c = { lat: CENTER.lat + (random() * 2 - 1) * (SPREAD.lat - half.lat), lon: CENTER.lon + (random() * 2 - 1) * (SPREAD.lon - half.lon) };
      const points = [
        { lat: c.lat - half.lat, lon: c.lon - half.lon }, { lat: c.lat - half.lat, lon: c.lon + half.lon },
        { lat: c.lat + half.lat, lon: c.lon + half.lon }, { lat: c.lat + half.lat, lon: c.lon - half.lon },
      ];
      const r = await timed('POST', '/api/search/footage', { area: { points }, from: start.toISOString(), to: end.toISOString() });
      if (i >= WARMUP) {
        areaMs.push(r.ms);
        const items = (r.json as { items: { ranges: unknown[] }[] }).items;
        cams.push(items.length);
        ranges += items.reduce((s, it) => s + it.ranges.length, 0);
      }
    }
    const areaP95 = percentile(areaMs, 95);
    const meanCams = cams.reduce((a, b) => a + b, 0) / cams.length;
    notes.push(`footage, drawn 1 × 1 km square × ${DAYS} days: ${AREA_REQUESTS} requests, ${meanCams.toFixed(1)} cameras (max ${Math.max(...cams)}) and ${(ranges / AREA_REQUESTS).toFixed(0)} merged ranges per answer, ≈ ${Math.round(meanCams * DAYS * 144).toLocaleString('en')} segment rows merged in SQL per request; p50 ${round(percentile(areaMs, 50))} ms, p95 ${round(areaP95)} ms`);

    return { metrics: { nearby_cameras_p95_ms: round(percentile(nearby, 95)), footage_search_p95_ms: round(Math.max(dayP95, areaP95)) }, notes };
  } finally {
    await app?.close();
    await close();
  }
}
