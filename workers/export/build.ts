import { createWriteStream } from 'node:fs';
import { link, mkdir, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HttpError } from '../../core/http/errors.ts';
import { loadSigningKey } from '../../core/signing.ts';
import type { RecordingSegment } from '../../gateway/recordings/types.ts';
import type { WorkerDeps } from '../deps.ts';
import type { MediaAccess } from '../media.ts';
import type { Result } from '../jobs.ts';
import { PermanentJobError } from '../runner.ts';
import { prepareCut } from './ffmpeg.ts';
import { planCut, type PlanSegment } from './manifest.ts';
import { buildInThread, type BuildInput } from './package.ts';
import { createExportRepository } from './repository.ts';
import type { ExportStage, Manifest, ManifestCamera } from './types.ts';

/** Progress goes to the row and the job at most this often. */
const PROGRESS_EVERY_MS = 500;
/**
 * Where each stage's share of the bar starts and ends: checking each segment (and fetching the
 * trimmed first and last where the media directory is not shared), then cutting, hashing and
 * zipping in one pass.
 */
const STAGE_SPAN: Record<ExportStage, [number, number]> = { fetching: [0, 5], packing: [5, 99] };
const SYSTEM = { kind: 'system', userId: null, username: 'workers' } as const;

export interface BuildContext {
  signal: AbortSignal;
  progress(p: Record<string, unknown>): Promise<void>;
  log: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  /** This is the job's last attempt: a failure now is the export's, not a retry's. */
  finalAttempt?: boolean;
}

/** MPEG-TS starts with the sync byte at 0 and again 188 bytes later. */
const looksLikeTs = (head: Buffer | null) => head !== null && head.length >= 189 && head[0] === 0x47 && head[188] === 0x47;

/** Segments checked at once on a gateway node. */
const CHECK_CONCURRENCY = 8;

/**
 * `fn` over `items` with at most `limit` running, results in the items' order. After a failure
 * no new item starts, and it rejects only once the running ones have settled (so nothing
 * writes into the scratch dir after the caller removes it).
 */
async function mapInOrder<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try { out[i] = await fn(items[i]!); } catch (err) { failed = true; throw err; }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return out;
}

const safeName = (s: string) => s.replace(/[^\p{L}\p{N}._-]+/gu, '_');

/**
 * The `export.build` job. Runs start over cleanly (their scratch dir is removed first and
 * last), the package is written to tmp/ and linked into exports/<id>.zip only if no package
 * is there, and the row is completed by a conditional UPDATE: a second run, a retry after a
 * crash, or the same job added twice leaves one package and one `export.completed` row.
 */
