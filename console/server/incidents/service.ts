import { createAuditLog } from '../../../core/audit/repository.ts';
import type { AuditEntry } from '../../../core/audit/types.ts';
import { withTransaction, type PoolClient, type Queryable } from '../../../core/db/pool.ts';
import type { RealtimeEvent } from '../../../core/events.ts';
import { badRequest, conflict, forbidden, HttpError, notFound, unprocessable } from '../../../core/http/errors.ts';
import type { Principal } from '../../../core/identity/types.ts';
import type { Device } from '../../../gateway/devices/types.ts';
import type { ExportItem } from '../../../workers/export/types.ts';
import { createHoldRepository } from '../../../workers/retention/holds.ts';
import type { Snapshot } from '../../../workers/snapshot/types.ts';
import type { ConsoleContext } from '../context.ts';
import { formatIncidentNumber } from './numbering.ts';
import { createIncidentRepository, type IncidentRepository } from './repository.ts';
import { allowedTransitions, canTransition, changedFields, endsIncident, isFinal, TRANSITIONS } from './transitions.ts';
import {
  INCIDENT_PRIORITIES, INCIDENT_SOURCES, INCIDENT_STATUSES, OPEN_STATUSES, TOTAL_CAP,
  type Actor, type Bookmark, type CreateIncidentInput, type ExportSummary, type Incident, type IncidentChanges, type IncidentPatch,
  type IncidentRecord, type IncidentStatus, type IncidentSummary, type ListCursor, type ListFilter, type ReqMeta, type TimelineEntry,
} from './types.ts';

/** A stated occurrence this far in the future is refused (clocks of the call system drift a little). */
const FUTURE_SLACK_MS = 5 * 60_000;
/** The longest bookmarked range: a bookmark marks a moment, not a day of footage. */
const MAX_BOOKMARK_HOURS = 24;
/** Timeline entries one answer holds (an incident's history rarely reaches hundreds). */
const TIMELINE_LIMIT = 5000;
/** How far a recorded frame may lie from the moment asked (a segment's keyframe interval and more). */
const AT_TOLERANCE_MS = 30_000;
/** Snapshots the evidence answer signs links for. */
const EVIDENCE_SNAPSHOTS = 200;

export interface ListQuery {
  status?: string; type?: string; priority?: number; source?: string; from?: string; to?: string; q?: string;
  minLat?: number; minLon?: number; maxLat?: number; maxLon?: number; limit: number; cursor?: string;
}

export interface CreateOptions { inTransaction?: (db: PoolClient, incident: Incident) => Promise<void> }

/** A change's realtime events, published once its transaction committed. */
interface Tx { db: PoolClient; repo: IncidentRepository; emit(topic: string, kind: string, payload: Record<string, unknown>): Promise<void> }

const actorOf = (p: Principal): Actor => ({ id: p.userId, name: p.username });

export const summaryOf = (r: IncidentRecord): IncidentSummary => ({
  id: r.id, number: r.number, type: r.type, priority: r.priority, source: r.source, status: r.status, title: r.title, address: r.address,
  lat: r.lat, lon: r.lon, occurredAt: r.occurredAt, createdAt: r.createdAt, updatedAt: r.updatedAt, createdByName: r.createdByName, version: r.version,
});

export const incidentOf = (r: IncidentRecord): Incident => ({ ...r, allowedTransitions: allowedTransitions(r.status) });

/** The JSON form of events (dates as ISO strings), so a replayed event reads like a live one. */
const wire = <T>(v: T): Record<string, unknown> => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

export function encodeCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify([c.occurredAt.toISOString(), c.id])).toString('base64url');
}

export function decodeCursor(s: string): ListCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as [string, string];
    const occurredAt = new Date(at);
    if (Number.isNaN(occurredAt.getTime()) || typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) throw new Error('bad');
    return { occurredAt, id };
  } catch {
    throw badRequest('cursor is not one this list gave', { field: 'cursor', code: 'incident.bad_cursor' });
  }
}

/**
 * Incidents (警情): numbering, the life cycle, edits under optimistic concurrency, the
 * timeline, bookmarks holding footage, and the evidence gathered (snapshots, exports).
 * Every change is one transaction: the row, its timeline entry, its audit row and its
 * realtime events (topic `incidents`: the summary; `incident:<id>`: the whole incident and
 * the timeline entry) commit together and are published after the commit.
 */
