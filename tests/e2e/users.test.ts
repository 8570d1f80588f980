import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform } from '../helpers/platform.ts';

let platform: Platform;
let close: () => Promise<void>;
let app: App;
let browser: Browser;
let base: string;

beforeAll(async () => {
  ({ platform, close } = await testPlatform());
  await ensureWebBuilt({ info: () => {} });
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'users-admin', password: 'users-admin-pw', roles: ['admin'] });
  await platform.identity.createUser({ username: 'users-patrol', password: 'users-patrol-pw', roles: ['patrol'] });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await close?.();
});

async function login(page: Page, username: string, password: string) {
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', username);
  await page.fill('[data-test=login-password]', password);
  await page.click('[data-test=login-submit]');
  // A patrol-only user starts on the phone view (/patrol), everyone else on the devices.
  await page.waitForURL(/\/(devices|patrol)/);
}

const row = (page: Page, username: string) => page.locator('[data-test=user-table] tr', { hasText: username });
const userRow = async (username: string) => (await platform.pool.query('SELECT id, disabled FROM users WHERE username = $1', [username])).rows[0];

describe('user management in headless Chromium', () => {
  it('lets an admin create, disable and reset a user', async () => {
    const page = await browser.newPage();
    await login(page, 'users-admin', 'users-admin-pw');
    await page.click('[data-test=nav-users]');
    await page.waitForURL(/\/users/);
    await expect.poll(() => page.textContent('[data-test=user-table]'), { timeout: 10_000 }).toContain('users-patrol');

    await page.click('[data-test=user-create]');
    await page.fill('[data-test=user-form-username]', 'new-officer');
    await page.fill('[data-test=user-form-display-name]', '新警员');
    await page.fill('[data-test=user-form-password]', 'short');
    await page.click('[data-test=user-form-save]');
    await expect.poll(() => page.textContent('[data-test=user-form]'), { timeout: 10_000 }).toContain('至少 8 个字符');
    await page.fill('[data-test=user-form-password]', 'new-officer-pw');
    await page.click('[data-test=user-form-save]');
    await expect.poll(() => row(page, 'new-officer').count(), { timeout: 10_000 }).toBe(1);
    expect(await row(page, 'new-officer').textContent()).toContain('监控员');

    // A taken username is said under the field, in Chinese.
    await page.click('[data-test=user-create]');
    await page.fill('[data-test=user-form-username]', 'users-patrol');
    await page.fill('[data-test=user-form-password]', 'whatever-pw');
    await page.click('[data-test=user-form-save]');
    await expect.poll(() => page.textContent('[data-test=user-form]'), { timeout: 10_000 }).toContain('用户名 users-patrol 已被使用');
    await page.keyboard.press('Escape');

    await row(page, 'new-officer').locator('[data-test=user-toggle]').click();
    await expect.poll(() => page.textContent('.el-message-box'), { timeout: 10_000 }).toContain('所有登录和 API 令牌立即失效');
    await page.locator('.el-message-box').getByRole('button', { name: '停用' }).click();
    await expect.poll(async () => (await userRow('new-officer')).disabled, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => row(page, 'new-officer').locator('[data-test=user-state]').textContent(), { timeout: 10_000 }).toContain('已停用');

    await row(page, 'users-patrol').locator('[data-test=user-reset]').click();
    await page.fill('[data-test=user-reset-password]', 'patrol-reset-pw');
    await page.fill('[data-test=user-reset-confirm]', 'patrol-reset-pw');
    await page.click('[data-test=user-reset-save]');
    await expect.poll(async () => (await platform.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'user.password_reset' AND outcome = 'ok' AND target_id = $1`, [(await userRow('users-patrol')).id])).rows[0].n, { timeout: 10_000 }).toBe(1);
    await page.close();
  });

  it('lets a user change their own password from the user menu', async () => {
    const page = await browser.newPage();
    await login(page, 'users-patrol', 'patrol-reset-pw');
    expect(page.url()).toMatch(/\/patrol$/);
    await page.goto(`${base}/devices`);
    expect(await page.$('[data-test=nav-users]')).toBeNull();
    await page.click('[data-test=user-menu]');
    await page.click('[data-test=change-password]');
    await page.fill('[data-test=password-current]', 'not-the-password');
    await page.fill('[data-test=password-new]', 'patrol-own-pw');
    await page.fill('[data-test=password-confirm]', 'patrol-own-pw');
    await page.click('[data-test=password-submit]');
    await expect.poll(() => page.textContent('[data-test=password-dialog]'), { timeout: 10_000 }).toContain('当前密码不正确');
    await page.fill('[data-test=password-current]', 'patrol-reset-pw');
    await page.click('[data-test=password-submit]');
    await expect.poll(() => page.textContent('body'), { timeout: 10_000 }).toContain('密码已修改');
    // Still signed in; the new password works for a fresh login.
    expect((await page.request.get(`${base}/api/auth/me`)).status()).toBe(200);
    const fresh = await browser.newContext();
    expect((await fresh.request.post(`${base}/api/auth/login`, { data: { username: 'users-patrol', password: 'patrol-own-pw' } })).status()).toBe(200);
    await fresh.close();
    // The admin page stays closed to a patrol officer.
    await page.goto(`${base}/users`);
    await page.waitForURL(/\/patrol$/);
    await page.close();
  });
});
