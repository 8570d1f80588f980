import type { SessionState } from './types.ts';

/**
 * The supervisor's decisions as pure functions of plain values: when to retry, when a running
 * session is stale, what an ffmpeg failure means, and when the disk is too full to run.
 */

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;
/** A session live this long has its back-off reset. */
export const BACKOFF_RESET_MS = 60_000;
/** After this many failures in a row (never live in between) the state says failed, not reconnecting. */
export const FAILED_AFTER = 5;

/** Delay before retry number `failures` (1-based): 1 s, 2 s, 4 s, … capped at 30 s. */
export function backoffDelayMs(failures: number, baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/** Whether a session that went live at `liveSince` has been live long enough to forget its failures. */
export function shouldResetBackoff(now: number, liveSince: number | null): boolean {
  return liveSince !== null && now - liveSince >= BACKOFF_RESET_MS;
}

/** How long without a new live segment makes a running session stale: max(6 s, 4 × hlsTime). */
export function staleAfterMs(hlsTimeS: number): number {
  return Math.max(6000, 4 * hlsTimeS * 1000);
}

/** Extra time a starting session gets for its first segment (connect, probe, first keyframe). */
export const START_GRACE_MS = 10_000;

/**
 * Milliseconds without a segment when the session is stale, else null. Before the first segment
 * the clock runs from the spawn and the limit includes the start grace.
 */
export function staleFor(o: { now: number; spawnedAt: number; lastSegmentMs: number | null; staleAfterMs: number; startGraceMs?: number }): number | null {
  const since = o.lastSegmentMs !== null && o.lastSegmentMs > o.spawnedAt ? o.lastSegmentMs : o.spawnedAt;
  const limit = o.lastSegmentMs !== null && o.lastSegmentMs > o.spawnedAt ? o.staleAfterMs : o.staleAfterMs + (o.startGraceMs ?? START_GRACE_MS);
  const silent = o.now - since;
  return silent > limit ? silent : null;
}

export type FailureKind =
  | 'auth' | 'refused' | 'timeout' | 'unreachable' | 'not-found' | 'invalid-data' | 'codec'
  | 'disk' | 'lost' | 'protocol' | 'stale' | 'exit' | 'spawn' | 'url' | 'limit';

export interface Failure {
  kind: FailureKind;
  reason: string;
}

/** stderr patterns, most specific first. */
const PATTERNS: [RegExp, FailureKind, string][] = [
  [/No space left on device/i, 'disk', 'no space left on device'],
  [/Server returned 401|\b401 Unauthorized|authori[sz]ation failed/i, 'auth', 'authentication refused by camera'],
  [/Server returned 403|\b403 Forbidden/i, 'auth', 'access forbidden by camera (403)'],
  [/Server returned 404|\b404 Not Found/i, 'not-found', 'stream not found on camera (404)'],
  [/Protocol not on whitelist|Protocol not found/i, 'protocol', 'protocol not allowed for this URL'],
  [/Connection refused/i, 'refused', 'connection refused'],
  [/timed out|Operation timed out/i, 'timeout', 'connection timed out'],
  [/No route to host|Network is unreachable|Host is unreachable|Name or service not known|Temporary failure in name resolution|Cannot assign requested address/i, 'unreachable', 'camera unreachable'],
  [/Connection reset by peer|Broken pipe|End of file/i, 'lost', 'connection to camera lost'],
  [/Invalid data found when processing input|Invalid data|could not find codec parameters/i, 'invalid-data', 'invalid data from camera'],
];

/**
 * What an ffmpeg exit means, from its stderr tail (newest lines decide) and exit status. The reason
 * is short and stable (the console shows it, events group by it); the tail goes with it separately.
 */
export function classifyFailure(lines: readonly string[], exit: { code: number | null; signal: string | null; error?: string | null }): Failure {
  if (exit.error) return { kind: 'spawn', reason: `ffmpeg could not start: ${exit.error}` };
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    for (const [re, kind, reason] of PATTERNS) if (re.test(line)) return { kind, reason };
  }
  if (exit.signal) return { kind: 'exit', reason: `ffmpeg killed by ${exit.signal}` };
  if (exit.code === 0) return { kind: 'lost', reason: 'stream ended' };
  return { kind: 'exit', reason: `ffmpeg exited with code ${exit.code}` };
}

/** The state a failure leaves the session in (it is retried in both, with back-off). */
export function failureState(f: Failure, failuresInARow: number): SessionState {
  if (f.kind === 'disk') return 'degraded';
  if (f.kind === 'auth' || f.kind === 'url' || f.kind === 'protocol') return 'failed';
  return failuresInARow >= FAILED_AFTER ? 'failed' : 'reconnecting';
}

