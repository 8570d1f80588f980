import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { signMediaToken } from '../../core/crypto.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { fetchSnapshot } from '../../gateway/frames/grab.ts';
import { jpegInfo } from '../../gateway/frames/jpeg.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import type { SimCamera } from '../../gateway/simulator/types.ts';
import { UrlRefused } from '../../gateway/streams/url-policy.ts';
import { createWorkerDeps, redisConnection, type WorkerDeps } from '../../workers/deps.ts';
import { bullPrefix, QUEUES } from '../../workers/jobs.ts';
import { startFamily, type RunningFamily } from '../../workers/runner.ts';
import { createJobRuns } from '../../workers/runs.ts';
import { createSnapshotFamily } from '../../workers/snapshot/family.ts';
import { createSnapshotService, type SnapshotService } from '../../workers/snapshot/service.ts';
import { mintSnapshotToken } from '../../workers/snapshot/token.ts';
import { snapshotJobId } from '../../workers/snapshot/types.ts';
import { loginAs, testPlatform, waitUntil, type LogCapture } from '../helpers/platform.ts';

// Snapshots end to end: console API → the gateway node's frame API → the running session's newest
// live segment (no second RTSP client), the camera's ONVIF snapshot URI, or a short RTSP grab →
// the evidence store and the snapshots table, audited; image links signed for one user and one
// snapshot; the snapshot.take job through a real BullMQ worker; offline and hostile cameras.
let platform: Platform;
let logs: LogCapture;
let close: () => Promise<void>;
let gateway: Gateway;
let consoleApp: App;
let sim: Simulator;
let admin: string;
let monitor: { cookie: string; userId: string; username: string };
const run = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'skynet-snap-'));
const ids: Record<string, string> = {};
let blackhole: Server;
const held = new Set<Socket>();

const cam = (i: number): SimCamera => sim.cameras[i]!;
const onvifOf = (c: SimCamera) => ({ host: '127.0.0.1', port: c.onvifPort, username: c.spec.username, password: c.spec.password });

async function register(key: string, payload: Record<string, unknown>): Promise<void> {
  const res = await consoleApp.inject({ method: 'POST', url: '/api/devices', headers: { cookie: admin }, payload: { name: `抓图-${key}-${run}`, confirmDuplicate: true, ...payload } });
  if (res.statusCode !== 201) throw new Error(`register ${key}: ${res.statusCode} ${res.body}`);
  ids[key] = res.json().id;
}

const snap = (id: string, cookie = monitor.cookie, reason?: string) =>
  consoleApp.inject({ method: 'POST', url: `/api/devices/${id}/snapshots`, headers: { cookie }, payload: reason ? { reason } : {} });

async function probe(jpeg: Buffer): Promise<{ codec_name: string; width: number; height: number }> {
  const path = join(dir, `${randomBytes(4).toString('hex')}.jpg`);
  writeFileSync(path, jpeg);
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', path], { timeout: 20_000 });
  return (JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number }[] }).streams[0]!;
}

