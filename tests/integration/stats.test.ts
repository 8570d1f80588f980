import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { STATS_VIEWERS } from '../../console/server/stats/routes.ts';
import type { App } from '../../core/http/app.ts';
import type { Role } from '../../core/identity/types.ts';
import type { Platform } from '../../core/platform.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// Statistics (警情分析) on a database of its own (every figure is checked exactly): incidents seeded
// across two years in the site's zone (Asia/Shanghai, +08:00), their 环比 and 同比, breakdowns by
// type, area (sub-sites rolled up), grid, hour, weekday and source; response times against the
// 60/180/300-second targets by area, shift, type and unit (cues); camera online rate and recording
// completeness by area, now and at a past moment; the daily brief; CSV; roles; bad input.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
const cookies: Partial<Record<Role, string>> = {};
const run = randomBytes(3).toString('hex');
const site: Record<string, string> = {};
const unit: Record<string, string> = {};
const incident: Record<string, string> = {};
const camera: Record<string, string> = {};
let seq = 0;

const get = (url: string, role: Role | null = 'supervisor') => app.inject({ method: 'GET', url, headers: role ? { cookie: cookies[role]! } : {} });
const ok = async (url: string) => {
  const res = await get(url);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};
/** A site-local (+08:00) wall time as an instant. */
const cst = (local: string) => new Date(`${local}+08:00`);
const plus = (d: Date, seconds: number) => new Date(d.getTime() + seconds * 1000);

