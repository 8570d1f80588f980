import type { AddressInfo } from 'node:net';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { liveFfmpegPids } from '../../gateway/streams/ffmpeg.ts';
import { startSimChild, type SimCam, type SimChild } from './gateway-load.ts';
import { SOURCE, type EncodedSource } from './gateway-source.ts';
import { benchPlatform } from './helpers.ts';

/**
 * The gateway benchmark's stack, in this process: a platform on a database of its own, the gateway
 * (listening) and the console API, an admin logged in over HTTP; and what the steps do with it
 * through the console as a user would (register cameras, start viewing).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Ctx { platform: Platform; gateway: Gateway; consoleApp: App; base: string; cookie: string; ids: string[] }

export interface Stack { ctx: Ctx; close: () => Promise<void> }

/** Start the stack; `close` stops the console, the gateway, then drops the platform's database. */
export async function startStack(overrides: Record<string, unknown>): Promise<Stack> {
  const { platform, close } = await benchPlatform(overrides);
  let gateway: Gateway | null = null;
  let consoleApp: App | null = null;
  const closeAll = async () => {
    await consoleApp?.close().catch(() => {});
    await gateway?.close().catch(() => {});
    await close().catch(() => {});
  };
  try {
    gateway = await startGateway(platform, { listen: true });
    consoleApp = await buildConsole(platform);
    await consoleApp.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(consoleApp.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench', password: 'bench-password', roles: ['admin'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    return { ctx: { platform, gateway, consoleApp, base, cookie, ids: [] }, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

export async function api<T>(ctx: Pick<Ctx, 'base' | 'cookie'>, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${ctx.base}${path}`, {
    method, headers: { cookie: ctx.cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Register the simulated cameras through the console (ONVIF probed, main stream only), 8 at a time; their ids go to ctx.ids. */
export async function addSimDevices(ctx: Ctx, cameras: SimCam[]): Promise<string[]> {
  for (let i = 0; i < cameras.length; i += 8) {
    const created = await Promise.all(cameras.slice(i, i + 8).map((c) => api<{ id: string }>(ctx, 'POST', '/api/devices', {
      name: c.name, onvif: { host: '127.0.0.1', port: c.onvifPort, username: c.username, password: c.password }, streams: { main: c.rtsp },
    })));
    ctx.ids.push(...created.map((d) => d.id));
  }
  return ctx.ids;
}

/** Until the gateway holds every device's lease. */
export async function waitForLeases(gateway: Gateway, ids: string[], ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ids.every((id) => gateway.membership.held().includes(id))) {
    if (Date.now() > deadline) throw new Error(`the gateway did not lease every benchmark device within ${ms / 1000} s`);
    await sleep(250);
  }
}

export interface LiveAnswer { url: string; wsUrl: string; playable: boolean }

/** Console POST /api/devices/:id/live: the token HLS URL and WebSocket URL of the main stream. */
export function startLive(ctx: Ctx, id: string, waitMs: number): Promise<LiveAnswer> {
  return api<LiveAnswer>(ctx, 'POST', `/api/devices/${id}/live`, { waitMs });
}

/** "Start viewing" as the console does it, until the playlist served to the browser lists a segment. */
export async function startViewing(ctx: Ctx, id: string): Promise<{ ms: number } & LiveAnswer> {
  const t0 = performance.now();
  const live = await startLive(ctx, id, 10_000);
  for (;;) {
    const res = await fetch(live.url);
    if (res.ok && (await res.text()).includes('#EXTINF')) return { ms: performance.now() - t0, ...live };
    if (!res.ok) await res.arrayBuffer();
    if (performance.now() - t0 > 15_000) throw new Error(`no playable playlist for ${id} after 15 s (${res.status})`);
    await sleep(25);
  }
}

/** Every gateway ffmpeg seen while it runs, to check after close that none is left. */
export function watchFfmpegPids() {
  const seen = new Set<number>();
  const look = () => { for (const p of liveFfmpegPids()) seen.add(p); };
  const timer = setInterval(look, 1000);
  timer.unref();
  return {
    stop() { clearInterval(timer); look(); },
    /** After close: stderr says whether any is still running. */
    report(extra = '') {
      const left = [...seen].filter((p) => { try { process.kill(p, 0); return true; } catch { return false; } });
      if (left.length) process.stderr.write(`gateway bench: ffmpeg still running after close: ${left.join(', ')}\n`);
      else process.stderr.write(`gateway bench: clean up ok (${seen.size} gateway ffmpeg processes seen, none left${extra})\n`);
    },
  };
}

/** The platform settings of a run with a simulator: no health probes, room for the ramp's sessions, no idle stop. */
export const SIM_STACK_OVERRIDES = { 'health.intervalSeconds': 86_400, 'gateway.maxSessions': 200, 'gateway.idleStopSeconds': 86_400 };

/**
 * A simulator child of `count` cameras looping `source`, the stack, the cameras registered through the
 * console and leased by the gateway; `fn` runs with them, then all of it stops and the gateway's
 * ffmpeg processes are checked gone.
 */
export async function withSimStack<T>(source: EncodedSource, count: number, fn: (x: { ctx: Ctx; sim: SimChild }) => Promise<T>): Promise<T> {
  let sim: SimChild | null = null;
  let stack: Stack | null = null;
  const pids = watchFfmpegPids();
  try {
    sim = await startSimChild(count, source.path, { width: SOURCE.width, height: SOURCE.height, fps: SOURCE.fps, codec: source.codec, gopSeconds: source.gopSeconds });
    stack = await startStack(SIM_STACK_OVERRIDES);
    await addSimDevices(stack.ctx, sim.cameras);
    await waitForLeases(stack.ctx.gateway, stack.ctx.ids);
    return await fn({ ctx: stack.ctx, sim });
  } finally {
    pids.stop();
    await stack?.close();
    await sim?.stop();
    await sleep(500);
    pids.report(`; simulator child exited ${sim?.child.exitCode ?? sim?.child.signalCode}`);
  }
}
