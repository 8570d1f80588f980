// The site map's decisions as plain functions of plain values (STYLE.md §7): marker looks, the heading
// cone's geometry, the drawing interaction's state, the offline grid, area <-> query text, realtime merges.
// SiteMap.vue only turns their results into Leaflet layers.
import type { DeviceState } from '../../api/devices.ts'
import type { DrawnArea, LatLon, MapDevice, MapIncident } from '../../api/map.ts'

const EARTH_RADIUS_M = 6_378_137
const EARTH_CIRCUMFERENCE_M = 2 * Math.PI * EARTH_RADIUS_M
const DEG = Math.PI / 180

export interface Bounds { south: number; west: number; north: number; east: number }

/** Ground metres covered by one screen pixel at a latitude and zoom (Web Mercator, 256 px tiles). */
export function metersPerPixel(lat: number, zoom: number): number {
  return (EARTH_CIRCUMFERENCE_M * Math.cos(lat * DEG)) / 2 ** (zoom + 8)
}

/** The point `distance` metres from `from` along a compass bearing (0 = north, 90 = east); flat-earth, fine below ~50 km. */
export function offsetPoint(from: LatLon, bearingDeg: number, distanceM: number): LatLon {
  const b = bearingDeg * DEG
  const dLat = (distanceM * Math.cos(b)) / EARTH_RADIUS_M
  const dLon = (distanceM * Math.sin(b)) / (EARTH_RADIUS_M * Math.cos(from.lat * DEG))
  return { lat: from.lat + dLat / DEG, lon: from.lon + dLon / DEG }
}

/** Compass bearings normalised into [0, 360). */
export function normalizeHeading(deg: number): number {
  return ((deg % 360) + 360) % 360
}

/**
 * A fixed camera's field of view as a closed wedge: the camera's point, then the arc from
 * heading - spread/2 to heading + spread/2 at `lengthM`, `steps` segments along the arc.
 */
export function headingCone(center: LatLon, headingDeg: number, lengthM: number, spreadDeg = 60, steps = 8): LatLon[] {
  const start = normalizeHeading(headingDeg) - spreadDeg / 2
  const points: LatLon[] = [center]
  for (let i = 0; i <= steps; i++) points.push(offsetPoint(center, start + (spreadDeg * i) / steps, lengthM))
  return points
}

/** A square of `sideM` metres centred on a point, corners clockwise from the north-west (checkpoints). */
export function squareAround(center: LatLon, sideM: number): LatLon[] {
  const half = sideM / 2
  const n = offsetPoint(center, 0, half).lat
  const s = offsetPoint(center, 180, half).lat
  const e = offsetPoint(center, 90, half).lon
  const w = offsetPoint(center, 270, half).lon
  return [{ lat: n, lon: w }, { lat: n, lon: e }, { lat: s, lon: e }, { lat: s, lon: w }]
}

// ---------------------------------------------------------------------------------------------------
// Marker looks

export type DeviceShape = 'cone' | 'ring' | 'square' | 'dot'

export interface DeviceLook {
  shape: DeviceShape
  /** Stroke and fill colour. */
  color: string
  /** Offline and unknown devices are drawn greyed. */
  dimmed: boolean
  /** Radius of the centre dot in pixels. */
  radius: number
  highlighted: boolean
}

export const COLORS = {
  fixed: '#2ea8ff',
  ptz: '#36d1a4',
  face: '#c77dff',
  checkpoint: '#ffb020',
  mobile: '#7fd3ff',
  offline: '#5d6b80',
  degraded: '#ff8a3d',
  highlight: '#ffe14d',
} as const

/** Shown as live: online, or degraded (it streams, with a warning colour). */
export function isUp(status: DeviceState): boolean {
  return status === 'online' || status === 'degraded'
}

/** How a device is drawn: fixed cameras a wedge in their heading, PTZ a ring, face cameras their own colour, checkpoints a square. */
export function deviceLook(device: Pick<MapDevice, 'kind' | 'cameraType' | 'status' | 'heading'>, highlighted = false): DeviceLook {
  let shape: DeviceShape
  let color: string
  if (device.kind === 'checkpoint') {
    shape = 'square'
    color = COLORS.checkpoint
  } else if (device.kind === 'mobile') {
    shape = 'dot'
    color = COLORS.mobile
  } else if (device.cameraType === 'ptz') {
    shape = 'ring'
    color = COLORS.ptz
  } else {
    // a fixed or face camera: a wedge when its heading is known, a dot otherwise
    shape = device.heading === null ? 'dot' : 'cone'
    color = device.cameraType === 'face' ? COLORS.face : COLORS.fixed
  }
  const dimmed = !isUp(device.status)
  if (dimmed) color = COLORS.offline
  else if (device.status === 'degraded') color = COLORS.degraded
  return { shape, color, dimmed, radius: highlighted ? 7 : 5, highlighted }
}

