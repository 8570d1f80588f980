// The linkage's drawing on a Leaflet map (SiteMap owns the map and hands it here): patrol units as
// markers with a heading arrow and their call sign, greyed when their position is stale and moved in
// place as `unit.positions` arrive; an incident's three rings (三圈); a unit's grid (责任田).
// Text goes in as text (textContent), never as markup from data.
import L from 'leaflet'
import type { LonLat, RingSet, Unit } from '../../api/linkage.ts'
import { isStale } from './linkage-model.ts'
import './unit-layer.css'

/** What the map needs of a unit. */
export type MapUnit = Pick<Unit, 'id' | 'callSign' | 'kind' | 'state' | 'position' | 'stale' | 'members'>

export const UNIT_STATE_COLOR: Record<Unit['state'], string> = { available: '#3ddc84', busy: '#ffc53d', off_duty: '#8c9bb0' }
export const RING_COLORS = ['#ff4d4f', '#ff8a3d', '#ffc53d'] as const

export interface UnitLayerText {
  /** The tooltip's lines for a unit (state, members, age). */
  tip: (unit: MapUnit, now: number) => string[]
  ring: (ring: number) => string
}

function el(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag)
  node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

export class UnitLayer {
  private readonly units = L.layerGroup()
  private readonly rings = L.layerGroup()
  private readonly grids = L.layerGroup()
  private readonly markers = new Map<string, { marker: L.Marker; unit: MapUnit; node: HTMLElement }>()
  private ringKey = ''
  private gridKey = ''

  constructor(private readonly map: L.Map, private readonly text: UnitLayerText, private readonly onClick?: (unit: MapUnit) => void) {
    map.createPane('sk-rings').style.zIndex = '380'
    map.createPane('sk-units').style.zIndex = '640'
    this.grids.addTo(map)
    this.rings.addTo(map)
    this.units.addTo(map)
  }

  /** Units with a position are drawn; a marker already there moves and restyles in place. */
  setUnits(units: readonly MapUnit[], now = Date.now()): void {
    const seen = new Set<string>()
    for (const unit of units) {
      const p = unit.position
      if (!p || !Number.isFinite(p.lat) || !Number.isFinite(p.lon)) continue
      seen.add(unit.id)
      const held = this.markers.get(unit.id)
      if (held) {
        if (held.unit !== unit) {
          held.unit = unit
          held.marker.setLatLng([p.lat, p.lon])
          this.style(held.node, unit, now)
        }
        continue
      }
      const node = el('div', 'sk-unit')
      node.dataset.test = 'map-unit'
      node.dataset.unitId = unit.id
      node.append(el('span', 'sk-unit-arrow'), el('span', 'sk-unit-dot'), el('span', 'sk-unit-label', unit.callSign))
      this.style(node, unit, now)
      const marker = L.marker([p.lat, p.lon], {
        icon: L.divIcon({ html: node, className: 'sk-unit-icon', iconSize: [28, 28], iconAnchor: [14, 14] }),
        pane: 'sk-units', keyboard: false, bubblingMouseEvents: false,
      })
      const id = unit.id
      marker.bindTooltip(() => this.tip(id), { direction: 'top', offset: [0, -14], className: 'sk-map-tip', opacity: 1 })
      marker.on('click', () => { const u = this.markers.get(id)?.unit; if (u) this.onClick?.(u) })
      this.units.addLayer(marker)
      this.markers.set(unit.id, { marker, unit, node })
    }
    for (const [id, held] of this.markers) {
      if (seen.has(id)) continue
      this.units.removeLayer(held.marker)
      this.markers.delete(id)
    }
  }

  /** Re-grey units whose fix aged (called every few seconds). */
  tick(now = Date.now()): void {
    for (const held of this.markers.values()) this.style(held.node, held.unit, now)
  }

