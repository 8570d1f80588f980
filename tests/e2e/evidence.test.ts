import { statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { startWorkers, type Workers } from '../../workers/main.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform, waitUntil } from '../helpers/platform.ts';

// 抓图 on a live simulated camera shows the picture at once, from the strip's button and from
// the live player's toolbar; an investigator exports the footage a device page shows
// (导出此段录像), follows it to done and downloads the package; an admin runs retention from
// 任务与保存期限 and sees the run listed.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let workers: Workers;
let sim: Simulator;
let browser: Browser;
let base: string;
let deviceId: string;

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  sim = await startSimulator({ cameras: [{ id: `e2e-evidence-${process.pid}`, name: '车站南广场枪机', width: 320, height: 180, fps: 10 }], host: '127.0.0.1' });
  gateway = await startGateway(platform);
  workers = await startWorkers(platform, { queues: ['snapshot', 'export', 'retention'] });
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'e2e-ev-monitor', password: 'e2e-ev-monitor-pw', roles: ['monitor'] });
  await platform.identity.createUser({ username: 'e2e-ev-admin', password: 'e2e-ev-admin-pw', roles: ['admin'] });
  await platform.identity.createUser({ username: 'e2e-ev-investigator', password: 'e2e-ev-investigator-pw', roles: ['investigator'] });
  const cam = sim.cameras[0]!;
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const device = await devices.create({
    name: cam.spec.name, cameraType: 'fixed',
    onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
    streams: { main: cam.rtspUri('main') }, recording: { mode: 'continuous', retentionDays: 7 },
  });
  deviceId = device.id;
  await waitUntil(() => gateway.membership.held().includes(deviceId), 15_000, 'the gateway to hold the camera');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await workers?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

async function login(page: Page, username: string, password: string) {
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', username);
  await page.fill('[data-test=login-password]', password);
  await page.click('[data-test=login-submit]');
  await page.waitForURL(/\/devices/);
}

/** The natural width of a loaded <img>: 0 while it is loading or when it failed. */
const loadedWidth = (page: Page, selector: string) =>
  page.$eval(selector, (img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete ? (img as unknown as { naturalWidth: number }).naturalWidth : 0);

describe('snapshots and retention in the console', () => {
  it('takes a snapshot of a live camera from the device page and shows it at once, with its source and who took it', async () => {
    const page = await browser.newPage();
    await login(page, 'e2e-ev-monitor', 'e2e-ev-monitor-pw');
    await page.goto(`${base}/devices/${deviceId}`);
    await page.waitForSelector('[data-test=player-state][data-state=live]', { timeout: 30_000 });
    await page.waitForSelector('[data-test=snapshot-strip]');

    await page.fill('[data-test=snapshot-reason]', '可疑车辆');
    await page.click('[data-test=snapshot-take]');
    const fresh = '[data-test=snapshot-item].fresh';
    await page.waitForSelector(fresh, { timeout: 15_000 });
    await expect.poll(() => loadedWidth(page, `${fresh} img`), { timeout: 10_000 }).toBeGreaterThan(0);
    const source = await page.getAttribute(fresh, 'data-source');
    expect(['session', 'onvif', 'rtsp']).toContain(source);
    const caption = await page.textContent(fresh);
    expect(caption).toContain('可疑车辆');
    const row = (await platform.pool.query('SELECT source, reason, requested_by_name FROM snapshots WHERE device_id = $1 ORDER BY taken_at DESC LIMIT 1', [deviceId])).rows[0];
    expect(row).toMatchObject({ source, reason: '可疑车辆' });

    // the live player's own button: the picture in a dialog, and the strip grows by one
    const before = await page.locator('[data-test=snapshot-item]').count();
    await page.hover('[data-test=live-player]');
    await page.click('[data-test=player-snapshot]');
    await page.waitForSelector('[data-test=snapshot-dialog-image] img', { timeout: 15_000 });
    await expect.poll(() => loadedWidth(page, '[data-test=snapshot-dialog-image] img'), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.textContent('[data-test=snapshot-by]')).toBe(row.requested_by_name);
    await expect.poll(() => page.locator('[data-test=snapshot-item]').count()).toBe(before + 1);
    await page.close();
  });

  it('exports the footage a device page shows, follows it to done and downloads the signed package', async () => {
    await waitUntil(async () => (await platform.pool.query('SELECT count(*)::int AS n FROM recording_segments WHERE device_id = $1', [deviceId])).rows[0].n >= 2, 60_000, 'two recorded segments');
    const page = await browser.newPage({ acceptDownloads: true });
    await login(page, 'e2e-ev-investigator', 'e2e-ev-investigator-pw');
    await page.goto(`${base}/devices/${deviceId}`);
    await page.click('[data-test=tab-footage]');
    await page.waitForSelector('[data-test=timeline-range][data-kind=footage]');
    await page.click('[data-test=footage-export]');
    await page.waitForURL(/\/exports/);
    await page.waitForSelector('[data-test=export-form]');
    // the camera and the range come along; the case number and the reason are asked for
    await expect.poll(() => page.textContent('[data-test=export-form-cameras]')).toContain('车站南广场枪机');
    await page.click('[data-test=export-form-submit]');
    await expect.poll(() => page.textContent('[data-test=export-form]')).toContain('请填写案件编号');
    await page.fill('[data-test=export-form-case]', 'E2E-A330106');
    await page.fill('[data-test=export-form-reason]', '端到端测试调取');
    await page.click('[data-test=export-form-submit]');

    const row = page.locator('[data-test=export-table] tr', { hasText: 'E2E-A330106' }).first();
    await expect.poll(() => row.locator('[data-test=export-status]').getAttribute('data-status'), { timeout: 60_000 }).toBe('done');
    const saved = (await platform.pool.query('SELECT sha256, bytes, items FROM exports WHERE case_number = $1', ['E2E-A330106'])).rows[0];
    expect(await row.locator('[data-test=export-sha]').getAttribute('title')).toBe(saved.sha256);
    expect(saved.items[0].deviceId).toBe(deviceId);

    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('[data-test=export-download]').click()]);
    expect(statSync(await download.path()).size).toBe(Number(saved.bytes));
    await page.close();
  });

  it('lets an admin run retention now and lists the run with what it did', async () => {
    const page = await browser.newPage();
    await login(page, 'e2e-ev-admin', 'e2e-ev-admin-pw');
    await page.click('[data-test=nav-admin-jobs]');
    await page.waitForURL(/\/admin\/jobs/);
    await page.waitForSelector('[data-test=retention-summary] [data-test=retention-holds]');
    expect(await page.getAttribute('[data-test=queue-board]', 'href')).toBe('/admin/queues');

    await page.click('[data-test=retention-run]');
    await page.click('.el-message-box__btns .el-button--primary');
    await page.waitForSelector('[data-test=retention-following]', { timeout: 5_000 });
    await page.waitForSelector('[data-test=retention-following]', { state: 'detached', timeout: 30_000 }).catch(async (err) => {
      throw new Error(`${err}: ${await page.textContent('[data-test=retention-following]').catch(() => '')}`);
    });
    const run = page.locator('[data-test=job-runs] tr', { has: page.locator('[data-test=job-run-name][data-name="retention.run"]') }).first();
    await expect.poll(() => run.locator('[data-test=job-run-status]').getAttribute('data-status'), { timeout: 10_000 }).toBe('ok');
    expect(await run.locator('[data-test=job-run-summary]').textContent()).toMatch(/清理|无需清理/);
    await page.close();
  });
});