/** Cone length on screen (pixels) for a zoom: short when zoomed out so the town does not turn into a blur of wedges. */
export function coneLengthPx(zoom: number): number {
  if (zoom <= 13) return 0
  if (zoom <= 15) return 18
  return 30
}

export interface IncidentLook {
  color: string
  /** Open incidents pulse; resolved ones do not. */
  pulse: boolean
  /** Pixel size of the marker. */
  size: number
}

const PRIORITY_COLORS: Record<number, string> = { 1: '#ff3b3b', 2: '#ff8a3d', 3: '#ffd23f', 4: '#4fc3f7' }

/** Incidents coloured by priority while open; resolved green and still; closed/cancelled grey. */
export function incidentLook(incident: Pick<MapIncident, 'status' | 'priority'>): IncidentLook {
  const size = incident.priority <= 1 ? 22 : incident.priority === 2 ? 20 : 18
  if (incident.status === 'resolved') return { color: '#3ddc84', pulse: false, size }
  if (incident.status === 'closed' || incident.status === 'cancelled') return { color: COLORS.offline, pulse: false, size }
  return { color: PRIORITY_COLORS[incident.priority] ?? PRIORITY_COLORS[4]!, pulse: true, size }
}

// ---------------------------------------------------------------------------------------------------
// Geometry helpers

export function boundsOf(points: LatLon[]): Bounds | null {
  if (points.length === 0) return null
  let south = Infinity
  let west = Infinity
  let north = -Infinity
  let east = -Infinity
  for (const p of points) {
    south = Math.min(south, p.lat)
    north = Math.max(north, p.lat)
    west = Math.min(west, p.lon)
    east = Math.max(east, p.lon)
  }
  return { south, west, north, east }
}

/** Inside or on the edge of the box. */
export function pointInBounds(p: LatLon, b: Bounds): boolean {
  return p.lat >= b.south && p.lat <= b.north && p.lon >= b.west && p.lon <= b.east
}

/** Ray casting; a point on an edge may fall either way. */
export function pointInPolygon(p: LatLon, polygon: LatLon[]): boolean {
  let inside = false
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!
    const b = polygon[j]!
    if (a.lat > p.lat !== b.lat > p.lat && p.lon < ((b.lon - a.lon) * (p.lat - a.lat)) / (b.lat - a.lat) + a.lon) inside = !inside
  }
  return inside
}

/** A dragged rectangle as a 4-corner polygon, whichever way it was dragged: NW, NE, SE, SW. */
export function rectangleArea(a: LatLon, b: LatLon): DrawnArea {
  const north = Math.max(a.lat, b.lat)
  const south = Math.min(a.lat, b.lat)
  const east = Math.max(a.lon, b.lon)
  const west = Math.min(a.lon, b.lon)
  return { kind: 'rectangle', points: [{ lat: north, lon: west }, { lat: north, lon: east }, { lat: south, lon: east }, { lat: south, lon: west }] }
}

// ---------------------------------------------------------------------------------------------------
// The opening view and the base map's labels

/** Padding (px) kept around the devices when the map opens fitted to them. */
export const FIT_PADDING_PX = 40
/** The closest the opening fit zooms (one camera, or a few on one corner): street level, not a single roof. */
export const FIT_MAX_ZOOM = 17

/** What the map opens on: the box around every located device, or null when none is located (the configured centre then). */
export function fitBounds(devices: readonly Pick<MapDevice, 'lat' | 'lon'>[]): Bounds | null {
  return boundsOf(devices.filter((d) => Number.isFinite(d.lat) && Number.isFinite(d.lon)))
}

/** The box (degrees) around a circle: what the map shows of a focus and its radius (the nearby-camera search). */
export function circleBounds(center: LatLon, radiusM: number): Bounds {
  return {
    south: offsetPoint(center, 180, radiusM).lat,
    north: offsetPoint(center, 0, radiusM).lat,
    west: offsetPoint(center, 270, radiusM).lon,
    east: offsetPoint(center, 90, radiusM).lon,
  }
}

