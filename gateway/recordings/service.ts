import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { MediaClaims } from '../../core/crypto.ts';
import { badRequest, forbidden, notFound } from '../../core/http/errors.ts';
import { vodPlaylist, type PlaylistSegment } from './playlist.ts';
import type { RecordingRepository } from './repository.ts';
import { dayBounds, dayTimeline, isDay, localDay, TIMELINE_TOLERANCE_MS } from './timeline.ts';
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
      if (!isDay(d)) throw badRequest('day must be a calendar date written YYYY-MM-DD', 'day');
      const { from, to } = dayBounds(d, timezone);
      const spans = await repo.coverage(deviceId, from, to, TIMELINE_TOLERANCE_MS);
      return dayTimeline(spans, { day: d, timezone, now });
    },

    /** A footage range as asked for: from before to, at most 24 hours, not starting in the future. */
    footageWindow(from: string, to: string, now = new Date()): TimeWindow {
      const f = new Date(from);
      const t = new Date(to);
      if (Number.isNaN(f.getTime())) throw badRequest('from must be a date-time', 'from');
      if (Number.isNaN(t.getTime())) throw badRequest('to must be a date-time', 'to');
      if (f.getTime() > now.getTime()) throw badRequest('from lies in the future', 'from');
      if (t.getTime() <= f.getTime()) throw badRequest('to must be after from', 'to');
      if (t.getTime() - f.getTime() > MAX_FOOTAGE_MS) throw badRequest('a footage range spans 24 hours at most', 'to');
      return { from: f, to: t };
    },

    countSegments: (deviceId: string, window: TimeWindow) => repo.countInRange(deviceId, window.from, window.to),

    /** The range a VOD token grants: its `from`/`to` claims, never the request's query. */
    tokenWindow(claims: MediaClaims): TimeWindow {
      const from = typeof claims.from === 'string' ? new Date(claims.from) : null;
      const to = typeof claims.to === 'string' ? new Date(claims.to) : null;
      if (!from || !to || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) {
        throw forbidden('the media token grants no footage range');
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
      if (segment.startsAt >= window.to || segment.endsAt <= window.from) throw forbidden('the segment lies outside the footage range of the token');
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
