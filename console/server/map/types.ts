/** A located device as the map and the camera searches show it (console/web/src/api/map.ts MapDevice). */
export interface MapDevice {
  id: string;
  name: string;
  kind: 'camera' | 'checkpoint' | 'mobile';
  cameraType: 'fixed' | 'ptz' | 'face' | null;
  lat: number;
  lon: number;
  heading: number | null;
  status: 'unknown' | 'online' | 'offline' | 'degraded';
  statusReason: string | null;
  /** The camera has a sub stream (small wall tiles play it). */
  hasSub: boolean;
  ptz: boolean;
  address: string | null;
  siteId: string | null;
}

/** An incident with a location, as a map marker. */
export interface MapIncident {
  id: string;
  number: string;
  type: string;
  title: string;
  status: 'new' | 'dispatched' | 'on_scene' | 'resolved' | 'closed' | 'cancelled';
  priority: number;
  lat: number;
  lon: number;
  occurredAt: Date;
}

export interface MapConfig {
  tileUrl: string;
  attribution: string;
  maxZoom: number;
  center: { lat: number; lon: number };
  zoom: number;
}

/** GeoJSON, as much of it as the base layer uses. */
export type Position = [lon: number, lat: number];
export type Geometry =
  | { type: 'Point'; coordinates: Position }
  | { type: 'LineString'; coordinates: Position[] }
  | { type: 'Polygon'; coordinates: Position[][] };
export interface Feature { type: 'Feature'; geometry: Geometry; properties: Record<string, string | number | null> }
export interface FeatureCollection { type: 'FeatureCollection'; features: Feature[] }

/** A site (platform, area, station) with where it stands and where its devices stand. */
export interface SitePlace {
  id: string;
  code: string;
  name: string;
  kind: 'platform' | 'area' | 'station';
  lat: number | null;
  lon: number | null;
  /** Positions of the located devices in service that belong to it. */
  devices: Position[];
}
