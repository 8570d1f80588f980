import { createReadStream, type ReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { AuditLog } from '../../core/audit/types.ts';
import type { MediaClaims } from '../../core/crypto.ts';
import { badRequest, forbidden, notFound } from '../../core/http/errors.ts';
import type { Principal } from '../../core/identity/types.ts';
import { profileEncodings, type DeviceService } from '../devices/service.ts';
import { videoCodecOf, type VideoCodec } from '../streams/decide.ts';
import type { MediaLayout } from '../streams/layout.ts';
import { mediaPath, mintMediaToken, type MediaAuth, type MediaSigner } from '../streams/media-auth.ts';
import { vodPlaylist, type PlaylistSegment } from './playlist.ts';
import type { RecordingRepository } from './repository.ts';
import { dayAllowed, dayBounds, dayTimeline, instantAllowed, localDay, TIMELINE_TOLERANCE_MS } from './timeline.ts';
import type { DayTimeline } from './types.ts';

/** The longest footage range one request (and one token) may cover. */
export const MAX_FOOTAGE_MS = 24 * 60 * 60 * 1000;

export interface TimeWindow { from: Date; to: Date }

/** Footage rules: timelines, the ranges people may ask for, VOD playlists and the files behind them. */
export function createRecordingService({ repo }: { repo: RecordingRepository }) {
  return {
    /** A camera's day in the site's zone; `day` defaults to today there (computed per call). */
    async timeline(deviceId: string, day: string | undefined, timezone: string, now = new Date()): Promise<DayTimeline> {
      const d = day ?? localDay(timezone, now);
      if (!dayAllowed(d, now.getTime())) {
        throw badRequest('day must be a calendar date written YYYY-MM-DD, from 1970 to two years ahead', { field: 'day', code: 'footage.day_invalid', params: { field: 'day' } });
      }
      const { from, to } = dayBounds(d, timezone);
      const spans = await repo.coverage(deviceId, from, to, TIMELINE_TOLERANCE_MS);
      return dayTimeline(spans, { day: d, timezone, now });
    },

    /** A footage range as asked for: from before to, at most 24 hours, not starting in the future. */
    footageWindow(from: string, to: string, now = new Date()): TimeWindow {
      const f = new Date(from);
      const t = new Date(to);
      const invalid = (field: 'from' | 'to') => badRequest(`${field} must be a date-time from 1970 to two years ahead`, { field, code: 'footage.time_invalid', params: { field } });
      if (!instantAllowed(f.getTime(), now.getTime())) throw invalid('from');
      if (!instantAllowed(t.getTime(), now.getTime())) throw invalid('to');
      if (f.getTime() > now.getTime()) throw badRequest('from lies in the future', { field: 'from', code: 'footage.from_future', params: { field: 'from' } });
      if (t.getTime() <= f.getTime()) throw badRequest('to must be after from', { field: 'to', code: 'footage.range_backwards', params: { field: 'to' } });
      if (t.getTime() - f.getTime() > MAX_FOOTAGE_MS) throw badRequest('a footage range spans 24 hours at most', { field: 'to', code: 'footage.range_too_long', params: { field: 'to', hours: 24 } });
      return { from: f, to: t };
    },

    countSegments: (deviceId: string, window: TimeWindow) => repo.countInRange(deviceId, window.from, window.to),

    /** The range a VOD token grants: its `from`/`to` claims, never the request's query. */
    tokenWindow(claims: MediaClaims): TimeWindow {
      const from = typeof claims.from === 'string' ? new Date(claims.from) : null;
      const to = typeof claims.to === 'string' ? new Date(claims.to) : null;
      if (!from || !to || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) {
        throw forbidden('the media token grants no footage range', { code: 'media.token_no_range' });
      }
      return { from, to };
    },

    /** The VOD playlist of a camera over a window; gaps after `now` are not listed. */
    async playlist(deviceId: string, window: TimeWindow, urls: { segment: (s: PlaylistSegment) => string; gap: string }, now = new Date()): Promise<string> {
      const segments = await repo.playlistSegments(deviceId, window.from, window.to);
      return vodPlaylist(segments, { from: window.from, to: window.to, now, segmentUrl: urls.segment, gapUrl: urls.gap });
    },

    /**
     * The file of one segment, only if it is this camera's, inside the window, and
     * (symlinks resolved) under the media root. The path comes from the index, never
     * from the request.
     */
    async segmentFile(deviceId: string, segmentId: number, window: TimeWindow, mediaRoot: string): Promise<{ path: string; bytes: number }> {
      const segment = await repo.segmentById(deviceId, segmentId);
      if (!segment) throw notFound('segment');
      if (segment.startsAt >= window.to || segment.endsAt <= window.from) throw forbidden('the segment lies outside the footage range of the token', { code: 'footage.segment_outside_range' });
      const root = await realpath(mediaRoot).catch(() => null);
      if (!root) throw notFound('segment file');
      const path = await realpath(resolve(root, segment.path)).catch(() => null);
      if (!path || !path.startsWith(root + sep)) throw notFound('segment file');
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) throw notFound('segment file');
      return { path, bytes: info.size };
    },
  };
}

