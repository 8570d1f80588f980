import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { bboxOf, gapsOf, pgPolygon, polygonArea2, recordedSeconds } from '../../console/server/search/ranges.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// Video search and nearby cameras through the console API, on a real migrated PostgreSQL: the
// earthdistance radius search, footage coverage merged in SQL, events of four kinds, the incident
// as audited reason and timeline entry, bad input named by field, and the roles refused.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let investigator: { cookie: string; username: string };
let patrol: string;
const run = randomBytes(3).toString('hex');
// A spot of our own, away from anything else in the database (the integration files share one per
// run, and no other file places devices between 30° and 35° N, 100° and 105° E).
const C = { lat: 30 + Math.random() * 5, lon: 100 + Math.random() * 5 };
/** A tag no other file's device carries (devices.test.ts imports a checkpoint tagged plain 卡口). */
const TAG = `卡口-${run}`;
/** A point `north` and `east` metres from C. */
const at = (north: number, east: number) => ({ lat: C.lat + north / 111_195, lon: C.lon + east / (111_195 * Math.cos((C.lat * Math.PI) / 180)) });
const ids: Record<string, string> = {};
const T0 = Date.parse('2026-03-01T10:00:00Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
/** a's first range ends a second before 10:10: its last 59 s segment starts at 10:09. */
const A_END = new Date(T0 + 10 * 60_000 - 1000).toISOString();
/** b's range ends at 10:24:58: 100 segments of 10 s, 2 s apart, from 10:05. */
const B_END = new Date(T0 + 25 * 60_000 - 2000).toISOString();
let incident: { id: string; number: string };

async function device(key: string, o: { kind?: string; lat?: number | null; lon?: number | null; tags?: string[]; name?: string; gone?: boolean } = {}) {
  const { rows } = await platform.pool.query(
    `INSERT INTO devices (kind, name, lat, lon, tags, rtsp_sub, decommissioned_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [o.kind ?? 'camera', o.name ?? `检索-${key}-${run}`, o.lat ?? null, o.lon ?? null, o.tags ?? [], key === 'a' ? 'rtsp://127.0.0.1/sub' : null, o.gone ? new Date() : null],
  );
  ids[key] = rows[0].id;
}

/** Segments of `seconds` each from minute `from` to minute `to`, `hole` seconds apart. */
async function segments(deviceId: string, from: number, to: number, seconds: number, hole: number) {
  const starts: Date[] = []; const ends: Date[] = []; const paths: string[] = [];
  for (let t = T0 + from * 60_000; t < T0 + to * 60_000; t += (seconds + hole) * 1000) {
    starts.push(new Date(t)); ends.push(new Date(Math.min(t + seconds * 1000, T0 + to * 60_000))); paths.push(`rec/${deviceId}/x/${t}.ts`);
  }
  await platform.pool.query(
    `INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes) SELECT $1, s, e, p, 1000 FROM unnest($2::timestamptz[], $3::timestamptz[], $4::text[]) AS u(s, e, p)`,
    [deviceId, starts, ends, paths],
  );
}

const get = (url: string, cookie = investigator.cookie) => app.inject({ method: 'GET', url, headers: { cookie } });
const footage = (payload: Record<string, unknown>, cookie = investigator.cookie) => app.inject({ method: 'POST', url: '/api/search/footage', headers: { cookie }, payload });

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  app = await buildConsole(platform);
  await app.ready();
  investigator = await loginAs(app, platform, ['investigator']);
  patrol = (await loginAs(app, platform, ['patrol'])).cookie;
  await device('a', { ...at(0, 0), tags: ['重点部位'], name: `<b>路口</b>-${'长'.repeat(150)}-${run}` });
  await device('b', { ...at(300, 0) });
  await device('c', { ...at(0, 800), kind: 'checkpoint', tags: [TAG] });
  await device('far', { ...at(2500, 0) });
  await device('gone', { ...at(100, 0), gone: true });
  await device('unplaced', {});
  // a: 10:00–10:10 in 59 s segments 1 s apart (one range), nothing 10:10–10:20, then 10:20–10:30.
  await segments(ids.a!, 0, 10, 59, 1);
  await segments(ids.a!, 20, 30, 60, 0);
  // b: one range from 10:05 in 10 s segments with 2 s holes (still one range).
  await segments(ids.b!, 5, 25, 10, 2);
  const { rows: [inc] } = await platform.pool.query(
    `INSERT INTO incidents (number, type, source, title, lat, lon, occurred_at, created_by_name) VALUES ($1, 'theft', 'call_110', '盗窃', $2, $3, now(), 'test')
     RETURNING id, number`, [`T${run}0001`, at(250, 0).lat, at(250, 0).lon]);
  incident = inc;
  await platform.pool.query(`INSERT INTO alarms (kind, device_id, raised_at, device_name) VALUES ('manual', $1, $2, 'a')`, [ids.a, iso(5)]);
  await platform.pool.query(`INSERT INTO alarms (kind, device_id, raised_at, device_name) VALUES ('manual', $1, $2, 'a')`, [ids.a, iso(-60)]);
  await platform.pool.query(
    `INSERT INTO snapshots (device_id, taken_at, source, path, bytes, requested_by_name, purpose, reason) VALUES ($1, $2, 'session', $3, 10, 'x', 'manual', '可疑人员')`,
    [ids.b, iso(7), `snap-${run}.jpg`]);
  await platform.pool.query(`INSERT INTO bookmarks (incident_id, device_id, starts_at, ends_at, note, created_by_name) VALUES ($1, $2, $3, $4, '<i>嫌疑人</i>', 'x')`,
    [incident.id, ids.b, iso(8), iso(9)]);
  // a went offline at 09:50 (before the window) and came back at 10:12; again offline 10:28 until now.
  for (const [status, m] of [['online', -120], ['offline', -10], ['offline', -5], ['online', 12], ['offline', 28]] as const) {
    await platform.pool.query(`INSERT INTO device_status_events (device_id, status, at) VALUES ($1, $2, $3)`, [ids.a, status, iso(m)]);
  }
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

describe('nearby cameras', () => {
  it('finds located devices in service within the radius, nearest first', async () => {
    const res = await get(`/api/search/nearby?lat=${C.lat}&lon=${C.lon}&radius=1000`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.radius).toBe(1000);
    expect(body.items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.a, ids.b, ids.c]);
    expect(body.items[0].distanceMeters).toBeLessThan(1);
    expect(body.items[1].distanceMeters).toBeGreaterThan(295);
    expect(body.items[1].distanceMeters).toBeLessThan(305);
    expect(body.items[0].device).toMatchObject({ kind: 'camera', hasSub: true, status: 'unknown' });
    expect(body.items[0].device.name).toContain('<b>路口</b>');
  });

  it('uses the configured default radius and filters by kind', async () => {
    const res = await get(`/api/search/nearby?lat=${C.lat}&lon=${C.lon}`);
    expect(res.json().radius).toBe(platform.config.incidents.nearbyRadiusMeters);
    expect(res.json().items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.a, ids.b]);
    const cp = await get(`/api/search/nearby?lat=${C.lat}&lon=${C.lon}&radius=3000&kind=checkpoint`);
    expect(cp.json().items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.c]);
    const cams = await get(`/api/search/nearby?lat=${C.lat}&lon=${C.lon}&radius=3000&kind=camera&limit=2`);
    expect(cams.json().items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.a, ids.b]);
  });

  it('refuses bad input naming the field', async () => {
    const over = await get(`/api/search/nearby?lat=${C.lat}&lon=${C.lon}&radius=${platform.config.incidents.maxRadiusMeters + 1}`);
    expect(over.statusCode).toBe(400);
    expect(over.json()).toMatchObject({ field: 'radius', code: 'search.radius_too_large', params: { max: platform.config.incidents.maxRadiusMeters } });
    expect((await get(`/api/search/nearby?lat=91&lon=${C.lon}`)).json()).toMatchObject({ field: 'lat' });
    expect((await get(`/api/search/nearby?lat=${C.lat}&lon=-181`)).json()).toMatchObject({ field: 'lon' });
    expect((await get(`/api/search/nearby?lon=${C.lon}`)).json()).toMatchObject({ field: 'lat', code: 'search.center_required' });
    expect((await get(`/api/search/nearby?incidentId=${randomUUID()}`)).statusCode).toBe(404);
  });

  it('centres on an incident, audits it as the reason and notes it on the timeline', async () => {
    const res = await get(`/api/search/nearby?incidentId=${incident.id}&radius=200`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().center.lat).toBeCloseTo(at(250, 0).lat, 6);
    // b is 50 m away, a 250 m.
    expect(res.json().items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.b]);
    const { rows: audit } = await platform.pool.query(`SELECT reason, actor_name, details FROM audit_log WHERE action = 'footage.search' AND target_id = $1`, [incident.id]);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ reason: `incident:${incident.number}`, actor_name: investigator.username, details: { search: 'nearby', radius: 200, count: 1 } });
    const { rows: tl } = await platform.pool.query(`SELECT kind, actor_name, details FROM incident_events WHERE incident_id = $1`, [incident.id]);
    expect(tl).toEqual([expect.objectContaining({ kind: 'cameras.searched', actor_name: investigator.username, details: expect.objectContaining({ deviceIds: [ids.b] }) })]);
    const { rows: ev } = await platform.pool.query(`SELECT kind FROM events WHERE topic = $1`, [`incident:${incident.id}`]);
    expect(ev.map((e) => e.kind)).toContain('incident.timeline');
  });
});

describe('footage search', () => {
  it('merges segments into ranges, finds gaps and the four kinds of event', async () => {
    const res = await footage({ deviceIds: [ids.b, ids.a], from: iso(0), to: iso(30) });
    expect(res.statusCode, res.body).toBe(200);
    const { items, truncated } = res.json();
    expect(truncated).toBe(false);
    const a = items.find((i: { device: { id: string } }) => i.device.id === ids.a);
    const b = items.find((i: { device: { id: string } }) => i.device.id === ids.b);
    expect(a.ranges).toEqual([{ from: iso(0), to: A_END }, { from: iso(20), to: iso(30) }]);
    expect(a.gaps).toEqual([{ from: A_END, to: iso(20) }]);
    expect(a.recordedSeconds).toBe(1200 - 1);
    expect(b.ranges).toEqual([{ from: iso(5), to: B_END }]);
    expect(b.gaps).toEqual([{ from: iso(0), to: iso(5) }, { from: B_END, to: iso(30) }]);
    expect(a.events.map((e: { kind: string; at: string; to: string | null }) => [e.kind, e.at, e.to])).toEqual([
      ['offline', iso(-10), iso(12)], ['alarm', iso(5), null], ['offline', iso(28), null],
    ]);
    expect(b.events.map((e: { kind: string; label: string }) => [e.kind, e.label])).toEqual([['snapshot', '可疑人员'], ['bookmark', '<i>嫌疑人</i>']]);
  });

  it('finds the cameras inside a drawn polygon, by tag, and only those with events when asked', async () => {
    // A triangle around a (0,0) that leaves b (300 m north) and c (800 m east) outside.
    const tri = [at(-200, -200), at(-200, 400), at(150, 0)];
    const area = await footage({ area: { points: tri }, from: iso(0), to: iso(30) });
    expect(area.statusCode, area.body).toBe(200);
    expect(area.json().items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.a]);
    // The spot and the tag are this run's own: nothing else may answer.
    const tagged = await footage({ tags: [TAG], from: iso(0), to: iso(30) });
    expect(tagged.json().items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.c]);
    const withAlarms = await footage({ deviceIds: [ids.a, ids.b, ids.c], events: ['alarm'], from: iso(0), to: iso(30) });
    expect(withAlarms.json().items.map((i: { device: { id: string } }) => i.device.id)).toEqual([ids.a]);
    // Events alone search every device in the database, the other files' too: of ours, only b.
    const bookmarked = await footage({ events: ['bookmark'], from: iso(0), to: iso(30) });
    const mine = new Set(Object.values(ids));
    const found: string[] = bookmarked.json().items.map((i: { device: { id: string } }) => i.device.id);
    expect(found.filter((id) => mine.has(id))).toEqual([ids.b]);
    const limited = await footage({ deviceIds: [ids.a, ids.b, ids.c], from: iso(0), to: iso(30), limit: 2 });
    expect(limited.json().items).toHaveLength(2);
    expect(limited.json().truncated).toBe(true);
    // A camera with no position still answers by id, with a null position.
    const unplaced = await footage({ deviceIds: [ids.unplaced], from: iso(0), to: iso(30) });
    expect(unplaced.json().items[0].device).toMatchObject({ id: ids.unplaced, lat: null, lon: null });
    expect(unplaced.json().items[0].gaps).toEqual([{ from: iso(0), to: iso(30) }]);
  });

  it('refuses bad ranges and areas naming the field', async () => {
    expect((await footage({ deviceIds: [ids.a], from: iso(30), to: iso(0) })).json()).toMatchObject({ field: 'to', code: 'search.range_reversed' });
    const long = await footage({ deviceIds: [ids.a], from: iso(0), to: iso((platform.config.search.maxRangeDays + 1) * 1440) });
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ field: 'to', code: 'search.range_too_long', params: { maxDays: platform.config.search.maxRangeDays } });
    expect((await footage({ area: { points: [at(0, 0), at(1, 1), at(2, 2)] }, from: iso(0), to: iso(1) })).json()).toMatchObject({ field: 'area.points', code: 'search.area_invalid' });
    expect((await footage({ area: { points: [at(0, 0), at(1, 1)] }, from: iso(0), to: iso(1) })).json()).toMatchObject({ field: 'area.points' });
    expect((await footage({ area: { points: [{ lat: 95, lon: 0 }, at(1, 1), at(2, 0)] }, from: iso(0), to: iso(1) })).json()).toMatchObject({ field: 'area.points.0.lat' });
    expect((await footage({ from: iso(0), to: iso(1) })).json()).toMatchObject({ field: 'deviceIds', code: 'search.scope_required' });
    expect((await footage({ deviceIds: [ids.a], from: 'yesterday', to: iso(1) })).json()).toMatchObject({ field: 'from' });
    expect((await footage({ deviceIds: [ids.a], from: iso(0), to: iso(1), incidentId: randomUUID() })).statusCode).toBe(404);
  });

  it('audits every search, with the incident as reason and a timeline entry when started from one', async () => {
    const before = (await platform.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'footage.search'`)).rows[0].n;
    await footage({ deviceIds: [ids.a], from: iso(0), to: iso(30) });
    const res = await footage({ deviceIds: [ids.a, ids.b], from: iso(0), to: iso(30), incidentId: incident.id });
    expect(res.statusCode).toBe(200);
    const { rows } = await platform.pool.query(`SELECT reason, target_type, details FROM audit_log WHERE action = 'footage.search' ORDER BY id OFFSET $1`, [before]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ reason: null, target_type: 'footage', details: { search: 'footage', count: 1 } });
    expect(rows[1]).toMatchObject({ reason: `incident:${incident.number}`, target_type: 'incident', details: { search: 'footage', count: 2, incidentNumber: incident.number } });
    const { rows: tl } = await platform.pool.query(`SELECT details FROM incident_events WHERE incident_id = $1 AND kind = 'footage.searched'`, [incident.id]);
    expect(tl).toHaveLength(1);
    expect(tl[0].details.count).toBe(2);
  });
});

