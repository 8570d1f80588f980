import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { segmentPathAllowed } from '../../gateway/frames/recorded.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { createWorkerDeps, type WorkerDeps } from '../../workers/deps.ts';
import { createSnapshotService, type SnapshotService } from '../../workers/snapshot/service.ts';
import { loginAs, testPlatform, waitUntil } from '../helpers/platform.ts';

// Snapshots for incidents: a live picture linked to the incident (purpose incident), and the frame
// of a camera's RECORDING at a past moment, decoded by the gateway node that wrote the segment
// (ffmpeg -ss on the indexed file, nothing but `file` allowed, paths checked); listed per incident
// with signed links.
const exec = promisify(execFile);
let platform: Platform;
let close: () => Promise<void>;
let gateway: Gateway;
let app: App;
let work: WorkerDeps;
let snapshots: SnapshotService;
let http: Server;
let investigator: { cookie: string; userId: string; username: string; roles: string[] };
const run = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'skynet-snapinc-'));
const ids: Record<string, string> = {};
let incidentId: string;
/** The recorded segment: 10 s from here, red for 5 s then blue. */
const SEG_START = new Date(Date.now() - 3_600_000);
SEG_START.setUTCMilliseconds(0);
const meta = { ip: '127.0.0.1', requestId: 'test' };
const principal = () => ({ kind: 'user' as const, userId: investigator.userId, username: investigator.username, roles: ['investigator' as const] });

/** The mean colour of a JPEG, as [r, g, b]. */
async function colour(jpeg: Buffer): Promise<number[]> {
  const path = join(dir, `${randomBytes(4).toString('hex')}.jpg`);
  writeFileSync(path, jpeg);
  const { stdout } = await exec('ffmpeg', ['-v', 'error', '-i', path, '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', timeout: 20_000 });
  return [...(stdout as Buffer).subarray(0, 3)];
}

