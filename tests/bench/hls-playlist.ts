/**
 * A live HLS media playlist as the gateway's ffmpeg writes it (MPEG-TS for H.264, fMP4 with
 * EXT-X-MAP init segments for H.265), read by the ramp's judge (gateway-load.ts) and the
 * benchmark's HTTP viewers (gateway-viewers.ts).
 */

export interface PlaylistEntry {
  seq: number;
  uri: string;
  /** EXT-X-PROGRAM-DATE-TIME of the entry (ms since the epoch); NaN when none precedes it. */
  pdtMs: number;
  durationS: number;
  /** The EXT-X-MAP in force for this entry (fMP4), else null. */
  map: string | null;
}

export interface MediaPlaylist {
  target: number;
  firstSeq: number;
  entries: PlaylistEntry[];
}

const MAP_URI = /#EXT-X-MAP:.*?URI="([^"]+)"/;

/** null when it is not a media playlist with a target duration, a media sequence and an entry. */
export function parseMediaPlaylist(text: string): MediaPlaylist | null {
  const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1]);
  const firstSeq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]);
  if (!Number.isFinite(target) || !Number.isFinite(firstSeq)) return null;
  const entries: PlaylistEntry[] = [];
  let pdt = NaN, dur = NaN, map: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:')) dur = Number.parseFloat(line.slice(8));
    else if (line.startsWith('#EXT-X-MAP:')) map = MAP_URI.exec(line)?.[1] ?? map;
    else if (line && !line.startsWith('#')) {
      entries.push({ seq: firstSeq + entries.length, uri: line, pdtMs: pdt, durationS: dur, map });
      pdt = NaN;
    }
  }
  return entries.length ? { target, firstSeq, entries } : null;
}

/** End of an entry's media on the wall clock (program date-time + duration). */
export const entryEndMs = (e: PlaylistEntry) => e.pdtMs + e.durationS * 1000;
