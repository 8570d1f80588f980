import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { createRecordingRepository } from '../../gateway/recordings/repository.ts';
import { createWorkerDeps, redisConnection } from '../../workers/deps.ts';
import { createExportFamily } from '../../workers/export/family.ts';
import { createExportService } from '../../workers/export/service.ts';
import { exportJobId } from '../../workers/export/types.ts';
import { runVerifyCommand } from '../../workers/export/verify-cli.ts';
import { createJobProducer } from '../../workers/jobs.ts';
import { startFamily } from '../../workers/runner.ts';
import { createJobRuns } from '../../workers/runs.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// Evidence exports end to end: console API → export job (in this process, segments through
// the gateway node's internal API: workers.sharedMedia is off) → ffmpeg stream copy → a
// signed package → `skynet verify` as a person runs it. Real PostgreSQL, Redis, ffmpeg.
let platform: Platform;
let close: () => Promise<void>;
let gateway: Gateway;
let consoleApp: App;
let worker: { close(): Promise<void> };
let investigator: { cookie: string; userId: string };
let admin: string;
const scratch = mkdtempSync(join(tmpdir(), 'skynet-exports-'));
const run = promisify(execFile);

const SEG_MS = 10_000;
/** Recording starts two hours ago on a 10 s boundary, so every range is in the past. */
const T0 = Math.floor((Date.now() - 2 * 3_600_000) / SEG_MS) * SEG_MS;
const iso = (ms: number) => new Date(ms).toISOString();
const stamp = (ms: number) => iso(ms).replace(/[-:]/g, '').slice(0, 15) + 'Z';

let segment: string;
/** A 10 s H.265 segment, as a factory-default dome records (4 s GOP). */
let hevcSegment: string;
const cams: Record<'a' | 'b' | 'c' | 'h', string> = { a: '', b: '', c: '', h: '' };

/**
 * Index `count` 10 s segments of `deviceId` from T0 (slot i at T0 + i·10 s); `kind` of a slot:
 * a copy of the generated segment, garbage bytes (not MPEG-TS), missing file, or no row at all.
 */
async function record(deviceId: string, kinds: ('ts' | 'garbage' | 'missing' | 'none')[], source = segment) {
  const media = join(platform.config.dataDir, 'media');
  const rows = [];
  for (const [i, kind] of kinds.entries()) {
    if (kind === 'none') continue;
    const start = T0 + i * SEG_MS;
    const rel = `rec/${deviceId}/${stamp(start).slice(0, 8)}/${stamp(start)}.ts`;
    mkdirSync(join(media, rel, '..'), { recursive: true });
    if (kind === 'ts') copyFileSync(source, join(media, rel));
    if (kind === 'garbage') writeFileSync(join(media, rel), Buffer.alloc(4096, 0x41));
    rows.push({ deviceId, startsAt: new Date(start), endsAt: new Date(start + SEG_MS), path: rel, bytes: kind === 'ts' ? statSync(source).size : 4096 });
  }
  await createRecordingRepository(platform.pool).insertSegments(rows, platform.config.gateway.nodeId);
}

async function request(cookie: string, body: unknown) {
  return consoleApp.inject({ method: 'POST', url: '/api/exports', headers: { cookie }, payload: body as Record<string, unknown> });
}

async function finished(cookie: string, id: string) {
  let last: { status: string } | null = null;
  await expect.poll(async () => {
    last = (await consoleApp.inject({ method: 'GET', url: `/api/exports/${id}`, headers: { cookie } })).json();
    return last!.status;
  }, { timeout: 60_000, interval: 250 }).toMatch(/^(done|failed)$/);
  return last! as Record<string, unknown> & { status: string; gaps: { deviceId: string; from: string; to: string; reason: string }[]; delivered: { deviceId: string; file: string; bytes: number }[] | null };
}

