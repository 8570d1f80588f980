import { describe, expect, it } from 'vitest';
import { areaLevel, memberArrays, rollUp } from '../../console/server/stats/areas.ts';
import { changeCell, csvFilename, csvTable, devicesCsv, figure, incidentsCsv, percentCell, statsLine } from '../../console/server/stats/csv.ts';
import type { DeviceAreaStats, IncidentStats, SiteNode } from '../../console/server/stats/types.ts';

// The statistics' CSV (cells safe in a spreadsheet, figures kept as numbers, both languages,
// file names by site-local day) and the area roll-up the breakdowns by area are built from.
const names = { type: (code: string) => ({ theft: '盗窃' } as Record<string, string>)[code] ?? code };

describe('CSV cells', () => {
  it('writes shares and changes as percentages with one decimal', () => {
    expect(percentCell(0.975)).toBe('97.5%');
    expect(percentCell(1 / 3)).toBe('33.3%');
    expect(percentCell(null)).toBe('');
    expect(statsLine([changeCell(1.5), changeCell(-0.03), changeCell(0), changeCell(null)])).toBe('"+150.0%","-3.0%","0.0%",""\r\n');
  });

  it('neutralises formulas and doubles quotes in text, but never in its own figures', () => {
    expect(statsLine(['=HYPERLINK("http://x")', '+1 call', '-', '@x', 'a "b"', 12, null])).toBe('"\'=HYPERLINK(""http://x"")","\'+1 call","\'-","\'@x","a ""b""","12",""\r\n');
    // Only a plain signed number passes as a figure: anything else is text.
    expect(statsLine([figure('-12'), figure('-1+2'), figure('+3.5%')])).toBe('"-12","\'-1+2","+3.5%"\r\n');
  });

  it('starts the file with a byte-order mark and ends lines with CRLF', () => {
    const t = csvTable(['甲', 'b'], [[1, 2]]);
    expect(t.charCodeAt(0)).toBe(0xfeff);
    expect(t.slice(1)).toBe('"甲","b"\r\n"1","2"\r\n');
  });

  it('names the file by the site-local first and last day', () => {
    const zone = 'Asia/Shanghai';
    expect(csvFilename('incidents', { from: new Date('2026-02-28T16:00:00Z'), to: new Date('2026-03-31T16:00:00Z') }, zone)).toBe('skynet-incidents-20260301-20260331.csv');
    expect(csvFilename('devices', { from: new Date('2026-03-01T04:00:00Z'), to: new Date('2026-03-01T05:00:00Z') }, zone)).toBe('skynet-devices-20260301.csv');
  });
});

const stats: IncidentStats = {
  timeZone: 'Asia/Shanghai', from: new Date('2026-02-28T16:00:00Z'), to: new Date('2026-03-31T16:00:00Z'), siteId: 'a1', type: null,
  totals: {
    count: 4, previous: { from: new Date(0), to: new Date(0), count: 5 }, lastYear: { from: new Date(0), to: new Date(0), count: 0 },
    previousChange: -0.2, lastYearChange: null, closed: 2, videoAssisted: 1, videoAssistedRate: 0.5,
  },
  byType: [{ type: 'theft', count: 4, previous: 5, lastYear: 0 }],
  byArea: [{ siteId: 'a1', name: '城关', kind: 'area', itself: true, count: 1 }, { siteId: 's1', name: '=派出所', kind: 'station', itself: false, count: 3 }],
  byGrid: [{ unitId: 'u1', callSign: 'A01', gridName: '东街', count: 3 }, { unitId: null, callSign: '', gridName: '', count: 1 }],
  byHour: Array.from({ length: 24 }, (_, h) => (h === 9 ? 4 : 0)),
  byWeekday: [4, 0, 0, 0, 0, 0, 0],
  bySource: [{ source: 'call_110', count: 4 }],
};

