import type { AddressInfo } from 'node:net';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { readCaptureTimes } from '../../gateway/simulator/capture-sei.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { benchPlatform, percentile } from './helpers.ts';
import { WebSocket } from './ws-client.ts';

/**
 * gateway, low-latency step (SKYNET_BENCH_ONLY=lowlat): the path a monitor's focused tile takes —
 * console POST /api/devices/:id/live → the gateway's WebSocket → fMP4 fragments — on cameras with a
 * 1, 2 and 4 s GOP (the last H.265 with an H.264 sub stream, like a factory-default dome).
 *
 * - lowlat_latency_ms: receipt of each frame at the viewer minus its capture time, read from the
 *   simulator's SEI (gateway/simulator/capture-sei.ts) carried unchanged through ffmpeg's copy; the
 *   frames of the held GOP a viewer gets on joining are left out (3 s after connecting).
 * - lowlat_first_frame_ms: "open" (the live API call) to the first keyframe fragment on the socket,
 *   cold (no session running) and warm (running: the held GOP comes at once).
 * - ptz_to_motion_ms: the PTZ API call to the first frame captured after the simulated dome started
 *   moving, as received by the viewer.
 * The viewer is a Node WebSocket client on this machine: a browser adds its own decode and the
 * player's small buffer (the console keeps ≈ 0.3–0.5 s ahead).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => percentile(v, 50);
const SAMPLE_MS = 15_000;
const WARM_STARTS = 5;
const PTZ_MOVES = 5;

interface Cam { id: string; simId: string; gop: number; codec: 'h264' | 'hevc' }
interface Ctx { base: string; cookie: string }

async function api<T>(ctx: Ctx, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${ctx.base}${path}`, {
    method, headers: { cookie: ctx.cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** The mdat of a fragment message (9-byte header, then moof, then mdat). */
function mdatOf(message: Buffer): Buffer | null {
  let at = 9;
  while (at + 8 <= message.length) {
    const size = message.readUInt32BE(at);
    const type = message.toString('latin1', at + 4, at + 8);
    if (size < 8) return null;
    if (type === 'mdat') return message.subarray(at + 8, at + size);
    at += size;
  }
  return null;
}

/** A viewer on the low-latency socket: every frame's receipt time and capture time. */
export function viewer(wsUrl: string, codec: 'h264' | 'hevc') {
  const ws = new WebSocket(wsUrl);
  const frames: { receivedAt: number; capturedAt: number }[] = [];
  let firstKeyframeAt = 0;
  let openedAt = 0;
  let codecString = '';
  ws.on('open', () => { openedAt = Date.now(); });
  ws.on('message', (data: Buffer, binary: boolean) => {
    const now = Date.now();
    if (!binary) {
      const m = JSON.parse(data.toString()) as { type: string; codec?: string };
      if (m.type === 'init' && m.codec) codecString = m.codec;
      return;
    }
    if (data[0] === 3 && !firstKeyframeAt) firstKeyframeAt = now;
    if (data[0] === 1) return;
    const mdat = mdatOf(data);
    if (mdat) for (const t of readCaptureTimes(mdat, codec)) frames.push({ receivedAt: now, capturedAt: t });
  });
  const closed = new Promise<void>((r) => ws.on('close', () => r()));
  ws.on('error', () => {});
  return {
    frames, get firstKeyframeAt() { return firstKeyframeAt; }, get openedAt() { return openedAt; }, get codec() { return codecString; },
    async close() { ws.close(); await Promise.race([closed, sleep(2000)]); },
  };
}

export type LowLatencyViewer = ReturnType<typeof viewer>;

