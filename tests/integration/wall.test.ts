import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// The video wall's API against a real database: layouts belong to their owner (one default each),
// tours are cameras only, start/stop are audited with the tour id, and the roles outside the wall
// (patrol, investigator) are refused on every route.
let app: App;
let platform: Platform;
let close: () => Promise<void>;
let monitor: { cookie: string; userId: string };
let supervisor: string;
let admin: string;
let investigator: string;
let patrol: string;
const run = randomBytes(3).toString('hex');
const cams: string[] = [];
let checkpoint: string;
let retired: string;

async function insertDevice(kind: string, name: string, extra: { sub?: boolean; retired?: boolean } = {}): Promise<string> {
  const { rows } = await platform.pool.query<{ id: string }>(
    `INSERT INTO devices (kind, camera_type, name, rtsp_main, rtsp_sub, status, status_reason, decommissioned_at)
     VALUES ($1, $2, $3, 'rtsp://127.0.0.1:1/main', $4, 'offline', 'connection refused', $5) RETURNING id`,
    [kind, kind === 'camera' ? 'fixed' : null, name, extra.sub ? 'rtsp://127.0.0.1:1/sub' : null, extra.retired ? new Date() : null],
  );
  return rows[0]!.id;
}

const call = (method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', url: string, cookie: string, payload?: unknown) =>
  app.inject({ method, url, headers: { cookie }, ...(payload === undefined ? {} : { payload: payload as object }) });

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  app = await buildConsole(platform);
  await app.ready();
  monitor = await loginAs(app, platform, ['monitor']);
  supervisor = (await loginAs(app, platform, ['supervisor'])).cookie;
  admin = (await loginAs(app, platform, ['admin'])).cookie;
  investigator = (await loginAs(app, platform, ['investigator'])).cookie;
  patrol = (await loginAs(app, platform, ['patrol'])).cookie;
  for (let i = 0; i < 6; i++) cams.push(await insertDevice('camera', `墙-${run}-${i}`, { sub: i === 0 }));
  checkpoint = await insertDevice('checkpoint', `卡口-${run}`);
  retired = await insertDevice('camera', `退役-${run}`, { retired: true });
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

describe('wall roles', () => {
  const routes = (tourId: string): [string, string, unknown?][] => [
    ['GET', '/api/wall/devices'],
    ['GET', '/api/wall/layouts'],
    ['PUT', '/api/wall/layouts/x', { grid: 1, tiles: [] }],
    ['DELETE', '/api/wall/layouts/x'],
    ['GET', '/api/wall/tours'],
    ['GET', `/api/wall/tours/${tourId}`],
    ['POST', '/api/wall/tours', { name: `r-${run}`, deviceIds: [cams[0]] }],
    ['PATCH', `/api/wall/tours/${tourId}`, { name: 'x' }],
    ['DELETE', `/api/wall/tours/${tourId}`],
    ['POST', `/api/wall/tours/${tourId}/start`],
    ['POST', `/api/wall/tours/${tourId}/stop`],
  ];

  it.each([['patrol'], ['investigator']])('refuses %s on every wall route (403)', async (who) => {
    const cookie = who === 'patrol' ? patrol : investigator;
    const tour = await call('POST', '/api/wall/tours', monitor.cookie, { name: `roles-${who}-${run}`, deviceIds: [cams[0]] });
    expect(tour.statusCode, tour.body).toBe(201);
    for (const [method, url, payload] of routes(tour.json().id)) {
      const res = await call(method as 'GET', url, cookie, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect((await call('GET', `/api/wall/tours/${tour.json().id}`, monitor.cookie)).statusCode).toBe(200);
  });

  it('lets a supervisor read tours and keep layouts, but not manage or run tours', async () => {
    expect((await call('GET', '/api/wall/tours', supervisor)).statusCode).toBe(200);
    expect((await call('PUT', `/api/wall/layouts/sup-${run}`, supervisor, { grid: 4, tiles: [] })).statusCode).toBe(200);
    expect((await call('POST', '/api/wall/tours', supervisor, { name: `sup-${run}`, deviceIds: [cams[0]] })).statusCode).toBe(403);
    const tour = (await call('POST', '/api/wall/tours', admin, { name: `adm-${run}`, deviceIds: [cams[0]] })).json();
    expect((await call('POST', `/api/wall/tours/${tour.id}/start`, supervisor)).statusCode).toBe(403);
    expect((await call('PATCH', `/api/wall/tours/${tour.id}`, supervisor, { intervalSeconds: 20 })).statusCode).toBe(403);
    expect((await call('DELETE', `/api/wall/tours/${tour.id}`, supervisor)).statusCode).toBe(403);
  });

  it('refuses the anonymous (401)', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/wall/layouts' })).statusCode).toBe(401);
  });
});

describe('wall devices', () => {
  it('lists cameras in service with status reason and sub stream, not checkpoints or retired cameras', async () => {
    const res = await call('GET', '/api/wall/devices', supervisor);
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { id: string; hasSub: boolean; status: string; statusReason: string }[];
    const ids = items.map((d) => d.id);
    expect(ids).toEqual(expect.arrayContaining(cams));
    expect(ids).not.toContain(checkpoint);
    expect(ids).not.toContain(retired);
    expect(items.find((d) => d.id === cams[0])).toMatchObject({ hasSub: true, status: 'offline', statusReason: 'connection refused' });
    expect(items.find((d) => d.id === cams[1])!.hasSub).toBe(false);
  });
});

describe('wall layouts', () => {
  it('saves a layout by name with every tile of its grid, and replaces it on the next save', async () => {
    const saved = await call('PUT', `/api/wall/layouts/${encodeURIComponent('早班')}`, monitor.cookie, { grid: 4, tiles: [{ index: 2, deviceId: cams[1] }] });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toMatchObject({ name: '早班', grid: 4, isDefault: false });
    expect(saved.json().tiles).toEqual([{ index: 0, deviceId: null }, { index: 1, deviceId: null }, { index: 2, deviceId: cams[1] }, { index: 3, deviceId: null }]);
    const again = await call('PUT', `/api/wall/layouts/${encodeURIComponent('早班')}`, monitor.cookie, { grid: 9, tiles: [{ index: 8, deviceId: cams[2] }] });
    expect(again.json()).toMatchObject({ id: saved.json().id, grid: 9 });
    expect(again.json().tiles).toHaveLength(9);
    const list = (await call('GET', '/api/wall/layouts', monitor.cookie)).json().items;
    expect(list.filter((l: { name: string }) => l.name === '早班')).toHaveLength(1);
  });

  it('keeps one default per user', async () => {
    await call('PUT', '/api/wall/layouts/a', monitor.cookie, { grid: 1, tiles: [], isDefault: true });
    await call('PUT', '/api/wall/layouts/b', monitor.cookie, { grid: 4, tiles: [], isDefault: true });
    const list = (await call('GET', '/api/wall/layouts', monitor.cookie)).json().items as { name: string; isDefault: boolean }[];
    expect(list.filter((l) => l.isDefault).map((l) => l.name)).toEqual(['b']);
    expect(list[0]!.name).toBe('b');
    // another user's default is their own
    await call('PUT', '/api/wall/layouts/a', supervisor, { grid: 1, tiles: [], isDefault: true });
    const mine = (await call('GET', '/api/wall/layouts', monitor.cookie)).json().items as { name: string; isDefault: boolean }[];
    expect(mine.find((l) => l.name === 'b')!.isDefault).toBe(true);
  });

  it('keeps one default when saves race', async () => {
    const racer = await loginAs(app, platform, ['monitor']);
    const names = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    const answers = await Promise.all(names.map((n) => call('PUT', `/api/wall/layouts/${n}`, racer.cookie, { grid: 4, tiles: [], isDefault: true })));
    expect(answers.map((r) => r.statusCode)).toEqual(names.map(() => 200));
    const { rows } = await platform.pool.query('SELECT name FROM wall_layouts WHERE user_id = $1 AND is_default', [racer.userId]);
    expect(rows).toHaveLength(1);
  });

  it('shows a person only their own layouts', async () => {
    await call('PUT', `/api/wall/layouts/only-mine-${run}`, monitor.cookie, { grid: 1, tiles: [] });
    const theirs = (await call('GET', '/api/wall/layouts', supervisor)).json().items as { name: string }[];
    expect(theirs.map((l) => l.name)).not.toContain(`only-mine-${run}`);
    expect((await call('DELETE', `/api/wall/layouts/only-mine-${run}`, supervisor)).statusCode).toBe(404);
    expect((await call('DELETE', `/api/wall/layouts/only-mine-${run}`, monitor.cookie)).statusCode).toBe(204);
    expect((await call('DELETE', `/api/wall/layouts/only-mine-${run}`, monitor.cookie)).json().code).toBe('wall.layout_not_found');
  });

  it('stores markup and long text as text', async () => {
    const name = '<img src=x onerror=alert(1)>';
    const res = await call('PUT', `/api/wall/layouts/${encodeURIComponent(name)}`, monitor.cookie, { grid: 1, tiles: [] });
    expect(res.statusCode).toBe(200);
    expect(res.json().name).toBe(name);
    const long = await call('PUT', `/api/wall/layouts/${'x'.repeat(101)}`, monitor.cookie, { grid: 1, tiles: [] });
    expect(long.statusCode, long.body).toBe(400);
    expect(long.json().field).toBe('name');
    const tour = await call('POST', '/api/wall/tours', monitor.cookie, { name: '长'.repeat(10_000), deviceIds: [cams[0]] });
    expect(tour.statusCode).toBe(400);
    expect(tour.json().field).toBe('name');
    const marked = await call('POST', '/api/wall/tours', monitor.cookie, { name: `<b>${run}</b>`, deviceIds: [cams[0]] });
    expect(marked.json().name).toBe(`<b>${run}</b>`);
  });

  it.each([
    ['a grid that is not offered', { grid: 5, tiles: [] }, 'grid', undefined],
    ['a tile outside the grid', { grid: 4, tiles: [{ index: 4, deviceId: null }] }, 'tiles.0.index', 'wall.tile_outside_grid'],
    ['a tile twice', { grid: 4, tiles: [{ index: 1, deviceId: null }, { index: 1, deviceId: null }] }, 'tiles.1.index', 'wall.tile_repeated'],
    ['a device id that is not a uuid', { grid: 4, tiles: [{ index: 0, deviceId: 'cam-1' }] }, 'tiles.0.deviceId', undefined],
  ])('refuses %s (400 naming the field)', async (_what, body, field, code) => {
    const res = await call('PUT', '/api/wall/layouts/bad', monitor.cookie, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().field).toBe(field);
    if (code) expect(res.json().code).toBe(code);
  });

  it('refuses tiles showing a checkpoint, a retired camera or an unknown device', async () => {
    for (const id of [checkpoint, retired, randomUUID()]) {
      const res = await call('PUT', '/api/wall/layouts/bad', monitor.cookie, { grid: 4, tiles: [{ index: 0, deviceId: cams[0] }, { index: 1, deviceId: id }] });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ field: 'tiles', code: 'wall.not_cameras', params: { count: 1, first: id } });
    }
    const list = (await call('GET', '/api/wall/layouts', monitor.cookie)).json().items as { name: string }[];
    expect(list.map((l) => l.name)).not.toContain('bad');
  });
});

