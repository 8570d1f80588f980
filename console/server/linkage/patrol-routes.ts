import multipart from '@fastify/multipart';
import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import { badRequest, tooMany, unauthorized } from '../../../core/http/errors.ts';
import { DateTime, errors, StringEnum, Uuid } from '../../../core/http/schemas.ts';
import type { Role } from '../../../core/identity/types.ts';
import { STREAMS } from '../../../gateway/streams/keys.ts';
import { LiveAnswerSchema } from '../../../gateway/streams/routes.ts';
import { SnapshotSchema } from '../../../workers/snapshot/routes.ts';
import type { ConsoleContext } from '../context.ts';
import type { createPositionIngest } from './positions.ts';
import { CueSchema, FixesBody, FixesResult, PushSchema, UnitSchema, UnitStepBody } from './schemas.ts';
import { MAX_PHOTO_BYTES, type LinkageService } from './service.ts';

const tags = ['patrol'];
const PATROL: readonly Role[] = ['patrol'];
const Params = Type.Object({ id: Uuid });
const meta = (req: { ip: string; id: string }) => ({ ip: req.ip, requestId: req.id });

type Ingest = ReturnType<typeof createPositionIngest>;

/**
 * The patrol phone's side of the linkage (巡逻终端), and the vehicle GPS terminals. A patrol
 * user sees only their own unit's cues and the cameras pushed to it.
 */
