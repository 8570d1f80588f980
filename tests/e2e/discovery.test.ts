import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform } from '../helpers/platform.ts';

// The device page's ONVIF tools in headless Chromium: discovery marks a registered camera
// "已登记" with a link to it instead of "添加", and a probe's refused password is said in
// Chinese under the password field (the server's code worded by the web app).
let platform: Platform;
let close: () => Promise<void>;
let gateway: Gateway;
let app: App;
let sim: Simulator;
let browser: Browser;
let base: string;
let registeredId: string;
const run = randomBytes(3).toString('hex');

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  sim = await startSimulator({
    cameras: [{ id: `e2e-disc-${run}-1`, name: `已登记相机-${run}` }, { id: `e2e-disc-${run}-2`, name: `新相机-${run}` }],
    host: '127.0.0.1', discovery: { unicastPort: 0, multicast: false },
  });
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: `e2e-disc-${run}`, password: 'e2e-disc-pw', roles: ['admin'] });
  const cam = sim.cameras[0]!;
  const device = await platform.pool.query<{ id: string }>(
    `INSERT INTO devices (kind, camera_type, name, onvif_host, onvif_port, rtsp_main) VALUES ('camera', 'fixed', $1, '127.0.0.1', $2, $3) RETURNING id`,
    [`登记名-${run}`, cam.onvifPort, cam.rtspUri('main')]);
  registeredId = device.rows[0]!.id;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

async function login(page: Page) {
  await page.goto(`${base}/devices`);
  await page.waitForURL(/\/login/);
  await page.fill('[data-test=login-username]', `e2e-disc-${run}`);
  await page.fill('[data-test=login-password]', 'e2e-disc-pw');
  await page.click('[data-test=login-submit]');
  await page.waitForSelector('[data-test=device-discover]');
}

describe('ONVIF tools in the console', () => {
  it('shows a registered camera as 已登记 with a link to its device, the other with 添加', async () => {
    const page = await browser.newPage();
    await login(page);
    await page.click('[data-test=device-discover]');
    await page.fill('[data-test=discover-host]', '127.0.0.1');
    await page.fill('[data-test=discover-port] input, input[data-test=discover-port]', String(sim.discoveryPort));
    await page.click('[data-test=discover-run]');
    await page.waitForSelector('[data-test=discover-found]');
    await expect.poll(() => page.textContent('[data-test=discover-found]'), { timeout: 10_000 }).toMatch(/发现 2 台设备，其中 1 台已登记/);
    const rows = page.locator('[data-test=discover-table] .el-table__body tr');
    const registered = rows.filter({ hasText: `已登记相机-${run}` });
    await expect.poll(() => registered.locator('[data-test=discover-registered]').textContent()).toMatch(/已登记/);
    expect(await registered.locator('[data-test=discover-add]').count()).toBe(0);
    expect(await rows.filter({ hasText: `新相机-${run}` }).locator('[data-test=discover-add]').textContent()).toMatch(/添加/);
    await registered.locator('[data-test=discover-registered]').click();
    await page.waitForURL(new RegExp(`/devices/${registeredId}$`));
    await page.close();
  });

  it('says a refused ONVIF password in Chinese under the password field', async () => {
    const page = await browser.newPage();
    await login(page);
    await page.click('[data-test=device-create]');
    const cam = sim.cameras[1]!;
    await page.fill('[data-test=device-form-onvif-host]', '127.0.0.1');
    await page.fill('[data-test=device-form-onvif-port] input, input[data-test=device-form-onvif-port]', String(cam.onvifPort));
    await page.fill('[data-test=device-form-username]', 'admin');
    await page.fill('[data-test=device-form-password]', 'not-the-password');
    await page.click('[data-test=onvif-probe]');
    const item = page.locator('.el-form-item', { has: page.locator('[data-test=device-form-password]') });
    await expect.poll(() => item.locator('.el-form-item__error').textContent(), { timeout: 15_000 })
      .toBe(`摄像机 127.0.0.1:${cam.onvifPort} 拒绝了用户名或密码，请核对后重试`);
    await page.close();
  });
});