describe('CSV files', () => {
  it('writes the incident statistics as one table, in Chinese', () => {
    const lines = incidentsCsv(stats, 'zh-CN', names).slice(1).trim().split('\r\n');
    expect(lines[0]).toBe('"分组","项目","数量","上期（环比）","去年同期（同比）","环比变化","同比变化"');
    expect(lines[1]).toBe('"合计","警情总数","4","5","0","-20.0%",""');
    expect(lines).toContain('"类别","盗窃","4","5","0","-20.0%",""');
    expect(lines).toContain('"区域","城关（本级）","1","","","",""');
    expect(lines).toContain('"区域","\'=派出所","3","","","",""');
    expect(lines).toContain('"网格","东街 / A01","3","","","",""');
    expect(lines).toContain('"网格","未划入网格","1","","","",""');
    expect(lines).toContain('"时段","09时","4","","","",""');
    expect(lines).toContain('"星期","周一","4","","","",""');
    expect(lines).toContain('"来源","110报警","4","","","",""');
    expect(lines).toHaveLength(1 + 3 + 1 + 2 + 2 + 24 + 7 + 1);
  });

  it('writes them in English on request', () => {
    const lines = incidentsCsv(stats, 'en', names).slice(1).trim().split('\r\n');
    expect(lines[0]).toBe('"Group","Item","Count","Previous period","Same period last year","Change on previous","Change on last year"');
    expect(lines).toContain('"Area","城关 (itself)","1","","","",""');
    expect(lines).toContain('"Weekday","Monday","4","","","",""');
    expect(lines).toContain('"Hour","09:00","4","","","",""');
  });

  it('writes the device figures with a total first', () => {
    const area = (name: string, cameras: number, online: number): DeviceAreaStats => ({
      siteId: name, name, kind: 'area', itself: false, cameras, online, degraded: 0, offline: cameras - online, unknown: 0, onlineRate: cameras ? online / cameras : null,
      recordingCameras: 1, recordedSeconds: 1800.4, expectedSeconds: 3600, recordingCompleteness: 0.5,
    });
    const csv = devicesCsv({ timeZone: 'Asia/Shanghai', at: new Date(), from: new Date(), to: new Date(), siteId: null, total: area('', 3, 2), byArea: [area('城关', 3, 2)] }, 'zh-CN');
    const lines = csv.slice(1).trim().split('\r\n');
    expect(lines[0]).toBe('"区域","摄像机","在线","降级","离线","未知","在线率","录像摄像机","已录时长（秒）","应录时长（秒）","录像完整率"');
    expect(lines[1]).toBe('"合计","3","2","0","1","0","66.7%","1","1800","3600","50.0%"');
    expect(lines[2]).toBe('"城关","3","2","0","1","0","66.7%","1","1800","3600","50.0%"');
  });
});

describe('the area roll-up', () => {
  const node = (id: string, parentId: string | null, kind: SiteNode['kind']): SiteNode => ({ id, parentId, code: id, name: `n-${id}`, kind });
  const sites = [node('P', null, 'platform'), node('A1', 'P', 'area'), node('A2', 'P', 'area'), node('S1', 'A1', 'station'), node('S2', 'A1', 'station'), node('S3', 'A2', 'station')];
  const sum = (level: NonNullable<ReturnType<typeof areaLevel>>, rows: [string | null, number][]) =>
    rollUp(level, rows.map(([siteId, value]) => ({ siteId, value })), (a, b) => a + b, () => 0).map((r) => [r.group?.id ?? null, r.value]);

  it('reads below the one top-level site, sub-sites rolled in, "no site" last', () => {
    const level = areaLevel(sites, null)!;
    expect(level.parent?.id).toBe('P');
    expect(level.scope).toBeNull();
    expect(sum(level, [['S1', 2], ['S2', 1], ['A1', 1], ['S3', 5], [null, 4]])).toEqual([['A1', 4], ['A2', 5], [null, 4]]);
    expect(sum(level, [['P', 1]])).toEqual([['P', 1], ['A1', 0], ['A2', 0]]);
  });

  it('reads below a named site, within its subtree only', () => {
    const level = areaLevel(sites, 'A1')!;
    expect(new Set(level.scope)).toEqual(new Set(['A1', 'S1', 'S2']));
    expect(sum(level, [['S1', 2], ['A1', 1], ['S3', 9]])).toEqual([['A1', 1], ['S1', 2], ['S2', 0]]);
    const { siteIds, groupIds } = memberArrays(level);
    expect(Object.fromEntries(siteIds.map((s, k) => [s, groupIds[k]]))).toEqual({ A1: 'A1', S1: 'S1', S2: 'S2' });
  });

  it('reads the top-level sites when there are several, and knows no unknown site', () => {
    const level = areaLevel([...sites, node('Q', null, 'platform'), node('B1', 'Q', 'area')], null)!;
    expect(level.parent).toBeNull();
    expect(sum(level, [['S3', 1], ['B1', 2]])).toEqual([['P', 1], ['Q', 2]]);
    expect(areaLevel(sites, 'nope')).toBeNull();
  });
});
