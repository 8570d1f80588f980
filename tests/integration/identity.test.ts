import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { createApp, type App } from '../../core/http/app.ts';
import { identityGuard } from '../../core/identity/guard.ts';
import { revokedSince } from '../../core/identity/repository.ts';
import type { Platform } from '../../core/platform.ts';
import { loginAs, testPlatform, type LogCapture } from '../helpers/platform.ts';

let app: App;
let platform: Platform;
let logs: LogCapture;
let close: () => Promise<void>;

beforeAll(async () => {
  const t = await testPlatform();
  platform = t.platform;
  logs = t.logs;
  close = t.close;
  app = await buildConsole(platform);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

describe('login and sessions', () => {
  it('logs in with an httpOnly session cookie and knows who you are', async () => {
    const { cookie, username } = await loginAs(app, platform, ['monitor']);
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
    expect(me.statusCode).toBe(200);
    expect(me.json().user).toMatchObject({ username, roles: ['monitor'] });
    expect(me.json().user).not.toHaveProperty('passwordHash');
  });

  it('sets the cookie httpOnly and SameSite=Strict', async () => {
    await platform.identity.createUser({ username: 'cookie-check', password: 'cookie-check-pw', roles: ['patrol'] });
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'cookie-check', password: 'cookie-check-pw' } });
    const header = String(res.headers['set-cookie']);
    expect(header).toMatch(/skynet_session=/);
    expect(header).toMatch(/HttpOnly/i);
    expect(header).toMatch(/SameSite=Strict/i);
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    await platform.identity.createUser({ username: 'same-answer', password: 'right-password', roles: ['monitor'] });
    const wrong = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'same-answer', password: 'wrong-password' } });
    const unknown = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'no-such-user', password: 'wrong-password' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().message).not.toMatch(/exist|unknown|not found/i);
  });

  it('refuses the sixth fast try with 429', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'brute-force-target', password: `guess-${i}` } });
      codes.push(res.statusCode);
    }
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes[5]).toBe(429);
  });

  it('logs out: the cookie stops working', async () => {
    const { cookie } = await loginAs(app, platform, ['investigator']);
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('accepts API tokens as bearer credentials, and refuses revoked ones', async () => {
    const { cookie } = await loginAs(app, platform, ['supervisor']);
    const issued = await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: { cookie }, payload: { name: 'stats script' } });
    expect(issued.statusCode).toBe(201);
    const { token, id } = issued.json();
    const authorization = `Bearer ${token}`;
    expect((await app.inject({ method: 'GET', url: '/api/devices', headers: { authorization } })).statusCode).toBe(200);
    await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${id}`, headers: { cookie } });
    expect((await app.inject({ method: 'GET', url: '/api/devices', headers: { authorization } })).statusCode).toBe(401);
  });

  it('keeps the service token off the user API', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/devices', headers: { authorization: `Bearer ${platform.keys.serviceToken}` } });
    expect(res.statusCode).toBe(403);
  });
});

describe('session touches', () => {
  it('marks a session seen at most once a minute, not on every request', async () => {
    const { cookie, userId } = await loginAs(app, platform, ['monitor']);
    const seen = async () => (await platform.pool.query('SELECT last_seen_at FROM sessions WHERE user_id = $1', [userId])).rows[0].last_seen_at as Date;
    await platform.pool.query(`UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE user_id = $1`, [userId]);
    const old = await seen();
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(200);
    const touched = await seen();
    expect(touched.getTime()).toBeGreaterThan(old.getTime() + 60_000);
    for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(200);
    expect((await seen()).getTime()).toBe(touched.getTime());
  });
});

describe('roles on every route family', () => {
  // `status`: what an allowed role gets back (the guard let it through and the route answered).
  const cases: { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; allowed: string[]; status: number; payload?: unknown }[] = [
    { method: 'GET', url: '/api/users', allowed: ['admin'], status: 200 },
    { method: 'POST', url: '/api/users', allowed: ['admin'], status: 400, payload: { username: 'x', password: 'short', roles: ['monitor'] } },
    { method: 'POST', url: '/api/users/00000000-0000-4000-8000-000000000000/password', allowed: ['admin'], status: 404, payload: { newPassword: 'long-enough-pw' } },
    { method: 'GET', url: '/api/audit', allowed: ['admin', 'supervisor'], status: 200 },
    { method: 'GET', url: '/api/devices', allowed: ['admin', 'supervisor', 'monitor', 'investigator'], status: 200 },
    { method: 'GET', url: '/api/sites', allowed: ['admin', 'supervisor', 'monitor', 'investigator'], status: 200 },
    { method: 'POST', url: '/api/devices', allowed: ['admin'], status: 400, payload: { name: '' } },
    { method: 'POST', url: '/api/devices/probe', allowed: ['admin'], status: 400, payload: {} },
    { method: 'POST', url: '/api/devices/00000000-0000-4000-8000-000000000000/ptz/move', allowed: ['admin', 'monitor'], status: 404, payload: { pan: 0.1, tilt: 0, zoom: 0 } },
    { method: 'DELETE', url: '/api/devices/00000000-0000-4000-8000-000000000000', allowed: ['admin'], status: 404 },
  ];
  const roles = ['admin', 'supervisor', 'monitor', 'investigator', 'patrol'] as const;

  it('refuses anonymous callers with 401', async () => {
    for (const c of cases) {
      const res = await app.inject({ method: c.method, url: c.url, payload: c.payload as object });
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(401);
      expect(res.json()).toMatchObject({ error: 'unauthorized' });
    }
  });

  it('refuses roles not allowed with 403 and answers allowed roles with the route\'s own status', async () => {
    const cookies = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, (await loginAs(app, platform, [r])).cookie] as const)));
    for (const c of cases) {
      for (const role of roles) {
        const res = await app.inject({ method: c.method, url: c.url, payload: c.payload as object, headers: { cookie: cookies[role]! } });
        expect(res.statusCode, `${role} ${c.method} ${c.url}: ${res.body.slice(0, 200)}`).toBe(c.allowed.includes(role) ? c.status : 403);
      }
    }
  });

  it('refuses to start when a route declares no access', async () => {
    const fresh = await createApp({ logger: platform.log, title: 'no-access check' });
    await fresh.register(identityGuard, { identity: platform.identity });
    // Not awaited: the plugin loads at start-up, which must then fail.
    void fresh.register(async (scope) => {
      scope.get('/api/forgotten', async () => ({ open: true }));
    });
    await expect(fresh.ready()).rejects.toThrow(/GET \/api\/forgotten declares no access/);
    await fresh.close().catch(() => {});
  });

  it('starts when every route declares its access (the same app, with the declaration)', async () => {
    const fresh = await createApp({ logger: platform.log, title: 'access check' });
    await fresh.register(identityGuard, { identity: platform.identity });
    await fresh.register(async (scope) => {
      scope.get('/api/declared', { config: { access: 'public' } }, async () => ({ open: true }));
    });
    await fresh.ready();
    expect((await fresh.inject({ method: 'GET', url: '/api/declared' })).statusCode).toBe(200);
    await fresh.close();
  });
});

describe('audit', () => {
  it('writes append-only rows for logins and admin actions', async () => {
    const { cookie, userId } = await loginAs(app, platform, ['admin']);
    await app.inject({ method: 'POST', url: '/api/users', headers: { cookie }, payload: { username: 'audited-user', password: 'audited-password', roles: ['patrol'] } });
    const { rows } = await platform.pool.query('SELECT action, outcome FROM audit_log WHERE actor_id = $1 ORDER BY id', [userId]);
    expect(rows.map((r) => r.action)).toEqual(['auth.login', 'user.create']);
    await expect(platform.pool.query('UPDATE audit_log SET action = $1', ['tampered'])).rejects.toThrow(/append-only/);
    await expect(platform.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    const list = await app.inject({ method: 'GET', url: `/api/audit?actorId=${userId}`, headers: { cookie } });
    expect(list.json().total).toBe(2);
  });

  it('records refused logins', async () => {
    await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'ghost-user', password: 'whatever1' } });
    const { rows } = await platform.pool.query(`SELECT outcome FROM audit_log WHERE action = 'auth.login' AND actor_name = 'ghost-user'`);
    expect(rows).toEqual([{ outcome: 'denied' }]);
  });

  it('never logs passwords or session tokens', async () => {
    const { password, cookie } = await loginAs(app, platform, ['monitor']);
    await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
    const text = logs.text();
    expect(text).not.toContain(password);
    expect(text).not.toContain(cookie.split('=')[1]!);
  });
});

/** Audit rows of one actor, polled: the failure hook writes after the response has gone. */
async function auditRows(where: string, args: unknown[], count: number) {
  let rows: { action: string; outcome: string; details: Record<string, unknown>; ip: string | null; actor_name: string }[] = [];
  await expect.poll(async () => {
    rows = (await platform.pool.query(`SELECT action, outcome, details, ip, actor_name FROM audit_log WHERE ${where} ORDER BY id`, args)).rows;
    return rows.length;
  }, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
  return rows;
}

describe('cross-site writes', () => {
  const host = '127.0.0.1:8080';
  const csv = 'name,code\n跨站设备,XSITE-1\n';
  const importWith = (cookie: string, headers: Record<string, string>) => app.inject({
    method: 'POST', url: '/api/devices/import', payload: csv, headers: { cookie, host, 'content-type': 'text/plain', ...headers },
  });
  const tokenWith = (cookie: string, headers: Record<string, string>) => app.inject({
    method: 'POST', url: '/api/auth/tokens', payload: { name: 'cross-site check' }, headers: { cookie, host, ...headers },
  });
  const xsiteDevices = async () => (await platform.pool.query(`SELECT count(*)::int AS n FROM devices WHERE code = 'XSITE-1'`)).rows[0].n as number;

  it('refuses a text/plain import from another site, and from another port of the same host', async () => {
    const { cookie } = await loginAs(app, platform, ['admin']);
    for (const origin of ['http://evil.example', 'http://127.0.0.1:18999', 'null', 'https://127.0.0.1:8080']) {
      const res = await importWith(cookie, { origin });
      expect(res.statusCode, origin).toBe(403);
      expect(res.json(), origin).toMatchObject({ error: 'forbidden', code: 'auth.cross_site' });
    }
    expect(await xsiteDevices()).toBe(0);
  });

  it('refuses Sec-Fetch-Site cross-site and same-site without Origin; lets same-origin, none and the own Origin through', async () => {
    const { cookie } = await loginAs(app, platform, ['monitor']);
    for (const site of ['cross-site', 'same-site']) {
      const res = await tokenWith(cookie, { 'sec-fetch-site': site });
      expect(res.statusCode, site).toBe(403);
      expect(res.json().code).toBe('auth.cross_site');
    }
    for (const site of ['same-origin', 'none']) expect((await tokenWith(cookie, { 'sec-fetch-site': site })).statusCode, site).toBe(201);
    expect((await tokenWith(cookie, { origin: 'http://127.0.0.1:8080' })).statusCode).toBe(201);
    // A script that holds the cookie sends neither header (browsers always send Origin on a POST).
    expect((await tokenWith(cookie, {})).statusCode).toBe(201);
  });

  it('accepts the import from the console\'s own origin (the same request does work)', async () => {
    const { cookie } = await loginAs(app, platform, ['admin']);
    const res = await importWith(cookie, { origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' });
    expect(res.statusCode, res.body).toBe(200);
    expect(await xsiteDevices()).toBe(1);
    await platform.pool.query(`DELETE FROM devices WHERE code = 'XSITE-1'`);
  });

  it('protects logout: a cross-site logout leaves the session working', async () => {
    const { cookie } = await loginAs(app, platform, ['investigator']);
    const res = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie, host, origin: 'http://evil.example' } });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('auth.cross_site');
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(200);
  });

  it('leaves bearer-token requests alone, whatever their Origin', async () => {
    const { cookie } = await loginAs(app, platform, ['supervisor']);
    const { token } = (await tokenWith(cookie, {})).json();
    const res = await app.inject({
      method: 'POST', url: '/api/auth/tokens', payload: { name: 'from a script' },
      headers: { authorization: `Bearer ${token}`, host, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.statusCode).toBe(201);
  });

  it('records the refusal as a denied audit row', async () => {
    const { cookie, userId } = await loginAs(app, platform, ['admin']);
    await importWith(cookie, { origin: 'http://evil.example' });
    const rows = await auditRows(`actor_id = $1 AND outcome = 'denied'`, [userId], 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toEqual({ status: 403, code: 'auth.cross_site' });
  });
});

describe('revocation', () => {
  it('disabling a user ends their sessions and API tokens for good; enabling again revives none', async () => {
    const admin = await loginAs(app, platform, ['admin']);
    const victim = await loginAs(app, platform, ['monitor']);
    const { token } = (await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: { cookie: victim.cookie }, payload: { name: 'script' } })).json();
    const bearer = { authorization: `Bearer ${token}` };
    expect((await app.inject({ method: 'GET', url: '/api/devices', headers: bearer })).statusCode).toBe(200);

    const heard: Record<string, unknown>[] = [];
    const unsubscribe = await platform.events.subscribe((e) => { if (e.type === 'identity.revoked') heard.push(e); });
    try {
      const before = new Date(Date.now() - 1000);
      const off = await app.inject({ method: 'PATCH', url: `/api/users/${victim.userId}`, headers: { cookie: admin.cookie }, payload: { disabled: true } });
      expect(off.statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: victim.cookie } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/api/devices', headers: bearer })).statusCode).toBe(401);

      const { rows } = await platform.pool.query('SELECT revoked_at FROM users WHERE id = $1', [victim.userId]);
      const revokedAt = rows[0].revoked_at as Date;
      expect(revokedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
      expect(await revokedSince(platform.pool, before)).toContainEqual({ userId: victim.userId, at: revokedAt });
      await expect.poll(() => heard.find((e) => e.userId === victim.userId), { timeout: 5000 }).toMatchObject({ at: revokedAt.toISOString() });

      const on = await app.inject({ method: 'PATCH', url: `/api/users/${victim.userId}`, headers: { cookie: admin.cookie }, payload: { disabled: false } });
      expect(on.statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: victim.cookie } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/api/devices', headers: bearer })).statusCode).toBe(401);
      // Only a new login gets in again.
      expect((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: victim.username, password: victim.password } })).statusCode).toBe(200);
    } finally {
      await unsubscribe();
    }
  });

  it('an admin cannot disable their own account', async () => {
    const admin = await loginAs(app, platform, ['admin']);
    const res = await app.inject({ method: 'PATCH', url: `/api/users/${admin.userId}`, headers: { cookie: admin.cookie }, payload: { disabled: true } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'user.disable_self', field: 'disabled' });
  });
});

describe('passwords', () => {
  it('changes your own password: wrong current is a 400 on currentPassword; other sessions and tokens end, this one stays', async () => {
    const me = await loginAs(app, platform, ['investigator']);
    const other = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: me.username, password: me.password } });
    const otherCookie = String(other.headers['set-cookie']).split(';')[0]!;
    const { token } = (await app.inject({ method: 'POST', url: '/api/auth/tokens', headers: { cookie: me.cookie }, payload: { name: 'script' } })).json();

    const wrong = await app.inject({ method: 'POST', url: '/api/auth/password', headers: { cookie: me.cookie }, payload: { currentPassword: 'not-my-password', newPassword: 'brand-new-password' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'auth.wrong_password', field: 'currentPassword' });
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: otherCookie } })).statusCode).toBe(200);

    const ok = await app.inject({ method: 'POST', url: '/api/auth/password', headers: { cookie: me.cookie }, payload: { currentPassword: me.password, newPassword: 'brand-new-password' } });
    expect(ok.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: me.cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: otherCookie } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: me.username, password: me.password } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: me.username, password: 'brand-new-password' } })).statusCode).toBe(200);
    const { rows } = await platform.pool.query(`SELECT revoked_at FROM users WHERE id = $1`, [me.userId]);
    expect(rows[0].revoked_at).toBeInstanceOf(Date);

    const audited = await auditRows(`actor_id = $1 AND action = 'user.password_change'`, [me.userId], 2);
    expect(audited.map((r) => [r.outcome, r.details.code ?? null])).toEqual([['failed', 'auth.wrong_password'], ['ok', null]]);
  });

  it('lets an admin reset a password, ending that user\'s sessions; others may not', async () => {
    const admin = await loginAs(app, platform, ['admin']);
    const user = await loginAs(app, platform, ['patrol']);
    const notAdmin = await loginAs(app, platform, ['supervisor']);
    const url = `/api/users/${user.userId}/password`;
    expect((await app.inject({ method: 'POST', url, headers: { cookie: notAdmin.cookie }, payload: { newPassword: 'reset-password-1' } })).statusCode).toBe(403);
    const short = await app.inject({ method: 'POST', url, headers: { cookie: admin.cookie }, payload: { newPassword: 'short' } });
    expect(short.statusCode).toBe(400);
    expect(short.json().field).toBe('newPassword');
    expect((await app.inject({ method: 'POST', url, headers: { cookie: admin.cookie }, payload: { newPassword: 'reset-password-1' } })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: user.cookie } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: admin.cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: 'reset-password-1' } })).statusCode).toBe(200);
    const rows = await auditRows(`action = 'user.password_reset' AND details->>'status' IS NULL AND actor_id = $1`, [admin.userId], 1);
    expect(rows.map((r) => r.outcome)).toEqual(['ok']);
    const refused = await auditRows(`action = 'user.password_reset' AND actor_id IN ($1, $2) AND outcome <> 'ok'`, [admin.userId, notAdmin.userId], 2);
    expect(refused.map((r) => [r.outcome, r.details.status])).toEqual([['denied', 403], ['failed', 400]]);
  });
});

describe('login limiting', () => {
  const login = (username: string, password: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, remoteAddress, headers });

  it('stops password spraying: 20 failures from one address over many usernames, then 429 even for a right password', async () => {
    const ip = '198.51.100.7';
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) codes.push((await login(`spray-${i}`, 'Password1', ip)).statusCode);
    expect(codes.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(codes.slice(20)).toEqual(Array(10).fill(429));
    const limited = await login('spray-0', 'Password1', ip);
    expect(limited.json()).toMatchObject({ error: 'too_many_requests', code: 'auth.rate_limited' });
    expect(limited.json().params.seconds).toBeGreaterThan(500);
    expect(limited.headers['retry-after']).toBe(String(limited.json().params.seconds));
    await platform.identity.createUser({ username: 'spray-real', password: 'spray-real-pw', roles: ['monitor'] });
    expect((await login('spray-real', 'spray-real-pw', ip)).statusCode).toBe(429);
    expect((await login('spray-real', 'spray-real-pw', '198.51.100.8')).statusCode).toBe(200);
    const rows = await auditRows(`action = 'auth.login' AND ip = $1 AND details ? 'limited'`, [ip], 12);
    expect(new Set(rows.map((r) => `${r.outcome}:${r.details.limited}`))).toEqual(new Set(['denied:ip']));
  });

  it('limits one account guessed from many addresses', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 21; i++) codes.push((await login('distributed-target', `guess-${i}`, `203.0.113.${i + 1}`)).statusCode);
    expect(codes.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(codes[20]).toBe(429);
    const rows = await auditRows(`action = 'auth.login' AND actor_name = 'distributed-target' AND details ? 'limited'`, [], 1);
    expect(rows[0]!.details).toEqual({ limited: 'account' });
  });

  it('never counts successes, and a success clears the account+address window', async () => {
    const ip = '192.0.2.44';
    await platform.identity.createUser({ username: 'script-operator', password: 'script-operator-pw', roles: ['admin'] });
    for (let i = 0; i < 12; i++) expect((await login('script-operator', 'script-operator-pw', ip)).statusCode).toBe(200);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect((await login('script-operator', 'typo', ip)).statusCode).toBe(401);
      expect((await login('script-operator', 'script-operator-pw', ip)).statusCode).toBe(200);
    }
    for (let i = 0; i < 5; i++) expect((await login('Script-Operator', 'typo', ip)).statusCode).toBe(401);
    const res = await login('script-operator', 'script-operator-pw', ip);
    expect(res.statusCode).toBe(429);
    const rows = await auditRows(`action = 'auth.login' AND actor_name = 'script-operator' AND details ? 'limited'`, [], 1);
    expect(rows[0]!.details).toEqual({ limited: 'account_ip' });
  });

  it('ignores X-Forwarded-For unless trusted proxies are configured', async () => {
    await login('xff-default', 'nope-nope', '10.1.2.3', { 'x-forwarded-for': '203.0.113.99' });
    const rows = await auditRows(`action = 'auth.login' AND actor_name = 'xff-default'`, [], 1);
    expect(rows[0]!.ip).toBe('10.1.2.3');
  });
});

describe('behind a configured proxy', () => {
  let proxied: App;
  let t: Awaited<ReturnType<typeof testPlatform>>;
  beforeAll(async () => {
    t = await testPlatform({ 'console.trustProxy': '10.0.0.0/8', 'console.publicUrl': 'https://video.example.gov' });
    proxied = await buildConsole(t.platform);
    await proxied.ready();
  });
  afterAll(async () => {
    await proxied?.close();
    await t?.close();
  });

  it('honours X-Forwarded-For from a trusted proxy only', async () => {
    const attempt = (username: string, remoteAddress: string) => proxied.inject({
      method: 'POST', url: '/api/auth/login', payload: { username, password: 'nope-nope' }, remoteAddress, headers: { 'x-forwarded-for': '203.0.113.99' },
    });
    await attempt('xff-trusted', '10.9.8.7');
    await attempt('xff-untrusted', '192.0.2.1');
    const ipOf = async (name: string) => (await t.platform.pool.query(`SELECT ip FROM audit_log WHERE actor_name = $1`, [name])).rows[0]?.ip;
    expect(await ipOf('xff-trusted')).toBe('203.0.113.99');
    expect(await ipOf('xff-untrusted')).toBe('192.0.2.1');
  });

  it('accepts writes from the configured public origin', async () => {
    const { cookie } = await loginAs(proxied, t.platform, ['monitor']);
    const send = (origin: string) => proxied.inject({ method: 'POST', url: '/api/auth/tokens', payload: { name: 'x' }, headers: { cookie, origin, host: '10.0.0.2:8080' } });
    expect((await send('https://video.example.gov')).statusCode).toBe(201);
    expect((await send('https://evil.example.gov')).statusCode).toBe(403);
  });
});

describe('audit of refused and failed writes', () => {
  it('records a 400 on POST /api/devices as failed and a 403 as denied, once each', async () => {
    const admin = await loginAs(app, platform, ['admin']);
    const patrol = await loginAs(app, platform, ['patrol']);
    expect((await app.inject({ method: 'POST', url: '/api/devices', headers: { cookie: admin.cookie }, payload: { name: '' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/devices', headers: { cookie: patrol.cookie }, payload: { name: 'x' } })).statusCode).toBe(403);
    const failed = await auditRows(`actor_id = $1 AND action <> 'auth.login'`, [admin.userId], 1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.action).toMatch(/^(device\.create|POST \/api\/devices)$/);
    expect(failed[0]!.outcome).toBe('failed');
    expect(failed[0]!.details).toEqual({ status: 400, code: 'validation.minLength' });
    const denied = await auditRows(`actor_id = $1 AND action <> 'auth.login'`, [patrol.userId], 1);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ outcome: 'denied', details: { status: 403, code: 'forbidden' } });
  });

  it('records an anonymous refused write, and adds nothing where the handler wrote its own row', async () => {
    const marker = `anon-${Date.now()}`;
    await app.inject({ method: 'POST', url: '/api/users', payload: { username: marker, password: 'whatever-pw', roles: ['patrol'] }, remoteAddress: '192.0.2.99' });
    const anon = await auditRows(`ip = '192.0.2.99' AND actor_name = 'anonymous'`, [], 1);
    expect(anon[0]).toMatchObject({ action: 'user.create', outcome: 'denied', details: { status: 401, code: 'unauthorized' } });

    const { cookie, userId } = await loginAs(app, platform, ['monitor']);
    const wrong = await app.inject({ method: 'POST', url: '/api/auth/password', headers: { cookie }, payload: { currentPassword: 'wrong-one', newPassword: 'whatever-new-pw' } });
    expect(wrong.statusCode).toBe(400);
    await new Promise((r) => setTimeout(r, 300)); // the hook would have written by now
    const rows = await auditRows(`actor_id = $1 AND action = 'user.password_change'`, [userId], 1);
    expect(rows).toHaveLength(1);
  });
});

describe('OpenAPI', () => {
  it('shows no padlock on public routes and keeps it on the others', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(spec.paths['/api/auth/login'].post.security).toEqual([]);
    expect(spec.paths['/api/health'].get.security).toEqual([]);
    expect(spec.paths['/api/devices'].get.security).toBeUndefined();
    expect(spec.security).toEqual([{ session: [] }, { bearer: [] }]);
  });

  it('gives every documented operation a summary', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { summary?: string }>> };
    const operations = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, summary: op.summary })));
    expect(operations.length).toBeGreaterThan(30);
    expect(operations.filter((o) => !o.summary).map((o) => o.at)).toEqual([]);
  });
});
