import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { mediaTokenKid, signMediaToken } from '../../core/crypto.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { loginAs, testPlatform, waitUntil, type LogCapture } from '../helpers/platform.ts';

// Live view and footage end to end: console API → gateway session → ffmpeg pulling the
// simulator over RTSP/TCP → HLS served with signed tokens; recording → index → VOD; RTMP push.
let platform: Platform;
let logs: LogCapture;
let close: () => Promise<void>;
let gateway: Gateway;
let consoleApp: App;
let sim: Simulator;
let monitor: string;
let admin: string;
let camId: string;
let otherId: string;
const run = randomBytes(3).toString('hex');
// Never spawnSync here: the gateway serving ffprobe runs in this very process.
const ffprobe = async (url: string) => JSON.parse((await promisify(execFile)('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', url], { timeout: 20_000 })).stdout) as { streams: Record<string, unknown>[] };

beforeAll(async () => {
  ({ platform, logs, close } = await testPlatform({ 'health.intervalSeconds': 3600, 'gateway.idleStopSeconds': 5 }));
  sim = await startSimulator({ cameras: [{ id: `live-${run}`, name: '人民路口-直播', width: 320, height: 180, fps: 10 }], host: '127.0.0.1' });
  gateway = await startGateway(platform);
  consoleApp = await buildConsole(platform);
  await consoleApp.ready();
  admin = (await loginAs(consoleApp, platform, ['admin'])).cookie;
  monitor = (await loginAs(consoleApp, platform, ['monitor'])).cookie;
  const cam = sim.cameras[0]!;
  const created = await consoleApp.inject({ method: 'POST', url: '/api/devices', headers: { cookie: admin }, payload: {
    name: cam.spec.name, onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
    streams: { main: cam.rtspUri('main') },
  } });
  camId = created.json().id;
  otherId = (await consoleApp.inject({ method: 'POST', url: '/api/devices', headers: { cookie: admin }, payload: { name: '另一台相机', streams: { main: 'rtsp://127.20.0.1/x' } } })).json().id;
  await waitUntil(() => gateway.membership.held().includes(camId), 15_000, 'the gateway to hold the camera');
});
afterAll(async () => {
  await consoleApp?.close();
  await gateway?.close();
  await sim?.close();
  await close?.();
});

/** The token of a media URL: the path segment after the device (/media/<live|vod>/<device>/<token>/…). */
const tokenOf = (url: string) => new URL(url).pathname.split('/')[4]!;
const startLive = (cookie = monitor, id = camId) => consoleApp.inject({ method: 'POST', url: `/api/devices/${id}/live`, headers: { cookie }, payload: { waitMs: 10_000 } });

