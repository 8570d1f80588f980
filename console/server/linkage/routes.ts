import { createReadStream } from 'node:fs';
import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import { errors, Uuid } from '../../../core/http/schemas.ts';
import { badRequest } from '../../../core/http/errors.ts';
import { ADMIN, MONITORS, type Role } from '../../../core/identity/types.ts';
import type { ConsoleContext } from '../context.ts';
import {
  CameraRefSchema, CueBody, CueSchema, ForceStepBody, PositionSchema, ProposalSchema, PushSchema, ReassignBody, ReasonBody, RingCueBody,
  RingSetSchema, RingsBody, UnitBody, UnitPatchBody, UnitSchema,
} from './schemas.ts';
import type { LinkageService } from './service.ts';
import { StringEnum } from '../../../core/http/schemas.ts';
import { UNIT_STATES } from './types.ts';

const tags = ['linkage'];
/** The control room reads units, cues, rings and tracks: monitors, supervisors, admins. */
export const LINKAGE_READERS: readonly Role[] = ['admin', 'supervisor', 'monitor'];
/** The cue's photos: the control room and the patrol user of the cue's unit (checked in the service). */
const PHOTO_READERS: readonly Role[] = ['admin', 'supervisor', 'monitor', 'patrol'];

const IncidentParams = Type.Object({ id: Uuid });
const meta = (req: { ip: string; id: string }) => ({ ip: req.ip, requestId: req.id });

/**
 * The control room's side of the monitor-patrol linkage (监巡联动): units, proposals, cues,
 * overrides, pushed cameras and rings. The phone's side is patrol-routes.ts.
 */
