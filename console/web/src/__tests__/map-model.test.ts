import { describe, expect, it } from 'vitest'
import type { MapDevice, MapIncident } from '../api/map.ts'
import {
  applyDeviceStatus,
  areaFromQuery,
  areaToQuery,
  boundsOf,
  circleBounds,
  declutterLabels,
  deviceLook,
  drawPreview,
  drawStep,
  filterDevices,
  fitBounds,
  gridLines,
  gridStep,
  headingCone,
  incidentLook,
  initialDraw,
  labelBox,
  labelSides,
  markerBox,
  mergeIncident,
  metersPerPixel,
  offsetPoint,
  pointInBounds,
  pointInPolygon,
  rectangleArea,
  squareAround,
  textWidth,
  type DrawAction,
  type DrawState,
} from '../components/map/map-model.ts'

const C = { lat: 37.0603, lon: 115.6691 }

/** Metres between two close points (flat earth). */
function dist(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dy = (b.lat - a.lat) * 111_320
  const dx = (b.lon - a.lon) * 111_320 * Math.cos((a.lat * Math.PI) / 180)
  return Math.hypot(dx, dy)
}
/** Compass bearing from a to b in degrees. */
function bearing(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dy = b.lat - a.lat
  const dx = (b.lon - a.lon) * Math.cos((a.lat * Math.PI) / 180)
  return ((Math.atan2(dx, dy) * 180) / Math.PI + 360) % 360
}

function device(over: Partial<MapDevice> = {}): MapDevice {
  return {
    id: 'd1', name: '人民路与建设街交叉口-东向西', kind: 'camera', cameraType: 'fixed', lat: C.lat, lon: C.lon, heading: 90,
    status: 'online', statusReason: null, hasSub: true, ptz: false, address: '清河县人民路', siteId: null, ...over,
  }
}

describe('heading cone geometry', () => {
  it('puts the wedge in the camera heading: apex at the camera, arc at the length, spread either side', () => {
    for (const heading of [0, 90, 180, 270, 45]) {
      const cone = headingCone(C, heading, 100, 60, 6)
      expect(cone).toHaveLength(8)
      expect(cone[0]).toEqual(C)
      const arc = cone.slice(1)
      for (const p of arc) expect(dist(C, p)).toBeCloseTo(100, 0)
      expect(bearing(C, arc[0]!)).toBeCloseTo((heading - 30 + 360) % 360, 0)
      expect(bearing(C, arc[arc.length - 1]!)).toBeCloseTo((heading + 30) % 360, 0)
      expect(bearing(C, arc[3]!)).toBeCloseTo(heading % 360, 0)
    }
  })

  it('normalises headings outside 0–360 and moves east/north the right way', () => {
    const a = headingCone(C, -90, 50)
    const b = headingCone(C, 270, 50)
    expect(a).toEqual(b)
    expect(offsetPoint(C, 90, 1000).lon).toBeGreaterThan(C.lon)
    expect(offsetPoint(C, 0, 1000).lat).toBeGreaterThan(C.lat)
    expect(dist(C, offsetPoint(C, 0, 1000))).toBeCloseTo(1000, -1)
  })

  it('sizes a checkpoint square and knows metres per pixel', () => {
    const sq = squareAround(C, 40)
    expect(dist(sq[0]!, sq[1]!)).toBeCloseTo(40, 0)
    expect(dist(sq[1]!, sq[2]!)).toBeCloseTo(40, 0)
    // equator, zoom 0: the whole world across 256 px
    expect(metersPerPixel(0, 0)).toBeCloseTo(156543.03, 1)
    expect(metersPerPixel(60, 10)).toBeCloseTo(156543.03 / 1024 / 2, 1)
  })
})

