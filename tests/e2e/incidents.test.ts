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
import { loginAs, testPlatform, waitUntil } from '../helpers/platform.ts';

// The control room's main path: a monitor at the wall starts a tour, creates an incident from a
// tile, lands on the incident page, finds the tile's camera first among the cameras nearby,
// clicks a moment on its footage timeline and bookmarks it; the bookmark shows in the evidence
// and the timeline (and holds the footage). An incident another user creates through the API
// appears on the open list without a reload.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let browser: Browser;
let base: string;
let near: string;
let far: string;

const HERE = { lat: 30.274085, lon: 120.155070 };

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  sim = await startSimulator({ cameras: [{ id: `e2e-incidents-${process.pid}`, name: '解放路口枪机', width: 320, height: 180, fps: 10 }], host: '127.0.0.1' });
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const monitor = await platform.identity.createUser({ username: 'e2e-inc-monitor', password: 'e2e-inc-monitor-pw', roles: ['monitor'] });
  const cam = sim.cameras[0]!;
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const a = await devices.create({
    name: cam.spec.name, cameraType: 'fixed', address: '解放路与延安路口',
    location: { lat: HERE.lat, lon: HERE.lon, heading: 90 },
    onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
    streams: { main: cam.rtspUri('main'), sub: cam.rtspUri('sub') }, recording: { mode: 'continuous', retentionDays: 7 },
  });
  near = a.id;
  // ~300 m north: inside the default 500 m radius, after the tile's camera.
  const b = await devices.create({
    name: '延安路北段球机', cameraType: 'ptz', location: { lat: HERE.lat + 0.0027, lon: HERE.lon, heading: null },
    streams: { main: cam.rtspUri('main') }, confirmDuplicate: true,
  });
  far = b.id;
  await platform.pool.query(
    `INSERT INTO tours (name, device_ids, interval_seconds, grid, created_by, created_by_name) VALUES ('e2e 警情轮巡', $1, 600, 4, $2, 'e2e-inc-monitor')`,
    [[near, far], monitor.id],
  );
  await waitUntil(() => gateway.membership.held().includes(near), 15_000, 'the gateway to hold the camera');
  await waitUntil(async () => (await platform.pool.query('SELECT count(*)::int AS n FROM recording_segments WHERE device_id = $1', [near])).rows[0].n >= 2, 90_000, 'two recorded segments');
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
  await page.waitForURL(/\/devices|\/wall|\/incidents/);
}

/** An el-input by its data-test (Element Plus puts the attribute on the <input> or on its wrapper). */
const field = (name: string) => `input[data-test=${name}], [data-test=${name}] input`;
const tile = (i: number) => `[data-test=wall-tile][data-index="${i}"]`;

