import { join } from 'node:path';

/**
 * The media directory (`<dataDir>/media`), one layout for every gateway part:
 *
 *   live/<deviceId>/index.m3u8          live HLS playlist (ffmpeg writes, rolling, ~10 segments)
 *   live/<deviceId>/seg-<n>.ts          live HLS segments (1–2 s, keyframe-aligned)
 *   rec/<deviceId>/<YYYYMMDD>/<YYYYMMDDTHHMMSSZ>.ts
 *                                       recording segments (MPEG-TS, ~10 s), named by their UTC start
 *   rec/<deviceId>/segments-<sessionStartMs>.csv
 *                                       ffmpeg's segment list for one session: a line per *closed*
 *                                       segment (`file,start,end`); the indexer follows it
 *   tmp/                                scratch (snapshots)
 *
 * Live files are disposable (removed when a session stops). Recording files stay until
 * retention removes them; the `recording_segments` table indexes them and a restart
 * re-indexes any closed segment written while the gateway was down.
 * Every path component here is built from ids we generated (uuid) or timestamps, never
 * from a request path.
 */
export function mediaLayout(dataDir: string) {
  const root = join(dataDir, 'media');
  return {
    root,
    liveDir: (deviceId: string) => join(root, 'live', deviceId),
    livePlaylist: (deviceId: string) => join(root, 'live', deviceId, 'index.m3u8'),
    recDir: (deviceId: string) => join(root, 'rec', deviceId),
    /** strftime pattern ffmpeg expands (run with TZ=UTC). */
    recPattern: (deviceId: string) => join(root, 'rec', deviceId, '%Y%m%d', '%Y%m%dT%H%M%SZ.ts'),
    segmentList: (deviceId: string, sessionStartMs: number) => join(root, 'rec', deviceId, `segments-${sessionStartMs}.csv`),
    tmp: join(root, 'tmp'),
  };
}

export type MediaLayout = ReturnType<typeof mediaLayout>;

/** Device ids are uuids: anything else never becomes part of a path. */
export const DEVICE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