describe('marker looks', () => {
  it('draws fixed cameras as wedges, PTZ as rings, face in their own colour, checkpoints as squares', () => {
    expect(deviceLook(device()).shape).toBe('cone')
    expect(deviceLook(device({ heading: null })).shape).toBe('dot')
    expect(deviceLook(device({ cameraType: 'ptz', ptz: true })).shape).toBe('ring')
    const face = deviceLook(device({ cameraType: 'face' }))
    expect(face.shape).toBe('cone')
    expect(face.color).not.toBe(deviceLook(device()).color)
    expect(deviceLook(device({ kind: 'checkpoint', cameraType: null })).shape).toBe('square')
  })

  it('greys offline and unknown devices and enlarges highlighted ones', () => {
    const off = deviceLook(device({ status: 'offline' }))
    expect(off.dimmed).toBe(true)
    expect(off.color).toBe(deviceLook(device({ status: 'unknown', cameraType: 'ptz' })).color)
    expect(deviceLook(device({ status: 'degraded' })).dimmed).toBe(false)
    expect(deviceLook(device(), true).radius).toBeGreaterThan(deviceLook(device()).radius)
  })

  it('colours incidents by priority while open, pulses only open ones', () => {
    const inc = (status: MapIncident['status'], priority: number) => incidentLook({ status, priority })
    expect(inc('new', 1).pulse).toBe(true)
    expect(inc('new', 1).color).not.toBe(inc('new', 3).color)
    expect(inc('resolved', 1).pulse).toBe(false)
    expect(inc('closed', 1).pulse).toBe(false)
    expect(inc('new', 9).color).toBe(inc('new', 4).color)
  })
})

describe('bounds and polygons', () => {
  const box = { south: 37, west: 115, north: 38, east: 116 }
  it('tells points inside, on the edge and outside a box', () => {
    expect(pointInBounds({ lat: 37.5, lon: 115.5 }, box)).toBe(true)
    expect(pointInBounds({ lat: 38, lon: 116 }, box)).toBe(true)
    expect(pointInBounds({ lat: 38.0001, lon: 115.5 }, box)).toBe(false)
    expect(pointInBounds({ lat: 37.5, lon: 114.9 }, box)).toBe(false)
    expect(boundsOf([])).toBeNull()
    expect(boundsOf([{ lat: 1, lon: 5 }, { lat: -2, lon: 7 }])).toEqual({ south: -2, west: 5, north: 1, east: 7 })
  })

  it('tests points against a concave polygon', () => {
    // a U shape opening north
    const u = [{ lat: 0, lon: 0 }, { lat: 0, lon: 3 }, { lat: 3, lon: 3 }, { lat: 3, lon: 2 }, { lat: 1, lon: 2 }, { lat: 1, lon: 1 }, { lat: 3, lon: 1 }, { lat: 3, lon: 0 }]
    expect(pointInPolygon({ lat: 0.5, lon: 1.5 }, u)).toBe(true)
    expect(pointInPolygon({ lat: 2, lon: 1.5 }, u)).toBe(false)
    expect(pointInPolygon({ lat: 2, lon: 0.5 }, u)).toBe(true)
    expect(pointInPolygon({ lat: 5, lon: 0.5 }, u)).toBe(false)
  })

  it('orders a rectangle NW, NE, SE, SW whichever way it was dragged', () => {
    const want = [{ lat: 2, lon: 1 }, { lat: 2, lon: 3 }, { lat: 1, lon: 3 }, { lat: 1, lon: 1 }]
    expect(rectangleArea({ lat: 1, lon: 1 }, { lat: 2, lon: 3 }).points).toEqual(want)
    expect(rectangleArea({ lat: 2, lon: 3 }, { lat: 1, lon: 1 }).points).toEqual(want)
    expect(rectangleArea({ lat: 1, lon: 3 }, { lat: 2, lon: 1 })).toEqual({ kind: 'rectangle', points: want })
  })
})

