import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
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
  await platform.identity.createUser({ username: 'e2e-admin', password: 'e2e-admin-pw', roles: ['admin'] });
  await platform.identity.createUser({ username: 'e2e-patrol', password: 'e2e-patrol-pw', roles: ['patrol'] });
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  for (let i = 1; i <= 25; i++) {
    await devices.create({ name: `E2E测试路口-${String(i).padStart(2, '0')}`, code: `E2E-${i}`, tags: i % 2 ? ['奇数'] : [] });
  }
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await close?.();
});

async function login(page: Page, username: string, password: string) {
  await page.goto(`${base}/devices`);
  await page.waitForURL(/\/login/);
  await page.fill('[data-test=login-username]', username);
  await page.fill('[data-test=login-password]', password);
  await page.click('[data-test=login-submit]');
}

describe('console in headless Chromium', () => {
  it('sends an anonymous visitor to the login page and shows a refused login', async () => {
    const page = await browser.newPage();
    await login(page, 'e2e-admin', 'wrong-password');
    await expect.poll(() => page.textContent('[data-test=login-error]'), { timeout: 10_000 }).toMatch(/用户名或密码错误/);
    await page.close();
  });

  it('logs in, lists devices in Chinese with paging, and filters by search', async () => {
    const page = await browser.newPage();
    await login(page, 'e2e-admin', 'e2e-admin-pw');
    await page.waitForURL(/\/devices/);
    await page.waitForSelector('[data-test=device-table] [data-test=device-name]');
    const names = await page.$$eval('[data-test=device-name]', (els) => els.map((e) => e.textContent?.trim()));
    expect(names.length).toBe(20);
    // Other files' devices share this run's database: the page is in pinyin order (zh-CN), whatever it holds.
    expect(names).toEqual([...names].sort(new Intl.Collator('zh-CN').compare));
    const ours = names.filter((n) => n?.startsWith('E2E'));
    if (ours.length) expect(ours[0]).toBe('E2E测试路口-01');
    expect(await page.textContent('body')).toContain('设备管理');
    await page.fill('[data-test=device-search]', '路口-07');
    await expect.poll(async () => page.$$eval('[data-test=device-name]', (els) => els.map((e) => e.textContent?.trim())), { timeout: 10_000 })
      .toEqual(['E2E测试路口-07']);
    await page.close();
  });

  it('creates a device through the form and opens its page', async () => {
    const page = await browser.newPage();
    await login(page, 'e2e-admin', 'e2e-admin-pw');
    await page.waitForSelector('[data-test=device-create]');
    await page.click('[data-test=device-create]');
    await page.fill('[data-test=device-form-name]', '浏览器新建的相机');
    await page.click('[data-test=device-form-save]');
    await expect.poll(async () => (await platform.pool.query(`SELECT count(*)::int AS n FROM devices WHERE name = '浏览器新建的相机'`)).rows[0].n, { timeout: 10_000 }).toBe(1);
    await page.fill('[data-test=device-search]', '浏览器新建');
    // The search reloads the table after a 300 ms debounce: wait until it shows only our row, so the click
    // lands on the row that stays rather than one the reload is about to replace.
    await expect.poll(async () => page.$$eval('[data-test=device-name]', (els) => els.map((e) => e.textContent?.trim())), { timeout: 10_000 })
      .toEqual(['浏览器新建的相机']);
    await page.click('[data-test=device-name]:has-text("浏览器新建的相机")');
    await page.waitForURL(/\/devices\/[0-9a-f-]{36}/);
    await expect.poll(() => page.textContent('[data-test=device-title]'), { timeout: 10_000 }).toContain('浏览器新建的相机');
    await page.close();
  });

  it('hides admin actions from a patrol officer and switches to English', async () => {
    const page = await browser.newPage();
    await login(page, 'e2e-patrol', 'e2e-patrol-pw');
    await page.waitForURL(/\/devices/);
    await page.waitForSelector('[data-test=device-refresh]');
    expect(await page.$('[data-test=device-create]')).toBeNull();
    expect(await page.$('[data-test=device-import]')).toBeNull();
    await page.click('[data-test=language-switch]');
    await page.click('[data-test=language-en]');
    await expect.poll(() => page.textContent('body'), { timeout: 10_000 }).toContain('Devices');
    await page.close();
  });
});
