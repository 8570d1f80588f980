import { describe, expect, it } from 'vitest';
import { aboveHighWater, bytesToFree, chunks, cutoffOf, diskFollowed } from '../../workers/retention/decide.ts';

const disk = (used: number, free: number) => ({ totalBytes: used + free, usedBytes: used, freeBytes: free, usedPercent: (100 * used) / (used + free) });

describe('retention decisions', () => {
  it('a camera\'s period ends retentionDays × 24 h before now', () => {
    expect(cutoffOf(new Date('2026-03-30T12:00:00Z'), 30).toISOString()).toBe('2026-02-28T12:00:00.000Z');
    expect(cutoffOf(new Date('2026-03-30T12:00:00Z'), 1).toISOString()).toBe('2026-03-29T12:00:00.000Z');
  });

  it.each([
    [89, 11, 90, false],
    [90, 10, 90, true],
    [95, 5, 90, true],
    [0, 0, 90, false],
  ])('used %d free %d against a high-water mark of %d %%: free it = %s', (used, free, high, expected) => {
    expect(aboveHighWater(disk(used, free), high)).toBe(expected);
  });

  it('frees just enough bytes to drop under the low-water mark, and nothing when already under', () => {
    // 40,960 of 45,056 used (90.9 %): under 80 % means at most 36,044 used, so 4,916 bytes go.
    expect(bytesToFree(disk(40_960, 4096), 80)).toBe(4916);
    const after = disk(40_960 - 4916, 4096 + 4916);
    expect(after.usedPercent).toBeLessThan(80);
    expect(disk(40_960 - 4915, 4096 + 4915).usedPercent).toBeGreaterThanOrEqual(80);
    expect(bytesToFree(disk(79, 21), 80)).toBe(0);
    expect(bytesToFree(disk(80, 20), 80)).toBe(1);
    expect(bytesToFree({ totalBytes: 0, usedBytes: 0, freeBytes: 0, usedPercent: 0 }, 80)).toBe(0);
  });

  it('stops freeing a node whose disk does not follow what was deleted', () => {
    expect(diskFollowed(disk(10_000, 0), disk(6000, 4000), 4000)).toBe(true);
    expect(diskFollowed(disk(10_000, 0), disk(8000, 2000), 4000)).toBe(true);
    expect(diskFollowed(disk(10_000, 0), disk(8001, 1999), 4000)).toBe(false);
    expect(diskFollowed(disk(10_000, 0), disk(10_000, 0), 4000)).toBe(false);
    expect(diskFollowed(disk(10_000, 0), disk(10_000, 0), 0)).toBe(true);
  });

  it('splits removal calls into chunks of at most the given size', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 2000)).toEqual([]);
    expect(chunks(Array.from({ length: 4001 }, (_, i) => i), 2000).map((c) => c.length)).toEqual([2000, 2000, 1]);
  });
});