/** A screen box in pixels (x to the right, y down). */
export interface Box { x: number; y: number; width: number; height: number }

export type LabelKind = 'site' | 'place' | 'road'
/** Where a name sits beside its point: right of it (the default), or left when the right is taken. */
export type LabelSide = 'right' | 'left'

/** Which labels are placed first: police sites, then places, then roads. */
const LABEL_PRIORITY: Record<LabelKind, number> = { site: 3, place: 2, road: 1 }
/** Wide characters (CJK, full-width forms) are an em wide; others about 0.6 em. */
const WIDE = /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/

/** Estimated width (px) of a line of text in a `fontPx` font: no DOM measuring on every zoom step. */
export function textWidth(text: string, fontPx: number): number {
  let em = 0
  for (const ch of text) em += WIDE.test(ch) ? 1 : 0.6
  return em * fontPx
}

/**
 * Where a base label is drawn around its anchor point `at` (pixels), as SiteMap's CSS places it:
 * a road name centred on the road (11 px, 1 px letter spacing); a place name 6 px beside its dot
 * (12 px); a site's 18 px badge centred on the point with its name 4 px beside it (12 px).
 */
export function labelBox(kind: LabelKind, at: { x: number; y: number }, text: string, side: LabelSide = 'right'): Box {
  if (kind === 'road') {
    const width = textWidth(text, 11) + text.length
    return { x: at.x - width / 2, y: at.y - 8, width, height: 16 }
  }
  const width = textWidth(text, 12)
  if (kind === 'place') return { x: side === 'right' ? at.x + 6 : at.x - 6 - width, y: at.y - 8, width, height: 16 }
  const full = 18 + 4 + width
  return { x: side === 'right' ? at.x - 9 : at.x + 9 - full, y: at.y - 9, width: full, height: 18 }
}

/** The placements tried for a label, in order: roads only on the road; names right of their point, else left. */
export function labelSides(kind: LabelKind): LabelSide[] {
  return kind === 'road' ? ['right'] : ['right', 'left']
}

/** Boxes bucketed on a coarse grid, so a label is tested against its neighbours only (thousands of cameras). */
class BoxGrid {
  private cells = new Map<string, Box[]>()
  constructor(private readonly cell = 64) {}
  private keys(b: Box, gap: number): string[] {
    const keys: string[] = []
    const x0 = Math.floor((b.x - gap) / this.cell)
    const x1 = Math.floor((b.x + b.width + gap) / this.cell)
    const y0 = Math.floor((b.y - gap) / this.cell)
    const y1 = Math.floor((b.y + b.height + gap) / this.cell)
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) keys.push(`${x},${y}`)
    return keys
  }
  add(b: Box): void {
    for (const k of this.keys(b, 0)) {
      const list = this.cells.get(k)
      if (list) list.push(b)
      else this.cells.set(k, [b])
    }
  }
  hits(b: Box, gap: number): boolean {
    for (const k of this.keys(b, gap)) for (const o of this.cells.get(k) ?? []) if (overlaps(o, b, gap)) return true
    return false
  }
}

function overlaps(a: Box, b: Box, gap: number): boolean {
  return a.x < b.x + b.width + gap && b.x < a.x + a.width + gap && a.y < b.y + b.height + gap && b.y < a.y + a.height + gap
}

/**
 * Where to show each base label so that none covers another or a marker: markers (`obstacles`:
 * camera dots, incidents) always stay; then, by priority (sites, places, roads; first come first
 * within a kind), each label takes the first of its placements that keeps `gap` px from everything
 * placed before, or is hidden. Returns label id → index of the placement taken. Run per zoom level:
 * zoomed in, things move apart and hidden names come back.
 */
export function declutterLabels(labels: readonly { id: number; kind: LabelKind; boxes: readonly Box[] }[], obstacles: readonly Box[] = [], gap = 2): Map<number, number> {
  const taken = new BoxGrid()
  for (const o of obstacles) taken.add(o)
  const order = labels.map((l, i) => ({ l, i })).sort((a, b) => LABEL_PRIORITY[b.l.kind] - LABEL_PRIORITY[a.l.kind] || a.i - b.i)
  const placed = new Map<number, number>()
  for (const { l } of order) {
    const at = l.boxes.findIndex((b) => !taken.hits(b, gap))
    if (at < 0) continue
    taken.add(l.boxes[at]!)
    placed.set(l.id, at)
  }
  return placed
}

