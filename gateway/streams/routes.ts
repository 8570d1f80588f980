import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, NullableDateTime, StringEnum } from '../../core/http/schemas.ts';
import { STAFF } from '../../core/identity/types.ts';
import { MediaToken } from './media-auth.ts';
import type { LiveMediaService, LiveService } from './service.ts';
import type { SessionInfo } from './types.ts';

export const SessionSchema = Type.Object({
  deviceId: Type.String(),
  state: StringEnum(['starting', 'live', 'reconnecting', 'failed', 'stopped', 'degraded'] as const),
  reason: Type.Union([Type.String(), Type.Null()]),
  mode: Type.Union([StringEnum(['copy', 'transcode'] as const), Type.Null()]),
  recording: Type.Boolean(),
  startedAt: NullableDateTime,
  lastSegmentAt: NullableDateTime,
  restarts: Type.Integer(),
  viewers: Type.Integer(),
});
const MaybeSession = Type.Object({ session: Type.Union([SessionSchema, Type.Null()]) });
const TokenParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }), token: MediaToken });

/** What the internal session routes need of the session manager. */
export interface LiveSessions {
  get(deviceId: string): SessionInfo | null;
  touch(deviceId: string): void;
  open(deviceId: string, opts: { viewer?: boolean }): Promise<SessionInfo>;
  waitForPlaylist(deviceId: string, timeoutMs: number): Promise<boolean>;
}

/**
 * Live HLS served by the gateway to browsers (another origin than the console):
 * `/media/live/<device>/<token>/index.m3u8`, segments relative to it. The signed
 * token in the path is the only credential, so CORS allows any origin and no cookie
 * is read. Paths are built from the validated device id and a segment name pattern,
 * never from the raw request path.
 */
export const streamMediaRoutes = fp(async (app: App, opts: { media: LiveMediaService }) => {
  const { media } = opts;
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/media/')) reply.header('access-control-allow-origin', '*');
  });

  app.get('/media/live/:deviceId/:token/index.m3u8', {
    config: { access: 'public' },
    schema: { hide: true, params: TokenParams },
  }, async (req, reply) => {
    const text = await media.playlist(req.params.deviceId, req.params.token);
    return reply.header('content-type', 'application/vnd.apple.mpegurl').header('cache-control', 'no-store').send(text);
  });

  app.get('/media/live/:deviceId/:token/:segment', {
    config: { access: 'public' },
    schema: { hide: true, params: Type.Object({ deviceId: Type.String({ format: 'uuid' }), token: MediaToken, segment: Type.String({ maxLength: 40 }) }) },
  }, async (req, reply) => {
    const { stream, bytes } = await media.segment(req.params.deviceId, req.params.token, req.params.segment);
    return reply.header('content-type', 'video/mp2t').header('content-length', bytes).header('cache-control', 'private, max-age=60').send(stream);
  });
}, { name: 'stream-media-routes', dependencies: ['identity-guard'] });

/** The gateway's internal session API (service token only). */
export const streamInternalRoutes = fp(async (app: App, opts: { sessions: LiveSessions & { list(): SessionInfo[] } }) => {
  const { sessions } = opts;
  app.post('/internal/devices/:id/session', {
    config: { access: 'service' },
    schema: {
      params: IdParams,
      body: Type.Object({ viewer: Type.Boolean({ default: true }), waitMs: Type.Integer({ minimum: 0, maximum: 15_000, default: 0 }) }),
      response: { 200: Type.Object({ session: SessionSchema, playable: Type.Boolean() }) },
    },
  }, async (req) => {
    const session = await sessions.open(req.params.id, { viewer: req.body.viewer });
    const playable = req.body.waitMs > 0 ? await sessions.waitForPlaylist(req.params.id, req.body.waitMs) : false;
    return { session: sessions.get(req.params.id) ?? session, playable };
  });
  app.get('/internal/devices/:id/session', { config: { access: 'service' }, schema: { params: IdParams, response: { 200: MaybeSession } } },
    async (req) => ({ session: sessions.get(req.params.id) }));
  app.get('/internal/sessions', { config: { access: 'service' }, schema: { response: { 200: Type.Object({ items: Type.Array(SessionSchema) }) } } },
    async () => ({ items: sessions.list() }));
}, { name: 'stream-internal-routes', dependencies: ['identity-guard'] });

/**
 * People's live view (console): the live service starts or joins the camera's session on
 * the node that holds it, mints a short-lived token bound to the user and the camera,
 * and writes the audit row.
 */
export const streamUserRoutes = fp(async (app: App, opts: { live: LiveService }) => {
  const { live } = opts;

  app.get('/api/devices/:id/stream-events', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['live'], summary: 'Stream session history', description: 'Session state changes with their reasons, newest first.', params: IdParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ at: DateTime, state: Type.String(), reason: Type.Union([Type.String(), Type.Null()]), mode: Type.Union([Type.String(), Type.Null()]), nodeId: Type.String() })) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => ({ items: await live.history(req.params.id, req.query.limit) }));

  app.post('/api/devices/:id/live', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['live'], summary: 'Start live view',
      description: 'Start (or join) live view: returns the HLS URL on the gateway, a short-lived token bound to you and this camera in its path.',
      params: IdParams,
      body: Type.Object({ waitMs: Type.Integer({ minimum: 0, maximum: 15_000, default: 0 }) }),
      response: { 200: Type.Object({ url: Type.String(), expiresAt: DateTime, session: SessionSchema, playable: Type.Boolean() }), ...errors(400, 401, 403, 404, 502, 503) },
    },
  }, async (req) => live.start(req.principal!, req.params.id, req.body.waitMs, { ip: req.ip, requestId: req.id }));

  app.get('/api/devices/:id/stream', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['live'], summary: 'Stream session state', description: 'The camera\'s stream session state (null when none runs).', params: IdParams, response: { 200: MaybeSession, ...errors(400, 401, 403, 404) } },
  }, async (req) => live.session(req.params.id));
}, { name: 'stream-user-routes', dependencies: ['identity-guard'] });
