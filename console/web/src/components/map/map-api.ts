// Client calls of the map's API (console/server/map), used by SiteMap and MapPage. They live here while
// api/map.ts (the search-server helper's file) carries only the shared types.
import { http } from '../../api/http.ts'
import type { LatLon, MapDevice, MapIncident } from '../../api/map.ts'

export interface MapConfig {
  /** Tile server URL template ({z}/{x}/{y}); empty: draw the offline base layer. */
  tileUrl: string
  attribution: string
  maxZoom: number
  center: LatLon
  zoom: number
}

export type Position = [lon: number, lat: number]
export type BaseGeometry =
  | { type: 'Point'; coordinates: Position }
  | { type: 'LineString'; coordinates: Position[] }
  | { type: 'Polygon'; coordinates: Position[][] }
export interface BaseFeature {
  type: 'Feature'
  geometry: BaseGeometry
  /** kind: road (name, width?) | place (name) | site (name, siteKind) | area (name). */
  properties: Record<string, string | number | null>
}
export interface BaseLayer { type: 'FeatureCollection'; features: BaseFeature[] }

export const fetchMapConfig = () => http.get<MapConfig>('/map/config')
export const fetchBaseLayer = () => http.get<BaseLayer>('/map/base')
export const fetchMapDevices = () => http.get<{ items: MapDevice[] }>('/map/devices').then((r) => r.items)
export const fetchMapIncidents = (open = true) => http.get<{ items: MapIncident[] }>('/map/incidents', { query: { open } }).then((r) => r.items)
