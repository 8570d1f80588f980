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
import type { SimCamera } from '../../gateway/simulator/types.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform, waitUntil } from '../helpers/platform.ts';

// PTZ on the device page against a simulated dome (issue 10): a second button pressed while the
// first is held moves the camera on both axes (no stray stop under the held button), a button pressed
// after another still moves it for as long as it is held, and the pan/tilt/zoom readout follows the
// camera to a preset.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let cam: SimCamera;
let browser: Browser;
let base: string;
let deviceId: string;

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  sim = await startSimulator({ cameras: [{ id: `e2e-ptz-${process.pid}`, name: '云台测试球机', ptz: true, width: 320, height: 180, fps: 5 }], host: '127.0.0.1' });
  cam = sim.cameras[0]!;
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'e2e-ptz-monitor', password: 'e2e-ptz-monitor-pw', roles: ['monitor'] });
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const device = await devices.create({
    name: cam.spec.name, cameraType: 'ptz', ptz: true,
    onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
    streams: { main: cam.rtspUri('main') }, recording: { mode: 'none', retentionDays: 7 },
  });
  deviceId = device.id;
  await waitUntil(() => gateway.membership.held().includes(deviceId), 15_000, 'the gateway to hold the camera');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

async function openDevice(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', 'e2e-ptz-monitor');
  await page.fill('[data-test=login-password]', 'e2e-ptz-monitor-pw');
  await page.click('[data-test=login-submit]');
  await page.waitForURL(/\/devices/);
  await page.goto(`${base}/devices/${deviceId}`);
  await page.waitForSelector('[data-test=ptz-panel] [data-test=ptz-status][data-pan]:not([data-pan=""])', { timeout: 20_000 });
  return page;
}

/** Put the simulated dome back at the centre, at rest. */
function recentre(): void {
  Object.assign(cam.ptz, { position: { pan: 0, tilt: 0, zoom: 0 }, velocity: null, moveStartedAt: null, moveUntil: null });
}

/** Press the mouse on a pad button (and keep it down). */
async function mouseDownOn(page: Page, dir: string): Promise<void> {
  const box = (await page.locator(`[data-test=ptz-${dir}]`).boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
}

/** The simulator has stopped moving (the stop arrived). */
const atRest = () => expect.poll(() => cam.ptz.velocity, { timeout: 5_000 }).toBeNull();

describe('PTZ on the device page', () => {
  it('moves on both axes when up is pressed while left is held, and stops only when both are let go', async () => {
    const page = await openDevice();
    recentre();
    // left held with the mouse; then up pressed on the keyboard while left is still held (the left
    // button loses focus on the way: the old pad sent a stop for that)
    await mouseDownOn(page, 'left');
    await page.waitForTimeout(300);
    await page.focus('[data-test=ptz-up]');
    await page.keyboard.down('Enter');
    await page.waitForTimeout(1000);
    // both held: the dome turns left and up at once
    expect(cam.ptz.velocity).toMatchObject({ pan: -0.5, tilt: 0.5 });
    await page.keyboard.up('Enter');
    await page.waitForTimeout(300);
    // up let go, left still held: still turning left, not stopped
    expect(cam.ptz.velocity).toMatchObject({ pan: -0.5, tilt: 0 });
    await page.mouse.up();
    await atRest();
    const p = cam.ptzPosition();
    // 1.6 s of pan at 0.5/s, 1 s of tilt at 0.5/s (give or take the HTTP round trips)
    expect(p.pan).toBeLessThan(-0.5);
    expect(p.tilt).toBeGreaterThan(0.3);
    // the readout follows the stop to where the dome came to rest
    await expect.poll(async () => Number(await page.getAttribute('[data-test=ptz-status]', 'data-pan')), { timeout: 5_000 }).toBeCloseTo(p.pan, 2);
    expect(Number(await page.getAttribute('[data-test=ptz-status]', 'data-tilt'))).toBeCloseTo(p.tilt, 2);
    await page.close();
  });

  it('keeps moving for as long as a second button is held after the first was let go', async () => {
    const page = await openDevice();
    recentre();
    await mouseDownOn(page, 'left');
    await page.waitForTimeout(300);
    await page.mouse.up();
    await atRest();
    const panned = cam.ptzPosition();
    // up pressed with the mouse: the left button loses focus (the old pad then stopped the dome ~40 ms in)
    await mouseDownOn(page, 'up');
    await page.waitForTimeout(1000);
    expect(cam.ptz.velocity).toMatchObject({ pan: 0, tilt: 0.5 });
    await page.mouse.up();
    await atRest();
    const p = cam.ptzPosition();
    expect(p.tilt).toBeGreaterThan(0.3);
    expect(p.pan).toBeCloseTo(panned.pan, 5);
    await page.close();
  });

  it('shows the preset\'s position in the readout within 3 s of going to it', async () => {
    const page = await openDevice();
    recentre();
    Object.assign(cam.ptz.position, { pan: 0.42, tilt: -0.25, zoom: 0.3 });
    const name = `出口-${process.pid}`;
    await page.fill('input[data-test=preset-name], [data-test=preset-name] input', name);
    await page.click('[data-test=preset-save]');
    const item = page.locator('[data-test=preset-item]', { hasText: name });
    await item.waitFor({ timeout: 10_000 });
    // elsewhere now, and the readout knows it (a stop makes it read the status)
    Object.assign(cam.ptz.position, { pan: -0.6, tilt: 0.5, zoom: 0 });
    await page.click('[data-test=ptz-stop]');
    await expect.poll(async () => Number(await page.getAttribute('[data-test=ptz-status]', 'data-pan')), { timeout: 5_000 }).toBe(-0.6);

    const clicked = Date.now();
    await item.locator('[data-test=preset-goto]').click();
    await expect.poll(async () => Number(await page.getAttribute('[data-test=ptz-status]', 'data-pan')), { timeout: 3_000, interval: 100 }).toBeCloseTo(0.42, 2);
    expect(Date.now() - clicked).toBeLessThan(3_000);
    expect(Number(await page.getAttribute('[data-test=ptz-status]', 'data-tilt'))).toBeCloseTo(-0.25, 2);
    expect(Number(await page.getAttribute('[data-test=ptz-status]', 'data-zoom'))).toBeCloseTo(0.3, 2);
    expect(await page.textContent('[data-test=ptz-status-pan]')).toContain('0.42');
    await page.close();
  });
});
