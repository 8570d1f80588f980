import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

// 监巡联动 in the browser (issue 11). An admin creates a patrol unit on 巡逻力量 (members, grid
// pasted) and issues it a GPS terminal credential whose fixes move it live. Then the path,
// in two browser contexts: a monitor creates an incident, sees the proposed units and sends a cue;
// the patrol phone (390×844) receives it, accepts, goes en route and on scene while its GPS moves;
// the monitor sees each state and the unit moving on the map; the pushed camera plays on the phone;
// the response times are stored. Then an escalation (a cue nobody received in time), a forced step
// with its reason, the three rings and 上墙, and screenshots of the units page and the linkage
// panel in zh-CN and en (docs/screenshots/units.*.png, linkage.*.png).
const OUT = join(dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');

let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let browser: Browser;
let base: string;
let camNear: string;
let camWay: string;
let stationId: string;
let patrolUserId: string;
let patrol2Id: string;

/** The incident's place; the unit starts ~800 m south of it and drives north. */
const HERE = { lat: 30.274085, lon: 120.155070 };
const south = (m: number) => ({ lat: HERE.lat - m / 111_195, lon: HERE.lon });

beforeAll(async () => {
  // Its own database: the proposals, rings and the gateway's leases must see only what this file makes.
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }, { ownDatabase: true }));
  await ensureWebBuilt({ info: () => {} });
  sim = await startSimulator({ cameras: [{ id: `e2e-linkage-${process.pid}`, name: '解放路口枪机', width: 320, height: 180, fps: 10 }], host: '127.0.0.1' });
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const repo = createDeviceRepository(platform.pool);
  const station = await repo.upsertSite({ code: `e2e-lk-${process.pid}`, name: '城关派出所', kind: 'station', parentId: null, lat: HERE.lat, lon: HERE.lon });
  stationId = station.id;
  const cam = sim.cameras[0]!;
  const devices = createDeviceService({ repo, boxKey: platform.keys.box });
  camNear = (await devices.create({
    name: cam.spec.name, cameraType: 'fixed', address: '解放路与延安路口', siteId: stationId,
    location: { lat: HERE.lat, lon: HERE.lon, heading: 90 },
    onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
    streams: { main: cam.rtspUri('main'), sub: cam.rtspUri('sub') }, recording: { mode: 'none', retentionDays: 7 },
  })).id;
  // on the unit's way north, ~400 m south of the incident
  camWay = (await devices.create({
    name: '延安路南段球机', cameraType: 'ptz', location: { ...south(400), heading: null }, siteId: stationId,
    streams: { main: cam.rtspUri('main') }, confirmDuplicate: true,
  })).id;
  await platform.identity.createUser({ username: 'e2e-lk-admin', password: 'e2e-lk-admin-pw', roles: ['admin'], displayName: '值班管理员' });
  await platform.identity.createUser({ username: 'e2e-lk-monitor', password: 'e2e-lk-monitor-pw', roles: ['monitor'], displayName: '张伟' });
  patrolUserId = (await platform.identity.createUser({ username: 'e2e-lk-patrol', password: 'e2e-lk-patrol-pw', roles: ['patrol'], displayName: '赵警官' })).id;
  patrol2Id = (await platform.identity.createUser({ username: 'e2e-lk-patrol2', password: 'e2e-lk-patrol2-pw', roles: ['patrol'], displayName: '钱警官' })).id;
  await waitUntil(() => gateway.membership.held().includes(camNear), 15_000, 'the gateway to hold the camera');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