export const linkageRoutes = fp(async (app: App, opts: { ctx: ConsoleContext; linkage: LinkageService }) => {
  const { linkage } = opts;

  app.get('/api/units', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: {
      tags, summary: 'Patrol units',
      description: 'Every unit with its members, state, latest position (stale when older than linkage.staleSeconds) and active cue.',
      querystring: Type.Object({ state: Type.Optional(StringEnum(UNIT_STATES)), q: Type.Optional(Type.String({ maxLength: 60 })) }),
      response: { 200: Type.Object({ items: Type.Array(UnitSchema) }), ...errors(400, 401, 403) },
    },
  }, async (req) => ({ items: await linkage.units(req.query) }));

  app.get('/api/units/:id', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: { tags, summary: 'A patrol unit', params: IncidentParams, response: { 200: UnitSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => linkage.unit(req.params.id));

  app.post('/api/units', {
    config: { access: { roles: ADMIN }, audit: 'unit.create' },
    schema: {
      tags, summary: 'Create a patrol unit', description: 'Call sign (unique), kind, station, grid (责任田) polygon and members (patrol users).',
      body: UnitBody, response: { 201: UnitSchema, ...errors(400, 401, 403, 409) },
    },
  }, async (req, reply) => reply.code(201).send(await linkage.createUnit(req.principal!, req.body, meta(req))));

  app.patch('/api/units/:id', {
    config: { access: { roles: ADMIN }, audit: 'unit.update' },
    schema: {
      tags, summary: 'Edit a patrol unit', description: 'Changes the fields sent; `version` must be the one loaded (409 linkage.unit_stale). A unit holding a cue cannot be disabled.',
      params: IncidentParams, body: UnitPatchBody, response: { 200: UnitSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => linkage.updateUnit(req.principal!, req.params.id, req.body, meta(req)));

  app.post('/api/units/:id/terminal', {
    config: { access: { roles: ADMIN }, audit: 'unit.terminal_issued' },
    schema: {
      tags, summary: 'Issue a GPS terminal credential',
      description: 'A vehicle GPS terminal reports to POST /api/gps/fixes with `Authorization: Terminal <terminalId>:<secret>`. The secret is shown only in this answer; issuing again replaces it.',
      params: IncidentParams, response: { 200: Type.Object({ terminalId: Type.String(), secret: Type.String() }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => linkage.issueTerminal(req.principal!, req.params.id, meta(req)));

  app.get('/api/units/:id/track', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: {
      tags, summary: 'A unit\'s GPS track', description: 'Fixes between from and to (default: the last hour), oldest first, at most 20,000.',
      params: IncidentParams,
      querystring: Type.Object({ from: Type.Optional(Type.String({ format: 'date-time' })), to: Type.Optional(Type.String({ format: 'date-time' })) }),
      response: { 200: Type.Object({ items: Type.Array(PositionSchema) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const to = req.query.to ? new Date(req.query.to) : new Date();
    const from = req.query.from ? new Date(req.query.from) : new Date(to.getTime() - 3600_000);
    if (from >= to) throw badRequest('from must be before to', { field: 'from', code: 'linkage.range_order' });
    if (to.getTime() - from.getTime() > 7 * 86_400_000) throw badRequest('a track spans at most 7 days', { field: 'to', code: 'linkage.range_too_long', params: { maxDays: 7 } });
    return { items: await linkage.track(req.params.id, from, to) };
  });

  app.get('/api/units/:id/nearby-cameras', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: {
      tags, summary: 'Cameras nearest a unit', description: 'What the video wall shows while it follows the unit: the cameras nearest its latest position (within 5 km).',
      params: IncidentParams, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 25, default: 9 }) }),
      response: { 200: Type.Object({ items: Type.Array(CameraRefSchema) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => ({ items: await linkage.nearbyCameras(req.params.id, req.query.limit) }));

  app.get('/api/units/:id/pushes', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: { tags, summary: 'Cameras pushed to a unit', params: IncidentParams, response: { 200: Type.Object({ items: Type.Array(PushSchema) }), ...errors(400, 401, 403, 404) } },
  }, async (req) => ({ items: await linkage.pushes(req.params.id) }));

  app.post('/api/units/:id/pushes', {
    config: { access: { roles: MONITORS }, audit: 'camera.push' },
    schema: {
      tags, summary: 'Push a camera to a unit\'s phone', description: 'The patrol users on duty with the unit may then play it (and only the cameras pushed to them).',
      params: IncidentParams, body: Type.Object({ deviceId: Uuid, cueId: Type.Optional(Type.Union([Uuid, Type.Null()])) }),
      response: { 201: PushSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => reply.code(201).send(await linkage.pushCamera(req.principal!, req.params.id, req.body.deviceId, req.body.cueId ?? null, meta(req))));

  app.delete('/api/units/:id/pushes/:deviceId', {
    config: { access: { roles: MONITORS }, audit: 'camera.unpush' },
    schema: { tags, summary: 'Take a camera off a unit\'s phone', params: Type.Object({ id: Uuid, deviceId: Uuid }), response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => { await linkage.unpushCamera(req.principal!, req.params.id, req.params.deviceId, meta(req)); return reply.code(204).send(null); });

  app.get('/api/incidents/:id/linkage', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: {
      tags, summary: 'An incident\'s linkage',
      description: 'The nearest available units (straight line; road ETA when a routing service is configured; fresh positions first) with the cameras along their way, the cameras around the incident, its cues and its rings.',
      params: IncidentParams,
      response: { 200: Type.Object({ proposals: Type.Array(ProposalSchema), cameras: Type.Array(CameraRefSchema), cues: Type.Array(CueSchema), rings: Type.Union([RingSetSchema, Type.Null()]) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => linkage.linkage(req.params.id, req.principal!));

  app.post('/api/incidents/:id/cues', {
    config: { access: { roles: MONITORS }, audit: 'cue.send' },
    schema: {
      tags, summary: 'Send a cue to a unit',
      description: 'The unit\'s phone gets it on `unit:<id>` at once (or on reconnect). An off-duty, disabled or busy unit is refused (409 naming the rule). The cameras given are pushed to the unit. Not received within linkage.ackTimeoutSeconds, it escalates.',
      params: IncidentParams, body: CueBody, response: { 201: CueSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => reply.code(201).send(await linkage.sendCue(req.principal!, req.params.id, req.body, meta(req))));

  app.get('/api/cues', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: {
      tags, summary: 'Cues', description: 'Newest first, at most 500: the active ones by default.',
      querystring: Type.Object({ active: Type.Boolean({ default: true }), unitId: Type.Optional(Uuid) }),
      response: { 200: Type.Object({ items: Type.Array(CueSchema) }), ...errors(400, 401, 403) },
    },
  }, async (req) => ({ items: await linkage.cues({ active: req.query.active, ...(req.query.unitId ? { unitId: req.query.unitId } : {}) }, req.principal!) }));

  app.get('/api/cues/:id', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: { tags, summary: 'A cue', params: IncidentParams, response: { 200: CueSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => linkage.cue(req.params.id, req.principal!));

  app.post('/api/cues/:id/steps', {
    config: { access: { roles: MONITORS }, audit: 'cue.override' },
    schema: {
      tags, summary: 'Force a cue\'s step',
      description: 'For a step the unit reported another way (radio): the next step needs no reason; skipping steps is an override and needs one (409 linkage.cue_override_reason). Backwards or on an ended cue: 409 naming the rule.',
      params: IncidentParams, body: ForceStepBody, response: { 200: CueSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => linkage.step(req.principal!, req.params.id, req.body.status, 'monitor', { reason: req.body.reason }, meta(req)));

  app.post('/api/cues/:id/cancel', {
    config: { access: { roles: MONITORS }, audit: 'cue.cancel' },
    schema: { tags, summary: 'Cancel a cue', params: IncidentParams, body: ReasonBody, response: { 200: CueSchema, ...errors(400, 401, 403, 404, 409) } },
  }, async (req) => linkage.cancelCue(req.principal!, req.params.id, req.body.reason, meta(req)));

  app.post('/api/cues/:id/reassign', {
    config: { access: { roles: MONITORS }, audit: 'cue.reassign' },
    schema: {
      tags, summary: 'Reassign a cue to another unit', description: 'The cue ends `reassigned` (its unit is free again) and a new cue with the same message and cameras goes to the other unit.',
      params: IncidentParams, body: ReassignBody, response: { 201: CueSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => reply.code(201).send(await linkage.reassignCue(req.principal!, req.params.id, req.body.unitId, req.body.reason, meta(req))));

  app.get('/api/cues/:id/photos/:photoId', {
    config: { access: { roles: PHOTO_READERS } },
    schema: { tags, summary: 'A report photo', description: 'The image (JPEG, PNG or WebP as uploaded): the control room, and the patrol users of the cue\'s unit; others 403.', params: Type.Object({ id: Uuid, photoId: Uuid }) },
  }, async (req, reply) => {
    const p = await linkage.photoFile(req.principal!, req.params.id, req.params.photoId);
    return reply.header('content-type', p.contentType).header('content-length', p.bytes).header('cache-control', 'private, max-age=600')
      .header('x-content-type-options', 'nosniff').send(createReadStream(p.path));
  });

  app.get('/api/incidents/:id/rings', {
    config: { access: { roles: LINKAGE_READERS } },
    schema: { tags, summary: 'An incident\'s rings (三圈)', params: IncidentParams, response: { 200: Type.Union([RingSetSchema, Type.Null()]), ...errors(400, 401, 403, 404) } },
  }, async (req) => linkage.ringSet(req.params.id));

  app.put('/api/incidents/:id/rings', {
    config: { access: { roles: MONITORS }, audit: 'rings.set' },
    schema: {
      tags, summary: 'Set an incident\'s rings',
      description: '管控圈 / 防控圈 / 封控圈 around the incident\'s place (radii default to linkage.ringRadiiMeters), with the cameras, checkpoints and units inside each (each in the innermost ring that holds it). A face or plate alarm inside an active ring joins the incident and raises its priority.',
      params: IncidentParams, body: RingsBody, response: { 200: RingSetSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => linkage.setRings(req.principal!, req.params.id, req.body.radiiM, meta(req)));

  app.delete('/api/incidents/:id/rings', {
    config: { access: { roles: MONITORS }, audit: 'rings.clear' },
    schema: { tags, summary: 'Clear an incident\'s rings', params: IncidentParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => { await linkage.clearRings(req.principal!, req.params.id, meta(req)); return reply.code(204).send(null); });

  app.post('/api/incidents/:id/rings/:ring/cues', {
    config: { access: { roles: MONITORS }, audit: 'cue.send' },
    schema: {
      tags, summary: 'Cue every unit of a ring', description: 'Every available unit inside ring 0 (管控圈), 1 (防控圈) or 2 (封控圈): the others are listed as skipped with the reason.',
      params: Type.Object({ id: Uuid, ring: Type.Integer({ minimum: 0, maximum: 2 }) }), body: RingCueBody,
      response: { 200: Type.Object({ items: Type.Array(CueSchema), skipped: Type.Array(Type.Object({ unitId: Uuid, callSign: Type.String(), code: Type.String() })) }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => linkage.cueRing(req.principal!, req.params.id, req.params.ring, req.body, meta(req)));
}, { name: 'linkage-routes', dependencies: ['identity-guard'] });
