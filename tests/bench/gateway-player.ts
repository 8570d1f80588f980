import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../helpers/browser.ts';
import { percentile } from './helpers.ts';

/**
 * The gateway benchmark's HLS player: hls.js (node_modules) in headless Chromium with the console's
 * live configuration (liveHlsConfig), on a page of another origin, sampling wall clock − playingDate.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
export const PLAYER_SAMPLE_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => percentile(v, 50);
const round = (v: number, d = 1) => Number(v.toFixed(d));

const PLAYER_PAGE = `<!doctype html><html><body><video id="v" muted playsinline style="width:640px"></video>
<script src="/hls.min.js"></script>
<script>
window.bench = { samples: [], startedAt: 0, playingAt: 0, errors: [] };
window.startPlayer = (url, cfgJson) => {
  const cfg = JSON.parse(cfgJson, (k, v) => (v && typeof v === 'object' && typeof v.__fn === 'string') ? (0, eval)('(' + v.__fn + ')') : v);
  const video = document.getElementById('v');
  const hls = new Hls(cfg);
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_e, d) => bench.errors.push(d.type + ':' + d.details + (d.fatal ? ':fatal' : '')));
  video.addEventListener('playing', () => {
    if (bench.playingAt) return;
    bench.playingAt = Date.now();
    const t = setInterval(() => {
      const d = hls.playingDate;
      if (d) bench.samples.push(Date.now() - d.getTime());
      if (Date.now() - bench.playingAt >= ${PLAYER_SAMPLE_MS}) clearInterval(t);
    }, 500);
  });
  const retry = hls.config.manifestLoadPolicy.default.errorRetry;
  if (typeof retry.shouldRetry !== 'function') bench.errors.push('config: shouldRetry was not revived');
  bench.startedAt = Date.now();
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch((e) => bench.errors.push('play: ' + e.message));
};
</script></body></html>`;

/** Wall clock minus hls.js's playingDate, in headless Chromium, with the console's live configuration. */
export async function playerLatency(url: string) {
  const model = (await import(join(ROOT, 'console/web/src/components/live-player-model.ts'))) as { liveHlsConfig: (x: undefined) => Record<string, unknown> };
  const cfgJson = JSON.stringify(model.liveHlsConfig(undefined), (_k, v: unknown) => (typeof v === 'function' ? { __fn: v.toString() } : v));
  const hlsJs = readFileSync(join(ROOT, 'node_modules/hls.js/dist/hls.min.js'));
  const server: Server = createServer((req, res) => {
    if (req.url === '/hls.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PLAYER_PAGE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // Run in the page: its globals are declared here, the Node tsconfig has no DOM types.
    type PageGlobals = {
      startPlayer: (u: string, c: string) => void;
      bench: { samples: number[]; startedAt: number; playingAt: number; errors: string[] };
      document: { querySelector(s: string): { currentTime: number } | null };
    };
    await page.evaluate(([u, c]) => (globalThis as unknown as PageGlobals).startPlayer(u!, c!), [url, cfgJson]);
    const state = () => page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { ...g.bench, currentTime: g.document.querySelector('video')?.currentTime ?? 0 };
    });
    const deadline = Date.now() + 20_000;
    while (!(await state()).playingAt) {
      if (Date.now() > deadline) throw new Error(`hls.js did not start playing within 20 s: ${(await state()).errors.join(', ')}`);
      await sleep(200);
    }
    await sleep(PLAYER_SAMPLE_MS + 700);
    const s = await state();
    return { samples: s.samples, startupMs: s.playingAt - s.startedAt, errors: s.errors, currentTime: s.currentTime };
  } finally {
    await browser.close();
    server.close();
  }
}

export type PlayerResult = Awaited<ReturnType<typeof playerLatency>>;

/** The player's median latency (NaN without samples). */
export const playerMedian = (p: PlayerResult) => (p.samples.length ? median(p.samples) : NaN);

/** The notes' line on a player run. */
export function playerNote(p: PlayerResult): string {
  const lat = p.samples;
  return `player: hls.js (node_modules) in headless Chromium with the console's liveHlsConfig, page on another origin; started playing ${p.startupMs} ms after loadSource; ${lat.length} samples of Date.now() − playingDate every 500 ms: median ${Math.round(median(lat))} ms, p95 ${Math.round(percentile(lat, 95))} ms, min ${Math.round(Math.min(...lat))} ms, max ${Math.round(Math.max(...lat))} ms; currentTime ${round(p.currentTime)} s; hls.js errors: ${p.errors.join(', ') || 'none'}`;
}
