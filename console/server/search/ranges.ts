import type { FootageEvent, TimeRange } from './types.ts';

/**
 * Decisions of the footage search as pure functions of plain values (tested with plain values at
 * the end of tests/integration/search.test.ts): what is missing between recorded ranges, how much
 * was recorded, whether a drawn polygon can be searched, and its bounding box.
 */

/** Holes between recordings up to this long are not gaps (a segmenter's rounding, a keyframe wait). */
export const GAP_TOLERANCE_MS = 2000;

/**
 * The missing stretches of [from, until) given recorded ranges (sorted, merged, clipped to the
 * window): holes longer than the tolerance, including before the first and after the last range.
 * `until` is min(to, now): what has not happened yet is not missing.
 */
export function gapsOf(ranges: readonly TimeRange[], from: Date, until: Date, toleranceMs = GAP_TOLERANCE_MS): TimeRange[] {
  const gaps: TimeRange[] = [];
  let cursor = from.getTime();
  const end = until.getTime();
  for (const r of ranges) {
    const s = Math.max(r.from.getTime(), cursor);
    if (s >= end) break;
    if (s - cursor > toleranceMs) gaps.push({ from: new Date(cursor), to: new Date(s) });
    cursor = Math.max(cursor, r.to.getTime());
  }
  if (end - cursor > toleranceMs) gaps.push({ from: new Date(cursor), to: new Date(end) });
  return gaps;
}

/** Seconds covered by ranges (merged, so none overlaps), to the millisecond. */
export function recordedSeconds(ranges: readonly TimeRange[]): number {
  return Math.round(ranges.reduce((sum, r) => sum + Math.max(0, r.to.getTime() - r.from.getTime()), 0)) / 1000;
}

/** The box around a polygon, to prefilter with plain comparisons before the point-in-polygon test. */
export function bboxOf(points: readonly { lat: number; lon: number }[]): { minLat: number; maxLat: number; minLon: number; maxLon: number } {
  return {
    minLat: Math.min(...points.map((p) => p.lat)), maxLat: Math.max(...points.map((p) => p.lat)),
    minLon: Math.min(...points.map((p) => p.lon)), maxLon: Math.max(...points.map((p) => p.lon)),
  };
}

/** Twice the signed area of a polygon in degrees² (shoelace): zero for a line or repeated points. */
export function polygonArea2(points: readonly { lat: number; lon: number }[]): number {
  let a = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const q = points[(i + 1) % points.length]!;
    a += p.lon * q.lat - q.lon * p.lat;
  }
  return a;
}

/** The polygon as PostgreSQL's `polygon` text, x = lon and y = lat: `((lon,lat),…)`. */
export function pgPolygon(points: readonly { lat: number; lon: number }[]): string {
  return `(${points.map((p) => `(${p.lon},${p.lat})`).join(',')})`;
}

/** A camera's events in time order (then by kind and id, so an answer is stable), at most `max`. */
export function sortEvents(events: FootageEvent[], max: number): FootageEvent[] {
  return events.sort((a, b) => a.at.getTime() - b.at.getTime() || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id)).slice(0, max);
}
