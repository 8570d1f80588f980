// The map's API (console/server/map) and the shapes SiteMap takes. PLACEHOLDER types (issue 9): the map
// helper completes the client functions; the types are the contract.
import type { DeviceState } from './devices.ts'

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
