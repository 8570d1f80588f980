import { randomUUID } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createAuditLog } from '../../core/audit/repository.ts';
import { withTransaction, type Queryable } from '../../core/db/pool.ts';
import { badRequest, conflict, forbidden, notFound, unprocessable } from '../../core/http/errors.ts';
import { createIdentityRepository } from '../../core/identity/repository.ts';
import type { Principal } from '../../core/identity/types.ts';
import { loadSigningKey } from '../../core/signing.ts';
import type { WorkerDeps } from '../deps.ts';
import { createHoldRepository } from '../retention/holds.ts';
import { buildExport, type BuildContext } from './build.ts';
import { createExportRepository } from './repository.ts';
import { checkExportToken, EXPORT_TOKEN_SECONDS, mintExportToken } from './token.ts';
import { exportJobId, type ExportItem, type ExportRecord, type ExportView } from './types.ts';

type Meta = { ip?: string; requestId?: string };

export interface ExportRequest { caseNumber: string; reason: string; items: ExportItem[]; snapshotIds?: string[] }

/**
 * What a feature requesting an export on something's behalf adds (an incident): its id for the
 * audit row, and work done in the request's own transaction (linking the export, a timeline entry).
 */
export interface ExportRequestOptions {
  incidentId?: string;
  inTransaction?: (db: Queryable, created: ExportRecord) => Promise<void>;
}

/** Who sees and downloads every export; anyone else only their own. */
const OVERSEERS = new Set(['admin', 'supervisor']);
const oversees = (actor: Principal) => actor.roles.some((r) => OVERSEERS.has(r));

/**
 * Evidence exports (证据导出): the request (checked, held against retention, audited, queued
 * as `export.build`), listing and status, the signed download link and the package behind
 * it, the platform's public signing key, and the build itself for the worker (build.ts).
 */
