import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSite } from '../../config/demo-site.ts';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform } from '../helpers/platform.ts';

// The main pages of the console, as a new user first sees them, in both languages:
// full-page 1920×1080 screenshots into docs/screenshots/<page>.<locale>.png, on the demo
// town's sites and devices (a few of them live on the simulator, the rest offline as in
// any real network). Each page must show its own content (no placeholder, no empty main
// area) and no raw i18n key (`incidents.title` printed instead of its wording).
const OUT = join(dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const LIVE = 3;

let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let browser: Browser;
let base: string;
let incidentId: string | null = null;
/** The simulated (live) cameras first, then one offline camera: what the wall screenshot shows. */
const wallDevices: string[] = [];

/** Seed the demo town (bin/demo.ts does the same at `skynet up`) on simulator cameras with ephemeral ports. */
async function seedDemo(p: Platform): Promise<void> {
  const site = demoSite(LIVE);
  sim = await startSimulator({
    host: '127.0.0.1', timezone: p.config.site.timezone,
    cameras: site.devices.filter((d) => d.sim !== null).map((d, i) => ({ id: `shot-${process.pid}-${i}`, name: d.name, code: d.code, ptz: d.cameraType === 'ptz', width: 320, height: 180, fps: 8 })),
  });
  const repo = createDeviceRepository(p.pool);
  const devices = createDeviceService({ repo, boxKey: p.keys.box });
  const siteIds = new Map<string, string>();
  for (const s of site.sites) {
    const saved = await repo.upsertSite({ code: s.code, name: s.name, kind: s.kind, parentId: s.parent ? siteIds.get(s.parent) ?? null : null, lat: s.lat, lon: s.lon });
    siteIds.set(s.code, saved.id);
  }
  let offline = 0;
  for (const d of site.devices) {
    const cam = d.sim !== null ? sim.cameras[d.sim] : undefined;
    const ghost = `127.21.${Math.floor(offline / 250)}.${(offline++ % 250) + 1}`;
    const created = await devices.create({
      kind: d.kind, cameraType: d.cameraType, name: d.name, code: d.code, siteId: siteIds.get(d.site) ?? null,
      address: d.address, location: { lat: d.lat, lon: d.lon, heading: d.heading }, tags: d.tags,
      onvif: cam ? { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password }
        : { host: ghost, port: 80, username: 'admin', password: 'demo-offline' },
      streams: cam ? { main: cam.rtspUri('main'), sub: cam.rtspUri('sub'), snapshot: cam.snapshotUri() }
        : { main: `rtsp://${ghost}:554/Streaming/Channels/101` },
      ptz: d.cameraType === 'ptz', recording: { mode: 'none', retentionDays: 30 },
    });
    if (cam) wallDevices.unshift(created.id);
    else if (d.kind === 'camera' && wallDevices.length === LIVE) wallDevices.push(created.id);
  }
}

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  await seedDemo(platform);
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'shot-admin', password: 'shot-admin-pw', roles: ['admin'], displayName: '值班管理员' });
  await platform.identity.createUser({ username: 'zhang.wei', password: 'zhang-wei-pw', roles: ['monitor'], displayName: '张伟' });
  await platform.identity.createUser({ username: 'li.na', password: 'li-na-pw-1', roles: ['investigator'], displayName: '李娜' });
  await platform.identity.createUser({ username: 'wang.qiang', password: 'wang-qiang-pw', roles: ['supervisor'], displayName: '王强' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

/** A session cookie for the admin, for the API calls that prepare data. */
async function adminCookie(): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'shot-admin', password: 'shot-admin-pw' }) });
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

const INCIDENTS = [
  { priority: 2, source: 'call_110', title: '火车站广场电动车被盗', description: '报警人称停放在火车站广场东侧的电动车被盗，约 10 分钟前发生。',
    address: '清河县火车站广场', lat: 37.0612, lon: 115.6702, reporterName: '刘先生', reporterPhone: '13800001234' },
  { priority: 1, source: 'video_patrol', title: '万达商业街北口多人斗殴', description: '视频巡查发现万达商业街北口有 5–6 人互殴，已通知城关派出所。',
    address: '清河县万达商业街北口', lat: 37.0668, lon: 115.6731 },
  { priority: 3, source: 'call_110', title: '人民医院门口可疑人员徘徊', address: '清河县人民医院', lat: 37.0551, lon: 115.6634, reporterName: '保安 王师傅' },
];

/** Incidents near the town centre, so the list, map and detail page have something to show; the first one's id (null when the API is not there yet). */
async function createIncidents(cookie: string): Promise<string | null> {
  const headers = { cookie, 'content-type': 'application/json', origin: base };
  const catalogue = await fetch(`${base}/api/incidents/catalogue`, { headers });
  const types = catalogue.ok ? ((await catalogue.json()) as { types: { code: string }[] }).types.map((t) => t.code) : [];
  let first: string | null = null;
  for (const [i, body] of INCIDENTS.entries()) {
    const res = await fetch(`${base}/api/incidents`, { method: 'POST', headers, body: JSON.stringify({ type: types[i] ?? types[0] ?? 'theft', ...body }) });
    if (res.status === 201) first ??= ((await res.json()) as { incident: { id: string } }).incident.id;
  }
  return first;
}

