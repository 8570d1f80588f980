import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { continuation, initNumbers, playlistWindow, staleInits, withRunMaps } from '../../gateway/streams/playlist-runs.ts';

/** A playlist as ffmpeg 5.1 writes it after one restart with append_list (fMP4: one map, the newest run's, at the top). */
const FMP4 = [
  '#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:100', '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXT-X-MAP:URI="init-103.mp4"',
  '#EXTINF:1.000000,', '#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:56:57.916+0000', 'seg-100.m4s',
  '#EXTINF:1.000000,', 'seg-101.m4s',
  '#EXTINF:1.000000,', 'seg-102.m4s',
  '#EXT-X-DISCONTINUITY', '#EXTINF:1.000000,', '#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:57:01.038+0000', 'seg-103.m4s',
  '#EXTINF:1.000000,', 'seg-104.m4s', '',
].join('\n');

describe('live playlists across ffmpeg restarts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skynet-runs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a first run starts at the epoch second; a restart continues the window it finds', () => {
    expect(continuation(null, 1_800_000_000)).toEqual({ startNumber: 1_800_000_000, append: false, initName: 'init-1800000000.mp4' });
    expect(continuation('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n', 9)).toEqual({ startNumber: 9, append: false, initName: 'init-9.mp4' });
    expect(playlistWindow(FMP4)).toEqual({ sequence: 100, entries: 5 });
    // ffmpeg numbers the kept entries from start_number and the new run's after them: its first segment is 105.
    expect(continuation(FMP4, 1_800_000_000)).toEqual({ startNumber: 100, append: true, initName: 'init-105.mp4' });
  });

  it('serves each run of an fMP4 playlist with its own init segment, after its discontinuity', () => {
    const out = withRunMaps(FMP4, [100, 103]).split('\n');
    expect(out.filter((l) => l.startsWith('#EXT-X-MAP'))).toEqual(['#EXT-X-MAP:URI="init-100.mp4"', '#EXT-X-MAP:URI="init-103.mp4"']);
    expect(out.indexOf('#EXT-X-MAP:URI="init-100.mp4"')).toBeLessThan(out.indexOf('seg-100.m4s'));
    const disc = out.indexOf('#EXT-X-DISCONTINUITY');
    expect(out[disc + 1]).toBe('#EXT-X-MAP:URI="init-103.mp4"');
    expect(out.filter((l) => l.endsWith('.m4s'))).toHaveLength(5);
    // A window that slid past a run's first segment still maps it to the run's init; MPEG-TS is untouched.
    expect(withRunMaps(FMP4, [90, 103])).toContain('#EXT-X-MAP:URI="init-90.mp4"');
    const ts = '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:5\n#EXTINF:1,\nseg-5.ts\n';
    expect(withRunMaps(ts, [1])).toBe(ts);
  });

  it('finds the init segments a window no longer needs', async () => {
    for (const n of [80, 100, 103]) writeFileSync(join(dir, `init-${n}.mp4`), 'x');
    writeFileSync(join(dir, 'init-x.mp4'), 'x');
    expect(await initNumbers(dir)).toEqual([80, 100, 103]);
    expect(await staleInits(dir, FMP4)).toEqual(['init-80.mp4']);
  });
});
