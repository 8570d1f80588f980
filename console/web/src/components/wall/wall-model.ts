// Pure decisions of the video wall: which grids are offered, where a camera goes, how a layout
// fits another grid, which cameras a tour shows on each page, which stream a tile asks for and
// what state a tile shows. No DOM, no Vue: unit-tested with plain values.
import type { PlayerView } from '../live-player-model.ts'

export type WallGrid = 1 | 4 | 9 | 16 | 25
export const WALL_GRIDS: readonly WallGrid[] = [1, 4, 9, 16, 25]
/** The 5×5 grid is only offered on a screen at least this wide (smaller tiles are unreadable). */
export const WIDE_SCREEN_PX = 1600

export interface Tile {
  index: number
  deviceId: string | null
}

/** What a tile shows (data-state on [data-test=wall-tile]). */
export type TileState = 'starting' | 'live' | 'reconnecting' | 'offline' | 'empty'

export type StreamChoice = 'main' | 'sub'

/** The drag payload type of a camera (from the tree) or a tile's camera (from another tile). */
export const DRAG_TYPE = 'application/x-skynet-camera'

/** Tiles per side of a grid: 1, 2, 3, 4, 5. */
export function gridSide(grid: WallGrid): number {
  return Math.round(Math.sqrt(grid))
}

/** The grids offered on a window this wide: 25 only on wide screens. */
export function gridsOffered(windowWidth: number): WallGrid[] {
  return WALL_GRIDS.filter((g) => g < 25 || windowWidth >= WIDE_SCREEN_PX)
}

/** The smallest offered grid that shows `count` cameras (the largest offered when none does). */
export function fitGrid(count: number, offered: readonly WallGrid[] = WALL_GRIDS): WallGrid {
  const sorted = [...offered].sort((a, b) => a - b)
  return sorted.find((g) => g >= count) ?? sorted[sorted.length - 1] ?? 16
}

export function isGrid(n: unknown): n is WallGrid {
  return typeof n === 'number' && (WALL_GRIDS as readonly number[]).includes(n)
}

export function emptyTiles(grid: WallGrid): Tile[] {
  return Array.from({ length: grid }, (_, index) => ({ index, deviceId: null }))
}

/** The cameras in the given order, one per tile, the rest empty (cameras past the grid are left out). */
export function tilesOf(grid: WallGrid, deviceIds: readonly (string | null)[]): Tile[] {
  return emptyTiles(grid).map((t) => ({ index: t.index, deviceId: deviceIds[t.index] ?? null }))
}

/**
 * The same wall on another grid: each camera keeps its cell while it fits; cameras of cells that
 * no longer exist move into the first empty cells, and are dropped only when the grid is full.
 */
export function resizeTiles(tiles: readonly Tile[], grid: WallGrid): Tile[] {
  const next = emptyTiles(grid)
  const overflow: string[] = []
  for (const t of tiles) {
    if (!t.deviceId) continue
    if (t.index < grid) next[t.index]!.deviceId = t.deviceId
    else overflow.push(t.deviceId)
  }
  for (const id of overflow) {
    if (next.some((t) => t.deviceId === id)) continue
    const free = next.find((t) => t.deviceId === null)
    if (!free) break
    free.deviceId = id
  }
  return next
}

/**
 * Put a camera on tile `index`. A camera shown once: when it is on another tile already, the two
 * tiles swap (dragging a tile's camera onto another tile moves it there).
 */
export function assignTile(tiles: readonly Tile[], index: number, deviceId: string | null): Tile[] {
  if (index < 0 || index >= tiles.length) return tiles.map((t) => ({ ...t }))
  const from = deviceId ? tiles.findIndex((t) => t.deviceId === deviceId) : -1
  const displaced = tiles[index]!.deviceId
  return tiles.map((t) => {
    if (t.index === index) return { index: t.index, deviceId }
    if (t.index === from) return { index: t.index, deviceId: displaced }
    return { ...t }
  })
}

export function firstEmpty(tiles: readonly Tile[]): number | null {
  return tiles.find((t) => t.deviceId === null)?.index ?? null
}

/** Where a double-clicked camera goes: the focused tile, else the first empty one, else the first. */
export function placeTarget(tiles: readonly Tile[], focused: number | null): number {
  if (focused !== null && focused >= 0 && focused < tiles.length) return focused
  return firstEmpty(tiles) ?? 0
}

/** How many pages a tour of `count` cameras has when `slots` tiles rotate. */
export function tourPageCount(count: number, slots: number): number {
  if (count <= 0 || slots <= 0) return 0
  return Math.ceil(count / slots)
}

