import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { kindFitsUnder, makesCycle, validSiteCode } from '../../gateway/sites/rules.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// The site tree's admin API: platforms above areas above stations, parent checks, no cycles,
// unique codes, no deleting a site in use; admins only, every change audited.
let app: App;
let platform: Platform;
let close: () => Promise<void>;
let admin: string;
let adminId: string;
const tag = Date.now().toString(36);

beforeAll(async () => {
  const t = await testPlatform();
  platform = t.platform;
  close = t.close;
  app = await buildConsole(platform);
  await app.ready();
  ({ cookie: admin, userId: adminId } = await loginAs(app, platform, ['admin']));
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

async function create(body: Record<string, unknown>, cookie = admin) {
  return app.inject({ method: 'POST', url: '/api/sites', headers: { cookie }, payload: body });
}
async function site(code: string, kind: string, parentId: string | null = null): Promise<string> {
  const res = await create({ code: `${tag}-${code}`, name: `站点 ${code}`, kind, parentId });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

describe('site tree rules (pure)', () => {
  it.each([
    ['area', 'platform', true], ['station', 'area', true], ['station', 'platform', true], ['platform', 'platform', true],
    ['area', 'area', true], ['platform', 'area', false], ['area', 'station', false], ['platform', 'station', false],
  ] as const)('%s under %s: %s', (kind, parent, ok) => expect(kindFitsUnder(kind, parent)).toBe(ok));

  it('sees a cycle when the new parent is the site or below it', () => {
    expect(makesCycle('a', 'a', ['a'])).toBe(true);
    expect(makesCycle('a', 'c', ['c', 'b', 'a'])).toBe(true);
    expect(makesCycle('a', 'x', ['x', 'y'])).toBe(false);
  });

  it('accepts registry-style codes only', () => {
    expect(validSiteCode('QH-CG')).toBe(true);
    expect(validSiteCode('130534.01_a')).toBe(true);
    expect(validSiteCode('-x')).toBe(false);
    expect(validSiteCode('有中文')).toBe(false);
    expect(validSiteCode('a'.repeat(65))).toBe(false);
  });
});

describe('site tree API', () => {
  it('creates a platform, an area below it and a station below that, listed by GET /api/sites and with usage', async () => {
    const p = await site('p', 'platform');
    const a = await site('a', 'area', p);
    const s = await site('s', 'station', a);
    const list = await app.inject({ method: 'GET', url: '/api/sites', headers: { cookie: admin } });
    const byId = new Map(list.json().items.map((x: { id: string }) => [x.id, x]));
    expect(byId.get(a)).toMatchObject({ parentId: p, kind: 'area' });
    expect(byId.get(s)).toMatchObject({ parentId: a, kind: 'station' });
    const usage = await app.inject({ method: 'GET', url: '/api/sites/usage', headers: { cookie: admin } });
    expect(usage.json().items.find((x: { id: string }) => x.id === p)).toMatchObject({ children: 1, devices: 0 });
    const one = await app.inject({ method: 'GET', url: `/api/sites/${a}`, headers: { cookie: admin } });
    expect(one.json()).toMatchObject({ id: a, children: 1, devices: 0, timezone: platform.config.site.timezone });
    const audit = await platform.pool.query(`SELECT action, target_id FROM audit_log WHERE actor_id = $1 AND action LIKE 'site.%' AND target_id = $2`, [adminId, s]);
    expect(audit.rows).toEqual([{ action: 'site.create', target_id: s }]);
  });

  it('refuses a parent that does not exist (400 naming parentId) and a lower-level parent', async () => {
    const missing = await create({ code: `${tag}-m`, name: 'm', kind: 'area', parentId: '00000000-0000-4000-8000-000000000000' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ field: 'parentId', code: 'site.parent_not_found' });
    const st = await site('lone-station', 'station');
    const under = await create({ code: `${tag}-under`, name: 'u', kind: 'platform', parentId: st });
    expect(under.statusCode).toBe(400);
    expect(under.json()).toMatchObject({ field: 'parentId', code: 'site.parent_kind' });
  });

  it('refuses a cycle with 409 naming parentId, directly and through a grandchild', async () => {
    const p = await site('cy-p', 'platform');
    const a = await site('cy-a', 'area', p);
    const s = await site('cy-s', 'station', a);
    const self = await app.inject({ method: 'PATCH', url: `/api/sites/${a}`, headers: { cookie: admin }, payload: { parentId: a } });
    expect(self.statusCode).toBe(409);
    expect(self.json()).toMatchObject({ field: 'parentId', code: 'site.cycle' });
    const a2 = await site('cy-a2', 'area', a);
    const deep = await app.inject({ method: 'PATCH', url: `/api/sites/${a}`, headers: { cookie: admin }, payload: { parentId: a2 } });
    expect(deep.statusCode).toBe(409);
    expect(deep.json()).toMatchObject({ field: 'parentId', code: 'site.cycle' });
    // a legal move works and is audited with what changed
    const moved = await app.inject({ method: 'PATCH', url: `/api/sites/${s}`, headers: { cookie: admin }, payload: { parentId: a2, name: '新名称' } });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ parentId: a2, name: '新名称' });
    const row = (await platform.pool.query(`SELECT details FROM audit_log WHERE action = 'site.update' AND target_id = $1`, [s])).rows[0];
    expect(row.details.changed).toEqual({ parentId: a2, name: '新名称' });
  });

  it('two concurrent moves that would together make a cycle: one wins, one gets 409', async () => {
    const p = await site('race-p', 'platform');
    const x = await site('race-x', 'area', p);
    const y = await site('race-y', 'area', p);
    const [r1, r2] = await Promise.all([
      app.inject({ method: 'PATCH', url: `/api/sites/${x}`, headers: { cookie: admin }, payload: { parentId: y } }),
      app.inject({ method: 'PATCH', url: `/api/sites/${y}`, headers: { cookie: admin }, payload: { parentId: x } }),
    ]);
    expect([r1.statusCode, r2.statusCode].sort()).toEqual([200, 409]);
  });

  it('refuses lowering the kind of a site that has higher-level sites below it', async () => {
    const p = await site('k-p', 'platform');
    await site('k-a', 'area', p);
    const res = await app.inject({ method: 'PATCH', url: `/api/sites/${p}`, headers: { cookie: admin }, payload: { kind: 'station' } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ field: 'kind', code: 'site.children_kind' });
  });

  it('keeps codes unique (409 naming code) and validates code, name and coordinates (400 naming the field)', async () => {
    await site('dup', 'platform');
    const dup = await create({ code: `${tag}-dup`, name: 'again', kind: 'platform' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ field: 'code', code: 'site.code_taken' });
    const other = await site('dup2', 'platform');
    const rename = await app.inject({ method: 'PATCH', url: `/api/sites/${other}`, headers: { cookie: admin }, payload: { code: `${tag}-dup` } });
    expect(rename.statusCode).toBe(409);
    for (const [body, field] of [
      [{ code: `${tag}-lat`, name: 'x', kind: 'area', lat: 91, lon: 10 }, 'lat'],
      [{ code: `${tag}-lon`, name: 'x', kind: 'area', lat: 10, lon: -181 }, 'lon'],
      [{ code: `${tag}-pair`, name: 'x', kind: 'area', lat: 10 }, 'lon'],
      [{ code: 'bad code!', name: 'x', kind: 'area' }, 'code'],
      [{ code: `${tag}-blank`, name: '   ', kind: 'area' }, 'name'],
      [{ code: `${tag}-kind`, name: 'x', kind: 'county' }, 'kind'],
    ] as const) {
      const res = await create(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().field, JSON.stringify(body)).toBe(field);
    }
  });

  it('stores 10 kB names and markup as text', async () => {
    const name = '<img src=x onerror=alert(1)>' + '派'.repeat(150);
    const res = await create({ code: `${tag}-xss`, name, kind: 'platform' });
    expect(res.statusCode).toBe(201);
    expect(res.json().name).toBe(name);
    const long = await create({ code: `${tag}-long`, name: 'x'.repeat(10_000), kind: 'platform' });
    expect(long.statusCode).toBe(400);
    expect(long.json().field).toBe('name');
  });

  it('refuses deleting a site that devices or child sites use (409 with the counts), then deletes it once empty', async () => {
    const p = await site('del-p', 'platform');
    const a = await site('del-a', 'area', p);
    const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
    const device = await devices.create({ name: '删除测试摄像机', siteId: a, streams: { main: 'rtsp://192.0.2.1/x' } } as never);
    const parent = await app.inject({ method: 'DELETE', url: `/api/sites/${p}`, headers: { cookie: admin } });
    expect(parent.statusCode).toBe(409);
    expect(parent.json()).toMatchObject({ code: 'site.in_use', params: { devices: 0, children: 1 } });
    const used = await app.inject({ method: 'DELETE', url: `/api/sites/${a}`, headers: { cookie: admin } });
    expect(used.statusCode).toBe(409);
    expect(used.json()).toMatchObject({ code: 'site.in_use', params: { devices: 1, children: 0 } });
    await platform.pool.query('UPDATE devices SET site_id = NULL WHERE id = $1', [device.id]);
    expect((await app.inject({ method: 'DELETE', url: `/api/sites/${a}`, headers: { cookie: admin } })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/api/sites/${p}`, headers: { cookie: admin } })).statusCode).toBe(204);
    const denied = await platform.pool.query(`SELECT outcome FROM audit_log WHERE action = 'site.delete' AND actor_id = $1 ORDER BY id`, [adminId]);
    expect(denied.rows.map((r) => r.outcome)).toEqual(['failed', 'failed', 'ok', 'ok']);
    expect((await app.inject({ method: 'DELETE', url: `/api/sites/${p}`, headers: { cookie: admin } })).statusCode).toBe(404);
  });

  it('answers 404 for an unknown site and 400 for a malformed id', async () => {
    const unknown = await app.inject({ method: 'PATCH', url: '/api/sites/00000000-0000-4000-8000-000000000000', headers: { cookie: admin }, payload: { name: 'x' } });
    expect(unknown.statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/sites/not-a-uuid', headers: { cookie: admin } })).statusCode).toBe(400);
  });
});

describe('roles', () => {
  it.each(['supervisor', 'monitor', 'investigator', 'patrol'] as const)('refuses a %s every site write (403)', async (role) => {
    const { cookie } = await loginAs(app, platform, [role]);
    const target = await site(`r-${role}`, 'platform');
    const calls = [
      create({ code: `${tag}-${role}-new`, name: 'x', kind: 'platform' }, cookie),
      app.inject({ method: 'PATCH', url: `/api/sites/${target}`, headers: { cookie }, payload: { name: 'x' } }),
      app.inject({ method: 'DELETE', url: `/api/sites/${target}`, headers: { cookie } }),
      app.inject({ method: 'GET', url: '/api/sites/usage', headers: { cookie } }),
    ];
    expect((await Promise.all(calls)).map((r) => r.statusCode)).toEqual([403, 403, 403, 403]);
  });

  it('lets staff read one site but not patrol; unauthenticated gets 401', async () => {
    const target = await site('read', 'platform');
    const { cookie: sup } = await loginAs(app, platform, ['supervisor']);
    const { cookie: patrol } = await loginAs(app, platform, ['patrol']);
    expect((await app.inject({ method: 'GET', url: `/api/sites/${target}`, headers: { cookie: sup } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/sites/${target}`, headers: { cookie: patrol } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/sites', payload: { code: 'anon', name: 'x', kind: 'area' } })).statusCode).toBe(401);
  });
});
