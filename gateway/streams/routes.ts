import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, NullableDateTime, StringEnum } from '../../core/http/schemas.ts';
import { notFound, unavailable } from '../../core/http/errors.ts';
import type { AuditLog } from '../../core/audit/types.ts';
import { STAFF } from '../../core/identity/types.ts';
import type { DeviceService } from '../devices/service.ts';
import type { GatewayClient } from '../nodes/client.ts';
import type { MediaLayout } from './layout.ts';
import { checkMediaToken, mintMediaToken } from './media-auth.ts';
import type { StreamRepository } from './repository.ts';
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
const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 4096 })) });

/** What the media routes need of the session manager. */
export interface LiveSessions {
  get(deviceId: string): SessionInfo | null;
  touch(deviceId: string): void;
  open(deviceId: string, opts: { viewer?: boolean }): Promise<SessionInfo>;
  waitForPlaylist(deviceId: string, timeoutMs: number): Promise<boolean>;
}

/** A live playlist as ffmpeg wrote it, with the token carried onto every segment URI. */
export function withToken(playlist: string, token: string): string {
  const q = `token=${encodeURIComponent(token)}`;
  return playlist.split('\n').map((line) => (line && !line.startsWith('#') ? `${line}${line.includes('?') ? '&' : '?'}${q}` : line)).join('\n');
}

/**
 * Live HLS served by the gateway to browsers (another origin than the console):
 * the signed token in the URL is the only credential, so CORS allows any origin
 * and no cookie is read. Paths are built from the validated device id and a
 * segment name pattern, never from the raw request path.
 */
export const streamMediaRoutes = fp(async (app: App, opts: { sessions: LiveSessions; layout: MediaLayout; mediaKey: Buffer }) => {
  const { sessions, layout, mediaKey } = opts;
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/media/')) reply.header('access-control-allow-origin', '*');
  });

  app.get('/media/live/:deviceId/index.m3u8', {
    config: { access: 'public' },
    schema: { hide: true, params: DeviceParams, querystring: TokenQuery },
  }, async (req, reply) => {
    const { deviceId } = req.params;
    checkMediaToken(mediaKey, req.query.token, deviceId, 'live');
    if (!sessions.get(deviceId)) throw notFound('live session');
    sessions.touch(deviceId);
    let text: string;
    try {
      text = await readFile(layout.livePlaylist(deviceId), 'utf8');
    } catch {
      throw notFound('live playlist (the stream is starting)');
    }
    return reply.header('content-type', 'application/vnd.apple.mpegurl').header('cache-control', 'no-store').send(withToken(text, req.query.token!));
  });

  app.get('/media/live/:deviceId/:segment', {
    config: { access: 'public' },
    schema: { hide: true, params: Type.Object({ deviceId: Type.String({ format: 'uuid' }), segment: Type.String({ maxLength: 40 }) }), querystring: TokenQuery },
  }, async (req, reply) => {
    const { deviceId, segment } = req.params;
    checkMediaToken(mediaKey, req.query.token, deviceId, 'live');
    if (!/^seg-\d{1,12}\.ts$/.test(segment)) throw notFound('segment');
    const path = join(layout.liveDir(deviceId), segment);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw notFound('segment');
    sessions.touch(deviceId);
    return reply.header('content-type', 'video/mp2t').header('content-length', info.size).header('cache-control', 'private, max-age=60')
      .send(createReadStream(path));
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
 * People's live view (console): start or join the camera's session on the node
 * that holds it, mint a short-lived token bound to the user and the camera, and
 * write the audit row.
 */
export const streamUserRoutes = fp(async (app: App, opts: { gateway: GatewayClient; devices: DeviceService; audit: AuditLog; mediaKey: Buffer; streams: StreamRepository }) => {
  const { gateway, devices, audit, mediaKey, streams } = opts;

  app.get('/api/devices/:id/stream-events', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['live'], description: 'Session state changes with their reasons, newest first.', params: IdParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ at: DateTime, state: Type.String(), reason: Type.Union([Type.String(), Type.Null()]), mode: Type.Union([Type.String(), Type.Null()]), nodeId: Type.String() })) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    await devices.get(req.params.id);
    return { items: await streams.history(req.params.id, req.query.limit) };
  });

  app.post('/api/devices/:id/live', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['live'],
      description: 'Start (or join) live view: returns the HLS URL on the gateway with a short-lived token bound to you and this camera.',
      params: IdParams,
      body: Type.Object({ waitMs: Type.Integer({ minimum: 0, maximum: 15_000, default: 0 }) }),
      response: { 200: Type.Object({ url: Type.String(), expiresAt: DateTime, session: SessionSchema, playable: Type.Boolean() }), ...errors(400, 401, 403, 404, 502, 503) },
    },
  }, async (req) => {
    const device = await devices.get(req.params.id);
    if (!device.enabled) throw unavailable('this device is disabled');
    const node = await gateway.nodeFor(device.id);
    const result = await gateway.forDevice<{ session: Static<typeof SessionSchema>; playable: boolean }>(device.id, 'POST', `/internal/devices/${device.id}/session`, { viewer: true, waitMs: req.body.waitMs }, req.body.waitMs + 10_000);
    const { token, expiresAt } = mintMediaToken(mediaKey, { userId: req.principal!.userId!, deviceId: device.id, scope: 'live' });
    await audit.record({ actor: req.principal!, action: 'live.view', targetType: 'device', targetId: device.id, details: { name: device.name, node: node.id }, ip: req.ip, requestId: req.id });
    return { url: `${node.publicUrl}/media/live/${device.id}/index.m3u8?token=${encodeURIComponent(token)}`, expiresAt, session: result.session, playable: result.playable };
  });

  app.get('/api/devices/:id/stream', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['live'], description: 'The camera\'s stream session state (null when none runs).', params: IdParams, response: { 200: MaybeSession, ...errors(400, 401, 403, 404) } },
  }, async (req) => {
    await devices.get(req.params.id);
    try {
      return await gateway.forDevice<{ session: Static<typeof SessionSchema> | null }>(req.params.id, 'GET', `/internal/devices/${req.params.id}/session`);
    } catch {
      return { session: null };
    }
  });
}, { name: 'stream-user-routes', dependencies: ['identity-guard'] });
