import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSimCamera, integratePtz } from '../../gateway/simulator/camera.ts';
import { chooseTcpTransport, parseNext, resolveStream, verifyAuthorization } from '../../gateway/simulator/rtsp-server.ts';
import { ptzText, secondsSinceLocalMidnight, streamSize, syntheticArgs } from '../../gateway/simulator/source.ts';
import { defaultSpec } from '../../gateway/simulator/simulator.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('RTSP request parsing', () => {
  it('parses a request with headers and body, and reports what it consumed', () => {
    const text = 'SET_PARAMETER rtsp://h/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 4\r\n\r\nabcdOPTIONS';
    const r = parseNext(Buffer.from(text));
    expect(r.kind).toBe('request');
    if (r.kind !== 'request') return;
    expect(r.request.method).toBe('SET_PARAMETER');
    expect(r.request.headers.get('cseq')).toBe('7');
    expect(r.request.body.toString()).toBe('abcd');
    expect(text.slice(r.consumed)).toBe('OPTIONS');
  });

  it('waits for more bytes, skips interleaved frames, rejects garbage, oversize and RTSP/2.0', () => {
    expect(parseNext(Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n')).kind).toBe('more');
    expect(parseNext(Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nab')).kind).toBe('more');
    expect(parseNext(Buffer.from([0x24, 1, 0, 2, 9, 9, 7]))).toEqual({ kind: 'interleaved', consumed: 6 });
    expect(parseNext(Buffer.from([0x24, 1, 0, 9, 9])).kind).toBe('more');
    expect(parseNext(Buffer.from([0x00, 0x01, 0x02]))).toMatchObject({ kind: 'error', status: 400 });
    expect(parseNext(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toMatchObject({ kind: 'error', status: 400 });
    expect(parseNext(Buffer.from(`OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(9000)}`))).toMatchObject({ kind: 'error', status: 400 });
    expect(parseNext(Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n'))).toMatchObject({ kind: 'error', status: 400 });
    expect(parseNext(Buffer.from('OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n'))).toMatchObject({ kind: 'error', status: 505 });
    expect(parseNext(Buffer.from('OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n'))).toMatchObject({ kind: 'error', status: 400 });
  });

  it('resolves the Hikvision-style paths and their track', () => {
    expect(resolveStream('rtsp://10.0.0.1:554/Streaming/Channels/101')).toEqual({ profile: 'main', track: false });
    expect(resolveStream('rtsp://10.0.0.1:554/Streaming/Channels/102/')).toEqual({ profile: 'sub', track: false });
    expect(resolveStream('rtsp://10.0.0.1/Streaming/Channels/101/trackID=1')).toEqual({ profile: 'main', track: true });
    expect(resolveStream('/streaming/channels/101?transportmode=unicast')).toEqual({ profile: 'main', track: false });
    expect(resolveStream('rtsp://10.0.0.1/Streaming/Channels/103')).toBeNull();
    expect(resolveStream('not a url')).toBeNull();
  });

  it('chooses the first TCP transport and its interleaved channels', () => {
    expect(chooseTcpTransport('RTP/AVP/TCP;unicast;interleaved=0-1')).toEqual({ channel: 0 });
    expect(chooseTcpTransport('RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=2-3')).toEqual({ channel: 2 });
    expect(chooseTcpTransport('RTP/AVP/TCP;unicast')).toEqual({ channel: 0 });
    expect(chooseTcpTransport('RTP/AVP;unicast;client_port=5000-5001')).toBeNull();
    expect(chooseTcpTransport('RTP/AVP;multicast')).toBeNull();
    expect(chooseTcpTransport('')).toBeNull();
  });
});

describe('RTSP authentication', () => {
  const o = { method: 'DESCRIBE', username: 'admin', password: 'sim-cam-001', realm: 'Skynet-Sim', nonceValid: (n: string) => n === 'abc123' };
  const uri = 'rtsp://127.0.0.1:554/Streaming/Channels/101';
  const ha1 = md5('admin:Skynet-Sim:sim-cam-001');
  const ha2 = md5(`DESCRIBE:${uri}`);

  it('accepts RFC 2617 Digest without and with qop=auth', () => {
    const plain = `Digest username="admin", realm="Skynet-Sim", nonce="abc123", uri="${uri}", response="${md5(`${ha1}:abc123:${ha2}`)}"`;
    expect(verifyAuthorization(plain, o)).toBe(true);
    const qop = `Digest username="admin", realm="Skynet-Sim", nonce="abc123", uri="${uri}", qop=auth, nc=00000001, cnonce="xyz", response="${md5(`${ha1}:abc123:00000001:xyz:auth:${ha2}`)}"`;
    expect(verifyAuthorization(qop, o)).toBe(true);
  });

  it('rejects a wrong response, a foreign nonce or realm, a wrong user, and nothing at all', () => {
    const resp = md5(`${ha1}:abc123:${ha2}`);
    expect(verifyAuthorization(`Digest username="admin", realm="Skynet-Sim", nonce="abc123", uri="${uri}", response="${md5('x')}"`, o)).toBe(false);
    expect(verifyAuthorization(`Digest username="admin", realm="Skynet-Sim", nonce="other", uri="${uri}", response="${resp}"`, o)).toBe(false);
    expect(verifyAuthorization(`Digest username="admin", realm="Other", nonce="abc123", uri="${uri}", response="${resp}"`, o)).toBe(false);
    expect(verifyAuthorization(`Digest username="root", realm="Skynet-Sim", nonce="abc123", uri="${uri}", response="${resp}"`, o)).toBe(false);
    expect(verifyAuthorization(undefined, o)).toBe(false);
    expect(verifyAuthorization('Bearer x', o)).toBe(false);
  });

  it('accepts Basic with the right password only', () => {
    expect(verifyAuthorization(`Basic ${Buffer.from('admin:sim-cam-001').toString('base64')}`, o)).toBe(true);
    expect(verifyAuthorization(`Basic ${Buffer.from('admin:nope').toString('base64')}`, o)).toBe(false);
  });
});

describe('simulated camera', () => {
  const spec = defaultSpec(0, { host: '127.0.0.1' }, { host: '127.0.0.1' });

  it('fills defaults and ports from basePort', () => {
    const s = defaultSpec(2, { name: '城关镇人民路口-03' }, { host: '127.0.0.1', basePort: 20000 });
    expect(s).toMatchObject({
      id: 'cam-003', name: '城关镇人民路口-03', username: 'admin', password: 'sim-cam-003', vendor: 'Skynet-Sim',
      model: 'SIM-IPC-2', ptz: false, onvifPort: 20004, rtspPort: 20005,
    });
    expect(defaultSpec(4, {}, { host: '127.0.0.1' })).toMatchObject({ ptz: true, onvifPort: 0, rtspPort: 0 });
  });

  it('integrates a continuous move up to its timeout, clamped, then settles the state', () => {
    const cam = createSimCamera(spec);
    Object.assign(cam.ptz, { velocity: { pan: 1, tilt: -0.5, zoom: 1 }, moveStartedAt: 1000, moveUntil: 3000 });
    expect(cam.ptzPosition(1500)).toEqual({ pan: 0.5, tilt: -0.25, zoom: 0.5 });
    expect(cam.ptz.velocity).not.toBeNull();
    expect(cam.ptzPosition(10_000)).toEqual({ pan: 1, tilt: -1, zoom: 1 });
    expect(cam.ptz.velocity).toBeNull();
    expect(cam.ptz.position).toEqual({ pan: 1, tilt: -1, zoom: 1 });
    expect(integratePtz({ position: { pan: 0, tilt: 0, zoom: 0.2 }, velocity: { pan: 0, tilt: 0, zoom: -1 }, moveStartedAt: 0, moveUntil: null }, 5000).zoom).toBe(0);
  });

  it('builds its URIs from the bound ports', () => {
    const cam = createSimCamera(spec);
    cam.rtspPort = 8554;
    cam.onvifPort = 8080;
    expect(cam.rtspUri('main')).toBe('rtsp://127.0.0.1:8554/Streaming/Channels/101');
    expect(cam.rtspUri('sub')).toBe('rtsp://127.0.0.1:8554/Streaming/Channels/102');
    expect(cam.onvifUri()).toBe('http://127.0.0.1:8080/onvif/device_service');
    expect(cam.rtspClients()).toBe(0);
  });
});

describe('synthetic source', () => {
  it('encodes with a keyframe every second, no scene cut, raw Annex B to stdout', () => {
    const args = syntheticArgs({ width: 320, height: 180, fps: 10, nameFile: '/t/name.txt', ptzFile: '/t/ptz.txt', clockOffsetSec: 3600.5, font: 'font=Sans' });
    const at = (flag: string) => args[args.indexOf(flag) + 1];
    expect(at('-i')).toBe('testsrc2=size=320x180:rate=10');
    expect(at('-c:v')).toBe('libx264');
    expect(at('-preset')).toBe('ultrafast');
    expect(at('-tune')).toBe('zerolatency');
    expect(at('-g')).toBe('10');
    expect(at('-sc_threshold')).toBe('0');
    expect(at('-x264-params')).toBe('repeat-headers=1');
    expect(args.slice(-3)).toEqual(['-f', 'h264', 'pipe:1']);
    expect(args).toContain('-nostdin');
    const vf = at('-vf')!;
    expect(vf).toContain("textfile='/t/name.txt'");
    expect(vf).toContain("reload=1:textfile='/t/ptz.txt'");
    expect(vf).toContain('%{pts\\:hms\\:3600.500\\:24HH}');
    expect(syntheticArgs({ width: 320, height: 180, fps: 10, nameFile: '/t/n', ptzFile: null, clockOffsetSec: 0, font: 'font=Sans' })[args.indexOf('-vf') + 1]).not.toContain('reload');
  });

  it('burns in the clock of the site\'s time zone', () => {
    const at = new Date('2026-11-23T13:41:28.500Z');
    expect(secondsSinceLocalMidnight(at, 'Asia/Shanghai')).toBe(21 * 3600 + 41 * 60 + 28.5);
    expect(secondsSinceLocalMidnight(at, 'UTC')).toBe(13 * 3600 + 41 * 60 + 28.5);
  });

  it('sizes the sub stream as ONVIF advertises it and formats the PTZ line', () => {
    const spec = defaultSpec(0, { width: 1920, height: 1080, fps: 25 }, { host: '127.0.0.1' });
    expect(streamSize(spec, 'main')).toEqual({ width: 1920, height: 1080, fps: 25 });
    expect(streamSize(spec, 'sub')).toEqual({ width: 640, height: 360, fps: 15 });
    expect(ptzText({ pan: -0.25, tilt: 0, zoom: 1 })).toBe('PTZ pan -0.250 tilt +0.000 zoom 1.000');
  });
});
