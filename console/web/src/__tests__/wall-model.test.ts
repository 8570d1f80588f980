import { describe, expect, it } from 'vitest'
import {
  assignTile, camerasFromQuery, camerasOn, emptyTiles, fitGrid, gridsOffered, gridSide, nextTourPage, placeTarget, resizeTiles,
  streamFor, tileState, tilesOf, tourPageCount, tourTiles, wallFromQuery,
} from '../components/wall/wall-model.ts'

const A = '00000000-0000-4000-8000-00000000000a'
const B = '00000000-0000-4000-8000-00000000000b'
const C = '00000000-0000-4000-8000-00000000000c'
const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)
const devices = (tiles: { deviceId: string | null }[]) => tiles.map((t) => t.deviceId)

describe('grids', () => {
  it('offers 25 tiles only on a wide screen', () => {
    expect(gridsOffered(1280)).toEqual([1, 4, 9, 16])
    expect(gridsOffered(1599)).toEqual([1, 4, 9, 16])
    expect(gridsOffered(1600)).toEqual([1, 4, 9, 16, 25])
  })

  it.each([[0, 1], [1, 1], [2, 4], [4, 4], [5, 9], [10, 16], [16, 16], [17, 25], [40, 25]])('fits %i cameras in %i tiles', (n, grid) => {
    expect(fitGrid(n)).toBe(grid)
  })

  it('fits into the largest offered grid when 25 is not offered', () => {
    expect(fitGrid(20, [1, 4, 9, 16])).toBe(16)
  })

  it('knows each grid\'s side', () => {
    expect([1, 4, 9, 16, 25].map((g) => gridSide(g as 1))).toEqual([1, 2, 3, 4, 5])
  })
})

describe('tiles', () => {
  it('fills tiles in order and drops what does not fit', () => {
    expect(devices(tilesOf(4, [A, B]))).toEqual([A, B, null, null])
    expect(tilesOf(1, [A, B])).toEqual([{ index: 0, deviceId: A }])
  })

  it('keeps cameras in their cells on a bigger grid, and moves the cut-off ones into free cells on a smaller one', () => {
    const nine = tilesOf(9, [A, null, null, null, null, null, null, null, B])
    expect(devices(resizeTiles(nine, 16)).slice(0, 9)).toEqual([A, null, null, null, null, null, null, null, B])
    expect(devices(resizeTiles(nine, 4))).toEqual([A, B, null, null])
    expect(devices(resizeTiles(tilesOf(4, [A, B, C, null]), 1))).toEqual([A])
  })

  it('swaps when a camera already on the wall is put on another tile', () => {
    const tiles = tilesOf(4, [A, B, null, null])
    expect(devices(assignTile(tiles, 1, A))).toEqual([B, A, null, null])
    expect(devices(assignTile(tiles, 3, A))).toEqual([null, B, null, A])
    expect(devices(assignTile(tiles, 2, C))).toEqual([A, B, C, null])
    expect(devices(assignTile(tiles, 0, null))).toEqual([null, B, null, null])
    expect(devices(assignTile(tiles, 9, C))).toEqual([A, B, null, null])
  })

  it('puts a double-clicked camera on the focused tile, else the first empty one, else the first', () => {
    const tiles = tilesOf(4, [A, null, B, null])
    expect(placeTarget(tiles, 2)).toBe(2)
    expect(placeTarget(tiles, null)).toBe(1)
    expect(placeTarget(tilesOf(4, [A, B, C, A]), null)).toBe(0)
    expect(placeTarget(emptyTiles(4), 7)).toBe(0)
  })

  it('lists the cameras on the wall in order', () => {
    expect(camerasOn(tilesOf(4, [null, B, null, A]))).toEqual([B, A])
  })
})