export type RecordingService = ReturnType<typeof createRecordingService>;

/** What playing footage returns to the person. */
/**
 * `codec`: what the footage was recorded in — the main stream's, copied as the camera sends it (h264, hevc);
 * null when the registry does not know. A browser that cannot decode it is told so rather than shown an error.
 */
export interface FootageTicket { url: string; expiresAt: Date; segments: number; codec: VideoCodec | null }

/**
 * Footage for people (console process): a camera's day timeline, and footage playback:
 * check the range, find the node that serves the camera, mint a VOD token bound to the
 * user, the camera and the range, audit the view (with the reason given) and build the
 * playlist URL with the token as a path segment.
 */
export function createFootageService(deps: {
  recordings: RecordingService; devices: DeviceService; audit: AuditLog; keys: MediaSigner;
  /** Base URL (no trailing slash) of the gateway node that serves this camera's recordings. */
  gatewayPublicUrl: (deviceId: string) => Promise<string>;
  timezone: string;
}) {
  const { recordings, devices, audit, keys, gatewayPublicUrl, timezone } = deps;
  return {
    async timeline(deviceId: string, day: string | undefined): Promise<DayTimeline> {
      await devices.get(deviceId);
      return recordings.timeline(deviceId, day, timezone);
    },

    /**
     * `incidentId`: the footage is watched for an incident (the web app also sends reason
     * `incident:<number>`); the audit row names it in details.incidentId, so an incident's
     * viewings can be found by id.
     */
    async open(actor: Principal, deviceId: string, range: { from: string; to: string; reason?: string; incidentId?: string }, meta: { ip?: string; requestId?: string }): Promise<FootageTicket> {
      const device = await devices.get(deviceId);
      const window = recordings.footageWindow(range.from, range.to);
      const segments = await recordings.countSegments(device.id, window);
      const from = window.from.toISOString();
      const to = window.to.toISOString();
      const base = await gatewayPublicUrl(device.id);
      const { token, expiresAt, kid } = await mintMediaToken(keys, { userId: actor.userId!, deviceId: device.id, scope: 'vod', from, to });
      await audit.record({
        actor, action: 'footage.view', targetType: 'device', targetId: device.id, reason: range.reason,
        details: { name: device.name, from, to, segments, kid, ...(range.incidentId ? { incidentId: range.incidentId } : {}) }, ...meta,
      });
      const codec = videoCodecOf(profileEncodings(device).encoding);
      return { url: `${base}${mediaPath('vod', device.id, token)}`, expiresAt, segments, codec };
    },
  };
}

export type FootageService = ReturnType<typeof createFootageService>;

/** From a VOD playlist at /media/vod/<device>/<token>/index.m3u8: segments below it, the gap placeholder two levels up. */
export const VOD_SEGMENT_URL = (s: PlaylistSegment) => `seg/${s.id}.ts`;
export const VOD_GAP_URL = '../../gap.ts';

/**
 * Footage served to browsers (gateway process): the VOD token (checked here, revocation
 * included) names the camera and the range; the playlist's segment URIs are relative,
 * so the token in the path covers them without being repeated on each.
 */
export function createVodService(deps: { recordings: RecordingService; auth: MediaAuth; layout: MediaLayout }) {
  const { recordings, auth, layout } = deps;
  return {
    async playlist(deviceId: string, token: string): Promise<string> {
      const claims = await auth.check(token, deviceId, 'vod');
      return recordings.playlist(deviceId, recordings.tokenWindow(claims), { segment: VOD_SEGMENT_URL, gap: VOD_GAP_URL });
    },

    async segment(deviceId: string, token: string, segmentId: number): Promise<{ stream: ReadStream; bytes: number }> {
      const claims = await auth.check(token, deviceId, 'vod');
      const file = await recordings.segmentFile(deviceId, segmentId, recordings.tokenWindow(claims), layout.root);
      return { stream: createReadStream(file.path), bytes: file.bytes };
    },
  };
}

export type VodService = ReturnType<typeof createVodService>;
