import { randomUUID } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { createAuditLog } from '../../core/audit/repository.ts';
import type { AuditEntry } from '../../core/audit/types.ts';
import { badGateway, badRequest, conflict, forbidden, notFound, unprocessable } from '../../core/http/errors.ts';
import { createIdentityRepository } from '../../core/identity/repository.ts';
import type { Principal } from '../../core/identity/types.ts';
import { jpegInfo, MAX_JPEG_BYTES } from '../../gateway/frames/jpeg.ts';
import type { WorkerDeps } from '../deps.ts';
import { SNAPSHOT_SOURCES, type Payload } from '../jobs.ts';
import { createSnapshotRepository } from './repository.ts';
import { checkSnapshotToken, mintSnapshotToken, SNAPSHOT_TOKEN_SECONDS } from './token.ts';
import { snapshotJobId, type Snapshot, type SnapshotPurpose, type SnapshotRecord, type SnapshotSource } from './types.ts';

/** Time for the answer to travel on top of the gateway's own deadline. */
const GATEWAY_MARGIN_MS = 400;
/** The most snapshots an incident's evidence lists. */
const INCIDENT_SNAPSHOTS = 500;
/** A camera clock this far ahead is not believed: the picture is stamped with our time. */
const MAX_CLOCK_AHEAD_MS = 60_000;

type Meta = { ip?: string; requestId?: string };

export interface TakeInput {
  deviceId: string;
  purpose: SnapshotPurpose;
  reason?: string | null;
  /** Who asked: a person, or a producer such as an alarm rule (userId null, name `rule:…`). */
  requestedBy: { userId: string | null; name: string };
  /** Stored as the row's job_id: a job that runs again (or a ref added again) finds its snapshot. */
  jobKey?: string | null;
  /** The incident it is taken for (stored as snapshots.incident_id). */
  incidentId?: string | null;
  /** A past moment: the frame of the camera's recording at `at` instead of a live picture. */
  at?: Date | null;
  meta?: Meta;
  signal?: AbortSignal;
}

/** Who the audit row names for a request made on someone's behalf. */
function actorOf(by: TakeInput['requestedBy']): AuditEntry['actor'] {
  return by.userId ? { kind: 'user', userId: by.userId, username: by.name, roles: [] } : { kind: 'system', userId: null, username: by.name };
}

const isSource = (s: string | null): s is SnapshotSource => (SNAPSHOT_SOURCES as readonly string[]).includes(s ?? '');

/**
 * Snapshots (抓图), for the console button and the `snapshot.take` job alike: the frame comes
 * from the gateway node that holds the camera (its internal API: the session's newest keyframe,
 * the snapshot URI, or a short RTSP grab, decided there), the JPEG goes into the evidence store,
 * the row and its audit row are written together. Images are served to people through short-lived
 * signed links; every list or lookup that hands out links is audited as `snapshot.view`.
 */
