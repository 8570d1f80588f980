import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAuditLog } from '../../../core/audit/repository.ts';
import { withTransaction, type PoolClient } from '../../../core/db/pool.ts';
import type { RealtimeEvent } from '../../../core/events.ts';
import { badRequest, conflict, forbidden, notFound } from '../../../core/http/errors.ts';
import type { Principal } from '../../../core/identity/types.ts';
import type { StreamName } from '../../../gateway/streams/keys.ts';
import { createAlarmRaiser } from '../alarms/raise.ts';
import type { ConsoleContext } from '../context.ts';
import { createIncidentRepository } from '../incidents/repository.ts';
import { incidentOf, summaryOf } from '../incidents/service.ts';
import { distanceM, distanceToSegment, pointInPolygon, polygonProblem } from './geo.ts';
import { createLinkageRepository, type LinkageRepository } from './repository.ts';
import { createRouter } from './routing.ts';
import { canCue, cueStep, INCIDENT_TIME, isActiveCue, monitorSteps, STEP_COLUMN, unitSteps } from './rules.ts';
import { RING_CODES, type CameraRef, type Cue, type LonLat, type RingMember, type RingSet, type Unit, type UnitCueStep, type UnitKind, type UnitProposal, type UnitState } from './types.ts';

export interface ReqMeta { ip?: string; requestId?: string }

/** Cameras of the way: within this many metres of the straight line from the unit to the incident. */
const CORRIDOR_M = 150;
/** Photos one cue's report may carry, and the largest one. */
export const MAX_PHOTOS = 9;
export const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
/** Units proposed for an incident. */
const PROPOSALS = 5;

const wire = <T>(v: T): Record<string, unknown> => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
const actorOf = (p: Principal) => ({ id: p.userId, name: p.username });
const isMonitor = (p: Principal) => p.roles.some((r) => r === 'admin' || r === 'monitor');
const isControlRoom = (p: Principal) => p.roles.some((r) => r === 'admin' || r === 'monitor' || r === 'supervisor');

interface Tx { db: PoolClient; repo: LinkageRepository; emit(topic: string, kind: string, payload: Record<string, unknown>): Promise<void> }

/** What a photo's first bytes say it is (never the name or the header the phone sent). */
export function sniffImage(b: Buffer): 'image/jpeg' | 'image/png' | 'image/webp' | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/**
 * The monitor-patrol linkage (监巡联动): units and their duty, proposals of the nearest units
 * and the cameras around and along the way, cues and their rules, cameras pushed to a phone,
 * rings, escalation of unacknowledged cues and the incident's response times. Every change is
 * one transaction with its realtime events (published after the commit) and its audit row.
 */
