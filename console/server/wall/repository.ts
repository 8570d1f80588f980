import { withTransaction, type Pool, type Queryable } from '../../../core/db/pool.ts';
import type { Layout, LayoutTile, Tour, WallDevice, WallGrid } from './types.ts';

interface LayoutRow { id: string; name: string; grid: number; tiles: LayoutTile[]; is_default: boolean; updated_at: Date }
interface TourRow { id: string; name: string; device_ids: string[]; interval_seconds: number; grid: number; created_by_name: string; updated_at: Date }

const LAYOUT_COLUMNS = 'id, name, grid, tiles, is_default, updated_at';
const TOUR_COLUMNS = 'id, name, device_ids, interval_seconds, grid, created_by_name, updated_at';

const toLayout = (r: LayoutRow): Layout => ({ id: r.id, name: r.name, grid: r.grid as WallGrid, tiles: r.tiles, isDefault: r.is_default, updatedAt: r.updated_at });
const toTour = (r: TourRow): Tour => ({
  id: r.id, name: r.name, deviceIds: r.device_ids, intervalSeconds: r.interval_seconds, grid: r.grid as WallGrid,
  createdByName: r.created_by_name, updatedAt: r.updated_at,
});

function queries(db: Queryable) {
  return {
    /** A user's layouts: the default first, then by name. */
    async layouts(userId: string): Promise<Layout[]> {
      const { rows } = await db.query<LayoutRow>(
        `SELECT ${LAYOUT_COLUMNS} FROM wall_layouts WHERE user_id = $1 ORDER BY is_default DESC, name, id`, [userId]);
      return rows.map(toLayout);
    },

    async countLayouts(userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM wall_layouts WHERE user_id = $1', [userId]);
      return rows[0]!.n;
    },

    async layoutExists(userId: string, name: string): Promise<boolean> {
      const { rows } = await db.query('SELECT 1 FROM wall_layouts WHERE user_id = $1 AND name = $2', [userId, name]);
      return rows.length > 0;
    },

    /** Serialises one user's layout writes (the one-default rule) on their users row. */
    async lockUser(userId: string): Promise<void> {
      await db.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
    },

    async clearDefault(userId: string, exceptName: string): Promise<void> {
      await db.query('UPDATE wall_layouts SET is_default = false WHERE user_id = $1 AND name <> $2 AND is_default', [userId, exceptName]);
    },

    /** Insert or replace the layout named `name` of this user. */
    async upsertLayout(userId: string, name: string, l: { grid: WallGrid; tiles: LayoutTile[]; isDefault: boolean }): Promise<Layout> {
      const { rows } = await db.query<LayoutRow>(
        `INSERT INTO wall_layouts (user_id, name, grid, tiles, is_default) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, name) DO UPDATE SET grid = EXCLUDED.grid, tiles = EXCLUDED.tiles, is_default = EXCLUDED.is_default, updated_at = now()
         RETURNING ${LAYOUT_COLUMNS}`,
        [userId, name, l.grid, JSON.stringify(l.tiles), l.isDefault],
      );
      return toLayout(rows[0]!);
    },

    async deleteLayout(userId: string, name: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM wall_layouts WHERE user_id = $1 AND name = $2', [userId, name]);
      return (rowCount ?? 0) > 0;
    },

    async tours(): Promise<Tour[]> {
      const { rows } = await db.query<TourRow>(`SELECT ${TOUR_COLUMNS} FROM tours ORDER BY name, id`);
      return rows.map(toTour);
    },

    async tour(id: string): Promise<Tour | null> {
      const { rows } = await db.query<TourRow>(`SELECT ${TOUR_COLUMNS} FROM tours WHERE id = $1`, [id]);
      return rows[0] ? toTour(rows[0]) : null;
    },

    async insertTour(t: { name: string; deviceIds: string[]; intervalSeconds: number; grid: WallGrid; createdBy: string | null; createdByName: string }): Promise<Tour> {
      const { rows } = await db.query<TourRow>(
        `INSERT INTO tours (name, device_ids, interval_seconds, grid, created_by, created_by_name) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING ${TOUR_COLUMNS}`,
        [t.name, t.deviceIds, t.intervalSeconds, t.grid, t.createdBy, t.createdByName],
      );
      return toTour(rows[0]!);
    },

    async updateTour(id: string, t: { name: string; deviceIds: string[]; intervalSeconds: number; grid: WallGrid }): Promise<Tour | null> {
      const { rows } = await db.query<TourRow>(
        `UPDATE tours SET name = $2, device_ids = $3, interval_seconds = $4, grid = $5, updated_at = now() WHERE id = $1
         RETURNING ${TOUR_COLUMNS}`,
        [id, t.name, t.deviceIds, t.intervalSeconds, t.grid],
      );
      return rows[0] ? toTour(rows[0]) : null;
    },

    async deleteTour(id: string): Promise<Tour | null> {
      const { rows } = await db.query<TourRow>(`DELETE FROM tours WHERE id = $1 RETURNING ${TOUR_COLUMNS}`, [id]);
      return rows[0] ? toTour(rows[0]) : null;
    },

    /** Of `ids`, those that are cameras in service (not decommissioned). */
    async cameraIds(ids: string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM devices WHERE id = ANY($1::uuid[]) AND kind = 'camera' AND decommissioned_at IS NULL`, [ids]);
      return new Set(rows.map((r) => r.id));
    },

    /** Every camera in service, for the device tree (by site, then name). */
    async cameras(): Promise<WallDevice[]> {
      const { rows } = await db.query<WallDevice>(
        `SELECT d.id, d.name, d.code, d.camera_type AS "cameraType", d.site_id AS "siteId", s.name AS "siteName", d.address,
                d.lat, d.lon, d.status, d.status_reason AS "statusReason", d.enabled, d.ptz,
                (d.kind <> 'mobile' AND d.rtsp_sub IS NOT NULL AND d.rtsp_sub <> '' AND d.rtsp_sub IS DISTINCT FROM d.rtsp_main) AS "hasSub"
           FROM devices d LEFT JOIN sites s ON s.id = d.site_id
          WHERE d.kind = 'camera' AND d.decommissioned_at IS NULL
          ORDER BY d.site_id NULLS LAST, lower(d.name), d.id`,
      );
      return rows;
    },
  };
}

export function createWallRepository(pool: Pool) {
  return {
    ...queries(pool),
    /** Run `fn` in one transaction (a write and its audit row together). */
    transaction<T>(fn: (tx: { repo: ReturnType<typeof queries>; db: Queryable }) => Promise<T>): Promise<T> {
      return withTransaction(pool, (client) => fn({ repo: queries(client), db: client }));
    },
  };
}

export type WallRepository = ReturnType<typeof createWallRepository>;
