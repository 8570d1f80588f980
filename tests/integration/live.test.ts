import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { signMediaToken } from '../../core/crypto.ts';
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
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/media/live/${camId}/index\\.m3u8\\?token=`));
    const { rows } = await platform.pool.query(`SELECT actor_name FROM audit_log WHERE action = 'live.view' AND target_id = $1`, [camId]);
    expect(rows.length).toBe(1);
  });

  it('serves a valid live playlist: ffprobe reads it, segments advance, program date-time is within 2 s of the clock', async () => {
    const first = await (await fetch(url)).text();
    expect(first).toContain('#EXT-X-PROGRAM-DATE-TIME');
    const segLines = first.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(segLines.length).toBeGreaterThan(0);
    expect(segLines.every((l) => l.includes('token='))).toBe(true);
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

  it('refuses missing, altered, expired and other-camera tokens, and paths outside the media root', async () => {
    const u = new URL(url);
    const token = u.searchParams.get('token')!;
    const base = `${u.origin}/media/live/${camId}`;
    expect((await fetch(`${base}/index.m3u8`)).status).toBe(401);
    expect((await fetch(`${base}/index.m3u8?token=${token.slice(0, -2)}xx`)).status).toBe(401);
    const expired = signMediaToken(platform.keys.media, { sub: 'u', cam: camId, scope: 'live', exp: Math.floor(Date.now() / 1000) - 5 });
    expect((await fetch(`${base}/index.m3u8?token=${expired}`)).status).toBe(401);
    expect((await fetch(`${u.origin}/media/live/${otherId}/index.m3u8?token=${token}`)).status).toBe(403);
    const vod = signMediaToken(platform.keys.media, { sub: 'u', cam: camId, scope: 'vod', exp: Math.floor(Date.now() / 1000) + 60 });
    expect((await fetch(`${base}/index.m3u8?token=${vod}`)).status).toBe(403);
    for (const path of [`${base}/..%2F..%2F..%2Fsecret.key?token=${token}`, `${base}/seg-1.ts%00.m3u8?token=${token}`, `${u.origin}/media/live/${camId}/../../secret.key?token=${token}`, `${u.origin}/media/../secret.key`]) {
      const res = await fetch(path);
      expect([400, 404], path).toContain(res.status);
      expect(await res.text()).not.toMatch(/^[A-Za-z0-9+/]{43}=/);
    }
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
    const token = new URL(url).searchParams.get('token')!;
    expect(logs.text()).not.toContain(token);
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