async function addSite(key: string, kind: string, parent: string | null) {
  const { rows } = await platform.pool.query(`INSERT INTO sites (code, name, kind, parent_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [`${key}-${run}`, `站点${key}`, kind, parent ? site[parent] : null]);
  site[key] = rows[0].id;
}

interface Seed {
  type: string; occurred: string; siteKey?: string; unitKey?: string; source?: string; status?: string; priority?: number;
  /** Seconds after occurrence it was entered, first dispatched, first arrived. */
  created?: number; dispatched?: number; arrived?: number; videoAssisted?: boolean | null;
}
async function addIncident(key: string, s: Seed) {
  const occurred = cst(s.occurred);
  const created = plus(occurred, s.created ?? 0);
  const { rows } = await platform.pool.query(
    `INSERT INTO incidents (number, type, priority, source, status, title, address, occurred_at, created_at, updated_at, created_by_name,
                            site_id, grid_unit_id, dispatched_at, arrived_at, video_assisted, closed_at)
     VALUES ($1, $2, $3, $4, $5, $6, '人民路1号', $7, $8, $8, '测试', $9, $10, $11, $12, $13, CASE WHEN $5 IN ('closed', 'cancelled') THEN $8::timestamptz END)
     RETURNING id`,
    [`ST${run}${++seq}`, s.type, s.priority ?? 3, s.source ?? 'call_110', s.status ?? 'new', `警情${key}`, occurred, created,
      s.siteKey ? site[s.siteKey] : null, s.unitKey ? unit[s.unitKey] : null,
      s.dispatched !== undefined ? plus(created, s.dispatched) : null, s.arrived !== undefined ? plus(created, s.arrived) : null, s.videoAssisted ?? null],
  );
  incident[key] = rows[0].id;
  return { created };
}

async function addCue(incidentKey: string, unitKey: string, sent: Date, times: { received?: number; enRoute?: number; onScene?: number }, status: string) {
  const at = (s?: number) => (s === undefined ? null : plus(sent, s));
  await platform.pool.query(
    `INSERT INTO cues (incident_id, unit_id, status, created_by_name, sent_at, ack_deadline, received_at, en_route_at, on_scene_at)
     VALUES ($1, $2, $3, '监控员', $4, $4::timestamptz + interval '1 minute', $5, $6, $7)`,
    [incident[incidentKey], unit[unitKey], status, sent, at(times.received), at(times.enRoute), at(times.onScene)]);
}

async function addCamera(key: string, o: { siteKey: string | null; status: string; mode?: string; kind?: string; enabled?: boolean; gone?: boolean; createdAt?: Date }) {
  const { rows } = await platform.pool.query(
    `INSERT INTO devices (kind, name, site_id, status, recording_mode, enabled, decommissioned_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [o.kind ?? 'camera', `统计相机-${key}-${run}`, o.siteKey ? site[o.siteKey] : null, o.status, o.mode ?? 'none', o.enabled ?? true,
      o.gone ? new Date() : null, o.createdAt ?? new Date('2025-01-01T00:00:00Z')]);
  camera[key] = rows[0].id;
}

const T0 = new Date('2026-01-10T04:00:00Z');

beforeAll(async () => {
  ({ platform, close } = await testPlatform({}, { ownDatabase: true }));
  app = await buildConsole(platform);
  await app.ready();
  for (const role of ['admin', 'supervisor', 'monitor', 'investigator', 'patrol'] as const) cookies[role] = (await loginAs(app, platform, [role])).cookie;

  // The area tree: a platform, two areas, a station below each.
  await addSite('P', 'platform', null);
  await addSite('A1', 'area', 'P');
  await addSite('A2', 'area', 'P');
  await addSite('S1', 'station', 'A1');
  await addSite('S2', 'station', 'A2');
  for (const [key, grid] of [['U1', '东街网格'], ['U2', '西街网格']] as const) {
    const { rows } = await platform.pool.query(`INSERT INTO patrol_units (call_sign, kind, grid_name) VALUES ($1, 'vehicle', $2) RETURNING id`, [`${key}-${run}`, grid]);
    unit[key] = rows[0].id;
  }

  // March 2026 (site-local): five incidents, the first at the very start.
  await addIncident('c1', { type: 'theft', occurred: '2026-03-02T09:30:00', siteKey: 'S1', unitKey: 'U1', status: 'closed', priority: 2, created: 60, dispatched: 30, arrived: 150, videoAssisted: true });
  await addIncident('c2', { type: 'theft', occurred: '2026-03-03T17:00:00', siteKey: 'A1', unitKey: 'U1', source: 'video_patrol', status: 'closed', dispatched: 20, arrived: 50, videoAssisted: false });
  const c3 = await addIncident('c3', { type: 'fight', occurred: '2026-03-08T23:59:59', siteKey: 'S2', unitKey: 'U2', status: 'on_scene', dispatched: 100, arrived: 400 });
  await addIncident('c4', { type: 'traffic', occurred: '2026-03-31T23:30:00', source: 'other' });
  await addIncident('c5', { type: 'theft', occurred: '2026-03-01T00:00:00', siteKey: 'P', status: 'closed', priority: 1, dispatched: 10 });
  // Just outside: the next month, and (环比, [2026-01-29, 2026-03-01)) two inside and one before it.
  await addIncident('x1', { type: 'theft', occurred: '2026-04-01T00:00:00', siteKey: 'S1' });
  await addIncident('p1', { type: 'theft', occurred: '2026-02-28T23:59:59', siteKey: 'S1' });
  await addIncident('p2', { type: 'fight', occurred: '2026-01-29T00:00:00', siteKey: 'S2' });
  await addIncident('x2', { type: 'fight', occurred: '2026-01-28T23:59:59', siteKey: 'S2' });
  // 同比: March 2025, three; April 1st 2025 is outside.
  await addIncident('y1', { type: 'theft', occurred: '2025-03-02T08:00:00', siteKey: 'A1' });
  await addIncident('y2', { type: 'theft', occurred: '2025-03-15T12:00:00', siteKey: 'S2' });
  await addIncident('y3', { type: 'fire', occurred: '2025-03-31T23:59:00' });
  await addIncident('x3', { type: 'fire', occurred: '2025-04-01T00:00:00' });

  // Cues: U1 to c1 (on scene after 120 s), U1 to c3 first (reassigned, never there), then U2 to c3.
  const c1sent = plus(cst('2026-03-02T09:31:00'), 30);
  await addCue('c1', 'U1', c1sent, { received: 5, enRoute: 10, onScene: 120 }, 'done');
  const c3sent = plus(c3.created, 100);
  await addCue('c3', 'U1', c3sent, {}, 'reassigned');
  await addCue('c3', 'U2', plus(c3sent, 10), { received: 20, onScene: 300 }, 'on_scene');

  // Cameras: two at S1 (one recording continuously), one degraded at A2; left out: decommissioned, disabled, a checkpoint.
  await addCamera('rec', { siteKey: 'S1', status: 'online', mode: 'continuous', createdAt: new Date(T0.getTime() - 86_400_000) });
  await addCamera('off', { siteKey: 'S1', status: 'offline', mode: 'continuous', createdAt: new Date(T0.getTime() - 86_400_000) });
  await addCamera('deg', { siteKey: 'A2', status: 'degraded' });
  await addCamera('gone', { siteKey: 'A2', status: 'online', gone: true });
  await addCamera('disabled', { siteKey: 'A2', status: 'offline', enabled: false });
  await addCamera('gate', { siteKey: 'A2', status: 'online', kind: 'checkpoint' });
  // Segments of `rec` around [T0, T0 + 1 h): 5 minutes inside of the first, then 20 minutes.
  const min = 60_000;
  const segs = [[-5, 5], [10, 20], [20, 30]].map(([a, b], k) => [camera.rec, new Date(T0.getTime() + a! * min), new Date(T0.getTime() + b! * min), `rec/${run}/${k}.ts`]);
  for (const s of segs) await platform.pool.query(`INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes) VALUES ($1, $2, $3, $4, 1024)`, s);
  // Status history of `rec`: online an hour before T0, offline from T0 + 30 min.
  await platform.pool.query(`INSERT INTO device_status_events (device_id, status, at) VALUES ($1, 'online', $2), ($1, 'offline', $3)`,
    [camera.rec, new Date(T0.getTime() - 60 * min), new Date(T0.getTime() + 30 * min)]);
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

const MARCH = 'from=2026-03-01&to=2026-04-01';

describe('incident statistics', () => {
  it('counts the period with its 环比 and 同比', async () => {
    const s = await ok(`/api/stats/incidents?${MARCH}`);
    expect(s.timeZone).toBe('Asia/Shanghai');
    expect(s.from).toBe('2026-02-28T16:00:00.000Z');
    expect(s.to).toBe('2026-03-31T16:00:00.000Z');
    expect(s.totals).toEqual({
      count: 5,
      previous: { from: '2026-01-28T16:00:00.000Z', to: '2026-02-28T16:00:00.000Z', count: 2 },
      lastYear: { from: '2025-02-28T16:00:00.000Z', to: '2025-03-31T16:00:00.000Z', count: 3 },
      previousChange: 1.5,
      lastYearChange: (5 - 3) / 3,
      closed: 3, videoAssisted: 1, videoAssistedRate: 1 / 3,
    });
  });

  it('breaks the period down by type, area, grid, hour, weekday and source', async () => {
    const s = await ok(`/api/stats/incidents?${MARCH}`);
    const byType = Object.fromEntries(s.byType.map((t: any) => [t.type, [t.count, t.previous, t.lastYear]]));
    expect(byType).toMatchObject({ theft: [3, 1, 2], fight: [1, 1, 0], traffic: [1, 0, 0], fire: [0, 0, 1], robbery: [0, 0, 0] });
    expect(s.byType).toHaveLength(platform.config.incidents.types.length);
    expect(s.byType.slice(0, 3).map((t: any) => t.type)).toEqual(['theft', 'fight', 'traffic']);
    // Below the one platform: its areas with their stations rolled in, the platform's own, and no site.
    expect(s.byArea).toEqual([
      { siteId: site.A1, name: '站点A1', kind: 'area', itself: false, count: 2 },
      { siteId: site.P, name: '站点P', kind: 'platform', itself: true, count: 1 },
      { siteId: site.A2, name: '站点A2', kind: 'area', itself: false, count: 1 },
      { siteId: null, name: '', kind: null, itself: false, count: 1 },
    ]);
    const grids = Object.fromEntries(s.byGrid.map((g: any) => [g.unitId ?? 'none', [g.count, g.gridName, g.callSign]]));
    expect(grids).toEqual({ [unit.U1!]: [2, '东街网格', `U1-${run}`], [unit.U2!]: [1, '西街网格', `U2-${run}`], none: [2, '', ''] });
    const hours = Array.from({ length: 24 }, () => 0);
    hours[0] = 1; hours[9] = 1; hours[17] = 1; hours[23] = 2;
    expect(s.byHour).toEqual(hours);
    expect(s.byWeekday).toEqual([1, 2, 0, 0, 0, 0, 2]);
    expect(s.bySource).toEqual([
      { source: 'call_110', count: 3 }, { source: 'video_patrol', count: 1 }, { source: 'face_alarm', count: 0 },
      { source: 'plate_alarm', count: 0 }, { source: 'patrol_report', count: 0 }, { source: 'other', count: 1 },
    ]);
  });

  it('narrows to a site\'s subtree, read one level below it, and to a type', async () => {
    const s = await ok(`/api/stats/incidents?${MARCH}&siteId=${site.A1}`);
    expect(s.totals).toMatchObject({ count: 2, previous: { count: 1 }, lastYear: { count: 1 } });
    expect(s.byArea).toEqual([
      { siteId: site.A1, name: '站点A1', kind: 'area', itself: true, count: 1 },
      { siteId: site.S1, name: '站点S1', kind: 'station', itself: false, count: 1 },
    ]);
    const fights = await ok(`/api/stats/incidents?${MARCH}&type=fight`);
    expect(fights.totals).toMatchObject({ count: 1, previous: { count: 1 }, lastYear: { count: 0 }, previousChange: 0, lastYearChange: null });
    expect(fights.byType).toEqual([{ type: 'fight', count: 1, previous: 1, lastYear: 0 }]);
  });

  it('takes date-times in the site zone or with an offset, and cuts a long period into parts that add up', async () => {
    const s = await ok('/api/stats/incidents?from=2026-03-02T09:00&to=2026-03-03T17:00:01%2B08:00');
    expect(s.totals.count).toBe(2);
    const year = await ok('/api/stats/incidents?from=2025-04-01&to=2026-04-01');
    // March 2026's five, the three of February and January, and 1 April 2025 at midnight.
    expect(year.totals.count).toBe(9);
    expect(year.byHour.reduce((a: number, b: number) => a + b, 0)).toBe(9);
    expect(year.byWeekday.reduce((a: number, b: number) => a + b, 0)).toBe(9);
    expect(year.byGrid.reduce((a: number, g: any) => a + g.count, 0)).toBe(9);
    // 环比 (365 days before) and 同比 of a year coincide here: one scan, each counted on its own.
    expect(year.totals.previous).toEqual({ from: '2024-03-31T16:00:00.000Z', to: '2025-03-31T16:00:00.000Z', count: 3 });
    expect(year.totals.lastYear).toEqual({ from: '2024-03-31T16:00:00.000Z', to: '2025-03-31T16:00:00.000Z', count: 3 });
  });
});

describe('response statistics', () => {
  const url = (groupBy: string, extra = '') => `/api/stats/response?${MARCH}&groupBy=${groupBy}${extra}`;

  it('measures arrivals from entry against the targets, by area', async () => {
    const s = await ok(url('area'));
    expect(s.targetsSeconds).toEqual([60, 180, 300]);
    expect(s.total).toEqual({
      key: null, label: '', itself: false, dispatched: 4, arrived: 3, within: [1, 2, 2], withinRate: [0.25, 0.5, 0.5],
      response: { median: 150, p90: 350 }, dispatch: { median: 25, p90: 79 }, travel: { median: 120, p90: 264 },
    });
    const groups = Object.fromEntries(s.groups.map((g: any) => [g.key ?? 'none', g]));
    expect(groups[site.A1!]).toEqual({
      key: site.A1, label: '站点A1', itself: false, dispatched: 2, arrived: 2, within: [1, 2, 2], withinRate: [0.5, 1, 1],
      response: { median: 100, p90: 140 }, dispatch: { median: 25, p90: 29 }, travel: { median: 75, p90: 111 },
    });
    expect(groups[site.A2!]).toMatchObject({ dispatched: 1, arrived: 1, within: [0, 0, 0], response: { median: 400, p90: 400 }, travel: { median: 300 } });
    expect(groups[site.P!]).toMatchObject({ itself: true, dispatched: 1, arrived: 0, within: [0, 0, 0], response: { median: null, p90: null }, dispatch: { median: 10 } });
    expect(Object.keys(groups)).toHaveLength(3);
  });

  it('groups by shift of entry, by type and by unit', async () => {
    const shifts = await ok(url('shift'));
    expect(shifts.groups.map((g: any) => [g.key, g.dispatched, g.arrived])).toEqual([['day', 1, 1], ['evening', 2, 2], ['night', 1, 0]]);
    const types = await ok(url('type'));
    expect(types.groups.slice(0, 2).map((g: any) => [g.key, g.dispatched, g.within])).toEqual([['theft', 3, [1, 2, 2]], ['fight', 1, [0, 0, 0]]]);
    expect(types.groups.find((g: any) => g.key === 'fire')).toMatchObject({ dispatched: 0, withinRate: [null, null, null] });
    const units = await ok(url('unit'));
    expect(units.total).toMatchObject({ dispatched: 3, arrived: 2, within: [0, 1, 2] });
    const byUnit = Object.fromEntries(units.groups.map((g: any) => [g.label, g]));
    expect(byUnit[`U1-${run}`]).toMatchObject({ key: unit.U1, dispatched: 2, arrived: 1, within: [0, 1, 1], response: { median: 120 }, dispatch: { median: 5 }, travel: { median: 110 } });
    expect(byUnit[`U2-${run}`]).toMatchObject({ dispatched: 1, arrived: 1, within: [0, 0, 1], response: { median: 300 }, dispatch: { median: 20 }, travel: { median: 280 } });
  });

  it('narrows to a site and a type', async () => {
    const s = await ok(url('area', `&siteId=${site.A1}&type=theft`));
    expect(s.total).toMatchObject({ dispatched: 2, arrived: 2 });
    expect(s.groups.map((g: any) => [g.key, g.dispatched])).toEqual([[site.A1, 1], [site.S1, 1]]);
  });
});

describe('device statistics', () => {
  it('tells the online rate by area now', async () => {
    const s = await ok('/api/stats/devices');
    expect(s.total).toMatchObject({ cameras: 3, online: 1, degraded: 1, offline: 1, unknown: 0, onlineRate: 1 / 3 });
    const areas = Object.fromEntries(s.byArea.map((a: any) => [a.name, a]));
    expect(areas['站点A1']).toMatchObject({ siteId: site.A1, cameras: 2, online: 1, offline: 1, onlineRate: 0.5, recordingCameras: 2 });
    expect(areas['站点A2']).toMatchObject({ cameras: 1, degraded: 1, onlineRate: 0, recordingCameras: 0, recordingCompleteness: null });
  });

  it('reads the status at a past moment and the recording completeness of a range', async () => {
    const from = T0.toISOString();
    const to = new Date(T0.getTime() + 3_600_000).toISOString();
    const early = await ok(`/api/stats/devices?at=${new Date(T0.getTime() + 600_000).toISOString()}&from=${from}&to=${to}&siteId=${site.S1}`);
    expect(early.byArea).toHaveLength(1);
    // No status change of `off` or `deg` was ever written: unknown then.
    expect(early.total).toMatchObject({ cameras: 2, online: 1, unknown: 1, recordingCameras: 2, recordedSeconds: 1500, expectedSeconds: 7200 });
    expect(early.total.recordingCompleteness).toBeCloseTo(1500 / 7200, 10);
    const late = await ok(`/api/stats/devices?at=${new Date(T0.getTime() + 2_400_000).toISOString()}&from=${from}&to=${to}`);
    // Then the decommissioned camera was still in service (status unknown: no change recorded).
    expect(late.total).toMatchObject({ cameras: 4, online: 0, offline: 1, unknown: 3 });
    expect(late.at).toBe(new Date(T0.getTime() + 2_400_000).toISOString());
  });
});

describe('daily brief', () => {
  it('tells a day against the day before and the same day last year', async () => {
    const b = await ok('/api/stats/daily-brief?date=2026-03-02');
    expect(b).toMatchObject({ date: '2026-03-02', from: '2026-03-01T16:00:00.000Z', to: '2026-03-02T16:00:00.000Z' });
    expect(b.totals).toEqual({
      count: 1, previousDay: { date: '2026-03-01', count: 1 }, lastYear: { date: '2025-03-02', count: 1 },
      previousDayChange: 0, lastYearChange: 0, closed: 1, videoAssisted: 1,
    });
    expect(b.byType[0]).toEqual({ type: 'theft', count: 1, previous: 1, lastYear: 1 });
    expect(b.byArea).toEqual([{ siteId: site.A1, name: '站点A1', kind: 'area', itself: false, count: 1 }, { siteId: site.A2, name: '站点A2', kind: 'area', itself: false, count: 0 }]);
    expect(b.response.total).toMatchObject({ dispatched: 1, arrived: 1, within: [0, 1, 1], response: { median: 150 } });
    expect(b.notable).toEqual([expect.objectContaining({ id: incident.c1, priority: 2, type: 'theft', siteName: '站点S1', responseSeconds: 150 })]);
    expect(b.notableMore).toBe(0);
    expect(b.devices).toMatchObject({ at: '2026-03-02T16:00:00.000Z', total: { cameras: 4 } });
  });

  it('defaults to yesterday and refuses a day after today', async () => {
    const b = await ok('/api/stats/daily-brief');
    const yesterday = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(Date.now() - 86_400_000));
    expect(b.date).toBe(yesterday);
    const res = await get('/api/stats/daily-brief?date=2999-01-01');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'stats.date_future', field: 'date' });
  });
});

