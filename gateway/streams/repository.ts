import type { Queryable } from '../../core/db/pool.ts';
import type { StateChange } from './types.ts';

/** stream_events: every session state change with its reason and ffmpeg's scrubbed stderr tail. */
export function createStreamRepository(db: Queryable) {
  return {
    async recordChange(nodeId: string, c: StateChange): Promise<void> {
      await db.query(
        'INSERT INTO stream_events (device_id, node_id, state, reason, mode, stderr_tail) VALUES ($1, $2, $3, $4, $5, $6)',
        [c.deviceId, nodeId, c.state, c.reason, c.mode, c.stderrTail]);
    },

    async history(deviceId: string, limit: number): Promise<{ at: Date; state: string; reason: string | null; mode: string | null; nodeId: string }[]> {
      const { rows } = await db.query(
        `SELECT at, state, reason, mode, node_id AS "nodeId" FROM stream_events WHERE device_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, [deviceId, limit]);
      return rows;
    },
  };
}

export type StreamRepository = ReturnType<typeof createStreamRepository>;
