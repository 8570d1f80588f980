import { DEMO_PLACES, DEMO_ROADS } from '../../../config/demo-site.ts';
import type { Feature, FeatureCollection, Position, SitePlace } from './types.ts';

/**
 * The offline base layer (no tile server configured): GeoJSON the web map draws under the devices.
 * Pure functions of plain values; the service decides which one applies.
 */

/** Round to 6 decimals (≈ 0.1 m): smaller output, same drawing. */
const r6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** Site points: every site that has a position, with its kind (platform, area, station). */
function sitePoints(sites: readonly SitePlace[]): Feature[] {
  return sites.filter((s) => s.lat !== null && s.lon !== null).map((s) => ({
    type: 'Feature', geometry: { type: 'Point', coordinates: [r6(s.lon!), r6(s.lat!)] },
    properties: { kind: 'site', name: s.name, siteKind: s.kind, siteId: s.id, code: s.code },
  }));
}

/**
 * The convex hull of points (Andrew's monotone chain), counter-clockwise, closed (first point
 * repeated last) as a GeoJSON ring wants; fewer than 3 distinct non-collinear points → null.
 */
export function convexHull(points: readonly Position[]): Position[] | null {
  const pts = [...new Map(points.map((p) => [`${p[0]},${p[1]}`, p] as const)).values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return null;
  const cross = (o: Position, a: Position, b: Position) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Position[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower.at(-2)!, lower.at(-1)!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Position[] = [];
  for (const p of [...pts].reverse()) {
    while (upper.length >= 2 && cross(upper.at(-2)!, upper.at(-1)!, p) <= 0) upper.pop();
    upper.push(p);
  }
  const hull = [...lower.slice(0, -1), ...upper.slice(0, -1)];
  if (hull.length < 3) return null;
  return [...hull, hull[0]!];
}

/** A site registry's own base layer: site points, and each area's outline as the hull of its devices. */
export function sitesBaseLayer(sites: readonly SitePlace[]): FeatureCollection {
  const areas: Feature[] = [];
  for (const s of sites) {
    if (s.kind !== 'area') continue;
    const ring = convexHull(s.devices);
    if (ring) areas.push({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring.map(([x, y]) => [r6(x), r6(y)])] }, properties: { kind: 'area', name: s.name, siteId: s.id } });
  }
  return { type: 'FeatureCollection', features: [...areas, ...sitePoints(sites)] };
}

/** The demo town: its streets and places (config/demo-site.ts), plus the sites of the registry. */
export function demoBaseLayer(sites: readonly SitePlace[]): FeatureCollection {
  const roads: Feature[] = DEMO_ROADS.map((road) => ({
    type: 'Feature', geometry: { type: 'LineString', coordinates: road.path.map(([lat, lon]) => [lon, lat] as Position) },
    properties: { kind: 'road', name: road.name, width: road.width },
  }));
  const places: Feature[] = DEMO_PLACES.map((p) => ({
    type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { kind: 'place', name: p.name },
  }));
  return { type: 'FeatureCollection', features: [...roads, ...places, ...sitePoints(sites)] };
}
