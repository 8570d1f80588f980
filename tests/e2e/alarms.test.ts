import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { createAlarmRaiser } from '../../console/server/alarms/raise.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform, waitUntil } from '../helpers/platform.ts';

// 报警: a monitor has the console open; a simulated camera stops answering and the gateway's
// health check marks it offline; the alarm reaches the header bell's panel through the realtime
// channel, without a reload; the monitor acknowledges it with a note, and the alarms page shows
// who acknowledged it and the note, as text.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let browser: Browser;
let base: string;
let deviceId: string;
const cameraName = '人民路与解放路口东北角枪机';

beforeAll(async () => {
  // Its own database: a health cycle here would otherwise judge (and raise alarms for) other files' devices.
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }, { ownDatabase: true }));
  await ensureWebBuilt({ info: () => {} });
  sim = await startSimulator({ cameras: [{ id: `e2e-alarms-${process.pid}`, name: cameraName, width: 320, height: 180, fps: 5 }], host: '127.0.0.1' });
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'e2e-alarm-monitor', password: 'e2e-alarm-monitor-pw', roles: ['monitor'] });
  const cam = sim.cameras[0]!;
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const device = await devices.create({
    name: cameraName, cameraType: 'fixed', location: { lat: 31.2304, lon: 121.4737, heading: 45 },
    onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
    streams: { main: cam.rtspUri('main') },
  });
  deviceId = device.id;
  await waitUntil(() => gateway.membership.held().includes(deviceId), 15_000, 'the gateway to hold the camera');
  await waitUntil(async () => (await platform.pool.query('SELECT status FROM devices WHERE id = $1', [deviceId])).rows[0]?.status === 'online', 20_000, 'the camera to be online');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
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

describe('the alarms panel', () => {
  it('shows an offline camera\'s alarm in the bell without a reload, and acknowledges it with a note', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'e2e-alarm-monitor', 'e2e-alarm-monitor-pw');
    await page.waitForSelector('[data-test=alarm-bell]');
    await expect.poll(() => page.getAttribute('[data-test=alarm-count]', 'data-open'), { timeout: 10_000 }).toBe('0');
    // Marks this page load: a reload would wipe it.
    await page.evaluate('window.__sameLoad = true');

    sim.setFault(sim.cameras[0]!.spec.id, 'drop', true);
    await gateway.health.runCycle();

    await expect.poll(() => page.getAttribute('[data-test=alarm-count]', 'data-open'), { timeout: 15_000 }).toBe('1');
    expect(await page.evaluate('window.__sameLoad === true')).toBe(true);
    await page.click('[data-test=alarm-bell]');
    const item = page.locator(`[data-test=alarm-item][data-kind=device_offline][data-device-id="${deviceId}"]`);
    await item.waitFor({ timeout: 10_000 });
    expect(await item.textContent()).toContain(cameraName);
    expect(await item.textContent()).toContain('设备离线');
    // the reason is worded in the user's language from its code, not the gateway's English text
    const { rows: raised } = await platform.pool.query(`SELECT details FROM alarms WHERE device_id = $1 AND kind = 'device_offline'`, [deviceId]);
    expect(raised[0].details).toMatchObject({ reasonCode: 'device_unreachable', reasons: [{ code: 'device_unreachable', params: { address: '127.0.0.1' } }] });
    expect(raised[0].details.reason).toContain('health check failed');
    expect(await item.textContent()).toContain('原因：ONVIF 与 RTSP 均无法连接（127.0.0.1）');
    expect(await item.textContent()).not.toContain('health check failed');

    const note = '<b>已电话通知</b> 维保人员赶赴现场';
    if (process.env.ALARM_SHOTS) await page.screenshot({ path: `${process.env.ALARM_SHOTS}/bell-panel.png` });
    await item.locator('[data-test=alarm-ack]').click();
    await item.locator('input[data-test=alarm-ack-note], [data-test=alarm-ack-note] input').fill(note);
    await item.locator('[data-test=alarm-ack-confirm]').click();
    await item.waitFor({ state: 'detached', timeout: 10_000 });
    await expect.poll(() => page.getAttribute('[data-test=alarm-count]', 'data-open'), { timeout: 10_000 }).toBe('0');

    const { rows } = await platform.pool.query('SELECT ack_note, acked_by_name FROM alarms WHERE device_id = $1 AND kind = $2', [deviceId, 'device_offline']);
    expect(rows).toEqual([{ ack_note: note, acked_by_name: 'e2e-alarm-monitor' }]);

    // The page lists it with who acknowledged it, the note shown as text, not markup.
    await page.goto(`${base}/alarms`);
    await page.click('[data-test=alarm-state-acked]');
    const shown = page.locator('[data-test=alarm-note]').first();
    await shown.waitFor({ timeout: 10_000 });
    expect(await shown.textContent()).toBe(note);
    expect(await page.locator('[data-test=alarm-note] b').count()).toBe(0);
    expect(await page.locator('[data-test=alarm-acked-by]').first().textContent()).toContain('e2e-alarm-monitor');
    if (process.env.ALARM_SHOTS) await page.screenshot({ path: `${process.env.ALARM_SHOTS}/alarms-page.png` });
    sim.setFault(sim.cameras[0]!.spec.id, 'drop', false);
    await page.close();
  });

  it('turns a face alarm arriving live on the alarms page into a new incident, and joins another alarm to it', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'e2e-alarm-monitor', 'e2e-alarm-monitor-pw');
    await page.goto(`${base}/alarms`);
    await page.waitForSelector('[data-test=alarm-table]');
    const raiser = createAlarmRaiser({ db: platform.pool, eventLog: platform.eventLog });
    const face = (await raiser.raise({ kind: 'face', deviceId, details: { score: 0.91 } }))!;

    // It arrives at the top of the open list, live.
    const row = page.locator('.el-table__row', { has: page.locator(`[data-test=alarm-row][data-id="${face.id}"]`) });
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toContain('人脸布控报警');
    expect(await row.textContent()).toContain('相似度 91%');
    await row.locator('[data-test=alarm-new-incident]').click();
    await page.locator('[data-test=alarm-create-save]').click();
    const link = row.locator('[data-test=alarm-incident]');
    await link.waitFor({ timeout: 10_000 });
    const number = (await link.textContent())!.trim();
    const { rows: incidents } = await platform.pool.query('SELECT source, device_id, lat, lon FROM incidents WHERE number = $1', [number]);
    expect(incidents).toEqual([{ source: 'face_alarm', device_id: deviceId, lat: 31.2304, lon: 121.4737 }]);

    const gap = (await raiser.raise({ kind: 'recording_gap', deviceId, details: { from: new Date(Date.now() - 120_000).toISOString(), to: new Date().toISOString(), seconds: 120 } }))!;
    const gapRow = page.locator('.el-table__row', { has: page.locator(`[data-test=alarm-row][data-id="${gap.id}"]`) });
    await gapRow.waitFor({ timeout: 15_000 });
    await gapRow.locator('[data-test=alarm-join-incident]').click();
    await page.locator('[data-test=alarm-join-select]').click();
    await page.locator('.el-select-dropdown__item', { hasText: number }).first().click();
    await page.locator('[data-test=alarm-join-save]').click();
    await expect.poll(async () => (await gapRow.locator('[data-test=alarm-incident]').textContent())?.trim(), { timeout: 10_000 }).toBe(number);
    const { rows: joined } = await platform.pool.query('SELECT i.number FROM alarms a JOIN incidents i ON i.id = a.incident_id WHERE a.id = $1', [gap.id]);
    expect(joined).toEqual([{ number }]);
    await page.close();
  });
});
