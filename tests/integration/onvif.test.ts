/**
 * ONVIF end to end on loopback: the simulator's SOAP service and WS-Discovery responder
 * against the gateway's client adapter (over the `onvif` npm package) and against the
 * package's own Cam. No media runs: the cameras' snapshots are a fixed tiny JPEG.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimCamera, type SimCameraHandle } from '../../gateway/simulator/camera.ts';
import type { SimCameraSpec } from '../../gateway/simulator/types.ts';
import { MAX_REQUEST_BYTES, startOnvifServer, type OnvifServer } from '../../gateway/simulator/onvif-server.ts';
import { startWsDiscovery, type WsDiscoveryResponder } from '../../gateway/simulator/ws-discovery.ts';
import { endpointUrn } from '../../gateway/simulator/onvif-device.ts';
import {
  OnvifError, checkOnvif, closeOnvifSessions, probeDevice, ptzContinuousMove, ptzGotoPreset, ptzPresets, ptzSetPreset, ptzStatus, ptzStop,
} from '../../gateway/onvif/onvif-client.ts';
import { discover, probeUnicast } from '../../gateway/onvif/discovery.ts';
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
      { token: 'Profile_101', name: 'mainStream', encoding: 'H264', width: 1920, height: 1080, fps: 25, rtspUri: ptzCam.rtspUri('main'), snapshotUri: ptzCam.snapshotUri() },
      { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 640, height: 360, fps: 15, rtspUri: ptzCam.rtspUri('sub') },
    ]);
    expect(r.rtspMain).toBe(ptzCam.rtspUri('main'));
    expect(r.rtspSub).toBe(ptzCam.rtspUri('sub'));
    expect(r.snapshotUri).toBe(ptzCam.snapshotUri());
    expect(Math.abs(Date.parse(r.onvifTime!) - Date.now())).toBeLessThan(5000);
  });

  it('sees no PTZ on a fixed camera, and PTZ calls are unsupported there', async () => {
    const r = await probeDevice(fixedConn);
    expect(r).toMatchObject({ model: 'SIM-IPC-2', ptz: false });
    expect(r.profiles.map((p) => [p.width, p.height])).toEqual([[1280, 720], [640, 360]]);
    await expectOnvifError(ptzStatus(fixedConn), 'unsupported');
  });

  it('classifies a wrong password and refused credentials as auth', async () => {
    await expectOnvifError(probeDevice({ ...ptzConn, password: 'wrong-pass' }), 'auth');
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
    await expectOnvifError(probeDevice({ ...ptzConn, port }), 'unreachable');
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
    await expectOnvifError(ptzGotoPreset(ptzConn, 'no-such-preset'), 'protocol');
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
