import { withTransaction, type Pool } from '../db/pool.ts';

export interface MediaKeyRow { kid: string; createdAt: Date; retiredAt: Date | null }

const COLUMNS = 'kid, created_at AS "createdAt", retired_at AS "retiredAt"';

/** media_keys: which key ids exist, which one is current, when the others were retired. */
export function createMediaKeyRepository(db: Pool) {
  return {
    /** The current key and those retired since `retiredSince` (older ones verify nothing any more). */
    async usable(retiredSince: Date): Promise<MediaKeyRow[]> {
      const { rows } = await db.query<MediaKeyRow>(
        `SELECT ${COLUMNS} FROM media_keys WHERE retired_at IS NULL OR retired_at >= $1 ORDER BY created_at`, [retiredSince]);
      return rows;
    },

    /** Retire the current key and make `kid` current, in one transaction (concurrent rotations queue on the lock). */
    async rotate(kid: string): Promise<{ current: MediaKeyRow; retired: MediaKeyRow[] }> {
      return withTransaction(db, async (client) => {
        await client.query('LOCK TABLE media_keys IN SHARE ROW EXCLUSIVE MODE');
        const retired = await client.query<MediaKeyRow>(`UPDATE media_keys SET retired_at = now() WHERE retired_at IS NULL RETURNING ${COLUMNS}`);
        const current = await client.query<MediaKeyRow>(`INSERT INTO media_keys (kid) VALUES ($1) RETURNING ${COLUMNS}`, [kid]);
        return { current: current.rows[0]!, retired: retired.rows };
      });
    },
  };
}

export type MediaKeyRepository = ReturnType<typeof createMediaKeyRepository>;