  private style(node: HTMLElement, unit: MapUnit, now: number): void {
    const p = unit.position!
    const stale = isStale(unit, now)
    node.dataset.stale = String(stale)
    node.dataset.state = unit.state
    node.dataset.lat = p.lat.toFixed(6)
    node.dataset.lon = p.lon.toFixed(6)
    node.classList.toggle('stale', stale)
    node.style.setProperty('--c', stale ? '#6b778a' : UNIT_STATE_COLOR[unit.state])
    const arrow = node.firstElementChild as HTMLElement | null
    if (arrow) {
      arrow.style.display = p.heading === null || !Number.isFinite(p.heading) ? 'none' : ''
      arrow.style.transform = `rotate(${p.heading ?? 0}deg)`
    }
    const label = node.lastElementChild as HTMLElement | null
    if (label && label.textContent !== unit.callSign) label.textContent = unit.callSign
  }

  private tip(id: string): HTMLElement {
    const held = this.markers.get(id)
    const box = el('div', 'sk-tip')
    if (!held) return box
    box.append(el('div', 'sk-tip-title', held.unit.callSign))
    for (const line of this.text.tip(held.unit, Date.now())) box.append(el('div', 'sk-tip-row', line))
    return box
  }

  /** An incident's three circles (innermost first), or none. */
  setRings(sets: readonly RingSet[]): void {
    const key = JSON.stringify(sets.map((s) => [s.incidentId, s.lat, s.lon, s.radiiM, s.active]))
    if (key === this.ringKey) return
    this.ringKey = key
    this.rings.clearLayers()
    for (const set of sets) {
      if (!set.active) continue
      // outermost first so the inner circles are drawn on top
      for (let i = 2; i >= 0; i--) {
        const radius = set.radiiM[i]
        if (!radius) continue
        const color = RING_COLORS[i]!
        const circle = L.circle([set.lat, set.lon], {
          radius, pane: 'sk-rings', color, weight: 2, dashArray: i === 0 ? undefined : '8 6', fillColor: color, fillOpacity: 0.05,
          interactive: false, className: `sk-ring sk-ring-${i}`,
        })
        this.rings.addLayer(circle)
        const name = el('span', 'sk-ring-label', `${this.text.ring(i)} ${radius >= 1000 ? `${radius / 1000} km` : `${radius} m`}`)
        name.style.color = color
        const north = L.latLng(set.lat + radius / 111_195, set.lon)
        this.rings.addLayer(L.marker(north, { icon: L.divIcon({ html: name, className: 'sk-ring-label-icon', iconSize: [0, 0] }), interactive: false, keyboard: false, pane: 'sk-rings' }))
      }
    }
  }

  /** Grid polygons (a unit's 责任田). */
  setGrids(grids: readonly (readonly LonLat[])[]): void {
    const key = JSON.stringify(grids)
    if (key === this.gridKey) return
    this.gridKey = key
    this.grids.clearLayers()
    for (const g of grids) {
      if (g.length < 3) continue
      this.grids.addLayer(L.polygon(g.map(([lon, lat]) => L.latLng(lat, lon)), { color: '#4f9dff', weight: 2, fillColor: '#4f9dff', fillOpacity: 0.1, interactive: false, className: 'sk-unit-grid' }))
    }
  }

  /** The box around the units, rings (all, or only the innermost) and grids drawn, or null. */
  bounds(rings: 'all' | 'inner' = 'all'): L.LatLngBounds | null {
    const b = L.latLngBounds([])
    for (const { marker } of this.markers.values()) b.extend(marker.getLatLng())
    this.rings.eachLayer((l) => { if (l instanceof L.Circle && (rings === 'all' || l.options.className?.includes('sk-ring-0'))) b.extend(l.getBounds()) })
    this.grids.eachLayer((l) => { if (l instanceof L.Polygon) b.extend(l.getBounds()) })
    return b.isValid() ? b : null
  }

  remove(): void {
    this.units.remove()
    this.rings.remove()
    this.grids.remove()
    this.markers.clear()
  }
}
