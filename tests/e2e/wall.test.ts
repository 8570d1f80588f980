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
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform, waitUntil } from '../helpers/platform.ts';

// A monitor at the video wall: picks 4 tiles, drags a camera from the tree onto a tile and it
// plays, saves the layout as their default and gets it back after a reload, runs a tour whose
// tiles change after the interval (audited), and sees an offline camera's tile say so.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let browser: Browser;
let base: string;
const live: string[] = [];
const dead: string[] = [];
let tourId: string;

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  // Small pictures (320×180, 10 fps) so two cores cope with the simulator, the gateway and Chromium.
  sim = await startSimulator({
    cameras: [0, 1].map((i) => ({ id: `e2e-wall-${process.pid}-${i}`, name: `视频墙-${i}`, width: 320, height: 180, fps: 10 })),
    host: '127.0.0.1',
  });
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const monitor = await platform.identity.createUser({ username: 'e2e-wall-monitor', password: 'e2e-wall-monitor-pw', roles: ['monitor'] });
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  for (const cam of sim.cameras) {
    const d = await devices.create({
      name: cam.spec.name, cameraType: 'fixed',
      onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
      streams: { main: cam.rtspUri('main'), sub: cam.rtspUri('sub') },
    });
    live.push(d.id);
  }
  // Cameras nobody answers for: the health check found them offline.
  for (let i = 0; i < 4; i++) {
    const d = await devices.create({ name: `断线-${i}`, cameraType: 'fixed', streams: { main: `rtsp://127.0.0.1:9/none-${i}` }, confirmDuplicate: true });
    dead.push(d.id);
  }
  await platform.pool.query(`UPDATE devices SET status = 'offline', status_reason = 'connection refused (e2e)' WHERE id = ANY($1::uuid[])`, [dead]);
  const { rows } = await platform.pool.query<{ id: string }>(
    `INSERT INTO tours (name, device_ids, interval_seconds, grid, created_by, created_by_name) VALUES ('e2e 轮巡', $1, 5, 4, $2, 'e2e-wall-monitor') RETURNING id`,
    [[live[0], dead[0], dead[1], dead[2], live[1], dead[3]], monitor.id],
  );
  tourId = rows[0]!.id;
  await waitUntil(() => live.every((id) => gateway.membership.held().includes(id)), 15_000, 'the gateway to hold the cameras');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

async function login(page: Page): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', 'e2e-wall-monitor');
  await page.fill('[data-test=login-password]', 'e2e-wall-monitor-pw');
  await page.click('[data-test=login-submit]');
  await page.waitForURL(/\/devices/);
}

const tile = (i: number) => `[data-test=wall-tile][data-index="${i}"]`;
const tileDevices = (page: Page) => page.$$eval('[data-test=wall-tile]', (els) => els.map((e) => e.getAttribute('data-device-id') ?? ''));
const videoTime = (page: Page, i: number) => page.$eval(`${tile(i)} [data-test=wall-video]`, (v) => (v as unknown as { currentTime: number }).currentTime);

describe('the video wall', () => {
  let page: Page;

  it('plays a camera dragged from the tree onto a tile of a 4-tile wall', async () => {
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await login(page);
    await page.goto(`${base}/wall`);
    await page.click('[data-test=wall-layout-4]');
    await expect.poll(() => page.$$eval('[data-test=wall-tile]', (els) => els.length)).toBe(4);
    // 25 tiles are not offered on a 1440 px window
    expect(await page.$('[data-test=wall-layout-25]')).toBeNull();
    expect(await page.getAttribute(tile(1), 'data-state')).toBe('empty');
    await page.dragAndDrop(`[data-test=device-tree-node][data-device-id="${live[0]}"]`, tile(1));
    await expect.poll(() => page.getAttribute(tile(1), 'data-device-id')).toBe(live[0]);
    await page.waitForSelector(`${tile(1)}[data-state=live]`, { timeout: 30_000 });
    const t0 = await videoTime(page, 1);
    await page.waitForTimeout(2500);
    expect((await videoTime(page, 1)) - t0).toBeGreaterThan(1);
    // a double-clicked camera goes to the focused tile
    await page.click(tile(3));
    await page.dblclick(`[data-test=device-tree-node][data-device-id="${live[1]}"]`);
    await expect.poll(() => page.getAttribute(tile(3), 'data-device-id')).toBe(live[1]);
  });

  it('saves the layout as the default and opens it again after a reload', async () => {
    await page.click('[data-test=layout-save]');
    await page.fill('[data-test=layout-name]', 'e2e-早班');
    // the first layout is offered as the default already
    if (!(await page.$('[data-test=layout-is-default].is-checked'))) await page.click('[data-test=layout-is-default]');
    expect(await page.$('[data-test=layout-is-default].is-checked')).not.toBeNull();
    await page.click('[data-test=layout-save-confirm]');
    await expect.poll(async () => (await platform.pool.query(`SELECT count(*)::int AS n FROM wall_layouts WHERE name = 'e2e-早班' AND is_default`)).rows[0].n).toBe(1);
    await page.reload();
    await expect.poll(() => tileDevices(page), { timeout: 15_000 }).toEqual(['', live[0], '', live[1]]);
    await page.waitForSelector(`${tile(1)}[data-state=live]`, { timeout: 30_000 });
  });

  it('runs a tour: the tiles change after the interval, start and stop are audited', async () => {
    await page.click('[data-test=tour-select]');
    await page.click('.el-select-dropdown__item:has-text("e2e 轮巡")');
    await page.click('[data-test=tour-start]');
    await expect.poll(() => tileDevices(page), { timeout: 10_000 }).toEqual([live[0], dead[0], dead[1], dead[2]]);
    const started = Date.now();
    await expect.poll(() => tileDevices(page), { timeout: 12_000, interval: 250 }).toEqual([live[1], dead[3], live[0], dead[0]]);
    const took = Date.now() - started;
    expect(took).toBeGreaterThan(3_000);
    await page.click('[data-test=tour-stop]');
    await expect.poll(async () => (await platform.pool.query(
      `SELECT array_agg(action ORDER BY id) AS a FROM audit_log WHERE target_type = 'tour' AND target_id = $1`, [tourId])).rows[0].a).toEqual(['tour.start', 'tour.stop']);
    // stopped: the wall stays as it was and no longer rotates
    const after = await tileDevices(page);
    await page.waitForTimeout(6_000);
    expect(await tileDevices(page)).toEqual(after);
  });

  it('shows an offline camera\'s tile as offline with the reason, not a black box', async () => {
    await page.goto(`${base}/wall?cameras=${dead[0]},${live[0]}`);
    await expect.poll(() => tileDevices(page), { timeout: 15_000 }).toEqual([dead[0], live[0], '', '']);
    await page.waitForSelector(`${tile(0)}[data-state=offline]`, { timeout: 15_000 });
    // the device's status reason, worded for the reader ('connection refused' → 摄像机无法连接)
    expect(await page.textContent(`${tile(0)} [data-test=tile-reason]`)).toBe('摄像机无法连接');
    expect(await page.textContent(`${tile(0)} [data-test=tile-state]`)).toBe('离线');
    expect(await page.isVisible(`${tile(0)} [data-test=tile-state]`)).toBe(true);
    await page.waitForSelector(`${tile(1)}[data-state=live]`, { timeout: 30_000 });
    await page.close();
  });
});
