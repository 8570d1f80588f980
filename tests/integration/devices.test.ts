import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { loginAs, testPlatform, type LogCapture } from '../helpers/platform.ts';

let app: App;
let platform: Platform;
let logs: LogCapture;
let close: () => Promise<void>;
let admin: string;
let monitor: string;
const SECRET = 'Cam-Secret-Pa55!';

beforeAll(async () => {
  const t = await testPlatform();
  ({ platform, logs, close } = t);
  app = await buildConsole(platform);
  await app.ready();
  admin = (await loginAs(app, platform, ['admin'])).cookie;
  monitor = (await loginAs(app, platform, ['monitor'])).cookie;
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

const post = (url: string, payload: unknown, cookie = admin) => app.inject({ method: 'POST', url, payload: payload as object, headers: { cookie } });

describe('device registry CRUD', () => {
  let id: string;

  it('creates a camera and never returns its password', async () => {
    const res = await post('/api/devices', {
      name: '人民路与建设街交叉口-东向西', code: '13053400001310009001', kind: 'camera', cameraType: 'fixed',
      location: { lat: 37.06, lon: 115.67, heading: 270 }, tags: ['治安卡点'],
      onvif: { host: '127.0.0.1', port: 18080, username: 'admin', password: SECRET },
      streams: { main: 'rtsp://127.0.0.1:8554/Streaming/Channels/101' },
      recording: { mode: 'continuous', retentionDays: 30 },
    });
    expect(res.statusCode, res.body).toBe(201);
    const device = res.json();
    id = device.id;
    expect(device).toMatchObject({ name: '人民路与建设街交叉口-东向西', kind: 'camera', cameraType: 'fixed', onvif: { host: '127.0.0.1', hasPassword: true }, status: { state: 'unknown' } });
    expect(res.body).not.toContain(SECRET);
    expect(device.onvif).not.toHaveProperty('password');
  });

  it('stores the password encrypted (AES-256-GCM), not in clear', async () => {
    const { rows } = await platform.pool.query('SELECT password_enc FROM devices WHERE id = $1', [id]);
    const stored = rows[0].password_enc as Buffer;
    expect(stored.length).toBeGreaterThan(29);
    expect(stored.toString('latin1')).not.toContain(SECRET);
  });

  it('moves credentials out of a stream URL into the encrypted column', async () => {
    const res = await post('/api/devices', { name: 'URL带密码的相机', streams: { main: 'rtsp://viewer:UrlSecret9@127.0.0.1:554/live' } });
    expect(res.statusCode).toBe(201);
    expect(res.json().streams.main).toBe('rtsp://127.0.0.1:554/live');
    expect(res.body).not.toContain('UrlSecret9');
    expect(res.json().onvif).toBeNull();
    const secret = await createDeviceRepository(platform.pool).getSecret(res.json().id);
    expect(secret?.username).toBe('viewer');
    expect(secret?.passwordEnc).not.toBeNull();
  });

  it('reads, lists with filters and paging, updates and deletes', async () => {
    const get = await app.inject({ method: 'GET', url: `/api/devices/${id}`, headers: { cookie: monitor } });
    expect(get.statusCode).toBe(200);
    const list = await app.inject({ method: 'GET', url: '/api/devices?q=建设街&kind=camera&pageSize=5', headers: { cookie: monitor } });
    expect(list.json()).toMatchObject({ total: 1, page: 1, pageSize: 5 });
    const byTag = await app.inject({ method: 'GET', url: `/api/devices?tag=${encodeURIComponent('治安卡点')}`, headers: { cookie: monitor } });
    expect(byTag.json().items.map((d: { id: string }) => d.id)).toEqual([id]);
    const patch = await app.inject({ method: 'PATCH', url: `/api/devices/${id}`, headers: { cookie: admin }, payload: { name: '改名后的相机', onvif: { host: '127.0.0.1', port: 18080, password: '' } } });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json()).toMatchObject({ name: '改名后的相机', onvif: { hasPassword: true, username: 'admin' } });
    const del = await app.inject({ method: 'DELETE', url: `/api/devices/${id}`, headers: { cookie: admin } });
    expect(del.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: `/api/devices/${id}`, headers: { cookie: admin } })).statusCode).toBe(404);
  });

  it('audits registry changes', async () => {
    const { rows } = await platform.pool.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [id]);
    expect(rows.map((r) => r.action)).toEqual(['device.create', 'device.update', 'device.delete']);
  });

  it('gives mobile cameras a stream key', async () => {
    const res = await post('/api/devices', { name: '执法记录仪-0001', kind: 'mobile' });
    expect(res.json().streamKey).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(res.json().cameraType).toBeNull();
  });
});

