import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { createNodeRepository } from '../../gateway/nodes/repository.ts';
import { createRecordingRepository } from '../../gateway/recordings/repository.ts';
import { createStreamRepository } from '../../gateway/streams/repository.ts';
import { checkMediaUrlInput } from '../../gateway/streams/url-policy.ts';
import { HttpError } from '../../core/http/errors.ts';
import { CSV_ENUMS } from '../../gateway/devices/csv.ts';
import { hashStreamKey } from '../../gateway/devices/validate.ts';
import zhCN from '../../console/web/src/i18n/zh-CN.ts';
import en from '../../console/web/src/i18n/en.ts';
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
    // Decommissioned: still found (its footage stays playable), gone from the list.
    const after = await app.inject({ method: 'GET', url: `/api/devices/${id}`, headers: { cookie: admin } });
    expect(after.statusCode).toBe(200);
    expect(after.json().decommissionedAt).toEqual(expect.any(String));
    expect((await app.inject({ method: 'GET', url: '/api/devices?q=建设街', headers: { cookie: monitor } })).json().total).toBe(0);
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

  it('keeps stream keys as hashes, shows one once to admins, and rotates it', async () => {
    const created = (await post('/api/devices', { name: '执法记录仪-0002', kind: 'mobile' })).json();
    const key = created.streamKey as string;
    expect(key).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // Stored as its SHA-256, never in clear.
    const { rows } = await platform.pool.query(`SELECT stream_key_hash FROM devices WHERE id = $1`, [created.id]);
    expect(rows[0].stream_key_hash).toBe(hashStreamKey(key));
    const { rows: clear } = await platform.pool.query(`SELECT count(*)::int AS n FROM devices WHERE row_to_json(devices)::text LIKE $1`, [`%${key}%`]);
    expect(clear[0].n).toBe(0);
    // Later answers say a key is set, and never what it is, to admins and staff alike.
    for (const cookie of [admin, monitor]) {
      const got = (await app.inject({ method: 'GET', url: `/api/devices/${created.id}`, headers: { cookie } })).json();
      expect(got).toMatchObject({ streamKey: null, hasStreamKey: true });
      expect(JSON.stringify(got)).not.toContain(key);
    }
    const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
    expect((await devices.byStreamKey(key))?.id).toBe(created.id);
    // Rotation: admins only, audited; the old key stops finding the device.
    expect((await post(`/api/devices/${created.id}/stream-key`, {}, monitor)).statusCode).toBe(403);
    const rotated = await post(`/api/devices/${created.id}/stream-key`, {});
    expect(rotated.statusCode, rotated.body).toBe(200);
    const fresh = rotated.json().streamKey as string;
    expect(fresh).not.toBe(key);
    expect(await devices.byStreamKey(key)).toBeNull();
    expect((await devices.byStreamKey(fresh))?.id).toBe(created.id);
    const { rows: audit } = await platform.pool.query(`SELECT outcome FROM audit_log WHERE action = 'device.stream_key_rotate' AND target_id = $1`, [created.id]);
    expect(audit.map((r) => r.outcome)).toEqual(['ok']);
    // A camera has no key to rotate.
    const camera = (await post('/api/devices', { name: '枪机-无密钥' })).json();
    const refused = await post(`/api/devices/${camera.id}/stream-key`, {});
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'device.not_mobile' });
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

  it('refuses a JSON body that is not valid UTF-8 with 400, storing nothing', async () => {
    const name = Buffer.concat([Buffer.from('{"name":"坏'), Buffer.from([0xff, 0xfe]), Buffer.from('字"}')]);
    const res = await app.inject({ method: 'POST', url: '/api/devices', payload: name, headers: { cookie: admin, 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'bad_request', code: 'request.invalid_utf8' });
    const { rows } = await platform.pool.query(`SELECT count(*)::int AS n FROM devices WHERE name LIKE '坏%字'`);
    expect(rows[0].n).toBe(0);
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

const HEADER = 'name,code,kind,camera_type,site_code,lat,lon,heading,address,tags,onvif_host,onvif_port,username,password,rtsp_main,rtsp_sub,recording';
const importCsv = (csv: string, query = '', contentType = 'text/csv') =>
  app.inject({ method: 'POST', url: `/api/devices/import${query}`, headers: { cookie: admin, 'content-type': contentType }, payload: csv });
const countCodes = async (codes: string[]) =>
  (await platform.pool.query('SELECT count(*)::int AS n FROM devices WHERE code = ANY($1::text[]) AND decommissioned_at IS NULL', [codes])).rows[0].n as number;
const importAudit = async (since: number) =>
  (await platform.pool.query(`SELECT action, outcome, target_id, details FROM audit_log WHERE id > $1 AND (action = 'device.import' OR details->>'source' = 'import') ORDER BY id`, [since])).rows;
const lastAuditId = async () => (await platform.pool.query('SELECT coalesce(max(id), 0)::int AS id FROM audit_log')).rows[0].id as number;

describe('CSV import', () => {
  const good = [
    '解放路口-01,13053400001310007001,camera,fixed,CSV-SITE,37.05,115.66,90,解放路,重点;夜间,127.0.0.1,8000,admin,CsvSecret1,rtsp://127.0.0.1:554/101,,continuous',
    '解放路口-02,13053400001310007002,摄像机,球机,CSV-SITE,37.05,115.66,,解放路,,,,,,rtsp://127.0.0.1:554/102,,不录像',
    'G308卡口,13053400001210000099,卡口,,CSV-SITE,37.1,115.7,0,G308,卡口,,,,,,,连续录像',
  ];
  const bad = [
    '坏地址,13053400001310007003,camera,fixed,,,,,,,,,,,file:///etc/passwd,,',
    '坏坐标,13053400001310007004,camera,fixed,,north,115.6,,,,,,,,,,',
    '坏站点,13053400001310007005,camera,fixed,NO-SUCH-SITE,,,,,,,,,,,,',
    ',13053400001310007006,camera,fixed,,,,,,,,,,,,,',
    '重复编码,13053400001310007001,camera,fixed,,,,,,,,,,,,,',
    // Three problems in one row: every one is reported.
    '三处错误,13053400001310007007,camera,枪,,,,,,,,,,,rtsp://%ZZ@127.0.0.1/x,,sometimes',
  ];
  const codes = ['13053400001310007001', '13053400001310007002', '13053400001210000099', '13053400001310007003', '13053400001310007004', '13053400001310007005', '13053400001310007006', '13053400001310007007'];

  beforeAll(async () => {
    await platform.pool.query(`INSERT INTO sites (code, name) VALUES ('CSV-SITE', '导入测试派出所') ON CONFLICT DO NOTHING`);
  });

  it('writes nothing when any row is refused, and reports every problem of every row in the file\'s own column names', async () => {
    const since = await lastAuditId();
    const res = await importCsv([HEADER, ...good, ...bad].join('\n'));
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({ applied: false, rows: 9, created: 0, updated: 0 });
    expect(report.refused.map((r: { row: number; field: string; code: string }) => [r.row, r.field, r.code])).toEqual([
      [5, 'rtsp_main', 'url.scheme'],
      [6, 'lat', 'csv.not_a_number'],
      [7, 'site_code', 'csv.site_unknown'],
      [8, 'name', 'validation.required'],
      [9, 'code', 'csv.code_repeats'],
      [10, 'camera_type', 'csv.not_allowed'],
      [10, 'recording', 'csv.not_allowed'],
      [10, 'rtsp_main', 'url.invalid'],
    ]);
    expect(report.refused[0].params).toMatchObject({ allowed: 'rtsp, rtsps, rtmp, http, https', got: 'file' });
    expect(report.refused[4].params).toMatchObject({ row: 2 });
    expect(report.refused[5].params.allowed).toContain('fixed（枪机）');
    for (const r of report.refused) {
      expect(r.reason).not.toMatch(/cameraType|streams\.main|location\.lat|siteId/);
      expect(r.params, r.code).toBeTypeOf('object');
    }
    expect(res.body).not.toContain('CsvSecret1');
    expect(await countCodes(codes)).toBe(0);
    // A refused file leaves one failed audit row with the refusal count, and no per-device rows.
    const audit = await importAudit(since);
    expect(audit).toEqual([expect.objectContaining({ action: 'device.import', outcome: 'failed', details: expect.objectContaining({ refused: 8, applied: false, rows: 9 }) })]);
  });

  it('imports a clean file in one go, Chinese labels included, with an audit row per device and a summary', async () => {
    const since = await lastAuditId();
    const res = await importCsv([HEADER, ...good].join('\n'));
    expect(res.json()).toMatchObject({ applied: true, rows: 3, created: 3, updated: 0, refused: [] });
    const list = await app.inject({ method: 'GET', url: '/api/devices?q=解放路口&sort=code', headers: { cookie: admin } });
    expect(list.json().items.map((d: { cameraType: string; recording: { mode: string } }) => [d.cameraType, d.recording.mode])).toEqual([['fixed', 'continuous'], ['ptz', 'none']]);
    const checkpoint = await app.inject({ method: 'GET', url: `/api/devices?q=G308`, headers: { cookie: admin } });
    expect(checkpoint.json().items[0]).toMatchObject({ kind: 'checkpoint', cameraType: null, recording: { mode: 'continuous' }, siteName: '导入测试派出所' });
    const audit = await importAudit(since);
    expect(audit.map((a) => [a.action, a.outcome, a.details.row ?? null])).toEqual([
      ['device.create', 'ok', 2], ['device.create', 'ok', 3], ['device.create', 'ok', 4], ['device.import', 'ok', null],
    ]);
    expect(audit[3].details).toMatchObject({ created: 3, updated: 0, refused: 0, applied: true });
    expect(audit[0].target_id).toEqual(expect.any(String));

    // The same rows again update the devices their codes name.
    const sinceAgain = await lastAuditId();
    const again = await importCsv([HEADER, good[0]!].join('\n'));
    expect(again.json()).toMatchObject({ applied: true, created: 0, updated: 1 });
    expect((await importAudit(sinceAgain)).map((a) => a.action)).toEqual(['device.update', 'device.import']);
  });

  it('imports the template the web app downloads, as it stands, in both languages', async () => {
    for (const locale of ['zh-CN', 'en']) {
      const template = await app.inject({ method: 'GET', url: `/api/devices/import/template?locale=${locale}`, headers: { cookie: admin } });
      expect(template.statusCode).toBe(200);
      expect(template.headers['content-type']).toContain('text/csv');
      expect(template.body.startsWith('\uFEFFname,code,kind,camera_type,site_code')).toBe(true);
      if (locale === 'zh-CN') expect(template.body).toContain('摄像机,球机');
      // What the dialog does with a file: strip the BOM and send it.
      const res = await importCsv(template.body.replace(/^\uFEFF/, ''));
      expect(res.json(), locale).toMatchObject({ applied: true, refused: [] });
      expect(res.json().created + res.json().updated).toBe(1);
    }
    const d = (await app.inject({ method: 'GET', url: '/api/devices?q=33010600001320000001', headers: { cookie: admin } })).json().items[0];
    // The example row names a station of this installation: other files' sites share the run's database,
    // so the expected site is the one the service picks (the first station), read here the same way.
    const { rows: stations } = await platform.pool.query(`SELECT name FROM sites WHERE kind = 'station' ORDER BY code LIMIT 1`);
    expect(d).toMatchObject({ kind: 'camera', cameraType: 'ptz', ptz: true, recording: { mode: 'continuous', retentionDays: 30 }, siteName: stations[0]?.name ?? '导入测试派出所' });
  });

  it('refuses rows that repeat a registered endpoint or stream URL unless confirmed', async () => {
    const row = (name: string, code: string) => `${name},${code},camera,fixed,,,,,,,127.0.0.1,8000,,,rtsp://127.0.0.1:554/101,,`;
    const csv = [HEADER, row('重复端点-A', 'DUP-CSV-1'), row('重复端点-B', 'DUP-CSV-2')].join('\n');
    const res = await importCsv(csv);
    const refused = res.json().refused as { row: number; field: string; code: string; params: Record<string, unknown> }[];
    expect(res.json().applied).toBe(false);
    expect(refused.filter((r) => r.code === 'device.duplicate').map((r) => [r.row, r.field, r.params.attribute, r.params.deviceName])).toEqual([
      [2, 'onvif_host', 'onvif', '解放路口-01'], [2, 'rtsp_main', 'stream', '解放路口-01'],
      [3, 'onvif_host', 'onvif', '解放路口-01'], [3, 'rtsp_main', 'stream', '解放路口-01'],
    ]);
    expect(refused.filter((r) => r.code === 'csv.duplicate_row').map((r) => [r.row, r.params.row])).toEqual([[3, 2], [3, 2]]);
    expect(await countCodes(['DUP-CSV-1', 'DUP-CSV-2'])).toBe(0);
    const confirmed = await importCsv(csv, '?confirmDuplicate=true');
    expect(confirmed.json()).toMatchObject({ applied: true, created: 2 });
  });

  it('refuses a body that is not CSV, and an empty one', async () => {
    const res = await importCsv('"unterminated,quote\n');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ applied: false, created: 0, refused: [{ row: 0, code: 'csv.unreadable' }] });
    const empty = await importCsv('  ');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe('csv.empty');
    const unknown = await importCsv('name,cameraType\n甲,fixed\n');
    expect(unknown.json()).toMatchObject({ applied: false, refused: [{ row: 1, field: 'cameratype', code: 'csv.unknown_columns' }] });
  });

  it('parses text/plain on the import route only: JSON routes refuse it', async () => {
    const plain = await importCsv(`${HEADER}\n纯文本导入,PLAIN-1,camera,fixed,,,,,,,,,,,,,`, '', 'text/plain');
    expect(plain.json()).toMatchObject({ applied: true, created: 1 });
    const json = await app.inject({ method: 'POST', url: '/api/devices', headers: { cookie: admin, 'content-type': 'text/plain' }, payload: '{"name":"跨站表单"}' });
    expect(json.statusCode).toBe(415);
    const patch = await app.inject({ method: 'PATCH', url: '/api/devices/00000000-0000-4000-8000-000000000000', headers: { cookie: admin, 'content-type': 'text/plain' }, payload: 'name=x' });
    expect(patch.statusCode).toBe(415);
  });

  it('knows the labels the web app shows for every enumeration value', () => {
    for (const [column, key] of [['kind', 'kind'], ['camera_type', 'cameraType'], ['recording', 'recordingMode']] as const) {
      for (const [value, labels] of Object.entries(CSV_ENUMS[column])) {
        expect(labels[0], `${column}=${value}`).toBe((zhCN.device as unknown as Record<string, Record<string, string>>)[key]![value]);
        expect(labels[1], `${column}=${value}`).toBe((en.device as unknown as Record<string, Record<string, string>>)[key]![value]);
      }
    }
  });
});

describe('malformed stream URLs', () => {
  it.each([
    ['rtsp://%ZZ@127.0.0.1/x', 'url.invalid'],
    ['rtsp://admin:%E0%A4%A@127.0.0.1/x', 'url.invalid'],
    ['rtsp://%ZZ/x', 'url.invalid'],
    ['rtsp:///x', 'url.no_host'],
    ['ftp://127.0.0.1/x', 'url.scheme'],
    ['rtsp://a b/', 'url.control_chars'],
  ])('answers 400 for %s with code %s naming the field, never 500', async (url, code) => {
    const res = await post('/api/devices', { name: '坏地址', streams: { sub: url } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ error: 'bad_request', field: 'streams.sub', code, params: { field: 'streams.sub' } });
    const patch = await app.inject({ method: 'PATCH', url: `/api/devices/${(await post('/api/devices', { name: `好地址-${code}-${url.length}` })).json().id}`, headers: { cookie: admin }, payload: { streams: { main: url } } });
    expect(patch.statusCode).toBe(400);
    expect(patch.json()).toMatchObject({ field: 'streams.main', code });
  });

  it('names the allowed schemes and the one given', async () => {
    const res = await post('/api/devices', { name: '坏协议', streams: { main: 'gopher://127.0.0.1/x' } });
    expect(res.json()).toMatchObject({ code: 'url.scheme', params: { allowed: 'rtsp, rtsps, rtmp, http, https', got: 'gopher' } });
    const snap = await post('/api/devices', { name: '坏快照', streams: { snapshot: 'rtsp://127.0.0.1/snap' } });
    expect(snap.json()).toMatchObject({ code: 'url.scheme', params: { allowed: 'http, https', got: 'rtsp' } });
  });

  it('gives the ONVIF-reported URIs the same rules (checkMediaUrlInput)', () => {
    expect(checkMediaUrlInput('', 'profiles.0.rtspUri')).toBeNull();
    expect(checkMediaUrlInput('rtsp://u:p@10.0.0.9/ch1', 'profiles.0.rtspUri')).toMatchObject({ url: 'rtsp://10.0.0.9/ch1', username: 'u', password: 'p' });
    for (const [url, code] of [['rtsp://%ZZ@1.2.3.4/', 'url.invalid'], ['x'.repeat(3000), 'url.too_long'], ['file:///etc/passwd', 'url.scheme']] as const) {
      let thrown: unknown;
      try { checkMediaUrlInput(url, 'snapshotUri', ['http', 'https', 'rtsp']); } catch (err) { thrown = err; }
      expect(thrown).toBeInstanceOf(HttpError);
      expect(thrown).toMatchObject({ statusCode: 400, field: 'snapshotUri', code });
    }
  });

  it('refuses the malformed URL in a CSV row without writing the rows before it, and audits the refusal', async () => {
    const rows = ['一号,URLCSV-1', '二号,URLCSV-2', '三号,URLCSV-3', '四号,URLCSV-4'].map((r, i) => `${r},camera,fixed,,,,,,,,,,,rtsp://127.0.0.1:554/u${i},,`);
    const res = await importCsv([HEADER, ...rows, '五号,URLCSV-5,camera,fixed,,,,,,,,,,,rtsp://%ZZ@127.0.0.1/x,,'].join('\n'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ applied: false, created: 0, refused: [{ row: 6, field: 'rtsp_main', code: 'url.invalid' }] });
    expect(await countCodes(['URLCSV-1', 'URLCSV-2', 'URLCSV-3', 'URLCSV-4', 'URLCSV-5'])).toBe(0);
    const { rows: audit } = await platform.pool.query(`SELECT outcome, details FROM audit_log WHERE action = 'device.import' ORDER BY id DESC LIMIT 1`);
    expect(audit[0]).toMatchObject({ outcome: 'failed', details: { refused: 1, rows: 5 } });
  });
});

describe('registering a device twice', () => {
  let first: { id: string; name: string };
  beforeAll(async () => {
    const res = await post('/api/devices', {
      name: '已登记的球机', code: 'DUP-FIRST', serial: 'SN-0042-XYZ', onvif: { host: '10.77.0.5', port: 8080 }, streams: { main: 'rtsp://10.77.0.5:554/main', sub: 'rtsp://10.77.0.5:554/sub' },
    });
    expect(res.statusCode, res.body).toBe(201);
    first = res.json();
  });

  it.each([
    ['ONVIF endpoint', { onvif: { host: '10.77.0.5', port: 8080 } }, 'onvif', 'onvif.host', '10.77.0.5:8080'],
    ['ONVIF endpoint (case of the host aside)', { onvif: { host: 'CAM.EXAMPLE', port: 80 } }, null, null, null],
    ['serial number', { serial: 'SN-0042-XYZ' }, 'serial', 'serial', 'SN-0042-XYZ'],
    ['stream URL (credentials aside)', { streams: { main: 'rtsp://viewer:pw@10.77.0.5:554/main' } }, 'stream', 'streams.main', 'rtsp://10.77.0.5:554/main'],
    ['sub stream as the other\'s main', { streams: { sub: 'rtsp://10.77.0.5:554/main' } }, 'stream', 'streams.sub', 'rtsp://10.77.0.5:554/main'],
  ])('a repeated %s answers 409 device.duplicate naming the device, unless confirmed', async (_what, fields, attribute, field, value) => {
    const name = `第二台-${Math.random().toString(36).slice(2, 8)}`;
    const since = await lastAuditId();
    const res = await post('/api/devices', { name, ...fields });
    if (attribute === null) {
      expect(res.statusCode).toBe(201);
      return;
    }
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ error: 'conflict', code: 'device.duplicate', field, params: { attribute, value, deviceId: first.id, deviceName: '已登记的球机', deviceCode: 'DUP-FIRST' } });
    expect((await app.inject({ method: 'GET', url: `/api/devices?q=${encodeURIComponent(name)}`, headers: { cookie: admin } })).json().total).toBe(0);
    // The refusal is audited (by the console's hook for refused writes, under the route's action).
    const failedRows = async () => (await platform.pool.query(`SELECT outcome, details FROM audit_log WHERE action = 'device.create' AND outcome = 'failed' AND id > $1`, [since])).rows;
    await expect.poll(async () => (await failedRows()).length, { timeout: 5000 }).toBe(1);
    expect(await failedRows()).toEqual([expect.objectContaining({ details: expect.objectContaining({ status: 409, code: 'device.duplicate' }) })]);
    const confirmed = await post('/api/devices', { name, ...fields, confirmDuplicate: true });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const { rows } = await platform.pool.query(
      `SELECT outcome, target_id, details FROM audit_log WHERE action = 'device.create' AND outcome = 'ok' AND (details->>'name' = $1) ORDER BY id`, [name]);
    expect(rows).toEqual([
      expect.objectContaining({ target_id: confirmed.json().id, details: expect.objectContaining({ confirmedDuplicate: true, duplicateOf: { deviceId: first.id, attribute } }) }),
    ]);
  });

  it('asks again only when an edit changes the attribute to another device\'s', async () => {
    const other = (await post('/api/devices', { name: '第三台', onvif: { host: '10.77.0.6', port: 80 } })).json();
    const rename = await app.inject({ method: 'PATCH', url: `/api/devices/${other.id}`, headers: { cookie: admin }, payload: { name: '第三台-改名', onvif: { host: '10.77.0.6', port: 80 } } });
    expect(rename.statusCode).toBe(200);
    const move = await app.inject({ method: 'PATCH', url: `/api/devices/${other.id}`, headers: { cookie: admin }, payload: { onvif: { host: '10.77.0.5', port: 8080 } } });
    expect(move.statusCode).toBe(409);
    expect(move.json()).toMatchObject({ code: 'device.duplicate', params: { deviceId: first.id } });
    const own = await app.inject({ method: 'PATCH', url: `/api/devices/${first.id}`, headers: { cookie: admin }, payload: { onvif: { host: '10.77.0.5', port: 8080 }, serial: 'SN-0042-XYZ' } });
    expect(own.statusCode, own.body).toBe(200);
  });
});

