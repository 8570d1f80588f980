import type { DiskUse } from '../../gateway/recordings/media-files.ts';

// Retention's choices as plain functions of plain values (tests/unit/retention.test.ts).

/** The end of a period of `days` days before `now`: what ended before it is past retention. */
export function cutoffOf(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 86_400_000);
}

/** The disk has reached the high-water mark: freeing starts (0/0 bytes is never above). */
export function aboveHighWater(disk: DiskUse, highWaterPercent: number): boolean {
  return disk.usedPercent >= highWaterPercent;
}

/**
 * Bytes to free so that use drops just under the low-water mark (0 when it is under).
 * The percent is of what a writer can use (used + free), as diskUse() counts it.
 */
export function bytesToFree(disk: DiskUse, lowWaterPercent: number): number {
  const capacity = disk.usedBytes + disk.freeBytes;
  if (capacity <= 0 || disk.usedPercent < lowWaterPercent) return 0;
  return Math.max(0, disk.usedBytes - Math.ceil((capacity * lowWaterPercent) / 100) + 1);
}

/**
 * After `freedBytes` of footage went, did the disk's use fall with it? Falling by less than
 * half means something other than footage fills the disk (or the file system frees lazily):
 * going on would delete footage without helping, so the node stops until the next run.
 */
export function diskFollowed(before: DiskUse, after: DiskUse, freedBytes: number): boolean {
  return freedBytes <= 0 || before.usedBytes - after.usedBytes >= freedBytes / 2;
}

/** `items` in runs of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
