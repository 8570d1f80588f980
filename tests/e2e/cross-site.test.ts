import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform } from '../helpers/platform.ts';

/**
 * The attack from issue 7, in a real browser: a page on another port of the same host
 * (same site, so the SameSite=Strict session cookie still goes along) posts a CSV
 * import as a text/plain form and logs the user out with fetch(credentials: 'include').
 */
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let browser: Browser;
let evil: Server;
let base: string;
let evilBase: string;

const CSV_FIELD = 'name,code\n跨站表单设备,XSITE-FORM\n#';

/** The attacker's page: fetch() logout, then an auto-submitting text/plain form to the import. */
function attackPage(target: string): string {
  return `<!doctype html><html><body>
<form id="f" method="post" enctype="text/plain" action="${target}/api/devices/import">
  <input type="hidden" name="${CSV_FIELD.replace(/\n/g, '&#10;')}" value="">
</form>
<script>
  fetch('${target}/api/auth/logout', { method: 'POST', credentials: 'include', mode: 'no-cors' })
    .catch(() => {})
    .finally(() => { document.title = 'fetched'; document.getElementById('f').submit(); });
</script>
</body></html>`;
}

const formDevices = async () => (await platform.pool.query(`SELECT count(*)::int AS n FROM devices WHERE code = 'XSITE-FORM'`)).rows[0].n as number;

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'xsite-admin', password: 'xsite-admin-pw', roles: ['admin'] });
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attackPage(base));
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilBase = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (evil ? evil.close(resolve) : resolve(undefined)));
  await app?.close();
  await close?.();
});

async function loggedIn(): Promise<BrowserContext> {
  const context = await browser.newContext();
  const res = await context.request.post(`${base}/api/auth/login`, { data: { username: 'xsite-admin', password: 'xsite-admin-pw' } });
  expect(res.status()).toBe(200);
  return context;
}

/** Audit rows the console wrote for refused requests of this test's user. */
const refusals = async (...actions: string[]) => (await platform.pool.query(
  `SELECT details FROM audit_log WHERE actor_name = 'xsite-admin' AND action = ANY($1) AND outcome = 'denied'`, [actions])).rows.map((r) => r.details);

describe('cross-site writes in headless Chromium', () => {
  it('refuses a form post and a fetch logout from another port of the same host', async () => {
    const context = await loggedIn();
    const page = await context.newPage();
    const importAnswer = page.waitForResponse((r) => r.url() === `${base}/api/devices/import`, { timeout: 30_000 });
    await page.goto(evilBase);
    const imported = await importAnswer;
    // The browser did send the form, cookie and all, from the other port: the console refused it.
    expect((await imported.request().allHeaders())['origin']).toBe(evilBase);
    expect(imported.status()).toBe(403);
    expect(await imported.json()).toMatchObject({ code: 'auth.cross_site' });
    expect(await formDevices()).toBe(0);
    // The logout's answer is opaque to the page; the console's audit log shows it refused it.
    await expect.poll(() => refusals('auth.logout'), { timeout: 10_000 }).toEqual([{ status: 403, code: 'auth.cross_site' }]);
    expect(await refusals('device.import', 'POST /api/devices/import')).toEqual([{ status: 403, code: 'auth.cross_site' }]);
    const me = await context.request.get(`${base}/api/auth/me`);
    expect(me.status()).toBe(200);
    expect((await me.json()).user.username).toBe('xsite-admin');
    await context.close();
  });

  it('accepts the very same body from the console\'s own origin', async () => {
    const context = await loggedIn();
    const page = await context.newPage();
    await page.goto(`${base}/api/auth/me`);
    // What the attacker's text/plain form sends (name=value, CRLF), posted by the console's own page.
    const status = await page.evaluate(async (field) => {
      const res = await fetch('/api/devices/import', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `${field.replace(/\n/g, '\r\n')}=\r\n` });
      return res.status;
    }, CSV_FIELD);
    expect(status).toBe(200);
    expect(await formDevices()).toBe(1);
    await platform.pool.query(`DELETE FROM devices WHERE code = 'XSITE-FORM'`);
    await context.close();
  });
});