async function cookieOf(username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

async function api<T = unknown>(cookie: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method, headers: { cookie, origin: base, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function login(page: Page, username: string, password: string, landing: RegExp): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', username);
  await page.fill('[data-test=login-password]', password);
  await page.click('[data-test=login-submit]');
  await page.waitForURL(landing);
}

/** An el-input by its data-test (Element Plus puts the attribute on the <input> or on its wrapper). */
const field = (name: string) => `input[data-test=${name}], [data-test=${name}] input`;
const textarea = (name: string) => `textarea[data-test=${name}], [data-test=${name}] textarea`;
const visibleOption = (text: string) => `.el-select-dropdown:visible .el-select-dropdown__item:has-text("${text}")`;

let unitId = '';
let unit2Id = '';
let incidentId = '';

describe('monitor-patrol linkage in the browser', () => {
  it('an admin creates a unit with members and a pasted grid, and its GPS terminal moves it live', async () => {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await login(page, 'e2e-lk-admin', 'e2e-lk-admin-pw', /\/devices/);
    await page.goto(`${base}/units`);
    await page.waitForSelector('[data-test=units-page]');

    await page.click('[data-test=unit-create]');
    await page.waitForSelector('[data-test=unit-dialog]');
    // nothing is sent without a call sign
    await page.click('[data-test=unit-form-save]');
    await page.waitForSelector('[data-test=unit-dialog] .el-form-item__error');
    await page.fill(field('unit-form-call-sign'), '巡逻一组');
    await page.click('[data-test=unit-form-kind] [data-kind=vehicle]');
    // (el-tree-select hands its attributes to the select and to the tree inside its popper)
    await page.locator('[data-test=unit-form-station]:visible').first().click();
    await page.click('.el-tree-select__popper:visible .el-tree-node__content:has-text("城关派出所")');
    await page.click('[data-test=unit-form-members]');
    await page.click(visibleOption('赵警官'));
    await page.keyboard.press('Escape');
    await page.fill(field('unit-form-grid-name'), '解放路网格');
    const grid = [[120.150, 30.268], [120.160, 30.268], [120.160, 30.280], [120.150, 30.280]];
    // a bad paste is named before anything is sent
    await page.fill(textarea('unit-form-grid-text'), '120.15,30.26\n120.16');
    await page.click('[data-test=unit-form-save]');
    await expect.poll(() => page.textContent('[data-test=unit-dialog]')).toMatch(/无法识别|3 到 500/);
    await page.fill(textarea('unit-form-grid-text'), JSON.stringify(grid));
    await page.click('[data-test=unit-form-save]');
    await page.waitForSelector('[data-test=unit-dialog]', { state: 'hidden' });

    const row = (await platform.pool.query(`SELECT id, kind, station_id, grid_name FROM patrol_units WHERE call_sign = '巡逻一组'`)).rows[0];
    expect(row).toMatchObject({ kind: 'vehicle', station_id: stationId, grid_name: '解放路网格' });
    unitId = row.id;
    const admin = await cookieOf('e2e-lk-admin', 'e2e-lk-admin-pw');
    const saved = await api<{ grid: number[][]; members: { userId: string }[] }>(admin, 'GET', `/api/units/${unitId}`);
    expect(saved.body.grid).toEqual(grid);
    expect(saved.body.members.map((m) => m.userId)).toEqual([patrolUserId]);
    const unitRow = `[data-test=unit-row][data-unit-id="${unitId}"]`;
    await page.waitForSelector(unitRow);
    expect(await page.getAttribute(unitRow, 'data-state')).toBe('off_duty');

    // a second unit, through the API (the escalation below proposes the other one)
    const second = await api<{ id: string }>(admin, 'POST', '/api/units', { callSign: '巡逻二组', kind: 'motorbike', stationId, memberIds: [patrol2Id] });
    expect(second.status).toBe(201);
    unit2Id = second.body.id;
    await page.waitForSelector(`[data-test=unit-row][data-unit-id="${unit2Id}"]`);

    // the GPS terminal credential: the secret shown once, and fixes sent with it move the unit
    await page.click(`tr:has(${unitRow}) [data-test=unit-terminal]`);
    await page.click('[data-test=terminal-issue]');
    const terminalId = (await page.textContent('[data-test=terminal-id]'))!.trim();
    const secret = (await page.textContent('[data-test=terminal-secret]'))!.trim();
    expect(secret.length).toBeGreaterThan(16);
    await page.click('[data-test=terminal-close]');
    const age = `tr:has(${unitRow}) [data-test=unit-age]`;
    expect(await page.getAttribute(age, 'data-stale')).toBe('true');
    const start = south(800);
    const fix = await fetch(`${base}/api/gps/fixes`, {
      method: 'POST', headers: { authorization: `Terminal ${terminalId}:${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fixes: [{ at: new Date().toISOString(), lat: start.lat, lon: start.lon, heading: 0, speed: 8 }] }),
    });
    expect(fix.status).toBe(200);
    // no reload: unit.positions brings it onto the list and the map
    await expect.poll(() => page.getAttribute(age, 'data-stale'), { timeout: 10_000 }).toBe('false');
    await page.waitForSelector(`[data-test=map-unit][data-unit-id="${unitId}"]`, { timeout: 10_000 });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a monitor cues the nearest unit and the patrol phone takes it to the scene while its GPS moves', async () => {
    // —— the patrol phone ——
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, timezoneId: 'Asia/Shanghai',
      permissions: ['geolocation'], geolocation: { latitude: south(800).lat, longitude: south(800).lon, accuracy: 10 },
    });
    const p = await phone.newPage();
    const phoneErrors: string[] = [];
    p.on('pageerror', (err) => phoneErrors.push(err.message));
    await login(p, 'e2e-lk-patrol', 'e2e-lk-patrol-pw', /\/patrol/);
    await p.click(`[data-test=patrol-unit][data-unit-id="${unitId}"]`);
    await p.click('[data-test=patrol-duty-on]');
    await p.waitForSelector('[data-test=patrol-duty-unit]');
    await waitUntil(async () => (await platform.pool.query(`SELECT count(*)::int AS n FROM unit_positions WHERE unit_id = $1 AND source = 'phone'`, [unitId])).rows[0].n > 0, 20_000, 'the phone to send a fix');

    // —— the monitor ——
    const room = await browser.newContext({ viewport: { width: 1920, height: 1080 }, timezoneId: 'Asia/Shanghai' });
    const m = await room.newPage();
    const roomErrors: string[] = [];
    m.on('pageerror', (err) => roomErrors.push(err.message));
    await login(m, 'e2e-lk-monitor', 'e2e-lk-monitor-pw', /\/devices|\/wall|\/incidents/);
    await m.goto(`${base}/incidents`);
    await m.click('[data-test=incident-create]');
    await m.waitForSelector(field('incident-form-title'));
    await m.fill(field('incident-form-title'), '解放路口电动车被盗');
    await m.click('[data-test=incident-form-type]');
    await m.click('[data-test=incident-type-option][data-code=theft]');
    await m.fill(field('incident-form-lat'), String(HERE.lat));
    await m.fill(field('incident-form-lon'), String(HERE.lon));
    await m.fill(field('incident-form-address'), '解放路与延安路口');
    await m.click('[data-test=incident-form-save]');
    await m.waitForURL(/\/incidents\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    incidentId = m.url().split('/').pop()!;

    // the proposals: the unit on duty, ~800 m away, with the camera on its way
    const proposal = `[data-test=linkage-proposal][data-unit-id="${unitId}"]`;
    await m.waitForSelector(proposal, { timeout: 15_000 });
    expect(await m.textContent(`${proposal} [data-test=proposal-distance]`)).toMatch(/^(7|8)\d\d m$/);
    expect(await m.textContent(proposal)).toContain('延安路南段球机');
    // the unit off duty is not proposed
    expect(await m.$(`[data-test=linkage-proposal][data-unit-id="${unit2Id}"]`)).toBeNull();

    await m.click(`${proposal} [data-test=linkage-send-cue]`);
    await m.waitForSelector('[data-test=cue-dialog]');
    await m.fill(textarea('cue-dialog-message'), '请立即前往解放路口，核查电动车被盗');
    // the camera at the crossing goes with the cue; the one on the way is pushed by hand below
    const box = (id: string) => `[data-test=cue-dialog-camera][data-device-id="${id}"]`;
    const checked = (id: string) => m.$eval(box(id), (el) => el.classList.contains('is-checked'));
    if (!(await checked(camNear))) await m.click(box(camNear));
    if (await checked(camWay)) await m.click(box(camWay));
    await m.click('[data-test=cue-dialog-send]');
    await m.waitForSelector('[data-test=cue-dialog]', { state: 'hidden' });
    const cueCard = `[data-test=linkage-cue][data-unit-id="${unitId}"]`;
    await m.waitForSelector(`${cueCard}[data-status=sent]`, { timeout: 10_000 });
    const cueId = (await m.getAttribute(cueCard, 'data-cue-id'))!;

    // the phone gets it over the realtime channel, and moves it a step at a time
    await p.waitForSelector('[data-test=patrol-cue]', { timeout: 15_000 });
    expect(await p.textContent('[data-test=patrol-cue-message]')).toContain('核查电动车被盗');
    const step = async (name: string) => {
      await p.waitForSelector(`[data-test=patrol-step][data-step=${name}]:not([disabled])`, { timeout: 10_000 });
      await p.click(`[data-test=patrol-step][data-step=${name}]`);
      await m.waitForSelector(`${cueCard}[data-status=${name}]`, { timeout: 10_000 });
    };
    await step('received');
    await step('en_route');

    // the GPS moves north: the monitor's map moves the unit without a reload
    const marker = `[data-test=linkage-panel] [data-test=map-unit][data-unit-id="${unitId}"]`;
    await m.waitForSelector(marker, { timeout: 10_000 });
    const lat0 = Number(await m.getAttribute(marker, 'data-lat'));
    for (const metres of [600, 400, 200, 30]) {
      await phone.setGeolocation({ latitude: south(metres).lat, longitude: south(metres).lon, accuracy: 10 });
      await p.waitForTimeout(1200);
    }
    await expect.poll(async () => Number(await m.getAttribute(marker, 'data-lat')), { timeout: 15_000 }).toBeGreaterThan(lat0 + 0.003);
    await step('on_scene');

    // each step with its time and its response colour (all well inside a minute: green)
    const steps = await m.$$eval(`${cueCard} [data-test=cue-step]`, (els) => els.map((e) => [e.getAttribute('data-step'), e.getAttribute('data-state'), e.getAttribute('data-level')]));
    expect(steps).toEqual([['sent', 'done', ''], ['received', 'done', 'green'], ['en_route', 'done', 'green'], ['on_scene', 'done', 'green'], ['done', 'waiting', 'green']]);

    // the camera the cue named was pushed with it, and plays on the phone
    await p.waitForSelector('[data-test=patrol-cameras]');
    await p.waitForSelector(`[data-test=patrol-camera][data-device-id="${camNear}"] [data-test=player-state][data-state=live]`, { timeout: 40_000 });
    // and the monitor pushes the other camera too
    await m.click(`${cueCard} [data-test=cue-push-select]`);
    await m.click(`.el-select-dropdown:visible [data-test=cue-push-option][data-device-id="${camWay}"]`);
    await m.click(`${cueCard} [data-test=cue-push]`);
    await expect.poll(() => p.getAttribute('[data-test=patrol-cameras]', 'data-count'), { timeout: 10_000 }).toBe('2');
    await m.waitForSelector(`${cueCard} [data-test=cue-push-tag][data-device-id="${camWay}"]`);

    // the response times are stored on the cue and on the incident, in order
    const cue = (await platform.pool.query('SELECT sent_at, received_at, en_route_at, on_scene_at FROM cues WHERE id = $1', [cueId])).rows[0];
    const inc = (await platform.pool.query('SELECT status, dispatched_at, acknowledged_at, en_route_at, arrived_at FROM incidents WHERE id = $1', [incidentId])).rows[0];
    for (const t of [cue.sent_at, cue.received_at, cue.en_route_at, cue.on_scene_at, inc.dispatched_at, inc.acknowledged_at, inc.en_route_at, inc.arrived_at]) expect(t).toBeInstanceOf(Date);
    expect(cue.sent_at <= cue.received_at && cue.received_at <= cue.en_route_at && cue.en_route_at <= cue.on_scene_at).toBe(true);
    expect(inc.status).toBe('on_scene');
    // (the linkage moves the incident's status without an incident.updated event: the header shows it on a reload)
    await m.reload();
    await expect.poll(() => m.getAttribute('[data-test=incident-status]', 'data-status'), { timeout: 10_000 }).toBe('on_scene');

    expect(phoneErrors).toEqual([]);
    expect(roomErrors).toEqual([]);
    await phone.close();
    await room.close();
  });

  it('escalates a cue nobody received, forces a step with a reason, sets the rings and puts a ring on the wall', async () => {
    // the second unit goes on duty from its phone through the API
    const p2 = await cookieOf('e2e-lk-patrol2', 'e2e-lk-patrol2-pw');
    expect((await api(p2, 'POST', '/api/patrol/duty', { unitId: unit2Id })).status).toBeLessThan(300);
    const at = south(1500);
    expect((await api(p2, 'POST', '/api/patrol/positions', { fixes: [{ at: new Date().toISOString(), lat: at.lat, lon: at.lon, heading: 10, speed: 5 }] })).status).toBe(200);
    const monitor = await cookieOf('e2e-lk-monitor', 'e2e-lk-monitor-pw');
    const created = await api<{ incident: { id: string } }>(monitor, 'POST', '/api/incidents', {
      type: 'fight', source: 'call_110', priority: 1, title: '延安路南段多人斗殴', address: '延安路南段', lat: south(900).lat, lon: south(900).lon,
    });
    expect(created.status).toBe(201);
    const second = created.body.incident.id;

    const room = await browser.newContext({ viewport: { width: 1920, height: 1080 }, timezoneId: 'Asia/Shanghai' });
    const m = await room.newPage();
    const errors: string[] = [];
    m.on('pageerror', (err) => errors.push(err.message));
    await login(m, 'e2e-lk-monitor', 'e2e-lk-monitor-pw', /\/devices|\/wall|\/incidents/);
    await m.goto(`${base}/incidents/${second}`);
    const proposal = `[data-test=linkage-proposal][data-unit-id="${unit2Id}"]`;
    await m.waitForSelector(proposal, { timeout: 15_000 });
    await m.click(`${proposal} [data-test=linkage-send-cue]`);
    await m.click('[data-test=cue-dialog-send]');
    const cueCard = `[data-test=linkage-cue][data-unit-id="${unit2Id}"]`;
    await m.waitForSelector(`${cueCard}[data-status=sent]`, { timeout: 10_000 });
    const cueId = (await m.getAttribute(cueCard, 'data-cue-id'))!;

    // nobody received it in time: the deadline passes and the panel is alerted
    await platform.pool.query(`UPDATE cues SET ack_deadline = now() - interval '1 second' WHERE id = $1`, [cueId]);
    await m.waitForSelector(`[data-test=linkage-escalation][data-cue-id="${cueId}"]`, { timeout: 15_000 });
    await m.waitForSelector('.el-notification');

    // radio confirmation: forcing on scene skips two steps and needs a reason
    await m.click(`${cueCard} [data-test=cue-force]`);
    await m.click('.el-dropdown-menu:visible [data-test=cue-force-step][data-step=on_scene]');
    await m.waitForSelector('.el-message-box');
    await m.click('.el-message-box .el-button--primary');
    await m.waitForSelector('.el-message-box .el-message-box__errormsg:visible');
    await m.fill('.el-message-box input', '电台确认已到场');
    await m.click('.el-message-box .el-button--primary');
    await m.waitForSelector(`${cueCard}[data-status=on_scene]`, { timeout: 10_000 });
    const ev = (await platform.pool.query(`SELECT override, reason FROM cue_events WHERE cue_id = $1 AND to_status = 'on_scene'`, [cueId])).rows[0];
    expect(ev).toMatchObject({ override: true, reason: '电台确认已到场' });
    await m.waitForSelector(`${cueCard} [data-test=cue-step][data-step=on_scene] .override`);

    // the three rings: each lists what is inside it; 上墙 opens the wall with the ring's cameras
    await m.click('.el-tabs__item:has-text("三圈")');
    await m.click('[data-test=rings-set]');
    await m.waitForSelector('[data-test=ring-row][data-ring="2"]', { timeout: 10_000 });
    expect(await m.$$eval('[data-test=ring-row]', (els) => els.map((e) => e.getAttribute('data-code')))).toEqual(['control', 'prevention', 'sealing']);
    const cams = await m.$$eval('[data-test=ring-row] [data-test=ring-cameras]', (els) => els.map((e) => Number(e.textContent)));
    expect(cams.reduce((a, b) => a + b, 0)).toBe(2);
    await m.waitForSelector('[data-test=linkage-panel] path.sk-ring-2');
    await m.waitForTimeout(800);
    await shoot(m, 'linkage');
    const ring = cams.findIndex((n) => n > 0);
    await m.click(`[data-test=ring-row][data-ring="${ring}"] [data-test=ring-wall]`);
    await m.waitForURL(/\/wall\?cameras=/);
    const ids = decodeURIComponent(new URL(m.url()).searchParams.get('cameras')!).split(',');
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id === camNear || id === camWay)).toBe(true);
    await m.waitForSelector(`[data-test=wall-tile][data-device-id="${ids[0]}"]`);

    // the wall follows a unit: its tiles show the cameras nearest it, and change as it moves
    const p1 = await cookieOf('e2e-lk-patrol', 'e2e-lk-patrol-pw');
    const moveUnit = async (pos: { lat: number; lon: number }) => {
      const res = await api(p1, 'POST', '/api/patrol/positions', { fixes: [{ at: new Date().toISOString(), lat: pos.lat, lon: pos.lon, heading: 180, speed: 6 }] });
      expect(res.status).toBe(200);
    };
    await moveUnit(HERE);
    await m.click('[data-test=wall-follow]');
    await m.click(`.el-select-dropdown:visible [data-test=wall-follow-option][data-unit-id="${unitId}"]`);
    await m.waitForSelector(`[data-test=wall-following][data-unit-id="${unitId}"]`);
    const firstTile = () => m.getAttribute('[data-test=wall-tile][data-index="0"]', 'data-device-id');
    await expect.poll(firstTile, { timeout: 10_000 }).toBe(camNear);
    await moveUnit(south(420));
    await expect.poll(firstTile, { timeout: 10_000 }).toBe(camWay);

    // the map: both units with their call signs, and the second incident's three rings
    await m.goto(`${base}/map`);
    await m.waitForSelector(`[data-test=map-unit][data-unit-id="${unitId}"]`, { timeout: 15_000 });
    await m.waitForSelector(`[data-test=map-unit][data-unit-id="${unit2Id}"]`);
    expect(await m.textContent(`[data-test=map-unit][data-unit-id="${unit2Id}"]`)).toBe('巡逻二组');
    await m.waitForSelector('path.sk-ring-0', { timeout: 10_000 });
    expect(await m.$$eval('path.sk-ring', (els) => els.length)).toBe(3);

    // the units page with a unit on a cue and one with a forced step
    await m.goto(`${base}/units`);
    await m.waitForSelector(`[data-test=unit-row][data-unit-id="${unitId}"][data-state=busy]`);
    await m.waitForSelector('[data-test=unit-active-cue]');
    await m.waitForTimeout(800);
    await shoot(m, 'units');
    expect(errors).toEqual([]);
    await room.close();
  });
});

/** docs/screenshots/<name>.zh-CN.png and .en.png of the page as it is (the locale switched by a reload). */
async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const url = page.url();
  for (const locale of ['zh-CN', 'en'] as const) {
    await page.evaluate(`localStorage.setItem('skynet.locale', ${JSON.stringify(locale)})`);
    await page.goto(url);
    await page.waitForSelector(name === 'units' ? '[data-test=unit-row]' : '[data-test=linkage-panel][data-loaded=true]', { timeout: 15_000 });
    if (name === 'linkage') await page.waitForSelector('[data-test=linkage-panel] path.sk-ring-2');
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    await page.waitForTimeout(1200);
    await page.screenshot({ path: join(OUT, `${name}.${locale}.png`), fullPage: true });
  }
  await page.evaluate(`localStorage.setItem('skynet.locale', 'zh-CN')`);
  await page.goto(url);
  if (name === 'linkage') {
    await page.waitForSelector('[data-test=linkage-panel][data-loaded=true]');
    await page.click('.el-tabs__item:has-text("三圈")');
    await page.waitForSelector('[data-test=ring-row]');
  }
}