export function createIncidentService(ctx: ConsoleContext) {
  const { platform, work } = ctx;
  const { pool, config, eventLog, log } = platform;
  const repo = createIncidentRepository(pool);
  const typeCodes = new Set(config.incidents.types.map((t) => t.code));
  const timeZone = config.site.timezone;

  async function inTx<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    const pending: RealtimeEvent[] = [];
    const result = await withTransaction(pool, (db) => fn({
      db, repo: createIncidentRepository(db),
      emit: async (topic, kind, payload) => { pending.push(await eventLog.append(topic, kind, payload, db)); },
    }));
    await publish(pending);
    return result;
  }

  async function publish(events: readonly RealtimeEvent[]): Promise<void> {
    for (const e of events) {
      // The row is committed: a client that missed the publish reads it on its next replay.
      await eventLog.publishAfterCommit(e).catch((err: unknown) => log.warn({ err, eventId: e.id }, 'could not publish an incident event'));
    }
  }

  /** The events of a change to the incident row: the summary to every list, the whole to its page. */
  async function changed(t: Tx, row: IncidentRecord, kind: 'incident.created' | 'incident.updated', entries: TimelineEntry[]): Promise<void> {
    await t.emit('incidents', kind, { incident: wire(summaryOf(row)) });
    await t.emit(`incident:${row.id}`, 'incident.updated', { incident: wire(incidentOf(row)) });
    for (const entry of entries) await t.emit(`incident:${row.id}`, 'incident.timeline', { entry: wire(entry) });
  }

  async function audit(db: Queryable, actor: Principal, action: string, row: { id: string; number: string }, details: Record<string, unknown>, meta: ReqMeta, reason?: string): Promise<void> {
    const entry: AuditEntry = { actor, action, targetType: 'incident', targetId: row.id, details: { number: row.number, ...details }, ...meta };
    if (reason) entry.reason = reason;
    await createAuditLog(db).record(entry);
  }

  async function existing(id: string): Promise<IncidentRecord> {
    const row = await repo.get(id);
    if (!row) throw notFound('incident', { code: 'incident.not_found' });
    return row;
  }

  const notFinal = (row: IncidentRecord) => {
    if (isFinal(row.status)) throw conflict(`the incident is ${row.status}: it no longer changes`, { code: 'incident.final', params: { status: row.status } });
  };

  async function stale(id: string): Promise<HttpError> {
    const last = await repo.lastChange(id);
    if (!last) return notFound('incident', { code: 'incident.not_found' });
    return conflict('someone changed the incident since you loaded it', { code: 'incident.stale', params: { currentVersion: last.version, updatedByName: last.updatedByName } });
  }

  async function deviceFor(deviceId: string, field = 'deviceId'): Promise<Device> {
    try {
      return await work.devices.get(deviceId);
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 404) throw badRequest(`${field} names no device`, { field, code: 'incident.device_unknown' });
      throw err;
    }
  }

  const checkType = (type: string) => {
    if (!typeCodes.has(type)) throw badRequest('type is not in the incident type catalogue', { field: 'type', code: 'incident.type_unknown', params: { type } });
  };
  const checkTitle = (title: string): string => {
    const t = title.trim();
    if (!t) throw badRequest('title must not be blank', { field: 'title', code: 'incident.blank' });
    return t;
  };
  const checkOccurred = (at: string): Date => {
    const d = new Date(at);
    if (d.getTime() > Date.now() + FUTURE_SLACK_MS) throw badRequest('occurredAt is in the future', { field: 'occurredAt', code: 'incident.occurred_future' });
    return d;
  };
  /** lat and lon come together (both numbers or both null). */
  const checkPair = (lat: number | null | undefined, lon: number | null | undefined) => {
    if ((lat === undefined) !== (lon === undefined) || (lat === null) !== (lon === null)) {
      throw badRequest('lat and lon are given together', { field: lat === undefined ? 'lat' : lon === undefined ? 'lon' : lat === null ? 'lat' : 'lon', code: 'incident.location_pair' });
    }
  };

  /**
   * A new incident. `opts.inTransaction` runs in the creating transaction before it commits (the
   * alarms feature links the alarm that raised it there); its own events it publishes itself.
   */
  async function create(principal: Principal, input: CreateIncidentInput, meta: ReqMeta, opts: CreateOptions = {}): Promise<Incident> {
    checkType(input.type);
    const title = checkTitle(input.title);
    checkPair(input.lat, input.lon);
    const occurredAt = input.occurredAt ? checkOccurred(input.occurredAt) : new Date();
    const device = input.deviceId ? await deviceFor(input.deviceId) : null;
    // Raised from a camera: where the camera is, unless the monitor placed it.
    const lat = input.lat ?? device?.location?.lat ?? null;
    const lon = input.lat == null ? device?.location?.lon ?? null : input.lon ?? null;
    return inTx(async (t) => {
      const { day, seq } = await t.repo.nextNumber(timeZone);
      const row = await t.repo.insert({
        number: formatIncidentNumber(config.incidents.numberPrefix, day, seq),
        type: input.type, priority: input.priority ?? 3, source: input.source, title,
        description: input.description ?? '', address: input.address ?? device?.address ?? '', lat, lon, occurredAt,
        reporterName: input.reporterName ?? '', reporterPhone: input.reporterPhone ?? '',
        deviceId: device?.id ?? null, siteId: device?.siteId ?? null, createdBy: principal.userId, createdByName: principal.username,
      });
      const entry = await t.repo.addEvent(row.id, actorOf(principal), 'created', {
        number: row.number, type: row.type, priority: row.priority, source: row.source, title: row.title, ...(device ? { deviceId: device.id, deviceName: device.name } : {}),
      });
      await audit(t.db, principal, 'incident.create', row, { type: row.type, priority: row.priority, source: row.source }, meta);
      await changed(t, row, 'incident.created', [entry]);
      await opts.inTransaction?.(t.db, incidentOf(row));
      return incidentOf(row);
    });
  }

  async function update(principal: Principal, id: string, patch: IncidentPatch, meta: ReqMeta): Promise<Incident> {
    const current = await existing(id);
    notFinal(current);
    if (patch.version !== current.version) throw await stale(id);
    const changes: IncidentChanges = {};
    if (patch.type !== undefined) { checkType(patch.type); changes.type = patch.type; }
    if (patch.title !== undefined) changes.title = checkTitle(patch.title);
    if (patch.occurredAt !== undefined) changes.occurredAt = checkOccurred(patch.occurredAt);
    if (patch.lat !== undefined || patch.lon !== undefined) { checkPair(patch.lat, patch.lon); changes.lat = patch.lat ?? null; changes.lon = patch.lon ?? null; }
    for (const k of ['priority', 'source', 'description', 'address', 'reporterName', 'reporterPhone'] as const) {
      if (patch[k] !== undefined) (changes as Record<string, unknown>)[k] = patch[k];
    }
    if (patch.deviceId !== undefined) {
      const device = patch.deviceId ? await deviceFor(patch.deviceId) : null;
      changes.deviceId = device?.id ?? null;
      changes.siteId = device?.siteId ?? null;
    }
    const diff = changedFields(current as unknown as Record<string, unknown>, changes as Record<string, unknown>);
    if (Object.keys(diff).length === 0) return incidentOf(current);
    const only = Object.fromEntries(Object.keys(diff).map((k) => [k, (changes as Record<string, unknown>)[k]])) as IncidentChanges;
    return inTx(async (t) => {
      const row = await t.repo.update(id, patch.version, only);
      if (!row) throw await stale(id);
      const entry = await t.repo.addEvent(id, actorOf(principal), 'updated', { changes: diff });
      await audit(t.db, principal, 'incident.update', row, { changes: diff, version: row.version }, meta);
      await changed(t, row, 'incident.updated', [entry]);
      return incidentOf(row);
    });
  }

  async function setStatus(principal: Principal, id: string, input: { version: number; status: IncidentStatus; note?: string; videoAssisted?: boolean }, meta: ReqMeta): Promise<Incident> {
    const current = await existing(id);
    if (!canTransition(current.status, input.status)) {
      throw conflict(`an incident ${current.status} cannot become ${input.status}`, { code: 'incident.bad_transition', params: { from: current.status, to: input.status } });
    }
    if (input.version !== current.version) throw await stale(id);
    const note = input.note?.trim() ?? '';
    const closes = endsIncident(input.status);
    if (input.videoAssisted !== undefined && input.status !== 'closed') {
      throw badRequest('videoAssisted is recorded when the incident is closed', { field: 'videoAssisted', code: 'incident.video_assisted_on_close' });
    }
    return inTx(async (t) => {
      const row = await t.repo.update(id, input.version, {}, { to: input.status, closes, ...(input.videoAssisted !== undefined ? { videoAssisted: input.videoAssisted } : {}) });
      if (!row) throw await stale(id);
      const actor = actorOf(principal);
      const entries = [await t.repo.addEvent(id, actor, 'status', { from: current.status, to: input.status, ...(note ? { note } : {}), ...(input.videoAssisted !== undefined ? { videoAssisted: input.videoAssisted } : {}) })];
      if (closes) {
        // The incident is over: its bookmarks, and exports whose package retention already took, stop holding footage.
        const holds = createHoldRepository(t.db);
        const bookmarks = await t.repo.bookmarks(id);
        let released = 0;
        for (const b of bookmarks) released += await holds.release('bookmark', b.id);
        const expired = await t.repo.expiredExportIds(id);
        for (const e of expired) released += await holds.release('export', e);
        if (released > 0) entries.push(await t.repo.addEvent(id, actor, 'holds.released', { bookmarks: bookmarks.length, exports: expired.length, holds: released }));
      }
      await audit(t.db, principal, 'incident.status', row, { from: current.status, to: input.status, version: row.version }, meta, note || undefined);
      await changed(t, row, 'incident.updated', entries);
      return incidentOf(row);
    });
  }

  function filterOf(q: ListQuery): ListFilter {
    const f: ListFilter = {};
    if (q.status) {
      const wanted = new Set<IncidentStatus>();
      for (const s of q.status.split(',').map((x) => x.trim()).filter(Boolean)) {
        if (s === 'open') OPEN_STATUSES.forEach((o) => wanted.add(o));
        else if ((INCIDENT_STATUSES as readonly string[]).includes(s)) wanted.add(s as IncidentStatus);
        else throw badRequest(`status ${s} is not a status`, { field: 'status', code: 'incident.status_unknown', params: { status: s } });
      }
      f.statuses = [...wanted];
    }
    if (q.type) { checkType(q.type); f.type = q.type; }
    if (q.priority) f.priority = q.priority;
    if (q.source) f.source = q.source as ListFilter['source'];
    if (q.from) f.from = new Date(q.from);
    if (q.to) f.to = new Date(q.to);
    if (f.from && f.to && f.from >= f.to) throw badRequest('to must be after from', { field: 'to', code: 'incident.range_order' });
    const text = q.q?.trim();
    if (text) f.q = text;
    const box = [q.minLat, q.minLon, q.maxLat, q.maxLon];
    if (box.some((v) => v !== undefined)) {
      const names = ['minLat', 'minLon', 'maxLat', 'maxLon'] as const;
      const missing = names.find((_n, i) => box[i] === undefined);
      if (missing) throw badRequest(`the area needs ${names.join(', ')}`, { field: missing, code: 'incident.bbox_incomplete' });
      const [minLat, minLon, maxLat, maxLon] = box as number[];
      if (minLat! > maxLat!) throw badRequest('maxLat must not be below minLat', { field: 'maxLat', code: 'incident.bbox_order' });
      if (minLon! > maxLon!) throw badRequest('maxLon must not be below minLon', { field: 'maxLon', code: 'incident.bbox_order' });
      f.bbox = { minLat: minLat!, minLon: minLon!, maxLat: maxLat!, maxLon: maxLon! };
    }
    return f;
  }

  async function evidenceSnapshots(principal: Principal, id: string, meta: ReqMeta): Promise<Snapshot[]> {
    const ids = await repo.snapshotIds(id, EVIDENCE_SNAPSHOTS);
    const out: Snapshot[] = [];
    for (const sid of ids) {
      // Through the snapshot service: a fresh link signed for this person, audited as a view.
      out.push(await ctx.snapshots.get(principal, sid, meta).catch((err: unknown) => {
        if (err instanceof HttpError && err.statusCode === 404) return null as never;
        throw err;
      }));
    }
    return out.filter(Boolean);
  }

  /**
   * Add a timeline entry for another feature (alarm joined, cameras searched, camera viewed).
   * Given a transaction, the entry and its event are written in it and `publish` must be called
   * after COMMIT; without one it is written and published at once.
   */
  async function addTimeline(incidentId: string, actor: Actor, kind: string, details: Record<string, unknown>, tx?: Queryable): Promise<{ entry: TimelineEntry; publish: () => Promise<void> }> {
    const write = async (db: Queryable) => {
      const entry = await createIncidentRepository(db).addEvent(incidentId, actor, kind, details).catch((err: { code?: string }) => {
        if (err.code === '23503') throw notFound('incident', { code: 'incident.not_found' });
        throw err;
      });
      return { entry, event: await eventLog.append(`incident:${incidentId}`, 'incident.timeline', { entry: wire(entry) }, db) };
    };
    if (tx) {
      const { entry, event } = await write(tx);
      return { entry, publish: () => publish([event]) };
    }
    const { entry, event } = await withTransaction(pool, write);
    await publish([event]);
    return { entry, publish: async () => {} };
  }

  return {
    create,
    update,
    setStatus,
    addTimeline,

    catalogue() {
      return {
        types: config.incidents.types, sources: [...INCIDENT_SOURCES], statuses: [...INCIDENT_STATUSES], priorities: [...INCIDENT_PRIORITIES],
        transitions: Object.fromEntries(Object.entries(TRANSITIONS).map(([k, v]) => [k, [...v]])) as Record<IncidentStatus, IncidentStatus[]>,
        nearbyRadiusMeters: config.incidents.nearbyRadiusMeters, maxRadiusMeters: config.incidents.maxRadiusMeters,
        searchMaxRangeDays: config.search.maxRangeDays, searchMaxCameras: config.search.maxCameras,
      };
    },

    async get(_principal: Principal, id: string): Promise<Incident> {
      return incidentOf(await existing(id));
    },

    /** A filtered page, newest occurrence first, with the total counted up to TOTAL_CAP. */
    async list(_principal: Principal, q: ListQuery): Promise<{ items: IncidentSummary[]; nextCursor: string | null; total: number; totalCapped: boolean }> {
      const filter = filterOf(q);
      const cursor = q.cursor ? decodeCursor(q.cursor) : null;
      const [rows, n] = await Promise.all([repo.list(filter, cursor, q.limit + 1), repo.count(filter, TOTAL_CAP)]);
      const items = rows.slice(0, q.limit).map(summaryOf);
      const last = items.at(-1);
      return {
        items, nextCursor: rows.length > q.limit && last ? encodeCursor({ occurredAt: last.occurredAt, id: last.id }) : null,
        total: Math.min(n, TOTAL_CAP), totalCapped: n > TOTAL_CAP,
      };
    },

    async timeline(_principal: Principal, id: string): Promise<{ items: TimelineEntry[] }> {
      await existing(id);
      return { items: await repo.timeline(id, TIMELINE_LIMIT) };
    },

    async addNote(principal: Principal, id: string, text: string, meta: ReqMeta): Promise<{ entry: TimelineEntry }> {
      const row = await existing(id);
      const body = text.trim();
      if (!body) throw badRequest('text must not be blank', { field: 'text', code: 'incident.blank' });
      return inTx(async (t) => {
        const entry = await t.repo.addEvent(id, actorOf(principal), 'note', { text: body });
        await audit(t.db, principal, 'incident.note', row, { entryId: entry.id }, meta);
        await t.emit(`incident:${id}`, 'incident.timeline', { entry: wire(entry) });
        return { entry };
      });
    },

    async evidence(principal: Principal, id: string, meta: ReqMeta): Promise<{ bookmarks: Bookmark[]; snapshots: Snapshot[]; exports: ExportSummary[] }> {
      await existing(id);
      const [bookmarks, exports] = await Promise.all([repo.bookmarks(id), repo.exports(id)]);
      return { bookmarks, snapshots: await evidenceSnapshots(principal, id, meta), exports };
    },

    /** Bookmark a footage range; it holds that footage from retention while the incident is open. */
    async addBookmark(principal: Principal, id: string, input: { deviceId: string; from: string; to: string; note?: string }, meta: ReqMeta): Promise<{ bookmark: Bookmark }> {
      const incident = await existing(id);
      notFinal(incident);
      const from = new Date(input.from);
      const to = new Date(input.to);
      if (from >= to) throw badRequest('to must be after from', { field: 'to', code: 'incident.range_order' });
      if (from.getTime() > Date.now()) throw badRequest('from is in the future', { field: 'from', code: 'incident.range_future' });
      if (to.getTime() - from.getTime() > MAX_BOOKMARK_HOURS * 3_600_000) {
        throw badRequest(`a bookmark spans at most ${MAX_BOOKMARK_HOURS} hours`, { field: 'to', code: 'incident.range_too_long', params: { max: MAX_BOOKMARK_HOURS } });
      }
      const device = await deviceFor(input.deviceId);
      return inTx(async (t) => {
        const bookmark = await t.repo.insertBookmark({
          incidentId: id, deviceId: device.id, from, to, note: input.note ?? '', createdBy: principal.userId, createdByName: principal.username,
        });
        await createHoldRepository(t.db).place([{
          deviceId: device.id, startsAt: from, endsAt: to, kind: 'bookmark', ref: bookmark.id, reason: `incident ${incident.number}`, createdBy: principal.userId,
        }]);
        const entry = await t.repo.addEvent(id, actorOf(principal), 'bookmark.added', {
          bookmarkId: bookmark.id, deviceId: device.id, deviceName: device.name, from: from.toISOString(), to: to.toISOString(), note: bookmark.note,
        });
        await audit(t.db, principal, 'incident.bookmark_add', incident, { bookmarkId: bookmark.id, deviceId: device.id, from, to }, meta);
        await t.emit(`incident:${id}`, 'incident.timeline', { entry: wire(entry) });
        return { bookmark };
      });
    },

    async removeBookmark(principal: Principal, id: string, bookmarkId: string, meta: ReqMeta): Promise<void> {
      const incident = await existing(id);
      notFinal(incident);
      await inTx(async (t) => {
        const bookmark = await t.repo.bookmark(id, bookmarkId);
        if (!bookmark || !(await t.repo.deleteBookmark(id, bookmarkId))) throw notFound('bookmark', { code: 'incident.bookmark_not_found' });
        await createHoldRepository(t.db).release('bookmark', bookmarkId);
        const entry = await t.repo.addEvent(id, actorOf(principal), 'bookmark.removed', {
          bookmarkId, deviceId: bookmark.deviceId, deviceName: bookmark.deviceName, from: bookmark.from.toISOString(), to: bookmark.to.toISOString(),
        });
        await audit(t.db, principal, 'incident.bookmark_remove', incident, { bookmarkId, deviceId: bookmark.deviceId }, meta);
        await t.emit(`incident:${id}`, 'incident.timeline', { entry: wire(entry) });
      });
    },

    /**
     * A snapshot for the incident: live (no `at`) or the recorded frame at `at`, taken by the
     * snapshot service with the incident as its reason and link, then entered in the timeline.
     */
    async addSnapshot(principal: Principal, id: string, input: { deviceId: string; at?: string }, meta: ReqMeta): Promise<{ snapshot: Snapshot }> {
      const incident = await existing(id);
      if (!principal.userId) throw forbidden('snapshots are taken by people', { code: 'snapshot.user_required' });
      if (input.at && Date.parse(input.at) > Date.now()) throw badRequest('at is in the future', { field: 'at', code: 'incident.range_future' });
      const capture = ctx.snapshots.capture as unknown as CaptureForIncident;
      const { snapshot } = await capture(principal, input.deviceId, `incident:${incident.number}`, meta, { incidentId: id, ...(input.at ? { at: input.at } : {}) });
      // A frame of the recording was asked for: a picture from another moment is not that evidence.
      if (input.at && Math.abs(new Date(snapshot.takenAt).getTime() - Date.parse(input.at)) > AT_TOLERANCE_MS) {
        throw unprocessable('the snapshot service gave no frame of the recording at that moment', { field: 'at', code: 'incident.snapshot_not_at' });
      }
      await repo.linkSnapshot(snapshot.id, id);
      await addTimeline(id, actorOf(principal), 'snapshot.added', {
        snapshotId: snapshot.id, deviceId: snapshot.deviceId, takenAt: new Date(snapshot.takenAt).toISOString(), ...(input.at ? { at: input.at } : {}),
      });
      return { snapshot };
    },

    /** An evidence export for the incident: the case number is the incident number; linked and entered in the timeline in the request's transaction. */
    async addExport(principal: Principal, id: string, input: { items: ExportItem[]; reason: string; snapshotIds?: string[] }, meta: ReqMeta) {
      const incident = await existing(id);
      const pending: RealtimeEvent[] = [];
      const result = await ctx.exports.request(principal, { caseNumber: incident.number, reason: input.reason, items: input.items, snapshotIds: input.snapshotIds }, meta, {
        incidentId: id,
        inTransaction: async (db, created) => {
          const r = createIncidentRepository(db);
          await r.linkExport(created.id, id);
          const entry = await r.addEvent(id, actorOf(principal), 'export.started', {
            exportId: created.id, reason: created.reason, items: created.items, snapshotIds: created.snapshotIds,
          });
          pending.push(await eventLog.append(`incident:${id}`, 'incident.timeline', { entry: wire(entry) }, db));
        },
      });
      await publish(pending);
      return result;
    },
  };
}

/** The snapshot service's capture with the incident options of the contract (issue 9). */
type CaptureForIncident = (actor: Principal, deviceId: string, reason: string | undefined, meta: ReqMeta, opts: { incidentId: string; at?: string }) => Promise<{ snapshot: Snapshot }>;

export type IncidentService = ReturnType<typeof createIncidentService>;
