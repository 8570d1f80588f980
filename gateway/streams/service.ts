import { createReadStream, type ReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditLog } from '../../core/audit/types.ts';
import { notFound, unavailable } from '../../core/http/errors.ts';
import type { Principal } from '../../core/identity/types.ts';
import type { DeviceService } from '../devices/service.ts';
import type { GatewayClient } from '../nodes/client.ts';
import type { MediaLayout } from './layout.ts';
import { mediaPath, mintMediaToken, type MediaAuth, type MediaSigner } from './media-auth.ts';
import type { StreamRepository } from './repository.ts';
import type { SessionInfo } from './types.ts';

/** What a live view start returns to the person. */
export interface LiveTicket { url: string; expiresAt: Date; session: SessionInfo; playable: boolean }

/**
 * Live view for people (console process): find the node that holds the camera, start or
 * join its session there, mint a token bound to the user and camera, audit the view,
 * and build the playlist URL (the token is a path segment, so the playlist's relative
 * segment URIs carry it without repeating it).
 */
export function createLiveService(deps: { gateway: GatewayClient; devices: DeviceService; audit: AuditLog; keys: MediaSigner; streams: StreamRepository }) {
  const { gateway, devices, audit, keys, streams } = deps;
  return {
    /** Session state changes with their reasons, newest first. */
    async history(deviceId: string, limit: number) {
      await devices.get(deviceId);
      return streams.history(deviceId, limit);
    },

    async start(actor: Principal, deviceId: string, waitMs: number, meta: { ip?: string; requestId?: string }): Promise<LiveTicket> {
      const device = await devices.get(deviceId);
      if (!device.enabled) throw unavailable('this device is disabled', { code: 'live.device_disabled' });
      const node = await gateway.nodeFor(device.id);
      const result = await gateway.forDevice<{ session: SessionInfo; playable: boolean }>(device.id, 'POST', `/internal/devices/${device.id}/session`, { viewer: true, waitMs }, waitMs + 10_000);
      const { token, expiresAt, kid } = await mintMediaToken(keys, { userId: actor.userId!, deviceId: device.id, scope: 'live' });
      await audit.record({ actor, action: 'live.view', targetType: 'device', targetId: device.id, details: { name: device.name, node: node.id, kid }, ...meta });
      return { url: `${node.publicUrl}${mediaPath('live', device.id, token)}`, expiresAt, session: result.session, playable: result.playable };
    },

    /** The camera's session on the node that holds it; null when none runs or no node answers. */
    async session(deviceId: string): Promise<{ session: SessionInfo | null }> {
      await devices.get(deviceId);
      try {
        return await gateway.forDevice<{ session: SessionInfo | null }>(deviceId, 'GET', `/internal/devices/${deviceId}/session`);
      } catch {
        return { session: null };
      }
    },
  };
}

export type LiveService = ReturnType<typeof createLiveService>;

/** What live media serving needs of the session manager. */
export interface LiveSessions {
  get(deviceId: string): SessionInfo | null;
  touch(deviceId: string): void;
}

/** Live segment names as ffmpeg writes them (gateway/streams/ffmpeg.ts). */
const LIVE_SEGMENT = /^seg-\d{1,12}\.ts$/;

/**
 * Live HLS served to browsers (gateway process): the token (checked here, revocation
 * included) is the only credential. The playlist is served as ffmpeg wrote it: its
 * segment URIs are relative, so they resolve under the token's path.
 */
export function createLiveMediaService(deps: { sessions: LiveSessions; layout: MediaLayout; auth: MediaAuth }) {
  const { sessions, layout, auth } = deps;
  return {
    async playlist(deviceId: string, token: string): Promise<string> {
      await auth.check(token, deviceId, 'live');
      if (!sessions.get(deviceId)) throw notFound('live session');
      sessions.touch(deviceId);
      try {
        return await readFile(layout.livePlaylist(deviceId), 'utf8');
      } catch {
        throw notFound('live playlist', { code: 'live.playlist_starting' });
      }
    },

    async segment(deviceId: string, token: string, name: string): Promise<{ stream: ReadStream; bytes: number }> {
      await auth.check(token, deviceId, 'live');
      if (!LIVE_SEGMENT.test(name)) throw notFound('segment');
      const path = join(layout.liveDir(deviceId), name);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) throw notFound('segment');
      sessions.touch(deviceId);
      return { stream: createReadStream(path), bytes: info.size };
    },
  };
}

export type LiveMediaService = ReturnType<typeof createLiveMediaService>;
