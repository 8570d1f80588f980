import { HttpError, unprocessable } from '../../core/http/errors.ts';
import type { FailureKind } from '../streams/decide.ts';

/**
 * The frame service's decisions as pure functions of plain values: where a picture may come
 * from, which live segment is the newest, how the time is shared out, and what a failure
 * answers. Tested with tables (tests/unit/snapshots.test.ts).
 */

export type FrameSource = 'session' | 'onvif' | 'rtsp';

/** Why one way of getting a picture failed: the stream failure kinds, and the frame service's own. */
export interface Attempt {
  source: FrameSource;
  kind: FailureKind | 'no-uri' | 'no-frame';
  reason: string;
}

/**
 * Where to look, in order. A camera allows few RTSP sessions: while its session runs the picture
 * comes from the session (or, failing that, the camera's HTTP snapshot URI, which takes no RTSP
 * slot), never from a second RTSP connection. Without a session: the snapshot URI, then a short
 * RTSP grab. `onvif` stands for a stored snapshot URI or one the camera reports when asked.
 */
export function frameSources(c: { session: boolean; snapshotUri: boolean; onvif: boolean; rtsp: boolean }): FrameSource[] {
  const out: FrameSource[] = [];
  if (c.session) out.push('session');
  if (c.snapshotUri || c.onvif) out.push('onvif');
  if (!c.session && c.rtsp) out.push('rtsp');
  return out;
}

/** A live HLS segment as ffmpeg names it (gateway/streams/ffmpeg.ts): MPEG-TS (H.264) or fMP4 (H.265). */
export const LIVE_SEGMENT = /^seg-\d{1,12}\.(ts|m4s)$/;

/** The init segment an fMP4 playlist names (the current run's: ffmpeg writes one EXT-X-MAP, at the top); null for MPEG-TS. */
export function liveInitSegment(playlist: string): string | null {
  const m = /^#EXT-X-MAP:URI="(init-\d{1,12}\.mp4)"\s*$/m.exec(playlist);
  return m ? m[1]! : null;
}

/**
 * The newest segment a live playlist lists (ffmpeg lists a segment only once it is complete:
 * `temp_file`), with the wall-clock time of its first frame from EXT-X-PROGRAM-DATE-TIME
 * (carried forward by the durations when a tag is missing); null when none is listed.
 */
export function newestLiveSegment(playlist: string): { name: string; startsAt: number | null; seconds: number } | null {
  let at: number | null = null;
  let seconds = 0;
  let found: { name: string; startsAt: number | null; seconds: number } | null = null;
  for (const raw of playlist.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      const t = Date.parse(line.slice(25));
      at = Number.isFinite(t) ? t : null;
    } else if (line.startsWith('#EXTINF:')) {
      const s = Number.parseFloat(line.slice(8));
      seconds = Number.isFinite(s) && s > 0 ? s : 0;
    } else if (line && !line.startsWith('#')) {
      if (LIVE_SEGMENT.test(line)) found = { name: line, startsAt: at, seconds };
      at = at === null ? null : at + seconds * 1000;
      seconds = 0;
    }
  }
  return found;
}

/** A live segment older than this is not "the newest keyframe" of a running camera any more. */
export const FRESH_SEGMENT_MS = 10_000;

/**
 * The time one source may take of what is left: the snapshot URI gets 60% when an RTSP grab
 * still follows (a camera that does not answer HTTP in time rarely answers RTSP, but one that
 * refuses HTTP quickly often streams fine), everything otherwise.
 */
export function budgetFor(source: FrameSource, remainingMs: number, next: FrameSource | undefined): number {
  if (source === 'onvif' && next === 'rtsp') return Math.floor(remainingMs * 0.6);
  return remainingMs;
}

const NOT_OPENED: Attempt['kind'][] = ['url', 'no-uri', 'protocol'];

/**
 * What the request answers when no source gave a picture: no source at all, or only refused
 * URIs → 422 snapshot.no_source; the camera refused its stored credentials (and nothing ran out
 * of time) → 422 snapshot.camera_auth_failed; time ran out → 504, anything else → 502, both
 * snapshot.camera_unreachable. The reason names each source's failure (never a URI or a secret).
 */
export function frameFailure(attempts: readonly Attempt[], timedOut: boolean, seconds: number): HttpError {
  const reason = attempts.map((a) => `${a.source}: ${a.reason}`).join('; ').slice(0, 300) || 'no source';
  if (attempts.length === 0 || attempts.every((a) => NOT_OPENED.includes(a.kind))) {
    return unprocessable(`this camera has no usable stream or snapshot URL (${reason})`, { code: 'snapshot.no_source', params: { reason } });
  }
  if (!timedOut && attempts.some((a) => a.kind === 'auth')) {
    return unprocessable(`the camera refused its stored credentials (${reason})`, { code: 'snapshot.camera_auth_failed', params: { reason } });
  }
  if (timedOut) {
    return new HttpError(504, 'gateway_timeout', `the camera gave no picture within ${seconds} s (${reason})`, { code: 'snapshot.camera_unreachable', params: { reason, seconds } });
  }
  return new HttpError(502, 'bad_gateway', `the camera gave no picture (${reason})`, { code: 'snapshot.camera_unreachable', params: { reason, seconds } });
}