export const patrolRoutes = fp(async (app: App, opts: { ctx: ConsoleContext; linkage: LinkageService; positions: Ingest }) => {
  const { linkage, positions } = opts;

  app.get('/api/patrol/me', {
    config: { access: { roles: PATROL } },
    schema: {
      tags, summary: 'My units, duty, cue and cameras',
      description: 'The units I am a member of, the one I am on duty with, its active cue and the cameras pushed to it. The phone reads it on start and after every reconnect of the realtime channel.',
      response: {
        200: Type.Object({
          units: Type.Array(UnitSchema), duty: Type.Union([Type.Object({ unit: UnitSchema, since: Type.String({ format: 'date-time' }) }), Type.Null()]),
          cue: Type.Union([CueSchema, Type.Null()]), pushes: Type.Array(PushSchema),
        }),
        ...errors(401, 403),
      },
    },
  }, async (req) => {
    const me = await linkage.me(req.principal!);
    return { ...me, duty: me.duty ? { unit: me.duty.unit, since: me.duty.since.toISOString() } : null };
  });

  app.post('/api/patrol/duty', {
    config: { access: { roles: PATROL }, audit: 'duty.start' },
    schema: {
      tags, summary: 'Go on duty with a unit', description: 'Only with a unit I am a member of (403 linkage.not_member), one unit at a time (409 linkage.on_duty_elsewhere).',
      body: Type.Object({ unitId: Uuid }), response: { 200: UnitSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => linkage.goOnDuty(req.principal!, req.body.unitId, meta(req)));

  app.delete('/api/patrol/duty', {
    config: { access: { roles: PATROL }, audit: 'duty.end' },
    schema: {
      tags, summary: 'Go off duty', description: 'Refused while the unit holds an active cue and nobody else of it is on duty (409 linkage.cue_active).',
      response: { 200: Type.Object({ unit: Type.Union([UnitSchema, Type.Null()]) }), ...errors(401, 403, 409) },
    },
  }, async (req) => ({ unit: await linkage.goOffDuty(req.principal!, meta(req)) }));

  app.post('/api/patrol/positions', {
    config: { access: { roles: PATROL }, auditSkip: [429] },
    schema: {
      tags, summary: 'Send GPS fixes from the phone',
      description: 'Up to 500 fixes (the phone\'s offline queue included), each checked on its own: out-of-range places, times in the future or older than 24 h are listed in `rejected` and the good ones kept. More than linkage.maxFixesPerSecond requests a second from one unit: 429 linkage.gps_flood.',
      body: FixesBody, response: { 200: FixesResult, ...errors(400, 401, 403, 409, 429) },
    },
  }, async (req) => {
    const unitId = await linkage.dutyUnit(req.principal!);
    if (!positions.allow(unitId)) throw tooMany('too many GPS reports from this unit: slow down', { code: 'linkage.gps_flood' });
    return positions.ingest(unitId, 'phone', req.body.fixes);
  });

  app.post('/api/gps/fixes', {
    // A vehicle terminal is no user: it authenticates with its own credential, checked here.
    config: { access: 'public', auditSkip: [429] },
    schema: {
      tags, summary: 'Send GPS fixes from a vehicle terminal',
      description: 'Authorization: Terminal <terminalId>:<secret> (issued by POST /api/units/:id/terminal). Same body, checks and limits as the phone\'s positions.',
      body: FixesBody, response: { 200: FixesResult, ...errors(400, 401, 429) },
    },
  }, async (req) => {
    const unitId = await linkage.authenticateTerminal(req.headers.authorization);
    if (!unitId) throw unauthorized('a GPS terminal credential is needed: Authorization: Terminal <terminalId>:<secret>', { code: 'linkage.terminal_unauthorized' });
    if (!positions.allow(unitId)) throw tooMany('too many GPS reports from this terminal: slow down', { code: 'linkage.gps_flood' });
    return positions.ingest(unitId, 'terminal', req.body.fixes);
  });

  app.get('/api/patrol/cues/:id', {
    config: { access: { roles: PATROL } },
    schema: { tags, summary: 'One of my unit\'s cues', description: 'Another unit\'s cue: 403 linkage.not_your_cue.', params: Params, response: { 200: CueSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => linkage.cue(req.params.id, req.principal!));

  app.get('/api/patrol/cues/:id/snapshot', {
    config: { access: { roles: PATROL } },
    schema: {
      tags, summary: 'The snapshot a cue carries', description: 'With a signed image link, for the patrol users of the cue\'s unit (audited as a snapshot view); a cue without one: 404 linkage.cue_no_snapshot.',
      params: Params, response: { 200: SnapshotSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => linkage.cueSnapshot(req.principal!, req.params.id, meta(req)));

  app.post('/api/patrol/cues/:id/steps', {
    config: { access: { roles: PATROL }, audit: 'cue.step' },
    schema: {
      tags, summary: 'Report a cue\'s next step',
      description: 'received → en_route → on_scene → done, one step at a time (409 linkage.cue_step_skipped names the rule: a unit cannot be on scene for a cue it never accepted); done needs a short report.',
      params: Params, body: UnitStepBody, response: { 200: CueSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => linkage.step(req.principal!, req.params.id, req.body.status, 'unit', {
    ...(req.body.report !== undefined ? { report: req.body.report } : {}), ...(req.body.lat !== undefined ? { lat: req.body.lat } : {}), ...(req.body.lon !== undefined ? { lon: req.body.lon } : {}),
  }, meta(req)));

  app.post('/api/patrol/cameras/:id/live', {
    config: { access: { roles: PATROL } },
    schema: {
      tags, summary: 'Play a camera pushed to my unit',
      description: 'The answer of POST /api/devices/:id/live, for a camera the monitor pushed to the unit I am on duty with; any other camera: 403 linkage.camera_not_pushed.',
      params: Params, body: Type.Object({ stream: StringEnum(STREAMS, { default: 'sub' }) }),
      response: { 200: LiveAnswerSchema, ...errors(400, 401, 403, 404, 409, 502, 503) },
    },
  }, async (req) => linkage.patrolLive(req.principal!, req.params.id, req.body.stream, meta(req)));

  // Photo upload in its own scope: only this route parses multipart.
  await app.register(async (scope: App) => {
    await scope.register(multipart, { limits: { fileSize: MAX_PHOTO_BYTES, files: 1, fields: 0, parts: 2 } });
    scope.post('/api/patrol/cues/:id/photos', {
      config: { access: { roles: PATROL }, audit: 'cue.photo' },
      schema: {
        tags, summary: 'Add a photo to a cue\'s report',
        description: 'multipart/form-data with one `file`: a JPEG, PNG or WebP picture (checked by its content) up to 8 MB, at most 9 per cue.',
        params: Params, consumes: ['multipart/form-data'],
        response: { 201: Type.Object({ id: Uuid, bytes: Type.Integer(), sha256: Type.String(), contentType: Type.String(), uploadedAt: DateTime }), ...errors(400, 401, 403, 404, 409) },
      },
    }, async (req, reply) => {
      if (!req.isMultipart()) throw badRequest('send the photo as multipart/form-data with a file field', { field: 'file', code: 'linkage.photo_missing' });
      const file = await req.file();
      if (!file) throw badRequest('no file in the upload', { field: 'file', code: 'linkage.photo_missing' });
      let data: Buffer;
      try {
        data = await file.toBuffer();
      } catch {
        throw badRequest('the photo is over 8 MB', { field: 'file', code: 'linkage.photo_too_large', params: { maxMb: 8 } });
      }
      return reply.code(201).send(await linkage.addPhoto(req.principal!, req.params.id, data, meta(req)));
    });
  });
}, { name: 'patrol-routes', dependencies: ['identity-guard'] });