/** A marker's box on screen: `size` px square centred on its point (a camera's dot, an incident's ring). */
export function markerBox(at: { x: number; y: number }, size: number): Box {
  return { x: at.x - size / 2, y: at.y - size / 2, width: size, height: size }
}

// ---------------------------------------------------------------------------------------------------
// The drawing interaction: a small state machine fed by map events (SiteMap turns Leaflet events into actions).

export type DrawMode = 'point' | 'rectangle' | 'polygon'

export type DrawState =
  | { mode: DrawMode | null; phase: 'idle' }
  | { mode: 'rectangle'; phase: 'dragging'; start: LatLon; current: LatLon }
  | { mode: 'polygon'; phase: 'adding'; points: LatLon[]; cursor: LatLon | null }

export type DrawAction =
  /** A click; `nearFirst`: within a few pixels of the polygon's first point. */
  | { type: 'click'; at: LatLon; nearFirst?: boolean }
  | { type: 'dblclick'; at: LatLon }
  | { type: 'down'; at: LatLon }
  | { type: 'move'; at: LatLon }
  | { type: 'up'; at: LatLon }
  | { type: 'escape' }

export type DrawResult = { kind: 'point'; point: LatLon } | { kind: 'area'; area: DrawnArea } | null

export interface DrawStep { state: DrawState; result: DrawResult }

/** A rectangle smaller than this (degrees on both sides, ≈1 m) is a click, not a drag. */
const MIN_RECT_DEG = 0.00001

export function initialDraw(mode: DrawMode | null): DrawState {
  return { mode, phase: 'idle' }
}

/** Whether two points are the same spot (a double click adds the same point twice). */
function samePoint(a: LatLon, b: LatLon): boolean {
  return Math.abs(a.lat - b.lat) < 1e-9 && Math.abs(a.lon - b.lon) < 1e-9
}

function finishPolygon(points: LatLon[], mode: DrawMode | null): DrawStep {
  const distinct = points.filter((p, i) => i === 0 || !samePoint(p, points[i - 1]!))
  if (distinct.length > 1 && samePoint(distinct[0]!, distinct[distinct.length - 1]!)) distinct.pop()
  if (distinct.length < 3) return { state: { mode: 'polygon', phase: 'adding', points: distinct, cursor: null }, result: null }
  return { state: initialDraw(mode), result: { kind: 'area', area: { kind: 'polygon', points: distinct } } }
}

/**
 * One step of the drawing interaction. point: a click picks. rectangle: press, drag, release
 * (Esc while dragging cancels). polygon: clicks add corners; a double click, or a click on the first
 * corner, finishes once there are 3; Esc throws the polygon away.
 */
export function drawStep(state: DrawState, action: DrawAction): DrawStep {
  const mode = state.mode
  if (action.type === 'escape') return { state: initialDraw(mode), result: null }
  if (mode === null) return { state, result: null }
  if (mode === 'point') {
    return action.type === 'click' ? { state, result: { kind: 'point', point: action.at } } : { state, result: null }
  }
  if (mode === 'rectangle') {
    if (action.type === 'down') return { state: { mode, phase: 'dragging', start: action.at, current: action.at }, result: null }
    if (state.phase !== 'dragging') return { state, result: null }
    if (action.type === 'move') return { state: { ...state, current: action.at }, result: null }
    if (action.type === 'up') {
      const tiny = Math.abs(action.at.lat - state.start.lat) < MIN_RECT_DEG || Math.abs(action.at.lon - state.start.lon) < MIN_RECT_DEG
      return { state: initialDraw(mode), result: tiny ? null : { kind: 'area', area: rectangleArea(state.start, action.at) } }
    }
    return { state, result: null }
  }
  // polygon
  const points = state.phase === 'adding' ? state.points : []
  if (action.type === 'click') {
    if (action.nearFirst && points.length >= 3) return finishPolygon(points, mode)
    return { state: { mode, phase: 'adding', points: [...points, action.at], cursor: action.at }, result: null }
  }
  if (action.type === 'dblclick') return finishPolygon([...points, action.at], mode)
  if (action.type === 'move' && state.phase === 'adding') return { state: { ...state, cursor: action.at }, result: null }
  return { state, result: null }
}

/** What to draw while drawing: the rectangle being dragged or the polygon so far (with the rubber band to the cursor). */
export function drawPreview(state: DrawState): { kind: 'rectangle' | 'polyline'; points: LatLon[] } | null {
  if (state.phase === 'dragging') return { kind: 'rectangle', points: rectangleArea(state.start, state.current).points }
  if (state.phase === 'adding') return { kind: 'polyline', points: state.cursor ? [...state.points, state.cursor] : state.points }
  return null
}

