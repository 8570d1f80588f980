import { readdir } from 'node:fs/promises';

/**
 * A live playlist across ffmpeg restarts. A restarted session continues the playlist its players hold:
 * ffmpeg (append_list) keeps the old entries, marks the first new one with EXT-X-DISCONTINUITY (its
 * timestamps start again) and numbers on; players cross the restart instead of stalling on a playlist
 * whose timestamps jumped. fMP4 (H.265) runs each have their own init segment (`init-<n>.mp4`, n the media
 * sequence number of the run's first segment): ffmpeg writes one EXT-X-MAP at the top naming only the
 * newest, so the gateway serves each run's entries with the map of that run (`withRunMaps`).
 */

export interface Continuation {
  /** Pass to ffmpeg as `-start_number` (the sequence number of the playlist's first entry). */
  startNumber: number;
  /** Continue the existing playlist (append_list) or start a new one. */
  append: boolean;
  /** This run's fMP4 init segment name: after the number its first segment will have. */
  initName: string;
}

/** The sequence number and entry count of a playlist ffmpeg wrote (null when it lists nothing). */
export function playlistWindow(text: string): { sequence: number; entries: number } | null {
  const m = /^#EXT-X-MEDIA-SEQUENCE:(\d+)\s*$/m.exec(text);
  const entries = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length;
  if (!m || entries === 0) return null;
  return { sequence: Number(m[1]), entries };
}

/**
 * How a run starts: continuing `previous` (the playlist left by the session's last run, null when there is
 * none or it was another codec) or, fresh, at the epoch second (numbers then still rise across sessions).
 */
export function continuation(previous: string | null, epochSec: number): Continuation {
  const window = previous ? playlistWindow(previous) : null;
  if (!window) return { startNumber: epochSec, append: false, initName: `init-${epochSec}.mp4` };
  return { startNumber: window.sequence, append: true, initName: `init-${window.sequence + window.entries}.mp4` };
}

const INIT = /^init-(\d{1,12})\.mp4$/;

/** Init segment numbers present in a live directory, ascending. */
export async function initNumbers(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.map((n) => INIT.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** The init segment of the entry numbered `seq`: the newest run that began at or before it. */
function initFor(seq: number, inits: readonly number[]): number | null {
  let found: number | null = null;
  for (const n of inits) if (n <= seq) found = n;
  return found ?? inits[0] ?? null;
}

/** Init files no entry of `playlist` needs any more (the run they began has slid out of the window). */
export async function staleInits(dir: string, playlist: string): Promise<string[]> {
  const window = playlistWindow(playlist);
  const inits = await initNumbers(dir);
  if (!window) return [];
  const keep = initFor(window.sequence, inits);
  return inits.filter((n) => keep !== null && n < keep).map((n) => `init-${n}.mp4`);
}

/**
 * The playlist as players get it: for fMP4, an EXT-X-MAP before the first entry and after every
 * discontinuity, naming the init segment of that entry's run. An MPEG-TS playlist (no map) is unchanged.
 */
export function withRunMaps(text: string, inits: readonly number[]): string {
  if (!text.includes('#EXT-X-MAP:') || inits.length === 0) return text;
  const window = playlistWindow(text);
  if (!window) return text;
  const lines = text.split('\n');
  const out: string[] = [];
  let seq = window.sequence;
  let needMap = true;
  let pending: string[] = [];
  for (const line of lines) {
    if (line.startsWith('#EXT-X-MAP:')) continue;
    if (line.startsWith('#EXT-X-DISCONTINUITY') && !line.startsWith('#EXT-X-DISCONTINUITY-SEQUENCE')) needMap = true;
    const isEntry = line.trim() !== '' && !line.startsWith('#');
    const inSegment = line.startsWith('#EXTINF') || line.startsWith('#EXT-X-PROGRAM-DATE-TIME') || line.startsWith('#EXT-X-DISCONTINUITY') || isEntry;
    if (!inSegment) { out.push(line); continue; }
    pending.push(line);
    if (!isEntry) continue;
    if (needMap) {
      // After the discontinuity (the conventional order), before the entry's EXTINF.
      const disc = pending.filter((l) => l.startsWith('#EXT-X-DISCONTINUITY'));
      out.push(...disc);
      pending = pending.filter((l) => !disc.includes(l));
      const n = initFor(seq, inits);
      if (n !== null) out.push(`#EXT-X-MAP:URI="init-${n}.mp4"`);
      needMap = false;
    }
    out.push(...pending);
    pending = [];
    seq++;
  }
  out.push(...pending);
  return out.join('\n');
}