/** Receipt − capture of every frame received from `skipMs` after connecting (the held GOP a viewer gets on joining left out). */
export function frameLatencies(v: LowLatencyViewer, skipMs = 3000): number[] {
  const since = v.openedAt + skipMs;
  return v.frames.filter((f) => f.receivedAt >= since).map((f) => f.receivedAt - f.capturedAt);
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Open the camera's live view as the console does and watch the socket until the first keyframe. */
async function open(ctx: Ctx, cam: Cam) {
  const t0 = Date.now();
  const live = await api<{ wsUrl: string; url: string }>(ctx, 'POST', `/api/devices/${cam.id}/live`, { waitMs: 0, stream: 'main' });
  const v = viewer(live.wsUrl, cam.codec);
  await waitFor(() => v.firstKeyframeAt > 0, 20_000, `the first keyframe of ${cam.simId}`);
  return { v, ms: v.firstKeyframeAt - t0, live };
}

export async function benchLowLatency(): Promise<{ metrics: Record<string, number>; notes: string[] }> {
  const { platform, close } = await benchPlatform({ 'health.intervalSeconds': 86_400, 'gateway.idleStopSeconds': 86_400 });
  let sim: Simulator | null = null;
  let gateway: Gateway | null = null;
  let consoleApp: App | null = null;
  const notes: string[] = [];
  const metrics: Record<string, number> = {};
  try {
    sim = await startSimulator({
      host: '127.0.0.1', idleStopMs: 2000,
      cameras: [
        { id: 'll-gop1', name: '低延时-GOP1', width: 640, height: 360, fps: 15, ptz: true, gopSeconds: 1 },
        { id: 'll-gop2', name: '低延时-GOP2', width: 640, height: 360, fps: 15, ptz: false, gopSeconds: 2 },
        { id: 'll-gop4', name: '低延时-GOP4-H265', width: 640, height: 360, fps: 15, ptz: false, factoryDefault: true },
      ],
    });
    gateway = await startGateway(platform, { listen: true });
    consoleApp = await buildConsole(platform);
    await consoleApp.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(consoleApp.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench', password: 'bench-password', roles: ['admin'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
    const ctx: Ctx = { base, cookie: login.headers.get('set-cookie')!.split(';')[0]! };
    const cams: Cam[] = [];
    for (const c of sim.cameras) {
      const d = await api<{ id: string }>(ctx, 'POST', '/api/devices', {
        name: c.spec.name, cameraType: c.spec.ptz ? 'ptz' : 'fixed', ptz: c.spec.ptz,
        onvif: { host: '127.0.0.1', port: c.onvifPort, username: c.spec.username, password: c.spec.password },
        streams: { main: c.rtspUri('main'), sub: c.rtspUri('sub') },
      });
      cams.push({ id: d.id, simId: c.spec.id, gop: c.spec.factoryDefault ? 4 : c.spec.gopSeconds ?? 1, codec: c.spec.factoryDefault || c.spec.codec === 'h265' ? 'hevc' : 'h264' });
    }
    const deadline = Date.now() + 60_000;
    while (!cams.every((c) => gateway!.membership.held().includes(c.id))) {
      if (Date.now() > deadline) throw new Error('the gateway did not lease the benchmark cameras');
      await sleep(250);
    }

    const allLatency: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    for (const cam of cams) {
      const first = await open(ctx, cam);
      cold.push(first.ms);
      await sleep(SAMPLE_MS);
      const lat = frameLatencies(first.v);
      await first.v.close();
      allLatency.push(...lat);
      metrics[`lowlat_latency_ms_gop${cam.gop}`] = Number(median(lat).toFixed(0));
      const w: number[] = [];
      for (let i = 0; i < WARM_STARTS; i++) {
        const again = await open(ctx, cam);
        w.push(again.ms);
        await again.v.close();
        await sleep(300);
      }
      warm.push(...w);
      notes.push(`${cam.simId} (${cam.codec === 'hevc' ? 'H.265' : 'H.264'}, ${cam.gop} s GOP, codec ${first.v.codec}): ${lat.length} frames over ${SAMPLE_MS / 1000} s, receipt − capture p50 ${Math.round(median(lat))} ms, p95 ${Math.round(percentile(lat, 95))} ms, max ${Math.round(Math.max(...lat))} ms; first keyframe cold ${first.ms} ms, warm ${w.join(', ')} ms`);
    }
    metrics.lowlat_latency_ms = Number(median(allLatency).toFixed(0));
    metrics.lowlat_first_frame_ms_cold = median(cold);
    metrics.lowlat_first_frame_ms_warm = median(warm);

    // PTZ: call → first frame captured after the dome started moving, at the viewer.
    const ptzCam = cams[0]!;
    const simCam = sim.cameras[0]!;
    const watch = await open(ctx, ptzCam);
    await sleep(2000);
    const ptz: number[] = [];
    for (let i = 0; i < PTZ_MOVES; i++) {
      const t0 = Date.now();
      await api(ctx, 'POST', `/api/devices/${ptzCam.id}/ptz/move`, { pan: i % 2 ? -0.5 : 0.5, tilt: 0, zoom: 0, timeoutMs: 2000 });
      await waitFor(() => simCam.ptz.moveStartedAt !== null && simCam.ptz.moveStartedAt >= t0, 5000, 'the dome to start moving');
      const movedAt = simCam.ptz.moveStartedAt!;
      await waitFor(() => watch.v.frames.some((f) => f.capturedAt >= movedAt), 10_000, 'a frame of the moving dome');
      const seen = watch.v.frames.find((f) => f.capturedAt >= movedAt)!;
      ptz.push(seen.receivedAt - t0);
      await api(ctx, 'POST', `/api/devices/${ptzCam.id}/ptz/stop`, {});
      await sleep(1500);
    }
    await watch.v.close();
    metrics.ptz_to_motion_ms = median(ptz);
    notes.push(`PTZ (${ptzCam.simId}): API call → first frame captured after the move began, at the viewer: ${ptz.join(', ')} ms; median ${median(ptz)} ms`);
    notes.push(`first frame: console POST /live → first keyframe fragment on the WebSocket; cold (session starts) ${cold.join(', ')} ms; warm (session running, held GOP sent at once) median ${median(warm)} ms`);
    notes.push('viewer = a Node WebSocket client on this machine; capture times from the simulator\'s SEI, carried through ffmpeg -c copy; a browser adds decode and its ≈ 0.3–0.5 s buffer');
    return { metrics, notes };
  } finally {
    await consoleApp?.close().catch(() => {});
    await gateway?.close().catch(() => {});
    await sim?.close().catch(() => {});
    await close().catch(() => {});
  }
}