describe('bad input', () => {
  it.each([
    ['file:///etc/passwd', 'streams.main'],
    ['concat:/etc/passwd|/etc/shadow', 'streams.main'],
    ['data:text/plain;base64,aGVsbG8=', 'streams.main'],
    ['subfile:,start,0,end,100,:/etc/passwd', 'streams.main'],
    ['pipe:0', 'streams.main'],
    ['rtsp://a b/', 'streams.main'],
    ['not a url', 'streams.main'],
  ])('refuses stream URL %s with 400 naming %s', async (url, field) => {
    const res = await post('/api/devices', { name: '坏地址', streams: { main: url } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'bad_request', field });
  });

  it('refuses a snapshot URL that is not http(s)', async () => {
    const res = await post('/api/devices', { name: '坏快照', streams: { snapshot: 'rtsp://127.0.0.1/snap' } });
    expect(res.json()).toMatchObject({ field: 'streams.snapshot' });
  });

  it('refuses an ONVIF host with a scheme or path', async () => {
    const res = await post('/api/devices', { name: '坏主机', onvif: { host: 'http://127.0.0.1/onvif' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toBe('onvif.host');
  });

  it('refuses out-of-range values naming the field', async () => {
    const res = await post('/api/devices', { name: '坏坐标', location: { lat: 123, lon: 0 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toBe('location.lat');
    const code = await post('/api/devices', { name: '坏编码', code: '12345' });
    expect(code.json()).toMatchObject({ field: 'code' });
  });

  it('answers 404 for an unknown device and 400 for a malformed id', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/devices/00000000-0000-4000-8000-000000000000', headers: { cookie: admin } })).statusCode).toBe(404);
    const bad = await app.inject({ method: 'GET', url: '/api/devices/not-a-uuid', headers: { cookie: admin } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('id');
  });

  it('serves no file outside the web app, whatever the path', async () => {
    for (const url of ['/assets/..%2F..%2F..%2Fpackage.json', '/..%2F..%2Fpackage.json', '/assets/../../../../etc/passwd']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('"dependencies"');
      expect(res.body, url).not.toContain('root:x:0');
    }
  });

  it('answers 409 for a duplicate code', async () => {
    expect((await post('/api/devices', { name: 'A', code: '13053400001310009100' })).statusCode).toBe(201);
    const dup = await post('/api/devices', { name: 'B', code: '13053400001310009100' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ error: 'conflict', field: 'code' });
  });
});

describe('CSV import', () => {
  it('imports the good rows and reports each bad one with its field', async () => {
    await platform.pool.query(`INSERT INTO sites (code, name) VALUES ('CSV-SITE', '导入测试派出所') ON CONFLICT DO NOTHING`);
    const csv = [
      'name,code,kind,camera_type,site_code,lat,lon,heading,address,tags,onvif_host,onvif_port,username,password,rtsp_main,rtsp_sub,recording',
      '解放路口-01,13053400001310007001,camera,fixed,CSV-SITE,37.05,115.66,90,解放路,重点;夜间,127.0.0.1,8000,admin,CsvSecret1,rtsp://127.0.0.1:554/101,,continuous',
      '解放路口-02,13053400001310007002,camera,ptz,CSV-SITE,37.05,115.66,,解放路,,,,,,rtsp://127.0.0.1:554/102,,none',
      '坏地址,13053400001310007003,camera,fixed,,,,,,,,,,,file:///etc/passwd,,',
      '坏坐标,13053400001310007004,camera,fixed,,north,115.6,,,,,,,,,,',
      '坏站点,13053400001310007005,camera,fixed,NO-SUCH-SITE,,,,,,,,,,,,',
      ',13053400001310007006,camera,fixed,,,,,,,,,,,,,',
      '重复编码,13053400001310007001,camera,fixed,,,,,,,,,,,,,',
      'G308卡口,13053400001210000099,checkpoint,,CSV-SITE,37.1,115.7,0,G308,卡口,,,,,,,continuous',
    ].join('\n');
    const res = await app.inject({ method: 'POST', url: '/api/devices/import', headers: { cookie: admin, 'content-type': 'text/csv' }, payload: csv });
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report.created).toBe(3);
    expect(report.refused).toEqual([
      { row: 4, field: 'rtsp_main', reason: expect.stringContaining('rtsp') },
      { row: 5, field: 'lat', reason: expect.stringContaining('number') },
      { row: 6, field: 'site_code', reason: expect.stringContaining('NO-SUCH-SITE') },
      { row: 7, field: 'name', reason: expect.any(String) },
      { row: 8, field: 'code', reason: expect.stringContaining('row 2') },
    ]);
    expect(res.body).not.toContain('CsvSecret1');
    const again = await app.inject({ method: 'POST', url: '/api/devices/import', headers: { cookie: admin, 'content-type': 'text/csv' }, payload: csv.split('\n').slice(0, 2).join('\n') });
    expect(again.json()).toMatchObject({ created: 0, updated: 1 });
  });

  it('refuses a body that is not CSV', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/devices/import', headers: { cookie: admin, 'content-type': 'text/csv' }, payload: '"unterminated,quote\n' });
    expect(res.statusCode).toBe(200);
    expect(res.json().created).toBe(0);
    expect(res.json().refused[0].reason).toMatch(/CSV|header/);
  });
});

describe('secrets', () => {
  it('never appear in any response or log line', async () => {
    const list = await app.inject({ method: 'GET', url: '/api/devices?pageSize=500', headers: { cookie: admin } });
    expect(list.body).not.toContain(SECRET);
    expect(list.body).not.toContain('CsvSecret1');
    expect(list.body).not.toMatch(/password_enc|passwordEnc/);
    expect(logs.text()).not.toContain(SECRET);
    expect(logs.text()).not.toContain('CsvSecret1');
    expect(logs.text()).not.toContain('UrlSecret9');
  });
});