/** The admin's default wall: the live cameras and one offline one (the wall shows its state, not black). */
async function saveWall(cookie: string): Promise<void> {
  await fetch(`${base}/api/wall/layouts/${encodeURIComponent('值班墙')}`, {
    method: 'PUT', headers: { cookie, 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ grid: 4, isDefault: true, tiles: wallDevices.slice(0, 4).map((deviceId, index) => ({ index, deviceId })) }),
  });
}

interface Shot { name: string; path: () => string | null }
const PAGES: Shot[] = [
  { name: 'devices', path: () => '/devices' },
  { name: 'wall', path: () => '/wall' },
  { name: 'map', path: () => '/map' },
  { name: 'incidents', path: () => '/incidents' },
  { name: 'incident', path: () => (incidentId ? `/incidents/${incidentId}` : null) },
  { name: 'search', path: () => '/search' },
  { name: 'alarms', path: () => '/alarms' },
  { name: 'audit', path: () => '/admin/audit' },
  { name: 'sites', path: () => '/admin/sites' },
  { name: 'users', path: () => '/users' },
];

/** Message-key namespaces of the web app: one of these followed by `.word` on screen is an untranslated key. */
const KEY_PATTERN = /\b(?:incidents?|videoSearch|wall|map|alarms?|admin|users|nav|common|devices?|header|login|footage|live|exports?|snapshots?|jobs|retention|roles|apiErrors|cameras|bookmarks?|tours?|search)\.[a-zA-Z][\w.]*[a-zA-Z]\b/g;

/**
 * What a page shows that it should not: a placeholder, an empty main area, raw message keys,
 * a page wider than the screen. Runs in the page (written as a string: this project's
 * server-side tsconfig has no DOM types).
 */
const PROBLEMS_SCRIPT = `(() => {
  const found = [];
  const main = document.querySelector('main') || document.body;
  if (document.querySelector('[data-test^="placeholder-"]')) found.push('placeholder page');
  const text = main.innerText || '';
  const visual = main.querySelectorAll('canvas, video, img, svg, .leaflet-container, table, .el-tree, [data-test=wall-grid]').length;
  if (text.trim().length < 20 && visual === 0) found.push('empty main area');
  // codes a page shows on purpose (an audit row's action) carry data-raw and are not keys
  let shown = document.body.innerText;
  for (const el of document.querySelectorAll('[data-raw]')) if (el.innerText) shown = shown.split(el.innerText.trim()).join(' ');
  const keys = [...new Set(shown.match(new RegExp(${JSON.stringify(KEY_PATTERN.source)}, 'g')) || [])]
    .filter((k) => !/\\.(png|jpg|ts|vue|md|csv)$/.test(k));
  if (keys.length) found.push('raw i18n keys: ' + keys.slice(0, 8).join(', '));
  if (document.documentElement.scrollWidth > window.innerWidth + 2) found.push('horizontal overflow (' + document.documentElement.scrollWidth + 'px)');
  return found;
})()`;

/** The console's header nav: every item visible at 1920 px, none scrolled out of sight. */
const NAV_SCRIPT = `(() => {
  const nav = document.querySelector('[data-test=main-nav]');
  if (!nav || nav.scrollWidth <= nav.clientWidth + 2) return [];
  const right = nav.getBoundingClientRect().right;
  const hidden = [...nav.querySelectorAll('a')].filter((a) => a.getBoundingClientRect().right > right + 1).map((a) => a.innerText.trim() || a.dataset.test);
  return ['main nav cut off (' + nav.scrollWidth + 'px of items in ' + nav.clientWidth + 'px), hidden: ' + hidden.join(', ')];
})()`;

async function problemsOf(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(PROBLEMS_SCRIPT);
}

describe('screenshots of the main pages', () => {
  it.each(['zh-CN', 'en'] as const)('captures every main page in %s', async (locale) => {
    mkdirSync(OUT, { recursive: true });
    if (!incidentId) {
      const cookie = await adminCookie();
      incidentId = await createIncidents(cookie);
      await saveWall(cookie);
    }
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale, timezoneId: 'Asia/Shanghai' });
    await context.addInitScript(`localStorage.setItem('skynet.locale', ${JSON.stringify(locale)})`);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${base}/login`);
    await page.fill('[data-test=login-username]', 'shot-admin');
    await page.fill('[data-test=login-password]', 'shot-admin-pw');
    await page.click('[data-test=login-submit]');
    await page.waitForURL(/\/devices/);
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe(locale);

    const report: Record<string, string[]> = { layout: await page.evaluate<string[]>(NAV_SCRIPT) };
    for (const shot of PAGES) {
      const path = shot.path();
      if (!path) { report[shot.name] = ['skipped: could not create an incident (POST /api/incidents)']; continue; }
      await page.goto(`${base}${path}`);
      await page.waitForSelector('[data-test=main-nav]', { timeout: 15_000 });
      await page.waitForLoadState('networkidle', { timeout: 8_000 }).catch(() => {});
      if (shot.name === 'wall') await page.waitForSelector('[data-test=wall-tile][data-state=live]', { timeout: 20_000 }).catch(() => {});
      await page.waitForTimeout(1500); // lists, tiles and map tiles settle
      await page.screenshot({ path: join(OUT, `${shot.name}.${locale}.png`), fullPage: true });
      report[shot.name] = await problemsOf(page);
    }
    await context.close();
    console.log(`screenshots ${locale}:`, JSON.stringify(report, null, 1), errors.length ? `page errors: ${errors.join(' | ')}` : '');
    for (const [name, problems] of Object.entries(report)) expect.soft(problems, `${name}.${locale}`).toEqual([]);
  });
});
