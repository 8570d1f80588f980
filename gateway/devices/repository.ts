import { withTransaction, type Pool, type Queryable } from '../../core/db/pool.ts';
import type { Device, DeviceFilter, DeviceRecord, DeviceSort, DeviceState, DuplicateCandidate, DuplicateMatch, ListLocale, Site, StreamProfile } from './types.ts';

interface DeviceRow {
  id: string; kind: Device['kind']; camera_type: Device['cameraType']; name: string; code: string | null;
  site_id: string | null; site_name: string | null; address: string | null; lat: number | null; lon: number | null;
  heading: number | null; tags: string[]; onvif_host: string | null; onvif_port: number | null; username: string | null;
  has_password: boolean; rtsp_main: string | null; rtsp_sub: string | null; snapshot_uri: string | null;
  profiles: StreamProfile[]; vendor: string | null; model: string | null; serial: string | null; firmware: string | null;
  ptz: boolean; recording_mode: Device['recording']['mode']; retention_days: number; stream_key_hash: string | null;
  enabled: boolean; status: DeviceState; status_reason: string | null; last_seen_at: Date | null; checked_at: Date | null;
  created_at: Date; updated_at: Date; decommissioned_at: Date | null;
}

// password_enc is never selected here: only `getSecret` reads it.
const SELECT = `
  SELECT d.id, d.kind, d.camera_type, d.name, d.code, d.site_id, s.name AS site_name, d.address, d.lat, d.lon, d.heading,
         d.tags, d.onvif_host, d.onvif_port, d.username, d.password_enc IS NOT NULL AS has_password, d.rtsp_main, d.rtsp_sub,
         d.snapshot_uri, d.profiles, d.vendor, d.model, d.serial, d.firmware, d.ptz, d.recording_mode, d.retention_days,
         d.stream_key_hash, d.enabled, d.status, d.status_reason, d.last_seen_at, d.checked_at, d.created_at, d.updated_at,
         d.decommissioned_at
  FROM devices d LEFT JOIN sites s ON s.id = d.site_id`;

function toDevice(r: DeviceRow): Device {
  return {
    id: r.id, kind: r.kind, cameraType: r.camera_type, name: r.name, code: r.code, siteId: r.site_id, siteName: r.site_name,
    address: r.address,
    location: r.lat !== null && r.lon !== null ? { lat: r.lat, lon: r.lon, heading: r.heading } : null,
    tags: r.tags,
    onvif: r.onvif_host ? { host: r.onvif_host, port: r.onvif_port ?? 80, username: r.username, hasPassword: r.has_password } : null,
    streams: { main: r.rtsp_main, sub: r.rtsp_sub, snapshot: r.snapshot_uri },
    profiles: r.profiles, vendor: r.vendor, model: r.model, serial: r.serial, firmware: r.firmware, ptz: r.ptz,
    recording: { mode: r.recording_mode, retentionDays: r.retention_days }, streamKey: null, hasStreamKey: r.stream_key_hash !== null, streamKeyHash: r.stream_key_hash, enabled: r.enabled,
    status: { state: r.status, reason: r.status_reason, lastSeenAt: r.last_seen_at, checkedAt: r.checked_at },
    createdAt: r.created_at, updatedAt: r.updated_at, decommissionedAt: r.decommissioned_at,
  };
}

// Names sort by pinyin in zh-CN (the skynet_zh ICU collation, migration 006), case-insensitively otherwise.
const NAME_SORT: Record<ListLocale, string> = { 'zh-CN': 'd.name COLLATE skynet_zh', en: 'lower(d.name)' };

const SORT_SQL: Record<Exclude<DeviceSort, 'name'>, string> = {
  code: 'd.code',
  status: `array_position(ARRAY['offline','degraded','unknown','online'], d.status)`,
  updatedAt: 'd.updated_at',
};

const COLUMNS = ['kind', 'camera_type', 'name', 'code', 'site_id', 'address', 'lat', 'lon', 'heading', 'tags', 'onvif_host',
  'onvif_port', 'username', 'password_enc', 'rtsp_main', 'rtsp_sub', 'snapshot_uri', 'profiles', 'vendor', 'model', 'serial',
  'firmware', 'ptz', 'recording_mode', 'retention_days', 'stream_key_hash', 'enabled'] as const;

