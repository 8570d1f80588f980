import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// The patrol phone (巡逻终端) at 390×844: a patrol officer signs in (the start page is the phone view),
// goes on duty with their unit, receives a cue a monitor sends through the API over the realtime channel,
// presses 收到 / 出发 / 到达 with the thumb and finishes with a report and a photo from the phone's camera;
// the cue's status on the server follows each press, and the phone's GPS reaches the unit.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let browser: Browser;
let base: string;
let admin: { cookie: string };
let monitor: { cookie: string };
let unitId: string;
let cameraId: string;

const HERE = { lat: 30.2741, lon: 120.1551 };
/** ~1 km south of the incident: where the phone says it is. */
const PHONE = { latitude: HERE.lat - 0.009, longitude: HERE.lon };
const VIEW = { width: 390, height: 844 };
/** docs/screenshots/patrol.<locale>.png: the phone with a fresh cue, in each language. */
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7), Buffer.from([0xff, 0xd9])]);

async function api(who: { cookie: string }, method: string, url: string, payload?: unknown) {
  const res = await app.inject({ method: method as 'GET', url, headers: { cookie: who.cookie }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, any>;
}

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'linkage.ackTimeoutSeconds': 600 }));
  await ensureWebBuilt({ info: () => {} });
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  admin = await loginAs(app, platform, ['admin']);
  monitor = await loginAs(app, platform, ['monitor']);
  const officer = await platform.identity.createUser({ username: 'e2e-phone', password: 'e2e-phone-pw', roles: ['patrol'] });
  const unit = await api(admin, 'POST', '/api/units', { callSign: `e2e巡${process.pid % 1000}`, kind: 'vehicle', memberIds: [officer.id] });
  unitId = unit.id;
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  cameraId = (await devices.create({ name: 'e2e 解放路口枪机', enabled: false, location: { lat: HERE.lat, lon: HERE.lon + 0.001 } })).id;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await close?.();
});

async function phone(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: VIEW, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
    geolocation: PHONE, permissions: ['geolocation'],
  });
  await context.grantPermissions(['geolocation'], { origin: base });
  const page = await context.newPage();
  return { context, page };
}

/** The big button sits at the bottom of the screen, the full width, where the thumb reaches. */
async function expectThumbButton(page: Page, selector: string) {
  const box = (await page.locator(selector).boundingBox())!;
  expect(box.y + box.height).toBeLessThanOrEqual(VIEW.height);
  expect(box.y).toBeGreaterThan(VIEW.height - 140);
  expect(box.height).toBeGreaterThanOrEqual(56);
  expect(box.width).toBeGreaterThan(VIEW.width * 0.8);
}

const cueStatus = async (id: string) => (await api(monitor, 'GET', `/api/cues/${id}`)).status as string;