describe('drawing state', () => {
  const run = (state: DrawState, actions: DrawAction[]) => {
    let s = state
    const results = []
    for (const a of actions) {
      const step = drawStep(s, a)
      s = step.state
      if (step.result) results.push(step.result)
    }
    return { state: s, results }
  }
  const p = (lat: number, lon: number) => ({ lat, lon })

  it('point mode: each click picks', () => {
    const { results } = run(initialDraw('point'), [{ type: 'click', at: p(1, 2) }, { type: 'move', at: p(3, 3) }])
    expect(results).toEqual([{ kind: 'point', point: p(1, 2) }])
  })

  it('no mode: nothing is drawn', () => {
    expect(run(initialDraw(null), [{ type: 'click', at: p(1, 2) }, { type: 'down', at: p(1, 1) }, { type: 'up', at: p(2, 2) }]).results).toEqual([])
  })

  it('rectangle: press, drag, release gives the area; Esc while dragging and a plain click give none', () => {
    const drag = run(initialDraw('rectangle'), [{ type: 'down', at: p(1, 1) }, { type: 'move', at: p(1.5, 2) }])
    expect(drawPreview(drag.state)?.points).toHaveLength(4)
    const done = run(drag.state, [{ type: 'up', at: p(2, 3) }])
    expect(done.results).toEqual([rectangleArea(p(1, 1), p(2, 3))].map((area) => ({ kind: 'area', area })))
    expect(done.state.phase).toBe('idle')
    expect(run(drag.state, [{ type: 'escape' }, { type: 'up', at: p(2, 3) }]).results).toEqual([])
    expect(run(initialDraw('rectangle'), [{ type: 'down', at: p(1, 1) }, { type: 'up', at: p(1, 1) }]).results).toEqual([])
  })

  it('polygon: clicks add corners, a double click finishes (its duplicate click point dropped)', () => {
    const { results, state } = run(initialDraw('polygon'), [
      { type: 'click', at: p(0, 0) }, { type: 'click', at: p(0, 1) }, { type: 'move', at: p(0.5, 0.5) },
      { type: 'click', at: p(1, 1) }, { type: 'dblclick', at: p(1, 1) },
    ])
    expect(results).toEqual([{ kind: 'area', area: { kind: 'polygon', points: [p(0, 0), p(0, 1), p(1, 1)] } }])
    expect(state.phase).toBe('idle')
  })

  it('polygon: a click on the first corner closes it; too few corners keeps drawing; Esc cancels', () => {
    const closed = run(initialDraw('polygon'), [
      { type: 'click', at: p(0, 0) }, { type: 'click', at: p(0, 1) }, { type: 'click', at: p(1, 1) }, { type: 'click', at: p(0, 0), nearFirst: true },
    ])
    expect(closed.results).toHaveLength(1)
    expect(closed.results[0]).toMatchObject({ kind: 'area', area: { points: [p(0, 0), p(0, 1), p(1, 1)] } })

    const short = run(initialDraw('polygon'), [{ type: 'click', at: p(0, 0) }, { type: 'dblclick', at: p(0, 1) }])
    expect(short.results).toEqual([])
    expect(short.state).toMatchObject({ phase: 'adding', points: [p(0, 0), p(0, 1)] })

    const cancelled = run(short.state, [{ type: 'escape' }, { type: 'click', at: p(5, 5) }])
    expect(cancelled.state).toMatchObject({ phase: 'adding', points: [p(5, 5)] })
    expect(drawPreview(run(short.state, [{ type: 'escape' }]).state)).toBeNull()
  })
})

describe('area query text', () => {
  it('round-trips a polygon through area=lat,lon;…', () => {
    const area = rectangleArea({ lat: 37.05, lon: 115.66 }, { lat: 37.07, lon: 115.68 })
    const text = areaToQuery(area)
    expect(text).toBe('37.070000,115.660000;37.070000,115.680000;37.050000,115.680000;37.050000,115.660000')
    expect(areaFromQuery(text)).toEqual(area.points)
  })

  it('refuses malformed, out-of-range and too-short areas', () => {
    for (const bad of ['', '1,2;3,4', '1,2;3,4;x,5', '1,2;3,4;91,5', '1,2;3,4;5,181', '1,2,3;3,4;5,6', '1,;3,4;5,6']) expect(areaFromQuery(bad)).toBeNull()
    expect(areaFromQuery(null)).toBeNull()
  })
})