describe('deleting a device decommissions it', () => {
  const nodeId = `gw-decom-${Math.random().toString(36).slice(2, 8)}`;
  let id: string;
  const startsAt = new Date(Date.now() - 10 * 60_000);

  beforeAll(async () => {
    const res = await post('/api/devices', { name: '即将拆除的相机', code: 'DECOM-0001', streams: { main: 'rtsp://10.88.0.1/live' }, recording: { mode: 'continuous', retentionDays: 7 } });
    id = res.json().id;
    // What a gateway node leaves: its row, the device's lease, and indexed segments.
    await platform.pool.query(`INSERT INTO gateway_nodes (id, internal_url, public_url, max_sessions) VALUES ($1, 'http://127.0.0.1:1', 'http://gw.test:8090', 8)`, [nodeId]);
    await platform.pool.query(`INSERT INTO device_leases (device_id, node_id, expires_at) VALUES ($1, $2, now() + interval '30 seconds')`, [id, nodeId]);
    const segs = [0, 1, 2].map((i) => ({ deviceId: id, startsAt: new Date(startsAt.getTime() + i * 10_000), endsAt: new Date(startsAt.getTime() + (i + 1) * 10_000), path: `rec/${id}/x/${i}.ts`, bytes: 1000 }));
    expect((await createRecordingRepository(platform.pool).insertSegments(segs, nodeId)).inserted).toBe(3);
  });
  afterAll(async () => {
    // Leave no fake live node for the test files after this one.
    await platform.pool.query('DELETE FROM gateway_nodes WHERE id = $1', [nodeId]);
  });

  it('keeps its footage searchable and playable, takes it off the list and the gateway, and frees its code', async () => {
    const logStart = logs.lines.length;
    const del = await app.inject({ method: 'DELETE', url: `/api/devices/${id}`, headers: { cookie: admin } });
    expect(del.statusCode).toBe(204);

    // The gateway's next claim drops the lease of a device out of service.
    expect(await createNodeRepository(platform.pool).claim(nodeId, 30)).not.toContain(id);
    const conns = await createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box }).connections([id]);
    expect(conns).toEqual([]);
    // What the gateway still writes about it (the last segment, the session's "stopped") lands: the row is still there.
    const late = await createRecordingRepository(platform.pool).insertSegments([{ deviceId: id, startsAt: new Date(startsAt.getTime() + 30_000), endsAt: new Date(startsAt.getTime() + 40_000), path: `rec/${id}/x/3.ts`, bytes: 1000 }], nodeId);
    expect(late).toEqual({ inserted: 1, unknownDevices: [] });
    await createStreamRepository(platform.pool).recordChange(nodeId, { deviceId: id, state: 'stopped', reason: 'device removed', mode: null, stderrTail: null } as never);

    const list = await app.inject({ method: 'GET', url: '/api/devices?q=即将拆除', headers: { cookie: monitor } });
    expect(list.json().total).toBe(0);
    const got = await app.inject({ method: 'GET', url: `/api/devices/${id}`, headers: { cookie: monitor } });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ decommissionedAt: expect.any(String), enabled: false, recording: { retentionDays: 7 } });

    const timeline = await app.inject({ method: 'GET', url: `/api/devices/${id}/timeline`, headers: { cookie: monitor } });
    expect(timeline.statusCode, timeline.body).toBe(200);
    expect(timeline.json().ranges.filter((r: { kind: string }) => r.kind === 'footage')).toHaveLength(1);
    const footage = await app.inject({
      method: 'POST', url: `/api/devices/${id}/footage`, headers: { cookie: monitor },
      payload: { from: startsAt.toISOString(), to: new Date(startsAt.getTime() + 40_000).toISOString(), reason: '退役设备录像调阅' },
    });
    expect(footage.statusCode, footage.body).toBe(200);
    expect(footage.json()).toMatchObject({ url: expect.stringMatching(new RegExp(`^http://gw\\.test:8090/media/vod/${id}/`)), segments: 4 });

    expect(logs.lines.slice(logStart).join('')).not.toMatch(/foreign key|23503|not in the registry/i);
    const { rows } = await platform.pool.query(`SELECT action, details FROM audit_log WHERE target_id = $1 AND action = 'device.delete'`, [id]);
    expect(rows).toEqual([expect.objectContaining({ details: expect.objectContaining({ decommissioned: true, retentionDays: 7 }) })]);

    // Its code is free for the camera that replaces it.
    const replacement = await post('/api/devices', { name: '替换的相机', code: 'DECOM-0001', streams: { main: 'rtsp://10.88.0.1/live' } });
    expect(replacement.statusCode, replacement.body).toBe(201);
  });

  it('cannot be changed or deleted again', async () => {
    const patch = await app.inject({ method: 'PATCH', url: `/api/devices/${id}`, headers: { cookie: admin }, payload: { name: '复活' } });
    expect(patch.statusCode).toBe(409);
    expect(patch.json()).toMatchObject({ code: 'device.decommissioned', params: { name: '即将拆除的相机' } });
    expect((await app.inject({ method: 'DELETE', url: `/api/devices/${id}`, headers: { cookie: admin } })).statusCode).toBe(404);
  });
});