describe('a camera\'s timeline', () => {
  it('answers ranges, gaps and events over the range asked, audited', async () => {
    const res = await get(`/api/search/timeline/${ids.a}?from=${iso(0)}&to=${iso(30)}&incidentId=${incident.id}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ device: { id: ids.a }, ranges: [{ from: iso(0), to: A_END }, { from: iso(20), to: iso(30) }], gaps: [{ from: A_END, to: iso(20) }] });
    expect(res.json().events).toHaveLength(3);
    const { rows } = await platform.pool.query(`SELECT reason, details FROM audit_log WHERE action = 'footage.search' AND target_id = $1`, [ids.a]);
    expect(rows.at(-1)).toMatchObject({ reason: `incident:${incident.number}`, details: { search: 'timeline' } });
  });

  it('defaults to the last 24 hours, keeps decommissioned cameras, and refuses unknown ones', async () => {
    const res = await get(`/api/search/timeline/${ids.gone}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(Date.parse(res.json().gaps[0].to) - Date.parse(res.json().gaps[0].from)).toBeGreaterThan(86_000_000);
    expect((await get(`/api/search/timeline/${randomUUID()}`)).statusCode).toBe(404);
    expect((await get(`/api/search/timeline/${ids.a}?from=${iso(10)}&to=${iso(0)}`)).json()).toMatchObject({ field: 'to', code: 'search.range_reversed' });
  });
});

describe('who may search', () => {
  it('refuses patrol officers and anonymous callers everywhere', async () => {
    const urls = [`/api/search/nearby?lat=${C.lat}&lon=${C.lon}`, `/api/search/timeline/${ids.a}`];
    for (const url of urls) {
      expect((await get(url, patrol)).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401);
    }
    expect((await footage({ deviceIds: [ids.a], from: iso(0), to: iso(1) }, patrol)).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/search/footage', payload: { deviceIds: [ids.a], from: iso(0), to: iso(1) } })).statusCode).toBe(401);
    for (const role of ['admin', 'supervisor', 'monitor'] as const) {
      const cookie = (await loginAs(app, platform, [role])).cookie;
      expect((await get(urls[0]!, cookie)).statusCode).toBe(200);
    }
  });
});

describe('the footage decisions', () => {
  const d = (s: number) => new Date(T0 + s * 1000);
  it('finds gaps longer than the tolerance, up to the end or now', () => {
    expect(gapsOf([], d(0), d(60))).toEqual([{ from: d(0), to: d(60) }]);
    expect(gapsOf([{ from: d(0), to: d(30) }, { from: d(32), to: d(60) }], d(0), d(60))).toEqual([]);
    expect(gapsOf([{ from: d(0), to: d(30) }, { from: d(33), to: d(50) }], d(0), d(60))).toEqual([{ from: d(30), to: d(33) }, { from: d(50), to: d(60) }]);
    // A range past `until` (the future) is no reason for a gap; one of 2 s at the start is none.
    expect(gapsOf([{ from: d(2), to: d(10) }, { from: d(100), to: d(200) }], d(0), d(40))).toEqual([{ from: d(10), to: d(40) }]);
  });
  it('sums recorded seconds and shapes the polygon', () => {
    expect(recordedSeconds([{ from: d(0), to: d(1.5) }, { from: d(10), to: d(20) }])).toBe(11.5);
    const sq = [{ lat: 0, lon: 0 }, { lat: 0, lon: 2 }, { lat: 1, lon: 2 }, { lat: 1, lon: 0 }];
    expect(Math.abs(polygonArea2(sq))).toBe(4);
    expect(polygonArea2([{ lat: 0, lon: 0 }, { lat: 1, lon: 1 }, { lat: 2, lon: 2 }])).toBe(0);
    expect(bboxOf(sq)).toEqual({ minLat: 0, maxLat: 1, minLon: 0, maxLon: 2 });
    expect(pgPolygon(sq)).toBe('((0,0),(2,0),(2,1),(0,1))');
  });
});