// ---------------------------------------------------------------------------------------------------
// The drawn area in a URL: `area=lat,lon;lat,lon;…` (the /search page reads it).

export function areaToQuery(area: DrawnArea): string {
  return area.points.map((p) => `${p.lat.toFixed(6)},${p.lon.toFixed(6)}`).join(';')
}

/** The polygon from `area=`; null when malformed, out of range, or fewer than 3 corners. */
export function areaFromQuery(text: string | null | undefined): LatLon[] | null {
  if (!text) return null
  const points: LatLon[] = []
  for (const pair of text.split(';')) {
    const [a, b, ...rest] = pair.split(',')
    if (a === undefined || b === undefined || rest.length) return null
    const lat = Number(a)
    const lon = Number(b)
    if (a.trim() === '' || b.trim() === '' || !Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null
    points.push({ lat, lon })
  }
  return points.length >= 3 ? points : null
}

// ---------------------------------------------------------------------------------------------------
// The offline base layer's grid

/** Grid spacing in degrees for a zoom: about 6–12 lines across the screen. */
export function gridStep(zoom: number): number {
  const steps = [1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002]
  // one step per zoom level from 8 up
  const i = Math.max(0, Math.min(steps.length - 1, Math.round(zoom) - 8))
  return steps[i]!
}

/** Meridians and parallels covering the bounds at `step` degrees (at most 200 of each). */
export function gridLines(b: Bounds, step: number): { lats: number[]; lons: number[] } {
  const range = (from: number, to: number) => {
    const out: number[] = []
    const first = Math.ceil(from / step)
    const last = Math.floor(to / step)
    for (let i = first; i <= last && out.length < 200; i++) out.push(+(i * step).toFixed(6))
    return out
  }
  return { lats: range(b.south, b.north), lons: range(b.west, b.east) }
}

// ---------------------------------------------------------------------------------------------------
// The page's filters and realtime merges

export interface DeviceFilter { cameras: boolean; checkpoints: boolean; q: string }

/** Layer toggles (mobile devices travel with the cameras) and a name/address search (case-insensitive). */
export function filterDevices(devices: MapDevice[], filter: DeviceFilter): MapDevice[] {
  const q = filter.q.trim().toLowerCase()
  return devices.filter((d) => {
    if (d.kind === 'checkpoint' ? !filter.checkpoints : !filter.cameras) return false
    if (!q) return true
    return d.name.toLowerCase().includes(q) || (d.address ?? '').toLowerCase().includes(q)
  })
}

/** A `device.status` event applied to the list: a new array with that device's status, or the same array when unknown. */
export function applyDeviceStatus(devices: MapDevice[], payload: Record<string, unknown>): MapDevice[] {
  const id = payload.deviceId
  const status = payload.status
  if (typeof id !== 'string' || typeof status !== 'string') return devices
  const i = devices.findIndex((d) => d.id === id)
  if (i < 0) return devices
  const next = devices.slice()
  next[i] = { ...devices[i]!, status: status as DeviceState, statusReason: typeof payload.reason === 'string' ? payload.reason : null }
  return next
}

const OPEN = new Set(['new', 'dispatched', 'on_scene', 'resolved'])

/**
 * An `incident.created` / `incident.updated` summary merged into the map's open incidents: added or
 * replaced while open and located, dropped once closed or cancelled or when its location is cleared.
 */
export function mergeIncident(incidents: MapIncident[], summary: unknown): MapIncident[] {
  if (!summary || typeof summary !== 'object') return incidents
  const s = summary as Record<string, unknown>
  if (typeof s.id !== 'string') return incidents
  const rest = incidents.filter((i) => i.id !== s.id)
  const located = typeof s.lat === 'number' && typeof s.lon === 'number'
  if (!located || typeof s.status !== 'string' || !OPEN.has(s.status)) return rest
  const item: MapIncident = {
    id: s.id,
    number: String(s.number ?? ''),
    type: String(s.type ?? ''),
    title: String(s.title ?? ''),
    status: s.status as MapIncident['status'],
    priority: typeof s.priority === 'number' ? s.priority : 4,
    lat: s.lat as number,
    lon: s.lon as number,
    occurredAt: String(s.occurredAt ?? ''),
  }
  return [item, ...rest]
}
