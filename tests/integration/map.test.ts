import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { convexHull } from '../../console/server/map/base-layer.ts';
import { DEMO_PLACES, DEMO_PLATFORM_CODE, DEMO_ROADS, demoSite } from '../../config/demo-site.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// The map's API on a real migrated PostgreSQL: tile settings, the offline base layer (built from
// the sites table and device positions, or the demo town's streets once the demo site is loaded),
// located devices in service, located incidents; roles refused.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let monitor: string;
const run = randomBytes(3).toString('hex');
const ids: Record<string, string> = {};
/** This file's sites, by kind (the database is shared with the other integration files of the run). */
const sites: Record<string, string> = {};
/** Only the rows this file created, in the answer's order. */
const ours = <T extends { id: string }>(items: T[]): T[] => { const mine = new Set(Object.values(ids)); return items.filter((i) => mine.has(i.id)); };

type Feature = { geometry: { type: string; coordinates: unknown }; properties: Record<string, unknown> };

async function site(code: string, kind: string, lat: number | null, lon: number | null): Promise<string> {
  const { rows } = await platform.pool.query(`INSERT INTO sites (code, name, kind, lat, lon) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [code, `站点-${code}`, kind, lat, lon]);
  return rows[0].id;
}
async function device(key: string, siteId: string | null, lat: number | null, lon: number | null, gone = false) {
  const { rows } = await platform.pool.query(
    `INSERT INTO devices (kind, name, site_id, lat, lon, heading, ptz, decommissioned_at) VALUES ('camera', $1, $2, $3, $4, 90, true, $5) RETURNING id`,
    [`地图-${key}-${run}`, siteId, lat, lon, gone ? new Date() : null]);
  ids[key] = rows[0].id;
}
async function incident(key: string, status: string, lat: number | null) {
  const { rows } = await platform.pool.query(
    `INSERT INTO incidents (number, type, source, status, title, lat, lon, occurred_at, created_by_name) VALUES ($1, 'theft', 'call_110', $2, '<script>x</script>', $3, 116.3, now() - $4::interval, 't') RETURNING id`,
    [`M${run}${key}`, status, lat, `${Object.keys(ids).length} minutes`]);
  ids[key] = rows[0].id;
}
const get = (url: string, cookie = monitor) => app.inject({ method: 'GET', url, headers: { cookie } });

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  app = await buildConsole(platform);
  await app.ready();
  monitor = (await loginAs(app, platform, ['monitor'])).cookie;
  const area = sites.area = await site(`A-${run}`, 'area', 39.9, 116.3);
  const station = sites.station = await site(`S-${run}`, 'station', 39.91, 116.31);
  sites.platform = await site(`N-${run}`, 'platform', null, null);
  await device('p1', area, 39.90, 116.30);
  await device('p2', area, 39.90, 116.32);
  await device('p3', area, 39.92, 116.31);
  await device('inner', area, 39.905, 116.31);
  await device('s1', station, 39.91, 116.31);
  await device('unplaced', area, null, null);
  await device('gone', area, 39.95, 116.35, true);
  await incident('open', 'dispatched', 39.9);
  await incident('closed', 'closed', 39.91);
  await incident('nowhere', 'new', null);
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

describe('the map', () => {
  it('tells the tile settings and where to open', async () => {
    const res = await get('/api/map/config');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ tileUrl: '', attribution: '', maxZoom: platform.config.map.maxZoom, zoom: 14 });
    // No located platform site and no demo: the middle of the located devices in service. The
    // database holds the other files' devices too, so the middle is of every one there now.
    const { rows: blockers } = await platform.pool.query(
      `SELECT code FROM sites WHERE code = $1 OR (kind = 'platform' AND lat IS NOT NULL AND lon IS NOT NULL)`, [DEMO_PLATFORM_CODE]);
    expect(blockers, 'a located platform site or the demo site would decide the centre instead').toEqual([]);
    const { rows } = await platform.pool.query<{ id: string; lat: number | null; lon: number | null; decommissioned_at: Date | null }>(
      'SELECT id, lat, lon, decommissioned_at FROM devices');
    const located = rows.filter((d) => d.lat !== null && d.lon !== null && d.decommissioned_at === null);
    // Ours among them: all but the unplaced and the decommissioned one.
    expect(ours(located).map((d) => d.id).sort()).toEqual([ids.p1, ids.p2, ids.p3, ids.inner, ids.s1].sort());
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(res.json().center.lat).toBeCloseTo(mean(located.map((d) => d.lat!)), 6);
    expect(res.json().center.lon).toBeCloseTo(mean(located.map((d) => d.lon!)), 6);
  });

  it('lists located devices in service only', async () => {
    const res = await get('/api/map/devices');
    expect(res.statusCode).toBe(200);
    const got: { id: string; lat: number | null; lon: number | null }[] = res.json().items;
    // Every device listed is located; of ours, the unplaced and the decommissioned one are not listed.
    expect(got.filter((d) => d.lat === null || d.lon === null)).toEqual([]);
    expect(ours(got).map((d) => d.id).sort()).toEqual([ids.p1, ids.p2, ids.p3, ids.inner, ids.s1].sort());
    expect(got.map((d) => d.id)).not.toContain(ids.gone);
    expect(got.map((d) => d.id)).not.toContain(ids.unplaced);
    expect(got.find((d: { id: string }) => d.id === ids.p1)).toEqual({
      id: ids.p1, name: `地图-p1-${run}`, kind: 'camera', cameraType: null, lat: 39.9, lon: 116.3, heading: 90, status: 'unknown', statusReason: null,
      hasSub: false, ptz: true, address: null, siteId: expect.any(String),
    });
  });

  it('lists open located incidents, or all with open=false, markup kept as text', async () => {
    type Item = { id: string; status: string; lat: number | null; lon: number | null };
    const open: Item[] = (await get('/api/map/incidents')).json().items;
    // Other files' incidents are in the database too: none listed is closed, cancelled or unplaced.
    expect(open.filter((i) => ['closed', 'cancelled'].includes(i.status) || i.lat === null || i.lon === null)).toEqual([]);
    expect(ours(open).map((i) => i.id)).toEqual([ids.open]);
    expect(open.find((i) => i.id === ids.open)).toMatchObject({ title: '<script>x</script>', status: 'dispatched', lat: 39.9, lon: 116.3, priority: 3 });
    const all: Item[] = (await get('/api/map/incidents?open=false')).json().items;
    expect(all.filter((i) => i.lat === null || i.lon === null)).toEqual([]);
    // Newest first: `open` happened a minute after `closed`.
    expect(ours(all).map((i) => i.id)).toEqual([ids.open, ids.closed]);
    expect((await get('/api/map/incidents?open=maybe')).json()).toMatchObject({ field: 'open' });
  });

  it('draws a registry\'s base layer from its sites and the hull of each area\'s devices', async () => {
    const res = await get('/api/map/base');
    expect(res.statusCode, res.body).toBe(200);
    const features: Feature[] = res.json().features;
    // Other files' sites may be drawn too: look at ours.
    const mine = new Set(Object.values(sites));
    const areas = features.filter((f) => f.properties.kind === 'area' && mine.has(f.properties.siteId as string));
    expect(areas).toHaveLength(1);
    // p1, p2, p3 make the hull; `inner` lies inside, the decommissioned and unplaced ones count not.
    const ring = (areas[0]!.geometry.coordinates as number[][][])[0]!;
    expect(ring).toHaveLength(4);
    expect(ring[0]).toEqual(ring.at(-1));
    expect(new Set(ring.map((p) => p.join(',')))).toEqual(new Set(['116.3,39.9', '116.32,39.9', '116.31,39.92']));
    const points = features.filter((f) => f.properties.kind === 'site' && mine.has(f.properties.siteId as string));
    // The platform site has no position: no point.
    expect(points.map((f) => f.properties.siteKind).sort()).toEqual(['area', 'station']);
    expect(features.some((f) => f.properties.kind === 'road')).toBe(false);
  });

  it('draws the demo town\'s streets and places once the demo site is loaded', async () => {
    const demo = demoSite(0);
    for (const s of demo.sites) await site(s.code, s.kind, s.lat, s.lon);
    const features: Feature[] = (await get('/api/map/base')).json().features;
    const roads = features.filter((f) => f.properties.kind === 'road');
    expect(roads.map((f) => f.properties.name)).toEqual(DEMO_ROADS.map((r) => r.name));
    expect(roads.every((f) => f.geometry.type === 'LineString' && (f.geometry.coordinates as unknown[]).length >= 2)).toBe(true);
    expect(features.filter((f) => f.properties.kind === 'place').map((f) => f.properties.name)).toEqual(DEMO_PLACES.map((p) => p.name));
    expect(features.filter((f) => f.properties.kind === 'site').map((f) => f.properties.code)).toEqual(expect.arrayContaining(demo.sites.map((s) => s.code)));
    // The streets span where the demo devices stand (lon, lat order in GeoJSON).
    const xs = roads.flatMap((f) => (f.geometry.coordinates as number[][]).map((p) => p[0]!));
    const ys = roads.flatMap((f) => (f.geometry.coordinates as number[][]).map((p) => p[1]!));
    for (const d of demo.devices) {
      expect(d.lon).toBeGreaterThan(Math.min(...xs) - 0.003);
      expect(d.lon).toBeLessThan(Math.max(...xs) + 0.003);
      expect(d.lat).toBeGreaterThan(Math.min(...ys) - 0.003);
      expect(d.lat).toBeLessThan(Math.max(...ys) + 0.003);
    }
    const cfg = (await get('/api/map/config')).json();
    expect(cfg.center).toEqual({ lat: 37.0603, lon: 115.6691 });
  });

  it('refuses patrol officers the devices and incidents (the base map is theirs too), and anonymous callers everything', async () => {
    const patrol = (await loginAs(app, platform, ['patrol'])).cookie;
    for (const url of ['/api/map/config', '/api/map/base', '/api/map/devices', '/api/map/incidents']) {
      expect((await get(url, patrol)).statusCode).toBe(url.endsWith('config') || url.endsWith('base') ? 200 : 403);
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401);
    }
    const investigator = (await loginAs(app, platform, ['investigator'])).cookie;
    expect((await get('/api/map/devices', investigator)).statusCode).toBe(200);
  });
});

describe('convexHull', () => {
  it('is null for fewer than three distinct points or a line, closed and counter-clockwise otherwise', () => {
    expect(convexHull([[0, 0], [1, 1]])).toBeNull();
    expect(convexHull([[0, 0], [1, 1], [2, 2], [1, 1]])).toBeNull();
    expect(convexHull([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1]])).toEqual([[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]);
  });
});
