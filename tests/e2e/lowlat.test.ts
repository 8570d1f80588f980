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

// The low-latency path in the console: the device page plays over the gateway's WebSocket (fMP4
// into MSE) and says so with its latency; a camera whose main stream is H.265 plays its H.264 sub
// stream where the browser (headless Chromium) cannot decode H.265, and says why; the small tiles
// of a 16-tile wall ask for the sub stream over HLS, the focused tile the main one on the WebSocket.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let sim: Simulator;
let browser: Browser;
let base: string;
let h264Id: string;
let h265Id: string;
let deadId: string;
/** The H.265 camera registered without its sub stream: only the gateway's transcode plays in a browser without HEVC. */
let h265OnlyId: string;

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  await ensureWebBuilt({ info: () => {} });
  // Small pictures (320×180, 10 fps) so two cores cope with the simulator, the gateway and Chromium.
  sim = await startSimulator({
    cameras: [
      { id: `e2e-lowlat-${process.pid}-264`, name: '低延时-H264', width: 320, height: 180, fps: 10 },
      { id: `e2e-lowlat-${process.pid}-265`, name: '低延时-H265', width: 320, height: 180, fps: 10, codec: 'h265' },
    ],
    host: '127.0.0.1',
  });
  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'e2e-lowlat', password: 'e2e-lowlat-pw', roles: ['monitor'] });
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const ids: string[] = [];
  for (const cam of sim.cameras) {
    const d = await devices.create({
      name: cam.spec.name, cameraType: 'fixed',
      onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
      streams: { main: cam.rtspUri('main'), sub: cam.rtspUri('sub') },
    });
    ids.push(d.id);
  }
  [h264Id, h265Id] = ids as [string, string];
  const h265 = sim.cameras[1]!;
  h265OnlyId = (await devices.create({
    name: '低延时-H265-无子码流', cameraType: 'fixed', confirmDuplicate: true,
    onvif: { host: '127.0.0.1', port: h265.onvifPort, username: h265.spec.username, password: h265.spec.password },
    streams: { main: h265.rtspUri('main') },
  })).id;
  ids.push(h265OnlyId);
  // A camera nobody answers for.
  deadId = (await devices.create({ name: '低延时-断线', cameraType: 'fixed', streams: { main: 'rtsp://127.0.0.1:9/none' }, confirmDuplicate: true })).id;
  await waitUntil(() => [...ids, deadId].every((id) => gateway.membership.held().includes(id)), 15_000, 'the gateway to hold the cameras');
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
  await page.fill('[data-test=login-username]', 'e2e-lowlat');
  await page.fill('[data-test=login-password]', 'e2e-lowlat-pw');
  await page.click('[data-test=login-submit]');
  await page.waitForURL(/\/devices/);
}

/** Every live start the page asks for: which camera and which stream. */
function watchStarts(page: Page): { deviceId: string; stream: string }[] {
  const starts: { deviceId: string; stream: string }[] = [];
  page.on('request', (r) => {
    const m = /\/api\/devices\/([^/]+)\/live$/.exec(new URL(r.url()).pathname);
    if (m && r.method() === 'POST') starts.push({ deviceId: m[1]!, stream: (JSON.parse(r.postData() ?? '{}') as { stream?: string }).stream ?? 'main' });
  });
  return starts;
}

/** What the page saw go wrong, printed when a step fails. */
function watchTrouble(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') seen.push(`console ${m.type()} ${m.text()}`); });
  page.on('websocket', (ws) => {
    seen.push(`ws open ${ws.url().replace(/token=[^&]+/, 'token=…')}`);
    ws.on('close', () => seen.push(`ws closed ${ws.url().replace(/token=[^&]+/, 'token=…')}`));
  });
  page.on('response', (r) => { if (r.url().includes('/media/live/') && r.status() >= 400) seen.push(`${r.status()} ${r.url().replace(/\/[A-Za-z0-9_.-]{40,}\//, '/…/')}`); });
  return seen;
}

async function explainOnFailure<T>(page: Page, seen: string[], name: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    await page.screenshot({ path: `/tmp/e2e-lowlat-${name}.png` }).catch(() => {});
    console.log(`e2e lowlat ${name}:\n${seen.join('\n')}`);
    throw err;
  }
}

const currentTime = (page: Page, selector: string) => page.$eval(selector, (v) => (v as unknown as { currentTime: number }).currentTime);

/** How far the picture moved in `ms`. */
async function advance(page: Page, selector: string, ms: number): Promise<number> {
  const t0 = await currentTime(page, selector);
  await page.waitForTimeout(ms);
  return (await currentTime(page, selector)) - t0;
}