/** Download through the API as `cookie`: link, then the package with it. */
async function download(cookie: string, id: string): Promise<string> {
  const link = await consoleApp.inject({ method: 'POST', url: `/api/exports/${id}/download`, headers: { cookie }, payload: {} });
  expect(link.statusCode).toBe(200);
  const res = await consoleApp.inject({ method: 'GET', url: link.json().url });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('application/zip');
  expect(res.headers['content-disposition']).toMatch(/^attachment; filename="export-.*\.zip"$/);
  const file = join(scratch, `${id}-${randomUUID().slice(0, 4)}.zip`);
  writeFileSync(file, res.rawPayload);
  return file;
}

/** `skynet verify` as a person runs it (a child process: about 6 s of start-up here). */
const verify = (...args: string[]) => spawnSync(process.execPath, ['bin/skynet.js', 'verify', ...args], { encoding: 'utf8', timeout: 60_000 });

/** The same command in this process (what bin/skynet.ts calls), for the many refusals. */
async function verifyHere(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const sink = () => { const w = new Writable({ write(c, _e, cb) { w.text += String(c); cb(); } }) as Writable & { text: string }; w.text = ''; return w; };
  const out = sink();
  const err = sink();
  const status = await runVerifyCommand(args, { out, err });
  return { status, stdout: out.text, stderr: err.text };
}

/** Each entry's name and where its data starts in the ZIP (STORE: the bytes as they are). */
function entries(zip: string): Promise<{ name: string; size: number; dataAt: number }[]> {
  return new Promise((resolve, reject) => yauzl.open(zip, { lazyEntries: true }, (err, z) => {
    if (err) return reject(err);
    const out: { name: string; size: number; dataAt: number }[] = [];
    const fd = readFileSync(zip);
    z.on('entry', (e: yauzl.Entry) => {
      const at = e.relativeOffsetOfLocalHeader;
      out.push({ name: e.fileName, size: e.uncompressedSize, dataAt: at + 30 + fd.readUInt16LE(at + 26) + fd.readUInt16LE(at + 28) });
      z.readEntry();
    });
    z.on('end', () => resolve(out));
    z.readEntry();
  }));
}

function flipped(zip: string, entry: { dataAt: number; size: number }): string {
  const bytes = readFileSync(zip);
  bytes[entry.dataAt + Math.floor(entry.size / 2)]! ^= 0x01;
  const out = `${zip}.flip-${randomUUID().slice(0, 4)}.zip`;
  writeFileSync(out, bytes);
  return out;
}

async function extract(zip: string, name: string): Promise<string> {
  const e = (await entries(zip)).find((x) => x.name === name)!;
  const out = join(scratch, `${randomUUID().slice(0, 6)}-${name.replace(/\//g, '_')}`);
  writeFileSync(out, readFileSync(zip).subarray(e.dataAt, e.dataAt + e.size));
  return out;
}

const duration = async (file: string) => Number((await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file])).stdout.trim());

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'evidence.maxExportHours': 1, 'evidence.maxExportCameras': 2 }));
  segment = join(scratch, 'seg.ts');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '300k', '-g', '50', '-f', 'mpegts', '-y', segment]);
  hevcSegment = join(scratch, 'seg-hevc.ts');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '10',
    '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=100:min-keyint=100:scenecut=0', '-b:v', '300k', '-f', 'mpegts', '-y', hevcSegment]);
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  for (const k of ['a', 'b', 'c', 'h'] as const) cams[k] = (await devices.create({ name: `导出相机-${k}`, streams: { main: `rtsp://127.0.0.1:9/${k}` } })).id;
  await record(cams.a, ['ts', 'ts', 'ts', 'ts', 'ts', 'ts']);
  // b: 0–30 s footage, 30–40 s nothing recorded, 40–50 s not MPEG-TS, 50–60 s file gone.
  await record(cams.b, ['ts', 'ts', 'ts', 'none', 'garbage', 'missing']);
  await record(cams.c, ['garbage']);
  await record(cams.h, ['ts', 'ts', 'ts'], hevcSegment);

  gateway = await startGateway(platform);
  consoleApp = await buildConsole(platform);
  await consoleApp.ready();
  const deps = createWorkerDeps(platform);
  expect(deps.media.shared).toBe(false);
  worker = await startFamily(createExportFamily(deps), {
    log: platform.log, connection: redisConnection(platform), redisPrefix: platform.config.redis.prefix,
    concurrency: 1, lockMs: 10_000, drainMs: 1000, runs: createJobRuns(platform.pool),
  });
  investigator = await loginAs(consoleApp, platform, ['investigator']);
  admin = (await loginAs(consoleApp, platform, ['admin'])).cookie;
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await consoleApp?.close();
  await gateway?.close();
  await close?.();
  rmSync(scratch, { recursive: true, force: true });
});