export function createSnapshotService(deps: WorkerDeps) {
  const { platform, gateway, evidence, devices, jobs, recordings } = deps;
  const repo = createSnapshotRepository(platform.pool);
  const identity = createIdentityRepository(platform.pool);
  const timeoutMs = platform.config.evidence.snapshotTimeoutMs;

  /** One picture from the node that holds the camera, checked to be a JPEG. */
  async function frameOf(deviceId: string, signal?: AbortSignal) {
    const res = await gateway.rawForDevice(deviceId, `/internal/devices/${deviceId}/frame`, { method: 'POST', body: { timeoutMs }, timeoutMs: timeoutMs + GATEWAY_MARGIN_MS, signal });
    const source = res.headers.get('x-frame-source');
    if (Number(res.headers.get('content-length') ?? 0) > MAX_JPEG_BYTES || !isSource(source)) {
      await res.body?.cancel().catch(() => {});
      throw badGateway('the gateway answered with no usable picture', { code: 'snapshot.bad_frame' });
    }
    const jpeg = Buffer.from(await res.arrayBuffer());
    const size = jpegInfo(jpeg);
    if (!size || jpeg.length > MAX_JPEG_BYTES) throw badGateway('the gateway answered with no usable picture', { code: 'snapshot.bad_frame' });
    const at = Date.parse(res.headers.get('x-frame-taken-at') ?? '');
    const takenAt = Number.isFinite(at) && at <= Date.now() + MAX_CLOCK_AHEAD_MS ? new Date(at) : new Date();
    return { jpeg, source, takenAt, ...size };
  }

  /**
   * The frame of the camera's recording at `at`: the segment holding that moment (recordings index),
   * decoded by the gateway node that wrote it (internal API, the segment named by its indexed path).
   * Stored with source `session`: the recording is the session's own output (migration 008 allows
   * no other word yet); the audit row says `recordedAt`.
   */
  async function recordedFrameOf(deviceId: string, at: Date, signal?: AbortSignal) {
    if (at.getTime() > Date.now()) throw badRequest('`at` lies in the future', { field: 'at', code: 'recorded_frame.future' });
    const [segment] = await recordings.segmentsInRange(deviceId, at, new Date(at.getTime() + 1));
    if (!segment) throw unprocessable('this camera recorded nothing at that moment', { field: 'at', code: 'recorded_frame.no_footage', params: { at: at.toISOString() } });
    const offsetMs = Math.max(0, at.getTime() - new Date(segment.startsAt).getTime());
    const node = segment.nodeId ?? (await gateway.footageNode(deviceId)).id;
    const res = await gateway.rawFromNode(node, `/internal/devices/${deviceId}/recorded-frame`, {
      method: 'POST', body: { path: segment.path, offsetMs, timeoutMs }, timeoutMs: timeoutMs + GATEWAY_MARGIN_MS, signal,
    });
    if (Number(res.headers.get('content-length') ?? 0) > MAX_JPEG_BYTES || res.headers.get('x-frame-source') !== 'recording') {
      await res.body?.cancel().catch(() => {});
      throw badGateway('the gateway answered with no usable picture', { code: 'snapshot.bad_frame' });
    }
    const jpeg = Buffer.from(await res.arrayBuffer());
    const size = jpegInfo(jpeg);
    if (!size || jpeg.length > MAX_JPEG_BYTES) throw badGateway('the gateway answered with no usable picture', { code: 'snapshot.bad_frame' });
    return { jpeg, source: 'recording' as const, takenAt: at, segmentId: segment.id, ...size };
  }

  /** Take and store one snapshot (or find the one its job key already stored). */
  async function take(input: TakeInput): Promise<SnapshotRecord> {
    const device = await devices.get(input.deviceId);
    if (input.jobKey) {
      const done = await repo.byJobId(input.jobKey);
      if (done) return done;
    }
    // A recorded moment stays available after a camera is disabled or decommissioned (its footage stays).
    if (!input.at && device.decommissionedAt) throw conflict('this device was decommissioned', { code: 'snapshot.device_decommissioned', params: { name: device.name } });
    if (!input.at && !device.enabled) throw conflict('this device is disabled', { code: 'snapshot.device_disabled', params: { name: device.name } });
    if (input.incidentId && !(await repo.incidentExists(input.incidentId))) {
      throw notFound('incident', { field: 'incidentId', code: 'not_found', params: { what: 'incident' } });
    }
    const frame = input.at ? await recordedFrameOf(device.id, input.at, input.signal) : await frameOf(device.id, input.signal);
    const id = randomUUID();
    const path = evidence.snapshotPath(device.id, frame.takenAt, id);
    await evidence.put(path, frame.jpeg);
    let stored: SnapshotRecord | null;
    try {
      stored = await repo.transaction(async ({ repo: tx, db }) => {
        const row = await tx.insert({
          id, deviceId: device.id, takenAt: frame.takenAt, source: frame.source, path, bytes: frame.jpeg.length,
          width: frame.width, height: frame.height, requestedBy: input.requestedBy.userId, requestedByName: input.requestedBy.name,
          purpose: input.purpose, reason: input.reason ?? null, jobId: input.jobKey ?? null, incidentId: input.incidentId ?? null,
        });
        if (!row) return null;
        await createAuditLog(db).record({
          actor: actorOf(input.requestedBy), action: 'snapshot.take', targetType: 'device', targetId: device.id, reason: input.reason ?? undefined,
          details: {
            snapshotId: id, name: device.name, source: frame.source, bytes: frame.jpeg.length, purpose: input.purpose, ...(input.jobKey ? { job: input.jobKey } : {}),
            ...(input.incidentId ? { incidentId: input.incidentId } : {}), ...(input.at ? { recordedAt: frame.takenAt.toISOString(), ...('segmentId' in frame ? { segmentId: frame.segmentId } : {}) } : {}),
          },
          ...input.meta,
        });
        return row;
      });
    } catch (err) {
      await rm(evidence.abs(path), { force: true });
      if ((err as { code?: string; constraint?: string }).code === '23503' && (err as { constraint?: string }).constraint?.includes('incident')) {
        throw notFound('incident', { field: 'incidentId', code: 'not_found', params: { what: 'incident' } });
      }
      if ((err as { code?: string; constraint?: string }).code === '23503' && (err as { constraint?: string }).constraint?.includes('requested_by')) {
        throw badRequest('requestedBy.userId names no user', { field: 'requestedBy.userId', code: 'snapshot.requester_unknown' });
      }
      throw err;
    }
    if (stored) return stored;
    // The same job key won a moment ago (two runs of one job at once): keep its snapshot.
    await rm(evidence.abs(path), { force: true });
    return (await repo.byJobId(input.jobKey!))!;
  }

  /** A row as a person sees it: a fresh signed image link instead of the path. */
  async function shown(userId: string, s: SnapshotRecord): Promise<Snapshot> {
    const { token, expiresAt } = await mintSnapshotToken(platform.mediaKeys, { userId, deviceId: s.deviceId, snapshotId: s.id });
    return {
      id: s.id, deviceId: s.deviceId, takenAt: s.takenAt, source: s.source, bytes: s.bytes, width: s.width, height: s.height,
      purpose: s.purpose, reason: s.reason, requestedByName: s.requestedByName, incidentId: s.incidentId,
      url: `/api/snapshots/${s.id}/image/${token}`, urlExpiresAt: expiresAt,
    };
  }

  const userOf = (actor: Principal): string => {
    if (!actor.userId) throw forbidden('snapshots are taken and viewed by people', { code: 'snapshot.user_required' });
    return actor.userId;
  };

  /** Whether a token's user still holds credentials: not disabled, and when last revoked. */
  async function holder(userId: string) {
    const [user, revoked] = await Promise.all([
      identity.getUser(userId),
      identity.revokedSince(new Date(Date.now() - (SNAPSHOT_TOKEN_SECONDS + 60) * 1000)),
    ]);
    if (!user) return null;
    return { disabled: user.disabled, revokedAt: revoked.filter((r) => r.userId === userId).at(-1)?.at ?? null };
  }

  return {
    take,

    /**
     * The console button: a picture now, within the request (purpose manual). For an incident
     * (`incidentId`: purpose incident, linked by snapshots.incident_id), and `at` for the frame of
     * the recording at that moment instead of a live picture.
     */
    async capture(actor: Principal, deviceId: string, reason: string | undefined, meta: Meta, opts: { incidentId?: string; at?: string | Date } = {}): Promise<{ snapshot: Snapshot }> {
      const userId = userOf(actor);
      const at = opts.at === undefined ? null : new Date(opts.at);
      if (at && !Number.isFinite(at.getTime())) throw badRequest('`at` is not a time', { field: 'at', code: 'recorded_frame.bad_time' });
      const record = await take({
        deviceId, purpose: opts.incidentId ? 'incident' : 'manual', reason: reason?.trim() || null, requestedBy: { userId, name: actor.username }, meta,
        incidentId: opts.incidentId ?? null, at,
      });
      return { snapshot: await shown(userId, record) };
    },

    /** An incident's snapshots, oldest first, each with a fresh link; audited as one view of the incident. */
    async listForIncident(actor: Principal, incidentId: string, meta: Meta = {}): Promise<Snapshot[]> {
      const userId = userOf(actor);
      const rows = await repo.listForIncident(incidentId, INCIDENT_SNAPSHOTS);
      const items = await Promise.all(rows.map((r) => shown(userId, r)));
      if (items.length) {
        await platform.audit.record({
          actor, action: 'snapshot.view', targetType: 'incident', targetId: incidentId, details: { count: items.length, snapshotIds: items.map((s) => s.id) }, ...meta,
        });
      }
      return items;
    },

    /**
     * Queue a snapshot for a producer (alarm rule, incident evidence, face sampler). With a
     * `ref` the job id is derived (snapshotJobId): the same ref twice is one job and one snapshot.
     */
    async request(payload: Payload<'snapshot', 'snapshot.take'>): Promise<{ jobId: string }> {
      const jobId = payload.ref ? snapshotJobId(payload.deviceId, payload.purpose, payload.ref) : undefined;
      return { jobId: (await jobs.add('snapshot', 'snapshot.take', payload, jobId ? { jobId } : {})).id };
    },

    /** A camera's strip: newest first, each with a fresh link; audited as one view. */
    async list(actor: Principal, deviceId: string, page: { limit: number; before?: string }, meta: Meta): Promise<{ items: Snapshot[] }> {
      const userId = userOf(actor);
      const device = await devices.get(deviceId);
      const rows = await repo.list(device.id, { limit: page.limit, before: page.before ? new Date(page.before) : undefined });
      const items = await Promise.all(rows.map((r) => shown(userId, r)));
      await platform.audit.record({
        actor, action: 'snapshot.view', targetType: 'device', targetId: device.id,
        details: { name: device.name, count: items.length, snapshotIds: items.map((s) => s.id) }, ...meta,
      });
      return { items };
    },

    /** One snapshot with a fresh link; audited. */
    async get(actor: Principal, id: string, meta: Meta): Promise<Snapshot> {
      const userId = userOf(actor);
      const row = await repo.get(id);
      if (!row) throw notFound('snapshot');
      await platform.audit.record({ actor, action: 'snapshot.view', targetType: 'snapshot', targetId: row.id, details: { deviceId: row.deviceId }, ...meta });
      return shown(userId, row);
    },

    /** The JPEG behind a signed link (the link is the only credential). */
    async image(id: string, token: string): Promise<{ stream: ReadStream; bytes: number }> {
      await checkSnapshotToken(platform.mediaKeys, token, id, holder);
      const row = await repo.get(id);
      const path = row ? await evidence.resolveInside(row.path) : null;
      const info = path ? await stat(path).catch(() => null) : null;
      if (!path || !info?.isFile()) throw notFound('snapshot image');
      return { stream: createReadStream(path), bytes: info.size };
    },
  };
}

export type SnapshotService = ReturnType<typeof createSnapshotService>;
