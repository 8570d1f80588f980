import { describe, expect, it } from 'vitest';
import { deriveKeys, open, seal, signMediaToken, verifyMediaToken } from '../../core/crypto.ts';
import { allows } from '../../core/identity/guard.ts';
import { scrubUrl } from '../../core/log.ts';
import { judgeHealth } from '../../gateway/health/judge.ts';
import { checkMediaUrl, PROTOCOL_WHITELIST, UrlRefused, withCredentials } from '../../gateway/streams/url-policy.ts';
import { parseDeviceCsv } from '../../gateway/devices/csv.ts';

describe('media URL policy', () => {
  it('accepts the five media schemes and strips credentials', () => {
    for (const scheme of ['rtsp', 'rtsps', 'rtmp', 'http', 'https']) {
      expect(checkMediaUrl(`${scheme}://cam.local:1234/path`, 'f').scheme).toBe(scheme);
    }
    expect(checkMediaUrl('rtsp://u%40x:p%3Aw@10.0.0.5/ch1', 'f')).toEqual({ url: 'rtsp://10.0.0.5/ch1', scheme: 'rtsp', username: 'u@x', password: 'p:w' });
  });

  it.each(['file:///etc/passwd', 'concat:a|b', 'subfile:,,start,0,:/etc/passwd', 'data:,x', 'pipe:1', 'FILE:///x', 'gopher://x', 'rtsp:///nohost', 'rtsp://a\nb', ' rtsp://x'])('refuses %j', (url) => {
    expect(() => checkMediaUrl(url, 'streams.main')).toThrow(UrlRefused);
  });

  it('gives ffmpeg a whitelist without local protocols', () => {
    for (const list of Object.values(PROTOCOL_WHITELIST)) {
      expect(list.split(',')).not.toContain('file');
      expect(list.split(',')).not.toContain('concat');
      expect(list.split(',')).not.toContain('subfile');
    }
  });

  it('puts credentials back only for ffmpeg, and the log scrubber removes them', () => {
    const url = withCredentials('rtsp://10.1.1.1/ch1', 'admin', 'p@ss word');
    expect(url).toBe('rtsp://admin:p%40ss%20word@10.1.1.1/ch1');
    expect(scrubUrl(`ffmpeg -i ${url} -f hls`)).toBe('ffmpeg -i rtsp://***:***@10.1.1.1/ch1 -f hls');
    expect(scrubUrl('GET /x?token=abc.def&cam=1')).toBe('GET /x?token=***&cam=1');
    expect(scrubUrl('-i rtmp://127.0.0.1:1935/live/SeCrEtKeY -f hls')).toBe('-i rtmp://127.0.0.1:1935/live/*** -f hls');
  });
});

describe('health judgement', () => {
  const ok = { ok: true } as const;
  const down = (code: string) => ({ ok: false as const, code, message: `${code} happened` });
  it.each([
    [{ onvif: ok, rtsp: ok }, 'online'],
    [{ onvif: down('unreachable'), rtsp: down('unreachable') }, 'offline'],
    [{ onvif: down('timeout') }, 'offline'],
    [{ onvif: ok, rtsp: down('timeout') }, 'degraded'],
    [{ onvif: down('auth'), rtsp: ok }, 'degraded'],
    [{ onvif: down('auth') }, 'degraded'],
    [{}, 'unknown'],
  ])('%o → %s', (checks, state) => {
    expect(judgeHealth(checks).state).toBe(state);
  });
  it('keeps every reason', () => {
    expect(judgeHealth({ onvif: down('timeout'), rtsp: down('unreachable') }).reason).toBe('timeout happened; unreachable happened');
  });
});