beforeAll(async () => {
  ({ platform, logs, close } = await testPlatform({ 'health.intervalSeconds': 3600, 'gateway.idleStopSeconds': 300 }));
  const small = { width: 320, height: 180, fps: 10 };
  sim = await startSimulator({
    cameras: [{ id: `snap-live-${run}`, ...small }, { id: `snap-cold-${run}`, ...small }, { id: `snap-bad-${run}`, ...small }],
    host: '127.0.0.1',
  });
  sim.setFault(cam(2).spec.id, 'hostile-uris', true);
  // A camera that accepts connections and never answers (ONVIF HTTP and RTSP alike).
  blackhole = createServer((s) => { held.add(s); s.on('error', () => {}); s.on('close', () => held.delete(s)); });
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  const hole = (blackhole.address() as AddressInfo).port;
  gateway = await startGateway(platform);
  consoleApp = await buildConsole(platform);
  await consoleApp.ready();
  admin = (await loginAs(consoleApp, platform, ['admin'])).cookie;
  monitor = await loginAs(consoleApp, platform, ['monitor']);

  // The live camera also has a snapshot URI: the session must still be preferred.
  await register('live', { onvif: onvifOf(cam(0)), streams: { main: cam(0).rtspUri('main'), snapshot: cam(0).snapshotUri() } });
  await register('onvif', { onvif: onvifOf(cam(1)), streams: { main: cam(1).rtspUri('main'), snapshot: cam(1).snapshotUri() } });
  // ONVIF known, snapshot URI not stored: the camera is asked for it.
  await register('probed', { onvif: onvifOf(cam(1)) });
  // No ONVIF, no snapshot URI: a short RTSP grab, through the credential relay.
  const withCreds = new URL(cam(1).rtspUri('main'));
  withCreds.username = cam(1).spec.username;
  withCreds.password = cam(1).spec.password;
  await register('rtsp', { streams: { main: withCreds.toString() } });
  await register('hostile', { onvif: onvifOf(cam(2)), streams: { main: cam(2).rtspUri('sub') } });
  await register('stored-hostile', { onvif: onvifOf(cam(2)), streams: { main: cam(2).rtspUri('sub'), snapshot: cam(2).snapshotUri() } });
  await register('offline', { streams: { main: 'rtsp://127.0.0.1:9/none', snapshot: 'http://127.0.0.1:9/snapshot.jpg' } });
  await register('stalled', { streams: { main: `rtsp://127.0.0.1:${hole}/stream`, snapshot: `http://127.0.0.1:${hole}/snapshot.jpg` } });
  await register('disabled', { streams: { main: withCreds.toString() } });
  await register('gone', { streams: { main: withCreds.toString() } });
  // A stored value written around the API (an old release, a hand edit): refused when used.
  await platform.pool.query(`UPDATE devices SET snapshot_uri = 'file:///etc/passwd' WHERE id = $1`, [ids['stored-hostile']]);
  await waitUntil(() => Object.values(ids).every((id) => gateway.membership.held().includes(id)), 15_000, 'the gateway to hold the cameras');
});
afterAll(async () => {
  await consoleApp?.close();
  await gateway?.close();
  for (const s of held) s.destroy();
  await new Promise((r) => blackhole?.close(r));
  await sim?.close();
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('taking a snapshot', () => {
  it('takes a live camera\'s picture from its running session, with no second RTSP client', async () => {
    const live = await consoleApp.inject({ method: 'POST', url: `/api/devices/${ids.live}/live`, headers: { cookie: monitor.cookie }, payload: { waitMs: 10_000 } });
    expect(live.json().playable, live.body).toBe(true);
    expect(cam(0).rtspClients()).toBe(1);
    let most = 0;
    const sampler = setInterval(() => { most = Math.max(most, cam(0).rtspClients()); }, 2);
    const t0 = Date.now();
    const res = await snap(ids.live!, monitor.cookie, '  巡查发现可疑车辆  ');
    const ms = Date.now() - t0;
    clearInterval(sampler);
    expect(res.statusCode, res.body).toBe(201);
    const { snapshot } = res.json();
    expect(snapshot).toMatchObject({
      deviceId: ids.live, source: 'session', width: 320, height: 180, purpose: 'manual', reason: '巡查发现可疑车辆', requestedByName: monitor.username,
    });
    expect(most).toBe(1);
    expect(cam(0).rtspClients()).toBe(1);
    expect(ms).toBeLessThan(2000);
    // The picture is the session's newest segment: taken a moment ago, not in the future.
    expect(Date.now() - Date.parse(snapshot.takenAt)).toBeLessThan(12_000);
    expect(Date.parse(snapshot.takenAt)).toBeLessThanOrEqual(Date.now());
    expect(snapshot.url).toMatch(new RegExp(`^/api/snapshots/${snapshot.id}/image/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));

    const image = await consoleApp.inject({ method: 'GET', url: snapshot.url });
    expect(image.statusCode).toBe(200);
    expect(image.headers['content-type']).toBe('image/jpeg');
    expect(image.headers['cache-control']).toBe('private, max-age=600');
    expect(image.rawPayload.length).toBe(snapshot.bytes);
    expect(image.rawPayload.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(image.rawPayload.subarray(-2).toString('hex')).toBe('ffd9');
    expect(await probe(image.rawPayload)).toMatchObject({ codec_name: 'mjpeg', width: 320, height: 180 });

    const { rows } = await platform.pool.query('SELECT source, path, bytes, requested_by, job_id FROM snapshots WHERE id = $1', [snapshot.id]);
    expect(rows[0]).toMatchObject({ source: 'session', bytes: snapshot.bytes, requested_by: monitor.userId, job_id: null });
    expect(rows[0].path).toBe(`snapshots/${ids.live}/${snapshot.takenAt.slice(0, 10).replaceAll('-', '')}/${snapshot.id}.jpg`);
    const audit = await platform.pool.query(`SELECT actor_id, reason, details FROM audit_log WHERE action = 'snapshot.take' AND target_id = $1`, [ids.live]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ actor_id: monitor.userId, reason: '巡查发现可疑车辆', details: { snapshotId: snapshot.id, source: 'session', purpose: 'manual' } });
  });

  it('takes a camera without a session from its ONVIF snapshot URI, stored or asked for', async () => {
    for (const key of ['onvif', 'probed']) {
      const res = await snap(ids[key]!);
      expect(res.statusCode, `${key}: ${res.body}`).toBe(201);
      expect(res.json().snapshot, key).toMatchObject({ source: 'onvif', width: 320, height: 180 });
      const image = await consoleApp.inject({ method: 'GET', url: res.json().snapshot.url });
      expect(jpegInfo(image.rawPayload)).toEqual({ width: 320, height: 180 });
    }
    expect(gateway.sessions.get(ids.onvif!)).toBeNull();
  });

  it('serves frames on the gateway\'s internal API to the service token only, source and time in headers', async () => {
    const url = `/internal/devices/${ids.onvif}/frame`;
    expect((await gateway.internalApp.inject({ method: 'POST', url, payload: {} })).statusCode).toBe(401);
    expect((await gateway.internalApp.inject({ method: 'POST', url, headers: { authorization: 'Bearer nope' }, payload: {} })).statusCode).toBe(401);
    const ok = await gateway.internalApp.inject({ method: 'POST', url, headers: { authorization: `Bearer ${platform.keys.serviceToken}` }, payload: { timeoutMs: 2000 } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers).toMatchObject({ 'content-type': 'image/jpeg', 'x-frame-source': 'onvif', 'cache-control': 'no-store' });
    expect(Math.abs(Date.parse(String(ok.headers['x-frame-taken-at'])) - Date.now())).toBeLessThan(5000);
    expect(jpegInfo(ok.rawPayload)).toEqual({ width: 320, height: 180 });
    const bad = await gateway.internalApp.inject({ method: 'POST', url, headers: { authorization: `Bearer ${platform.keys.serviceToken}` }, payload: { timeoutMs: 10 } });
    expect(bad.statusCode).toBe(400);
    // The public listener has no internal routes.
    expect((await gateway.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${platform.keys.serviceToken}` }, payload: {} })).statusCode).toBe(404);
  });

  it('grabs a camera with no snapshot URI over RTSP, and leaves no connection open', async () => {
    const res = await snap(ids.rtsp!);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().snapshot).toMatchObject({ source: 'rtsp', width: 320, height: 180 });
    const image = await consoleApp.inject({ method: 'GET', url: res.json().snapshot.url });
    expect(await probe(image.rawPayload)).toMatchObject({ codec_name: 'mjpeg', width: 320, height: 180 });
    await expect.poll(() => cam(1).rtspClients(), { timeout: 5000 }).toBe(0);
    expect(gateway.sessions.get(ids.rtsp!)).toBeNull();
  });

  it('waits for a session still starting rather than opening the camera a second time', async () => {
    const live = await consoleApp.inject({ method: 'POST', url: `/api/devices/${ids.rtsp}/live`, headers: { cookie: monitor.cookie }, payload: { waitMs: 0 } });
    expect(live.statusCode, live.body).toBe(200);
    let most = 0;
    const sampler = setInterval(() => { most = Math.max(most, cam(1).rtspClients()); }, 2);
    const res = await snap(ids.rtsp!);
    clearInterval(sampler);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().snapshot).toMatchObject({ source: 'session', width: 320, height: 180 });
    expect(most).toBe(1);
    await gateway.sessions.stop(ids.rtsp!, 'test done');
  });

  it('refuses a file: snapshot URI, reported by the camera or stored, without opening it', async () => {
    for (const key of ['hostile', 'stored-hostile']) {
      const res = await snap(ids[key]!);
      expect(res.statusCode, `${key}: ${res.body}`).toBe(201);
      // Not from the snapshot URI: from the stream, which is a picture, not /etc/passwd.
      expect(res.json().snapshot.source, key).toBe('rtsp');
      const image = await consoleApp.inject({ method: 'GET', url: res.json().snapshot.url });
      expect(jpegInfo(image.rawPayload)).not.toBeNull();
      expect(image.rawPayload.toString('latin1')).not.toContain('root:');
    }
    expect(logs.text()).toContain('the camera reported a snapshot URI that is not an allowed URL: refused, not opened');
    expect(logs.text()).toContain('snapshot URI refused by the URL policy: not opened');
    // The adapter refuses it before any I/O.
    await expect(fetchSnapshot('file:///etc/passwd', { username: null, password: null }, { deadline: Date.now() + 1000 })).rejects.toBeInstanceOf(UrlRefused);
    await expect(fetchSnapshot('concat:http://127.0.0.1/a|file:///etc/passwd', { username: null, password: null }, { deadline: Date.now() + 1000 })).rejects.toBeInstanceOf(UrlRefused);
  });

  it('answers an offline camera with a clear error, and one that never answers within 3 s', async () => {
    let t0 = Date.now();
    const refused = await snap(ids.offline!);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(refused.statusCode).toBe(502);
    expect(refused.json()).toMatchObject({ code: 'snapshot.camera_unreachable', params: { reason: expect.stringMatching(/onvif: connection refused; rtsp: connection refused/) } });

    t0 = Date.now();
    const stalled = await snap(ids.stalled!);
    const ms = Date.now() - t0;
    expect(stalled.statusCode, stalled.body).toBe(504);
    expect(stalled.json()).toMatchObject({ code: 'snapshot.camera_unreachable', params: { seconds: 2.5 } });
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThan(3000);
    // Nothing stored, the refusal audited.
    const { rows } = await platform.pool.query('SELECT count(*)::int AS n FROM snapshots WHERE device_id = ANY($1)', [[ids.offline, ids.stalled]]);
    expect(rows[0].n).toBe(0);
    const audit = await platform.pool.query(`SELECT outcome, details FROM audit_log WHERE action = 'snapshot.take' AND actor_id = $1 AND outcome = 'failed'`, [monitor.userId]);
    expect(audit.rows.map((r) => r.details.code)).toEqual(expect.arrayContaining(['snapshot.camera_unreachable']));
  });

  it('refuses unknown, disabled and decommissioned cameras, patrol and anonymous callers', async () => {
    expect((await snap(randomUUID())).statusCode).toBe(404);
    expect((await snap('not-a-uuid')).statusCode).toBe(400);
    expect((await snap(ids.onvif!, (await loginAs(consoleApp, platform, ['patrol'])).cookie)).statusCode).toBe(403);
    expect((await consoleApp.inject({ method: 'POST', url: `/api/devices/${ids.onvif}/snapshots`, payload: {} })).statusCode).toBe(401);
    expect((await consoleApp.inject({ method: 'POST', url: `/api/devices/${ids.onvif}/snapshots`, headers: { cookie: monitor.cookie }, payload: { reason: 'x'.repeat(501) } })).statusCode).toBe(400);

    await consoleApp.inject({ method: 'PATCH', url: `/api/devices/${ids.disabled}`, headers: { cookie: admin }, payload: { enabled: false } });
    const disabled = await snap(ids.disabled!);
    expect(disabled.statusCode).toBe(409);
    expect(disabled.json().code).toBe('snapshot.device_disabled');

    const before = await snap(ids.gone!);
    expect(before.statusCode, before.body).toBe(201);
    expect((await consoleApp.inject({ method: 'DELETE', url: `/api/devices/${ids.gone}`, headers: { cookie: admin } })).statusCode).toBe(204);
    const gone = await snap(ids.gone!);
    expect(gone.statusCode).toBe(409);
    expect(gone.json().code).toBe('snapshot.device_decommissioned');
    // Its snapshots stay viewable.
    const strip = await consoleApp.inject({ method: 'GET', url: `/api/devices/${ids.gone}/snapshots`, headers: { cookie: monitor.cookie } });
    expect(strip.json().items.map((s: { id: string }) => s.id)).toEqual([before.json().snapshot.id]);
  });
});

