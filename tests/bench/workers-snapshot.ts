import type { AddressInfo } from 'node:net';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { benchPlatform, percentile } from './helpers.ts';

/**
 * Snapshots through the console HTTP API (a listening console and gateway, simulated cameras at
 * 320×180 10 fps): POST /api/devices/:id/snapshots answered with the stored picture, timed from
 * the request to the answer.
 * - live: a camera whose session runs (live view started first): the newest live segment's first
 *   keyframe, decoded on the gateway node; the camera sees no second RTSP client.
 * - cold: a camera with no session, through its ONVIF snapshot URI (the simulator decodes its
 *   current GOP per request, as a camera's encoder would serve a JPEG); an RTSP grab (no snapshot
 *   URI) is timed too and reported in the notes.
 */
const REQUESTS = 40;
const RTSP_REQUESTS = 15;
const WARMUP = 3;
const round = (v: number) => Number(v.toFixed(1));

export async function benchSnapshots(): Promise<{ metrics: { snapshot_live_p95_ms: number; snapshot_cold_p95_ms: number }; notes: string[] }> {
  const { platform, close } = await benchPlatform({ 'health.intervalSeconds': 86_400, 'gateway.idleStopSeconds': 86_400 });
  let sim: Simulator | null = null;
  let gateway: Gateway | null = null;
  let consoleApp: App | null = null;
  try {
    sim = await startSimulator({ cameras: [{ id: 'bench-live', width: 320, height: 180, fps: 10 }, { id: 'bench-cold', width: 320, height: 180, fps: 10 }], host: '127.0.0.1' });
    gateway = await startGateway(platform, { listen: true });
    consoleApp = await buildConsole(platform);
    await consoleApp.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(consoleApp.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench', password: 'bench-password', roles: ['admin'] });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${base}${path}`, { method, headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    };

    const [live, cold] = sim.cameras as [typeof sim.cameras[0], typeof sim.cameras[0]];
    const onvif = (c: typeof live) => ({ host: '127.0.0.1', port: c.onvifPort, username: c.spec.username, password: c.spec.password });
    const liveId = (await api<{ id: string }>('POST', '/api/devices', { name: '抓图基准-直播', onvif: onvif(live), streams: { main: live.rtspUri('main'), snapshot: live.snapshotUri() } })).id;
    const coldId = (await api<{ id: string }>('POST', '/api/devices', { name: '抓图基准-冷', onvif: onvif(cold), streams: { main: cold.rtspUri('main'), snapshot: cold.snapshotUri() } })).id;
    const rtspUrl = new URL(cold.rtspUri('main'));
    rtspUrl.username = cold.spec.username;
    rtspUrl.password = cold.spec.password;
    const rtspId = (await api<{ id: string }>('POST', '/api/devices', { name: '抓图基准-RTSP', streams: { main: rtspUrl.toString() }, confirmDuplicate: true })).id;
    const deadline = Date.now() + 60_000;
    while (![liveId, coldId, rtspId].every((id) => gateway!.membership.held().includes(id))) {
      if (Date.now() > deadline) throw new Error('the gateway did not lease the benchmark cameras within 60 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    const started = await api<{ playable: boolean }>('POST', `/api/devices/${liveId}/live`, { waitMs: 10_000 });
    if (!started.playable) throw new Error('the live camera did not become playable');

    /** Sequential snapshots of one camera: each request's time, and the sources answered. */
    const measure = async (id: string, n: number, expected: string) => {
      const times: number[] = [];
      for (let i = 0; i < WARMUP + n; i++) {
        const t0 = performance.now();
        const { snapshot } = await api<{ snapshot: { source: string } }>('POST', `/api/devices/${id}/snapshots`, { reason: 'benchmark' });
        const ms = performance.now() - t0;
        if (snapshot.source !== expected) throw new Error(`expected a ${expected} snapshot, got ${snapshot.source}`);
        if (i >= WARMUP) times.push(ms);
      }
      return { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), max: round(Math.max(...times)) };
    };
    let mostClients = 0;
    const watch = setInterval(() => { mostClients = Math.max(mostClients, live.rtspClients()); }, 5);
    const liveT = await measure(liveId, REQUESTS, 'session');
    clearInterval(watch);
    const coldT = await measure(coldId, REQUESTS, 'onvif');
    const rtspT = await measure(rtspId, RTSP_REQUESTS, 'rtsp');
    return {
      metrics: { snapshot_live_p95_ms: liveT.p95, snapshot_cold_p95_ms: coldT.p95 },
      notes: [
        `live (running session, newest live segment decoded on the gateway): ${REQUESTS} requests, p50 ${liveT.p50} ms, p95 ${liveT.p95} ms, max ${liveT.max} ms; the camera saw at most ${mostClients} RTSP client(s)`,
        `cold = ONVIF snapshot URI of a camera without a session: ${REQUESTS} requests, p50 ${coldT.p50} ms, p95 ${coldT.p95} ms, max ${coldT.max} ms`,
        `cold RTSP grab (no snapshot URI, through the credential relay): ${RTSP_REQUESTS} requests, p50 ${rtspT.p50} ms, p95 ${rtspT.p95} ms, max ${rtspT.max} ms`,
        `${WARMUP} warm-up requests per camera not counted; simulated cameras 320×180 10 fps in this process, requests one at a time`,
      ],
    };
  } finally {
    await consoleApp?.close();
    await gateway?.close();
    await sim?.close();
    await close();
  }
}
