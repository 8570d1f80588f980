import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { createAuditLog } from '../../core/audit/repository.ts';
import { csvCell, csvRow, zonedTime } from '../../core/audit/csv.ts';
import { createAuditViewer } from '../../core/audit/service.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// The audit viewer: filters (who, what, target, outcome, time), paging, and the CSV export
// (formula-safe cells, BOM, site time zone, capped, audited itself); auditors only.
let app: App;
let platform: Platform;
let close: () => Promise<void>;
let admin: { cookie: string; userId: string; username: string };
const run = `t${Date.now().toString(36)}`;

beforeAll(async () => {
  const t = await testPlatform();
  platform = t.platform;
  close = t.close;
  app = await buildConsole(platform);
  await app.ready();
  admin = await loginAs(app, platform, ['admin']);
  // a known set of rows: two actors, three actions, two targets, three outcomes, spread over three days
  const rows: [string, string, string, string, string, string][] = [
    ['2026-03-01T01:00:00Z', `${run}-zhang`, 'device.create', 'device', `${run}-d1`, 'ok'],
    ['2026-03-01T02:00:00Z', `${run}-zhang`, 'device.update', 'device', `${run}-d1`, 'failed'],
    ['2026-03-02T03:00:00Z', `${run}-li`, 'footage.view', 'device', `${run}-d2`, 'ok'],
    ['2026-03-02T04:00:00Z', `${run}-li`, 'user.create', 'user', `${run}-u1`, 'denied'],
    ['2026-03-03T05:00:00Z', `${run}-zhang`, 'user.update', 'user', `${run}-u1`, 'ok'],
  ];
  for (const [at, actor, action, targetType, targetId, outcome] of rows) {
    await platform.pool.query(
      `INSERT INTO audit_log (at, actor_name, actor_kind, action, target_type, target_id, outcome, reason, details)
       VALUES ($1, $2, 'user', $3, $4, $5, $6, $7, $8)`,
      [at, actor, action, targetType, targetId, outcome, action === 'footage.view' ? '=HYPERLINK("http://evil")' : null, JSON.stringify({ run })]);
  }
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

const get = (url: string, cookie = admin.cookie) => app.inject({ method: 'GET', url, headers: { cookie } });
const actions = (res: { json(): { items: { action: string }[] } }) => res.json().items.map((i) => i.action);

describe('audit search filters', () => {
  it('filters by who (part of the name, any case)', async () => {
    const res = await get(`/api/audit?actor=${run}-ZHANG`);
    expect(res.statusCode).toBe(200);
    expect(actions(res)).toEqual(['user.update', 'device.update', 'device.create']);
    expect(res.json()).toMatchObject({ total: 3, totalCapped: false, page: 1 });
  });

  it('filters by what (an action or its prefix), target, outcome and time range', async () => {
    expect(actions(await get(`/api/audit?actor=${run}&action=user.`))).toEqual(['user.update', 'user.create']);
    expect(actions(await get(`/api/audit?actor=${run}&action=device.update`))).toEqual(['device.update']);
    expect(actions(await get(`/api/audit?targetType=user&targetId=${run}-u1`))).toEqual(['user.update', 'user.create']);
    expect(actions(await get(`/api/audit?actor=${run}&outcome=denied`))).toEqual(['user.create']);
    expect(actions(await get(`/api/audit?actor=${run}&from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z`))).toEqual(['user.create', 'footage.view']);
  });

  it('treats % and _ in a filter as text, not wildcards', async () => {
    expect((await get('/api/audit?actor=%25')).json().total).toBe(0);
    expect((await get(`/api/audit?action=user_create`)).json().total).toBe(0);
  });

  it('pages newest first', async () => {
    const p1 = await get(`/api/audit?actor=${run}&pageSize=2&page=1`);
    const p3 = await get(`/api/audit?actor=${run}&pageSize=2&page=3`);
    expect(actions(p1)).toEqual(['user.update', 'user.create']);
    expect(actions(p3)).toEqual(['device.create']);
    expect(p3.json().total).toBe(5);
  });

  it('refuses a reversed time range (400 naming to) and a bad outcome', async () => {
    const rev = await get('/api/audit?from=2026-03-03T00:00:00Z&to=2026-03-01T00:00:00Z');
    expect(rev.statusCode).toBe(400);
    expect(rev.json()).toMatchObject({ field: 'to', code: 'audit.range_reversed' });
    expect((await get('/api/audit?outcome=maybe')).statusCode).toBe(400);
    expect((await get('/api/audit?from=yesterday')).statusCode).toBe(400);
  });
});

describe('CSV export', () => {
  it('streams the filtered rows with a BOM, quoted formula-safe cells and times in the site time zone', async () => {
    const res = await get(`/api/audit/export.csv?actor=${run}&locale=en&timeZone=Asia/Shanghai`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv; charset=utf-8/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="audit-\d{12}\.csv"/);
    expect(res.headers['x-audit-truncated']).toBe('false');
    const body = res.rawPayload.toString('utf8');
    expect(body.charCodeAt(0)).toBe(0xfeff);
    const lines = body.slice(1).trimEnd().split('\r\n');
    const zone = platform.config.site.timezone;
    expect(lines[0]).toBe(`"Time (${zone})","Actor","Actor kind","Action","Target type","Target","Outcome","Reason","IP address","Request id","Details"`);
    expect(lines).toHaveLength(6);
    expect(lines[1]).toContain(`"${zonedTime(new Date('2026-03-03T05:00:00Z'), zone)}","${run}-zhang","user","user.update"`);
    const footage = lines.find((l) => l.includes('footage.view'))!;
    expect(footage).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(footage).toContain(`"{""run"":""${run}""}"`);
  });

  it('words the header in zh-CN by default', async () => {
    const body = (await get(`/api/audit/export.csv?actor=${run}`)).rawPayload.toString('utf8');
    expect(body.split('\r\n')[0]).toMatch(/^\uFEFF"时间（.+）","操作人"/);
    expect(body).toContain('"拒绝"');
  });

  it('audits the export itself with its filters', async () => {
    await get(`/api/audit/export.csv?actor=${run}-li&action=footage.`);
    const { rows } = await platform.pool.query(`SELECT details FROM audit_log WHERE action = 'audit.export' AND actor_id = $1 ORDER BY id DESC LIMIT 1`, [admin.userId]);
    expect(rows[0].details.filters).toEqual({ actor: `${run}-li`, action: 'footage.' });
  });

  it('refuses a reversed range and an unknown time zone with 400', async () => {
    const rev = await get('/api/audit/export.csv?from=2026-03-03T00:00:00Z&to=2026-03-01T00:00:00Z');
    expect(rev.statusCode).toBe(400);
    expect(rev.json().field).toBe('to');
  });

  it('cuts the file at the cap with a closing note, in keyset batches that skip no row', async () => {
    const viewer = createAuditViewer({ audit: createAuditLog(platform.pool), timezone: 'Asia/Shanghai', maxExportRows: 3 });
    const { stream, truncated } = await viewer.exportCsv({ kind: 'user', userId: admin.userId, username: admin.username, roles: ['admin'] }, { actor: run }, { ip: '127.0.0.1', requestId: 'cap-test' });
    let text = '';
    for await (const chunk of stream) text += chunk;
    const lines = text.trimEnd().split('\r\n');
    expect(truncated).toBe(true);
    expect(lines).toHaveLength(1 + 3 + 1);
    expect(lines[4]).toMatch(/^"# 仅导出了最新的 3 行/);
    // batches of 2 over rows sharing one timestamp down to the microsecond still return every row once
    await platform.pool.query(`INSERT INTO audit_log (at, actor_name, actor_kind, action) SELECT '2026-04-01T00:00:00.123456Z', $1, 'user', 'same.time' FROM generate_series(1, 5)`, [`${run}-same`]);
    const seen: number[] = [];
    for await (const r of createAuditLog(platform.pool).stream({ actor: `${run}-same` }, 100, 2)) seen.push(Number(r.id));
    expect(new Set(seen).size).toBe(5);
  });
});

describe('CSV cells', () => {
  it.each([
    ['=1+1', `"'=1+1"`], ['+86 138', `"'+86 138"`], ['-cmd', `"'-cmd"`], ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tx', `"'\tx"`], ['\rx', `"'\rx"`], ['say "hi"', `"say ""hi"""`], ['普通文本', '"普通文本"'], [null, '""'],
  ])('%j → %s', (value, cell) => expect(csvCell(value)).toBe(cell));

  it('writes a row in the zone asked for', () => {
    const line = csvRow({ id: 1, at: new Date('2026-01-01T16:30:00Z'), actorId: null, actorName: 'a', actorKind: 'user', action: 'x', targetType: null, targetId: null, outcome: 'ok', reason: null, details: {}, ip: null, requestId: null }, 'zh-CN', 'Asia/Shanghai');
    expect(line.startsWith('"2026-01-02 00:30:00","a","user","x","","","成功"')).toBe(true);
  });
});

describe('roles', () => {
  it.each(['monitor', 'investigator', 'patrol'] as const)('refuses a %s the audit and its export (403)', async (role) => {
    const { cookie } = await loginAs(app, platform, [role]);
    expect((await get('/api/audit', cookie)).statusCode).toBe(403);
    expect((await get('/api/audit/export.csv', cookie)).statusCode).toBe(403);
  });

  it('lets a supervisor read and export', async () => {
    const { cookie } = await loginAs(app, platform, ['supervisor']);
    expect((await get(`/api/audit?actor=${run}`, cookie)).statusCode).toBe(200);
    expect((await get(`/api/audit/export.csv?actor=${run}`, cookie)).statusCode).toBe(200);
  });

  it('refuses without a session (401)', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/audit/export.csv' })).statusCode).toBe(401);
  });
});

describe('API tokens of a user (admin)', () => {
  it('issues a token for a user shown once, lists it without the secret, and revokes it', async () => {
    const target = await platform.identity.createUser({ username: `${run}-wallpc`, password: 'wall-pc-password', roles: ['monitor'] });
    const issued = await app.inject({ method: 'POST', url: `/api/users/${target.id}/tokens`, headers: { cookie: admin.cookie }, payload: { name: '视频墙主机', days: 30 } });
    expect(issued.statusCode, issued.body).toBe(201);
    const { id, token, expiresAt } = issued.json();
    expect(token).toMatch(/^skt_/);
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    // the token acts as that user
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.json().user.username).toBe(`${run}-wallpc`);
    const list = await get(`/api/users/${target.id}/tokens`);
    expect(list.json().items).toEqual([expect.objectContaining({ id, name: '视频墙主机', revokedAt: null })]);
    expect(list.body).not.toContain(token);
    const own = await app.inject({ method: 'GET', url: '/api/auth/tokens', headers: { authorization: `Bearer ${token}` } });
    expect(own.json().items.map((t: { id: string }) => t.id)).toEqual([id]);
    expect((await app.inject({ method: 'DELETE', url: `/api/users/${target.id}/tokens/${id}`, headers: { cookie: admin.cookie } })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'DELETE', url: `/api/users/${target.id}/tokens/${id}`, headers: { cookie: admin.cookie } })).statusCode).toBe(404);
    const audited = await platform.pool.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [id]);
    expect(audited.rows.map((r) => r.action)).toEqual(['token.issue', 'token.revoke']);
  });

  it('refuses a token for a disabled user (409) and an unknown one (404), and non-admins (403)', async () => {
    const off = await platform.identity.createUser({ username: `${run}-off`, password: 'off-password', roles: ['monitor'] });
    await platform.identity.updateUser(off.id, { disabled: true });
    const refused = await app.inject({ method: 'POST', url: `/api/users/${off.id}/tokens`, headers: { cookie: admin.cookie }, payload: { name: 'x' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('apiToken.user_disabled');
    const unknown = await app.inject({ method: 'POST', url: '/api/users/00000000-0000-4000-8000-000000000000/tokens', headers: { cookie: admin.cookie }, payload: { name: 'x' } });
    expect(unknown.statusCode).toBe(404);
    const { cookie } = await loginAs(app, platform, ['supervisor']);
    expect((await app.inject({ method: 'POST', url: `/api/users/${off.id}/tokens`, headers: { cookie }, payload: { name: 'x' } })).statusCode).toBe(403);
    expect((await get(`/api/users/${off.id}/tokens`, cookie)).statusCode).toBe(403);
  });
});