function values(d: DeviceRecord): unknown[] {
  return [d.kind, d.cameraType, d.name, d.code, d.siteId, d.address, d.lat, d.lon, d.heading, d.tags, d.onvifHost, d.onvifPort,
    d.username, d.passwordEnc, d.rtspMain, d.rtspSub, d.snapshotUri, JSON.stringify(d.profiles), d.vendor, d.model, d.serial,
    d.firmware, d.ptz, d.recordingMode, d.retentionDays, d.streamKeyHash, d.enabled];
}

/** Only devices in service: a decommissioned one is kept for its footage, never listed or run. */
function filterSql(f: DeviceFilter): { where: string; args: unknown[] } {
  const clauses: string[] = ['d.decommissioned_at IS NULL'];
  const args: unknown[] = [];
  const arg = (v: unknown) => { args.push(v); return `$${args.length}`; };
  if (f.q) {
    const like = arg(`%${f.q.replace(/[\\%_]/g, '\\$&')}%`);
    clauses.push(`(d.name ILIKE ${like} OR d.code ILIKE ${like} OR d.address ILIKE ${like})`);
  }
  if (f.kind) clauses.push(`d.kind = ${arg(f.kind)}`);
  if (f.cameraType) clauses.push(`d.camera_type = ${arg(f.cameraType)}`);
  // A site means it and every site below it (UNION, not UNION ALL: a cycle in parent ids ends).
  if (f.siteId) {
    clauses.push(`d.site_id IN (WITH RECURSIVE tree AS (SELECT id FROM sites WHERE id = ${arg(f.siteId)}
                                 UNION SELECT s.id FROM sites s JOIN tree t ON s.parent_id = t.id) SELECT id FROM tree)`);
  }
  if (f.status) clauses.push(`d.status = ${arg(f.status)}`);
  if (f.tag) clauses.push(`d.tags @> ARRAY[${arg(f.tag)}]::text[]`);
  if (f.enabled !== undefined) clauses.push(`d.enabled = ${arg(f.enabled)}`);
  if (f.ids) clauses.push(`d.id = ANY(${arg(f.ids)}::uuid[])`);
  return { where: `WHERE ${clauses.join(' AND ')}`, args };
}

export function createDeviceRepository(db: Queryable) {
  const repo = deviceQueries(db);
  return {
    ...repo,
    /**
     * Run `fn` in one transaction with the queries bound to it (and the
     * transaction itself, for the audit rows that belong with the writes).
     * On a client (inside a transaction already), `fn` joins it.
     */
    async transaction<T>(fn: (tx: { repo: DeviceQueries; db: Queryable }) => Promise<T>): Promise<T> {
      if (!('connect' in db) || typeof (db as { release?: unknown }).release === 'function') return fn({ repo, db });
      return withTransaction(db as Pool, (client) => fn({ repo: deviceQueries(client), db: client }));
    },
  };
}