/** Whether to try again: always, unless someone stopped it or the URL itself is refused (until the registry changes). */
export function shouldRestart(o: { stopRequested: boolean; failure: Failure | null }): boolean {
  if (o.stopRequested) return false;
  return o.failure?.kind !== 'url';
}

/**
 * The input video codec from ffmpeg's stream dump ("Stream #0:0: Video: hevc (Main), …"). ffmpeg
 * prints the input dump before the output's, so the first match of a run is the camera's codec.
 */
export function inputVideoCodec(line: string): string | null {
  const m = /^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Video: ([A-Za-z0-9_]+)/.exec(line);
  return m ? m[1]!.toLowerCase() : null;
}

/** The codecs the gateway copies as they come: browsers decode H.264 everywhere, H.265 where the hardware can. */
export type VideoCodec = 'h264' | 'hevc';

/** What one ffmpeg run does with the camera's video: copy it in its own codec, or transcode to H.264. */
export interface VideoPlan {
  mode: 'copy' | 'transcode';
  /** The codec the outputs carry (copy: the camera's; transcode: h264). */
  codec: VideoCodec;
}

/** The registry's encoding name (ONVIF `H264`, `H265`, ffmpeg `hevc` …) as one of ours; null for anything else. */
export function videoCodecOf(encoding: string | null | undefined): VideoCodec | null {
  const e = (encoding ?? '').trim().toLowerCase();
  if (/^(h\.?264|avc1?)$/.test(e)) return 'h264';
  if (/^(h\.?265|hevc|hvc1|hev1)$/.test(e)) return 'hevc';
  return null;
}

/**
 * The first run's plan from what the registry knows: H.264 and H.265 are copied (a transcode costs about
 * a core per 1080p stream; a copy a few per cent), anything else (MJPEG, MPEG-4) is transcoded to H.264.
 * Unknown: copy as H.264; the run's stream dump corrects it (codecChange).
 */
export function initialPlan(encoding: string | null): VideoPlan {
  if (!encoding) return { mode: 'copy', codec: 'h264' };
  const codec = videoCodecOf(encoding);
  return codec ? { mode: 'copy', codec } : { mode: 'transcode', codec: 'h264' };
}

/**
 * A copy run whose camera turns out to send another codec than planned (ffmpeg's input dump, `codec` as
 * ffmpeg names it): the plan to restart with at once, and why; null when the run is right as it is.
 */
export function codecChange(codec: string, plan: VideoPlan): { plan: VideoPlan; failure: Failure } | null {
  if (plan.mode !== 'copy') return null;
  const seen = videoCodecOf(codec);
  if (seen === plan.codec) return null;
  if (seen) return { plan: { mode: 'copy', codec: seen }, failure: { kind: 'codec', reason: `camera sends ${codec}: copying it as it comes` } };
  return { plan: { mode: 'transcode', codec: 'h264' }, failure: { kind: 'codec', reason: `camera sends ${codec}, which browsers cannot play: transcoding to H.264` } };
}

/**
 * Back-off of a session whose camera the health checker judges offline: it keeps growing past the
 * 30 s of a flapping camera, up to 5 minutes (a dead camera must not respawn ffmpeg every half
 * minute all day); the health checker's "online" cuts it short (the session retries at once).
 */
export const OFFLINE_BACKOFF_MAX_MS = 5 * 60_000;

/** Delay before retry number `failures` given the camera's health judgement (null when unknown). */
export function retryDelayMs(failures: number, health: 'online' | 'offline' | 'degraded' | 'unknown' | null): number {
  if (health === 'offline' || failures > FAILED_AFTER) return backoffDelayMs(failures, BACKOFF_BASE_MS, OFFLINE_BACKOFF_MAX_MS);
  return backoffDelayMs(failures);
}

/** The degraded reason when free space is under the threshold, else null. */
export function diskVerdict(freeMb: number, minFreeMb: number): string | null {
  return freeMb < minFreeMb ? `disk full: ${Math.floor(freeMb)} MB free` : null;
}

/**
 * The UTC day directories (`YYYYMMDD`) a recording must find in place: today's, and tomorrow's in
 * the last minutes of the day (ffmpeg's segment muxer does not create directories).
 */
export function recordingDays(nowMs: number, aheadMs = 5 * 60_000): string[] {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
  const today = day(nowMs);
  const soon = day(nowMs + aheadMs);
  return soon === today ? [today] : [today, soon];
}