describe('incidents in the control room', () => {
  it('creates an incident from a wall tile and bookmarks a moment of the nearest camera', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'e2e-inc-monitor', 'e2e-inc-monitor-pw');
    await page.goto(`${base}/wall`);
    await page.click('[data-test=tour-select]');
    await page.click('.el-select-dropdown__item:has-text("e2e 警情轮巡")');
    await page.click('[data-test=tour-start]');
    await expect.poll(() => page.getAttribute(tile(0), 'data-device-id'), { timeout: 10_000 }).toBe(near);
    await page.hover(tile(0));
    await page.click(`${tile(0)} [data-test=tile-create-incident]`);

    // the dialog comes prefilled from the tile: its camera's location and address
    await page.waitForSelector(field('incident-form-title'));
    expect(await page.inputValue(field('incident-form-lat'))).toBe(String(HERE.lat));
    expect(await page.inputValue(field('incident-form-address'))).toBe('解放路与延安路口');
    // the type is asked for before anything is sent
    await page.fill(field('incident-form-title'), '路口两车剐蹭 <b>e2e</b>');
    await page.click('[data-test=incident-form-save]');
    await page.waitForSelector('[data-test=incident-form] .el-form-item__error');
    expect((await platform.pool.query(`SELECT count(*)::int AS n FROM incidents WHERE title LIKE '路口两车剐蹭%'`)).rows[0].n).toBe(0);
    await page.click('[data-test=incident-form-type]');
    await page.click('[data-test=incident-type-option][data-code=traffic]');
    await page.click('[data-test=incident-form-save]');

    await page.waitForURL(/\/incidents\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    const id = page.url().split('/').pop()!;
    const row = (await platform.pool.query('SELECT number, type, source, device_id, title FROM incidents WHERE id = $1', [id])).rows[0];
    expect(row).toMatchObject({ type: 'traffic', source: 'video_patrol', device_id: near, title: '路口两车剐蹭 <b>e2e</b>' });
    await expect.poll(() => page.textContent('[data-test=incident-number]')).toBe(row.number);
    // markup is shown as text
    expect(await page.textContent('[data-test=incident-title]')).toBe('路口两车剐蹭 <b>e2e</b>');

    // cameras nearby: the tile's camera first, the other after it
    const cams = '[data-test=incident-nearby] [data-test=nearby-camera]';
    await expect.poll(() => page.$$eval(cams, (els) => els.map((e) => e.getAttribute('data-device-id'))), { timeout: 15_000 }).toEqual([near, far]);
    const distances = await page.$$eval(cams, (els) => els.map((e) => Number(e.getAttribute('data-distance'))));
    expect(distances[0]).toBeLessThan(5);
    expect(distances[1]).toBeGreaterThan(250);
    expect(distances[1]).toBeLessThan(350);

    // the camera's footage around the incident: click a recorded moment, bookmark it
    const nearRow = `${cams}[data-device-id="${near}"]`;
    await page.click(`${nearRow} [data-test=nearby-footage]`);
    const bar = `${nearRow} [data-test=footage-timeline] [data-test=footage-bar]`;
    const piece = `${nearRow} [data-test=footage-piece][data-kind=footage]`;
    await page.waitForSelector(piece, { timeout: 15_000 });
    const box = (await page.locator(piece).last().boundingBox())!;
    const barBox = (await page.locator(bar).boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, barBox.y + barBox.height / 2);
    await page.waitForSelector(`${nearRow} [data-test=footage-moment]`);
    // the moment plays, with the incident as the audited reason
    await page.waitForSelector(`${nearRow} [data-test=footage-clip]`);
    if (process.env.SKYNET_E2E_SHOTS) await page.screenshot({ path: `${process.env.SKYNET_E2E_SHOTS}/incident-detail.png` });
    await page.fill(`${nearRow} :is(input[data-test=bookmark-note], [data-test=bookmark-note] input)`, '事发时刻');
    await page.click(`${nearRow} [data-test=bookmark-create]`);

    const bookmark = `[data-test=incident-bookmark][data-device-id="${near}"]`;
    await page.waitForSelector(bookmark, { timeout: 10_000 });
    expect(await page.textContent(bookmark)).toContain('事发时刻');
    const entry = '[data-test=incident-timeline] [data-test=timeline-entry][data-kind="bookmark.added"]';
    await page.waitForSelector(entry, { timeout: 10_000 });
    expect(await page.textContent(entry)).toContain('添加书签');
    const saved = (await platform.pool.query('SELECT id, device_id, starts_at, ends_at, note FROM bookmarks WHERE incident_id = $1', [id])).rows;
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({ device_id: near, note: '事发时刻' });
    expect(saved[0].ends_at.getTime() - saved[0].starts_at.getTime()).toBeLessThanOrEqual(60_000);
    const holds = (await platform.pool.query(`SELECT count(*)::int AS n FROM holds WHERE kind = 'bookmark' AND ref = $1`, [saved[0].id])).rows[0].n;
    expect(holds).toBe(1);
    await expect.poll(async () => (await platform.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'footage.view' AND target_id = $1 AND reason = $2`, [near, `incident:${row.number}`])).rows[0].n, { timeout: 10_000 }).toBeGreaterThan(0);

    // 在录像查找中打开: the search page with these cameras and this incident, searched at once
    await page.click('[data-test=nearby-search-page]');
    await page.waitForURL(/\/search\?/);
    await page.waitForSelector(`[data-test=search-result][data-device-id="${near}"]`, { timeout: 15_000 });
    await expect.poll(() => page.textContent('[data-test=incident-picker]')).toContain(row.number);
    await page.close();
  });

  it('shows an incident another user creates through the API on the open list without a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'e2e-inc-monitor', 'e2e-inc-monitor-pw');
    await page.goto(`${base}/incidents`);
    await page.waitForSelector('[data-test=incident-table]');
    await page.waitForSelector('[data-test=incidents-live][data-state=open]', { timeout: 10_000 });
    // a marker on the page's global object: still there at the end means the page never reloaded
    await page.evaluate('globalThis.__noReload = true');
    const other = await loginAs(app, platform, ['monitor']);
    const res = await app.inject({
      method: 'POST', url: '/api/incidents', headers: { cookie: other.cookie },
      payload: { type: 'theft', source: 'call_110', title: '110 转警：电动车被盗', address: '人民路 18 号', priority: 2 },
    });
    expect(res.statusCode).toBe(201);
    const created = res.json().incident;
    const rowTitle = page.locator('[data-test=incident-table] tr', { hasText: '110 转警：电动车被盗' });
    await expect.poll(() => rowTitle.count(), { timeout: 10_000 }).toBe(1);
    expect(await rowTitle.locator('[data-test=incident-row-number]').textContent()).toBe(created.number);
    expect(await page.evaluate('globalThis.__noReload === true')).toBe(true);
    if (process.env.SKYNET_E2E_SHOTS) await page.screenshot({ path: `${process.env.SKYNET_E2E_SHOTS}/incident-list.png` });
    await page.close();
  });

  it('never overwrites a change someone else saved: the edit answers 409 and says who; status moves by its buttons', async () => {
    const other = await loginAs(app, platform, ['monitor']);
    const res = await app.inject({
      method: 'POST', url: '/api/incidents', headers: { cookie: other.cookie },
      payload: { type: 'fight', source: 'call_110', title: '商场门口打架', lat: HERE.lat, lon: HERE.lon },
    });
    const created = res.json().incident;
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'e2e-inc-monitor', 'e2e-inc-monitor-pw');
    await page.goto(`${base}/incidents/${created.id}`);
    await page.waitForSelector('[data-test=incident-number]');
    await page.click('[data-test=incident-edit]');
    await page.fill(field('incident-form-title'), '商场门口打架（我的修改）');
    // meanwhile the other monitor saves first
    const theirs = await app.inject({
      method: 'PATCH', url: `/api/incidents/${created.id}`, headers: { cookie: other.cookie },
      payload: { version: created.version, title: '商场门口打架（已增援）' },
    });
    expect(theirs.statusCode).toBe(200);
    // heard live: the form warns but keeps my text
    await page.waitForSelector('[data-test=incident-changed-live]', { timeout: 10_000 });
    expect(await page.inputValue(field('incident-form-title'))).toBe('商场门口打架（我的修改）');
    await page.click('[data-test=incident-edit-save]');
    await page.waitForSelector('[data-test=incident-stale]');
    expect(await page.textContent('[data-test=incident-stale]')).toContain(other.username);
    await page.click('[data-test=incident-stale-compare]');
    const compare = await page.textContent('[data-test=incident-compare]');
    expect(compare).toContain('商场门口打架（我的修改）');
    expect(compare).toContain('商场门口打架（已增援）');
    expect((await platform.pool.query('SELECT title FROM incidents WHERE id = $1', [created.id])).rows[0].title).toBe('商场门口打架（已增援）');
    await page.click('[data-test=incident-stale-reload]');
    await expect.poll(() => page.inputValue(field('incident-form-title'))).toBe('商场门口打架（已增援）');
    await page.click('[data-test=incident-edit-cancel]');

    // 派警: the transition buttons follow the status
    await page.click('[data-test=incident-transition][data-status=dispatched]');
    await page.click('.el-message-box__btns .el-button--primary');
    await expect.poll(() => page.getAttribute('[data-test=incident-status]', 'data-status')).toBe('dispatched');
    expect(await page.$('[data-test=incident-transition][data-status=on_scene]')).not.toBeNull();
    expect((await platform.pool.query('SELECT status FROM incidents WHERE id = $1', [created.id])).rows[0].status).toBe('dispatched');
    await page.waitForSelector('[data-test=timeline-entry][data-kind=status]');

    // 结案: closing asks whether video helped (视频协助破案), stored for the statistics
    await platform.pool.query(`UPDATE incidents SET status = 'resolved', version = version + 1 WHERE id = $1`, [created.id]);
    await page.reload();
    await page.click('[data-test=incident-transition][data-status=closed]');
    await page.click('.el-message-box__btns .el-button--primary');
    await page.waitForSelector('.el-message-box__title:has-text("视频协助破案")');
    await page.click('.el-message-box__btns .el-button--primary');
    await expect.poll(() => page.getAttribute('[data-test=incident-status]', 'data-status')).toBe('closed');
    expect((await platform.pool.query('SELECT status, video_assisted FROM incidents WHERE id = $1', [created.id])).rows[0]).toEqual({ status: 'closed', video_assisted: true });
    await page.close();
  });

  it('searches footage from the search page and bookmarks a moment on a picked open incident', async () => {
    const other = await loginAs(app, platform, ['monitor']);
    const res = await app.inject({
      method: 'POST', url: '/api/incidents', headers: { cookie: other.cookie },
      payload: { type: 'suspicious_person', source: 'video_patrol', title: '可疑人员徘徊 e2e-search' },
    });
    const target = res.json().incident;
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'e2e-inc-monitor', 'e2e-inc-monitor-pw');
    await page.goto(`${base}/search`);
    await page.waitForSelector('[data-test=footage-search-form]');
    // nothing to search in: the form says so and nothing is asked
    await page.click('[data-test=search-submit]');
    await expect.poll(() => page.textContent('[data-test=footage-search-form]')).toContain('请选择摄像机或在地图上划定区域');

    await page.click('[data-test=search-cameras]');
    await page.click('.el-select-dropdown__item:has-text("解放路口枪机")');
    await page.keyboard.press('Escape');
    await page.click('[data-test=incident-picker]');
    await page.click('.el-select-dropdown__item:has-text("可疑人员徘徊 e2e-search")');
    await page.click('[data-test=search-submit]');

    const result = `[data-test=search-result][data-device-id="${near}"]`;
    const piece = `${result} [data-test=footage-piece][data-kind=footage]`;
    await page.waitForSelector(piece, { timeout: 15_000 });
    expect(await page.$$eval('[data-test=search-result]', (els) => els.length)).toBe(1);
    if (process.env.SKYNET_E2E_SHOTS) await page.screenshot({ path: `${process.env.SKYNET_E2E_SHOTS}/search.png` });
    // a minute of a day-long bar is a pixel or two: zoom in around the newest footage, then click inside it
    await page.click(`${result} [data-test=footage-zoom-in]`);
    await page.waitForSelector(`${result} [data-test=footage-zoom-out]`);
    const box = (await page.locator(piece).last().boundingBox())!;
    expect(box.width).toBeGreaterThan(20);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector(`${result} [data-test=footage-moment]`);
    await page.click(`${result} [data-test=bookmark-create]`);
    await expect.poll(async () => (await platform.pool.query('SELECT device_id FROM bookmarks WHERE incident_id = $1', [target.id])).rows, { timeout: 10_000 })
      .toEqual([{ device_id: near }]);
    // 抓图 of that moment: the recorded frame, filed on the incident
    await page.click(`${result} [data-test=moment-snapshot]`);
    await expect.poll(async () => (await platform.pool.query('SELECT device_id FROM snapshots WHERE incident_id = $1', [target.id])).rows, { timeout: 20_000 })
      .toEqual([{ device_id: near }]);
    await page.close();
  });

  it('keeps patrol users out of the incident and search pages, and shows a supervisor no monitor actions', async () => {
    const maker = await loginAs(app, platform, ['monitor']);
    const made = await app.inject({
      method: 'POST', url: '/api/incidents', headers: { cookie: maker.cookie },
      payload: { type: 'other', source: 'patrol_report', title: '巡逻上报：路灯损坏', lat: HERE.lat, lon: HERE.lon },
    });
    expect(made.statusCode).toBe(201);
    const id: string = made.json().incident.id;
    await platform.identity.createUser({ username: 'e2e-inc-patrol', password: 'e2e-inc-patrol-pw', roles: ['patrol'] });
    await platform.identity.createUser({ username: 'e2e-inc-super', password: 'e2e-inc-super-pw', roles: ['supervisor'] });
    const patrol = await browser.newPage();
    await patrol.goto(`${base}/login`);
    await patrol.fill('[data-test=login-username]', 'e2e-inc-patrol');
    await patrol.fill('[data-test=login-password]', 'e2e-inc-patrol-pw');
    await patrol.click('[data-test=login-submit]');
    await patrol.waitForURL((url) => !url.pathname.startsWith('/login'));
    for (const path of ['/incidents', `/incidents/${id}`, '/search']) {
      await patrol.goto(`${base}${path}`);
      await expect.poll(() => new URL(patrol.url()).pathname).not.toBe(path);
      expect(await patrol.$('[data-test=incidents-page], [data-test=incident-page], [data-test=search-page]')).toBeNull();
      const api = await patrol.request.get(`${base}/api${path === '/search' ? '/search/nearby?lat=30&lon=120' : path}`);
      expect(api.status()).toBe(403);
    }
    await patrol.close();

    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await login(page, 'e2e-inc-super', 'e2e-inc-super-pw');
    await page.goto(`${base}/incidents`);
    await page.waitForSelector('[data-test=incident-row-number]');
    expect(await page.$('[data-test=incident-create]')).toBeNull();
    await page.goto(`${base}/incidents/${id}`);
    await page.waitForSelector('[data-test=incident-number]');
    expect(await page.$('[data-test=incident-transition]')).toBeNull();
    expect(await page.$('[data-test=incident-edit]')).toBeNull();
    expect(await page.$('[data-test=timeline-note]')).toBeNull();
    // in English: the same page, worded from the en messages
    await page.evaluate("localStorage.setItem('skynet.locale', 'en')");
    await page.reload();
    await page.waitForSelector('[data-test=incident-number]');
    expect((await page.textContent('[data-test=incident-status]'))?.trim()).toBe('New');
    await expect.poll(() => page.textContent('[data-test=incident-nearby]')).toContain('within 500 m');
    if (process.env.SKYNET_E2E_SHOTS) await page.screenshot({ path: `${process.env.SKYNET_E2E_SHOTS}/incident-en.png` });
    await page.close();
  });
});