export async function buildExport(deps: WorkerDeps, exportId: string, ctx: BuildContext): Promise<Result<'export', 'export.build'>> {
  const { platform, evidence, media, recordings, devices } = deps;
  const repo = createExportRepository(platform.pool);
  const row = await repo.start(exportId);
  if (!row) {
    const existing = await repo.get(exportId);
    if (!existing) throw new PermanentJobError('export.not_found', 'no such export', { exportId });
    if (existing.status === 'done' && existing.manifest) return resultOf(existing.id, existing.bytes!, existing.sha256!, existing.manifest);
    throw new PermanentJobError('export.not_runnable', `the export is ${existing.status}`, { status: existing.status });
  }

  const scratch = join(evidence.tmp, `export-${exportId}`);
  const dest = evidence.abs(evidence.exportPath(exportId));
  // The status is not done, so a package already in place is a crashed run's: it goes.
  await Promise.all([rm(scratch, { recursive: true, force: true }), rm(dest, { force: true })]);
  await mkdir(join(scratch, 'video'), { recursive: true });

  let stage: ExportStage = 'fetching';
  let stageBytes = 0;
  let stageTotal = 1;
  let last = 0;
  const report = async (force = false) => {
    const now = Date.now();
    if (!force && now - last < PROGRESS_EVERY_MS) return;
    last = now;
    const [a, b] = STAGE_SPAN[stage];
    const p = { percent: Math.round(a + (b - a) * Math.min(1, stageBytes / Math.max(1, stageTotal))), bytes: stageBytes, stage };
    await Promise.all([repo.progress(exportId, p), ctx.progress(p)]);
  };
  // A progress write that fails (database blip) must not fail the export.
  const quiet = (err: unknown) => ctx.log.warn({ err, exportId }, 'could not store export progress');
  // How long each stage took, logged with the result (where the time goes on a slow export).
  const took: Partial<Record<ExportStage | 'planning', number>> = {};
  let stageStarted = performance.now();
  const mark = (name: ExportStage | 'planning' = stage) => { took[name] = Math.round((took[name] ?? 0) + performance.now() - stageStarted); stageStarted = performance.now(); };
  const enter = async (s: ExportStage, total: number) => { mark(); stage = s; stageBytes = 0; stageTotal = total; await report(true); };

  try {
    const key = loadSigningKey(platform.config.secrets.signingKey, platform.config.dataDir);
    const cams = await Promise.all(row.items.map(async (item) => ({
      item, device: await devices.get(item.deviceId),
      segments: await recordings.segmentsInRange(item.deviceId, new Date(item.from), new Date(item.to)),
    })));
    const totalBytes = cams.reduce((n, c) => n + c.segments.reduce((m, s) => m + Number(s.bytes), 0), 0);

    const cameras: ManifestCamera[] = [];
    const videos: BuildInput['videos'] = [];
    await enter('fetching', totalBytes);
    for (const { item, device, segments } of cams) {
      // Each segment's first packets: is it MPEG-TS (a file gone or garbled is an 'unreadable' gap)?
      const planned: PlanSegment<RecordingSegment>[] = await mapInOrder(segments, media.shared ? 1 : CHECK_CONCURRENCY, async (seg) => {
        ctx.signal.throwIfAborted();
        const readable = looksLikeTs(await media.head(refOf(seg), 189, ctx.signal));
        stageBytes += Number(seg.bytes);
        await report();
        return { seg, startsAt: seg.startsAt, endsAt: seg.endsAt, readable };
      });
      const plan = planCut(new Date(item.from), new Date(item.to), planned);
      let file: string | null = null;
      if (plan.parts.length > 0) {
        file = `video/${safeName(device.name)}_${device.id}.mp4`;
        // The first part is probed (codec, keyframes) and so are trimmed ones: those are local files.
        const parts = await Promise.all(plan.parts.map(async (p, i) => ({
          ...await partSource(media, p.seg, i === 0 || p.inpoint !== null || p.outpoint !== null, scratch, ctx.signal), inpoint: p.inpoint, outpoint: p.outpoint,
        })));
        const cut = await prepareCut(parts, join(scratch, `list-${device.id}.txt`), ctx.signal);
        videos.push({ name: file, args: cut.args });
      }
      cameras.push({
        deviceId: device.id, name: device.name, requested: { from: item.from, to: item.to }, delivered: plan.delivered, gaps: plan.gaps, file,
        ...(file ? {} : { note: 'no footage of this range could be read: the package holds no video of this camera' }),
      });
    }

    const snapshots: Manifest['snapshots'] = [];
    const files: BuildInput['files'] = [];
    const found = new Map((await repo.snapshots(row.snapshotIds)).map((s) => [s.id, s]));
    for (const id of row.snapshotIds) {
      const s = found.get(id);
      const abs = s ? await evidence.resolveInside(s.path) : null;
      if (!s || !abs) {
        // Asked for but gone (deleted by retention after the request, or its file lost): declared, not dropped.
        snapshots.push({ id, deviceId: s?.deviceId ?? null, takenAt: s?.takenAt.toISOString() ?? null, file: null, note: s ? 'the snapshot file could not be read when the package was built' : 'the snapshot no longer exists' });
        ctx.log.warn({ exportId, snapshotId: id }, 'a snapshot asked for could not be packed');
        continue;
      }
      const name = `snapshots/${s.id}.jpg`;
      files.push({ abs, name });
      snapshots.push({ id: s.id, deviceId: s.deviceId, takenAt: s.takenAt.toISOString(), file: name });
    }

    // The cut, the hashes and the ZIP in one pass: the MP4s go from ffmpeg into the package.
    await enter('packing', totalBytes);
    const zipPath = join(scratch, 'package.zip');
    const built = await buildInThread({
      out: zipPath, videos, files, signingKeyPem: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      manifest: {
        format: 'skynet.evidence-export/1',
        exportId, caseNumber: row.caseNumber, reason: row.reason,
        requestedBy: { userId: row.requestedBy, name: row.requestedByName },
        requestedAt: row.requestedAt.toISOString(), builtAt: new Date().toISOString(),
        signer: { algorithm: 'Ed25519', publicKeyPem: key.publicKeyPem, fingerprint: key.fingerprint },
        cameras, snapshots,
      },
    }, { signal: ctx.signal, onProgress: (p) => { stageBytes = p.bytes; report().catch(quiet); } });
    const { manifest } = built;
    const zip = { bytes: built.bytes, sha256: built.sha256 };
    const hashed = manifest.files;

    mark();
    // Into place without replacing: a package there now is a concurrent run's (it will complete).
    await mkdir(dirname(dest), { recursive: true });
    await link(zipPath, dest);
    if (await repo.complete(exportId, { path: evidence.exportPath(exportId), bytes: zip.bytes, sha256: zip.sha256, manifest })) {
      const gaps = cameras.reduce((n, c) => n + c.gaps.length, 0);
      await platform.audit.record({
        actor: SYSTEM, action: 'export.completed', targetType: 'export', targetId: exportId, reason: row.reason,
        details: { caseNumber: row.caseNumber, bytes: zip.bytes, sha256: zip.sha256, files: hashed.length, gaps, requestedBy: row.requestedByName },
      });
      ctx.log.info({ exportId, bytes: zip.bytes, gaps, stageMs: took }, 'export built');
    } else {
      await unlink(dest).catch(() => {});
    }
    const done = await repo.get(exportId);
    return resultOf(exportId, done!.bytes!, done!.sha256!, done!.manifest!);
  } catch (err) {
    if (err instanceof PermanentJobError) await repo.fail(exportId, err.code, err.message);
    else if (err instanceof HttpError && err.statusCode < 500) await repo.fail(exportId, err.code, err.message);
    else if (ctx.finalAttempt && !ctx.signal.aborted) await repo.fail(exportId, 'export.failed', (err as Error).message);
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function resultOf(exportId: string, bytes: number, sha256: string, m: Manifest): Result<'export', 'export.build'> {
  return { exportId, bytes, sha256, files: m.files.length, gaps: m.cameras.reduce((n, c) => n + c.gaps.length, 0) };
}

const refOf = (seg: RecordingSegment) => ({ id: seg.id, deviceId: seg.deviceId, path: seg.path, nodeId: seg.nodeId });

/**
 * Where ffmpeg reads a segment: in place where the media directory is shared; else a trimmed
 * one (the first and last, whose keyframes and timestamps are probed) fetched into scratch, and
 * the others straight from their node's internal API (ffmpeg over HTTP with Range: the footage
 * is never written before it goes into the package). A segment gone since it was checked fails
 * the attempt (the retry declares it a gap).
 */
async function partSource(media: MediaAccess, seg: RecordingSegment, trimmed: boolean, scratch: string, signal: AbortSignal): Promise<{ path: string; authorization?: string }> {
  const ref = refOf(seg);
  if (media.shared) return { path: media.localPath(ref)! };
  if (!trimmed) return media.remote(ref).then((r) => ({ path: r.url, authorization: r.authorization }));
  const path = join(scratch, `seg-${seg.id}.ts`);
  const { stream } = await media.openSegment(ref, signal);
  await pipeline(stream, createWriteStream(path));
  return { path };
}