describe('live view', () => {
  let url: string;

  it('starts the session and returns a token-bound gateway URL once a segment is playable', async () => {
    const res = await startLive();
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.playable).toBe(true);
    expect(body.session).toMatchObject({ deviceId: camId, mode: 'copy' });
    url = body.url;
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/media/live/${camId}/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+/index\\.m3u8$`));
    const { rows } = await platform.pool.query(`SELECT actor_name FROM audit_log WHERE action = 'live.view' AND target_id = $1`, [camId]);
    expect(rows.length).toBe(1);
  });

  it('serves a valid live playlist: ffprobe reads it, segments advance, program date-time is within 2 s of the clock', async () => {
    const first = await (await fetch(url)).text();
    expect(first).toContain('#EXT-X-PROGRAM-DATE-TIME');
    const segLines = first.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(segLines.length).toBeGreaterThan(0);
    // Relative segment URIs: they resolve under the token's path and never repeat it.
    expect(segLines.every((l) => /^seg-\d+\.ts$/.test(l))).toBe(true);
    expect(first).not.toContain(tokenOf(url));
    const seg = await fetch(new URL(segLines.at(-1)!, url));
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect(seg.headers.get('access-control-allow-origin')).toBe('*');
    expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(188);

    expect((await ffprobe(url)).streams[0]).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });

    const seq = (t: string) => Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(t)?.[1]);
    await new Promise((r) => setTimeout(r, 3000));
    const later = await (await fetch(url)).text();
    expect(seq(later) + later.split('\n').filter((l) => l && !l.startsWith('#')).length).toBeGreaterThan(seq(first) + segLines.length);
    // The newest segment: its program date-time plus its duration is the live edge.
    let pdt = NaN, dur = NaN;
    for (const line of later.split('\n')) {
      if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25));
      if (line.startsWith('#EXTINF:')) dur = Number.parseFloat(line.slice(8));
    }
    const liveEdge = pdt + dur * 1000;
    expect(Math.abs(Date.now() - liveEdge)).toBeLessThan(2000);
  });

  it('gives a second viewer the same session: the camera sees one RTSP client', async () => {
    const second = await startLive((await loginAs(consoleApp, platform, ['supervisor'])).cookie);
    expect(second.statusCode).toBe(200);
    expect(gateway.sessions.list().filter((s) => s.deviceId === camId)).toHaveLength(1);
    expect(sim.cameras[0]!.rtspClients()).toBe(1);
  });

  it('refuses missing, altered, expired and other-camera tokens, and paths outside the media root, echoing no token', async () => {
    const u = new URL(url);
    const token = tokenOf(url);
    const kid = mediaTokenKid(token)!;
    const at = (t: string, rest = 'index.m3u8', cam = camId) => `${u.origin}/media/live/${cam}/${t}/${rest}`;
    const answer = async (path: string) => { const res = await fetch(path); const text = await res.text(); return { status: res.status, text, code: res.ok ? null : JSON.parse(text).code }; };
    expect((await answer(`${u.origin}/media/live/${camId}/index.m3u8?token=${token}`)).status).toBe(404); // the old query form is gone
    expect(await answer(at(`${token.slice(0, -2)}xx`))).toMatchObject({ status: 401, code: 'media.token_invalid' });
    const now = Math.floor(Date.now() / 1000);
    const expired = signMediaToken(platform.keys.mediaKey(kid), { sub: 'u', cam: camId, kid, scope: 'live', iat: now - 600, exp: now - 5 });
    expect(await answer(at(expired))).toMatchObject({ status: 401, code: 'media.token_expired' });
    const unknownKid = signMediaToken(platform.keys.mediaKey('nobody-knows'), { sub: 'u', cam: camId, kid: 'nobody-knows', scope: 'live', iat: now, exp: now + 60 });
    expect(await answer(at(unknownKid))).toMatchObject({ status: 401, code: 'media.token_invalid' });
    expect(await answer(at(token, 'index.m3u8', otherId))).toMatchObject({ status: 403, code: 'media.token_wrong_camera' });
    const vod = signMediaToken(platform.keys.mediaKey(kid), { sub: 'u', cam: camId, kid, scope: 'vod', iat: now, exp: now + 60 });
    expect((await answer(at(vod))).status).toBe(403);
    for (const path of [at(token, '..%2F..%2F..%2Fsecret.key'), at(token, 'seg-1.ts%00.m3u8'), `${u.origin}/media/live/${camId}/${token}/../../../secret.key`, `${u.origin}/media/../secret.key`,
      at(token, 'no/such/thing'), at(token, '%E0%A4%A'), `${u.origin}/media/live/${camId}/${token}`]) {
      const res = await answer(path);
      expect([400, 404], path).toContain(res.status);
      expect(res.text).not.toMatch(/^[A-Za-z0-9+/]{43}=/);
      expect(res.text, path).not.toContain(token);
      expect(res.text, path).not.toContain(token.split('.')[1]!);
    }
  });

  it('keeps playing across a media key rotation: the old token works within the grace, a new one carries the new kid', async () => {
    const before = mediaTokenKid(tokenOf(url))!;
    const rotated = await consoleApp.inject({ method: 'POST', url: '/api/admin/media-keys/rotate', headers: { cookie: admin } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json().retired).toEqual([before]);
    expect((await fetch(url).then(async (r) => { await r.arrayBuffer(); return r.status; }))).toBe(200);
    const next = await startLive();
    expect(next.statusCode).toBe(200);
    expect(mediaTokenKid(tokenOf(next.json().url))).toBe(rotated.json().kid);
    expect((await fetch(next.json().url).then(async (r) => { await r.arrayBuffer(); return r.status; }))).toBe(200);
    expect((await consoleApp.inject({ method: 'POST', url: '/api/admin/media-keys/rotate', headers: { cookie: monitor } })).statusCode).toBe(403);
  });

  it('refuses live view to patrol and to anonymous callers', async () => {
    expect((await startLive((await loginAs(consoleApp, platform, ['patrol'])).cookie)).statusCode).toBe(403);
    expect((await consoleApp.inject({ method: 'POST', url: `/api/devices/${camId}/live`, payload: {} })).statusCode).toBe(401);
  });

  it('reports the session state to the console and records state changes with reasons', async () => {
    const state = await consoleApp.inject({ method: 'GET', url: `/api/devices/${camId}/stream`, headers: { cookie: monitor } });
    expect(state.json().session).toMatchObject({ state: 'live', mode: 'copy' });
    const events = await consoleApp.inject({ method: 'GET', url: `/api/devices/${camId}/stream-events`, headers: { cookie: monitor } });
    expect(events.json().items.map((e: { state: string }) => e.state)).toContain('live');
  });

  it('stops the session when nobody watches, and keeps tokens and passwords out of the logs', async () => {
    await expect.poll(() => gateway.sessions.get(camId)?.state ?? 'gone', { timeout: 30_000, interval: 500 }).toMatch(/gone|stopped/);
    await expect.poll(() => sim.cameras[0]!.rtspClients(), { timeout: 10_000 }).toBe(0);
    const token = tokenOf(url);
    expect(logs.text()).not.toContain(token);
    expect(logs.text()).not.toContain(token.split('.')[1]!);
    expect(logs.text()).not.toContain(sim.cameras[0]!.spec.password);
  });

  it('answers 400 for a device without a stream URL', async () => {
    const bare = await consoleApp.inject({ method: 'POST', url: '/api/devices', headers: { cookie: admin }, payload: { name: '无视频地址' } });
    await expect.poll(() => gateway.membership.held().includes(bare.json().id), { timeout: 15_000 }).toBe(true);
    const res = await startLive(monitor, bare.json().id);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/no stream URL/);
  });
});

describe('recording and footage', () => {
  it('records a continuous camera without a viewer, indexes closed segments, and plays them back as VOD', async () => {
    await consoleApp.inject({ method: 'PATCH', url: `/api/devices/${camId}`, headers: { cookie: admin }, payload: { recording: { mode: 'continuous' } } });
    await expect.poll(() => gateway.sessions.get(camId)?.recording ?? false, { timeout: 20_000 }).toBe(true);
    await expect.poll(async () => (await platform.pool.query('SELECT count(*)::int AS n FROM recording_segments WHERE device_id = $1', [camId])).rows[0].n,
      { timeout: 60_000, interval: 1000 }).toBeGreaterThanOrEqual(2);
    const { rows } = await platform.pool.query('SELECT starts_at, ends_at, path, bytes FROM recording_segments WHERE device_id = $1 ORDER BY starts_at', [camId]);
    expect(rows[0].bytes).toBeGreaterThan(0);
    expect(rows[0].path).toMatch(new RegExp(`^rec/${camId}/\\d{8}/\\d{8}T\\d{6}Z\\.ts$`));

    const day = new Intl.DateTimeFormat('en-CA', { timeZone: platform.config.site.timezone }).format(new Date());
    const timeline = await consoleApp.inject({ method: 'GET', url: `/api/devices/${camId}/timeline?day=${day}`, headers: { cookie: monitor } });
    expect(timeline.statusCode, timeline.body).toBe(200);
    expect(timeline.json().ranges.some((r: { kind: string }) => r.kind === 'footage')).toBe(true);

    const from = new Date(rows[0].starts_at.getTime()).toISOString();
    const to = new Date(rows.at(-1).ends_at.getTime()).toISOString();
    const footage = await consoleApp.inject({ method: 'POST', url: `/api/devices/${camId}/footage`, headers: { cookie: monitor }, payload: { from, to, reason: '案件调查' } });
    expect(footage.statusCode, footage.body).toBe(200);
    const playlist = await (await fetch(footage.json().url)).text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist).toContain('#EXT-X-PROGRAM-DATE-TIME');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    expect((await ffprobe(footage.json().url)).streams[0]!.codec_name).toBe('h264');
    const audit = await platform.pool.query(`SELECT reason FROM audit_log WHERE action = 'footage.view' AND target_id = $1`, [camId]);
    expect(audit.rows).toEqual([{ reason: '案件调查' }]);
    await consoleApp.inject({ method: 'PATCH', url: `/api/devices/${camId}`, headers: { cookie: admin }, payload: { recording: { mode: 'none' } } });
  });
});

describe('RTMP ingest', () => {
  let pusher: ChildProcess | null = null;
  afterAll(() => { pusher?.kill('SIGKILL'); });

  it('plays a body camera\'s push like any camera, and refuses unknown keys', async () => {
    const created = await consoleApp.inject({ method: 'POST', url: '/api/devices', headers: { cookie: admin }, payload: { name: '执法记录仪-直播', kind: 'mobile' } });
    const device = created.json();
    await expect.poll(() => gateway.membership.held().includes(device.id), { timeout: 15_000 }).toBe(true);
    const push = (key: string) => spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '10', '-t', '60', '-f', 'flv', `rtmp://127.0.0.1:${gateway.rtmp.port}/live/${key}`], { stdio: 'ignore' });

    const intruder = push('not-a-registered-key');
    const code = await new Promise<number | null>((r) => intruder.on('exit', r));
    expect(code).not.toBe(0);

    pusher = push(device.streamKey);
    await expect.poll(() => gateway.rtmp.publishing().includes(device.id), { timeout: 15_000 }).toBe(true);
    await expect.poll(async () => (await consoleApp.inject({ method: 'GET', url: `/api/devices/${device.id}`, headers: { cookie: monitor } })).json().status.state, { timeout: 10_000 }).toBe('online');
    const live = await startLive(monitor, device.id);
    expect(live.statusCode, live.body).toBe(200);
    expect(live.json().playable).toBe(true);
    expect((await ffprobe(live.json().url)).streams[0]!.codec_name).toBe('h264');
    const leak = logs.lines.find((l) => l.includes(device.streamKey));
    expect(leak).toBeUndefined();
    pusher.kill('SIGINT');
    await expect.poll(async () => (await consoleApp.inject({ method: 'GET', url: `/api/devices/${device.id}`, headers: { cookie: monitor } })).json().status.state, { timeout: 20_000 }).toBe('offline');
  });
});

