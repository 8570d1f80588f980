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

// A monitor opens a camera in the console: live video plays from the gateway (another origin),
// on the low-latency WebSocket on the device and player pages and over hls.js on a wall tile, and
// recorded footage plays from a click on the timeline.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let browser: Browser;
let base: string;
let deviceId: string;

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  sim = await startSimulator({ cameras: [{ id: `e2e-live-${process.pid}`, name: '广场高点球机', ptz: true, width: 320, height: 180, fps: 10 }], host: '127.0.0.1' });
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'e2e-monitor', password: 'e2e-monitor-pw', roles: ['monitor'] });
  const cam = sim.cameras[0]!;
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const device = await devices.create({
    name: cam.spec.name, cameraType: 'ptz', ptz: true,
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
  await gateway?.close();
  await sim?.close();
  await close?.();
});

async function login(page: Page) {
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', 'e2e-monitor');
  await page.fill('[data-test=login-password]', 'e2e-monitor-pw');
  await page.click('[data-test=login-submit]');
  await page.waitForURL(/\/devices/);
}

describe('video in the console', () => {
  it('plays live video on the device page: state live, currentTime advancing, PTZ beside it', async () => {
    const page = await browser.newPage();
    await login(page);
    await page.goto(`${base}/devices/${deviceId}`);
    await page.waitForSelector('[data-test=player-state][data-state=live]', { timeout: 30_000 });
    const t0 = await page.$eval('[data-test=live-video]', (v) => (v as unknown as { currentTime: number }).currentTime);
    await page.waitForTimeout(3000);
    const t1 = await page.$eval('[data-test=live-video]', (v) => (v as unknown as { currentTime: number }).currentTime);
    expect(t1 - t0).toBeGreaterThan(1.5);
    expect(await page.$('[data-test=ptz-left]')).not.toBeNull();
    await page.close();
  });

  it('keeps playing after the session\'s ffmpeg dies: both paths follow the restart (WebSocket re-init, HLS discontinuity)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page);
    // The player page plays on the WebSocket; a one-tile wall whose tile is not focused plays HLS.
    const hlsPage = await context.newPage();
    await page.goto(`${base}/player/${deviceId}`);
    await hlsPage.goto(`${base}/wall?cameras=${deviceId}`);
    await page.waitForSelector('[data-test=player-stream][data-transport=lowlat]', { timeout: 30_000 });
    await hlsPage.waitForSelector('[data-test=wall-tile][data-state=live][data-transport=hls]', { timeout: 30_000 });
    const pid = gateway.sessions.debug(deviceId)!.pid!;
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => gateway.sessions.debug(deviceId)?.pid ?? pid, { timeout: 20_000 }).not.toBe(pid);
    const current = (p: Page, selector: string) => p.$eval(selector, (v) => (v as unknown as { currentTime: number }).currentTime);
    // Past what was buffered before the kill (~2 s over HLS), the picture must come from the new ffmpeg.
    await page.waitForTimeout(6000);
    // Within 20 s of the restart the picture moves again, on both.
    for (const [p, selector] of [[page, '[data-test=live-video]'], [hlsPage, '[data-test=wall-video]']] as const) {
      await expect.poll(async () => {
        const t0 = await current(p, selector);
        await p.waitForTimeout(1500);
        return (await current(p, selector)) - t0;
      }, { timeout: 20_000, interval: 500 }).toBeGreaterThan(0.8);
    }
    await context.close();
  });

  it('opens the single-camera player page and plays there too', async () => {
    const page = await browser.newPage();
    await login(page);
    await page.goto(`${base}/player/${deviceId}`);
    await page.waitForSelector('[data-test=player-state][data-state=live]', { timeout: 30_000 });
    const t0 = await page.$eval('[data-test=live-video]', (v) => (v as unknown as { currentTime: number }).currentTime);
    await page.waitForTimeout(2000);
    expect(await page.$eval('[data-test=live-video]', (v) => (v as unknown as { currentTime: number }).currentTime)).toBeGreaterThan(t0);
    await page.close();
  });

  it('stops a disabled user\'s live video within seconds: the WebSocket closes, HLS requests get 401', async () => {
    const victim = await platform.identity.createUser({ username: 'e2e-revoked', password: 'e2e-revoked-pw', roles: ['monitor'] });
    await platform.identity.createUser({ username: 'e2e-live-admin', password: 'e2e-live-admin-pw', roles: ['admin'] });
    const context = await browser.newContext();
    // The player page plays on the WebSocket; a one-tile wall whose tile is not focused plays HLS.
    const lowlatPage = await context.newPage();
    const hlsPage = await context.newPage();
    const media: { at: number; status: number; url: string }[] = [];
    hlsPage.on('response', (r) => { if (r.url().includes('/media/live/')) media.push({ at: Date.now(), status: r.status(), url: r.url() }); });
    let socketClosedAt = 0;
    const frames: number[] = [];
    lowlatPage.on('websocket', (ws) => {
      if (!ws.url().includes('/media/live/')) return;
      ws.on('framereceived', () => frames.push(Date.now()));
      ws.on('close', () => { if (!socketClosedAt) socketClosedAt = Date.now(); });
    });
    await lowlatPage.goto(`${base}/login`);
    await lowlatPage.fill('[data-test=login-username]', 'e2e-revoked');
    await lowlatPage.fill('[data-test=login-password]', 'e2e-revoked-pw');
    await lowlatPage.click('[data-test=login-submit]');
    await lowlatPage.waitForURL(/\/devices/);
    await lowlatPage.goto(`${base}/player/${deviceId}`);
    await hlsPage.goto(`${base}/wall?cameras=${deviceId}`);
    await lowlatPage.waitForSelector('[data-test=player-stream][data-transport=lowlat]', { timeout: 30_000 });
    await hlsPage.waitForSelector('[data-test=wall-tile][data-state=live][data-transport=hls]', { timeout: 30_000 });
    expect(media.some((m) => m.status === 200)).toBe(true);
    // HLS tokens ride in the path; none in a query string.
    expect(media.every((m) => !m.url.includes('token='))).toBe(true);

    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'e2e-live-admin', password: 'e2e-live-admin-pw' }) });
    const adminCookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const disabledAt = Date.now();
    const res = await fetch(`${base}/api/users/${victim.id}`, { method: 'PATCH', headers: { cookie: adminCookie, 'content-type': 'application/json' }, body: JSON.stringify({ disabled: true }) });
    expect(res.status, await res.text()).toBe(200);
    // Each page stops within seconds, one of two ways: the realtime channel closes the revoked
    // session (4401) and the tab goes to the login page, or the gateway stops serving it (the
    // WebSocket closed with 4401, an HLS request refused with 401).
    const leftAt = new Map<typeof hlsPage, number>();
    for (const p of [lowlatPage, hlsPage]) {
      p.on('framenavigated', (f) => { if (f === p.mainFrame() && f.url().includes('/login') && !leftAt.has(p)) leftAt.set(p, Date.now()); });
    }
    const hlsRefusedAt = () => media.find((m) => m.status === 401 && m.at >= disabledAt)?.at ?? 0;
    await expect.poll(() => (leftAt.get(lowlatPage) ?? socketClosedAt) >= disabledAt && (leftAt.get(hlsPage) ?? hlsRefusedAt()) >= disabledAt, { timeout: 10_000, interval: 100 }).toBe(true);
    const lowlatStopped = Math.min(leftAt.get(lowlatPage) ?? Infinity, socketClosedAt >= disabledAt ? socketClosedAt : Infinity);
    const hlsStopped = Math.min(leftAt.get(hlsPage) ?? Infinity, hlsRefusedAt() || Infinity);
    console.log(`e2e revocation: the WebSocket player stopped ${lowlatStopped - disabledAt} ms, the HLS tile ${hlsStopped - disabledAt} ms after the admin disabled the user`);
    expect(lowlatStopped - disabledAt).toBeLessThan(5_000);
    expect(hlsStopped - disabledAt).toBeLessThan(5_000);
    // And nothing more is served to either (a request in flight at that moment may still finish).
    await lowlatPage.waitForTimeout(4_000);
    expect(frames.filter((at) => at > lowlatStopped + 1_000)).toEqual([]);
    expect(media.filter((m) => m.status === 200 && m.at > hlsStopped + 1_000)).toEqual([]);
    await context.close();
  });

  it('plays recorded footage from a click on the timeline', async () => {
    await waitUntil(async () => (await platform.pool.query('SELECT count(*)::int AS n FROM recording_segments WHERE device_id = $1', [deviceId])).rows[0].n >= 2, 60_000, 'two indexed recording segments');
    const { rows } = await platform.pool.query('SELECT min(starts_at) AS first FROM recording_segments WHERE device_id = $1', [deviceId]);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const seen: string[] = [];
    page.on('console', (m) => seen.push(`console ${m.type()} ${m.text()}`));
    page.on('response', (r) => { if (r.url().includes('/media/') || r.url().includes('/footage')) seen.push(`${r.status()} ${r.url().slice(0, 120)}`); });
    (globalThis as { __seen?: string[] }).__seen = seen;
    await login(page);
    await page.goto(`${base}/devices/${deviceId}`);
    await page.click('[data-test=tab-footage]');
    const bar = await page.waitForSelector('[data-test=timeline-bar]');
    await page.waitForSelector('[data-test=timeline-range][data-kind=footage]', { timeout: 15_000 });
    const from = Date.parse((await bar.getAttribute('data-from'))!);
    const to = Date.parse((await bar.getAttribute('data-to'))!);
    const box = (await bar.boundingBox())!;
    // A bar pixel is ~90 s of the day and the footage is less than a minute long: click a few
    // pixels before it, in the gap, and the player starts at the next footage.
    const at = (rows[0].first as Date).getTime();
    await page.mouse.click(box.x + ((at - from) / (to - from)) * box.width - 3, box.y + box.height / 2);
    // A function, not a string: the console's CSP forbids eval.
    type Doc = { document: { querySelector(s: string): { currentTime: number } | null } };
    await page.waitForFunction(() => ((globalThis as unknown as Doc).document.querySelector('[data-test=footage-video]')?.currentTime ?? 0) > 0.5, undefined, { timeout: 30_000 }).catch(async (err) => {
      await page.screenshot({ path: '/tmp/footage-fail.png' });
      console.log(seen.join('\n'));
      throw err;
    });
    expect(await page.textContent('[data-test=footage-time]')).toMatch(/\d{2}:\d{2}:\d{2}/);
    const { rows: audit } = await platform.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'footage.view' AND target_id = $1`, [deviceId]);
    expect(audit[0].n).toBeGreaterThan(0);
    await page.close();
  });
});