export function createExportService(deps: WorkerDeps) {
  const { platform, devices, recordings, jobs, evidence } = deps;
  const repo = createExportRepository(platform.pool);
  const identity = createIdentityRepository(platform.pool);
  const limits = platform.config.evidence;
  // The key is created on first use, not at start-up: a console that never exports writes none.
  let signing: ReturnType<typeof loadSigningKey> | null = null;
  const key = () => (signing ??= loadSigningKey(platform.config.secrets.signingKey, platform.config.dataDir));

  const userOf = (actor: Principal): string => {
    if (!actor.userId) throw forbidden('exports are requested by people', { code: 'export.user_required' });
    return actor.userId;
  };

  const mayAccess = (actor: Principal, row: ExportRecord) => oversees(actor) || row.requestedBy === actor.userId;

  async function view(row: ExportRecord): Promise<ExportView> {
    const names = new Map<string, string>();
    for (const it of row.items) {
      if (!names.has(it.deviceId)) names.set(it.deviceId, await devices.get(it.deviceId).then((d) => d.name, () => ''));
    }
    const m = row.manifest;
    return {
      id: row.id, caseNumber: row.caseNumber, reason: row.reason, requestedByName: row.requestedByName, requestedAt: row.requestedAt,
      items: row.items.map((it) => ({ ...it, deviceName: names.get(it.deviceId) ?? '' })),
      status: row.status, progress: row.progress, bytes: row.bytes, sha256: row.sha256, error: row.error, errorCode: row.errorCode, finishedAt: row.finishedAt,
      gaps: m ? m.cameras.flatMap((c) => c.gaps.map((g) => ({ deviceId: c.deviceId, from: g.from, to: g.to, reason: g.reason }))) : [],
      // One entry per continuous delivered range (a camera's MP4 holds them all, in order).
      delivered: m ? m.cameras.flatMap((c) => (c.file ? c.delivered.map((d) => ({
        deviceId: c.deviceId, from: d.from, to: d.to, file: c.file!, bytes: m.files.find((f) => f.path === c.file)?.bytes ?? 0,
      })) : [])) : null,
    };
  }

  /** The request's rules, in the order a person fixes them; every refusal names its field. */
  async function check(input: ExportRequest, now: number): Promise<ExportItem[]> {
    if (!input.caseNumber.trim()) throw badRequest('caseNumber must not be blank', { field: 'caseNumber', code: 'export.blank' });
    if (!input.reason.trim()) throw badRequest('reason must not be blank', { field: 'reason', code: 'export.blank' });
    if (input.items.length > limits.maxExportCameras) {
      throw badRequest(`an export holds at most ${limits.maxExportCameras} cameras`, { field: 'items', code: 'export.too_many_cameras', params: { max: limits.maxExportCameras } });
    }
    const items: ExportItem[] = [];
    for (const [i, it] of input.items.entries()) {
      const from = Date.parse(it.from);
      const to = Date.parse(it.to);
      if (from >= to) throw badRequest('the range must end after it starts', { field: `items.${i}.to`, code: 'export.range_order' });
      if (from > now) throw badRequest('the range starts in the future', { field: `items.${i}.from`, code: 'export.range_future' });
      if (to - from > limits.maxExportHours * 3_600_000) {
        throw badRequest(`one camera's range is at most ${limits.maxExportHours} hours`, { field: `items.${i}.to`, code: 'export.range_too_long', params: { max: limits.maxExportHours } });
      }
      const device = await devices.get(it.deviceId);
      if (await recordings.countInRange(device.id, new Date(from), new Date(to)) === 0) {
        throw unprocessable('there is no recorded footage of this camera in this range', { field: `items.${i}`, code: 'export.no_footage', params: { name: device.name } });
      }
      items.push({ deviceId: device.id, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    }
    const ids = [...new Set(input.snapshotIds ?? [])];
    const found = await repo.snapshots(ids);
    if (found.length !== ids.length) throw badRequest('a snapshot named does not exist', { field: 'snapshotIds', code: 'export.snapshot_unknown' });
    return items;
  }

  /** Whether a token's user still holds credentials: not disabled, and when last revoked. */
  async function holder(userId: string) {
    const [user, revoked] = await Promise.all([
      identity.getUser(userId),
      identity.revokedSince(new Date(Date.now() - (EXPORT_TOKEN_SECONDS + 60) * 1000)),
    ]);
    if (!user) return null;
    return { disabled: user.disabled, revokedAt: revoked.filter((r) => r.userId === userId).at(-1)?.at ?? null };
  }

  async function visible(actor: Principal, id: string): Promise<ExportRecord> {
    const row = await repo.get(id);
    if (!row) throw notFound('export');
    if (!mayAccess(actor, row)) throw forbidden('only who asked for an export, supervisors and admins reach it', { code: 'export.not_yours' });
    return row;
  }

  return {
    /** The job's work (workers/export/family.ts). */
    build: (exportId: string, ctx: BuildContext) => buildExport(deps, exportId, ctx),

    /** A request: checked, recorded with its holds and audit row in one transaction, then queued. */
    async request(actor: Principal, input: ExportRequest, meta: Meta, opts: ExportRequestOptions = {}): Promise<{ export: ExportView }> {
      const userId = userOf(actor);
      const items = await check(input, Date.now());
      const id = randomUUID();
      const snapshotIds = [...new Set(input.snapshotIds ?? [])];
      const row = await withTransaction(platform.pool, async (db) => {
        const created = await createExportRepository(db).insert({
          id, caseNumber: input.caseNumber.trim(), reason: input.reason.trim(), requestedBy: userId, requestedByName: actor.username, items, snapshotIds,
        });
        // Held from the request on: retention must not take the footage while the job waits.
        await createHoldRepository(db).place(items.map((it) => ({
          deviceId: it.deviceId, startsAt: new Date(it.from), endsAt: new Date(it.to), kind: 'export' as const, ref: id,
          reason: `export ${created.caseNumber}`, createdBy: userId,
        })));
        await createAuditLog(db).record({
          actor, action: 'export.request', targetType: 'export', targetId: id, reason: created.reason,
          details: { caseNumber: created.caseNumber, items, snapshotIds, ...(opts.incidentId ? { incidentId: opts.incidentId } : {}) }, ...meta,
        });
        await opts.inTransaction?.(db, created);
        return created;
      });
      try {
        await jobs.add('export', 'export.build', { exportId: id }, { jobId: exportJobId(id) });
      } catch (err) {
        await repo.fail(id, 'export.queue_failed', 'the export could not be queued');
        throw err;
      }
      return { export: await view(row) };
    },

    async list(actor: Principal, q: { mine?: boolean; page: number; pageSize: number }) {
      const userId = userOf(actor);
      const requestedBy = q.mine || !oversees(actor) ? userId : null;
      const { items, total } = await repo.list({ requestedBy, limit: q.pageSize, offset: (q.page - 1) * q.pageSize });
      return { items: await Promise.all(items.map(view)), total, page: q.page, pageSize: q.pageSize };
    },

    async get(actor: Principal, id: string): Promise<ExportView> {
      return view(await visible(actor, id));
    },

    /** A signed link to the package, for this user and export (about 10 minutes); audited. */
    async download(actor: Principal, id: string, meta: Meta): Promise<{ url: string; expiresAt: Date }> {
      const userId = userOf(actor);
      const row = await visible(actor, id);
      if (row.status !== 'done' || !row.path) throw conflict(`the export is ${row.status}, not ready to download`, { code: 'export.not_ready', params: { status: row.status } });
      const { token, expiresAt } = await mintExportToken(platform.mediaKeys, { userId, exportId: id });
      await platform.audit.record({
        actor, action: 'export.download', targetType: 'export', targetId: id, reason: row.reason,
        details: { caseNumber: row.caseNumber, sha256: row.sha256, bytes: row.bytes }, ...meta,
      });
      return { url: `/api/exports/${id}/package/${token}`, expiresAt };
    },

    /** The ZIP behind a signed link (the link is the only credential). */
    async package(id: string, token: string): Promise<{ stream: ReadStream; bytes: number; filename: string }> {
      await checkExportToken(platform.mediaKeys, token, id, holder);
      const row = await repo.get(id);
      const path = row?.status === 'done' && row.path ? await evidence.resolveInside(row.path) : null;
      const info = path ? await stat(path).catch(() => null) : null;
      if (!row || !path || !info?.isFile()) throw notFound('export package');
      return { stream: createReadStream(path), bytes: info.size, filename: `export-${row.caseNumber.replace(/[^A-Za-z0-9._-]+/g, '_')}-${id.slice(0, 8)}.zip` };
    },

    publicKey(): { algorithm: 'Ed25519'; publicKeyPem: string; fingerprint: string } {
      const k = key();
      return { algorithm: 'Ed25519', publicKeyPem: k.publicKeyPem, fingerprint: k.fingerprint };
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;