describe('an export', () => {
  let id: string;
  let zip: string;

  it('cuts the range into an MP4 that plays, with a snapshot, a signed manifest, holds and audit rows', async () => {
    // A snapshot in the evidence store, as the snapshot feature leaves one.
    const snapId = randomUUID();
    const snapRel = `snapshots/${cams.a}/${stamp(T0).slice(0, 8)}/${snapId}.jpg`;
    const evidenceRoot = join(platform.config.dataDir, 'evidence');
    mkdirSync(join(evidenceRoot, snapRel, '..'), { recursive: true });
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180', '-frames:v', '1', '-y', join(evidenceRoot, snapRel)]);
    await platform.pool.query(`INSERT INTO snapshots (id, device_id, taken_at, source, path, bytes, requested_by_name, purpose) VALUES ($1, $2, $3, 'session', $4, $5, 'test', 'manual')`,
      [snapId, cams.a, new Date(T0 + 20_000), snapRel, statSync(join(evidenceRoot, snapRel)).size]);

    const res = await request(investigator.cookie, { caseNumber: 'A-2026-001', reason: '盗窃案取证', items: [{ deviceId: cams.a, from: iso(T0 + 5_000), to: iso(T0 + 55_000) }], snapshotIds: [snapId] });
    expect(res.statusCode).toBe(202);
    id = res.json().export.id;
    expect(res.json().export).toMatchObject({ status: 'queued', caseNumber: 'A-2026-001', items: [{ deviceId: cams.a, deviceName: '导出相机-a' }] });
    const holds = await platform.pool.query(`SELECT device_id, starts_at, ends_at FROM holds WHERE kind = 'export' AND ref = $1`, [id]);
    expect(holds.rows).toEqual([{ device_id: cams.a, starts_at: new Date(T0 + 5_000), ends_at: new Date(T0 + 55_000) }]);

    const done = await finished(investigator.cookie, id);
    expect(done).toMatchObject({ status: 'done', gaps: [], error: null, progress: { percent: 100 } });
    expect(done.delivered).toEqual([{ deviceId: cams.a, from: iso(T0 + 5_000), to: iso(T0 + 55_000), file: expect.stringMatching(/^video\/.*\.mp4$/), bytes: expect.any(Number) }]);

    zip = await download(investigator.cookie, id);
    expect(statSync(zip).size).toBe(done.bytes);
    const names = (await entries(zip)).map((e) => e.name).sort();
    expect(names).toEqual(['manifest.json', 'manifest.sig', done.delivered![0]!.file, `snapshots/${snapId}.jpg`].sort());
    // The cut starts at the keyframe at or before the start (GOP 2 s: T0 + 4 s) and ends at the end asked for.
    const secs = await duration(await extract(zip, done.delivered![0]!.file));
    expect(secs).toBeGreaterThanOrEqual(50);
    expect(secs).toBeLessThanOrEqual(52.1);

    const audit = await platform.pool.query(`SELECT action, actor_name FROM audit_log WHERE target_id = $1 ORDER BY id`, [id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['export.request', 'export.completed', 'export.download']);
  });

  it('verifies with `skynet verify`, with the embedded key and with the published one', async () => {
    const embedded = verify(zip);
    expect(embedded.status, embedded.stdout + embedded.stderr).toBe(0);
    expect(embedded.stdout).toMatch(/key: the one embedded in the package, fingerprint [0-9a-f]{64}/);
    expect(embedded.stdout).toContain('only proves the package is intact');
    expect(embedded.stdout).toMatch(/VERIFIED: signature valid and all 2 files match the manifest/);

    const pub = await consoleApp.inject({ method: 'GET', url: '/api/evidence/public-key', headers: { cookie: admin } });
    expect(pub.json()).toMatchObject({ algorithm: 'Ed25519', publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY'), fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const keyFile = join(scratch, 'platform.pem');
    writeFileSync(keyFile, pub.json().publicKeyPem);
    const given = await verifyHere(zip, '--key', keyFile);
    expect(given.status).toBe(0);
    expect(given.stdout).toContain(`key: the one given (${keyFile}), fingerprint ${pub.json().fingerprint}`);
    // Another key: the signature fails.
    const other = join(scratch, 'other.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(scratch, 'other.key')]);
    execFileSync('openssl', ['pkey', '-in', join(scratch, 'other.key'), '-pubout', '-out', other]);
    const wrong = await verifyHere(zip, '--key', other);
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toContain('signature: INVALID');
  });

  it('fails verification on one flipped byte in the MP4 or in the manifest, naming the file', async () => {
    const all = await entries(zip);
    const mp4 = all.find((e) => e.name.endsWith('.mp4'))!;
    const badVideo = verify(flipped(zip, mp4));
    expect(badVideo.status).toBe(1);
    expect(badVideo.stdout).toContain('signature: valid');
    expect(badVideo.stdout).toMatch(new RegExp(`FAILED ${mp4.name.replace('.', '\\.')}: SHA-256 [0-9a-f]{64}`));
    expect(badVideo.stdout).toMatch(/FAILED: 1 of 3 checks failed: video\//);

    const badManifest = verify(flipped(zip, all.find((e) => e.name === 'manifest.json')!));
    expect(badManifest.status).toBe(1);
    expect(badManifest.stdout).toMatch(/FAILED manifest\.json: the signature does not match/);
  });

  it('fails a file the manifest does not list, and refuses what is not a package in one line', async () => {
    // Repack with one more entry (yazl, as a tamperer would).
    const yazl = (await import('yazl')).default;
    const extra = new yazl.ZipFile();
    for (const e of await entries(zip)) extra.addBuffer(readFileSync(zip).subarray(e.dataAt, e.dataAt + e.size), e.name, { compress: false });
    extra.addBuffer(Buffer.from('planted'), 'video/extra.mp4', { compress: false });
    extra.end();
    const planted = join(scratch, 'planted.zip');
    await new Promise<void>((resolve) => extra.outputStream.pipe(createWriteStream(planted)).on('close', () => resolve()));
    const r = await verifyHere(planted);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAILED video/extra.mp4: in the ZIP but not in the manifest');

    const notZip = join(scratch, 'not.zip');
    writeFileSync(notZip, 'hello');
    const truncated = join(scratch, 'truncated.zip');
    writeFileSync(truncated, readFileSync(zip).subarray(0, Math.floor(statSync(zip).size / 2)));
    const bare = new yazl.ZipFile();
    bare.addBuffer(Buffer.from('x'), 'a.txt');
    bare.end();
    const noManifest = join(scratch, 'bare.zip');
    await new Promise<void>((resolve) => bare.outputStream.pipe(createWriteStream(noManifest)).on('close', () => resolve()));
    for (const [file, said] of [[notZip, 'not a readable ZIP'], [truncated, 'not a readable ZIP'], [noManifest, 'holds no manifest.json'], [join(scratch, 'absent.zip'), 'not a readable ZIP']] as const) {
      const v = await verifyHere(file);
      expect(v.status, file).toBe(2);
      expect(v.stdout).toBe('');
      expect(v.stderr.trim().split('\n')).toEqual([expect.stringContaining(said)]);
      expect(v.stderr).not.toMatch(/\bat \S+:\d+/);
    }
    const child = verify(truncated);
    expect(child.status).toBe(2);
    expect(child.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^FAILED: .*truncated\.zip: not a readable ZIP file/)]);
  });
});

describe('an H.265 camera', () => {
  it('is exported in its own codec (no re-encode), tagged hvc1, and verifies', async () => {
    const res = await request(investigator.cookie, { caseNumber: 'A-2026-265', reason: 'H.265 取证', items: [{ deviceId: cams.h, from: iso(T0 + 5_000), to: iso(T0 + 25_000) }] });
    expect(res.statusCode).toBe(202);
    const done = await finished(investigator.cookie, res.json().export.id);
    expect(done).toMatchObject({ status: 'done', gaps: [] });
    const zip = await download(investigator.cookie, done.id as string);
    const mp4 = await extract(zip, done.delivered![0]!.file);
    const probed = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,codec_tag_string,width,height:format=duration', '-of', 'json', mp4])).stdout) as
      { streams: { codec_name: string; codec_tag_string: string; width: number; height: number }[]; format: { duration: string } };
    expect(probed.streams).toEqual([{ codec_name: 'hevc', codec_tag_string: 'hvc1', width: 320, height: 180 }]);
    // GOP 4 s (keyframes 0, 4 and 8 s into each file): the cut starts at T0 + 4 s.
    expect(Number(probed.format.duration)).toBeGreaterThanOrEqual(20);
    expect(Number(probed.format.duration)).toBeLessThanOrEqual(24.1);
    // Stream copy, not a re-encode: the MP4's pictures are the recording's, bit for bit,
    // from its keyframe 4 s in (display frame 100 at 25 fps).
    const frames = async (file: string) => (await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', '-f', 'framemd5', '-'], { maxBuffer: 16 * 1024 * 1024 })).stdout
      .split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
    const recorded = await frames(hevcSegment);
    const exported = await frames(mp4);
    expect(recorded.indexOf(exported[0]!)).toBe(100);
    expect(exported.slice(0, 150)).toEqual(recorded.slice(100, 250));
    // The next file whole (each is a copy of the same segment), probed lightly as later files are.
    expect(exported.slice(150, 400)).toEqual(recorded);
    const verdict = verify(zip);
    expect(verdict.status, verdict.stdout + verdict.stderr).toBe(0);
  });
});

describe('gaps', () => {
  it('declares a recording gap and unreadable segments, exports the rest, and says when a camera has nothing', async () => {
    // A snapshot whose row exists but whose file is gone: declared in the manifest, not dropped.
    const lostSnap = randomUUID();
    await platform.pool.query(`INSERT INTO snapshots (id, device_id, taken_at, source, path, bytes, requested_by_name, purpose) VALUES ($1, $2, $3, 'session', $4, 1000, 'test', 'manual')`,
      [lostSnap, cams.b, new Date(T0 + 5_000), `snapshots/${cams.b}/${stamp(T0).slice(0, 8)}/${lostSnap}.jpg`]);
    const res = await request(investigator.cookie, { caseNumber: 'A-2026-002', reason: '缺口', items: [
      { deviceId: cams.b, from: iso(T0), to: iso(T0 + 60_000) },
      { deviceId: cams.c, from: iso(T0), to: iso(T0 + 10_000) },
    ], snapshotIds: [lostSnap] });
    expect(res.statusCode).toBe(202);
    const done = await finished(investigator.cookie, res.json().export.id);
    expect(done.status).toBe('done');
    expect(done.gaps).toEqual([
      { deviceId: cams.b, from: iso(T0 + 30_000), to: iso(T0 + 40_000), reason: 'no_recording' },
      { deviceId: cams.b, from: iso(T0 + 40_000), to: iso(T0 + 60_000), reason: 'unreadable' },
      { deviceId: cams.c, from: iso(T0), to: iso(T0 + 10_000), reason: 'unreadable' },
    ]);
    expect(done.delivered).toEqual([expect.objectContaining({ deviceId: cams.b, from: iso(T0), to: iso(T0 + 30_000) })]);
    const zip = await download(investigator.cookie, res.json().export.id);
    const manifest = JSON.parse(readFileSync(await extract(zip, 'manifest.json'), 'utf8'));
    const [b, c] = manifest.cameras;
    // Where each gap falls in the MP4: after the 30 s delivered.
    expect(b.gaps.map((g: { atMs: number }) => g.atMs)).toEqual([30_000, 30_000]);
    expect(c).toMatchObject({ file: null, delivered: [], note: expect.stringContaining('no footage') });
    expect(manifest.snapshots).toEqual([{ id: lostSnap, deviceId: cams.b, takenAt: iso(T0 + 5_000), file: null, note: expect.stringContaining('could not be read') }]);
    expect((await entries(zip)).some((e) => e.name.startsWith('snapshots/'))).toBe(false);
    expect(await duration(await extract(zip, b.file))).toBeCloseTo(30, 0);
    expect((await verifyHere(zip)).status).toBe(0);
  });
});

describe('bad requests', () => {
  const range = () => ({ from: iso(T0), to: iso(T0 + 30_000) });
  it('refuses each with a clear 4xx naming the field, and queues nothing', async () => {
    const before = (await platform.pool.query('SELECT count(*)::int AS n FROM exports')).rows[0].n;
    const cases: [unknown, number, string | undefined, string][] = [
      [{ caseNumber: 'X', reason: 'r', items: [{ deviceId: cams.a, from: iso(T0 + 3_600_000), to: iso(T0 + 3_700_000) }] }, 422, 'items.0', 'export.no_footage'],
      [{ caseNumber: 'X', reason: 'r', items: [{ deviceId: cams.a, from: iso(T0), to: iso(T0 + 3_600_001) }] }, 400, 'items.0.to', 'export.range_too_long'],
      [{ caseNumber: 'X', reason: 'r', items: [cams.a, cams.b, cams.c].map((deviceId) => ({ deviceId, ...range() })) }, 400, 'items', 'export.too_many_cameras'],
      [{ caseNumber: 'X', reason: 'r', items: [{ deviceId: randomUUID(), ...range() }] }, 404, undefined, 'not_found'],
      [{ reason: 'r', items: [{ deviceId: cams.a, ...range() }] }, 400, 'caseNumber', ''],
      [{ caseNumber: 'X', items: [{ deviceId: cams.a, ...range() }] }, 400, 'reason', ''],
      [{ caseNumber: '  ', reason: 'r', items: [{ deviceId: cams.a, ...range() }] }, 400, 'caseNumber', 'export.blank'],
      [{ caseNumber: 'X', reason: 'r', items: [{ deviceId: cams.a, from: iso(T0 + 30_000), to: iso(T0 + 30_000) }] }, 400, 'items.0.to', 'export.range_order'],
      [{ caseNumber: 'X', reason: 'r', items: [{ deviceId: cams.a, from: iso(Date.now() + 60_000), to: iso(Date.now() + 120_000) }] }, 400, 'items.0.from', 'export.range_future'],
      [{ caseNumber: 'X', reason: 'r', items: [{ deviceId: cams.a, ...range() }], snapshotIds: [randomUUID()] }, 400, 'snapshotIds', 'export.snapshot_unknown'],
    ];
    for (const [body, status, field, code] of cases) {
      const res = await request(investigator.cookie, body);
      expect(res.statusCode, JSON.stringify(body) + res.body).toBe(status);
      if (field) expect(res.json().field, res.body).toBe(field);
      if (code) expect(res.json().code).toBe(code);
    }
    for (const role of ['monitor', 'patrol'] as const) {
      const { cookie } = await loginAs(consoleApp, platform, [role]);
      expect((await request(cookie, { caseNumber: 'X', reason: 'r', items: [{ deviceId: cams.a, ...range() }] })).statusCode).toBe(403);
    }
    expect((await platform.pool.query('SELECT count(*)::int AS n FROM exports')).rows[0].n).toBe(before);
  });

  it('lets only the requester, supervisors and admins see and download; 409 before it is done', async () => {
    const other = await loginAs(consoleApp, platform, ['investigator']);
    const supervisor = await loginAs(consoleApp, platform, ['supervisor']);
    const mine = await request(investigator.cookie, { caseNumber: 'A-2026-003', reason: 'r', items: [{ deviceId: cams.a, ...range() }] });
    const id = mine.json().export.id;
    // Queued or running: no link yet (the worker may be quick, so only assert when not done).
    const early = await consoleApp.inject({ method: 'POST', url: `/api/exports/${id}/download`, headers: { cookie: investigator.cookie }, payload: {} });
    if (early.statusCode !== 200) expect(early.json()).toMatchObject({ code: 'export.not_ready' });
    await finished(investigator.cookie, id);
    expect((await consoleApp.inject({ method: 'POST', url: `/api/exports/${id}/download`, headers: { cookie: other.cookie }, payload: {} })).json()).toMatchObject({ code: 'export.not_yours' });
    expect((await consoleApp.inject({ method: 'GET', url: `/api/exports/${id}`, headers: { cookie: other.cookie } })).statusCode).toBe(403);
    const list = (await consoleApp.inject({ method: 'GET', url: '/api/exports?mine=false', headers: { cookie: other.cookie } })).json();
    expect(list.items.every((e: { requestedByName: string }) => e.requestedByName === other.username)).toBe(true);
    expect((await consoleApp.inject({ method: 'GET', url: '/api/exports?pageSize=100', headers: { cookie: supervisor.cookie } })).json().items.map((e: { id: string }) => e.id)).toContain(id);
    await download(supervisor.cookie, id);
    await download(admin, id);
    // A link is bound to its export and dies with its user's credentials.
    const link = (await consoleApp.inject({ method: 'POST', url: `/api/exports/${id}/download`, headers: { cookie: investigator.cookie }, payload: {} })).json().url as string;
    const wrong = link.replace(id, randomUUID());
    expect((await consoleApp.inject({ method: 'GET', url: wrong })).statusCode).toBe(403);
    expect((await consoleApp.inject({ method: 'GET', url: link.slice(0, -3) + 'xyz' })).statusCode).toBe(401);
    const supLink = (await consoleApp.inject({ method: 'POST', url: `/api/exports/${id}/download`, headers: { cookie: supervisor.cookie }, payload: {} })).json().url as string;
    await platform.identity.updateUser(supervisor.userId, { disabled: true });
    expect((await consoleApp.inject({ method: 'GET', url: supLink })).json()).toMatchObject({ code: 'media.token_revoked' });
  });
});

describe('exactly once', () => {
  it('adding the job twice and running the build again leaves one package and one completion', async () => {
    const res = await request(admin, { caseNumber: 'A-2026-004', reason: 'r', items: [{ deviceId: cams.a, from: iso(T0), to: iso(T0 + 20_000) }] });
    const id = res.json().export.id;
    const jobs = createJobProducer({ connection: redisConnection(platform), redisPrefix: platform.config.redis.prefix });
    await jobs.add('export', 'export.build', { exportId: id }, { jobId: exportJobId(id) });
    const done = await finished(admin, id);
    expect(done.status).toBe('done');
    await jobs.close();
    // The build once more (a retry that finds it done): same package, nothing rebuilt.
    const again = await createExportService(createWorkerDeps(platform)).build(id, { signal: new AbortController().signal, progress: async () => {}, log: platform.log });
    expect(again).toMatchObject({ exportId: id, sha256: done.sha256, bytes: done.bytes });
    const completions = await platform.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'export.completed' AND target_id = $1`, [id]);
    expect(completions.rows[0].n).toBe(1);
    const evidence = join(platform.config.dataDir, 'evidence');
    expect(readdirSync(join(evidence, 'exports')).filter((f) => f.startsWith(id))).toEqual([`${id}.zip`]);
    expect(existsSync(join(evidence, 'tmp', `export-${id}`))).toBe(false);
  });
});
