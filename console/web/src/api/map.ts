// The map's API (console/server/map) and the shapes SiteMap takes: tile settings, the offline base
// layer (GeoJSON), located devices in service, located incidents.
import type { DeviceState } from './devices.ts'
import { http } from './http.ts'

export interface LatLon { lat: number; lon: number }

/** A drawn search area: a polygon's corners in order (a rectangle is a 4-corner polygon). */
export interface DrawnArea { kind: 'rectangle' | 'polygon'; points: LatLon[] }

export interface MapDevice {
  id: string
  name: string
  kind: 'camera' | 'checkpoint' | 'mobile'
  cameraType: 'fixed' | 'ptz' | 'face' | null
  lat: number
  lon: number
  heading: number | null
  status: DeviceState
  statusReason: string | null
  /** The camera has a sub stream (small wall tiles play it). */
  hasSub: boolean
  ptz: boolean
  address: string | null
  siteId: string | null
}

export interface MapIncident {
  id: string
  number: string
  type: string
  title: string
  status: 'new' | 'dispatched' | 'on_scene' | 'resolved' | 'closed' | 'cancelled'
  priority: number
  lat: number
  lon: number
  occurredAt: string
}

/** Where the map's tiles come from (empty tileUrl: draw the offline base layer) and where it opens. */
export interface MapConfig {
  tileUrl: string
  attribution: string
  maxZoom: number
  center: LatLon
  zoom: number
}

/** [lon, lat], as GeoJSON orders them. */
export type Position = [number, number]

export interface BaseFeature {
  type: 'Feature'
  geometry:
    | { type: 'Point'; coordinates: Position }
    | { type: 'LineString'; coordinates: Position[] }
    | { type: 'Polygon'; coordinates: Position[][] }
  /**
   * kind 'road' (name, width in metres), 'place' (name), 'site' (name, siteKind platform|area|station,
   * siteId, code) or 'area' (name, siteId: the outline of an area's devices).
   */
  properties: { kind: 'road' | 'place' | 'site' | 'area'; name: string; [key: string]: string | number | null }
}

export interface BaseLayer { type: 'FeatureCollection'; features: BaseFeature[] }

export function mapConfig(signal?: AbortSignal): Promise<MapConfig> {
  return http.get<MapConfig>('/map/config', { signal })
}

/** The offline base layer: the demo town's roads and places, or the registry's sites and area outlines. */
export function baseLayer(signal?: AbortSignal): Promise<BaseLayer> {
  return http.get<BaseLayer>('/map/base', { signal })
}

/** Every located device in service, in one answer (2,200 devices ≈ 300 kB). */
export async function mapDevices(signal?: AbortSignal): Promise<MapDevice[]> {
  return (await http.get<{ items: MapDevice[] }>('/map/devices', { signal })).items
}

/** Located incidents, newest first: open ones only unless `open` is false. */
export async function mapIncidents(open = true, signal?: AbortSignal): Promise<MapIncident[]> {
  return (await http.get<{ items: MapIncident[] }>('/map/incidents', { query: { open }, signal })).items
}
