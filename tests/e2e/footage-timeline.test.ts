import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { testPlatform } from '../helpers/platform.ts';

// The footage timeline as an investigator uses it: zoom from the day to an hour and to ten
// minutes, and a click where nothing was recorded says so and offers the nearest footage
// instead of silently playing something else. The index rows stand for recorded segments
// (the timeline reads only the index); no gateway runs, so nothing here plays.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let browser: Browser;
let base: string;
let deviceId: string;

const ZONE = 'Asia/Shanghai';
const yesterday = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(new Date(Date.now() - 86_400_000));
const local = (hhmm: string) => Date.parse(`${yesterday}T${hhmm}:00+08:00`);
const shots = process.env.SKYNET_SCREENSHOT_DIR ?? join('/tmp', `skynet-e2e-${process.pid}`);

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'site.timezone': ZONE }));
  await ensureWebBuilt({ info: () => {} });
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'e2e-investigator', password: 'e2e-investigator-pw', roles: ['investigator'] });
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const device = await devices.create({ name: '东门路口录像机位', code: 'E2E-FOOTAGE', recording: { mode: 'continuous', retentionDays: 30 } });
  deviceId = device.id;
  // Footage 10:00–10:20 and 10:40–11:00 yesterday (site time), in 10-minute segments.
  for (const [from, to] of [['10:00', '10:10'], ['10:10', '10:20'], ['10:40', '10:50'], ['10:50', '11:00']] as const) {
    await platform.pool.query(
      'INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes) VALUES ($1, $2, $3, $4, 1000)',
      [deviceId, new Date(local(from)), new Date(local(to)), `rec/${deviceId}/${yesterday}/${from.replace(':', '')}.ts`],
    );
  }
  mkdirSync(shots, { recursive: true });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await close?.();
});

async function openFootageTab(page: Page) {
  await page.goto(`${base}/login`);
  await page.fill('[data-test=login-username]', 'e2e-investigator');
  await page.fill('[data-test=login-password]', 'e2e-investigator-pw');
  await page.click('[data-test=login-submit]');
  await page.waitForURL((url) => url.pathname === '/devices');
  await page.goto(`${base}/devices/${deviceId}`);
  await page.click('[data-test=tab-footage]', { timeout: 15_000 }).catch(async (err) => {
    await page.screenshot({ path: join(shots, 'footage-timeline-failed.png') });
    throw err;
  });
  await page.click('[data-test=footage-prev-day]');
  await page.waitForSelector('[data-test=timeline-range][data-kind=footage]', { timeout: 15_000 });
}

async function view(page: Page): Promise<{ from: number; to: number; box: { x: number; y: number; width: number; height: number } }> {
  const bar = (await page.$('[data-test=timeline-bar]'))!;
  return { from: Date.parse((await bar.getAttribute('data-from'))!), to: Date.parse((await bar.getAttribute('data-to'))!), box: (await bar.boundingBox())! };
}

async function clickAt(page: Page, at: number) {
  const v = await view(page);
  await page.mouse.click(v.box.x + ((at - v.from) / (v.to - v.from)) * v.box.width, v.box.y + v.box.height / 2);
}

describe('footage timeline in headless Chromium (zh-CN)', () => {
  it('says 此处无录像 with the nearest footage on a click in a gap, zooms to 1 h and 10 min, and plays from the offered time', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', timezoneId: 'Europe/Berlin' });
    const footageRequests: Request[] = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith(`/api/devices/${deviceId}/footage`)) footageRequests.push(r); });
    await openFootageTab(page);

    // The whole day, labelled in the site's zone whatever the browser's zone is.
    const day = await view(page);
    expect(day.to - day.from).toBe(86_400_000);
    expect(day.from).toBe(Date.parse(`${yesterday}T00:00:00+08:00`));
    const dayLabels = await page.$$eval('[data-test=timeline-tick]', (els) => els.map((e) => e.textContent?.trim()));
    expect(dayLabels[0]).toBe('00:00');
    expect(dayLabels).toContain('12:00');

    // A click in the gap: nothing is opened, the notice names both sides.
    await clickAt(page, local('10:30'));
    const gap = await page.waitForSelector('[data-test=timeline-gap]');
    const text = (await gap.textContent())!;
    expect(text).toContain('此处无录像');
    expect(text).toContain('10:30:00');
    expect(text).toMatch(/前一段录像结束于 10:20:00/);
    expect(text).toMatch(/后一段录像开始于 10:40:00/);
    expect(await page.textContent('[data-test=timeline-play-before]')).toContain('10:19:30');
    expect(footageRequests).toHaveLength(0);

    // 1 h around the clicked time, labels every few minutes.
    await page.click('[data-test=timeline-zoom-h1]');
    await expect.poll(async () => { const v = await view(page); return v.to - v.from; }).toBe(3_600_000);
    const hour = await view(page);
    expect(hour.from).toBeLessThanOrEqual(local('10:30'));
    expect(hour.to).toBeGreaterThanOrEqual(local('10:30'));
    const hourLabels = await page.$$eval('[data-test=timeline-tick]', (els) => els.map((e) => e.textContent?.trim() ?? ''));
    expect(hourLabels.length).toBeGreaterThanOrEqual(6);
    for (const l of hourLabels) expect(l).toMatch(/^10:[0-5][05]$|^11:0[05]$|^09:[45][05]$/);
    expect(await page.textContent('[data-test=timeline-view]')).toMatch(/显示 \d\d:\d\d – \d\d:\d\d/);
    await page.screenshot({ path: join(shots, 'footage-timeline-1h.png') });

    // The wheel zooms in again around the pointer: 10 minutes.
    const v1 = await view(page);
    await page.mouse.move(v1.box.x + ((local('10:40') - v1.from) / (v1.to - v1.from)) * v1.box.width, v1.box.y + v1.box.height / 2);
    await page.mouse.wheel(0, -120);
    await expect.poll(async () => { const v = await view(page); return v.to - v.from; }).toBe(600_000);
    const ten = await view(page);
    expect(ten.from).toBeLessThanOrEqual(local('10:40'));
    expect(ten.to).toBeGreaterThanOrEqual(local('10:40'));

    // "Play from 10:40:00" asks for footage from exactly there.
    await page.click('[data-test=timeline-play-after]');
    await expect.poll(() => footageRequests.length).toBe(1);
    expect(Date.parse(JSON.parse(footageRequests[0]!.postData()!).from)).toBe(local('10:40'));
    expect(await page.$('[data-test=timeline-gap]')).toBeNull();

    // A click on footage opens it at once, from the clicked second.
    await page.click('[data-test=timeline-zoom-day]');
    await clickAt(page, local('10:05'));
    await expect.poll(() => footageRequests.length).toBe(2);
    expect(Math.abs(Date.parse(JSON.parse(footageRequests[1]!.postData()!).from) - local('10:05'))).toBeLessThan(120_000);
    await page.close();
  });
});
