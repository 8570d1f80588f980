import type { Pool, PoolClient, Queryable } from '../../core/db/pool.ts';
import { withTransaction } from '../../core/db/pool.ts';
import type { Site, SiteInput, SiteWithUsage } from './types.ts';

const COLUMNS = `s.id, s.code, s.name, s.kind, s.parent_id AS "parentId", s.lat, s.lon`;
const USAGE = `(SELECT count(*)::int FROM devices d WHERE d.site_id = s.id AND d.decommissioned_at IS NULL) AS devices,
               (SELECT count(*)::int FROM sites c WHERE c.parent_id = s.id) AS children`;

/** The `sites` table: the tree of platforms, areas and stations (parent_id). SQL only. */
export function createSiteRepository(db: Queryable) {
  return {
    async listWithUsage(): Promise<SiteWithUsage[]> {
      const { rows } = await db.query<SiteWithUsage>(`SELECT ${COLUMNS}, ${USAGE} FROM sites s ORDER BY s.code`);
      return rows;
    },

    async get(id: string): Promise<SiteWithUsage | null> {
      const { rows } = await db.query<SiteWithUsage>(`SELECT ${COLUMNS}, ${USAGE} FROM sites s WHERE s.id = $1`, [id]);
      return rows[0] ?? null;
    },

    /** `id` and the sites above it, nearest first (UNION: a cycle in bad data ends). */
    async ancestors(id: string): Promise<Pick<Site, 'id' | 'kind' | 'name'>[]> {
      const { rows } = await db.query<Pick<Site, 'id' | 'kind' | 'name'> & { depth: number }>(
        `WITH RECURSIVE up(id, parent_id, kind, name, depth) AS (
           SELECT id, parent_id, kind, name, 0 FROM sites WHERE id = $1
           UNION
           SELECT s.id, s.parent_id, s.kind, s.name, up.depth + 1 FROM sites s JOIN up ON s.id = up.parent_id WHERE up.depth < 100)
         SELECT id, kind, name, min(depth) AS depth FROM up GROUP BY id, kind, name ORDER BY depth`, [id]);
      return rows.map(({ depth: _d, ...r }) => r);
    },

    /** The kinds of the sites directly below `id`. */
    async childKinds(id: string): Promise<Site['kind'][]> {
      const { rows } = await db.query<{ kind: Site['kind'] }>('SELECT DISTINCT kind FROM sites WHERE parent_id = $1', [id]);
      return rows.map((r) => r.kind);
    },

    async insert(s: SiteInput): Promise<Site> {
      const { rows } = await db.query<Site>(
        `INSERT INTO sites AS s (code, name, kind, parent_id, lat, lon) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [s.code, s.name, s.kind, s.parentId, s.lat, s.lon]);
      return rows[0]!;
    },

    async update(id: string, s: SiteInput): Promise<Site | null> {
      const { rows } = await db.query<Site>(
        `UPDATE sites AS s SET code = $2, name = $3, kind = $4, parent_id = $5, lat = $6, lon = $7 WHERE s.id = $1 RETURNING ${COLUMNS}`,
        [id, s.code, s.name, s.kind, s.parentId, s.lat, s.lon]);
      return rows[0] ?? null;
    },

    /** Lock the row (a device insert naming it waits), then count what uses it. */
    async lockForDelete(id: string): Promise<{ devices: number; children: number } | null> {
      const { rows } = await db.query<{ devices: number; children: number }>(
        `SELECT ${USAGE} FROM sites s WHERE s.id = $1 FOR UPDATE`, [id]);
      return rows[0] ?? null;
    },

    async delete(id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM sites WHERE id = $1', [id]);
      return (rowCount ?? 0) > 0;
    },

    /** Serialise changes to the tree's shape, so two moves at once cannot make a cycle. */
    async lockTree(): Promise<void> {
      await db.query(`SELECT pg_advisory_xact_lock(hashtext('skynet.sites.tree'))`);
    },
  };
}

export type SiteRepository = ReturnType<typeof createSiteRepository>;

/** Run `fn` with a repository on one transaction's connection. */
export function siteTransaction<T>(pool: Pool, fn: (repo: SiteRepository, client: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, (client) => fn(createSiteRepository(client), client));
}