describe('CSV', () => {
  it('answers each statistic as a spreadsheet file, Chinese by default', async () => {
    const res = await get(`/api/stats/incidents?${MARCH}&format=csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="skynet-incidents-20260301-20260331.csv"');
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const lines = res.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('"分组","项目","数量","上期（环比）","去年同期（同比）","环比变化","同比变化"');
    expect(lines[1]).toBe('"合计","警情总数","5","2","3","+150.0%","+66.7%"');
    expect(lines).toContain('"类别","盗窃","3","1","2","+200.0%","+50.0%"');
    expect(lines).toContain('"区域","未归属区域","1","","","",""');
    expect(lines).toContain('"区域","站点P（本级）","1","","","",""');
    expect(lines).toContain('"星期","周日","2","","","",""');
  });

  it('words the header in English on request, for response, devices and the brief too', async () => {
    const r = await get(`/api/stats/response?${MARCH}&groupBy=shift&format=csv&lang=en`);
    expect(r.headers['content-disposition']).toBe('attachment; filename="skynet-response-shift-20260301-20260331.csv"');
    const lines = r.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toMatch(/^"Shift","Dispatched","Arrived","Arrived within 60 s",/);
    expect(lines[1]).toBe('"Total","4","3","1","2","2","25.0%","50.0%","50.0%","150","350","25","79","120","264"');
    expect(lines[2]).toMatch(/^"Day \(08–16\)","1","1",/);
    const d = await get('/api/stats/devices?format=csv');
    expect(d.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(d.body).toContain('"合计","3","1","1","1","0","33.3%"');
    const b = await get('/api/stats/daily-brief?date=2026-03-02&format=csv');
    expect(b.headers['content-disposition']).toBe('attachment; filename="skynet-daily-brief-20260302.csv"');
    expect(b.body).toContain('"总体","警情总数","1","1","1"');
  });
});

describe('who may read the statistics', () => {
  const routes = [`/api/stats/incidents?${MARCH}`, `/api/stats/response?${MARCH}`, '/api/stats/devices', '/api/stats/daily-brief?date=2026-03-02'];

  it('is supervisors and admins', async () => {
    expect(STATS_VIEWERS).toEqual(['admin', 'supervisor']);
    for (const url of routes) {
      for (const role of ['admin', 'supervisor'] as const) expect((await get(url, role)).statusCode, `${role} ${url}`).toBe(200);
      for (const role of ['monitor', 'investigator', 'patrol'] as const) expect((await get(url, role)).statusCode, `${role} ${url}`).toBe(403);
      expect((await get(url, null)).statusCode, url).toBe(401);
    }
  });
});

describe('bad input', () => {
  const refused = async (url: string, code: string, field: string) => {
    const res = await get(url);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code, field });
    return res.json();
  };

  it('names the field and the reason', async () => {
    await refused('/api/stats/incidents?from=2026-03-01&to=2026-03-01', 'stats.range_order', 'to');
    await refused('/api/stats/incidents?from=2026-04-01&to=2026-03-01', 'stats.range_order', 'to');
    expect((await refused('/api/stats/incidents?from=2025-01-01&to=2026-01-03', 'stats.range_too_long', 'to')).params).toEqual({ maxDays: 366 });
    expect((await refused('/api/stats/incidents?from=2026-02-30&to=2026-03-01', 'stats.bad_date', 'from')).params).toEqual({ field: 'from', value: '2026-02-30' });
    await refused('/api/stats/incidents?from=yesterday&to=2026-03-01', 'stats.bad_date', 'from');
    await refused('/api/stats/incidents?from=2026-03-01T25:00&to=2026-03-02', 'stats.bad_date', 'from');
    await refused('/api/stats/incidents?to=2026-03-01', 'validation.required', 'from');
    expect((await refused(`/api/stats/incidents?${MARCH}&type=arson`, 'stats.type_unknown', 'type')).params).toEqual({ type: 'arson' });
    await refused(`/api/stats/incidents?${MARCH}&siteId=00000000-0000-4000-8000-000000000000`, 'stats.site_unknown', 'siteId');
    await refused(`/api/stats/incidents?${MARCH}&siteId=nope`, 'validation.format', 'siteId');
    await refused(`/api/stats/response?${MARCH}&groupBy=moon`, 'validation.enum', 'groupBy');
    await refused(`/api/stats/incidents?${MARCH}&format=xls`, 'validation.enum', 'format');
    await refused('/api/stats/devices?at=soon', 'stats.bad_date', 'at');
    await refused('/api/stats/devices?from=2026-03-02&to=2026-03-01', 'stats.range_order', 'to');
    await refused('/api/stats/daily-brief?date=2026-13-01', 'stats.bad_date', 'date');
  });
});
