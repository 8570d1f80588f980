import { Type, type TSchema } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, NullableDateTime, StringEnum } from '../../core/http/schemas.ts';
import { STAFF } from '../../core/identity/types.ts';
import { STREAMS, streamKey } from './keys.ts';
import { MediaToken } from './media-auth.ts';
import type { LiveMediaService, LiveService } from './service.ts';
import type { SessionInfo } from './types.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const SessionSchema = Type.Object({
  deviceId: Type.String(),
  stream: StringEnum(STREAMS),
  state: StringEnum(['starting', 'live', 'reconnecting', 'failed', 'stopped', 'degraded'] as const),
  reason: Type.Union([Type.String(), Type.Null()]),
  mode: Type.Union([StringEnum(['copy', 'transcode'] as const), Type.Null()]),
  codec: Nullable(StringEnum(['h264', 'hevc'] as const)),
  codecString: Nullable(Type.String()),
  width: Nullable(Type.Integer()),
  height: Nullable(Type.Integer()),
  transcodeReason: Nullable(Type.String()),
  cpuPercent: Nullable(Type.Number({ description: 'percent of one core the session\'s ffmpeg used over the last 5 s' })),
  recording: Type.Boolean(),
  startedAt: NullableDateTime,
  lastSegmentAt: NullableDateTime,
  restarts: Type.Integer(),
  viewers: Type.Integer(),
});
const MaybeSession = Type.Object({ session: Type.Union([SessionSchema, Type.Null()]) });
const StreamQuery = Type.Object({ stream: StringEnum(STREAMS, { default: 'main' }) });
const StreamDescriptionSchema = Type.Object({
  stream: StringEnum(STREAMS), encoding: Nullable(Type.String()), width: Nullable(Type.Integer()), height: Nullable(Type.Integer()),
  fps: Nullable(Type.Number()), gop: Nullable(Type.Integer()),
});
const TokenParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }), token: MediaToken });

/** What the internal session routes need of the session manager (keys: keys.ts). */
export interface LiveSessions {
  get(key: string): SessionInfo | null;
  touch(key: string): void;
  open(key: string, opts: { viewer?: boolean }): Promise<SessionInfo>;
  waitForPlaylist(key: string, timeoutMs: number): Promise<boolean>;
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

  const SegmentParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }), token: MediaToken, segment: Type.String({ maxLength: 40 }) });
  for (const stream of STREAMS) {
    // Main: `…/<token>/index.m3u8`; sub and compat: `…/<token>/sub/index.m3u8` (relative URIs resolve beside each).
    const at = stream === 'main' ? '/media/live/:deviceId/:token' : `/media/live/:deviceId/:token/${stream}`;
    app.get(`${at}/index.m3u8`, {
      config: { access: 'public' },
      schema: { hide: true, params: TokenParams },
    }, async (req, reply) => {
      const text = await media.playlist(req.params.deviceId, req.params.token, stream);
      return reply.header('content-type', 'application/vnd.apple.mpegurl').header('cache-control', 'no-store').send(text);
    });
    app.get(`${at}/:segment`, {
      config: { access: 'public' },
      schema: { hide: true, params: SegmentParams },
    }, async (req, reply) => {
      const { stream: body, bytes, type } = await media.segment(req.params.deviceId, req.params.token, req.params.segment, stream);
      return reply.header('content-type', type).header('content-length', bytes).header('cache-control', 'private, max-age=60').send(body);
    });
  }
}, { name: 'stream-media-routes', dependencies: ['identity-guard'] });

/** The gateway's internal session API (service token only). */
export const streamInternalRoutes = fp(async (app: App, opts: { sessions: LiveSessions & { list(): SessionInfo[] } }) => {
  const { sessions } = opts;
  app.post('/internal/devices/:id/session', {
    config: { access: 'service' },
    schema: {
      params: IdParams,
      body: Type.Object({
        viewer: Type.Boolean({ default: true }), waitMs: Type.Integer({ minimum: 0, maximum: 15_000, default: 0 }),
        stream: StringEnum(STREAMS, { default: 'main' }),
      }),
      response: { 200: Type.Object({ session: SessionSchema, playable: Type.Boolean() }) },
    },
  }, async (req) => {
    const key = streamKey(req.params.id, req.body.stream);
    const session = await sessions.open(key, { viewer: req.body.viewer });
    const playable = req.body.waitMs > 0 ? await sessions.waitForPlaylist(key, req.body.waitMs) : false;
    return { session: sessions.get(key) ?? session, playable };
  });
  app.get('/internal/devices/:id/session', { config: { access: 'service' }, schema: { params: IdParams, querystring: StreamQuery, response: { 200: MaybeSession } } },
    async (req) => ({ session: sessions.get(streamKey(req.params.id, req.query.stream)) }));
  app.get('/internal/sessions', { config: { access: 'service' }, schema: { response: { 200: Type.Object({ items: Type.Array(SessionSchema) }) } } },
    async () => ({ items: sessions.list() }));
}, { name: 'stream-internal-routes', dependencies: ['identity-guard'] });

/**
 * People's live view (console): the live service starts or joins the camera's session on
 * the node that holds it, mints a short-lived token bound to the user and the camera,
 * and writes the audit row.
 */
/** The answer of a live start (POST /api/devices/:id/live, and the patrol phone's pushed cameras). */
export const LiveAnswerSchema = Type.Object({ url: Type.String(), wsUrl: Type.String(), expiresAt: DateTime, session: SessionSchema, playable: Type.Boolean(), streams: Type.Array(StreamDescriptionSchema) });

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
      description: 'Start (or join) live view of the main or sub stream: returns the HLS URL and the low-latency WebSocket URL on the gateway, '
        + 'with a short-lived token bound to you and this camera, and the camera\'s streams (asking for a sub stream the camera lacks gives the main stream).',
      params: IdParams,
      body: Type.Object({ waitMs: Type.Integer({ minimum: 0, maximum: 15_000, default: 0 }), stream: StringEnum(STREAMS, { default: 'main' }) }),
      response: {
        200: LiveAnswerSchema,
        ...errors(400, 401, 403, 404, 502, 503),
      },
    },
  }, async (req) => live.start(req.principal!, req.params.id, req.body.waitMs, { ip: req.ip, requestId: req.id }, req.body.stream));

  app.get('/api/devices/:id/stream', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['live'], summary: 'Stream session state', description: 'The session state of the camera\'s main or sub stream (null when none runs).', params: IdParams, querystring: StreamQuery, response: { 200: MaybeSession, ...errors(400, 401, 403, 404) } },
  }, async (req) => live.session(req.params.id, req.query.stream));
}, { name: 'stream-user-routes', dependencies: ['identity-guard'] });