describe('the patrol phone', () => {
  it('goes on duty, receives a cue within a second and moves it step by step', async () => {
    const { context, page } = await phone();
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await page.fill('[data-test=login-username]', 'e2e-phone');
    await page.fill('[data-test=login-password]', 'e2e-phone-pw');
    await page.click('[data-test=login-submit]');
    // a patrol officer's start page is the phone view
    await page.waitForURL(/\/patrol$/);

    // 上岗 with the one unit (chosen already: the officer has only it)
    await page.waitForSelector(`[data-test=patrol-unit][data-unit-id="${unitId}"]`);
    await expectThumbButton(page, '[data-test=patrol-duty-on]');
    if (process.env.SKYNET_E2E_SHOTS) await page.screenshot({ path: `${process.env.SKYNET_E2E_SHOTS}/patrol-duty.png` });
    // the officer's own password can be changed from the phone; the dialog fits its width
    await page.tap('[data-test=patrol-change-password]');
    const dialog = (await page.waitForSelector('[data-test=password-dialog]', { state: 'visible' }))!;
    const box = (await dialog.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(VIEW.width);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-test=password-dialog]', { state: 'hidden' });
    await page.click('[data-test=patrol-duty-on]');
    await page.waitForSelector('[data-test=patrol-standby]');
    expect((await api(monitor, 'GET', `/api/units/${unitId}`)).state).toBe('available');
    // the page fits the phone's width: nothing to scroll sideways
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(VIEW.width);
    // the phone's GPS reaches the unit
    await expect.poll(async () => (await api(monitor, 'GET', `/api/units/${unitId}`)).position, { timeout: 20_000 })
      .toMatchObject({ lat: PHONE.latitude, lon: PHONE.longitude, source: 'phone' });
    await page.waitForSelector('[data-test=patrol-connection].open');

    // a monitor sends a cue: the phone shows it over the realtime channel
    const incident = (await api(monitor, 'POST', '/api/incidents', { type: 'robbery', source: 'call_110', title: 'e2e 抢夺案', address: '解放路 1 号', ...HERE })).incident;
    const sentAt = Date.now();
    const cue = await api(monitor, 'POST', `/api/incidents/${incident.id}/cues`, { unitId, message: '嫌疑人向北逃窜' });
    await page.waitForSelector(`[data-test=patrol-cue][data-cue-id="${cue.id}"]`, { timeout: 5_000 });
    const took = Date.now() - sentAt;
    expect(took).toBeLessThan(2_000);
    expect(await page.textContent('[data-test=patrol-cue-title]')).toBe('e2e 抢夺案');
    expect(await page.textContent('[data-test=patrol-cue-message]')).toBe('嫌疑人向北逃窜');
    // the straight line from the phone (~1 km south) to the incident
    await expect.poll(() => page.textContent('[data-test=patrol-distance]'), { timeout: 10_000 }).toMatch(/1\.0 km/);
    await page.waitForSelector('[data-test=patrol-map][data-has-route=true]');
    await page.screenshot({ path: join(SHOTS, 'patrol.zh-CN.png') });

    // 收到 → 出发 → 到达: each press moves the cue on the server
    for (const [label, status] of [['收到', 'received'], ['出发', 'en_route'], ['到达', 'on_scene']] as const) {
      const button = `[data-test=patrol-step][data-step=${status}]`;
      await page.waitForSelector(button);
      expect((await page.textContent(button))?.trim()).toBe(label);
      await expectThumbButton(page, button);
      await page.tap(button);
      await expect.poll(() => cueStatus(cue.id), { timeout: 10_000 }).toBe(status);
      await page.waitForSelector(`[data-test=patrol-cue][data-status=${status}]`);
    }

    // 完成 with a short report and a photo from the camera input
    await page.waitForSelector('[data-test=patrol-report]');
    expect(await page.getAttribute('[data-test=patrol-photo-input]', 'capture')).toBe('environment');
    await page.setInputFiles('[data-test=patrol-photo-input]', { name: 'scene.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await page.waitForSelector('[data-test=patrol-photo][data-state=done]', { timeout: 10_000 });
    await page.fill('[data-test=patrol-report-text]', '嫌疑人已控制，移交派出所');
    if (process.env.SKYNET_E2E_SHOTS) await page.screenshot({ path: `${process.env.SKYNET_E2E_SHOTS}/patrol-report.png`, fullPage: true });
    await page.tap('[data-test=patrol-step][data-step=done]');
    await expect.poll(() => cueStatus(cue.id), { timeout: 10_000 }).toBe('done');
    const done = await api(monitor, 'GET', `/api/cues/${cue.id}`);
    expect(done.report).toBe('嫌疑人已控制，移交派出所');
    expect(done.photos).toHaveLength(1);
    await page.tap('[data-test=patrol-dismiss]');
    await page.waitForSelector('[data-test=patrol-standby]');

    // 下岗
    await page.tap('[data-test=patrol-duty-off]');
    await page.waitForSelector('[data-test=patrol-duty]');
    expect((await api(monitor, 'GET', `/api/units/${unitId}`)).state).toBe('off_duty');
    await context.close();
  });

  it('shows a cue sent while the phone was closed when it opens, and switches to English', async () => {
    const { context, page } = await phone();
    await page.goto(`${base}/login`);
    await page.fill('[data-test=login-username]', 'e2e-phone');
    await page.fill('[data-test=login-password]', 'e2e-phone-pw');
    await page.click('[data-test=login-submit]');
    await page.waitForURL(/\/patrol$/);
    await page.tap('[data-test=patrol-duty-on]');
    await page.waitForSelector('[data-test=patrol-standby]');
    await page.close();

    const incident = (await api(monitor, 'POST', '/api/incidents', { type: 'robbery', source: 'call_110', title: 'e2e 离线期间的警情', ...HERE })).incident;
    const cue = await api(monitor, 'POST', `/api/incidents/${incident.id}/cues`, { unitId, message: '' });
    const again = await context.newPage();
    await again.goto(`${base}/patrol`);
    await again.waitForSelector(`[data-test=patrol-cue][data-cue-id="${cue.id}"][data-status=sent]`, { timeout: 10_000 });
    await again.click('[data-test=language-switch]');
    await again.click('[data-test=language-en]');
    await expect.poll(() => again.textContent('[data-test=patrol-step]'), { timeout: 5_000 }).toMatch(/Received/);
    await again.screenshot({ path: join(SHOTS, 'patrol.en.png') });
    await again.tap('[data-test=patrol-step]');
    await expect.poll(() => cueStatus(cue.id), { timeout: 10_000 }).toBe('received');
    // a camera the monitor pushes arrives over the channel and plays through the patrol endpoint
    const live = again.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/patrol/cameras/${cameraId}/live`), { timeout: 10_000 });
    await api(monitor, 'POST', `/api/units/${unitId}/pushes`, { deviceId: cameraId, cueId: cue.id });
    await again.waitForSelector(`[data-test=patrol-camera][data-device-id="${cameraId}"] [data-test=live-player]`, { timeout: 5_000 });
    await live;
    // leave the unit free for other tests: the control room cancels the cue, the phone says so
    await api(monitor, 'POST', `/api/cues/${cue.id}/cancel`, { reason: 'e2e 结束' });
    await again.waitForSelector('[data-test=patrol-cue][data-status=cancelled]', { timeout: 5_000 });
    await context.close();
  });
});
