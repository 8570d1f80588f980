import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { gatewayUrls, startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { loginAs, testPlatform, type LogCapture } from '../helpers/platform.ts';

// The console and a gateway node on one test database, against two simulated cameras:
// probe, discovery, PTZ, health and registry changes, end to end through the user API.
let platform: Platform;
let logs: LogCapture;
let close: () => Promise<void>;
let gateway: Gateway;
let consoleApp: App;
let sim: Simulator;
let admin: string;
let monitor: string;
const run = randomBytes(3).toString('hex');

beforeAll(async () => {
  ({ platform, logs, close } = await testPlatform({ 'health.intervalSeconds': 3600, 'gateway.leaseSeconds': 5 }));
  sim = await startSimulator({
    cameras: [
      { id: `gw-${run}-ptz`, name: '县政府广场高点球机', ptz: true, width: 320, height: 180, fps: 10 },
      { id: `gw-${run}-fix`, name: '人民路口-01', ptz: false, width: 320, height: 180, fps: 10 },
    ],
    host: '127.0.0.1',
    discovery: { unicastPort: 0, multicast: true },
  });
  gateway = await startGateway(platform);
  consoleApp = await buildConsole(platform);
  await consoleApp.ready();
  admin = (await loginAs(consoleApp, platform, ['admin'])).cookie;
  monitor = (await loginAs(consoleApp, platform, ['monitor'])).cookie;
});
afterAll(async () => {
  await consoleApp?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, cookie = admin) =>
  consoleApp.inject({ method, url, payload: payload as object, headers: { cookie } });

async function deviceState(id: string) {
  return (await api('GET', `/api/devices/${id}`)).json().status as { state: string; reason: string | null };
}

describe('registration by ONVIF probe', () => {
  let ptzId: string;

  it('fills vendor, model, serial, firmware, profiles, URIs and PTZ from host, port, user and password', async () => {
    const cam = sim.cameras[0]!;
    const res = await api('POST', '/api/devices/probe', { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password });
    expect(res.statusCode, res.body).toBe(200);
    const probe = res.json();
    expect(probe).toMatchObject({ vendor: 'Skynet-Sim', model: 'SIM-IPC-2', serial: cam.spec.serial, firmware: cam.spec.firmware, ptz: true, rtspMain: cam.rtspUri('main'), rtspSub: cam.rtspUri('sub') });
    expect(probe.profiles).toHaveLength(2);
    expect(probe.snapshotUri).toBe(cam.snapshotUri());
    expect(res.body).not.toContain(cam.spec.password);

    const created = await api('POST', '/api/devices', {
      name: cam.spec.name, cameraType: 'ptz', onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
      streams: { main: probe.rtspMain, sub: probe.rtspSub, snapshot: probe.snapshotUri }, ptz: probe.ptz, profiles: probe.profiles,
      vendor: probe.vendor, model: probe.model, serial: probe.serial, firmware: probe.firmware,
    });
    expect(created.statusCode, created.body).toBe(201);
    ptzId = created.json().id;
  });

  it('a device added is picked up by the running gateway (LISTEN/NOTIFY) and judged online, no restart', async () => {
    await expect.poll(() => gateway.membership.held().includes(ptzId), { timeout: 15_000 }).toBe(true);
    await expect.poll(async () => (await deviceState(ptzId)).state, { timeout: 15_000 }).toBe('online');
  });

  it('probes a registered device again with its stored password', async () => {
    const res = await api('POST', `/api/devices/${ptzId}/probe`, {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ vendor: 'Skynet-Sim', ptz: true });
  });

  it('answers a wrong password with 422 (the user\'s input), a refused connection with 502, each with its code', async () => {
    const cam = sim.cameras[0]!;
    const wrong = await api('POST', '/api/devices/probe', { host: '127.0.0.1', port: cam.onvifPort, username: 'admin', password: 'not-the-password' });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json()).toMatchObject({ code: 'onvif.auth_failed', field: 'password' });
    const closed = await api('POST', '/api/devices/probe', { host: '127.0.0.1', port: 1, username: 'a', password: 'b' });
    expect(closed.statusCode).toBe(502);
    expect(closed.json()).toMatchObject({ code: 'onvif.connection_refused' });
  });

  it('moves PTZ through the gateway and the simulator reports the new position', async () => {
    const cam = sim.cameras[0]!;
    const before = cam.ptzPosition();
    const move = await api('POST', `/api/devices/${ptzId}/ptz/move`, { pan: 0.5, tilt: 0, zoom: 0 }, monitor);
    expect(move.statusCode, move.body).toBe(204);
    await expect.poll(async () => (await api('GET', `/api/devices/${ptzId}/ptz/status`, undefined, monitor)).json().moving, { timeout: 5000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    expect((await api('POST', `/api/devices/${ptzId}/ptz/stop`, {}, monitor)).statusCode).toBe(204);
    const status = (await api('GET', `/api/devices/${ptzId}/ptz/status`, undefined, monitor)).json();
    expect(status.moving).toBe(false);
    expect(status.pan).toBeGreaterThan(before.pan);
    expect(cam.ptzPosition().pan).toBeCloseTo(status.pan, 2);
    const { rows } = await platform.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'ptz.move' AND target_id = $1`, [ptzId]);
    expect(rows[0].n).toBe(1);
  });

  it('sets, lists and goes to presets', async () => {
    const set = await api('POST', `/api/devices/${ptzId}/ptz/presets`, { name: '广场全景' }, monitor);
    expect(set.statusCode, set.body).toBe(201);
    const token = set.json().token;
    const list = await api('GET', `/api/devices/${ptzId}/ptz/presets`, undefined, monitor);
    expect(list.json().items).toContainEqual({ token, name: '广场全景' });
    await api('POST', `/api/devices/${ptzId}/ptz/move`, { pan: -0.8, tilt: 0.3, zoom: 0 }, monitor);
    await new Promise((r) => setTimeout(r, 400));
    await api('POST', `/api/devices/${ptzId}/ptz/stop`, {}, monitor);
    const away = sim.cameras[0]!.ptzPosition();
    expect((await api('POST', `/api/devices/${ptzId}/ptz/presets/${token}/goto`, {}, monitor)).statusCode).toBe(204);
    const back = (await api('GET', `/api/devices/${ptzId}/ptz/status`, undefined, monitor)).json();
    expect(back.pan).not.toBeCloseTo(away.pan, 2);
  });

  it('refuses PTZ to investigators and on a device without PTZ', async () => {
    const investigator = (await loginAs(consoleApp, platform, ['investigator'])).cookie;
    expect((await api('POST', `/api/devices/${ptzId}/ptz/move`, { pan: 0.1 }, investigator)).statusCode).toBe(403);
    const fixed = await api('POST', '/api/devices', { name: '无云台', streams: { main: sim.cameras[1]!.rtspUri('main') } });
    const res = await api('POST', `/api/devices/${fixed.json().id}/ptz/move`, { pan: 0.1 });
    expect(res.statusCode).toBe(400);
  });
});

describe('discovery', () => {
  it('finds the simulated cameras by unicast probe', async () => {
    const res = await api('POST', '/api/devices/discover', { host: '127.0.0.1', port: sim.discoveryPort, timeoutMs: 1500 });
    expect(res.statusCode, res.body).toBe(200);
    const ports = res.json().items.map((d: { port: number }) => d.port);
    expect(ports).toEqual(expect.arrayContaining(sim.cameras.map((c) => c.onvifPort)));
  });

  it('finds them by WS-Discovery multicast on the local network', async () => {
    const res = await api('POST', '/api/devices/discover', { timeoutMs: 2000 });
    expect(res.statusCode, res.body).toBe(200);
    const names = res.json().items.map((d: { name: string | null }) => d.name);
    expect(names).toEqual(expect.arrayContaining(sim.cameras.map((c) => c.spec.name)));
  });
});

describe('health', () => {
  let fixedId: string;

  it('marks a stopped camera offline with the reason, and online again when it returns', async () => {
    const cam = sim.cameras[1]!;
    const created = await api('POST', '/api/devices', {
      name: `健康检查-${run}`, onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
      streams: { main: cam.rtspUri('main') },
      confirmDuplicate: true, // the same camera as "无云台" above, registered again on purpose
    });
    expect(created.statusCode, created.body).toBe(201);
    fixedId = created.json().id;
    await expect.poll(async () => (await deviceState(fixedId)).state, { timeout: 15_000 }).toBe('online');

    sim.setFault(cam.spec.id, 'drop', true);
    await gateway.health.runCycle();
    const down = await deviceState(fixedId);
    expect(down.state).toBe('offline');
    expect(down.reason).toMatch(/unreachable|closed/);

    sim.setFault(cam.spec.id, 'drop', false);
    await gateway.health.runCycle();
    expect((await deviceState(fixedId)).state).toBe('online');
    const history = (await api('GET', `/api/devices/${fixedId}/status-history`)).json().items.map((e: { status: string }) => e.status);
    expect(history.slice(0, 3)).toEqual(['online', 'offline', 'online']);
  });

  it('says degraded when the camera refuses our credentials, offline when nothing answers', async () => {
    const cam = sim.cameras[1]!;
    sim.setFault(cam.spec.id, 'refuse-auth', true);
    await gateway.health.runCycle();
    const refused = await deviceState(fixedId);
    sim.setFault(cam.spec.id, 'refuse-auth', false);
    expect(refused.state).toBe('degraded');
    expect(refused.reason).toMatch(/ONVIF/);

    const ghost = await api('POST', '/api/devices', { name: '不存在的相机', onvif: { host: '127.20.9.9', port: 80 }, streams: { main: 'rtsp://127.20.9.9:554/live' } });
    await expect.poll(async () => (await deviceState(ghost.json().id)).state, { timeout: 15_000 }).toBe('offline');
    expect((await deviceState(ghost.json().id)).reason).toMatch(/unreachable|ECONNREFUSED/);
  });

  it('publishes status changes as events', async () => {
    const sub = platform.redis.duplicate();
    const seen: { type: string; deviceId: string; state: string }[] = [];
    await sub.subscribe(`${platform.config.redis.prefix}events`);
    sub.on('message', (_c, msg) => seen.push(JSON.parse(msg)));
    sim.setFault(sim.cameras[1]!.spec.id, 'drop', true);
    await gateway.health.runCycle();
    sim.setFault(sim.cameras[1]!.spec.id, 'drop', false);
    await expect.poll(() => seen.some((e) => e.type === 'device.status' && e.deviceId === fixedId && e.state === 'offline'), { timeout: 5000 }).toBe(true);
    await gateway.health.runCycle();
    sub.disconnect();
  });

  it('stops holding a device that is disabled, and holds it again when enabled, without a restart', async () => {
    await api('PATCH', `/api/devices/${fixedId}`, { enabled: false });
    await expect.poll(() => gateway.membership.held().includes(fixedId), { timeout: 15_000 }).toBe(false);
    await api('PATCH', `/api/devices/${fixedId}`, { enabled: true });
    await expect.poll(() => gateway.membership.held().includes(fixedId), { timeout: 15_000 }).toBe(true);
  });

  it('keeps camera passwords out of every log line', () => {
    for (const cam of sim.cameras) expect(logs.text()).not.toContain(cam.spec.password);
  });
});

describe('gateway internal API', () => {
  const bearer = () => ({ authorization: `Bearer ${platform.keys.serviceToken}` });
  const portOf = (app: App) => (app.server.address() as AddressInfo).port;

  it('lets only the service token in', async () => {
    const url = '/internal/onvif/discover';
    const anonymous = await gateway.internalApp.inject({ method: 'POST', url, payload: {} });
    expect(anonymous.statusCode).toBe(401);
    const user = await gateway.internalApp.inject({ method: 'POST', url, payload: {}, headers: { cookie: admin } });
    expect(user.statusCode).toBe(403);
    const service = await gateway.internalApp.inject({ method: 'POST', url, payload: { timeoutMs: 300 }, headers: bearer() });
    expect(service.statusCode).toBe(200);
  });

  it('is served on its own listener, bound to 127.0.0.1 by default; the public listener has media and health only', async () => {
    expect(platform.config.gateway.internalHost).toBe('127.0.0.1'); // the default: tests do not set it
    const internal = gateway.internalApp.server.address() as AddressInfo;
    expect(internal.address).toBe('127.0.0.1');
    const publicPort = portOf(gateway.app);
    expect(internal.port).not.toBe(publicPort);

    // Over the network, with the service token: 404 on the public port, 200 on the internal one.
    const onPublic = await fetch(`http://127.0.0.1:${publicPort}/internal/sessions`, { headers: bearer() });
    expect(onPublic.status).toBe(404);
    const discoverOnPublic = await fetch(`http://127.0.0.1:${publicPort}/internal/onvif/discover`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: '{}' });
    expect(discoverOnPublic.status).toBe(404);
    const onInternal = await fetch(`http://127.0.0.1:${internal.port}/internal/sessions`, { headers: bearer() });
    expect(onInternal.status).toBe(200);
    expect(await onInternal.json()).toHaveProperty('items');
    expect((await fetch(`http://127.0.0.1:${internal.port}/internal/sessions`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${publicPort}/api/health`)).status).toBe(200);

    // The console finds the node's internal listener in the lease table (it probed, moved PTZ… through it above).
    const { rows } = await platform.pool.query('SELECT internal_url AS "internalUrl", public_url AS "publicUrl" FROM gateway_nodes WHERE id = $1', [platform.config.gateway.nodeId]);
    expect(rows[0]).toEqual({ internalUrl: `http://127.0.0.1:${internal.port}`, publicUrl: `http://127.0.0.1:${publicPort}` });
  });

  it('has its own port and address settings, defaults 8091 on 127.0.0.1', () => {
    const defaults = loadConfig({ env: {}, file: undefined });
    expect(defaults.gateway).toMatchObject({ port: 8090, internalPort: 8091, internalHost: '127.0.0.1' });
    expect(gatewayUrls(defaults)).toEqual({ publicUrl: 'http://127.0.0.1:8090', internalUrl: 'http://127.0.0.1:8091' });
    const set = loadConfig({ env: { SKYNET_GATEWAY_INTERNAL_PORT: '9091', SKYNET_GATEWAY_INTERNAL_HOST: '10.1.2.3' }, file: undefined });
    expect(set.gateway).toMatchObject({ internalPort: 9091, internalHost: '10.1.2.3' });
    expect(() => loadConfig({ env: { SKYNET_GATEWAY_INTERNAL_PORT: '8090' }, file: undefined })).toThrow('gateway.internalPort = 8090 (from SKYNET_GATEWAY_INTERNAL_PORT) is invalid — expected a port different from gateway.port');
  });
});
