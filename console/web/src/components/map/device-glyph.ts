// One device on the map's canvas: a circle marker (so Leaflet's canvas renderer hit-tests, hovers and
// clicks it like any other) that paints its own glyph — a wedge in the camera's heading, a ring for PTZ,
// a square for checkpoints — at a constant pixel size. 2,200 of these are one <canvas>, not 2,200 DOM nodes.
//
// Leaflet has no public hook for a custom canvas shape: this overrides CircleMarker's `_updatePath` and
// `_updateBounds` (stable since Leaflet 1.0; checked against 1.9.4). Everything else is Leaflet's own.
import L from 'leaflet'
import { COLORS, coneLengthPx, type DeviceLook } from './map-model.ts'

export interface GlyphOptions extends L.CircleMarkerOptions {
  look: DeviceLook
  heading: number | null
}

interface Internals {
  _point: L.Point
  _radius: number
  _pxBounds: L.Bounds
  _map: L.Map
  _renderer: { _drawing: boolean; _ctx: CanvasRenderingContext2D; _bounds: L.Bounds }
  _empty(): boolean
  _clickTolerance(): number
  options: GlyphOptions
}

const CONE_SPREAD = Math.PI / 3
const OUTLINE = '#06101f'

/** How far the glyph reaches from its centre (pixels), for the renderer's dirty rectangles. */
function reach(layer: Internals): number {
  const { look } = layer.options
  const cone = look.shape === 'cone' ? coneLengthPx(layer._map?.getZoom() ?? 0) : 0
  return Math.max(cone, look.radius + (look.highlighted ? 8 : 3)) + 2
}

function paint(ctx: CanvasRenderingContext2D, x: number, y: number, look: DeviceLook, heading: number | null, zoom: number): void {
  const r = look.radius
  ctx.save()
  ctx.globalAlpha = look.dimmed ? 0.8 : 1
  if (look.shape === 'cone' && heading !== null) {
    const len = coneLengthPx(zoom)
    if (len > 0) {
      // compass heading (0 = north, clockwise) to canvas angle (0 = east, clockwise because y points down)
      const a = ((heading - 90) * Math.PI) / 180
      ctx.beginPath()
      ctx.moveTo(x, y)
      ctx.arc(x, y, len, a - CONE_SPREAD / 2, a + CONE_SPREAD / 2)
      ctx.closePath()
      ctx.globalAlpha = look.dimmed ? 0.18 : 0.3
      ctx.fillStyle = look.color
      ctx.fill()
      ctx.globalAlpha = look.dimmed ? 0.5 : 0.85
      ctx.lineWidth = 1
      ctx.strokeStyle = look.color
      ctx.stroke()
      ctx.globalAlpha = look.dimmed ? 0.8 : 1
    }
  }
  ctx.beginPath()
  if (look.shape === 'square') {
    const s = r + 1
    ctx.rect(x - s, y - s, 2 * s, 2 * s)
  } else {
    ctx.arc(x, y, look.shape === 'ring' ? r + 1.5 : r, 0, Math.PI * 2)
  }
  if (look.shape === 'ring') {
    ctx.fillStyle = OUTLINE
    ctx.fill()
    ctx.lineWidth = 2.5
    ctx.strokeStyle = look.color
    ctx.stroke()
    ctx.beginPath()
    ctx.arc(x, y, 2, 0, Math.PI * 2)
    ctx.fillStyle = look.color
    ctx.fill()
  } else {
    ctx.fillStyle = look.color
    ctx.fill()
    ctx.lineWidth = 1.5
    ctx.strokeStyle = OUTLINE
    ctx.stroke()
  }
  if (look.highlighted) {
    ctx.beginPath()
    ctx.arc(x, y, r + 6, 0, Math.PI * 2)
    ctx.globalAlpha = 1
    ctx.lineWidth = 2
    ctx.strokeStyle = COLORS.highlight
    ctx.stroke()
  }
  ctx.restore()
}

const Glyph = L.CircleMarker.extend({
  _updateBounds(this: Internals) {
    const w = reach(this) + this._clickTolerance()
    const p = this._point
    this._pxBounds = new L.Bounds(p.subtract([w, w]), p.add([w, w]))
  },
  _updatePath(this: Internals) {
    const renderer = this._renderer
    if (!renderer._drawing || this._empty()) return
    paint(renderer._ctx, this._point.x, this._point.y, this.options.look, this.options.heading, this._map.getZoom())
  },
})

export type DeviceGlyph = L.CircleMarker & { options: GlyphOptions }

/** A device glyph at a position; its radius (for hit-testing) is the look's dot plus a little. */
export function deviceGlyph(at: L.LatLngExpression, options: Omit<GlyphOptions, 'radius'>): DeviceGlyph {
  const GlyphClass = Glyph as unknown as new (at: L.LatLngExpression, options: GlyphOptions) => DeviceGlyph
  return new GlyphClass(at, { ...options, radius: options.look.radius + 3 })
}

/** Restyle a glyph in place (status change, highlight) and repaint it. */
export function restyleGlyph(glyph: DeviceGlyph, look: DeviceLook, heading: number | null): void {
  glyph.options.look = look
  glyph.options.heading = heading
  glyph.setRadius(look.radius + 3)
}
