// The video wall's domain: each user's saved layouts (布局) and the tours (轮巡) monitors run.

export const WALL_GRIDS = [1, 4, 9, 16, 25] as const;
export type WallGrid = (typeof WALL_GRIDS)[number];

/** How many layouts one person may keep. */
export const MAX_LAYOUTS_PER_USER = 50;
/** How many cameras a tour may rotate through (the tours table allows 500). */
export const MAX_TOUR_CAMERAS = 500;

export interface LayoutTile {
  index: number;
  deviceId: string | null;
}

export interface Layout {
  id: string;
  name: string;
  grid: WallGrid;
  /** One entry per cell, index 0 … grid-1 in order. */
  tiles: LayoutTile[];
  isDefault: boolean;
  updatedAt: Date;
}

export interface LayoutInput {
  grid: WallGrid;
  tiles: LayoutTile[];
  isDefault?: boolean;
}

export interface Tour {
  id: string;
  name: string;
  deviceIds: string[];
  intervalSeconds: number;
  grid: WallGrid;
  createdByName: string;
  updatedAt: Date;
}

export interface TourInput {
  name: string;
  deviceIds: string[];
  intervalSeconds?: number;
  grid?: WallGrid;
}

/** A camera as the wall's device tree shows it (every camera in service, no paging). */
export interface WallDevice {
  id: string;
  name: string;
  code: string | null;
  cameraType: 'fixed' | 'ptz' | 'face' | null;
  siteId: string | null;
  siteName: string | null;
  address: string | null;
  lat: number | null;
  lon: number | null;
  status: 'unknown' | 'online' | 'offline' | 'degraded';
  statusReason: string | null;
  enabled: boolean;
  ptz: boolean;
  /** The camera has a sub stream URL registered. */
  hasSub: boolean;
}

/** The people a request comes from, for the audit row. */
export interface RequestMeta { ip?: string; requestId?: string }
