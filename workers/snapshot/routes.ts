import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, StringEnum } from '../../core/http/schemas.ts';
import { STAFF } from '../../core/identity/types.ts';
import { MediaToken } from '../../gateway/streams/media-auth.ts';
import { SNAPSHOT_PURPOSES, SNAPSHOT_SOURCES } from '../jobs.ts';
import type { SnapshotService } from './service.ts';

export const SnapshotSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  deviceId: Type.String({ format: 'uuid' }),
  takenAt: DateTime,
  source: StringEnum(SNAPSHOT_SOURCES, { description: 'session: the running session\'s newest keyframe; onvif: the camera\'s snapshot URI; rtsp: a short RTSP grab; recording: the frame of the recording at the moment asked for' }),
  bytes: Type.Integer(),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  purpose: StringEnum(SNAPSHOT_PURPOSES),
  reason: Type.Union([Type.String(), Type.Null()]),
  requestedByName: Type.String(),
  incidentId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The incident it was taken for, if any' }),
  url: Type.String({ description: 'The JPEG, through a link signed for you and this snapshot (about 10 minutes).' }),
  urlExpiresAt: DateTime,
});

/** People's snapshot API (console process). The image link's token is its only credential. */
export const snapshotRoutes = fp(async (app: App, opts: { snapshots: SnapshotService }) => {
  const { snapshots } = opts;

  app.post('/api/devices/:id/snapshots', {
    config: { access: { roles: STAFF }, audit: 'snapshot.take' },
    schema: {
      tags: ['snapshots'], summary: 'Take a snapshot',
      description: 'A picture of the camera now: the running session\'s newest keyframe when it is live, else its snapshot URI, else a short RTSP grab, taken by the gateway node that holds it. Stored as evidence and audited.',
      params: IdParams,
      body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }),
      response: { 201: Type.Object({ snapshot: SnapshotSchema }), ...errors(400, 401, 403, 404, 409, 422, 502, 503, 504) },
    },
  }, async (req, reply) => reply.code(201).send(await snapshots.capture(req.principal!, req.params.id, req.body.reason, { ip: req.ip, requestId: req.id })));

  app.get('/api/devices/:id/snapshots', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['snapshots'], summary: 'A camera\'s snapshots',
      description: 'Newest first, each with a fresh image link; `before` pages back. Audited as a view.',
      params: IdParams,
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        before: Type.Optional(Type.String({ format: 'date-time' })),
      }),
      response: { 200: Type.Object({ items: Type.Array(SnapshotSchema) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => snapshots.list(req.principal!, req.params.id, req.query, { ip: req.ip, requestId: req.id }));

  app.get('/api/snapshots/:id', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['snapshots'], summary: 'A snapshot', description: 'One snapshot with a fresh image link. Audited as a view.',
      params: IdParams, response: { 200: SnapshotSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => snapshots.get(req.principal!, req.params.id, { ip: req.ip, requestId: req.id }));

  app.get('/api/snapshots/:id/image/:token', {
    config: { access: 'public' },
    schema: { hide: true, params: Type.Object({ id: Type.String({ format: 'uuid' }), token: MediaToken }) },
  }, async (req, reply) => {
    const { stream, bytes } = await snapshots.image(req.params.id, req.params.token);
    return reply.header('content-type', 'image/jpeg').header('content-length', bytes).header('cache-control', 'private, max-age=600').send(stream);
  });
}, { name: 'snapshot-routes', dependencies: ['identity-guard'] });
