import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { buildConsole } from '../../console/server/main.ts';
import { ensureWebBuilt } from '../../console/server/web.ts';
import type { App } from '../../core/http/app.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { benchPlatform } from './helpers.ts';

/**
 * wall_16_first_frame_ms: a monitor opens /wall?cameras=<16 ids> in headless Chromium (a
 * listening console and gateway, 16 simulated cameras at 320×180 10 fps so the machine's two
 * cores cope with 16 simulated encoders, 16 gateway sessions and 16 hls.js players), timed from
 * navigation start to the moment every tile's video has a decoded frame (currentTime > 0).
 * Three runs, each in a fresh browser context (login included, not timed): the first finds no
 * session running (cold: every camera's session starts then), the next two join running sessions
 * (warm, as a wall opened while the cameras are watched). The metric is the median of the three.
 */
const CAMERAS = 16;
const RUNS = 3;
const TIMEOUT_MS = 60_000;
/** The page's view of its tiles (this file is typed for Node, not the DOM). */
type PageVideo = { currentTime: number; closest(selector: string): { getAttribute(name: string): string | null } | null };
type PageGlobal = { __firstFrames?: Map<string, number>; __tilesAt?: number; document: { querySelectorAll(selector: string): Iterable<PageVideo> }; performance: { now(): number } };

/** Runs in the page: notes each tile's first decoded frame; once all n have one, the latest of those times. */
function firstFrames(n: number): number | false {
  const g = globalThis as unknown as PageGlobal;
  g.__firstFrames ??= new Map();
  const videos = [...g.document.querySelectorAll('[data-test=wall-tile] [data-test=wall-video]')];
  if (g.__tilesAt === undefined && videos.length >= n) g.__tilesAt = g.performance.now();
  for (const v of videos) {
    const id = v.closest('[data-test=wall-tile]')?.getAttribute('data-device-id') ?? '';
    if (id && v.currentTime > 0 && !g.__firstFrames.has(id)) g.__firstFrames.set(id, g.performance.now());
  }
  return g.__firstFrames.size >= n ? Math.max(...g.__firstFrames.values()) : false;
}

export async function benchWall(): Promise<{ metrics: { wall_16_first_frame_ms: number }; notes: string[] }> {
  const { platform, close } = await benchPlatform({ 'health.intervalSeconds': 86_400, 'gateway.idleStopSeconds': 86_400 });
  let sim: Simulator | null = null;
  let gateway: Gateway | null = null;
  let consoleApp: App | null = null;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | null = null;
  try {
    await ensureWebBuilt({ info: () => {} });
    sim = await startSimulator({
      cameras: Array.from({ length: CAMERAS }, (_, i) => ({ id: `bench-wall-${i}`, name: `墙基准-${i}`, width: 320, height: 180, fps: 10 })),
      host: '127.0.0.1',
    });
    gateway = await startGateway(platform, { listen: true });
    consoleApp = await buildConsole(platform);
    await consoleApp.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(consoleApp.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench-wall', password: 'bench-wall-password', roles: ['monitor'] });
    await platform.identity.createUser({ username: 'bench-wall-admin', password: 'bench-wall-password', roles: ['admin'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench-wall-admin', password: 'bench-wall-password' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const ids: string[] = [];
    for (const cam of sim.cameras) {
      const res = await fetch(`${base}/api/devices`, {
        method: 'POST', headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: cam.spec.name, onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
          streams: { main: cam.rtspUri('main'), sub: cam.rtspUri('sub') }, confirmDuplicate: true,
        }),
      });
      if (res.status !== 201) throw new Error(`register ${cam.spec.id}: ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const deadline = Date.now() + 60_000;
    while (!ids.every((id) => gateway!.membership.held().includes(id))) {
      if (Date.now() > deadline) throw new Error('the gateway did not lease the benchmark cameras within 60 s');
      await new Promise((r) => setTimeout(r, 250));
    }

    browser = await launchBrowser();
    const runs: number[] = [];
    const spreads: string[] = [];
    /** Which stream each tile's player asked the live API for (small tiles: sub), over all runs. */
    const asked = { main: 0, sub: 0 };
    const load = loadavg()[0]!.toFixed(1);
    for (let run = 0; run < RUNS; run++) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      const page = await context.newPage();
      page.on('request', (r) => {
        if (r.method() !== 'POST' || !/\/api\/devices\/[^/]+\/live$/.test(r.url())) return;
        const body = (r.postDataJSON() ?? {}) as { stream?: string };
        if (body.stream === 'sub') asked.sub++;
        else asked.main++;
      });
      await page.goto(`${base}/login`);
      await page.fill('[data-test=login-username]', 'bench-wall');
      await page.fill('[data-test=login-password]', 'bench-wall-password');
      await page.click('[data-test=login-submit]');
      await page.waitForURL(/\/devices/);
      await page.goto(`${base}/wall?cameras=${ids.join(',')}`);
      // performance.now() counts from this document's navigation start.
      const handle = await page.waitForFunction(firstFrames, CAMERAS, { timeout: TIMEOUT_MS, polling: 20 }).catch(async (err: Error) => {
        const states = await page.$$eval('[data-test=wall-tile]', (els) => els.map((e) => e.getAttribute('data-state')));
        throw new Error(`run ${run + 1}: not every tile had a frame within ${TIMEOUT_MS} ms (tile states: ${states.join(' ')}): ${err.message}`);
      });
      const ms = Number(await handle.jsonValue());
      if (!Number.isFinite(ms) || ms <= 0) throw new Error(`run ${run + 1}: no first-frame time came back (${ms})`);
      runs.push(Math.round(ms));
      const each = (await page.evaluate(() => [...((globalThis as unknown as PageGlobal).__firstFrames ?? new Map()).values()])).sort((a, b) => a - b);
      const tilesAt = await page.evaluate(() => (globalThis as unknown as PageGlobal).__tilesAt ?? NaN);
      spreads.push(`run ${run + 1}: 16 tiles on the page at ${Math.round(tilesAt)} ms, first tile ${Math.round(each[0]!)} ms, eighth ${Math.round(each[7]!)} ms, last ${Math.round(each[each.length - 1]!)} ms`);
      await context.close();
    }
    const sorted = [...runs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return {
      metrics: { wall_16_first_frame_ms: median },
      notes: [
        `runs (navigation start → all ${CAMERAS} tiles with a decoded frame): ${runs.map((ms, i) => `${i === 0 ? 'cold' : 'warm'} ${ms} ms`).join(', ')}; median ${median} ms`,
        `per tile: ${spreads.join('; ')}`,
        `1-minute load average when the runs began: ${load} on ${availableParallelism()} cores (other work on the machine slows Chromium's players)`,
        `${CAMERAS} simulated cameras at 320×180 10 fps (small so two cores carry the simulator's encoders, the gateway sessions and Chromium's 16 players); 1600×1000 window, 16-tile grid`,
        `cameras registered with a main and a sub stream; live starts asked for over the runs: ${asked.sub} sub, ${asked.main} main (small tiles play the sub stream over HLS)`,
      ],
    };
  } finally {
    await browser?.close();
    await consoleApp?.close();
    await gateway?.close();
    await sim?.close();
    await close();
  }
}
