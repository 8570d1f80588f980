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
import type { Device } from '../devices/types.ts';
import { streamKey, type StreamName } from './keys.ts';
import { initNumbers, withRunMaps } from './playlist-runs.ts';
import { hasSubStream } from './sources.ts';
import type { SessionInfo } from './types.ts';

/** One of a camera's streams as the registry knows it (ONVIF profiles). */
export interface StreamDescription {
  stream: StreamName;
  encoding: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  /** Keyframe interval in frames (ONVIF GovLength), when the camera says. */
  gop: number | null;
}

/** What a live view start returns to the person. */
export interface LiveTicket {
  /** HLS playlist of the stream on the gateway (the token in its path). */
  url: string;
  /** The low-latency WebSocket of the same stream (fMP4 fragments for Media Source Extensions). */
  wsUrl: string;
  expiresAt: Date;
  session: SessionInfo;
  playable: boolean;
  /** The camera's streams, for the player's choice (main where the browser decodes it, else sub). */
  streams: StreamDescription[];
}

/** The streams a player may choose from: main, and sub when the camera has one of its own. */
export function describeStreams(d: Pick<Device, 'kind' | 'profiles' | 'streams'>): StreamDescription[] {
  const of = (stream: StreamName, uri: string | null, index: number): StreamDescription => {
    const p = (uri ? d.profiles.find((x) => x.rtspUri === uri) : undefined) ?? d.profiles[index];
    return { stream, encoding: p?.encoding ?? null, width: p?.width ?? null, height: p?.height ?? null, fps: p?.fps ?? null, gop: p?.gop ?? null };
  };
  const out = [of('main', d.streams.main, 0)];
  if (hasSubStream({ kind: d.kind, rtspMain: d.streams.main, rtspSub: d.streams.sub })) out.push(of('sub', d.streams.sub, 1));
  return out;
}

/**
 * The stream served for what a player asked: a camera without a sub stream of its own shows its
 * main stream wherever a sub stream was asked for; the compat transcode only of a main stream
 * that is not H.264 (an H.264 main stream plays everywhere: transcoding it would only cost a core).
 */
export function chooseServedStream(described: readonly StreamDescription[], wanted: StreamName): StreamName {
  if (wanted === 'compat') return /^(h\.?264|avc)/i.test(described[0]?.encoding ?? '') ? 'main' : 'compat';
  return described.some((s) => s.stream === wanted) ? wanted : 'main';
}

/**
 * Live view for people (console process): find the node that holds the camera, start or
 * join the stream's session there, mint a token bound to the user and camera, audit the view,
 * and build the playlist and WebSocket URLs (the token is a path segment of the playlist, so its
 * relative segment URIs carry it without repeating it).
 */
export function createLiveService(deps: { gateway: GatewayClient; devices: DeviceService; audit: AuditLog; keys: MediaSigner; streams: StreamRepository }) {
  const { gateway, devices, audit, keys, streams } = deps;
  return {
    /** Session state changes with their reasons, newest first. */
    async history(deviceId: string, limit: number) {
      await devices.get(deviceId);
      return streams.history(deviceId, limit);
    },

    async start(actor: Principal, deviceId: string, waitMs: number, meta: { ip?: string; requestId?: string }, wanted: StreamName = 'main'): Promise<LiveTicket> {
      const device = await devices.get(deviceId);
      if (!device.enabled) throw unavailable('this device is disabled', { code: 'live.device_disabled' });
      const described = describeStreams(device);
      const stream = chooseServedStream(described, wanted);
      const node = await gateway.nodeFor(device.id);
      const result = await gateway.forDevice<{ session: SessionInfo; playable: boolean }>(device.id, 'POST', `/internal/devices/${device.id}/session`, { viewer: true, waitMs, stream }, waitMs + 10_000);
      const { token, expiresAt, kid } = await mintMediaToken(keys, { userId: actor.userId!, deviceId: device.id, scope: 'live' });
      await audit.record({ actor, action: 'live.view', targetType: 'device', targetId: device.id, details: { name: device.name, node: node.id, kid, stream }, ...meta });
      const base = `${node.publicUrl}${mediaPath('live', device.id, token)}`;
      const ws = new URL(`${node.publicUrl}/media/live/${device.id}/ws`);
      ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
      ws.searchParams.set('token', token);
      ws.searchParams.set('stream', stream);
      return {
        url: stream === 'main' ? base : base.replace(/index\.m3u8$/, `${stream}/index.m3u8`),
        wsUrl: ws.toString(), expiresAt, session: result.session, playable: result.playable, streams: described,
      };
    },

    /** The camera's session on the node that holds it; null when none runs or no node answers. */
    async session(deviceId: string, stream: StreamName = 'main'): Promise<{ session: SessionInfo | null }> {
      await devices.get(deviceId);
      try {
        return await gateway.forDevice<{ session: SessionInfo | null }>(deviceId, 'GET', `/internal/devices/${deviceId}/session${stream === 'main' ? '' : `?stream=${stream}`}`);
      } catch {
        return { session: null };
      }
    },
  };
}

export type LiveService = ReturnType<typeof createLiveService>;

/** What live media serving needs of the session manager (keys: gateway/streams/keys.ts). */
export interface LiveSessions {
  get(key: string): SessionInfo | null;
  touch(key: string): void;
}

/** Live file names as ffmpeg writes them (gateway/streams/ffmpeg.ts): MPEG-TS and fMP4 segments, fMP4 init segments. */
const LIVE_FILE = /^(seg-\d{1,12}\.(ts|m4s)|init-\d{1,12}\.mp4)$/;

const contentType = (name: string) => (name.endsWith('.ts') ? 'video/mp2t' : name.endsWith('.m4s') ? 'video/iso.segment' : 'video/mp4');

/**
 * Live HLS served to browsers (gateway process): the token (checked here, revocation
 * included) is the only credential. The playlist is served as ffmpeg wrote it, each fMP4 run
 * with its own init segment (playlist-runs.ts): its URIs are relative, so they resolve under the
 * token's path (`…/<token>/` for main, `…/<token>/sub/` for the sub stream).
 */
export function createLiveMediaService(deps: { sessions: LiveSessions; layout: MediaLayout; auth: MediaAuth }) {
  const { sessions, layout, auth } = deps;
  return {
    async playlist(deviceId: string, token: string, stream: StreamName = 'main'): Promise<string> {
      await auth.check(token, deviceId, 'live');
      const key = streamKey(deviceId, stream);
      if (!sessions.get(key)) throw notFound('live session');
      sessions.touch(key);
      let text: string;
      try {
        text = await readFile(layout.livePlaylist(key), 'utf8');
      } catch {
        throw notFound('live playlist', { code: 'live.playlist_starting' });
      }
      return text.includes('#EXT-X-MAP:') ? withRunMaps(text, await initNumbers(layout.liveDir(key))) : text;
    },

    async segment(deviceId: string, token: string, name: string, stream: StreamName = 'main'): Promise<{ stream: ReadStream; bytes: number; type: string }> {
      await auth.check(token, deviceId, 'live');
      if (!LIVE_FILE.test(name)) throw notFound('segment');
      const key = streamKey(deviceId, stream);
      const path = join(layout.liveDir(key), name);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) throw notFound('segment');
      sessions.touch(key);
      return { stream: createReadStream(path), bytes: info.size, type: contentType(name) };
    },
  };
}

export type LiveMediaService = ReturnType<typeof createLiveMediaService>;
