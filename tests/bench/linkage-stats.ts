import type { AddressInfo } from 'node:net';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Pool } from '../../core/db/pool.ts';
import { benchPlatform, percentile } from './helpers.ts';
import { CENTER, cityPoint, login, rng, round, scaled, scaleNote, seedUnits, spread, SPREAD, timed } from './linkage-seed.ts';

/**
 * Incident statistics (警情分析) over 1,000,000 incidents spread over three years, through the
 * HTTP API as a supervisor: GET /api/stats/incidents?from&to — the period's total with 环比 (the
 * period before) and 同比 (a year earlier), by type (both comparisons), area, grid, hour, weekday
 * and source — for a calendar month (60 requests over the last 23 months → incident_stats_p95_ms)
 * and for twelve months (20 requests, in the notes).
 *
 * The rows are one INSERT … SELECT over generate_series: occurrences over 3 years (≈ 10 % more
 * each year), by the hour of a police day (busiest 18–22 h), ten types skewed to the common
 * ones, six sources, statuses by age, 12 police stations under 4 areas, 40 grids (责任田 units)
 * holding 80 %, 18 % of closed ones solved with video, and 65 % dispatched with acknowledged /
 * en route / arrived times (90 % of those arriving) — the response-time columns of migration 011.
 */
const ROWS = scaled(1_000_000, 10_000);
const MONTH_REQUESTS = 60;
const YEAR_REQUESTS = 20;
const WARMUP = 5;

/** A platform, 4 areas (派出所 groups) and 12 stations (派出所) under them. */
async function seedSites(pool: Pool): Promise<string[]> {
  const { rows: [top] } = await pool.query<{ id: string }>(
    `INSERT INTO sites (code, name, kind, lat, lon) VALUES ('BENCH-CITY', '基准市公安局', 'platform', $1, $2) RETURNING id`, [CENTER.lat, CENTER.lon]);
  const areas = ['城区分局', '开发区分局', '北部分局', '南部分局'];
  const stations: string[] = [];
  for (const [a, name] of areas.entries()) {
    const { rows: [area] } = await pool.query<{ id: string }>(
      `INSERT INTO sites (code, name, kind, parent_id) VALUES ($1, $2, 'area', $3) RETURNING id`, [`BENCH-A${a}`, name, top!.id]);
    for (let s = 0; s < 3; s++) {
      const { rows: [st] } = await pool.query<{ id: string }>(
        `INSERT INTO sites (code, name, kind, parent_id) VALUES ($1, $2, 'station', $3) RETURNING id`, [`BENCH-A${a}-S${s}`, `${name}第${s + 1}派出所`, area!.id]);
      stations.push(st!.id);
    }
  }
  return stations;
}

export async function seedStatsIncidents(pool: Pool, rows: number, timeZone: string, types: readonly string[], stations: string[], grids: string[]): Promise<void> {
  // Incidents by site-local hour of the day (a police day: quiet before dawn, busiest in the evening).
  const hours = [3, 2, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 8, 9, 9, 8, 6, 4];
  const hourPick = hours.flatMap((w, h) => Array.from({ length: w }, () => h));
  await pool.query(
    `INSERT INTO incidents (number, type, priority, source, status, title, address, lat, lon, occurred_at, site_id, grid_unit_id, video_assisted,
                            created_at, updated_at, closed_at, dispatched_at, acknowledged_at, en_route_at, arrived_at, created_by_name)
     SELECT 'JQ' || to_char(occ AT TIME ZONE $1, 'YYYYMMDD') || lpad(g::text, 8, '0'), tcode, prio, src, st,
            '警情' || g, '基准市' || (ARRAY['人民路','中山路','解放路','建设街'])[1 + g % 4] || (g % 300) || '号', lat, lon, occ,
            site, grid, CASE WHEN st = 'closed' THEN random() < 0.18 END,
            occ + interval '2 minutes', occ + interval '2 hours', CASE WHEN st IN ('closed', 'cancelled') THEN occ + interval '1 day' END,
            disp, disp + ack, disp + ack + go, CASE WHEN arrives THEN disp + ack + go + travel END, '接警员' || (g % 40)
       FROM (
         SELECT g, occ, lat, lon, tcode, prio, src, site, grid, arrives, ack, go, travel,
                CASE WHEN occ > now() - interval '2 days' THEN (ARRAY['new','dispatched','on_scene','resolved','closed'])[1 + floor(random() * 5)::int]
                     WHEN random() < 0.01 THEN 'resolved' WHEN random() < 0.05 THEN 'cancelled' ELSE 'closed' END AS st,
                CASE WHEN dispatched THEN occ + interval '2 minutes' + random() * interval '4 minutes' END AS disp
           FROM (
             SELECT g, least(day + make_interval(hours => ($7::int[])[1 + floor(random() * cardinality($7::int[]))::int]) + random() * interval '1 hour', now()) AS occ,
                    $2::float8 + (random() * 2 - 1) * $3, $4::float8 + (random() * 2 - 1) * $5,
                    ($6::text[])[1 + floor(power(random(), 1.6) * cardinality($6::text[]))::int] AS tcode,
                    (ARRAY[1,2,2,3,3,3,3,4,4,4])[1 + floor(random() * 10)::int]::smallint AS prio,
                    (ARRAY['call_110','call_110','call_110','call_110','call_110','video_patrol','video_patrol','face_alarm','plate_alarm','patrol_report','other'])[1 + floor(random() * 11)::int] AS src,
                    CASE WHEN random() < 0.97 THEN ($8::uuid[])[1 + floor(random() * cardinality($8::uuid[]))::int] END AS site,
                    CASE WHEN random() < 0.8 THEN ($9::uuid[])[1 + floor(random() * cardinality($9::uuid[]))::int] END AS grid,
                    random() < 0.65 AS dispatched, random() < 0.9 AS arrives,
                    random() * interval '50 seconds' + interval '5 seconds' AS ack, random() * interval '60 seconds' + interval '10 seconds' AS go,
                    power(random(), 2) * interval '20 minutes' + interval '90 seconds' AS travel
               FROM (SELECT g, date_trunc('day', now() - power(random(), 1.1) * interval '1095 days', $1) AS day FROM generate_series(1, $10) g) d
           ) base(g, occ, lat, lon, tcode, prio, src, site, grid, dispatched, arrives, ack, go, travel)
       ) r`,
    [timeZone, CENTER.lat, SPREAD.lat, CENTER.lon, SPREAD.lon, types, hourPick, stations, grids, rows],
  );
}