describe('tours', () => {
  let tourId: string;

  it('creates a tour of cameras with defaults, names unique', async () => {
    const res = await call('POST', '/api/wall/tours', monitor.cookie, { name: `  夜班-${run}  `, deviceIds: [cams[0], cams[1], cams[0], cams[2]] });
    expect(res.statusCode, res.body).toBe(201);
    const tour = res.json();
    tourId = tour.id;
    expect(tour).toMatchObject({ name: `夜班-${run}`, deviceIds: [cams[0], cams[1], cams[2]], intervalSeconds: 15, grid: 4 });
    expect(tour.createdByName).toMatch(/^u\d+-monitor/);
    const dup = await call('POST', '/api/wall/tours', admin, { name: `夜班-${run}`, deviceIds: [cams[3]] });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'wall.tour_name_taken', field: 'name' });
    expect((await call('GET', '/api/wall/tours', supervisor)).json().items.map((t: { id: string }) => t.id)).toContain(tourId);
  });

  it.each([
    ['a checkpoint', () => ({ name: `cp-${run}`, deviceIds: [cams[0], checkpoint] }), 'deviceIds', 'wall.not_cameras'],
    ['an unknown device', () => ({ name: `uk-${run}`, deviceIds: [randomUUID()] }), 'deviceIds', 'wall.not_cameras'],
    ['no cameras', () => ({ name: `none-${run}`, deviceIds: [] }), 'deviceIds', undefined],
    ['an interval under 5 s', () => ({ name: `fast-${run}`, deviceIds: [cams[0]], intervalSeconds: 2 }), 'intervalSeconds', undefined],
    ['a blank name', () => ({ name: '   ', deviceIds: [cams[0]] }), 'name', 'wall.name_blank'],
    ['a grid not offered', () => ({ name: `g-${run}`, deviceIds: [cams[0]], grid: 6 }), 'grid', undefined],
  ])('refuses a tour with %s (400 naming the field)', async (_what, body, field, code) => {
    const res = await call('POST', '/api/wall/tours', monitor.cookie, body());
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().field).toBe(field);
    if (code) expect(res.json().code).toBe(code);
  });

  it('changes a tour and keeps what was not sent', async () => {
    const res = await call('PATCH', `/api/wall/tours/${tourId}`, monitor.cookie, { intervalSeconds: 30, grid: 9 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ name: `夜班-${run}`, deviceIds: [cams[0], cams[1], cams[2]], intervalSeconds: 30, grid: 9 });
    const bad = await call('PATCH', `/api/wall/tours/${tourId}`, monitor.cookie, { deviceIds: [checkpoint] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('deviceIds');
    expect((await call('GET', `/api/wall/tours/${tourId}`, monitor.cookie)).json().deviceIds).toHaveLength(3);
    expect((await call('PATCH', `/api/wall/tours/${randomUUID()}`, monitor.cookie, { grid: 4 })).json().code).toBe('wall.tour_not_found');
  });

  it('audits start and stop with the tour id', async () => {
    expect((await call('POST', `/api/wall/tours/${tourId}/start`, monitor.cookie)).statusCode).toBe(200);
    expect((await call('POST', `/api/wall/tours/${tourId}/stop`, monitor.cookie)).statusCode).toBe(200);
    const { rows } = await platform.pool.query<{ action: string; actor_id: string; details: { name: string } }>(
      `SELECT action, actor_id, details FROM audit_log WHERE target_type = 'tour' AND target_id = $1 AND action IN ('tour.start', 'tour.stop') ORDER BY id`, [tourId]);
    expect(rows.map((r) => r.action)).toEqual(['tour.start', 'tour.stop']);
    expect(rows[0]).toMatchObject({ actor_id: monitor.userId, details: { name: `夜班-${run}` } });
    expect((await call('POST', `/api/wall/tours/${randomUUID()}/start`, monitor.cookie)).statusCode).toBe(404);
  });

  it('records a refused start as denied', async () => {
    await call('POST', `/api/wall/tours/${tourId}/start`, supervisor);
    const { rows } = await platform.pool.query(`SELECT outcome FROM audit_log WHERE action = 'tour.start' AND outcome = 'denied' ORDER BY id DESC LIMIT 1`);
    expect(rows).toHaveLength(1);
  });

  it('deletes a tour', async () => {
    expect((await call('DELETE', `/api/wall/tours/${tourId}`, monitor.cookie)).statusCode).toBe(204);
    expect((await call('GET', `/api/wall/tours/${tourId}`, monitor.cookie)).statusCode).toBe(404);
    expect((await call('DELETE', `/api/wall/tours/${tourId}`, monitor.cookie)).statusCode).toBe(404);
  });
});
