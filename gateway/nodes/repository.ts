import type { Pool } from '../../core/db/pool.ts';
import { withTransaction } from '../../core/db/pool.ts';

export interface GatewayNode { id: string; internalUrl: string; publicUrl: string; maxSessions: number; heartbeatAt: Date }

/**
 * Gateway nodes and the devices each holds. Every node heartbeats and claims a
 * fair share (enabled devices ÷ live nodes) of unleased or expired leases; a node
 * that stops renewing loses its devices to the others when the leases expire.
 */
export function createNodeRepository(db: Pool) {
  return {
    async heartbeat(node: { id: string; internalUrl: string; publicUrl: string; maxSessions: number }): Promise<void> {
      await db.query(
        `INSERT INTO gateway_nodes (id, internal_url, public_url, max_sessions) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET internal_url = EXCLUDED.internal_url, public_url = EXCLUDED.public_url,
           max_sessions = EXCLUDED.max_sessions, heartbeat_at = now()`,
        [node.id, node.internalUrl, node.publicUrl, node.maxSessions]);
    },

    /** Renew this node's leases, drop those of disabled devices, claim up to a fair share more. Returns the ids held. */
    async claim(nodeId: string, leaseSeconds: number): Promise<string[]> {
      return withTransaction(db, async (tx) => {
        await tx.query(`DELETE FROM device_leases l USING devices d WHERE l.device_id = d.id AND l.node_id = $1 AND NOT d.enabled`, [nodeId]);
        await tx.query(`UPDATE device_leases SET expires_at = now() + make_interval(secs => $2) WHERE node_id = $1`, [nodeId, leaseSeconds]);
        const { rows: [share] } = await tx.query<{ fair: number; mine: number }>(
          `SELECT ceil((SELECT count(*) FROM devices WHERE enabled)::numeric /
                       GREATEST(1, (SELECT count(*) FROM gateway_nodes WHERE heartbeat_at > now() - make_interval(secs => $2))))::int AS fair,
                  (SELECT count(*) FROM device_leases WHERE node_id = $1)::int AS mine`, [nodeId, leaseSeconds]);
        const room = Math.max(0, (share?.fair ?? 0) - (share?.mine ?? 0));
        if (room > 0) {
          await tx.query(
            `INSERT INTO device_leases (device_id, node_id, expires_at)
             SELECT d.id, $1, now() + make_interval(secs => $2)
             FROM devices d LEFT JOIN device_leases l ON l.device_id = d.id
             WHERE d.enabled AND (l.device_id IS NULL OR l.expires_at < now())
             ORDER BY d.id LIMIT $3
             FOR UPDATE OF d SKIP LOCKED
             ON CONFLICT (device_id) DO UPDATE SET node_id = EXCLUDED.node_id, expires_at = EXCLUDED.expires_at
               WHERE device_leases.expires_at < now()`,
            [nodeId, leaseSeconds, room]);
        }
        const { rows } = await tx.query<{ device_id: string }>('SELECT device_id FROM device_leases WHERE node_id = $1', [nodeId]);
        return rows.map((r) => r.device_id);
      });
    },

    async release(nodeId: string): Promise<void> {
      await db.query('DELETE FROM device_leases WHERE node_id = $1', [nodeId]);
      await db.query(`UPDATE gateway_nodes SET heartbeat_at = 'epoch' WHERE id = $1`, [nodeId]);
    },

    /** The live node holding a device, or null. */
    async nodeForDevice(deviceId: string): Promise<GatewayNode | null> {
      const { rows } = await db.query<GatewayNode>(
        `SELECT n.id, n.internal_url AS "internalUrl", n.public_url AS "publicUrl", n.max_sessions AS "maxSessions", n.heartbeat_at AS "heartbeatAt"
         FROM device_leases l JOIN gateway_nodes n ON n.id = l.node_id WHERE l.device_id = $1 AND l.expires_at > now()`, [deviceId]);
      return rows[0] ?? null;
    },

    /**
     * The live node to serve a device's footage from: the one holding it, else the one that
     * recorded its newest segment, else any live node (a shared media directory). A disabled or
     * decommissioned device is held by no node, and its footage stays playable until retention ends.
     */
    async nodeForFootage(deviceId: string, staleSeconds: number): Promise<GatewayNode | null> {
      const { rows } = await db.query<GatewayNode>(
        `SELECT n.id, n.internal_url AS "internalUrl", n.public_url AS "publicUrl", n.max_sessions AS "maxSessions", n.heartbeat_at AS "heartbeatAt"
         FROM gateway_nodes n
         WHERE n.heartbeat_at > now() - make_interval(secs => $2)
         ORDER BY EXISTS (SELECT 1 FROM device_leases l WHERE l.device_id = $1 AND l.node_id = n.id AND l.expires_at > now()) DESC,
                  n.id = (SELECT node_id FROM recording_segments WHERE device_id = $1 ORDER BY starts_at DESC LIMIT 1) DESC NULLS LAST,
                  n.heartbeat_at DESC
         LIMIT 1`, [deviceId, staleSeconds]);
      return rows[0] ?? null;
    },

    /** A node by id if it is live (heard from within staleSeconds), else null. */
    async liveNode(nodeId: string, staleSeconds: number): Promise<GatewayNode | null> {
      const { rows } = await db.query<GatewayNode>(
        `SELECT id, internal_url AS "internalUrl", public_url AS "publicUrl", max_sessions AS "maxSessions", heartbeat_at AS "heartbeatAt"
         FROM gateway_nodes WHERE id = $1 AND heartbeat_at > now() - make_interval(secs => $2)`, [nodeId, staleSeconds]);
      return rows[0] ?? null;
    },

    /** Any live node, most recently heard from first (for probes of devices not yet registered). */
    async anyLiveNode(staleSeconds: number): Promise<GatewayNode | null> {
      const { rows } = await db.query<GatewayNode>(
        `SELECT id, internal_url AS "internalUrl", public_url AS "publicUrl", max_sessions AS "maxSessions", heartbeat_at AS "heartbeatAt"
         FROM gateway_nodes WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY heartbeat_at DESC LIMIT 1`, [staleSeconds]);
      return rows[0] ?? null;
    },
  };
}

export type NodeRepository = ReturnType<typeof createNodeRepository>;
