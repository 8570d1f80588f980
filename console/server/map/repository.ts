import type { Queryable } from '../../../core/db/pool.ts';
import type { MapDevice, MapIncident, Position, SitePlace } from './types.ts';

interface DeviceRow {
  id: string; name: string; kind: MapDevice['kind']; camera_type: MapDevice['cameraType']; lat: number; lon: number;
  heading: number | null; status: MapDevice['status']; status_reason: string | null; has_sub: boolean; ptz: boolean;
  address: string | null; site_id: string | null;
}

/** The columns of a MapDevice, from `devices d` (no secret, no URL). */
export const MAP_DEVICE_COLUMNS = `d.id, d.name, d.kind, d.camera_type, d.lat, d.lon, d.heading, d.status, d.status_reason,
  (d.kind <> 'mobile' AND d.rtsp_sub IS NOT NULL AND d.rtsp_sub <> '' AND d.rtsp_sub IS DISTINCT FROM d.rtsp_main) AS has_sub, d.ptz, d.address, d.site_id`;

export function toMapDevice(r: DeviceRow): MapDevice {
  return {
    id: r.id, name: r.name, kind: r.kind, cameraType: r.camera_type, lat: r.lat, lon: r.lon, heading: r.heading,
    status: r.status, statusReason: r.status_reason, hasSub: r.has_sub, ptz: r.ptz, address: r.address, siteId: r.site_id,
  };
}

/** Devices on the map: located and in service (a decommissioned device is kept for its footage only). */
const LOCATED = 'd.lat IS NOT NULL AND d.lon IS NOT NULL AND d.decommissioned_at IS NULL';

/** The map's reads: devices, incidents with a location, and the sites the base layer is built from. */
export function createMapRepository(db: Queryable) {
  return {
    /** Every located device in service, by name (2,200 rows is one page). */
    async devices(): Promise<MapDevice[]> {
      const { rows } = await db.query<DeviceRow>(`SELECT ${MAP_DEVICE_COLUMNS} FROM devices d WHERE ${LOCATED} ORDER BY d.name, d.id`);
      return rows.map(toMapDevice);
    },

    /** Located incidents, newest first: the open ones (not closed or cancelled) or all, up to `limit`. */
    async incidents(o: { open: boolean; limit: number }): Promise<MapIncident[]> {
      const { rows } = await db.query<{ id: string; number: string; type: string; title: string; status: MapIncident['status']; priority: number; lat: number; lon: number; occurred_at: Date }>(
        `SELECT id, number, type, title, status, priority, lat, lon, occurred_at FROM incidents
          WHERE lat IS NOT NULL AND lon IS NOT NULL AND ($1::boolean IS FALSE OR status NOT IN ('closed', 'cancelled'))
          ORDER BY occurred_at DESC, id LIMIT $2`,
        [o.open, o.limit],
      );
      return rows.map((r) => ({ id: r.id, number: r.number, type: r.type, title: r.title, status: r.status, priority: r.priority, lat: r.lat, lon: r.lon, occurredAt: r.occurred_at }));
    },

    /** The site codes present (to tell whether the demo site is what is loaded). */
    async siteCodes(): Promise<string[]> {
      const { rows } = await db.query<{ code: string }>('SELECT code FROM sites ORDER BY code');
      return rows.map((r) => r.code);
    },

    /** Every site with its located devices' positions (for station points and area hulls). */
    async sites(): Promise<SitePlace[]> {
      const { rows } = await db.query<{ id: string; code: string; name: string; kind: SitePlace['kind']; lat: number | null; lon: number | null; devices: Position[] | null }>(
        `SELECT s.id, s.code, s.name, s.kind, s.lat, s.lon,
                (SELECT json_agg(json_build_array(d.lon, d.lat)) FROM devices d WHERE d.site_id = s.id AND ${LOCATED}) AS devices
           FROM sites s ORDER BY s.kind, s.name, s.id`,
      );
      return rows.map((r) => ({ id: r.id, code: r.code, name: r.name, kind: r.kind, lat: r.lat, lon: r.lon, devices: r.devices ?? [] }));
    },

    /** The centre of the located devices in service (or null with none). */
    async deviceCentre(): Promise<{ lat: number; lon: number } | null> {
      const { rows } = await db.query<{ lat: number | null; lon: number | null }>(`SELECT avg(d.lat) AS lat, avg(d.lon) AS lon FROM devices d WHERE ${LOCATED}`);
      const r = rows[0];
      return r && r.lat !== null && r.lon !== null ? { lat: Number(r.lat), lon: Number(r.lon) } : null;
    },
  };
}

export type MapRepository = ReturnType<typeof createMapRepository>;