export function createLinkageService(ctx: ConsoleContext) {
  const { platform } = ctx;
  const { pool, config, eventLog, log } = platform;
  const cfg = config.linkage;
  const repo = createLinkageRepository(pool);
  const router = createRouter(cfg.routingUrl, log);
  const alarms = createAlarmRaiser({ db: pool, eventLog, log });
  const photoDir = join(config.dataDir, 'cue-photos');

  async function inTx<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    const pending: RealtimeEvent[] = [];
    const result = await withTransaction(pool, (db) => fn({
      db, repo: createLinkageRepository(db),
      emit: async (topic, kind, payload) => { pending.push(await eventLog.append(topic, kind, payload, db)); },
    }));
    for (const e of pending) await eventLog.publishAfterCommit(e).catch((err: unknown) => log.warn({ err, eventId: e.id }, 'could not publish a linkage event'));
    return result;
  }

  async function audit(db: PoolClient | null, entry: Parameters<ReturnType<typeof createAuditLog>['record']>[0]): Promise<void> {
    await (db ? createAuditLog(db) : platform.audit).record(entry);
  }

  // ---- units -------------------------------------------------------------------------------

  async function unitOr404(id: string, r: LinkageRepository = repo, lock = false): Promise<Unit> {
    const unit = await r.unit(id, cfg.staleSeconds, lock);
    if (!unit) throw notFound('unit', { code: 'linkage.unit_not_found', params: { id } });
    return unit;
  }

  async function unitChanged(t: Tx, unitId: string): Promise<Unit> {
    const unit = await unitOr404(unitId, t.repo);
    await t.emit('units', 'unit.updated', { unit: wire(unit) });
    await t.emit(`unit:${unitId}`, 'unit.updated', { unit: wire(unit) });
    return unit;
  }

  async function checkUnitFields(r: LinkageRepository, b: { stationId?: string | null; grid?: number[][] | null; memberIds?: string[] }): Promise<void> {
    if (b.grid) {
      const problem = polygonProblem(b.grid);
      if (problem) throw badRequest(`grid: ${problem}`, { field: 'grid', code: 'linkage.grid_invalid', params: { problem } });
    }
    if (b.stationId && !(await r.siteExists(b.stationId))) throw badRequest('stationId is not a site', { field: 'stationId', code: 'linkage.station_unknown' });
    if (b.memberIds?.length) {
      const ok = new Set(await r.patrolUsers(b.memberIds));
      const bad = b.memberIds.find((id) => !ok.has(id));
      if (bad) throw badRequest(`member ${bad} is not an enabled patrol user`, { field: 'memberIds', code: 'linkage.member_not_patrol', params: { userId: bad } });
    }
  }

  const callSignTaken = (err: unknown, callSign: string) => {
    if ((err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'patrol_units_call_sign_key') {
      return conflict(`call sign ${callSign} is taken`, { field: 'callSign', code: 'linkage.call_sign_taken', params: { callSign } });
    }
    return err;
  };

  async function createUnit(actor: Principal, b: { callSign: string; kind: UnitKind; stationId?: string | null; grid?: number[][] | null; gridName?: string; memberIds?: string[] }, meta: ReqMeta): Promise<Unit> {
    const callSign = b.callSign.trim();
    if (!callSign) throw badRequest('callSign is blank', { field: 'callSign', code: 'linkage.blank', params: { field: 'callSign' } });
    await checkUnitFields(repo, b);
    try {
      return await inTx(async (t) => {
        const id = await t.repo.insertUnit({ callSign, kind: b.kind, stationId: b.stationId ?? null, grid: (b.grid as LonLat[] | null | undefined) ?? null, gridName: b.gridName?.trim() ?? '' });
        if (b.memberIds?.length) await t.repo.setMembers(id, b.memberIds);
        await audit(t.db, { actor, action: 'unit.create', targetType: 'unit', targetId: id, details: { callSign, kind: b.kind }, ...meta });
        return unitChanged(t, id);
      });
    } catch (err) { throw callSignTaken(err, callSign); }
  }

  async function updateUnit(actor: Principal, id: string, b: { callSign?: string; kind?: UnitKind; stationId?: string | null; grid?: number[][] | null; gridName?: string; memberIds?: string[]; disabled?: boolean; version: number }, meta: ReqMeta): Promise<Unit> {
    await checkUnitFields(repo, b);
    const callSign = b.callSign?.trim();
    if (b.callSign !== undefined && !callSign) throw badRequest('callSign is blank', { field: 'callSign', code: 'linkage.blank', params: { field: 'callSign' } });
    try {
      return await inTx(async (t) => {
        const before = await unitOr404(id, t.repo, true);
        if (b.disabled && before.activeCueId) throw conflict('the unit holds an active cue', { code: 'linkage.cue_active', params: { callSign: before.callSign } });
        const ok = await t.repo.updateUnit(id, b.version, {
          ...(callSign !== undefined ? { callSign } : {}), ...(b.kind ? { kind: b.kind } : {}), ...(b.stationId !== undefined ? { stationId: b.stationId } : {}),
          ...(b.grid !== undefined ? { grid: b.grid as LonLat[] | null } : {}), ...(b.gridName !== undefined ? { gridName: b.gridName.trim() } : {}),
          ...(b.disabled !== undefined ? { disabled: b.disabled } : {}),
        });
        if (!ok) throw conflict('someone changed the unit since you loaded it', { code: 'linkage.unit_stale', params: { currentVersion: before.version } });
        if (b.memberIds) await t.repo.setMembers(id, b.memberIds);
        await audit(t.db, { actor, action: 'unit.update', targetType: 'unit', targetId: id, details: { callSign: callSign ?? before.callSign, fields: Object.keys(b).filter((k) => k !== 'version') }, ...meta });
        return unitChanged(t, id);
      });
    } catch (err) { throw callSignTaken(err, callSign ?? ''); }
  }

  /** A new GPS terminal credential for a unit: `<terminalId>:<secret>`, the secret shown once and stored hashed. */
  async function issueTerminal(actor: Principal, unitId: string, meta: ReqMeta): Promise<{ terminalId: string; secret: string }> {
    const unit = await unitOr404(unitId);
    const terminalId = unit.terminalId ?? `T${randomBytes(6).toString('hex').toUpperCase()}`;
    const secret = randomBytes(24).toString('base64url');
    await repo.setTerminal(unitId, terminalId, createHash('sha256').update(secret).digest());
    terminalCache.delete(terminalId);
    await audit(null, { actor, action: 'unit.terminal_issued', targetType: 'unit', targetId: unitId, details: { callSign: unit.callSign, terminalId }, ...meta });
    return { terminalId, secret };
  }

  /** Cached terminal lookups: a terminal reports every few seconds. */
  const terminalCache = new Map<string, { unitId: string; hash: Buffer; disabled: boolean; until: number }>();
  async function authenticateTerminal(header: string | undefined): Promise<string | null> {
    const m = /^Terminal ([A-Za-z0-9_.:-]{1,64}):([A-Za-z0-9_-]{16,128})$/.exec(header?.trim() ?? '');
    if (!m) return null;
    const [, terminalId, secret] = m as unknown as [string, string, string];
    let entry = terminalCache.get(terminalId);
    if (!entry || entry.until < Date.now()) {
      const row = await repo.terminal(terminalId);
      if (!row) { terminalCache.delete(terminalId); return null; }
      entry = { unitId: row.unitId, hash: row.secretHash, disabled: row.disabled, until: Date.now() + 30_000 };
      terminalCache.set(terminalId, entry);
      if (terminalCache.size > 20_000) terminalCache.delete(terminalCache.keys().next().value!);
    }
    const given = createHash('sha256').update(secret).digest();
    return !entry.disabled && given.length === entry.hash.length && timingSafeEqual(given, entry.hash) ? entry.unitId : null;
  }

  // ---- duty (the phone) --------------------------------------------------------------------

  async function me(actor: Principal): Promise<{ units: Unit[]; duty: { unit: Unit; since: Date } | null; cue: Cue | null; pushes: Awaited<ReturnType<LinkageRepository['pushes']>> }> {
    const ids = await repo.memberUnitIds(actor.userId!);
    const units = ids.length ? await repo.units({ ids }, cfg.staleSeconds) : [];
    const shift = await repo.openShift(actor.userId!);
    const unit = shift ? units.find((u) => u.id === shift.unitId) ?? null : null;
    if (!shift || !unit) return { units, duty: null, cue: null, pushes: [] };
    return { units, duty: { unit, since: shift.startedAt }, cue: unit.activeCueId ? await cueOf(unit.activeCueId, actor) : null, pushes: await repo.pushes(unit.id) };
  }

  async function goOnDuty(actor: Principal, unitId: string, meta: ReqMeta): Promise<Unit> {
    return inTx(async (t) => {
      const unit = await unitOr404(unitId, t.repo, true);
      if (!(await t.repo.isMember(unitId, actor.userId!))) throw forbidden(`you are not a member of ${unit.callSign}`, { code: 'linkage.not_member', params: { callSign: unit.callSign } });
      if (unit.disabled) throw conflict(`${unit.callSign} is disabled`, { code: 'linkage.unit_disabled', params: { callSign: unit.callSign } });
      const open = await t.repo.openShift(actor.userId!);
      if (open?.unitId === unitId) return unit;
      if (open) throw conflict('you are on duty with another unit: go off duty first', { code: 'linkage.on_duty_elsewhere' });
      await t.repo.startShift(unitId, actor.userId!);
      await t.repo.refreshState(unitId);
      await audit(t.db, { actor, action: 'duty.start', targetType: 'unit', targetId: unitId, details: { callSign: unit.callSign }, ...meta });
      return unitChanged(t, unitId);
    });
  }

  async function goOffDuty(actor: Principal, meta: ReqMeta): Promise<Unit | null> {
    return inTx(async (t) => {
      const open = await t.repo.openShift(actor.userId!);
      if (!open) return null;
      const unit = await unitOr404(open.unitId, t.repo, true);
      const othersOnDuty = unit.members.some((m) => m.onDuty && m.userId !== actor.userId);
      if (unit.activeCueId && !othersOnDuty) throw conflict(`${unit.callSign} holds an active cue: finish it or ask the monitor to reassign it`, { code: 'linkage.cue_active', params: { callSign: unit.callSign } });
      await t.repo.endShift(actor.userId!);
      await t.repo.refreshState(open.unitId);
      await audit(t.db, { actor, action: 'duty.end', targetType: 'unit', targetId: open.unitId, details: { callSign: unit.callSign }, ...meta });
      return unitChanged(t, open.unitId);
    });
  }

  /** The unit the patrol user is on duty with, or 409. */
  async function dutyUnit(actor: Principal): Promise<string> {
    const shift = await repo.openShift(actor.userId!);
    if (!shift) throw conflict('you are not on duty with a unit', { code: 'linkage.not_on_duty' });
    return shift.unitId;
  }

  /** Realtime: may this principal hear `unit:<id>`? The control room always; a patrol user for a unit they are a member of. */
  async function mayHearUnit(unitId: string, p: Principal): Promise<boolean> {
    if (isControlRoom(p)) return true;
    if (!p.userId || !p.roles.includes('patrol')) return false;
    return repo.isMember(unitId, p.userId);
  }

  // ---- proposals, cameras ------------------------------------------------------------------

  async function incidentOr404(id: string, r: LinkageRepository = repo, lock = false) {
    const incident = await r.incident(id, lock);
    if (!incident) throw notFound('incident', { code: 'incident.not_found' });
    return incident;
  }
  const located = (i: { lat: number | null; lon: number | null }): { lat: number; lon: number } => {
    if (i.lat === null || i.lon === null) throw conflict('the incident has no location: set one first', { code: 'linkage.incident_unlocated' });
    return { lat: i.lat, lon: i.lon };
  };

  /** Cameras within CORRIDOR_M of the straight line from `a` to `b`, in order along it. */
  async function alongTheWay(a: { lat: number; lon: number }, b: { lat: number; lon: number }): Promise<CameraRef[]> {
    const padLat = CORRIDOR_M / 111_000;
    const padLon = CORRIDOR_M / (111_000 * Math.cos((a.lat * Math.PI) / 180));
    const box = await repo.camerasInBox(Math.min(a.lat, b.lat) - padLat, Math.max(a.lat, b.lat) + padLat, Math.min(a.lon, b.lon) - padLon, Math.max(a.lon, b.lon) + padLon, 5000);
    return box
      .map((c) => ({ c, s: distanceToSegment(c, a, b) }))
      .filter((x) => x.s.distanceM <= CORRIDOR_M)
      .sort((x, y) => x.s.along - y.s.along)
      .slice(0, 20)
      .map((x) => ({ ...x.c, distanceM: Math.round(distanceM(x.c.lat, x.c.lon, b.lat, b.lon)) }));
  }

  async function proposals(at: { lat: number; lon: number }, exclude: string[] = [], limit = PROPOSALS, withWay = true): Promise<UnitProposal[]> {
    const near = await repo.nearestAvailable(at.lat, at.lon, limit * 2, exclude);
    if (near.length === 0) return [];
    const units = new Map((await repo.units({ ids: near.map((n) => n.id) }, cfg.staleSeconds)).map((u) => [u.id, u]));
    // Fresh positions first: a unit whose last fix is old may be far from where it was.
    const ranked = near.map((n) => ({ n, u: units.get(n.id)! })).filter((x) => x.u && x.u.state === 'available')
      .sort((x, y) => Number(x.u.stale) - Number(y.u.stale) || x.n.distance - y.n.distance).slice(0, limit);
    return Promise.all(ranked.map(async ({ n, u }) => ({
      unit: u, distanceM: Math.round(n.distance),
      etaSeconds: u.position ? await router.eta(u.position, at) : null,
      alongTheWay: withWay && u.position ? await alongTheWay(u.position, at) : [],
    })));
  }

  async function linkage(incidentId: string, actor: Principal) {
    const incident = await incidentOr404(incidentId);
    const cues = await cuesOf(await repo.cues({ incidentId, limit: 200 }), actor);
    const rings = await ringSet(incidentId);
    if (incident.lat === null || incident.lon === null) return { proposals: [], cameras: [], cues, rings };
    const at = { lat: incident.lat, lon: incident.lon };
    const [p, cameras] = await Promise.all([proposals(at), repo.devicesNear(at.lat, at.lon, config.incidents.nearbyRadiusMeters, ['camera', 'mobile'], 50)]);
    return { proposals: p, cameras: cameras.map(({ kind: _k, ...c }) => c), cues, rings };
  }

  async function nearbyCameras(unitId: string, limit: number): Promise<CameraRef[]> {
    const unit = await unitOr404(unitId);
    if (!unit.position) return [];
    const rows = await repo.devicesNear(unit.position.lat, unit.position.lon, 5_000, ['camera', 'mobile'], limit);
    return rows.map(({ kind: _k, ...c }) => c);
  }

  // ---- cues --------------------------------------------------------------------------------

  async function cuesOf(rows: Awaited<ReturnType<LinkageRepository['cues']>>, actor: Principal): Promise<Cue[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [events, photos] = await Promise.all([repo.cueEvents(ids), repo.photos(ids)]);
    return rows.map((r) => ({
      ...r, events: events.get(r.id) ?? [], photos: photos.get(r.id) ?? [],
      allowedSteps: isMonitor(actor) ? monitorSteps(r.status) : actor.roles.includes('patrol') ? unitSteps(r.status) : [],
    }));
  }

  async function cueOf(id: string, actor: Principal, r: LinkageRepository = repo): Promise<Cue> {
    const row = await r.cue(id);
    if (!row) throw notFound('cue', { code: 'linkage.cue_not_found' });
    const ids = [id];
    const [events, photos] = await Promise.all([r.cueEvents(ids), r.photos(ids)]);
    return { ...row, events: events.get(id) ?? [], photos: photos.get(id) ?? [], allowedSteps: isMonitor(actor) ? monitorSteps(row.status) : actor.roles.includes('patrol') ? unitSteps(row.status) : [] };
  }

  /** A patrol user may read a cue of a unit they are on duty with (or a member of); the control room every cue. */
  async function readableCue(id: string, actor: Principal): Promise<Cue> {
    const cue = await cueOf(id, actor);
    if (isControlRoom(actor)) return cue;
    if (actor.userId && (await repo.isMember(cue.unitId, actor.userId))) return cue;
    throw forbidden('this cue is for another unit', { code: 'linkage.not_your_cue' });
  }

  async function cueChanged(t: Tx, cueId: string, kind: 'cue.sent' | 'cue.updated', actor: Principal): Promise<Cue> {
    const cue = await cueOf(cueId, actor, t.repo);
    // The phone gets the patrol view of the cue (its next step); the control room the monitor's.
    const forUnit = { ...cue, allowedSteps: unitSteps(cue.status) };
    const forRoom = { ...cue, allowedSteps: monitorSteps(cue.status) };
    await t.emit(`unit:${cue.unitId}`, kind, { cue: wire(forUnit) });
    await t.emit('cues', kind, { cue: wire(forRoom) });
    await t.emit(`incident:${cue.incidentId}`, kind, { cue: wire(forRoom) });
    return cue;
  }

  /** The incident side of a cue step: its first time, its status, its timeline; the incident's pages and lists hear the change. */
  async function incidentSide(t: Tx, cue: { id: string; incidentId: string; unitCallSign: string }, to: Cue['status'], actor: { id: string | null; name: string }, details: Record<string, unknown>): Promise<void> {
    const column = INCIDENT_TIME[to];
    const move = to === 'sent' ? { from: 'new', to: 'dispatched' } : to === 'on_scene' ? { from: 'dispatched', to: 'on_scene' } : null;
    if (column) {
      await t.repo.incidentStep(cue.incidentId, column, new Date(), move);
      const row = await createIncidentRepository(t.db).get(cue.incidentId);
      if (row) {
        await t.emit('incidents', 'incident.updated', { incident: wire(summaryOf(row)) });
        await t.emit(`incident:${row.id}`, 'incident.updated', { incident: wire(incidentOf(row)) });
      }
    }
    const entry = await t.repo.timeline(cue.incidentId, actor, `cue.${to}`, { cueId: cue.id, unit: cue.unitCallSign, ...details });
    await t.emit(`incident:${cue.incidentId}`, 'incident.timeline', {
      entry: { id: entry.id, at: entry.at.toISOString(), actorName: actor.name, kind: `cue.${to}`, details: { cueId: cue.id, unit: cue.unitCallSign, ...details } },
    });
  }

  type CueInput = { unitId: string; message: string; cameraIds: string[]; snapshotId?: string | null };

  /** What a cue may carry: cameras in service and a snapshot that exists. */
  async function checkCueInput(b: CueInput): Promise<string[]> {
    const cameraIds = [...new Set(b.cameraIds)];
    if (cameraIds.length) {
      const known = await repo.cameraNames(cameraIds);
      const bad = cameraIds.find((id) => !known.has(id));
      if (bad) throw badRequest(`camera ${bad} is not a camera in service`, { field: 'cameraIds', code: 'linkage.camera_unknown', params: { deviceId: bad } });
    }
    if (b.snapshotId && !(await repo.snapshotExists(b.snapshotId))) throw badRequest('snapshotId is not a snapshot', { field: 'snapshotId', code: 'linkage.snapshot_unknown' });
    return cameraIds;
  }

  /** Send a cue inside `t`: the row, its first event, the pushed cameras, the unit's state, the incident's side, audit and events. */
  async function sendIn(t: Tx, actor: Principal, incidentId: string, b: CueInput, cameraIds: string[], meta: ReqMeta, ring: number | null): Promise<string> {
    const incident = await incidentOr404(incidentId, t.repo, true);
    if (incident.status === 'closed' || incident.status === 'cancelled') throw conflict(`the incident is ${incident.status}`, { code: 'incident.final', params: { status: incident.status } });
    const unit = await unitOr404(b.unitId, t.repo, true);
    const verdict = canCue(unit);
    if (!verdict.ok) throw conflict(verdict.rule, { code: verdict.code, params: { callSign: unit.callSign, rule: verdict.rule } });
    const dist = unit.position && incident.lat !== null && incident.lon !== null ? Math.round(distanceM(unit.position.lat, unit.position.lon, incident.lat, incident.lon)) : null;
    const cueId = await t.repo.insertCue({
      incidentId, unitId: unit.id, message: b.message.trim(), cameraIds, snapshotId: b.snapshotId ?? null, ring, distanceM: dist,
      createdBy: actor.userId, createdByName: actor.username, ackSeconds: cfg.ackTimeoutSeconds,
    });
    await t.repo.cueEvent({ cueId, actorId: actor.userId, actorName: actor.username, from: null, to: 'sent', override: false, reason: '' });
    for (const deviceId of cameraIds) await t.repo.push({ unitId: unit.id, deviceId, cueId, by: actor.userId, byName: actor.username });
    await t.repo.refreshState(unit.id);
    await incidentSide(t, { id: cueId, incidentId, unitCallSign: unit.callSign }, 'sent', actorOf(actor), { message: b.message.trim(), distanceM: dist, ring });
    await audit(t.db, { actor, action: 'cue.send', targetType: 'cue', targetId: cueId, details: { incident: incident.number, unit: unit.callSign, cameras: cameraIds.length, ring }, ...meta });
    await cueChanged(t, cueId, 'cue.sent', actor);
    for (const deviceId of cameraIds) await t.emit(`unit:${unit.id}`, 'camera.pushed', { push: { unitId: unit.id, deviceId, cueId } });
    await unitChanged(t, unit.id);
    return cueId;
  }

  /** A unit that got its active cue meanwhile trips the one-active-cue index: the same 409 as the rule. */
  async function busyRace(err: unknown, unitId: string): Promise<unknown> {
    if ((err as { constraint?: string }).constraint !== 'cues_active_unit_idx') return err;
    const callSign = (await repo.unit(unitId, cfg.staleSeconds))?.callSign ?? '';
    return conflict(`${callSign} holds an active cue: reassign or finish it first`, { code: 'linkage.unit_busy', params: { callSign, rule: 'one active cue per unit' } });
  }

  async function sendCue(actor: Principal, incidentId: string, b: CueInput, meta: ReqMeta, ring: number | null = null): Promise<Cue> {
    const cameraIds = await checkCueInput(b);
    let cueId = '';
    try {
      await inTx(async (t) => { cueId = await sendIn(t, actor, incidentId, b, cameraIds, meta, ring); });
    } catch (err) { throw await busyRace(err, b.unitId); }
    return cueOf(cueId, actor);
  }

  /** Move a cue: by its unit from the phone (one step at a time) or forced by a monitor (an override when it skips, with a reason). */
  async function step(actor: Principal, cueId: string, to: UnitCueStep, by: 'unit' | 'monitor', o: { reason?: string; report?: string; lat?: number; lon?: number }, meta: ReqMeta): Promise<Cue> {
    await inTx(async (t) => {
      const cue = await t.repo.cue(cueId, true);
      if (!cue) throw notFound('cue', { code: 'linkage.cue_not_found' });
      if (by === 'unit') {
        const shift = await t.repo.openShift(actor.userId!);
        if (!shift || shift.unitId !== cue.unitId) throw forbidden('this cue is for another unit', { code: 'linkage.not_your_cue' });
      }
      const verdict = cueStep(cue.status, to, by, o.reason ?? '');
      if (!verdict.ok) throw conflict(verdict.rule, { code: verdict.code, params: { from: cue.status, to, rule: verdict.rule } });
      if (to === 'done' && by === 'unit' && !(o.report ?? '').trim()) throw badRequest('a done cue needs a short report', { field: 'report', code: 'linkage.report_required' });
      const columns = [...verdict.skipped.filter((s): s is UnitCueStep => s !== 'sent' && s !== 'done').map((s) => STEP_COLUMN[s])];
      await t.repo.setCueTimes(cueId, columns);
      await t.repo.setCueStatus(cueId, to, STEP_COLUMN[to], o.report !== undefined ? { report: o.report.trim() } : {});
      for (const s of verdict.skipped) if (INCIDENT_TIME[s]) await t.repo.incidentStep(cue.incidentId, INCIDENT_TIME[s]!, new Date(), s === 'on_scene' ? { from: 'dispatched', to: 'on_scene' } : null);
      await t.repo.cueEvent({ cueId, actorId: actor.userId, actorName: actor.username, from: cue.status, to, override: verdict.override, reason: o.reason?.trim() ?? '', lat: o.lat ?? null, lon: o.lon ?? null });
      await incidentSide(t, cue, to, actorOf(actor), verdict.override ? { override: true, reason: o.reason?.trim(), skipped: verdict.skipped } : {});
      if (!isActiveCue(to)) {
        await t.repo.unpush(cue.unitId, null);
        await t.repo.refreshState(cue.unitId);
      }
      await audit(t.db, { actor, action: verdict.override ? 'cue.override' : 'cue.step', targetType: 'cue', targetId: cueId, details: { from: cue.status, to, unit: cue.unitCallSign, skipped: verdict.skipped }, ...(o.reason ? { reason: o.reason } : {}), ...meta });
      await cueChanged(t, cueId, 'cue.updated', actor);
      if (!isActiveCue(to)) await unitChanged(t, cue.unitId);
    });
    return cueOf(cueId, actor);
  }

  async function endCue(t: Tx, actor: Principal, cue: NonNullable<Awaited<ReturnType<LinkageRepository['cue']>>>, to: 'cancelled' | 'reassigned', reason: string, reassignedTo?: string): Promise<void> {
    if (!isActiveCue(cue.status)) throw conflict(`a ${cue.status} cue does not change`, { code: 'linkage.cue_final', params: { from: cue.status, to, rule: `a ${cue.status} cue does not change` } });
    await t.repo.setCueStatus(cue.id, to, to === 'cancelled' ? 'cancelled_at' : null, reassignedTo ? { reassignedTo } : {});
    await t.repo.cueEvent({ cueId: cue.id, actorId: actor.userId, actorName: actor.username, from: cue.status, to, override: false, reason });
    await t.repo.unpush(cue.unitId, null);
    await t.repo.refreshState(cue.unitId);
    await incidentSide(t, cue, to, actorOf(actor), { reason });
  }

  async function cancelCue(actor: Principal, cueId: string, reason: string, meta: ReqMeta): Promise<Cue> {
    await inTx(async (t) => {
      const cue = await t.repo.cue(cueId, true);
      if (!cue) throw notFound('cue', { code: 'linkage.cue_not_found' });
      await endCue(t, actor, cue, 'cancelled', reason.trim());
      await audit(t.db, { actor, action: 'cue.cancel', targetType: 'cue', targetId: cueId, reason, details: { unit: cue.unitCallSign }, ...meta });
      await cueChanged(t, cueId, 'cue.updated', actor);
      await unitChanged(t, cue.unitId);
    });
    return cueOf(cueId, actor);
  }

  /** Hand a cue to another unit in one transaction: the old one ends `reassigned` (freeing its unit), a new one goes out. */
  async function reassignCue(actor: Principal, cueId: string, unitId: string, reason: string, meta: ReqMeta): Promise<Cue> {
    const old = await repo.cue(cueId);
    if (!old) throw notFound('cue', { code: 'linkage.cue_not_found' });
    if (old.unitId === unitId) throw badRequest('the cue is already with that unit', { field: 'unitId', code: 'linkage.same_unit' });
    let nextId = '';
    try {
      await inTx(async (t) => {
        const cue = (await t.repo.cue(cueId, true))!;
        await endCue(t, actor, cue, 'reassigned', reason.trim());
        nextId = await sendIn(t, actor, cue.incidentId, { unitId, message: cue.message, cameraIds: cue.cameraIds, snapshotId: cue.snapshotId }, cue.cameraIds, meta, cue.ring);
        await t.repo.setReassignedTo(cueId, nextId);
        await audit(t.db, { actor, action: 'cue.reassign', targetType: 'cue', targetId: cueId, reason, details: { from: cue.unitCallSign, to: unitId, next: nextId }, ...meta });
        await cueChanged(t, cueId, 'cue.updated', actor);
        await unitChanged(t, cue.unitId);
      });
    } catch (err) { throw await busyRace(err, unitId); }
    return cueOf(nextId, actor);
  }

  async function addPhoto(actor: Principal, cueId: string, data: Buffer, meta: ReqMeta) {
    const cue = await repo.cue(cueId);
    if (!cue) throw notFound('cue', { code: 'linkage.cue_not_found' });
    const shift = await repo.openShift(actor.userId!);
    if (!shift || shift.unitId !== cue.unitId) throw forbidden('this cue is for another unit', { code: 'linkage.not_your_cue' });
    if (cue.status === 'cancelled' || cue.status === 'reassigned') throw conflict(`a ${cue.status} cue takes no report`, { code: 'linkage.cue_final', params: { from: cue.status, to: 'done', rule: 'no report on an ended cue' } });
    if (data.length > MAX_PHOTO_BYTES) throw badRequest('the photo is over 8 MB', { field: 'file', code: 'linkage.photo_too_large', params: { maxMb: 8 } });
    const type = sniffImage(data);
    if (!type) throw badRequest('the file is not a JPEG, PNG or WebP picture', { field: 'file', code: 'linkage.photo_type' });
    if ((await repo.photoCount(cueId)) >= MAX_PHOTOS) throw conflict(`a report holds at most ${MAX_PHOTOS} photos`, { code: 'linkage.photo_limit', params: { max: MAX_PHOTOS } });
    const sha256 = createHash('sha256').update(data).digest('hex');
    const dir = join(photoDir, cueId);
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${sha256}.${type.slice(6)}`);
    await writeFile(path, data, { mode: 0o640 });
    const photo = await repo.insertPhoto({ cueId, path, bytes: data.length, sha256, contentType: type, uploadedBy: actor.userId });
    await audit(null, { actor, action: 'cue.photo', targetType: 'cue', targetId: cueId, details: { photoId: photo.id, bytes: data.length, sha256 }, ...meta });
    await inTx(async (t) => { await cueChanged(t, cueId, 'cue.updated', actor); });
    return photo;
  }

  /** The snapshot a cue carries, for the patrol user of its unit: a signed image link, audited as a view. */
  async function cueSnapshot(actor: Principal, cueId: string, meta: ReqMeta) {
    const cue = await readableCue(cueId, actor);
    if (!cue.snapshotId) throw notFound('snapshot', { code: 'linkage.cue_no_snapshot' });
    return ctx.snapshots.get(actor, cue.snapshotId, meta);
  }

  async function photoFile(actor: Principal, cueId: string, photoId: string) {
    await readableCue(cueId, actor);
    const p = await repo.photo(cueId, photoId);
    if (!p) throw notFound('photo', { code: 'linkage.photo_not_found' });
    return p;
  }

  // ---- pushes (cameras on the phone) ------------------------------------------------------

  async function pushCamera(actor: Principal, unitId: string, deviceId: string, cueId: string | null, meta: ReqMeta) {
    const unit = await unitOr404(unitId);
    const names = await repo.cameraNames([deviceId]);
    if (!names.has(deviceId)) throw badRequest(`camera ${deviceId} is not a camera in service`, { field: 'deviceId', code: 'linkage.camera_unknown', params: { deviceId } });
    if (unit.state === 'off_duty') throw conflict(`${unit.callSign} is off duty`, { code: 'linkage.unit_off_duty', params: { callSign: unit.callSign, rule: 'nobody on duty would see it' } });
    return inTx(async (t) => {
      await t.repo.push({ unitId, deviceId, cueId: cueId ?? unit.activeCueId, by: actor.userId, byName: actor.username });
      const push = (await t.repo.pushes(unitId)).find((p) => p.deviceId === deviceId)!;
      await audit(t.db, { actor, action: 'camera.push', targetType: 'device', targetId: deviceId, details: { unit: unit.callSign, name: push.deviceName }, ...meta });
      await t.emit(`unit:${unitId}`, 'camera.pushed', { push: wire(push) });
      return push;
    });
  }

  async function unpushCamera(actor: Principal, unitId: string, deviceId: string, meta: ReqMeta): Promise<void> {
    const unit = await unitOr404(unitId);
    await inTx(async (t) => {
      if ((await t.repo.unpush(unitId, deviceId)) === 0) throw notFound('push', { code: 'linkage.push_not_found' });
      await audit(t.db, { actor, action: 'camera.unpush', targetType: 'device', targetId: deviceId, details: { unit: unit.callSign }, ...meta });
      await t.emit(`unit:${unitId}`, 'camera.unpushed', { push: { unitId, deviceId } });
    });
  }

  /** Live view for a patrol user: only a camera pushed to the unit they are on duty with. */
  async function patrolLive(actor: Principal, deviceId: string, stream: StreamName, meta: ReqMeta) {
    const unitId = await dutyUnit(actor);
    if (!(await repo.isPushed(unitId, deviceId))) throw forbidden('this camera was not pushed to your unit', { code: 'linkage.camera_not_pushed' });
    return ctx.live.start(actor, deviceId, 8000, meta, stream);
  }

  // ---- rings -------------------------------------------------------------------------------

  async function ringSet(incidentId: string): Promise<RingSet | null> {
    const r = await repo.ring(incidentId);
    if (!r) return null;
    const outer = r.radii[2];
    const [devices, units] = await Promise.all([
      repo.devicesNear(r.lat, r.lon, outer, ['camera', 'mobile', 'checkpoint'], 5000),
      repo.unitsNear(r.lat, r.lon, outer, 5000),
    ]);
    const ringOf = (d: number) => r.radii.findIndex((radius) => d <= radius);
    const rings = r.radii.map((radiusM, ring) => ({ ring, code: RING_CODES[ring]!, radiusM, cameras: [] as RingMember[], checkpoints: [] as RingMember[], units: [] as RingMember[] }));
    for (const d of devices) {
      const m: RingMember = { kind: d.kind === 'checkpoint' ? 'checkpoint' : 'camera', id: d.id, name: d.name, lat: d.lat, lon: d.lon, distanceM: d.distanceM, state: d.status };
      const i = ringOf(d.distanceM);
      if (i >= 0) (m.kind === 'checkpoint' ? rings[i]!.checkpoints : rings[i]!.cameras).push(m);
    }
    for (const u of units) {
      const i = ringOf(u.distance);
      if (i >= 0) rings[i]!.units.push({ kind: 'unit', id: u.id, name: u.name, lat: u.lat, lon: u.lon, distanceM: Math.round(u.distance), state: u.state });
    }
    return { incidentId, lat: r.lat, lon: r.lon, radiiM: r.radii, active: r.active, setByName: r.setByName, setAt: r.setAt, rings };
  }

  async function setRings(actor: Principal, incidentId: string, radii: [number, number, number] | undefined, meta: ReqMeta): Promise<RingSet> {
    const r = radii ?? cfg.ringRadiiMeters;
    if (!(r[0] < r[1] && r[1] < r[2])) throw badRequest('radiiM must increase: 管控圈 < 防控圈 < 封控圈', { field: 'radiiM', code: 'linkage.radii_order' });
    await inTx(async (t) => {
      const incident = await incidentOr404(incidentId, t.repo, true);
      const at = located(incident);
      await t.repo.setRing(incidentId, [...r], at.lat, at.lon, actor.userId, actor.username);
      const entry = await t.repo.timeline(incidentId, actorOf(actor), 'rings.set', { radiiM: r });
      await t.emit(`incident:${incidentId}`, 'incident.timeline', { entry: { id: entry.id, at: entry.at.toISOString(), actorName: actor.username, kind: 'rings.set', details: { radiiM: r } } });
      await audit(t.db, { actor, action: 'rings.set', targetType: 'incident', targetId: incidentId, details: { number: incident.number, radiiM: r }, ...meta });
    });
    const set = (await ringSet(incidentId))!;
    await eventLog.append(`incident:${incidentId}`, 'rings.updated', { rings: wire(set) });
    return set;
  }

  async function clearRings(actor: Principal, incidentId: string, meta: ReqMeta): Promise<void> {
    const incident = await incidentOr404(incidentId);
    if (!(await repo.clearRing(incidentId))) throw notFound('rings', { code: 'linkage.rings_not_set' });
    await repo.timeline(incidentId, actorOf(actor), 'rings.cleared', {});
    await audit(null, { actor, action: 'rings.clear', targetType: 'incident', targetId: incidentId, details: { number: incident.number }, ...meta });
    await eventLog.append(`incident:${incidentId}`, 'rings.updated', { rings: null });
  }

  /** Cue every available unit inside ring `ring` (0–2, the ring's radius, inner rings included). */
  async function cueRing(actor: Principal, incidentId: string, ring: number, b: { message: string; cameraIds: string[] }, meta: ReqMeta) {
    const set = await ringSet(incidentId);
    if (!set || !set.active) throw conflict('the incident has no active rings', { code: 'linkage.rings_not_set' });
    const members = set.rings.slice(0, ring + 1).flatMap((r) => r.units);
    const items: Cue[] = [];
    const skipped: { unitId: string; callSign: string; code: string }[] = [];
    for (const m of members) {
      if (m.state !== 'available') { skipped.push({ unitId: m.id, callSign: m.name, code: m.state === 'busy' ? 'linkage.unit_busy' : 'linkage.unit_off_duty' }); continue; }
      try {
        items.push(await sendCue(actor, incidentId, { unitId: m.id, message: b.message, cameraIds: b.cameraIds }, meta, ring));
      } catch (err) {
        skipped.push({ unitId: m.id, callSign: m.name, code: (err as { code?: string }).code ?? 'linkage.cue_failed' });
      }
    }
    return { items, skipped };
  }

  /**
   * A face or plate alarm with a place: inside an active ring it joins that incident (timeline,
   * priority raised by one). Called by the alarm raiser's hook; never throws into it.
   */
  async function alarmRaised(alarm: { id: string; kind: string; lat: number | null; lon: number | null; deviceName: string | null }): Promise<string[]> {
    if ((alarm.kind !== 'face' && alarm.kind !== 'plate') || alarm.lat === null || alarm.lon === null) return [];
    // The nearest active ring holding the place: the alarm joins that one incident.
    const h = (await repo.ringsHolding(alarm.lat, alarm.lon))[0];
    if (!h) return [];
    const ring = h.radii.findIndex((r) => h.distance <= r);
    const joined = await inTx(async (t) => {
      if (!(await t.repo.linkAlarm(alarm.id, h.incidentId))) return false;
      const priority = await t.repo.raisePriority(h.incidentId);
      const details = { alarmId: alarm.id, alarmKind: alarm.kind, device: alarm.deviceName, ring, distanceM: Math.round(h.distance), priority };
      const entry = await t.repo.timeline(h.incidentId, { id: null, name: 'system' }, 'alarm.joined', details);
      await t.emit(`incident:${h.incidentId}`, 'incident.timeline', { entry: { id: entry.id, at: entry.at.toISOString(), actorName: 'system', kind: 'alarm.joined', details } });
      return true;
    });
    return joined ? [h.incidentId] : [];
  }

  /** The unit whose grid (责任田) holds a point, for an incident's statistics. */
  async function gridAt(lat: number, lon: number): Promise<string | null> {
    for (const g of await repo.grids()) if (pointInPolygon(lon, lat, g.grid)) return g.id;
    return null;
  }

  // ---- escalation --------------------------------------------------------------------------

  /** Escalate cues past their acknowledgement deadline: alarm the monitor and propose the next unit. */
  async function escalateDue(): Promise<number> {
    const ids = await repo.escalateDue(50);
    for (const id of ids) {
      const cue = await cueOf(id, { kind: 'service', userId: null, username: 'system', roles: ['monitor'] });
      const incident = await repo.incident(cue.incidentId);
      const next = incident && incident.lat !== null && incident.lon !== null ? (await proposals({ lat: incident.lat, lon: incident.lon }, [cue.unitId], 1, false))[0] ?? null : null;
      await alarms.raise({
        kind: 'cue_unacked', severity: 'critical', lat: cue.incidentLat, lon: cue.incidentLon, dedupKey: `cue_unacked:${id}`,
        details: { cueId: id, incidentId: cue.incidentId, incidentNumber: cue.incidentNumber, unit: cue.unitCallSign, ackTimeoutSeconds: cfg.ackTimeoutSeconds, nextUnit: next?.unit.callSign ?? null },
      }).catch((err: unknown) => log.warn({ err, cueId: id }, 'could not raise the cue_unacked alarm'));
      await repo.timeline(cue.incidentId, { id: null, name: 'system' }, 'cue.escalated', { cueId: id, unit: cue.unitCallSign, nextUnit: next?.unit.callSign ?? null });
      const payload = { cue: wire(cue), next: next ? wire(next) : null };
      await eventLog.append('cues', 'cue.escalated', payload);
      await eventLog.append(`incident:${cue.incidentId}`, 'cue.escalated', payload);
    }
    return ids.length;
  }

  return {
    repo, units: (f: { state?: UnitState; q?: string }) => repo.units(f, cfg.staleSeconds), unit: (id: string) => unitOr404(id),
    createUnit, updateUnit, issueTerminal, authenticateTerminal,
    me, goOnDuty, goOffDuty, dutyUnit, mayHearUnit,
    linkage, nearbyCameras, proposals,
    cues: async (f: { active: boolean; unitId?: string }, actor: Principal) => cuesOf(await repo.cues({ ...f, limit: 500 }), actor),
    cue: readableCue, sendCue, step, cancelCue, reassignCue, addPhoto, photoFile, cueSnapshot,
    pushes: async (unitId: string) => { await unitOr404(unitId); return repo.pushes(unitId); }, pushCamera, unpushCamera, patrolLive,
    ringSet: async (incidentId: string) => { await incidentOr404(incidentId); return ringSet(incidentId); }, setRings, clearRings, cueRing,
    alarmRaised, gridAt, escalateDue,
    track: async (unitId: string, from: Date, to: Date) => { await unitOr404(unitId); return repo.track(unitId, from, to, 20_000); },
  };
}

export type LinkageService = ReturnType<typeof createLinkageService>;