describe('tours', () => {
  const ten = ids(10)

  it('pages through the cameras a grid at a time, wrapping round on the last page', () => {
    expect(tourPageCount(10, 4)).toBe(3)
    expect(devices(tourTiles(ten, 4, 0))).toEqual(ten.slice(0, 4))
    expect(devices(tourTiles(ten, 4, 1))).toEqual(ten.slice(4, 8))
    expect(devices(tourTiles(ten, 4, 2))).toEqual([ten[8], ten[9], ten[0], ten[1]])
    expect(devices(tourTiles(ten, 4, 3))).toEqual(ten.slice(0, 4))
  })

  it('shows each camera once when there are fewer than tiles', () => {
    expect(devices(tourTiles([A, B], 4, 0))).toEqual([A, B, null, null])
    expect(devices(tourTiles([A, B], 4, 5))).toEqual([A, B, null, null])
    expect(nextTourPage(0, 2, 4)).toBe(0)
  })

  it('keeps pinned tiles and rotates the others without repeating the pinned camera', () => {
    const pinned = new Map([[1, ten[5]!]])
    const page0 = devices(tourTiles(ten, 4, 0, pinned))
    expect(page0).toEqual([ten[0], ten[5], ten[1], ten[2]])
    const page1 = devices(tourTiles(ten, 4, 1, pinned))
    expect(page1[1]).toBe(ten[5])
    expect(page1).toEqual([ten[3], ten[5], ten[4], ten[6]])
    expect(page1.filter((d) => d === ten[5])).toHaveLength(1)
  })

  it('ignores a pin outside the grid', () => {
    expect(devices(tourTiles([A, B], 1, 0, new Map([[3, C]])))).toEqual([A])
  })

  it('goes to the next page and round to the first', () => {
    expect(nextTourPage(0, 10, 4)).toBe(1)
    expect(nextTourPage(2, 10, 4)).toBe(0)
    expect(nextTourPage(0, 0, 4)).toBe(0)
  })
})

describe('streams', () => {
  it('asks small tiles for the sub stream when the camera has one, the focused or full-screen tile for the main', () => {
    expect(streamFor({ grid: 16, focused: false, fullscreen: false, hasSub: true })).toBe('sub')
    expect(streamFor({ grid: 16, focused: false, fullscreen: false, hasSub: false })).toBe('main')
    expect(streamFor({ grid: 16, focused: true, fullscreen: false, hasSub: true })).toBe('main')
    expect(streamFor({ grid: 4, focused: false, fullscreen: true, hasSub: true })).toBe('main')
    expect(streamFor({ grid: 1, focused: false, fullscreen: false, hasSub: true })).toBe('main')
    expect(streamFor({ grid: 4, focused: false, fullscreen: false, hasSub: true })).toBe('main')
    expect(streamFor({ grid: 9, focused: false, fullscreen: false, hasSub: true })).toBe('sub')
  })
})

describe('tile state', () => {
  const base = { deviceId: A, deviceStatus: 'online' as const, deviceStatusReason: null, enabled: true }

  it('is empty without a camera', () => {
    expect(tileState({ ...base, deviceId: null, view: null }).state).toBe('empty')
  })

  it('says offline with the device\'s reason instead of showing black', () => {
    expect(tileState({ ...base, deviceStatus: 'offline', deviceStatusReason: 'connection refused', view: { state: 'starting', reason: null } }))
      .toEqual({ state: 'offline', reason: 'connection refused' })
    expect(tileState({ ...base, view: { state: 'error', reason: 'camera unreachable' } })).toEqual({ state: 'offline', reason: 'camera unreachable' })
    expect(tileState({ ...base, enabled: false, view: null }).state).toBe('offline')
  })

  it('follows the player: starting, live, reconnecting with its reason', () => {
    expect(tileState({ ...base, view: null }).state).toBe('starting')
    expect(tileState({ ...base, view: { state: 'live', reason: null } }).state).toBe('live')
    expect(tileState({ ...base, view: { state: 'reconnecting', reason: 'timeout' } })).toEqual({ state: 'reconnecting', reason: 'timeout' })
  })

  it('believes playing video over a stale offline status', () => {
    expect(tileState({ ...base, deviceStatus: 'offline', view: { state: 'live', reason: null } }).state).toBe('live')
  })
})

describe('the URL', () => {
  const current = { grid: 4 as const, tiles: tilesOf(4, [A, null, null, null]), focused: null }

  it('reads ?cameras= ids once each, skipping what is not an id', () => {
    expect(camerasFromQuery(`${A}, ${B},x,${A.toUpperCase()}`)).toEqual([A, B])
    expect(camerasFromQuery(undefined)).toEqual([])
  })

  it('fills a grid that fits ?cameras=', () => {
    const wall = wallFromQuery({ cameras: ids(5).join(',') }, [1, 4, 9, 16], current)!
    expect(wall.grid).toBe(9)
    expect(devices(wall.tiles).slice(0, 5)).toEqual(ids(5))
  })

  it('puts ?device= on the focused tile, else the first empty one', () => {
    expect(devices(wallFromQuery({ device: B }, [1, 4, 9, 16], current)!.tiles)).toEqual([A, B, null, null])
    expect(wallFromQuery({ device: B }, [1, 4], { ...current, focused: 0 })).toMatchObject({ focused: 0, tiles: [{ index: 0, deviceId: B }, { index: 1, deviceId: null }, { index: 2, deviceId: null }, { index: 3, deviceId: null }] })
    expect(wallFromQuery({}, [1, 4], current)).toBeNull()
  })
})