describe('access rule', () => {
  const user = (roles: string[]) => ({ kind: 'user' as const, userId: 'u', username: 'u', roles: roles as never });
  const service = { kind: 'service' as const, userId: null, username: 'service', roles: [] };
  it('decides', () => {
    expect(allows('public', null)).toBe('ok');
    expect(allows({ roles: ['admin'] }, null)).toBe('unauthenticated');
    expect(allows({ roles: ['admin'] }, user(['monitor']))).toBe('forbidden');
    expect(allows({ roles: ['admin', 'monitor'] }, user(['monitor']))).toBe('ok');
    expect(allows('service', user(['admin']))).toBe('forbidden');
    expect(allows('service', service)).toBe('ok');
    expect(allows({ roles: ['admin'] }, service)).toBe('forbidden');
  });
});

describe('crypto', () => {
  const keys = deriveKeys(Buffer.alloc(32, 7));
  it('seals and opens; a flipped bit is refused', () => {
    const box = seal(keys.box, '摄像机密码');
    expect(open(keys.box, box)).toBe('摄像机密码');
    box[box.length - 1]! ^= 1;
    expect(() => open(keys.box, box)).toThrow();
  });
  it('media tokens bind claims and expire', () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const claims = { sub: 'u1', cam: 'c1', kid: 'v1', iat: exp - 60, exp, scope: 'live' as const };
    const token = signMediaToken(keys.mediaKey('v1'), claims);
    expect(verifyMediaToken(keys.mediaKey('v1'), token)).toMatchObject({ cam: 'c1', kid: 'v1' });
    const [body, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, cam: 'c2' })).toString('base64url');
    expect(verifyMediaToken(keys.mediaKey('v1'), `${forged}.${mac}`)).toBeNull();
    expect(verifyMediaToken(keys.mediaKey('v1'), `${body}.${mac}`, (exp + 1) * 1000)).toBeNull();
    expect(verifyMediaToken(deriveKeys(Buffer.alloc(32, 8)).mediaKey('v1'), token)).toBeNull();
    expect(verifyMediaToken(keys.mediaKey('m2'), token)).toBeNull();
  });
});

describe('CSV parsing', () => {
  it('numbers rows as a spreadsheet does and splits tags', () => {
    const { rows, refused } = parseDeviceCsv('\uFEFFname,tags,lat,lon\n甲,a;b|c,1,2\n乙,,x,2\n');
    // A row with a bad cell is still returned (without it), so its other problems are reported too.
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ row: 2, input: { name: '甲', tags: ['a', 'b', 'c'], location: { lat: 1, lon: 2 } } });
    expect(rows[1]).toMatchObject({ row: 3, input: { name: '乙', location: null } });
    expect(refused).toEqual([{ row: 3, field: 'lat', code: 'csv.not_a_number', params: { field: 'lat', value: 'x' }, reason: 'lat must be a number (got "x")' }]);
  });
  it('refuses a file without a header', () => {
    expect(parseDeviceCsv('1,2,3\n').refused[0]).toMatchObject({ field: 'name', code: 'csv.no_header' });
  });
  it('takes the labels the UI shows for enumerations, and 是/否', () => {
    const { rows, refused } = parseDeviceCsv('name,kind,camera_type,recording,ptz,enabled\n甲,摄像机,枪机,连续录像,是,否\n乙,卡口,,不录像,,\n丙,Camera,Face capture,EVENT,no,1\n');
    expect(refused).toEqual([]);
    expect(rows.map((r) => r.input)).toMatchObject([
      { kind: 'camera', cameraType: 'fixed', recording: { mode: 'continuous' }, ptz: true, enabled: false },
      { kind: 'checkpoint', recording: { mode: 'none' } },
      { kind: 'camera', cameraType: 'face', recording: { mode: 'event' }, ptz: false, enabled: true },
    ]);
  });
  it('reports every bad cell of a row, naming the CSV column and the allowed values', () => {
    const { refused } = parseDeviceCsv('name,camera_type,lat,lon,ptz\n甲,枪,north,x,也许\n');
    expect(refused.map((r) => [r.field, r.code])).toEqual([['lat', 'csv.not_a_number'], ['lon', 'csv.not_a_number'], ['camera_type', 'csv.not_allowed'], ['ptz', 'csv.not_boolean']]);
    expect(refused[2]?.params.allowed).toBe('fixed（枪机）, ptz（球机）, face（人脸抓拍机）');
  });
});