describe('the low-latency path', () => {
  it('plays the device page over the WebSocket: the overlay says 低延时 and a latency under 1.5 s', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const seen = watchTrouble(page);
    const sockets: string[] = [];
    const playlists: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    page.on('request', (r) => { if (r.url().endsWith('index.m3u8')) playlists.push(r.url()); });
    await login(page);
    await page.goto(`${base}/devices/${h264Id}`);
    await explainOnFailure(page, seen, 'device-page', async () => {
      await page.waitForSelector('[data-test=player-state][data-state=live]', { timeout: 30_000 });
      const info = await page.waitForSelector('[data-test=player-stream][data-transport=lowlat]', { timeout: 10_000 });
      expect(await info.textContent()).toContain('低延时');
      expect(await info.getAttribute('data-stream')).toBe('main');
      expect(await info.getAttribute('data-codec')).toBe('H.264');
      expect(sockets.some((u) => u.includes(`/media/live/${h264Id}/ws?`) && u.includes('stream=main'))).toBe(true);
      await expect.poll(() => advance(page, '[data-test=live-video]', 2000), { timeout: 15_000, interval: 250 }).toBeGreaterThan(1.5);
      // Caught up to the live edge by playing slightly fast: the figure settles under 1.5 s.
      const latency = () => page.$eval('[data-test=player-latency]', (e) => Number(e.getAttribute('data-ms'))).catch(() => Number.NaN);
      await expect.poll(latency, { timeout: 20_000, interval: 500 }).toBeLessThan(1500);
      expect(await page.textContent('[data-test=player-latency]')).toMatch(/延迟 \d+ ms/);
      console.log(`e2e lowlat: device page latency ${await latency()} ms`);
      // Nothing went to HLS: the WebSocket carried it all.
      expect(playlists).toEqual([]);
    });
    await page.close();
  });

  it('falls back to HLS when the WebSocket delivers nothing, and says so', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const seen = watchTrouble(page);
    let refused = 0;
    // A proxy on the way that accepts the upgrade and drops it at once.
    await page.routeWebSocket(/\/media\/live\/[^/]+\/ws/, (ws) => {
      refused++;
      ws.close({ code: 1011, reason: 'e2e: dropped by a proxy' });
    });
    const playlists: string[] = [];
    page.on('request', (r) => { if (r.url().endsWith('index.m3u8')) playlists.push(r.url()); });
    await login(page);
    await page.goto(`${base}/devices/${h264Id}`);
    await explainOnFailure(page, seen, 'fallback', async () => {
      const info = await page.waitForSelector('[data-test=player-stream][data-transport=hls]', { timeout: 30_000 });
      expect(await info.textContent()).toContain('HLS');
      await page.waitForSelector('[data-test=player-state][data-state=live]', { timeout: 30_000 });
      expect(refused).toBe(2);
      expect(playlists.length).toBeGreaterThan(0);
      await expect.poll(() => advance(page, '[data-test=live-video]', 1500), { timeout: 15_000, interval: 250 }).toBeGreaterThan(1);
    });
    await page.close();
  });

  it('plays the H.264 sub stream of an H.265 camera where the browser cannot decode H.265, and says so', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const seen = watchTrouble(page);
    await login(page);
    type Mse = { MediaSource: { isTypeSupported(mime: string): boolean } };
    const hevc = await page.evaluate(() => (globalThis as unknown as Mse).MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L120.90"'));
    expect(hevc, 'headless Chromium decodes H.265 here: this test needs a browser that does not').toBe(false);
    await page.goto(`${base}/devices/${h265Id}`);
    await explainOnFailure(page, seen, 'h265', async () => {
      await page.waitForSelector('[data-test=player-state][data-state=live]', { timeout: 40_000 });
      const info = await page.waitForSelector('[data-test=player-stream][data-stream=sub]', { timeout: 15_000 });
      expect(await info.getAttribute('data-transport')).toBe('lowlat');
      expect(await info.getAttribute('data-codec')).toBe('H.264');
      expect(await info.getAttribute('data-why')).toBe('undecodable');
      expect(await info.textContent()).toContain('子码流');
      expect(await page.textContent('[data-test=player-stream-why]')).toBe('本浏览器无法解码主码流，改播子码流');
      await expect.poll(() => advance(page, '[data-test=live-video]', 1500), { timeout: 15_000, interval: 250 }).toBeGreaterThan(1);
    });
    await page.close();
  });

  it('plays the gateway\'s H.264 transcode of an H.265 camera with no sub stream, and says so', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const seen = watchTrouble(page);
    const starts = watchStarts(page);
    await login(page);
    await page.goto(`${base}/devices/${h265OnlyId}`);
    await explainOnFailure(page, seen, 'compat', async () => {
      await page.waitForSelector('[data-test=player-state][data-state=live]', { timeout: 40_000 });
      const info = await page.waitForSelector('[data-test=player-stream][data-stream=compat]', { timeout: 20_000 });
      expect(await info.getAttribute('data-codec')).toBe('H.264');
      expect(await info.getAttribute('data-why')).toBe('transcode');
      expect(await info.textContent()).toContain('兼容码流');
      expect(await info.textContent()).toContain('转码');
      expect(await page.textContent('[data-test=player-stream-why]')).toBe('本浏览器无法解码主码流，由网关转码');
      expect(starts.filter((s) => s.deviceId === h265OnlyId).map((s) => s.stream)).toContain('compat');
      await expect.poll(() => advance(page, '[data-test=live-video]', 1500), { timeout: 15_000, interval: 250 }).toBeGreaterThan(1);
    });
    await page.close();
  });

  it('re-initialises after the session\'s ffmpeg restarts: a new init on the same socket, the picture moves again', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const seen = watchTrouble(page);
    const inits: number[] = [];
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/media/live/')) return;
      ws.on('framereceived', (f) => { if (typeof f.payload === 'string' && f.payload.includes('"type":"init"')) inits.push(Date.now()); });
    });
    await login(page);
    await page.goto(`${base}/player/${h264Id}`);
    await explainOnFailure(page, seen, 'restart', async () => {
      await page.waitForSelector('[data-test=player-stream][data-transport=lowlat]', { timeout: 30_000 });
      await expect.poll(() => inits.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const before = inits.length;
      const pid = gateway.sessions.debug(h264Id)!.pid!;
      process.kill(pid, 'SIGKILL');
      await expect.poll(() => gateway.sessions.debug(h264Id)?.pid ?? pid, { timeout: 20_000 }).not.toBe(pid);
      await expect.poll(() => inits.length, { timeout: 20_000 }).toBeGreaterThan(before);
      await expect.poll(() => advance(page, '[data-test=live-video]', 1500), { timeout: 20_000, interval: 250 }).toBeGreaterThan(1);
      expect(await page.getAttribute('[data-test=player-stream]', 'data-transport')).toBe('lowlat');
    });
    await page.close();
  });

  it('follows an offline camera\'s session without fetching media: 离线 steadily, no playlist polling', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const seen = watchTrouble(page);
    const media: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/media/live/')) media.push(new URL(r.url()).pathname); });
    let sockets = 0;
    page.on('websocket', (ws) => { if (ws.url().includes('/media/live/')) sockets++; });
    await login(page);
    await page.goto(`${base}/devices/${deadId}`);
    await explainOnFailure(page, seen, 'offline', async () => {
      const states: string[] = [];
      for (let i = 0; i < 50; i++) {
        states.push((await page.getAttribute('[data-test=player-state]', 'data-state').catch(() => null)) ?? '-');
        await page.waitForTimeout(500);
      }
      console.log(`e2e lowlat offline: states ${states.join(' ')}; media requests ${media.length}, sockets ${sockets}`);
      // Once the session said it is down, the tile stays down (reconnecting, then failed): never back to 正在连接.
      const down = states.findIndex((s) => s === 'reconnecting' || s === 'failed');
      expect(down).toBeGreaterThanOrEqual(0);
      expect(states.slice(down).filter((s) => s !== 'reconnecting' && s !== 'failed')).toEqual([]);
      expect(states.slice(states.indexOf('failed') >= 0 ? states.indexOf('failed') : states.length)).not.toContain('reconnecting');
      expect(media.filter((p) => p.endsWith('.m3u8'))).toEqual([]);
      expect(sockets).toBeLessThanOrEqual(1);
    });
    await page.close();
  });

  it('asks for the sub stream on the small tiles of a 16-tile wall, the main stream on the focused one', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const seen = watchTrouble(page);
    const starts = watchStarts(page);
    const playlists: string[] = [];
    page.on('request', (r) => { if (r.url().endsWith('index.m3u8')) playlists.push(new URL(r.url()).pathname); });
    await login(page);
    await page.goto(`${base}/wall?cameras=${h264Id},${h265Id}`);
    await page.click('[data-test=wall-layout-16]');
    await expect.poll(() => page.$$eval('[data-test=wall-tile]', (els) => els.length)).toBe(16);
    const tile = (id: string) => `[data-test=wall-tile][data-device-id="${id}"]`;
    await explainOnFailure(page, seen, 'wall', async () => {
      for (const id of [h264Id, h265Id]) {
        await page.waitForSelector(`${tile(id)}[data-state=live][data-playing-stream=sub][data-transport=hls]`, { timeout: 40_000 });
        expect(starts.filter((s) => s.deviceId === id).at(-1)?.stream).toBe('sub');
        expect(playlists.some((p) => p.startsWith(`/media/live/${id}/`) && p.endsWith('/sub/index.m3u8'))).toBe(true);
      }
      // The focused tile: the main stream on the WebSocket.
      await page.click(tile(h264Id));
      await page.waitForSelector(`${tile(h264Id)}[data-state=live][data-playing-stream=main][data-transport=lowlat]`, { timeout: 30_000 });
      expect(starts.filter((s) => s.deviceId === h264Id).at(-1)?.stream).toBe('main');
      expect(await page.textContent(`${tile(h264Id)} [data-test=tile-stream]`)).toContain('低延时');
    });
    await page.close();
  });
});