describe('the strip and the image links', () => {
  it('lists a camera\'s snapshots newest first with fresh links, pages back, and audits the view', async () => {
    const taken: { id: string; takenAt: string }[] = [];
    for (let i = 0; i < 3; i++) taken.push((await snap(ids.onvif!)).json().snapshot);
    const list = await consoleApp.inject({ method: 'GET', url: `/api/devices/${ids.onvif}/snapshots?limit=100`, headers: { cookie: monitor.cookie } });
    expect(list.statusCode).toBe(200);
    const items = list.json().items as { id: string; takenAt: string; url: string; urlExpiresAt: string }[];
    expect(items.length).toBeGreaterThanOrEqual(4);
    const times = items.map((s) => Date.parse(s.takenAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(items[0]!.id).toBe(taken[2]!.id);
    for (const s of items) {
      expect(Date.parse(s.urlExpiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
      expect((await consoleApp.inject({ method: 'GET', url: s.url })).statusCode).toBe(200);
    }
    const page = await consoleApp.inject({ method: 'GET', url: `/api/devices/${ids.onvif}/snapshots?limit=2&before=${encodeURIComponent(taken[2]!.takenAt)}`, headers: { cookie: monitor.cookie } });
    expect(page.json().items.map((s: { id: string }) => s.id)).toEqual([taken[1]!.id, taken[0]!.id]);
    expect((await consoleApp.inject({ method: 'GET', url: `/api/devices/${ids.onvif}/snapshots?limit=101`, headers: { cookie: monitor.cookie } })).statusCode).toBe(400);
    expect((await consoleApp.inject({ method: 'GET', url: `/api/devices/${randomUUID()}/snapshots`, headers: { cookie: monitor.cookie } })).statusCode).toBe(404);

    const one = await consoleApp.inject({ method: 'GET', url: `/api/snapshots/${taken[0]!.id}`, headers: { cookie: monitor.cookie } });
    expect(one.json()).toMatchObject({ id: taken[0]!.id, source: 'onvif' });
    expect((await consoleApp.inject({ method: 'GET', url: `/api/snapshots/${randomUUID()}`, headers: { cookie: monitor.cookie } })).statusCode).toBe(404);

    const views = await platform.pool.query(`SELECT target_type, target_id, details FROM audit_log WHERE action = 'snapshot.view' AND actor_id = $1 ORDER BY id`, [monitor.userId]);
    expect(views.rows).toContainEqual(expect.objectContaining({ target_type: 'device', target_id: ids.onvif, details: expect.objectContaining({ count: items.length }) }));
    expect(views.rows).toContainEqual(expect.objectContaining({ target_type: 'snapshot', target_id: taken[0]!.id }));
  });

  it('serves the image only with a valid link for that snapshot and a user still in service', async () => {
    const a = (await snap(ids.onvif!)).json().snapshot;
    const b = (await snap(ids.onvif!)).json().snapshot;
    const tokenOf = (url: string) => url.split('/').at(-1)!;
    const image = (id: string, token: string) => consoleApp.inject({ method: 'GET', url: `/api/snapshots/${id}/image/${token}` });
    const answer = async (id: string, token: string) => { const r = await image(id, token); return { status: r.statusCode, code: r.json().code }; };

    expect((await consoleApp.inject({ method: 'GET', url: `/api/snapshots/${a.id}/image` })).statusCode).toBe(404);
    expect(await answer(a.id, `${tokenOf(a.url).slice(0, -3)}abc`)).toEqual({ status: 401, code: 'media.token_invalid' });
    expect(await answer(a.id, 'garbage')).toEqual({ status: 401, code: 'media.token_invalid' });
    expect(await answer(a.id, tokenOf(b.url))).toEqual({ status: 403, code: 'snapshot.token_wrong_snapshot' });
    const expired = await mintSnapshotToken(platform.mediaKeys, { userId: monitor.userId, deviceId: ids.onvif!, snapshotId: a.id }, Date.now() - 11 * 60_000);
    expect(await answer(a.id, expired.token)).toEqual({ status: 401, code: 'media.token_expired' });
    const { kid, key } = await platform.mediaKeys.signing();
    const now = Math.floor(Date.now() / 1000);
    const live = signMediaToken(key, { sub: monitor.userId, cam: ids.onvif!, kid, scope: 'live', iat: now, exp: now + 600, snap: a.id });
    expect(await answer(a.id, live)).toEqual({ status: 403, code: 'snapshot.token_wrong_snapshot' });

    // A user disabled after the link was minted loses it.
    const other = await loginAs(consoleApp, platform, ['investigator']);
    const theirs = (await consoleApp.inject({ method: 'GET', url: `/api/snapshots/${a.id}`, headers: { cookie: other.cookie } })).json();
    expect((await consoleApp.inject({ method: 'GET', url: theirs.url })).statusCode).toBe(200);
    await platform.identity.updateUser(other.userId, { disabled: true });
    expect(await answer(a.id, tokenOf(theirs.url))).toEqual({ status: 401, code: 'media.token_revoked' });
    expect(logs.text()).not.toContain(tokenOf(a.url).split('.')[1]!);
  });
});

describe('the snapshot.take job', () => {
  let deps: WorkerDeps;
  let service: SnapshotService;
  let worker: RunningFamily;
  let events: QueueEvents;

  beforeAll(async () => {
    deps = createWorkerDeps(platform);
    service = createSnapshotService(deps);
    worker = await startFamily(createSnapshotFamily(deps), {
      log: platform.log, connection: redisConnection(platform), redisPrefix: platform.config.redis.prefix,
      concurrency: 1, lockMs: 10_000, drainMs: 1000, runs: createJobRuns(platform.pool),
    });
    events = new QueueEvents(QUEUES.snapshot, { connection: redisConnection(platform), prefix: bullPrefix(platform.config.redis.prefix) });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events?.close();
    await worker?.close();
    await deps?.jobs.close();
  });

  const finished = async (id: string) => (await deps.jobs.queue('snapshot').getJob(id))!.waitUntilFinished(events, 20_000);

  it('stores one snapshot per ref, however often it is added or run', async () => {
    const payload = { deviceId: ids.onvif!, purpose: 'alarm' as const, reason: '布控比中', requestedBy: { userId: null, name: `rule:face-${run}` }, ref: `alarm:${run}:1` };
    const first = await service.request(payload);
    const again = await service.request(payload);
    expect(first.jobId).toBe(snapshotJobId(ids.onvif!, 'alarm', payload.ref));
    expect(again.jobId).toBe(first.jobId);
    const result = await finished(first.jobId);
    expect(result).toMatchObject({ deviceId: ids.onvif, source: 'onvif', bytes: expect.any(Number) });
    // Added once more around the derived id (a producer that forgot it): the stored key still finds it.
    const around = await deps.jobs.add('snapshot', 'snapshot.take', payload);
    expect(await finished(around.id)).toEqual(result);
    const { rows } = await platform.pool.query('SELECT id, purpose, requested_by, requested_by_name, job_id FROM snapshots WHERE job_id = $1', [first.jobId]);
    expect(rows).toEqual([{ id: result.snapshotId, purpose: 'alarm', requested_by: null, requested_by_name: `rule:face-${run}`, job_id: first.jobId }]);
    const audit = await platform.pool.query(`SELECT actor_kind, actor_name FROM audit_log WHERE action = 'snapshot.take' AND details->>'snapshotId' = $1`, [result.snapshotId]);
    expect(audit.rows).toEqual([{ actor_kind: 'system', actor_name: `rule:face-${run}` }]);
  });

  it('refuses a payload that fails its schema where it is added, naming the field', async () => {
    await expect(service.request({ deviceId: ids.onvif!, purpose: 'selfie' as never, requestedBy: { userId: null, name: 'rule:x' } }))
      .rejects.toMatchObject({ statusCode: 400, code: 'job.payload_invalid', field: 'purpose' });
    await expect(service.request({ deviceId: ids.onvif!, purpose: 'alarm', requestedBy: { userId: null, name: 'rule:x' }, ref: 'has space' }))
      .rejects.toMatchObject({ code: 'job.payload_invalid', field: 'ref' });
  });

  it('fails for good at once for a decommissioned camera', async () => {
    const { jobId } = await service.request({ deviceId: ids.gone!, purpose: 'incident', requestedBy: { userId: null, name: 'incident:1' }, ref: `inc-${run}` });
    await expect(finished(jobId)).rejects.toThrow(/snapshot\.device_decommissioned/);
    expect((await deps.jobs.queue('snapshot').getJob(jobId))!.attemptsMade).toBe(1);
  });

  it('keeps camera passwords out of the logs', () => {
    for (const c of sim.cameras) expect(logs.text()).not.toContain(c.spec.password);
  });
});
