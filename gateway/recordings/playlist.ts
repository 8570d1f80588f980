/** What a VOD playlist needs of a segment. */
export interface PlaylistSegment {
  id: number;
  startsAt: Date;
  endsAt: Date;
}

export interface VodPlaylistOptions {
  from: Date;
  to: Date;
  /** The URI of a segment, relative to the playlist or absolute. */
  segmentUrl: (segment: PlaylistSegment) => string;
  /** URI of the placeholder every EXT-X-GAP segment points at (clients do not load it). */
  gapUrl?: string;
  /** Seconds; defaults to the longest segment rounded up (10 when there is none). Gap pieces are no longer. */
  targetDuration?: number;
  /** Time after which nothing has happened yet: no gap is listed past it. */
  now?: Date;
  /**
   * Recording segments are cut with `-reset_timestamps 1`, so each one restarts its
   * timestamps and HLS requires EXT-X-DISCONTINUITY (with its PROGRAM-DATE-TIME) at
   * every boundary. False for segments whose timestamps run on (then only gaps get one).
   */
  resetTimestamps?: boolean;
}

/** A hole longer than this between two segments is a gap: marked, never hidden. */
export const GAP_THRESHOLD_MS = 1000;
export const DEFAULT_GAP_URL = '../gap.ts';

const secs = (ms: number) => (ms / 1000).toFixed(3);

/**
 * An HLS VOD playlist for `segments` (sorted by start) over [from, to]:
 * EXT-X-PROGRAM-DATE-TIME on the first segment and after every discontinuity,
 * gaps as EXT-X-GAP pseudo-segments (no longer than the target duration each),
 * and EXT-X-START at the offset of `from`, so the player begins at the moment asked for.
 * The playlist's timeline runs from `from` (or the first segment's start, when it
 * began earlier) to `to` (or now).
 */
export function vodPlaylist(segments: readonly PlaylistSegment[], options: VodPlaylistOptions): string {
  const from = options.from.getTime();
  const end = Math.min(options.to.getTime(), options.now?.getTime() ?? Infinity);
  const gapUrl = options.gapUrl ?? DEFAULT_GAP_URL;
  const resetTimestamps = options.resetTimestamps ?? true;
  const inRange = segments.filter((s) => s.startsAt.getTime() < options.to.getTime() && s.endsAt.getTime() > from);

  let longest = 0;
  for (const s of inRange) longest = Math.max(longest, s.endsAt.getTime() - s.startsAt.getTime());
  const target = Math.max(1, Math.ceil(options.targetDuration ?? (inRange.length ? longest / 1000 : 10)));
  const step = target * 1000;

  const body: string[] = [];
  let previous: 'none' | 'segment' | 'gap' = 'none';
  let cursor = from;

  const gap = (until: number): 'gap' => {
    for (let t = cursor; t < until; t += step) {
      if (t === cursor && previous !== 'gap') body.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(t).toISOString()}`);
      body.push('#EXT-X-GAP', `#EXTINF:${secs(Math.min(step, until - t))},`, gapUrl);
    }
    cursor = until;
    return 'gap';
  };

  for (const segment of inRange) {
    const start = segment.startsAt.getTime();
    const stop = segment.endsAt.getTime();
    if (start - cursor > GAP_THRESHOLD_MS) previous = gap(start);
    if (previous === 'none') body.push(`#EXT-X-PROGRAM-DATE-TIME:${segment.startsAt.toISOString()}`);
    else if (previous === 'gap' || resetTimestamps) {
      body.push('#EXT-X-DISCONTINUITY', `#EXT-X-PROGRAM-DATE-TIME:${segment.startsAt.toISOString()}`);
    }
    body.push(`#EXTINF:${secs(stop - start)},`, options.segmentUrl(segment));
    previous = 'segment';
    cursor = Math.max(cursor, stop);
  }
  if (end - cursor > GAP_THRESHOLD_MS) previous = gap(end);

  const first = inRange[0];
  const offset = first && first.startsAt.getTime() <= from + GAP_THRESHOLD_MS ? Math.max(0, from - first.startsAt.getTime()) : 0;
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-MEDIA-SEQUENCE:0',
    `#EXT-X-START:TIME-OFFSET=${secs(offset)},PRECISE=YES`,
    ...body,
    '#EXT-X-ENDLIST',
    '',
  ].join('\n');
}