/** YYYY-MM-01 of the site-local month `back` months before the current one. */
function monthStart(timeZone: string, back: number): string {
  const [y, m] = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).format(new Date()).split('-').map(Number) as [number, number];
  const idx = y * 12 + (m - 1) - back;
  return `${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, '0')}-01`;
}

export async function benchStats(): Promise<{ metrics: { incident_stats_p95_ms: number }; notes: string[] }> {
  const { platform, config, close } = await benchPlatform();
  let app: App | null = null;
  try {
    const { pool } = platform;
    const zone = config.site.timezone;
    const random = rng(3);
    const stations = await seedSites(pool);
    const grids = await seedUnits(pool, { n: 40, at: () => cityPoint(random) });
    // The trigram text index (migration 010) serves the list's search, not the statistics; loading
    // 1 M rows through it costs about a minute on this box. Dropped for this step.
    await pool.query('DROP INDEX IF EXISTS incidents_text_idx');
    const t0 = performance.now();
    await seedStatsIncidents(pool, ROWS, zone, config.incidents.types.map((t) => t.code), stations, grids);
    const insertS = (performance.now() - t0) / 1000;
    await pool.query('VACUUM ANALYZE incidents');
    const { rows: [facts] } = await pool.query(
      `SELECT count(*)::int AS n, min(occurred_at) AS first, count(*) FILTER (WHERE dispatched_at IS NOT NULL)::int AS dispatched,
              count(*) FILTER (WHERE arrived_at IS NOT NULL)::int AS arrived FROM incidents`);

    app = await buildConsole(platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench-supervisor', password: 'bench-password', roles: ['supervisor'] });
    const cookie = await login(base, 'bench-supervisor');

    type Stats = { totals: { count: number; previous: { count: number }; lastYear: { count: number } }; byType: unknown[]; byArea: unknown[]; byGrid: unknown[] };
    const measure = async (requests: number, warmup: number, range: (i: number) => [string, string]) => {
      const times: number[] = [];
      let bytes = 0, count = 0, prev = 0, lastYear = 0, groups = 0;
      for (let i = 0; i < warmup + requests; i++) {
        const [from, to] = range(i);
        const r = await timed<Stats>(base, cookie, 'GET', `/api/stats/incidents?from=${from}&to=${to}`);
        if (i < warmup) continue;
        times.push(r.ms);
        bytes += r.bytes;
        count += r.json.totals.count;
        prev += r.json.totals.previous.count;
        lastYear += r.json.totals.lastYear.count;
        groups += r.json.byType.length + r.json.byArea.length + r.json.byGrid.length;
      }
      const per = (v: number) => Math.round(v / requests).toLocaleString('en');
      return { times, note: `${spread(times, percentile)}; per answer ${per(count)} incidents (环比 ${per(prev)}, 同比 ${per(lastYear)}), ${per(groups)} type/area/grid rows, ${per(bytes)} bytes` };
    };
    // Months: the last 23 full months in turn (each has a year before it in the data).
    const month = await measure(MONTH_REQUESTS, WARMUP, (i) => [monthStart(zone, 1 + (i % 23)), monthStart(zone, i % 23)]);
    // Twelve months from the first of one of the last 12 months back (≤ 366 days, 同比 within the 3 years).
    const year = await measure(YEAR_REQUESTS, 2, (i) => [monthStart(zone, 12 + (i % 12)), monthStart(zone, i % 12)]);
    const p95 = percentile(month.times, 95);
    return {
      metrics: { incident_stats_p95_ms: round(p95) },
      notes: [
        scaleNote(),
        `${facts.n.toLocaleString('en')} incidents since ${(facts.first as Date).toISOString().slice(0, 10)} inserted in ${round(insertS)} s (one INSERT … SELECT over generate_series; every index live except the trigram text index, dropped), ${facts.dispatched.toLocaleString('en')} dispatched, ${facts.arrived.toLocaleString('en')} with an arrival; 17 sites (a platform, 4 areas, 12 stations under them), 40 grids; site time zone ${zone}`,
        `a calendar month (GET /api/stats/incidents?from=YYYY-MM-01&to=…, ${MONTH_REQUESTS} requests after ${WARMUP}, the last 23 months in turn): ${month.note}`,
        `twelve months (${YEAR_REQUESTS} requests after 2): ${year.note}`,
      ],
    };
  } finally {
    await app?.close();
    await close();
  }
}