function deviceQueries(db: Queryable) {
  const repo = {
    async list(f: DeviceFilter, page: { limit: number; offset: number; sort: DeviceSort; order: 'asc' | 'desc'; locale?: ListLocale }): Promise<{ items: Device[]; total: number }> {
      const { where, args } = filterSql(f);
      const key = page.sort === 'name' ? NAME_SORT[page.locale ?? 'zh-CN'] : SORT_SQL[page.sort];
      const order = `${key} ${page.order === 'desc' ? 'DESC' : 'ASC'} NULLS LAST, d.id`;
      const [rows, count] = await Promise.all([
        db.query<DeviceRow>(`${SELECT} ${where} ORDER BY ${order} LIMIT $${args.length + 1} OFFSET $${args.length + 2}`, [...args, page.limit, page.offset]),
        db.query<{ n: number }>(`SELECT count(*)::int AS n FROM devices d ${where}`, args),
      ]);
      return { items: rows.rows.map(toDevice), total: count.rows[0]?.n ?? 0 };
    },

    /** Decommissioned devices too (their footage stays playable): see `decommissionedAt`. */
    async get(id: string): Promise<Device | null> {
      const { rows } = await db.query<DeviceRow>(`${SELECT} WHERE d.id = $1`, [id]);
      return rows[0] ? toDevice(rows[0]) : null;
    },

    /** By the SHA-256 (hex) of a stream key: keys are never stored. */
    async getByStreamKeyHash(hash: string): Promise<Device | null> {
      const { rows } = await db.query<DeviceRow>(`${SELECT} WHERE d.stream_key_hash = $1 AND d.decommissioned_at IS NULL`, [hash]);
      return rows[0] ? toDevice(rows[0]) : null;
    },

    async setStreamKeyHash(id: string, hash: string): Promise<boolean> {
      const { rowCount } = await db.query(`UPDATE devices SET stream_key_hash = $2, updated_at = now() WHERE id = $1 AND kind = 'mobile' AND decommissioned_at IS NULL`, [id, hash]);
      return (rowCount ?? 0) > 0;
    },

    /** The sealed password; read by the gateway process only. */
    async getSecret(id: string): Promise<{ username: string | null; passwordEnc: Buffer | null } | null> {
      const { rows } = await db.query<{ username: string | null; password_enc: Buffer | null }>('SELECT username, password_enc FROM devices WHERE id = $1', [id]);
      return rows[0] ? { username: rows[0].username, passwordEnc: rows[0].password_enc } : null;
    },

    async getSecrets(ids: string[]): Promise<Map<string, { username: string | null; passwordEnc: Buffer | null }>> {
      const { rows } = await db.query<{ id: string; username: string | null; password_enc: Buffer | null }>(
        'SELECT id, username, password_enc FROM devices WHERE id = ANY($1::uuid[])', [ids]);
      return new Map(rows.map((r) => [r.id, { username: r.username, passwordEnc: r.password_enc }]));
    },

    async insert(d: DeviceRecord): Promise<Device> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO devices (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`, values(d));
      return (await repo.get(rows[0]!.id))!;
    },

    async update(id: string, d: DeviceRecord): Promise<Device | null> {
      const { rowCount } = await db.query(
        `UPDATE devices SET ${COLUMNS.map((c, i) => `${c} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1`, [id, ...values(d)]);
      return rowCount ? repo.get(id) : null;
    },

    /**
     * Take a device out of service: it stays (with its recordings, until their
     * retention ends) but leaves the list and the gateway (not enabled, so no
     * lease), and its code is free again. False when there is no such device in service.
     */
    async decommission(id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE devices SET decommissioned_at = now(), enabled = false, updated_at = now() WHERE id = $1 AND decommissioned_at IS NULL', [id]);
      return (rowCount ?? 0) > 0;
    },

    async findIdByCode(code: string): Promise<string | null> {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM devices WHERE code = $1 AND decommissioned_at IS NULL', [code]);
      return rows[0]?.id ?? null;
    },

    /** Devices in service by code, for a CSV import (one query for the whole file). */
    async idsByCode(codes: string[]): Promise<Map<string, string>> {
      if (codes.length === 0) return new Map();
      const { rows } = await db.query<{ id: string; code: string }>(
        'SELECT id, code FROM devices WHERE code = ANY($1::text[]) AND decommissioned_at IS NULL', [codes]);
      return new Map(rows.map((r) => [r.code, r.id]));
    },

    /**
     * Devices in service that share an ONVIF endpoint (host and port), a serial
     * number or a stream URL with any candidate, one row per (candidate, device,
     * attribute, value), the longest registered device first. A candidate's own
     * device (`selfId`) is no duplicate of itself.
     */
    async findDuplicates(candidates: DuplicateCandidate[]): Promise<DuplicateMatch[]> {
      if (candidates.length === 0) return [];
      // One equality join per attribute (hash joins, or the partial indexes of migration 006), never a cross product.
      const match = (attribute: string, value: string, on: string, notNull: string) => `
         SELECT c.key, d.id, d.name, d.code, d.created_at, '${attribute}' AS attribute, ${value} AS value
         FROM c JOIN devices d ON ${on}
         WHERE d.decommissioned_at IS NULL AND ${notNull} IS NOT NULL AND d.id IS DISTINCT FROM c.self_id`;
      const { rows } = await db.query<DuplicateMatch>(
        `WITH c AS (
           SELECT * FROM unnest($1::int[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[])
             AS c(key, self_id, host, port, serial, main, sub)
         ), m AS (
           ${match('onvif', `c.host || ':' || c.port`, 'lower(d.onvif_host) = lower(c.host) AND d.onvif_port = c.port', 'd.onvif_host')}
           UNION ALL ${match('serial', 'c.serial', 'd.serial = c.serial', 'd.serial')}
           UNION ALL ${match('stream', 'c.main', 'd.rtsp_main = c.main', 'd.rtsp_main')}
           UNION ALL ${match('stream', 'c.main', 'd.rtsp_sub = c.main', 'd.rtsp_sub')}
           UNION ALL ${match('stream', 'c.sub', 'd.rtsp_main = c.sub', 'd.rtsp_main')}
           UNION ALL ${match('stream', 'c.sub', 'd.rtsp_sub = c.sub', 'd.rtsp_sub')}
         )
         SELECT key, id AS "deviceId", name AS "deviceName", code AS "deviceCode", attribute, value
         FROM (SELECT DISTINCT ON (key, id, attribute, value) * FROM m ORDER BY key, id, attribute, value) u
         ORDER BY key, created_at, id, attribute, value`,
        [candidates.map((c) => c.key), candidates.map((c) => c.selfId), candidates.map((c) => c.host), candidates.map((c) => c.port),
          candidates.map((c) => c.serial), candidates.map((c) => c.main), candidates.map((c) => c.sub)]);
      return rows;
    },

    /**
     * Record a health result. Returns the previous state when it changed (an
     * event row is written then), null when it did not.
     */
    async recordStatus(id: string, state: DeviceState, reason: string | null, seen: boolean): Promise<DeviceState | null> {
      const { rows } = await db.query<{ previous: DeviceState }>(
        `WITH prev AS (SELECT status FROM devices WHERE id = $1 FOR UPDATE),
              upd AS (
                UPDATE devices SET status = $2, status_reason = $3, checked_at = now(),
                       last_seen_at = CASE WHEN $4 THEN now() ELSE last_seen_at END
                WHERE id = $1 RETURNING id)
         SELECT prev.status AS previous FROM prev, upd`,
        [id, state, reason, seen],
      );
      const previous = rows[0]?.previous;
      if (previous === undefined || previous === state) return null;
      await db.query('INSERT INTO device_status_events (device_id, status, reason) VALUES ($1, $2, $3)', [id, state, reason]);
      return previous;
    },

    async statusHistory(id: string, limit: number): Promise<{ at: Date; status: DeviceState; reason: string | null }[]> {
      const { rows } = await db.query('SELECT at, status, reason FROM device_status_events WHERE device_id = $1 ORDER BY at DESC, id DESC LIMIT $2', [id, limit]);
      return rows;
    },

    async listSites(): Promise<Site[]> {
      const { rows } = await db.query<Site>(
        `SELECT id, code, name, kind, parent_id AS "parentId", lat, lon FROM sites ORDER BY code`);
      return rows;
    },

    async siteIdByCode(code: string): Promise<string | null> {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM sites WHERE code = $1', [code]);
      return rows[0]?.id ?? null;
    },

    async upsertSite(s: Omit<Site, 'id'>): Promise<Site> {
      const { rows } = await db.query<Site>(
        `INSERT INTO sites (code, name, kind, parent_id, lat, lon) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id, lat = EXCLUDED.lat, lon = EXCLUDED.lon
         RETURNING id, code, name, kind, parent_id AS "parentId", lat, lon`,
        [s.code, s.name, s.kind, s.parentId, s.lat, s.lon]);
      return rows[0]!;
    },
  };
  return repo;
}

type DeviceQueries = ReturnType<typeof deviceQueries>;
export type DeviceRepository = ReturnType<typeof createDeviceRepository>;