describe('offline grid', () => {
  it('picks a finer step as the zoom grows and lists the lines inside the view', () => {
    expect(gridStep(14)).toBeLessThan(gridStep(10))
    expect(gridStep(2)).toBe(1)
    expect(gridStep(30)).toBe(0.0002)
    const lines = gridLines({ south: 37.051, west: 115.655, north: 37.069, east: 115.684 }, 0.005)
    expect(lines.lats).toEqual([37.055, 37.06, 37.065])
    expect(lines.lons).toEqual([115.655, 115.66, 115.665, 115.67, 115.675, 115.68])
    expect(gridLines({ south: 0, west: 0, north: 10, east: 10 }, 0.001).lats).toHaveLength(200)
  })
})

describe('filters and realtime merges', () => {
  const list = [device(), device({ id: 'd2', name: 'G308国道东出口卡口', kind: 'checkpoint', cameraType: null }), device({ id: 'd3', name: 'Station Dome', cameraType: 'ptz', address: '火车站广场' })]

  it('filters by layer and by name or address', () => {
    expect(filterDevices(list, { cameras: true, checkpoints: false, q: '' }).map((d) => d.id)).toEqual(['d1', 'd3'])
    expect(filterDevices(list, { cameras: false, checkpoints: true, q: '' }).map((d) => d.id)).toEqual(['d2'])
    expect(filterDevices(list, { cameras: true, checkpoints: true, q: ' station ' }).map((d) => d.id)).toEqual(['d3'])
    expect(filterDevices(list, { cameras: true, checkpoints: true, q: '火车站' }).map((d) => d.id)).toEqual(['d3'])
    expect(filterDevices(list, { cameras: false, checkpoints: false, q: '' })).toEqual([])
  })

  it('applies a device.status event to one device only', () => {
    const next = applyDeviceStatus(list, { deviceId: 'd2', status: 'offline', reason: 'timeout' })
    expect(next[1]).toMatchObject({ status: 'offline', statusReason: 'timeout' })
    expect(next[0]).toBe(list[0])
    expect(list[1]!.status).toBe('online')
    expect(applyDeviceStatus(list, { deviceId: 'nobody', status: 'offline' })).toBe(list)
    expect(applyDeviceStatus(list, { status: 'offline' })).toBe(list)
  })

  it('adds, replaces and drops incidents as they open, move and close', () => {
    const summary = { id: 'i1', number: 'QH20261202-0001', type: 'theft', title: '<b>盗窃</b>', status: 'new', priority: 2, lat: 37.06, lon: 115.67, occurredAt: '2026-12-02T10:00:00Z' }
    let incidents = mergeIncident([], summary)
    expect(incidents).toEqual([summary])
    incidents = mergeIncident(incidents, { ...summary, status: 'on_scene' })
    expect(incidents).toHaveLength(1)
    expect(incidents[0]!.status).toBe('on_scene')
    expect(mergeIncident(incidents, { ...summary, status: 'closed' })).toEqual([])
    expect(mergeIncident(incidents, { ...summary, lat: null, lon: null })).toEqual([])
    expect(mergeIncident(incidents, null)).toBe(incidents)
  })
})

describe('the opening view', () => {
  it('is the box around the located devices, or nothing to fit', () => {
    expect(fitBounds([device({ lat: 37.05, lon: 115.66 }), device({ lat: 37.07, lon: 115.68 }), device({ lat: Number.NaN, lon: 1 })]))
      .toEqual({ south: 37.05, west: 115.66, north: 37.07, east: 115.68 })
    expect(fitBounds([device({ lat: Number.NaN, lon: Number.NaN })])).toBeNull()
    expect(fitBounds([])).toBeNull()
  })
})