async function register(key: string, payload: Record<string, unknown>, cookie: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/api/devices', headers: { cookie }, payload: { name: `案件抓图-${key}-${run}`, confirmDuplicate: true, ...payload } });
  if (res.statusCode !== 201) throw new Error(`register ${key}: ${res.statusCode} ${res.body}`);
  ids[key] = res.json().id;
}

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  // A camera's snapshot URI: a green picture.
  const green = join(dir, 'green.jpg');
  await exec('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=green:s=160x120', '-frames:v', '1', green], { timeout: 20_000 });
  const jpeg = readFileSync(green);
  http = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length }); res.end(jpeg); });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;

  gateway = await startGateway(platform);
  app = await buildConsole(platform);
  await app.ready();
  const admin = (await loginAs(app, platform, ['admin'])).cookie;
  const inv = await loginAs(app, platform, ['investigator']);
  investigator = { ...inv, roles: ['investigator'] };
  const streams = { main: 'rtsp://127.0.0.1:9/none', snapshot: `http://127.0.0.1:${port}/snapshot.jpg` };
  await register('cam', { streams }, admin);
  await register('other', { streams }, admin);
  await waitUntil(() => [ids.cam!, ids.other!].every((id) => gateway.membership.held().includes(id)), 15_000, 'the gateway to hold the cameras');

  // One recorded segment of `cam`, written where the segmenter writes and indexed as the indexer does.
  const stamp = SEG_START.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const rel = `rec/${ids.cam}/${stamp.slice(0, 8)}/${stamp}.ts`;
  const abs = join(platform.config.dataDir, 'media', rel);
  mkdirSync(dirname(abs), { recursive: true });
  await exec('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=red:s=320x240:d=5:r=10', '-f', 'lavfi', '-i', 'color=blue:s=320x240:d=5:r=10',
    '-filter_complex', '[0][1]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-g', '10', '-pix_fmt', 'yuv420p', '-f', 'mpegts', abs], { timeout: 60_000 });
  await platform.pool.query(`INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes, node_id) VALUES ($1, $2, $3, $4, 1000, $5)`,
    [ids.cam, SEG_START, new Date(SEG_START.getTime() + 10_000), rel, platform.config.gateway.nodeId]);

  const { rows } = await platform.pool.query(
    `INSERT INTO incidents (number, type, source, title, occurred_at, created_by_name) VALUES ($1, 'theft', 'video_patrol', '抓图', now(), 't') RETURNING id`, [`S${run}0001`]);
  incidentId = rows[0].id;
  work = createWorkerDeps(platform);
  snapshots = createSnapshotService(work);
});
afterAll(async () => {
  await work?.jobs.close();
  await app?.close();
  await gateway?.close();
  await new Promise((r) => http?.close(r));
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('snapshots for an incident', () => {
  it('takes a live picture linked to the incident', async () => {
    const { snapshot } = await snapshots.capture(principal(), ids.cam!, `incident:S${run}0001`, meta, { incidentId });
    expect(snapshot).toMatchObject({ deviceId: ids.cam, purpose: 'incident', incidentId, reason: `incident:S${run}0001`, source: 'onvif', width: 160 });
    const { rows } = await platform.pool.query('SELECT incident_id, purpose FROM snapshots WHERE id = $1', [snapshot.id]);
    expect(rows[0]).toEqual({ incident_id: incidentId, purpose: 'incident' });
    const { rows: audit } = await platform.pool.query(`SELECT details FROM audit_log WHERE action = 'snapshot.take' AND target_id = $1`, [ids.cam]);
    expect(audit.at(-1).details).toMatchObject({ incidentId, snapshotId: snapshot.id });
  });

  it('takes the frame of the recording at a past moment, from the node that wrote it', async () => {
    const red = await snapshots.capture(principal(), ids.cam!, 'red', meta, { incidentId, at: new Date(SEG_START.getTime() + 2500).toISOString() });
    expect(red.snapshot).toMatchObject({ purpose: 'incident', incidentId, width: 320, height: 240, takenAt: new Date(SEG_START.getTime() + 2500) });
    const blue = await snapshots.capture(principal(), ids.cam!, 'blue', meta, { incidentId, at: new Date(SEG_START.getTime() + 7500) });
    const image = async (url: string) => {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      return colour(res.rawPayload);
    };
    const [r1, g1, b1] = await image(red.snapshot.url);
    expect(r1).toBeGreaterThan(200);
    expect(Math.max(g1!, b1!)).toBeLessThan(60);
    const [r2, , b2] = await image(blue.snapshot.url);
    expect(b2).toBeGreaterThan(200);
    expect(r2).toBeLessThan(60);
    const { rows } = await platform.pool.query(`SELECT details FROM audit_log WHERE action = 'snapshot.take' AND details->>'snapshotId' = $1`, [red.snapshot.id]);
    expect(rows[0].details).toMatchObject({ recordedAt: new Date(SEG_START.getTime() + 2500).toISOString(), incidentId });
  });

  it('keeps a decommissioned camera\'s recorded moments reachable but not its live picture', async () => {
    await platform.pool.query('UPDATE devices SET decommissioned_at = now(), enabled = false WHERE id = $1', [ids.cam]);
    try {
      await expect(snapshots.capture(principal(), ids.cam!, undefined, meta, { incidentId })).rejects.toMatchObject({ statusCode: 409, code: 'snapshot.device_decommissioned' });
      const { snapshot } = await snapshots.capture(principal(), ids.cam!, undefined, meta, { at: new Date(SEG_START.getTime() + 1000) });
      expect(snapshot).toMatchObject({ purpose: 'manual', incidentId: null });
    } finally {
      await platform.pool.query('UPDATE devices SET decommissioned_at = NULL, enabled = true WHERE id = $1', [ids.cam]);
      await waitUntil(() => gateway.membership.held().includes(ids.cam!), 15_000, 'the gateway to hold the camera again');
    }
  });

  it('refuses moments with no recording, the future, bad times and unknown incidents', async () => {
    await expect(snapshots.capture(principal(), ids.cam!, undefined, meta, { at: new Date(SEG_START.getTime() - 60_000) }))
      .rejects.toMatchObject({ statusCode: 422, code: 'recorded_frame.no_footage', field: 'at' });
    await expect(snapshots.capture(principal(), ids.other!, undefined, meta, { at: new Date(SEG_START.getTime() + 2000) }))
      .rejects.toMatchObject({ statusCode: 422, code: 'recorded_frame.no_footage' });
    await expect(snapshots.capture(principal(), ids.cam!, undefined, meta, { at: new Date(Date.now() + 60_000) }))
      .rejects.toMatchObject({ statusCode: 400, code: 'recorded_frame.future', field: 'at' });
    await expect(snapshots.capture(principal(), ids.cam!, undefined, meta, { at: 'not a time' }))
      .rejects.toMatchObject({ statusCode: 400, field: 'at' });
    await expect(snapshots.capture(principal(), ids.cam!, undefined, meta, { incidentId: randomUUID() }))
      .rejects.toMatchObject({ statusCode: 404, field: 'incidentId' });
  });

  it('lists an incident\'s snapshots with fresh signed links, audited', async () => {
    const items = await snapshots.listForIncident(principal(), incidentId, meta);
    // In the order they show: the recorded moments (an hour ago) before the live picture.
    expect(items.map((s) => s.reason)).toEqual(['red', 'blue', `incident:S${run}0001`]);
    expect(items.every((s) => s.incidentId === incidentId && s.url.startsWith(`/api/snapshots/${s.id}/image/`))).toBe(true);
    expect((await app.inject({ method: 'GET', url: items[0]!.url })).statusCode).toBe(200);
    const { rows } = await platform.pool.query(`SELECT details FROM audit_log WHERE action = 'snapshot.view' AND target_type = 'incident' AND target_id = $1`, [incidentId]);
    expect(rows.at(-1).details.count).toBe(3);
    expect(await snapshots.listForIncident(principal(), randomUUID(), meta)).toEqual([]);
  });
});

describe('watching footage for an incident', () => {
  it('records the incident in the footage.view audit row', async () => {
    const res = await app.inject({
      method: 'POST', url: `/api/devices/${ids.cam}/footage`, headers: { cookie: investigator.cookie },
      payload: { from: SEG_START.toISOString(), to: new Date(SEG_START.getTime() + 10_000).toISOString(), reason: `incident:S${run}0001`, incidentId },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().segments).toBe(1);
    const { rows } = await platform.pool.query(`SELECT reason, details FROM audit_log WHERE action = 'footage.view' AND target_id = $1`, [ids.cam]);
    expect(rows.at(-1)).toMatchObject({ reason: `incident:S${run}0001`, details: { incidentId } });
    const bad = await app.inject({ method: 'POST', url: `/api/devices/${ids.cam}/footage`, headers: { cookie: investigator.cookie }, payload: { from: SEG_START.toISOString(), to: new Date(SEG_START.getTime() + 10_000).toISOString(), incidentId: 'x' } });
    expect(bad.json()).toMatchObject({ field: 'incidentId' });
  });
});

describe('the gateway\'s recorded-frame API', () => {
  const call = (deviceId: string, body: Record<string, unknown>, token = platform.keys.serviceToken) =>
    gateway.internalApp.inject({ method: 'POST', url: `/internal/devices/${deviceId}/recorded-frame`, headers: { authorization: `Bearer ${token}` }, payload: body });

  it('opens only this camera\'s segment files under the media root, for the service token only', async () => {
    const { rows } = await platform.pool.query('SELECT path FROM recording_segments WHERE device_id = $1', [ids.cam]);
    const good = rows[0].path as string;
    const ok = await call(ids.cam!, { path: good, offsetMs: 1000 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers['x-frame-source']).toBe('recording');
    expect((await call(ids.other!, { path: good, offsetMs: 0 })).json()).toMatchObject({ code: 'recorded_frame.bad_path', field: 'path' });
    for (const path of ['../../../etc/passwd', `rec/${ids.cam}/../../etc/passwd.ts`, '/etc/passwd', `rec/${ids.cam}/20260101/x.ts`]) {
      expect((await call(ids.cam!, { path, offsetMs: 0 })).statusCode).toBe(400);
    }
    expect((await call(ids.cam!, { path: good.replace(/T\d{6}Z/, 'T000000Z'), offsetMs: 0 })).json()).toMatchObject({ code: 'recorded_frame.file_missing' });
    expect((await call(ids.cam!, { path: good, offsetMs: 0 }, 'wrong')).statusCode).toBe(401);
    expect(segmentPathAllowed(ids.cam!, good)).toBe(true);
    expect(segmentPathAllowed(ids.cam!, good.replace('.ts', '.mp4'))).toBe(false);
  });
});