/**
 * The wall on page `page` of a tour: pinned tiles keep their camera, the other tiles show the
 * tour's cameras `page × slots` onwards (slots = unpinned tiles); the last page wraps round to
 * the start so no tile goes dark while the tour has more cameras than fit. Cameras pinned are
 * not repeated in the rotating tiles.
 */
export function tourTiles(deviceIds: readonly string[], grid: WallGrid, page: number, pinned: ReadonlyMap<number, string> = new Map()): Tile[] {
  const pins = new Map([...pinned].filter(([i]) => i >= 0 && i < grid))
  const pinnedIds = new Set(pins.values())
  const pool = deviceIds.filter((id) => !pinnedIds.has(id))
  const free = emptyTiles(grid).filter((t) => !pins.has(t.index))
  const pages = tourPageCount(pool.length, free.length)
  const at = pages > 0 ? ((page % pages) + pages) % pages : 0
  const slotOf = new Map(free.map((t, slot) => [t.index, slot]))
  return emptyTiles(grid).map((t) => {
    const pin = pins.get(t.index)
    if (pin) return { index: t.index, deviceId: pin }
    const slot = slotOf.get(t.index)!
    // Fewer cameras than tiles: each once, the rest empty; more: this page's, wrapping round.
    if (pool.length <= free.length) return { index: t.index, deviceId: pool[slot] ?? null }
    return { index: t.index, deviceId: pool[(at * free.length + slot) % pool.length]! }
  })
}

/** The page after `page`, round to the first after the last. */
export function nextTourPage(page: number, count: number, slots: number): number {
  const pages = tourPageCount(count, slots)
  return pages <= 1 ? 0 : (page + 1) % pages
}

/**
 * Which stream a tile asks for: the focused (or full-screen) tile and the tiles of a 1- or 4-tile wall the main stream; small
 * tiles the sub stream when the camera has one.
 */
export function streamFor(opts: { grid: WallGrid; focused: boolean; fullscreen: boolean; hasSub: boolean }): StreamChoice {
  // A quarter of a control-room screen (≈ 960×540) is larger than a D1/360p sub stream: 1- and 4-tile walls play main.
  if (opts.focused || opts.fullscreen || opts.grid <= 4) return 'main'
  return opts.hasSub ? 'sub' : 'main'
}

/** What a tile shows: the device's own status first (offline with its reason, never a black box), then the player's. */
export function tileState(input: {
  deviceId: string | null
  deviceStatus: 'unknown' | 'online' | 'offline' | 'degraded' | null
  deviceStatusReason: string | null
  enabled: boolean
  view: PlayerView | null
}): { state: TileState; reason: string | null } {
  if (!input.deviceId) return { state: 'empty', reason: null }
  const view = input.view
  if (view?.state === 'live') return { state: 'live', reason: null }
  if (!input.enabled) return { state: 'offline', reason: input.deviceStatusReason }
  if (input.deviceStatus === 'offline') return { state: 'offline', reason: input.deviceStatusReason ?? view?.reason ?? null }
  switch (view?.state) {
    case 'reconnecting':
    case 'degraded':
      return { state: 'reconnecting', reason: view.reason }
    case 'failed':
    case 'stopped':
    case 'error':
      return { state: 'offline', reason: view.reason ?? input.deviceStatusReason }
    default:
      return { state: 'starting', reason: null }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** `?cameras=id1,id2,…`: the valid ids once each, in order. */
export function camerasFromQuery(value: unknown): string[] {
  const raw = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : ''
  const ids = raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => UUID.test(s))
  return [...new Set(ids)]
}

/** The wall the URL asks for, if any: `?cameras=` fills a grid that fits them, `?device=` one camera on the focused tile. */
export function wallFromQuery(query: { cameras?: unknown; device?: unknown }, offered: readonly WallGrid[], current: { grid: WallGrid; tiles: readonly Tile[]; focused: number | null }): { grid: WallGrid; tiles: Tile[]; focused: number | null } | null {
  const cameras = camerasFromQuery(query.cameras)
  if (cameras.length > 0) {
    const grid = fitGrid(cameras.length, offered)
    return { grid, tiles: tilesOf(grid, cameras), focused: null }
  }
  const device = camerasFromQuery(query.device)[0]
  if (device) {
    const target = placeTarget(current.tiles, current.focused)
    return { grid: current.grid, tiles: assignTile(current.tiles, target, device), focused: target }
  }
  return null
}

/** The cameras on the wall, in tile order (what a tour editor starts from). */
export function camerasOn(tiles: readonly Tile[]): string[] {
  return tiles.flatMap((t) => (t.deviceId ? [t.deviceId] : []))
}