describe('sorting and the site tree', () => {
  const tag = `排序-${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    for (const name of ['万达广场', '人民路', '光明街', '长江路', '青年路']) await post('/api/devices', { name, tags: [tag] });
  });
  const names = async (query: string, headers: Record<string, string> = {}) =>
    (await app.inject({ method: 'GET', url: `/api/devices?tag=${encodeURIComponent(tag)}&sort=name${query}`, headers: { cookie: admin, ...headers } })).json().items.map((d: { name: string }) => d.name);

  it('sorts names by pinyin in zh-CN (the browser\'s zh-CN collation), by code point in en', async () => {
    const pinyin = ['光明街', '青年路', '人民路', '万达广场', '长江路'];
    expect(await names('&locale=zh-CN')).toEqual(pinyin);
    expect([...pinyin].sort(new Intl.Collator('zh-CN').compare)).toEqual(pinyin);
    expect(await names('&locale=zh-CN&order=desc')).toEqual([...pinyin].reverse());
    expect(await names('', { 'accept-language': 'zh-CN,zh;q=0.9' })).toEqual(pinyin);
    expect(await names('&locale=en')).toEqual(['万达广场', '人民路', '光明街', '长江路', '青年路']);
    expect(await names('', { 'accept-language': 'en-US,en;q=0.9' })).toEqual(['万达广场', '人民路', '光明街', '长江路', '青年路']);
  });

  it('filters by a site and every site below it', async () => {
    const site = async (code: string, name: string, parent: string | null) =>
      (await platform.pool.query(`INSERT INTO sites (code, name, kind, parent_id) VALUES ($1, $2, $3, $4) RETURNING id`, [code, name, parent ? 'station' : 'area', parent])).rows[0].id as string;
    const city = await site('TREE-CITY', '市局', null);
    const district = await site('TREE-DIST', '分局', city);
    const station = await site('TREE-STN', '派出所', district);
    const other = await site('TREE-OTHER', '另一分局', null);
    for (const [name, siteId] of [['市局门口', city], ['分局门口', district], ['派出所门口', station], ['别处门口', other]] as const) {
      expect((await post('/api/devices', { name, siteId, tags: ['tree'] })).statusCode).toBe(201);
    }
    const under = async (siteId: string) =>
      (await app.inject({ method: 'GET', url: `/api/devices?tag=tree&siteId=${siteId}&locale=zh-CN`, headers: { cookie: admin } })).json().items.map((d: { name: string }) => d.name);
    expect(await under(city)).toEqual(['分局门口', '派出所门口', '市局门口']);
    expect(await under(district)).toEqual(['分局门口', '派出所门口']);
    expect(await under(station)).toEqual(['派出所门口']);
    expect(await under(other)).toEqual(['别处门口']);
    const sites = (await app.inject({ method: 'GET', url: '/api/sites', headers: { cookie: admin } })).json().items;
    expect(sites.find((s: { id: string }) => s.id === station)).toMatchObject({ parentId: district });
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
