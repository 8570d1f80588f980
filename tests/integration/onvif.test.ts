/**
 * ONVIF end to end on loopback: the simulator's SOAP service and WS-Discovery responder
 * against the gateway's client adapter (over the `onvif` npm package) and against the
 * package's own Cam; then the console's user API through a gateway node (probe errors,
 * hostile URIs, discovery marking registered cameras, PTZ and preset refusals).
 * No media runs except where a device is registered.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { createSimCamera, type SimCameraHandle } from '../../gateway/simulator/camera.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import type { SimCamera, SimCameraSpec } from '../../gateway/simulator/types.ts';
import { loginAs, testPlatform, waitUntil } from '../helpers/platform.ts';
import { MAX_REQUEST_BYTES, startOnvifServer, type OnvifServer } from '../../gateway/simulator/onvif-server.ts';
import { startWsDiscovery, type WsDiscoveryResponder } from '../../gateway/simulator/ws-discovery.ts';
import { endpointUrn } from '../../gateway/simulator/onvif-device.ts';
import {
  OnvifError, checkOnvif, closeOnvifSessions, probeDevice, ptzContinuousMove, ptzGotoPreset, ptzPresets, ptzSetPreset, ptzStatus, ptzStop,
} from '../../gateway/onvif/onvif-client.ts';
import { discover, discoveryKey, probeUnicast } from '../../gateway/onvif/discovery.ts';
import type { OnvifConn } from '../../gateway/onvif/types.ts';

const require = createRequire(import.meta.url);
const { Cam } = require('onvif') as typeof import('onvif');

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9]);

function spec(over: Partial<SimCameraSpec>): SimCameraSpec {
  return {
    id: 'cam-001', name: '城关镇人民路口-01', username: 'admin', password: 'sim-Pa55', ptz: true,
    vendor: 'Skynet-Sim', model: 'SIM-PTZ-4', serial: 'SIM000000001', firmware: 'V5.10 build 240601',
    width: 1920, height: 1080, fps: 25, rtspPort: 8554, onvifPort: 0, host: '127.0.0.1', ...over,
  };
}

function camera(over: Partial<SimCameraSpec>): SimCameraHandle {
  const cam = createSimCamera(spec(over));
  cam.bind({ snapshot: async () => JPEG, rtspClients: () => 0 });
  return cam;
}

async function expectOnvifError(p: Promise<unknown>, code: OnvifError['code']): Promise<OnvifError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(OnvifError);
  expect((err as OnvifError).code, (err as OnvifError).message).toBe(code);
  expect((err as OnvifError).message).not.toMatch(/sim-Pa55|wrong-pass/);
  return err as OnvifError;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

// Ids unique to this run: the discovery URN derives from the id, and other simulators may answer on 3702 too.
const ptzCam = camera({ id: `onvif-${process.pid}-1` });
const fixedCam = camera({ id: `onvif-${process.pid}-2`, name: 'Fixed 2', ptz: false, model: 'SIM-IPC-2', serial: 'SIM000000002', width: 1280, height: 720 });
const servers: OnvifServer[] = [];
let ptzConn: OnvifConn;
let fixedConn: OnvifConn;

beforeAll(async () => {
  for (const cam of [ptzCam, fixedCam]) servers.push(await startOnvifServer(cam));
  ptzConn = { host: '127.0.0.1', port: ptzCam.onvifPort, username: 'admin', password: 'sim-Pa55', timeoutMs: 3000 };
  fixedConn = { ...ptzConn, port: fixedCam.onvifPort };
});

afterAll(async () => {
  closeOnvifSessions();
  await Promise.all(servers.map((s) => s.close()));
});

describe('probeDevice against the simulator', () => {
  it('reads identity, profiles, stream and snapshot URIs, and PTZ', async () => {
    expect(ptzCam.onvifPort).toBeGreaterThan(0);
    const r = await probeDevice(ptzConn);
    expect(r).toMatchObject({ vendor: 'Skynet-Sim', model: 'SIM-PTZ-4', serial: 'SIM000000001', firmware: 'V5.10 build 240601', ptz: true });
    expect(r.profiles).toEqual([
      { token: 'Profile_101', name: 'mainStream', encoding: 'H264', width: 1920, height: 1080, fps: 25, gop: 25, rtspUri: ptzCam.rtspUri('main'), snapshotUri: ptzCam.snapshotUri() },
      { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 640, height: 360, fps: 15, gop: 15, rtspUri: ptzCam.rtspUri('sub') },
    ]);
    expect(r.rtspMain).toBe(ptzCam.rtspUri('main'));
    expect(r.rtspSub).toBe(ptzCam.rtspUri('sub'));
    expect(r.snapshotUri).toBe(ptzCam.snapshotUri());
    expect(r.warnings).toEqual([]);
    expect(Math.abs(Date.parse(r.onvifTime!) - Date.now())).toBeLessThan(5000);
  });

  it('drops a file: or concat: URI the camera reports, with a warning, and keeps the rest of the probe', async () => {
    fixedCam.faults.add('hostile-uris');
    try {
      const r = await probeDevice(fixedConn);
      expect(r).toMatchObject({ vendor: 'Skynet-Sim', model: 'SIM-IPC-2', serial: 'SIM000000002' });
      // The main profile stays listed (its resolution is true) but without the refused URI.
      expect(r.profiles).toEqual([
        { token: 'Profile_101', name: 'mainStream', encoding: 'H264', width: 1280, height: 720, fps: 25, gop: 25 },
        { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 640, height: 360, fps: 15, gop: 15, rtspUri: fixedCam.rtspUri('sub') },
      ]);
      expect(r.rtspMain).toBe(fixedCam.rtspUri('sub'));
      expect(r.rtspSub).toBe(fixedCam.rtspUri('sub'));
      expect(r.snapshotUri).toBeNull();
      expect(r.warnings).toEqual([
        expect.objectContaining({ code: 'onvif.stream_uri_refused', params: { profile: 'mainStream', token: 'Profile_101', scheme: 'concat' } }),
        expect.objectContaining({ code: 'onvif.snapshot_uri_refused', params: { profile: 'subStream', token: 'Profile_102', scheme: 'file' } }),
      ]);
      expect(JSON.stringify(r)).not.toMatch(/etc\/passwd|concat:rtsp/);
    } finally {
      fixedCam.faults.delete('hostile-uris');
    }
    expect((await probeDevice(fixedConn)).rtspMain).toBe(fixedCam.rtspUri('main'));
  });

  it('sees no PTZ on a fixed camera, and PTZ calls are unsupported there', async () => {
    const r = await probeDevice(fixedConn);
    expect(r).toMatchObject({ model: 'SIM-IPC-2', ptz: false });
    expect(r.profiles.map((p) => [p.width, p.height])).toEqual([[1280, 720], [640, 360]]);
    await expectOnvifError(ptzStatus(fixedConn), 'unsupported');
  });

  it('classifies a wrong password and refused credentials as auth', async () => {
    expect((await expectOnvifError(probeDevice({ ...ptzConn, password: 'wrong-pass' }), 'auth')).kind).toBe('auth');
    fixedCam.faults.add('refuse-auth');
    try {
      await expectOnvifError(probeDevice(fixedConn), 'auth');
      expect(await checkOnvif(fixedConn)).toMatchObject({ ok: false, code: 'auth' });
    } finally {
      fixedCam.faults.delete('refuse-auth');
    }
  });

  it('classifies a closed port as unreachable', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    expect((await expectOnvifError(probeDevice({ ...ptzConn, port }), 'unreachable')).kind).toBe('refused');
  });

  it('gives up on a device that accepts and never answers within the timeout', async () => {
    const held: net.Socket[] = [];
    const server = net.createServer((s) => held.push(s));
    const port = await listen(server);
    try {
      const started = Date.now();
      await expectOnvifError(probeDevice({ ...ptzConn, port, timeoutMs: 800 }), 'timeout');
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      held.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('maps the stall, drop and garbage faults, and the process survives', async () => {
    const conn = { ...fixedConn, timeoutMs: 800 };
    for (const [fault, code] of [['stall', 'timeout'], ['drop', 'unreachable'], ['garbage', 'protocol']] as const) {
      fixedCam.faults.add(fault);
      try {
        await expectOnvifError(probeDevice(conn), code);
        expect(await checkOnvif(conn)).toMatchObject({ ok: false, code });
      } finally {
        fixedCam.faults.delete(fault);
      }
    }
    expect((await probeDevice(fixedConn)).model).toBe('SIM-IPC-2');
  });

  it('rejects an answer larger than 1 MiB', async () => {
    let sent = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/soap+xml' });
      const chunk = Buffer.alloc(64 * 1024, '<a>x</a>');
      const pump = () => {
        while (sent < 5 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    const port = await listen(server);
    try {
      const err = await expectOnvifError(probeDevice({ ...ptzConn, port }), 'protocol');
      expect(err.message).toMatch(/larger than/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('passes a health check with its latency', async () => {
    const r = await checkOnvif(ptzConn);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.latencyMs).toBeGreaterThanOrEqual(0);
  });
});

describe('the simulator as a SOAP server', () => {
  const post = (body: string | Buffer, path = '/onvif/device_service') =>
    fetch(`http://127.0.0.1:${fixedCam.onvifPort}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/soap+xml' } });

  it('answers hostile input with faults and status codes, not crashes', async () => {
    const malformed = await post('<s:Envelope><s:Body><GetProfiles></s:Envelope>');
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain('ter:WellFormed');
    const huge = await post(Buffer.alloc(MAX_REQUEST_BYTES + 1024, 'a')).catch((e: unknown) => e);
    if (huge instanceof Response) expect(huge.status).toBe(413);
    const anon = await post('<Envelope><Body><GetDeviceInformation/></Body></Envelope>');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Digest /);
    const clock = await post('<Envelope><Body><GetSystemDateAndTime/></Body></Envelope>');
    expect(clock.status).toBe(200);
    expect(await clock.text()).toContain('<tt:UTCDateTime>');
  });

  it('faults unknown operations and PTZ on a fixed camera', async () => {
    const cam = new Cam({ hostname: '127.0.0.1', port: fixedCam.onvifPort, username: 'admin', password: 'sim-Pa55', autoconnect: false });
    const ask = (op: string) => new Promise<string>((resolve) => {
      cam.getSystemDateAndTime(() => {
        (cam as unknown as { _request(o: object, cb: (err: Error | null) => void): void })._request(
          { body: `${(cam as unknown as { _envelopeHeader(): string })._envelopeHeader()}<${op} xmlns="http://www.onvif.org/ver20/ptz/wsdl"><ProfileToken>Profile_101</ProfileToken></${op}></s:Body></s:Envelope>` },
          (err) => resolve(err?.message ?? 'ok'));
      });
    });
    expect(await ask('FlyToTheMoon')).toMatch(/not implemented/);
    expect(await ask('GetStatus')).toMatch(/PTZ is not supported/);
  });

  it('accepts HTTP Digest instead of WS-Security', async () => {
    const cam = new Cam({ hostname: '127.0.0.1', port: ptzCam.onvifPort, username: 'admin', password: 'sim-Pa55', useWSSecurity: false, autoconnect: false });
    const info = await new Promise((resolve, reject) => cam.getDeviceInformation((err, data) => (err ? reject(err) : resolve(data))));
    expect(info).toMatchObject({ manufacturer: 'Skynet-Sim', serialNumber: 'SIM000000001' });
  });

  it('serves the snapshot with Basic auth and challenges without it', async () => {
    const url = ptzCam.snapshotUri();
    expect((await fetch(url)).status).toBe(401);
    const res = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from('admin:sim-Pa55').toString('base64')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(JPEG);
  });

  it('lets the onvif package connect the way NVRs do', async () => {
    const cam = await new Promise<InstanceType<typeof Cam>>((resolve, reject) => {
      const c = new Cam({ hostname: '127.0.0.1', port: ptzCam.onvifPort, username: 'admin', password: 'sim-Pa55', timeout: 3000 }, (err) => (err ? reject(err) : resolve(c)));
    });
    expect(cam.activeSource).toMatchObject({ profileToken: 'Profile_101', sourceToken: 'VideoSource_1', width: 1920, height: 1080, ptz: { name: 'PTZ' } });
    expect(cam.profiles).toHaveLength(2);
    const uri = await new Promise((resolve, reject) => cam.getStreamUri({ protocol: 'RTSP', profileToken: 'Profile_102' }, (err, data) => (err ? reject(err) : resolve(data))));
    expect(uri).toMatchObject({ uri: ptzCam.rtspUri('sub') });
    const scopes = await new Promise<unknown[]>((resolve, reject) => cam.getScopes((err, data) => (err ? reject(err) : resolve(data as unknown[]))));
    expect(JSON.stringify(scopes)).toContain('onvif://www.onvif.org/hardware/SIM-PTZ-4');
  });
});

describe('PTZ through the gateway adapter', () => {
  it('moves continuously, reports moving, and stops', async () => {
    await ptzStop(ptzConn);
    const before = await ptzStatus(ptzConn);
    await ptzContinuousMove(ptzConn, { pan: 0.5, tilt: -0.25, zoom: 0, timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 300));
    const moving = await ptzStatus(ptzConn);
    expect(moving.moving).toBe(true);
    expect(moving.pan).toBeGreaterThan(before.pan + 0.05);
    expect(moving.tilt).toBeLessThan(before.tilt - 0.02);
    await ptzStop(ptzConn);
    const stopped = await ptzStatus(ptzConn);
    expect(stopped.moving).toBe(false);
    await new Promise((r) => setTimeout(r, 150));
    expect((await ptzStatus(ptzConn)).pan).toBeCloseTo(stopped.pan, 5);
  });

  it('stops by itself when the move timeout passes', async () => {
    await ptzContinuousMove(ptzConn, { pan: -0.2, tilt: 0, zoom: 0.2, timeoutMs: 200 });
    expect((await ptzStatus(ptzConn)).moving).toBe(true);
    await new Promise((r) => setTimeout(r, 350));
    expect((await ptzStatus(ptzConn)).moving).toBe(false);
    expect(ptzCam.ptz.velocity).toBeNull();
  });

  it('sets, lists and goes to presets', async () => {
    const here = await ptzStatus(ptzConn);
    const { token } = await ptzSetPreset(ptzConn, '东门 <Gate>');
    expect(await ptzPresets(ptzConn)).toContainEqual({ token, name: '东门 <Gate>' });
    await ptzContinuousMove(ptzConn, { pan: 1, tilt: 1, zoom: 1, timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    await ptzStop(ptzConn);
    expect((await ptzStatus(ptzConn)).pan).not.toBeCloseTo(here.pan, 2);
    await ptzGotoPreset(ptzConn, token);
    const back = await ptzStatus(ptzConn);
    expect(back).toMatchObject({ moving: false });
    expect(back.pan).toBeCloseTo(here.pan, 5);
    expect(back.tilt).toBeCloseTo(here.tilt, 5);
    expect((await expectOnvifError(ptzGotoPreset(ptzConn, 'no-such-preset'), 'protocol')).kind).toBe('no_token');
    // The same name twice: the camera refuses it (ter:PresetExist), and the session stays usable.
    expect((await expectOnvifError(ptzSetPreset(ptzConn, '东门 <Gate>'), 'protocol')).kind).toBe('preset_exists');
    expect(await ptzPresets(ptzConn)).toContainEqual({ token, name: '东门 <Gate>' });
  });
});

describe('WS-Discovery', () => {
  let responder: WsDiscoveryResponder;

  beforeAll(async () => {
    responder = await startWsDiscovery(() => [ptzCam, fixedCam], { unicastPort: 0, host: '127.0.0.1' });
  });
  afterAll(() => responder.close());

  it('answers a unicast probe with every camera', async () => {
    const found = await probeUnicast({ host: '127.0.0.1', port: responder.unicastPort, timeoutMs: 1500 });
    const ptz = found.find((d) => d.urn === endpointUrn(ptzCam));
    expect(ptz).toMatchObject({
      host: '127.0.0.1', port: ptzCam.onvifPort, name: '城关镇人民路口-01', hardware: 'SIM-PTZ-4',
      xaddrs: [`http://127.0.0.1:${ptzCam.onvifPort}/onvif/device_service`],
    });
    expect(ptz?.types).toContain('dn:NetworkVideoTransmitter');
    expect(found.map((d) => d.urn)).toContain(endpointUrn(fixedCam));
  });

  it('finds the cameras over multicast on loopback', async () => {
    expect(responder.multicast, 'the responder joined 239.255.255.250 on loopback').toBe(true);
    const found = await discover({ timeoutMs: 1000, interface: '127.0.0.1' });
    expect(found.find((d) => d.urn === endpointUrn(ptzCam))).toMatchObject({ host: '127.0.0.1', port: ptzCam.onvifPort });
    // Without an interface the probe goes out on every IPv4 interface, loopback included.
    const everywhere = await discover({ timeoutMs: 1000 });
    expect(everywhere.map((d) => d.urn)).toEqual(expect.arrayContaining([endpointUrn(ptzCam), endpointUrn(fixedCam)]));
  });

  it('does not answer for a dropped camera, and nothing breaks on a garbage one', async () => {
    fixedCam.faults.add('drop');
    ptzCam.faults.add('garbage');
    try {
      const found = await probeUnicast({ host: '127.0.0.1', port: responder.unicastPort, timeoutMs: 500 });
      expect(found).toEqual([]);
    } finally {
      fixedCam.faults.delete('drop');
      ptzCam.faults.delete('garbage');
    }
  });
});

describe('WS-Discovery across simulators', () => {
  let simA: Simulator;
  let simB: Simulator;
  beforeAll(async () => {
    // The same default camera ids (cam-001, cam-002) in both, as two demo gateways would have.
    const start = () => startSimulator({ cameras: 2, host: '127.0.0.1', discovery: { unicastPort: 0, multicast: true } });
    [simA, simB] = await Promise.all([start(), start()]);
  });
  afterAll(async () => {
    await Promise.all([simA?.close(), simB?.close()]);
  });

  it('gives every simulated camera its own endpoint UUID', () => {
    const urns = [...simA.cameras, ...simB.cameras].map(endpointUrn);
    expect(new Set(urns).size).toBe(4);
    for (const urn of urns) expect(urn).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('finds 2 + 2 cameras as 4 results over multicast', async () => {
    const ours = new Set([...simA.cameras, ...simB.cameras].map((c) => c.onvifPort));
    const found = (await discover({ timeoutMs: 1000, interface: '127.0.0.1' })).filter((d) => ours.has(d.port));
    expect(found).toHaveLength(4);
    expect(new Set(found.map((d) => d.urn)).size).toBe(4);
  });

  it('keeps two devices that share one UUID at different addresses apart', async () => {
    const uuid = randomUUID();
    const twins = await Promise.all([0, 1].map(() => startSimulator({ cameras: [{ uuid }], host: '127.0.0.1', discovery: { unicastPort: 0, multicast: true } })));
    try {
      const ports = new Set(twins.map((t) => t.cameras[0]!.onvifPort));
      const found = (await discover({ timeoutMs: 1000, interface: '127.0.0.1' })).filter((d) => ports.has(d.port));
      expect(found.map((d) => d.urn)).toEqual([`urn:uuid:${uuid}`, `urn:uuid:${uuid}`]);
      expect(new Set(found.map((d) => d.port))).toEqual(ports);
    } finally {
      await Promise.all(twins.map((t) => t.close()));
    }
  });

  it('keys results by endpoint and address, one device answering twice being one', () => {
    const d = { urn: 'urn:uuid:1', host: '10.0.0.5', port: 80 };
    expect(discoveryKey(d)).toBe(discoveryKey({ ...d, urn: 'URN:UUID:1' }));
    expect(discoveryKey(d)).not.toBe(discoveryKey({ ...d, host: '10.0.0.6' }));
    expect(discoveryKey(d)).not.toBe(discoveryKey({ ...d, port: 8080 }));
    // A camera on this machine answers through loopback and its LAN address alike.
    expect(discoveryKey({ ...d, host: '127.0.0.1' }, new Set(['10.0.0.5']))).toBe(discoveryKey(d, new Set(['10.0.0.5'])));
  });
});

// The same, end to end through the console's user API and a gateway node, on a test database.
describe('through the user API', () => {
  let platform: Platform;
  let closePlatform: () => Promise<void>;
  let gateway: Gateway;
  let consoleApp: App;
  let sim: Simulator;
  let other: Simulator;
  let admin: string;
  let monitor: string;
  const run = randomBytes(3).toString('hex');
  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, cookie = admin) =>
    consoleApp.inject({ method, url, payload: payload as object, headers: { cookie } });
  const register = async (name: string, cam: SimCamera, over: Record<string, unknown> = {}) => {
    const res = await api('POST', '/api/devices', {
      name, cameraType: cam.spec.ptz ? 'ptz' : 'fixed', ptz: cam.spec.ptz,
      onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
      streams: { main: cam.rtspUri('main') }, ...over,
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await waitUntil(() => gateway.membership.held().includes(id), 15_000, `the gateway holding ${name}`);
    return id;
  };

  beforeAll(async () => {
    ({ platform, close: closePlatform } = await testPlatform({ 'health.intervalSeconds': 3600, 'gateway.leaseSeconds': 5 }));
    [sim, other] = await Promise.all([
      startSimulator({
        cameras: [
          { id: `api-${run}-ptz`, name: `球机-${run}`, ptz: true },
          { id: `api-${run}-fix`, name: `枪机-${run}`, ptz: false },
        ],
        host: '127.0.0.1', discovery: { unicastPort: 0, multicast: true },
      }),
      startSimulator({ cameras: 2, host: '127.0.0.1', discovery: { unicastPort: 0, multicast: true } }),
    ]);
    gateway = await startGateway(platform);
    consoleApp = await buildConsole(platform);
    await consoleApp.ready();
    admin = (await loginAs(consoleApp, platform, ['admin'])).cookie;
    monitor = (await loginAs(consoleApp, platform, ['monitor'])).cookie;
  }, 60_000);
  afterAll(async () => {
    await consoleApp?.close();
    await gateway?.close();
    await Promise.all([sim?.close(), other?.close()]);
    await closePlatform?.();
  });

  describe('probe errors', () => {
    const probe = (body: Record<string, unknown>) => api('POST', '/api/devices/probe', body);

    it('answers a wrong password with 422 onvif.auth_failed on the password, not 502', async () => {
      const cam = sim.cameras[0]!;
      const res = await probe({ host: '127.0.0.1', port: cam.onvifPort, username: 'admin', password: 'not-the-password' });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json()).toMatchObject({ code: 'onvif.auth_failed', field: 'password', params: { host: '127.0.0.1', port: cam.onvifPort } });
      expect(res.body).not.toContain('not-the-password');
      const { rows } = await platform.pool.query(
        `SELECT outcome, details FROM audit_log WHERE action = 'onvif.probe' AND target_id = $1 ORDER BY id DESC LIMIT 1`, [`127.0.0.1:${cam.onvifPort}`]);
      expect(rows[0]).toMatchObject({ outcome: 'failed', details: { error: 'onvif.auth_failed' } });
    });

    it('tells a closed port, a silent device and a web server that is not ONVIF apart', async () => {
      const closed = net.createServer();
      const closedPort = await listen(closed);
      await new Promise((resolve) => closed.close(resolve));
      const refused = await probe({ host: '127.0.0.1', port: closedPort, username: 'a', password: 'b' });
      expect(refused.statusCode, refused.body).toBe(502);
      expect(refused.json()).toMatchObject({ code: 'onvif.connection_refused', field: 'port', params: { port: closedPort } });

      const held: net.Socket[] = [];
      const silent = net.createServer((s) => held.push(s));
      const web = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>router login</body></html>'));
      try {
        const timeout = await probe({ host: '127.0.0.1', port: await listen(silent), username: 'a', password: 'b' });
        expect(timeout.statusCode, timeout.body).toBe(504);
        expect(timeout.json()).toMatchObject({ code: 'onvif.timeout', params: { seconds: expect.any(Number) } });
        const notOnvif = await probe({ host: '127.0.0.1', port: await listen(web), username: 'a', password: 'b' });
        expect(notOnvif.statusCode, notOnvif.body).toBe(422);
        expect(notOnvif.json()).toMatchObject({ code: 'onvif.not_onvif', field: 'port' });
      } finally {
        held.forEach((s) => s.destroy());
        silent.close();
        web.closeAllConnections();
        web.close();
      }
      const badHost = await probe({ host: 'http://10.0.0.1', port: 80 });
      expect(badHost.statusCode).toBe(400);
      expect(badHost.json().field).toBe('host');
    }, 30_000);

    it('returns a hostile camera\'s probe without its file: and concat: URIs, and a device cannot store them either', async () => {
      const cam = sim.cameras[1]!;
      sim.setFault(cam.spec.id, 'hostile-uris', true);
      try {
        const res = await probe({ host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password });
        expect(res.statusCode, res.body).toBe(200);
        const r = res.json();
        expect(r).toMatchObject({ vendor: 'Skynet-Sim', rtspMain: cam.rtspUri('sub'), snapshotUri: null });
        expect(r.warnings.map((w: { code: string }) => w.code)).toEqual(['onvif.stream_uri_refused', 'onvif.snapshot_uri_refused']);
        expect(res.body).not.toMatch(/etc\/passwd|concat:rtsp/);
      } finally {
        sim.setFault(cam.spec.id, 'hostile-uris', false);
      }
      for (const profile of [{ rtspUri: 'file:///etc/passwd' }, { rtspUri: `concat:${cam.rtspUri('main')}|file:///etc/passwd` }, { snapshotUri: 'file:///etc/passwd' }]) {
        const created = await api('POST', '/api/devices', {
          name: `hostile-${run}`, streams: { main: cam.rtspUri('main') },
          profiles: [{ token: 'Profile_101', name: 'mainStream', encoding: 'H264', width: 640, height: 360, ...profile }],
        });
        expect(created.statusCode, created.body).toBe(400);
        expect(created.json().field).toMatch(/^profiles\.0\.(rtspUri|snapshotUri)$/);
      }
    });
  });

  describe('discovery', () => {
    it('lists the 2 + 2 cameras of two simulators as 4 results and marks the registered one', async () => {
      const cam = other.cameras[0]!;
      const id = await register(`已登记-${run}`, cam);
      const res = await api('POST', '/api/devices/discover', { timeoutMs: 1500 });
      expect(res.statusCode, res.body).toBe(200);
      const ports = new Set([...sim.cameras, ...other.cameras].map((c) => c.onvifPort));
      const items = (res.json().items as { urn: string; port: number; registered: { deviceId: string; name: string } | null }[]).filter((d) => ports.has(d.port));
      expect(items).toHaveLength(4);
      expect(new Set(items.map((d) => d.urn)).size).toBe(4);
      expect(items.find((d) => d.port === cam.onvifPort)?.registered).toEqual({ deviceId: id, name: `已登记-${run}` });
      expect(items.filter((d) => d.registered !== null)).toHaveLength(1);
      // A unicast probe of one simulator marks it too.
      const unicast = await api('POST', '/api/devices/discover', { host: '127.0.0.1', port: other.discoveryPort, timeoutMs: 1000 });
      expect(unicast.json().items.map((d: { registered: unknown }) => d.registered !== null)).toEqual(other.cameras.map((c) => c === cam));
    });

    it('refuses a host name that does not resolve with 422 on the host', async () => {
      const res = await api('POST', '/api/devices/discover', { host: 'no-such-host.invalid', timeoutMs: 500 });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json()).toMatchObject({ code: 'onvif.host_not_found', field: 'host' });
    });
  });

  describe('PTZ and presets', () => {
    let ptzId: string;
    beforeAll(async () => {
      ptzId = await register(`球机-${run}`, sim.cameras[0]!);
    }, 30_000);

    it('refuses blank names and control characters, answers a taken name with 409 and an unknown preset with 404', async () => {
      for (const name of ['   ', '东门\u0000', 'a\nb']) {
        const res = await api('POST', `/api/devices/${ptzId}/ptz/presets`, { name }, monitor);
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json()).toMatchObject({ field: 'name', code: expect.stringMatching(/^onvif\.preset_name_(required|invalid)$/) });
      }
      const set = await api('POST', `/api/devices/${ptzId}/ptz/presets`, { name: ' 北门 ' }, monitor);
      expect(set.statusCode, set.body).toBe(201);
      const again = await api('POST', `/api/devices/${ptzId}/ptz/presets`, { name: '北门' }, monitor);
      expect(again.statusCode, again.body).toBe(409);
      expect(again.json()).toMatchObject({ code: 'onvif.preset_name_taken', field: 'name', params: { name: '北门' } });
      const missing = await api('POST', `/api/devices/${ptzId}/ptz/presets/no-such-preset/goto`, {}, monitor);
      expect(missing.statusCode, missing.body).toBe(404);
      expect(missing.json()).toMatchObject({ code: 'onvif.preset_not_found', field: 'token' });
      const badToken = await api('POST', `/api/devices/${ptzId}/ptz/presets/${encodeURIComponent('a b<')}/goto`, {}, monitor);
      expect(badToken.statusCode).toBe(400);
      // The session survived the refusals.
      expect((await api('GET', `/api/devices/${ptzId}/ptz/presets`, undefined, monitor)).json().items).toContainEqual({ token: set.json().token, name: '北门' });
      const { rows } = await platform.pool.query(
        `SELECT outcome FROM audit_log WHERE action = 'ptz.preset.goto' AND target_id = $1 ORDER BY id DESC LIMIT 1`, [ptzId]);
      expect(rows[0]?.outcome).toBe('failed');
    });

    it('says which: a device not registered as PTZ, a camera without PTZ, no ONVIF address, stored credentials refused', async () => {
      const fixedCam = sim.cameras[1]!;
      const notPtz = await register(`枪机-${run}`, fixedCam);
      const a = await api('POST', `/api/devices/${notPtz}/ptz/move`, { pan: 0.1 }, monitor);
      expect(a.statusCode, a.body).toBe(400);
      expect(a.json()).toMatchObject({ code: 'onvif.not_ptz' });

      // The same cameras again, registered differently (the registry asks to confirm a duplicate).
      const claimsPtz = await register(`假球机-${run}`, fixedCam, { cameraType: 'ptz', ptz: true, streams: { main: fixedCam.rtspUri('sub') }, confirmDuplicate: true });
      const b = await api('GET', `/api/devices/${claimsPtz}/ptz/status`, undefined, monitor);
      expect(b.statusCode, b.body).toBe(422);
      expect(b.json()).toMatchObject({ code: 'onvif.no_ptz' });

      const noOnvif = await api('POST', '/api/devices', { name: `无ONVIF-${run}`, cameraType: 'ptz', ptz: true, streams: { main: 'rtsp://127.0.0.1:1/none' } });
      await expect.poll(() => gateway.membership.held().includes(noOnvif.json().id), { timeout: 15_000 }).toBe(true);
      const c = await api('POST', `/api/devices/${noOnvif.json().id}/ptz/stop`, {}, monitor);
      expect(c.statusCode, c.body).toBe(400);
      expect(c.json()).toMatchObject({ code: 'onvif.no_address', field: 'onvif.host' });

      const ptzCam = sim.cameras[0]!;
      const wrong = await register(`错密码-${run}`, ptzCam, {
        onvif: { host: '127.0.0.1', port: ptzCam.onvifPort, username: ptzCam.spec.username, password: 'stale-password' }, streams: { main: ptzCam.rtspUri('sub') },
        confirmDuplicate: true,
      });
      const d = await api('GET', `/api/devices/${wrong}/ptz/status`, undefined, monitor);
      expect(d.statusCode, d.body).toBe(422);
      expect(d.json()).toMatchObject({ code: 'onvif.stored_auth_failed', field: 'onvif.password' });
      const reprobe = await api('POST', `/api/devices/${wrong}/probe`, {});
      expect(reprobe.statusCode, reprobe.body).toBe(422);
      expect(reprobe.json()).toMatchObject({ code: 'onvif.stored_auth_failed', field: 'onvif.password' });

      // Deleted (decommissioned): kept for its footage, but no longer probed or steered.
      expect((await api('DELETE', `/api/devices/${claimsPtz}`)).statusCode).toBe(204);
      for (const res of [await api('GET', `/api/devices/${claimsPtz}/ptz/status`, undefined, monitor), await api('POST', `/api/devices/${claimsPtz}/probe`, {})]) {
        expect(res.statusCode, res.body).toBe(409);
        expect(res.json()).toMatchObject({ code: 'onvif.decommissioned', params: { name: `假球机-${run}` } });
      }
    }, 60_000);
  });
});
