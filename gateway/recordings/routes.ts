import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, StringEnum } from '../../core/http/schemas.ts';
import { STAFF } from '../../core/identity/types.ts';
import { MediaToken } from '../streams/media-auth.ts';
import type { FootageService, VodService } from './service.ts';

const Timeline = Type.Object({
  day: Type.String(),
  timezone: Type.String(),
  from: DateTime,
  to: DateTime,
  ranges: Type.Array(Type.Object({ from: DateTime, to: DateTime, kind: StringEnum(['footage', 'missing'] as const) })),
});
const FootageBody = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
  incidentId: Type.Optional(Type.String({ format: 'uuid', description: 'The incident the footage is watched for: recorded in the audit row (details.incidentId)' })),
});
const Footage = Type.Object({
  url: Type.String(), expiresAt: DateTime, segments: Type.Integer(),
  codec: Type.Union([StringEnum(['h264', 'hevc'] as const), Type.Null()], { description: 'What the footage was recorded in (the main stream, copied as the camera sends it); null when unknown' }),
});

/** People's footage API (console process): a camera's day timeline, and footage playback URLs (audited). */
export const recordingUserRoutes = fp(async (app: App, opts: { footage: FootageService }) => {
  const { footage } = opts;

  app.get('/api/devices/:id/timeline', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['footage'], summary: 'Footage timeline of a day',
      description: 'Where footage exists and where it is missing over one day in the site\'s time zone (today by default).',
      params: IdParams,
      querystring: Type.Object({ day: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })) }),
      response: { 200: Timeline, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => footage.timeline(req.params.id, req.query.day));

  app.post('/api/devices/:id/footage', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['footage'], summary: 'Play footage',
      description: 'Play footage of a camera over a range (24 hours at most): returns a VOD playlist URL on the gateway with a token bound to you, this camera and this range in its path. Audited.',
      params: IdParams, body: FootageBody,
      response: { 200: Footage, ...errors(400, 401, 403, 404, 502, 503) },
    },
  }, async (req) => footage.open(req.principal!, req.params.id, req.body, { ip: req.ip, requestId: req.id }));
}, { name: 'recording-user-routes', dependencies: ['identity-guard'] });

const TokenParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }), token: MediaToken });
/** One MPEG-TS null packet: what an EXT-X-GAP URI answers, should a client fetch it. */
const NULL_PACKET = Buffer.concat([Buffer.from([0x47, 0x1f, 0xff, 0x10]), Buffer.alloc(184, 0xff)]);

/**
 * Footage served to browsers (gateway process): `/media/vod/<device>/<token>/index.m3u8`
 * with segments at `seg/<id>.ts` below it. The signed VOD token in the path is the only
 * credential: it names the camera and the range. Files are found by segment id in the
 * index, never by a path taken from the request.
 */
export const recordingMediaRoutes = fp(async (app: App, opts: { vod: VodService }) => {
  const { vod } = opts;
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/media/vod/')) reply.header('access-control-allow-origin', '*');
  });

  app.get('/media/vod/gap.ts', {
    config: { access: 'public' },
    schema: { hide: true },
  }, async (_req, reply) => reply.header('content-type', 'video/mp2t').header('cache-control', 'public, max-age=86400').send(NULL_PACKET));

  app.get('/media/vod/:deviceId/:token/index.m3u8', {
    config: { access: 'public' },
    schema: { hide: true, params: TokenParams },
  }, async (req, reply) => {
    const text = await vod.playlist(req.params.deviceId, req.params.token);
    return reply.header('content-type', 'application/vnd.apple.mpegurl').header('cache-control', 'no-store').send(text);
  });

  app.get('/media/vod/:deviceId/:token/seg/:segmentId(^\\d{1,15}).ts', {
    config: { access: 'public' },
    schema: {
      hide: true,
      params: Type.Object({ deviceId: Type.String({ format: 'uuid' }), token: MediaToken, segmentId: Type.String({ pattern: '^[0-9]{1,15}$' }) }),
    },
  }, async (req, reply) => {
    const { stream, bytes } = await vod.segment(req.params.deviceId, req.params.token, Number(req.params.segmentId));
    return reply.header('content-type', 'video/mp2t').header('content-length', bytes).header('cache-control', 'private, max-age=600').send(stream);
  });
}, { name: 'recording-media-routes', dependencies: ['identity-guard'] });