describe('revocation', () => {
  const status = async (u: string) => { const res = await fetch(u); const text = await res.text(); return { status: res.status, code: res.ok ? null : (JSON.parse(text) as { code: string }).code }; };
  /** Poll until `u` answers 401 media.token_revoked; the delay since `since`, in ms. */
  const refusedAfter = async (u: string, since: number, timeoutMs: number): Promise<number> => {
    for (;;) {
      const r = await status(u);
      if (r.status === 401) {
        expect(r.code).toBe('media.token_revoked');
        return Date.now() - since;
      }
      expect(r.status, `${r.status} ${r.code}`).toBe(200);
      if (Date.now() - since > timeoutMs) throw new Error(`still served ${Date.now() - since} ms after disabling the user`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('refuses a disabled user\'s live and VOD tokens within 5 s, and re-enabling does not revive them', async () => {
    const user = await loginAs(consoleApp, platform, ['monitor']);
    const live = await startLive(user.cookie);
    expect(live.statusCode, live.body).toBe(200);
    const liveUrl: string = live.json().url;
    const { rows } = await platform.pool.query('SELECT min(starts_at) AS "from", max(ends_at) AS "to" FROM recording_segments WHERE device_id = $1', [camId]);
    expect(rows[0].from).toBeInstanceOf(Date);
    const footage = await consoleApp.inject({ method: 'POST', url: `/api/devices/${camId}/footage`, headers: { cookie: user.cookie }, payload: { from: rows[0].from.toISOString(), to: rows[0].to.toISOString(), reason: '撤销测试' } });
    expect(footage.statusCode, footage.body).toBe(200);
    const vodUrl: string = footage.json().url;
    const vodSegment = new URL((await (await fetch(vodUrl)).text()).split('\n').find((l) => l.startsWith('seg/'))!, vodUrl).toString();
    await expect.poll(async () => (await status(liveUrl)).status, { timeout: 15_000 }).toBe(200);
    expect((await status(vodUrl)).status).toBe(200);
    expect((await status(vodSegment)).status).toBe(200);
    // Tokens minted from another user are not touched by this one's revocation.
    const bystander = await startLive(monitor);
    expect(bystander.statusCode).toBe(200);

    const disabledAt = Date.now();
    const disabled = await consoleApp.inject({ method: 'PATCH', url: `/api/users/${user.userId}`, headers: { cookie: admin }, payload: { disabled: true } });
    expect(disabled.statusCode, disabled.body).toBe(200);
    const [liveMs, vodMs, segMs] = await Promise.all([refusedAfter(liveUrl, disabledAt, 5_000), refusedAfter(vodUrl, disabledAt, 5_000), refusedAfter(vodSegment, disabledAt, 5_000)]);
    console.log(`revocation: live playlist refused ${liveMs} ms, VOD playlist ${vodMs} ms, VOD segment ${segMs} ms after the admin disabled the user`);
    expect(Math.max(liveMs, vodMs, segMs)).toBeLessThan(5_000);
    expect((await status(bystander.json().url)).status).toBe(200);

    const enabled = await consoleApp.inject({ method: 'PATCH', url: `/api/users/${user.userId}`, headers: { cookie: admin }, payload: { disabled: false } });
    expect(enabled.statusCode, enabled.body).toBe(200);
    // Longer than the gateway's reload from PostgreSQL: what it reloads still refuses them.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const u of [liveUrl, vodUrl, vodSegment]) expect(await status(u)).toEqual({ status: 401, code: 'media.token_revoked' });
    // The old session is gone for good; a fresh login gets fresh media.
    expect((await startLive(user.cookie)).statusCode).toBe(401);
    const again = await consoleApp.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password } });
    expect(again.statusCode, again.body).toBe(200);
    const cookie = ([again.headers['set-cookie']].flat()[0] as string).split(';')[0]!;
    const fresh = await startLive(cookie);
    expect(fresh.statusCode, fresh.body).toBe(200);
    await expect.poll(async () => (await status(fresh.json().url)).status, { timeout: 15_000 }).toBe(200);
  });

  it('learns revocations from PostgreSQL when it misses the event', async () => {
    const user = await loginAs(consoleApp, platform, ['monitor']);
    const live = await startLive(user.cookie);
    expect(live.statusCode, live.body).toBe(200);
    await expect.poll(async () => (await status(live.json().url)).status, { timeout: 15_000 }).toBe(200);
    // As if Redis dropped the event: the column alone, written straight to the database.
    const t0 = Date.now();
    await platform.pool.query('UPDATE users SET revoked_at = now() WHERE id = $1', [user.userId]);
    const ms = await refusedAfter(live.json().url, t0, 5_000);
    console.log(`revocation without the event: refused ${ms} ms after revoked_at was written`);
  });
});
