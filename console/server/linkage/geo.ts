import type { LonLat } from './types.ts';

/**
 * Small plane geometry on the sphere for the linkage: distances (haversine, as PostgreSQL's
 * earthdistance computes them), a point in a grid polygon (责任田), and the distance of a
 * camera from the straight line a unit travels. City-scale distances: an equirectangular
 * projection around the points is exact to well under a metre.
 */

const R = 6_371_000;
const rad = (d: number) => (d * Math.PI) / 180;

/** Great-circle distance in metres. */
export function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Whether [lon, lat] lies inside the closed ring `poly` (ray casting; the boundary counts as inside or not, either way). */
export function pointInPolygon(lon: number, lat: number, poly: readonly LonLat[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Distance in metres from point P to the segment A→B, and how far along it (0–1) the nearest
 * point lies.
 */
export function distanceToSegment(p: { lat: number; lon: number }, a: { lat: number; lon: number }, b: { lat: number; lon: number }): { distanceM: number; along: number } {
  const k = Math.cos(rad((a.lat + b.lat) / 2));
  const ax = 0, ay = 0;
  const bx = rad(b.lon - a.lon) * k * R, by = rad(b.lat - a.lat) * R;
  const px = rad(p.lon - a.lon) * k * R, py = rad(p.lat - a.lat) * R;
  const len2 = bx * bx + by * by;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * bx + (py - ay) * by) / len2));
  return { distanceM: Math.hypot(px - t * bx, py - t * by), along: t };
}

/** A grid polygon as sent: at least 3 distinct [lon, lat] points in range; closed or not. Returns the reason it is not one. */
export function polygonProblem(poly: unknown): string | null {
  if (!Array.isArray(poly)) return 'not a list of [lon, lat] points';
  if (poly.length < 3 || poly.length > 500) return 'needs 3 to 500 points';
  for (const p of poly) {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => typeof x === 'number' && Number.isFinite(x))) return 'each point is [lon, lat]';
    if (p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90) return 'a point lies outside -180..180, -90..90';
  }
  if (new Set(poly.map((p) => `${p[0]},${p[1]}`)).size < 3) return 'needs 3 distinct points';
  return null;
}
