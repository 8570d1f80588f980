import { createReadStream } from 'node:fs';
import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, StringEnum } from '../../core/http/schemas.ts';
import type { AuditLog } from '../../core/audit/types.ts';
import { STAFF } from '../../core/identity/types.ts';
import type { DeviceService } from '../devices/service.ts';
import type { MediaLayout } from '../streams/layout.ts';
import { checkMediaToken, mintMediaToken } from '../streams/media-auth.ts';
import type { RecordingService } from './service.ts';

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
});
const Footage = Type.Object({ url: Type.String(), expiresAt: DateTime, segments: Type.Integer() });

export interface RecordingUserRoutesOptions {
  recordings: RecordingService;
  devices: DeviceService;
  audit: AuditLog;
  keys: { media: Buffer };
  /** Base URL (no trailing slash) of the gateway node that serves this camera's recordings. */
  gatewayPublicUrl: (deviceId: string) => Promise<string>;
  timezone: string;
}

/** People's footage API (console process): a camera's day timeline, and footage playback URLs (audited). */
export const recordingUserRoutes = fp(async (app: App, opts: RecordingUserRoutesOptions) => {
  const { recordings, devices, audit, keys, gatewayPublicUrl, timezone } = opts;

  app.get('/api/devices/:id/timeline', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['footage'],
      description: 'Where footage exists and where it is missing over one day in the site\'s time zone (today by default).',
      params: IdParams,
      querystring: Type.Object({ day: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })) }),
      response: { 200: Timeline, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    await devices.get(req.params.id);
    return recordings.timeline(req.params.id, req.query.day, timezone);
  });

  app.post('/api/devices/:id/footage', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['footage'],
      description: 'Play footage of a camera over a range (24 hours at most): returns a VOD playlist URL on the gateway with a token bound to you, this camera and this range. Audited.',
      params: IdParams, body: FootageBody,
      response: { 200: Footage, ...errors(400, 401, 403, 404, 502, 503) },
    },
  }, async (req) => {
    const device = await devices.get(req.params.id);
    const window = recordings.footageWindow(req.body.from, req.body.to);
    const segments = await recordings.countSegments(device.id, window);
    const from = window.from.toISOString();
    const to = window.to.toISOString();
    const base = await gatewayPublicUrl(device.id);
    const { token, expiresAt } = mintMediaToken(keys.media, { userId: req.principal!.userId!, deviceId: device.id, scope: 'vod', from, to });
    await audit.record({
      actor: req.principal!, action: 'footage.view', targetType: 'device', targetId: device.id, reason: req.body.reason,
      details: { name: device.name, from, to, segments }, ip: req.ip, requestId: req.id,
    });
    const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&token=${encodeURIComponent(token)}`;
    return { url: `${base}/media/vod/${device.id}/index.m3u8?${query}`, expiresAt, segments };
  });
}, { name: 'recording-user-routes', dependencies: ['identity-guard'] });

const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const TokenQuery = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 4096 })),
  // Informational only: the range served is the token's.
  from: Type.Optional(Type.String({ maxLength: 40 })),
  to: Type.Optional(Type.String({ maxLength: 40 })),
});
/** One MPEG-TS null packet: what an EXT-X-GAP URI answers, should a client fetch it. */
const NULL_PACKET = Buffer.concat([Buffer.from([0x47, 0x1f, 0xff, 0x10]), Buffer.alloc(184, 0xff)]);

export interface RecordingMediaRoutesOptions {
  recordings: RecordingService;
  keys: { media: Buffer };
  layout: MediaLayout;
}

/**
 * Footage served to browsers (gateway process). The signed VOD token in the URL is
 * the only credential: it names the camera and the range, and every segment URI of
 * the playlist carries it. Files are found by segment id in the index, never by a
 * path taken from the request.
 */
export const recordingMediaRoutes = fp(async (app: App, opts: RecordingMediaRoutesOptions) => {
  const { recordings, keys, layout } = opts;
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/media/vod/')) reply.header('access-control-allow-origin', '*');
  });

  app.get('/media/vod/gap.ts', {
    config: { access: 'public' },
    schema: { hide: true },
  }, async (_req, reply) => reply.header('content-type', 'video/mp2t').header('cache-control', 'public, max-age=86400').send(NULL_PACKET));

  app.get('/media/vod/:deviceId/index.m3u8', {
    config: { access: 'public' },
    schema: { hide: true, params: DeviceParams, querystring: TokenQuery },
  }, async (req, reply) => {
    const { deviceId } = req.params;
    const claims = checkMediaToken(keys.media, req.query.token, deviceId, 'vod');
    const window = recordings.tokenWindow(claims);
    const token = encodeURIComponent(req.query.token!);
    const text = await recordings.playlist(deviceId, window, { segment: (s) => `seg/${s.id}.ts?token=${token}`, gap: '../gap.ts' });
    return reply.header('content-type', 'application/vnd.apple.mpegurl').header('cache-control', 'no-store').send(text);
  });

  app.get('/media/vod/:deviceId/seg/:segmentId(^\\d{1,15}).ts', {
    config: { access: 'public' },
    schema: {
      hide: true,
      params: Type.Object({ deviceId: Type.String({ format: 'uuid' }), segmentId: Type.String({ pattern: '^[0-9]{1,15}$' }) }),
      querystring: TokenQuery,
    },
  }, async (req, reply) => {
    const { deviceId, segmentId } = req.params;
    const claims = checkMediaToken(keys.media, req.query.token, deviceId, 'vod');
    const file = await recordings.segmentFile(deviceId, Number(segmentId), recordings.tokenWindow(claims), layout.root);
    return reply.header('content-type', 'video/mp2t').header('content-length', file.bytes).header('cache-control', 'private, max-age=600')
      .send(createReadStream(file.path));
  });
}, { name: 'recording-media-routes', dependencies: ['identity-guard'] });
