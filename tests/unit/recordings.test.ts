import { describe, expect, it } from 'vitest';
import { parseListLine, segmentNameTime, segmentTimes } from '../../gateway/recordings/indexer.ts';
import { vodPlaylist, type PlaylistSegment } from '../../gateway/recordings/playlist.ts';
import { dayBounds, dayTimeline, isDay, localDay, zoneOffsetMs } from '../../gateway/recordings/timeline.ts';

const at = (iso: string) => new Date(iso);
const seg = (id: number, from: string, to: string): PlaylistSegment => ({ id, startsAt: at(from), endsAt: at(to) });
const url = (s: PlaylistSegment) => `seg/${s.id}.ts?token=T`;

describe('vodPlaylist', () => {
  const segments = [
    seg(1, '2024-05-01T02:00:00Z', '2024-05-01T02:00:10Z'),
    seg(2, '2024-05-01T02:00:10Z', '2024-05-01T02:00:20Z'),
    seg(3, '2024-05-01T02:00:45Z', '2024-05-01T02:00:54.5Z'),
  ];

  it('marks the gap with EXT-X-GAP pieces, a discontinuity and program date-times, and starts at `from`', () => {
    const text = vodPlaylist(segments, { from: at('2024-05-01T02:00:05Z'), to: at('2024-05-01T02:01:00Z'), segmentUrl: url });
    expect(text).toBe([
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:10',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXT-X-START:TIME-OFFSET=5.000,PRECISE=YES',
      '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T02:00:00.000Z',
      '#EXTINF:10.000,',
      'seg/1.ts?token=T',
      // -reset_timestamps 1: every recording segment restarts its timestamps
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T02:00:10.000Z',
      '#EXTINF:10.000,',
      'seg/2.ts?token=T',
      '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T02:00:20.000Z',
      '#EXT-X-GAP',
      '#EXTINF:10.000,',
      '../gap.ts',
      '#EXT-X-GAP',
      '#EXTINF:10.000,',
      '../gap.ts',
      '#EXT-X-GAP',
      '#EXTINF:5.000,',
      '../gap.ts',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T02:00:45.000Z',
      '#EXTINF:9.500,',
      'seg/3.ts?token=T',
      '#EXT-X-PROGRAM-DATE-TIME:2024-05-01T02:00:54.500Z',
      '#EXT-X-GAP',
      '#EXTINF:5.500,',
      '../gap.ts',
      '#EXT-X-ENDLIST',
      '',
    ].join('\n'));
  });

  it('puts a leading gap before footage that begins after `from`, and lists no gap after now', () => {
    const text = vodPlaylist(segments.slice(2), {
      from: at('2024-05-01T02:00:30Z'), to: at('2024-05-01T03:00:00Z'), now: at('2024-05-01T02:00:55Z'), segmentUrl: url, gapUrl: '/media/vod/gap.ts',
    });
    expect(text).toContain('#EXT-X-START:TIME-OFFSET=0.000,PRECISE=YES\n#EXT-X-PROGRAM-DATE-TIME:2024-05-01T02:00:30.000Z\n#EXT-X-GAP\n#EXTINF:10.000,\n/media/vod/gap.ts\n#EXT-X-GAP\n#EXTINF:5.000,');
    expect(text).toContain('#EXTINF:9.500,\nseg/3.ts?token=T\n#EXT-X-ENDLIST');
  });

  it('with continuous timestamps, contiguous segments need no discontinuity', () => {
    const text = vodPlaylist(segments.slice(0, 2), { from: at('2024-05-01T02:00:00Z'), to: at('2024-05-01T02:00:20Z'), segmentUrl: url, resetTimestamps: false });
    expect(text).not.toContain('DISCONTINUITY');
    expect(text.match(/PROGRAM-DATE-TIME/g)).toHaveLength(1);
    expect(text).toContain('TIME-OFFSET=0.000');
  });

  it('builds a 24-hour, 8,640-segment playlist in a few milliseconds', () => {
    const start = Date.parse('2024-05-01T16:00:00Z');
    const day = Array.from({ length: 8640 }, (_, i) => ({ id: i + 1, startsAt: new Date(start + i * 10_000), endsAt: new Date(start + (i + 1) * 10_000) }));
    const options = { from: new Date(start + 3000), to: new Date(start + 86_400_000), segmentUrl: (s: PlaylistSegment) => `seg/${s.id}.ts?token=${'x'.repeat(200)}` };
    vodPlaylist(day, options);
    const t0 = performance.now();
    const text = vodPlaylist(day, options);
    const ms = performance.now() - t0;
    expect(text.match(/#EXTINF/g)).toHaveLength(8640);
    expect(text).not.toContain('#EXT-X-GAP');
    expect(text).toContain('TIME-OFFSET=3.000');
    expect(ms).toBeLessThan(100); // typically ~5 ms; generous for a busy machine
  });
});

describe('dayTimeline', () => {
  const span = (from: string, to: string) => ({ startsAt: at(from), endsAt: at(to) });

  it('takes the day in Asia/Shanghai (UTC+8) and merges contiguous segments', () => {
    const t = dayTimeline([
      span('2024-05-01T16:00:00Z', '2024-05-01T16:00:10Z'),
      span('2024-05-01T16:00:11Z', '2024-05-01T16:00:21Z'), // 1 s hole: contiguous
      span('2024-05-01T18:00:00Z', '2024-05-01T19:00:00Z'),
      span('2024-05-02T15:59:55Z', '2024-05-02T16:00:05Z'), // crosses the end of the day: clipped
    ], { day: '2024-05-02', timezone: 'Asia/Shanghai', now: at('2024-06-01T00:00:00Z') });
    expect(t.from.toISOString()).toBe('2024-05-01T16:00:00.000Z');
    expect(t.to.toISOString()).toBe('2024-05-02T16:00:00.000Z');
    expect(t.ranges.map((r) => [r.kind, r.from.toISOString().slice(11, 19), r.to.toISOString().slice(11, 19)])).toEqual([
      ['footage', '16:00:00', '16:00:21'],
      ['missing', '16:00:21', '18:00:00'],
      ['footage', '18:00:00', '19:00:00'],
      ['missing', '19:00:00', '15:59:55'],
      ['footage', '15:59:55', '16:00:00'],
    ]);
  });

  it('handles a half-hour zone (Asia/Kolkata, UTC+5:30)', () => {
    expect(zoneOffsetMs('Asia/Kolkata', Date.parse('2024-05-01T00:00:00Z'))).toBe(5.5 * 3600_000);
    const { from, to } = dayBounds('2024-05-02', 'Asia/Kolkata');
    expect(from.toISOString()).toBe('2024-05-01T18:30:00.000Z');
    expect(to.toISOString()).toBe('2024-05-02T18:30:00.000Z');
    const t = dayTimeline([span('2024-05-01T18:00:00Z', '2024-05-01T19:00:00Z')], { day: '2024-05-02', timezone: 'Asia/Kolkata', now: at('2024-05-03T00:00:00Z') });
    expect(t.ranges.map((r) => [r.kind, r.from.toISOString(), r.to.toISOString()])).toEqual([
      ['footage', '2024-05-01T18:30:00.000Z', '2024-05-01T19:00:00.000Z'],
      ['missing', '2024-05-01T19:00:00.000Z', '2024-05-02T18:30:00.000Z'],
    ]);
  });

  it('does not report the future as missing', () => {
    const now = at('2024-05-02T04:00:00Z'); // 12:00 in Shanghai
    const t = dayTimeline([span('2024-05-02T01:00:00Z', '2024-05-02T03:59:59.5Z')], { day: '2024-05-02', timezone: 'Asia/Shanghai', now });
    expect(t.ranges.map((r) => [r.kind, r.from.toISOString(), r.to.toISOString()])).toEqual([
      ['missing', '2024-05-01T16:00:00.000Z', '2024-05-02T01:00:00.000Z'],
      ['footage', '2024-05-02T01:00:00.000Z', '2024-05-02T04:00:00.000Z'],
    ]);
    expect(dayTimeline([], { day: '2024-05-03', timezone: 'Asia/Shanghai', now }).ranges).toEqual([]);
    expect(dayTimeline([], { day: '2024-05-02', timezone: 'Asia/Shanghai', now }).ranges).toEqual([
      { kind: 'missing', from: at('2024-05-01T16:00:00Z'), to: now },
    ]);
  });

  it('knows days, today in a zone, and daylight-saving days', () => {
    expect(isDay('2024-02-29')).toBe(true);
    expect(isDay('2023-02-29')).toBe(false);
    expect(isDay('2024-5-1')).toBe(false);
    expect(localDay('Asia/Shanghai', at('2024-05-01T16:30:00Z'))).toBe('2024-05-02');
    expect(localDay('Asia/Kolkata', at('2024-05-01T18:29:59Z'))).toBe('2024-05-01');
    const spring = dayBounds('2024-03-10', 'America/New_York');
    expect(spring.from.toISOString()).toBe('2024-03-10T05:00:00.000Z');
    expect(spring.to.getTime() - spring.from.getTime()).toBe(23 * 3600_000);
  });
});

describe('segment names and lists', () => {
  it('reads the UTC start from a segment name, refusing anything else', () => {
    expect(segmentNameTime('20240501T020005Z.ts')).toBe(Date.parse('2024-05-01T02:00:05Z'));
    for (const bad of ['20240501T020005Z.mp4', '20240230T000000Z.ts', '../20240501T020005Z.ts', '20240501T020005.ts', 'x20240501T020005Z.ts']) {
      expect(segmentNameTime(bad)).toBeNull();
    }
  });

  it('parses ffmpeg csv list lines', () => {
    expect(parseListLine('20240501T020005Z.ts,0.000000,10.200000')).toEqual({ name: '20240501T020005Z.ts', start: 0, end: 10.2 });
    expect(parseListLine('/media/rec/x/20240501/20240501T020005Z.ts,10.2,20.2')).toEqual({ name: '20240501T020005Z.ts', start: 10.2, end: 20.2 });
    expect(parseListLine('passwd,0,1')).toBeNull();
    expect(parseListLine('20240501T020005Z.ts,5,5')).toBeNull();
    expect(parseListLine('')).toBeNull();
  });

  it('starts at the name, ends after the listed duration, and joins a session\'s segments without false gaps', () => {
    const first = segmentTimes({ name: '20240501T020005Z.ts', start: 0, end: 10.2 }, null);
    expect(first).toEqual({ startsAt: Date.parse('2024-05-01T02:00:05Z'), endsAt: Date.parse('2024-05-01T02:00:15.200Z') });
    // named 2 s late (encoder delay): continues where the first ended
    const second = segmentTimes({ name: '20240501T020017Z.ts', start: 10.2, end: 20.2 }, { endsAtMs: first.endsAt, endTime: 10.2 });
    expect(second.startsAt).toBe(first.endsAt);
    // a name far from where the session's clock says: the name wins
    const later = segmentTimes({ name: '20240501T021000Z.ts', start: 20.2, end: 30.2 }, { endsAtMs: second.endsAt, endTime: 20.2 });
    expect(later.startsAt).toBe(Date.parse('2024-05-01T02:10:00Z'));
  });
});