describe('base-map labels', () => {
  it('estimates text widths: a CJK character an em, a Latin one 0.6 em', () => {
    expect(textWidth('城关派出所', 12)).toBe(60)
    expect(textWidth('No.5', 10)).toBe(24)
    expect(textWidth('', 12)).toBe(0)
  })

  it('places boxes as the CSS draws them: roads centred, places beside the dot, sites from the badge', () => {
    expect(labelBox('place', { x: 100, y: 50 }, '火车站')).toEqual({ x: 106, y: 42, width: 36, height: 16 })
    expect(labelBox('place', { x: 100, y: 50 }, '火车站', 'left')).toEqual({ x: 58, y: 42, width: 36, height: 16 })
    expect(labelBox('site', { x: 100, y: 50 }, '交警大队')).toEqual({ x: 91, y: 41, width: 70, height: 18 })
    expect(labelBox('site', { x: 100, y: 50 }, '交警大队', 'left')).toEqual({ x: 39, y: 41, width: 70, height: 18 })
    expect(labelBox('road', { x: 100, y: 50 }, '人民路')).toEqual({ x: 82, y: 42, width: 36, height: 16 }) // 3 × 11 px and 1 px spacing each
    expect(labelSides('road')).toEqual(['right'])
    expect(labelSides('site')).toEqual(['right', 'left'])
    expect(markerBox({ x: 10, y: 20 }, 12)).toEqual({ x: 4, y: 14, width: 12, height: 12 })
  })

  const box = (x: number, y: number, width = 60) => ({ x, y, width, height: 16 })

  it('hides the lower-priority label of two that touch, and keeps labels that stand apart', () => {
    const placed = declutterLabels([
      { id: 0, kind: 'place', boxes: [box(0, 0)] }, // under the site: hidden, though it comes first
      { id: 1, kind: 'site', boxes: [box(30, 5)] },
      { id: 2, kind: 'road', boxes: [box(200, 0)] }, // a place 1 px below it (within the gap) wins
      { id: 3, kind: 'place', boxes: [box(200, 17)] },
      { id: 4, kind: 'place', boxes: [box(0, 40)] }, // 19 px below the site: kept
      { id: 5, kind: 'place', boxes: [box(10, 42)] }, // on id 4, which came first
    ])
    expect([...placed.keys()].sort()).toEqual([1, 3, 4])
    expect(declutterLabels([{ id: 7, kind: 'road', boxes: [box(0, 0)] }, { id: 8, kind: 'road', boxes: [box(70, 0)] }]).size).toBe(2)
    expect([...declutterLabels([{ id: 7, kind: 'road', boxes: [box(0, 0)] }, { id: 8, kind: 'road', boxes: [box(61, 0)] }]).keys()]).toEqual([7])
  })

  it('keeps names off markers: the other side when one side is taken, hidden when both are', () => {
    const camera = markerBox({ x: 80, y: 8 }, 12) // right of the point at (50, 8)
    const placed = declutterLabels([
      { id: 0, kind: 'site', boxes: [box(50, 0), box(-10, 0)] }, // right covers the camera: goes left
      { id: 1, kind: 'place', boxes: [box(500, 0), box(440, 0)] }, // free on the right
      { id: 2, kind: 'place', boxes: [box(52, 0), box(-8, 0)] }, // right on the camera, left on the site: hidden
    ], [camera])
    expect(placed).toEqual(new Map([[0, 1], [1, 0]]))
  })

  it('declutters thousands of markers and labels in a moment', () => {
    const obstacles = Array.from({ length: 3000 }, (_, i) => markerBox({ x: (i * 37) % 2000, y: Math.floor(i / 50) * 30 }, 12))
    const labels = Array.from({ length: 500 }, (_, i) => ({ id: i, kind: 'place' as const, boxes: [box((i * 53) % 2000, (i * 7) % 1800), box((i * 53) % 2000 - 70, (i * 7) % 1800)] }))
    const started = performance.now()
    const placed = declutterLabels(labels, obstacles)
    expect(performance.now() - started).toBeLessThan(200)
    expect(placed.size).toBeGreaterThan(0)
  })
})

describe('the nearby-camera circle', () => {
  it('is boxed by the points its radius away north, south, east and west', () => {
    const b = circleBounds(C, 500)
    expect(dist(C, { lat: b.north, lon: C.lon })).toBeCloseTo(500, 0)
    expect(dist(C, { lat: b.south, lon: C.lon })).toBeCloseTo(500, 0)
    expect(dist(C, { lat: C.lat, lon: b.east })).toBeCloseTo(500, 0)
    expect(dist(C, { lat: C.lat, lon: b.west })).toBeCloseTo(500, 0)
    expect(b.north).toBeGreaterThan(C.lat)
    expect(b.west).toBeLessThan(C.lon)
  })
})
