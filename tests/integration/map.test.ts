import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { convexHull } from '../../console/server/map/base-layer.ts';
import { DEMO_PLACES, DEMO_ROADS, demoSite } from '../../config/demo-site.ts';
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
  const area = await site(`A-${run}`, 'area', 39.9, 116.3);
  const station = await site(`S-${run}`, 'station', 39.91, 116.31);
  await site(`N-${run}`, 'platform', null, null);
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
    // No located platform site and no demo: the middle of the located devices.
    expect(res.json().center.lat).toBeCloseTo((39.90 + 39.90 + 39.92 + 39.905 + 39.91) / 5, 6);
  });

  it('lists located devices in service only', async () => {
    const res = await get('/api/map/devices');
    expect(res.statusCode).toBe(200);
    const got = res.json().items;
    expect(got.map((d: { id: string }) => d.id).sort()).toEqual([ids.p1, ids.p2, ids.p3, ids.inner, ids.s1].sort());
    expect(got.find((d: { id: string }) => d.id === ids.p1)).toEqual({
      id: ids.p1, name: `地图-p1-${run}`, kind: 'camera', cameraType: null, lat: 39.9, lon: 116.3, heading: 90, status: 'unknown', statusReason: null,
      hasSub: false, ptz: true, address: null, siteId: expect.any(String),
    });
  });

  it('lists open located incidents, or all with open=false, markup kept as text', async () => {
    const open = await get('/api/map/incidents');
    expect(open.json().items.map((i: { id: string }) => i.id)).toEqual([ids.open]);
    expect(open.json().items[0]).toMatchObject({ title: '<script>x</script>', status: 'dispatched', lat: 39.9, lon: 116.3, priority: 3 });
    const all = await get('/api/map/incidents?open=false');
    expect(all.json().items.map((i: { id: string }) => i.id)).toEqual([ids.open, ids.closed]);
    expect((await get('/api/map/incidents?open=maybe')).json()).toMatchObject({ field: 'open' });
  });

  it('draws a registry\'s base layer from its sites and the hull of each area\'s devices', async () => {
    const res = await get('/api/map/base');
    expect(res.statusCode, res.body).toBe(200);
    const features: Feature[] = res.json().features;
    const areas = features.filter((f) => f.properties.kind === 'area');
    expect(areas).toHaveLength(1);
    // p1, p2, p3 make the hull; `inner` lies inside, the decommissioned and unplaced ones count not.
    const ring = (areas[0]!.geometry.coordinates as number[][][])[0]!;
    expect(ring).toHaveLength(4);
    expect(ring[0]).toEqual(ring.at(-1));
    expect(new Set(ring.map((p) => p.join(',')))).toEqual(new Set(['116.3,39.9', '116.32,39.9', '116.31,39.92']));
    const points = features.filter((f) => f.properties.kind === 'site');
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

  it('refuses patrol officers and anonymous callers', async () => {
    const patrol = (await loginAs(app, platform, ['patrol'])).cookie;
    for (const url of ['/api/map/config', '/api/map/base', '/api/map/devices', '/api/map/incidents']) {
      expect((await get(url, patrol)).statusCode).toBe(403);
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
