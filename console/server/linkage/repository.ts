import type { Queryable } from '../../../core/db/pool.ts';
import type { CameraRef, Cue, CueEvent, CuePhoto, CueStatus, LonLat, Position, Push, RingMember, Unit, UnitKind, UnitState } from './types.ts';

/** Haversine on earthdistance's sphere, as console/server/search does: exact, and cheap next to two ll_to_earth() per row. */
const HAVERSINE = (lat: string, lon: string) =>
  `2 * 6378168 * asin(sqrt(power(sin(radians(${lat} - $1) / 2), 2) + cos(radians($1)) * cos(radians(${lat})) * power(sin(radians(${lon} - $2) / 2), 2)))`;

const UNIT_COLUMNS = `u.id, u.call_sign, u.kind, u.state, u.station_id, s.name AS station_name, u.grid, u.grid_name, u.terminal_id,
  u.lat, u.lon, u.heading, u.speed, u.fix_at, u.fix_source, u.on_duty_since, u.disabled, u.version, u.updated_at,
  (SELECT c.id FROM cues c WHERE c.unit_id = u.id AND c.status IN ('sent','received','en_route','on_scene') LIMIT 1) AS active_cue_id,
  COALESCE((SELECT json_agg(json_build_object('userId', us.id, 'username', us.username, 'displayName', us.display_name,
      'onDuty', EXISTS (SELECT 1 FROM duty_shifts d WHERE d.user_id = us.id AND d.unit_id = u.id AND d.ended_at IS NULL)) ORDER BY us.username)
    FROM unit_members m JOIN users us ON us.id = m.user_id WHERE m.unit_id = u.id), '[]'::json) AS members`;
const UNIT_FROM = 'patrol_units u LEFT JOIN sites s ON s.id = u.station_id';

type Row = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function toUnit(r: Row, staleSeconds: number, now = Date.now()): Unit {
  const fixAt = r.fix_at as Date | null;
  const position: Position | null = r.lat === null || fixAt === null ? null : {
    lat: Number(r.lat), lon: Number(r.lon), heading: num(r.heading), speed: num(r.speed), at: fixAt, source: r.fix_source as Position['source'],
  };
  return {
    id: r.id as string, callSign: r.call_sign as string, kind: r.kind as UnitKind, state: r.state as UnitState,
    stationId: (r.station_id as string | null) ?? null, stationName: (r.station_name as string | null) ?? null,
    grid: (r.grid as LonLat[] | null) ?? null, gridName: r.grid_name as string, terminalId: (r.terminal_id as string | null) ?? null,
    position, stale: !fixAt || now - fixAt.getTime() > staleSeconds * 1000,
    onDutySince: (r.on_duty_since as Date | null) ?? null, members: r.members as Unit['members'],
    activeCueId: (r.active_cue_id as string | null) ?? null, disabled: r.disabled as boolean, version: r.version as number, updatedAt: r.updated_at as Date,
  };
}

const CUE_COLUMNS = `c.*, i.number AS incident_number, i.title AS incident_title, i.address AS incident_address, i.lat AS incident_lat, i.lon AS incident_lon,
  u.call_sign AS unit_call_sign`;
const CUE_FROM = 'cues c JOIN incidents i ON i.id = c.incident_id JOIN patrol_units u ON u.id = c.unit_id';

export function toCue(r: Row): Omit<Cue, 'events' | 'photos' | 'allowedSteps'> {
  return {
    id: r.id as string, incidentId: r.incident_id as string, incidentNumber: r.incident_number as string, incidentTitle: r.incident_title as string,
    incidentAddress: r.incident_address as string, incidentLat: num(r.incident_lat), incidentLon: num(r.incident_lon),
    unitId: r.unit_id as string, unitCallSign: r.unit_call_sign as string, status: r.status as CueStatus, message: r.message as string,
    cameraIds: r.camera_ids as string[], snapshotId: (r.snapshot_id as string | null) ?? null, ring: num(r.ring), distanceM: num(r.distance_m),
    createdByName: r.created_by_name as string, sentAt: r.sent_at as Date, ackDeadline: r.ack_deadline as Date,
    receivedAt: (r.received_at as Date | null) ?? null, enRouteAt: (r.en_route_at as Date | null) ?? null, onSceneAt: (r.on_scene_at as Date | null) ?? null,
    doneAt: (r.done_at as Date | null) ?? null, cancelledAt: (r.cancelled_at as Date | null) ?? null, escalatedAt: (r.escalated_at as Date | null) ?? null,
    report: r.report as string, reassignedTo: (r.reassigned_to as string | null) ?? null, version: r.version as number,
  };
}

export interface IncidentFacts { id: string; number: string; title: string; status: string; priority: number; lat: number | null; lon: number | null; createdAt: Date }

export interface FixRow { unitId: string; at: Date; lat: number; lon: number; heading: number | null; speed: number | null; accuracy: number | null; source: 'phone' | 'terminal' }

/** The SQL of the linkage (console/server/linkage). Nothing else. */
export function createLinkageRepository(db: Queryable) {
  return {
    async units(f: { state?: UnitState; q?: string; ids?: string[] }, staleSeconds: number): Promise<Unit[]> {
      const { rows } = await db.query(
        `SELECT ${UNIT_COLUMNS} FROM ${UNIT_FROM}
          WHERE ($1::text IS NULL OR u.state = $1) AND ($2::text IS NULL OR u.call_sign ILIKE '%' || $2 || '%' OR u.grid_name ILIKE '%' || $2 || '%')
            AND ($3::uuid[] IS NULL OR u.id = ANY($3::uuid[]))
          ORDER BY u.disabled, u.call_sign LIMIT 5000`,
        [f.state ?? null, f.q ?? null, f.ids ?? null],
      );
      return rows.map((r) => toUnit(r, staleSeconds));
    },

    async unit(id: string, staleSeconds: number, lock = false): Promise<Unit | null> {
      if (lock) await db.query('SELECT 1 FROM patrol_units WHERE id = $1 FOR UPDATE', [id]);
      const { rows } = await db.query(`SELECT ${UNIT_COLUMNS} FROM ${UNIT_FROM} WHERE u.id = $1`, [id]);
      return rows[0] ? toUnit(rows[0], staleSeconds) : null;
    },

    async insertUnit(u: { callSign: string; kind: UnitKind; stationId: string | null; grid: LonLat[] | null; gridName: string }): Promise<string> {
      const { rows } = await db.query<{ id: string }>(
        'INSERT INTO patrol_units (call_sign, kind, station_id, grid, grid_name) VALUES ($1, $2, $3, $4, $5) RETURNING id',
        [u.callSign, u.kind, u.stationId, u.grid === null ? null : JSON.stringify(u.grid), u.gridName],
      );
      return rows[0]!.id;
    },

    /** Change the fields given when `version` matches; false when it does not (or the unit is gone). */
    async updateUnit(id: string, version: number, p: { callSign?: string; kind?: UnitKind; stationId?: string | null; grid?: LonLat[] | null; gridName?: string; disabled?: boolean }): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE patrol_units SET
           call_sign = COALESCE($3, call_sign), kind = COALESCE($4, kind),
           station_id = CASE WHEN $5 THEN $6::uuid ELSE station_id END,
           grid = CASE WHEN $7 THEN $8::jsonb ELSE grid END,
           grid_name = COALESCE($9, grid_name), disabled = COALESCE($10, disabled),
           version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2`,
        [id, version, p.callSign ?? null, p.kind ?? null, p.stationId !== undefined, p.stationId ?? null,
          p.grid !== undefined, p.grid === undefined || p.grid === null ? null : JSON.stringify(p.grid), p.gridName ?? null, p.disabled ?? null],
      );
      return rowCount === 1;
    },

    async setMembers(unitId: string, userIds: string[]): Promise<void> {
      await db.query('DELETE FROM unit_members WHERE unit_id = $1 AND NOT (user_id = ANY($2::uuid[]))', [unitId, userIds]);
      await db.query('INSERT INTO unit_members (unit_id, user_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING', [unitId, userIds]);
    },

    /** Of `ids`, those that are enabled users holding the patrol role. */
    async patrolUsers(ids: string[]): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(`SELECT id FROM users WHERE id = ANY($1::uuid[]) AND 'patrol' = ANY(roles) AND NOT disabled`, [ids]);
      return rows.map((r) => r.id);
    },

    async siteExists(id: string): Promise<boolean> {
      const { rowCount } = await db.query('SELECT 1 FROM sites WHERE id = $1', [id]);
      return rowCount === 1;
    },

    async setTerminal(unitId: string, terminalId: string, secretHash: Buffer): Promise<void> {
      await db.query('UPDATE patrol_units SET terminal_id = $2, terminal_secret_hash = $3, version = version + 1, updated_at = now() WHERE id = $1', [unitId, terminalId, secretHash]);
    },

    async terminal(terminalId: string): Promise<{ unitId: string; secretHash: Buffer; disabled: boolean } | null> {
      const { rows } = await db.query('SELECT id, terminal_secret_hash, disabled FROM patrol_units WHERE terminal_id = $1', [terminalId]);
      const r = rows[0];
      return r && r.terminal_secret_hash ? { unitId: r.id, secretHash: r.terminal_secret_hash, disabled: r.disabled } : null;
    },

    async memberUnitIds(userId: string): Promise<string[]> {
      const { rows } = await db.query<{ unit_id: string }>('SELECT unit_id FROM unit_members WHERE user_id = $1', [userId]);
      return rows.map((r) => r.unit_id);
    },

    async isMember(unitId: string, userId: string): Promise<boolean> {
      const { rowCount } = await db.query('SELECT 1 FROM unit_members WHERE unit_id = $1 AND user_id = $2', [unitId, userId]);
      return rowCount === 1;
    },

    async openShift(userId: string): Promise<{ id: string; unitId: string; startedAt: Date } | null> {
      const { rows } = await db.query('SELECT id, unit_id, started_at FROM duty_shifts WHERE user_id = $1 AND ended_at IS NULL', [userId]);
      return rows[0] ? { id: rows[0].id, unitId: rows[0].unit_id, startedAt: rows[0].started_at } : null;
    },

    async startShift(unitId: string, userId: string): Promise<void> {
      await db.query('INSERT INTO duty_shifts (unit_id, user_id) VALUES ($1, $2)', [unitId, userId]);
    },

    async endShift(userId: string): Promise<string | null> {
      const { rows } = await db.query<{ unit_id: string }>('UPDATE duty_shifts SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL RETURNING unit_id', [userId]);
      return rows[0]?.unit_id ?? null;
    },

    /** Set the unit's state (and on-duty time) from its open shifts and active cue; returns the new state. */
    async refreshState(unitId: string): Promise<UnitState> {
      const { rows } = await db.query<{ state: UnitState }>(
        `UPDATE patrol_units u SET
           state = CASE WHEN EXISTS (SELECT 1 FROM cues c WHERE c.unit_id = u.id AND c.status IN ('sent','received','en_route','on_scene')) THEN 'busy'
                        WHEN EXISTS (SELECT 1 FROM duty_shifts d WHERE d.unit_id = u.id AND d.ended_at IS NULL) THEN 'available' ELSE 'off_duty' END,
           on_duty_since = (SELECT min(started_at) FROM duty_shifts d WHERE d.unit_id = u.id AND d.ended_at IS NULL),
           updated_at = now()
         WHERE u.id = $1 RETURNING state`,
        [unitId],
      );
      return rows[0]?.state ?? 'off_duty';
    },

    /** Store fixes (a duplicate unit+time is skipped) and move each unit's latest position forward. Returns the rows stored. */
    async insertFixes(fixes: FixRow[]): Promise<FixRow[]> {
      if (fixes.length === 0) return [];
      const { rows } = await db.query(
        `INSERT INTO unit_positions (unit_id, at, lat, lon, heading, speed, accuracy, source)
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::text[])
         ON CONFLICT (unit_id, at) DO NOTHING
         RETURNING unit_id, at, lat, lon, heading, speed, accuracy, source`,
        [fixes.map((f) => f.unitId), fixes.map((f) => f.at), fixes.map((f) => f.lat), fixes.map((f) => f.lon), fixes.map((f) => f.heading),
          fixes.map((f) => f.speed), fixes.map((f) => f.accuracy), fixes.map((f) => f.source)],
      );
      const stored = rows.map((r) => ({ unitId: r.unit_id, at: r.at, lat: r.lat, lon: r.lon, heading: r.heading, speed: r.speed, accuracy: r.accuracy, source: r.source })) as FixRow[];
      const latest = new Map<string, FixRow>();
      for (const f of stored) if (!latest.has(f.unitId) || latest.get(f.unitId)!.at < f.at) latest.set(f.unitId, f);
      if (latest.size > 0) {
        const l = [...latest.values()].sort((a, b) => (a.unitId < b.unitId ? -1 : 1));
        await db.query(
          `UPDATE patrol_units u SET lat = v.lat, lon = v.lon, heading = v.heading, speed = v.speed, fix_at = v.at, fix_source = v.source
             FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::text[]) AS v(id, at, lat, lon, heading, speed, source)
            WHERE u.id = v.id AND (u.fix_at IS NULL OR u.fix_at < v.at)`,
          [l.map((f) => f.unitId), l.map((f) => f.at), l.map((f) => f.lat), l.map((f) => f.lon), l.map((f) => f.heading), l.map((f) => f.speed), l.map((f) => f.source)],
        );
      }
      return stored;
    },

    async track(unitId: string, from: Date, to: Date, limit: number): Promise<Position[]> {
      const { rows } = await db.query(
        'SELECT at, lat, lon, heading, speed, source FROM unit_positions WHERE unit_id = $1 AND at >= $2 AND at < $3 ORDER BY at LIMIT $4',
        [unitId, from, to, limit],
      );
      return rows.map((r) => ({ at: r.at, lat: r.lat, lon: r.lon, heading: r.heading, speed: r.speed, source: r.source }));
    },

    /**
     * Delete fixes older than `days`. A fix is stored at most 24 h after it was taken (positions.ts
     * MAX_AGE_MS), so every such row was received before the cutoff plus a day: that bound lets the
     * BRIN index on received_at skip the rest of the table.
     */
    async purgeTrack(days: number): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM unit_positions WHERE at < now() - make_interval(days => $1) AND received_at < now() - make_interval(days => $1) + interval '1 day'`, [days]);
      return rowCount ?? 0;
    },

    /** Enabled units with a position within `radius` m (all states), nearest first. */
    async unitsNear(lat: number, lon: number, radius: number, limit: number): Promise<{ id: string; distance: number; name: string; lat: number; lon: number; state: string; fixAt: Date }[]> {
      const { rows } = await db.query(
        `SELECT * FROM (SELECT u.id, u.call_sign, u.lat, u.lon, u.state, u.fix_at, ${HAVERSINE('u.lat', 'u.lon')} AS distance
           FROM patrol_units u WHERE u.lat IS NOT NULL AND NOT u.disabled AND earth_box(ll_to_earth($1, $2), $3) @> ll_to_earth(u.lat, u.lon)) x
          WHERE distance <= $3 ORDER BY distance, id LIMIT $4`,
        [lat, lon, radius, limit],
      );
      return rows.map((r) => ({ id: r.id, distance: Number(r.distance), name: r.call_sign, lat: r.lat, lon: r.lon, state: r.state, fixAt: r.fix_at }));
    },

    /** The nearest available units with a position, any distance: a KNN walk over the earth index, widening until enough are found. */
    async nearestAvailable(lat: number, lon: number, limit: number, exclude: string[]): Promise<{ id: string; distance: number }[]> {
      for (const radius of [2_000, 10_000, 50_000, 500_000]) {
        const { rows } = await db.query(
          `SELECT * FROM (SELECT u.id, ${HAVERSINE('u.lat', 'u.lon')} AS distance FROM patrol_units u
             WHERE u.state = 'available' AND NOT u.disabled AND u.lat IS NOT NULL AND NOT (u.id = ANY($4::uuid[]))
               AND earth_box(ll_to_earth($1, $2), $3) @> ll_to_earth(u.lat, u.lon)) x
            WHERE distance <= $3 ORDER BY distance, id LIMIT $5`,
          [lat, lon, radius, exclude, limit],
        );
        if (rows.length >= limit || radius === 500_000) return rows.map((r) => ({ id: r.id, distance: Number(r.distance) }));
      }
      return [];
    },

    /** Located cameras/checkpoints in service within `radius` m, nearest first. */
    async devicesNear(lat: number, lon: number, radius: number, kinds: string[], limit: number): Promise<(CameraRef & { kind: string })[]> {
      const { rows } = await db.query(
        `SELECT * FROM (SELECT d.id, d.name, d.kind, d.camera_type, d.lat, d.lon, d.status, ${HAVERSINE('d.lat', 'd.lon')} AS distance
           FROM devices d WHERE d.lat IS NOT NULL AND d.lon IS NOT NULL AND d.decommissioned_at IS NULL AND d.kind = ANY($4::text[])
             AND earth_box(ll_to_earth($1, $2), $3) @> ll_to_earth(d.lat, d.lon)) x
          WHERE distance <= $3 ORDER BY distance, id LIMIT $5`,
        [lat, lon, radius, kinds, limit],
      );
      return rows.map((r) => ({ id: r.id, name: r.name, kind: r.kind, cameraType: r.camera_type, lat: r.lat, lon: r.lon, status: r.status, distanceM: Math.round(Number(r.distance)) }));
    },

    /** Cameras in service inside a lat/lon box (the corridor along a unit's way). */
    async camerasInBox(minLat: number, maxLat: number, minLon: number, maxLon: number, limit: number): Promise<Omit<CameraRef, 'distanceM'>[]> {
      const { rows } = await db.query(
        `SELECT d.id, d.name, d.camera_type, d.lat, d.lon, d.status FROM devices d
          WHERE d.kind IN ('camera','mobile') AND d.decommissioned_at IS NULL AND d.lat BETWEEN $1 AND $2 AND d.lon BETWEEN $3 AND $4 LIMIT $5`,
        [minLat, maxLat, minLon, maxLon, limit],
      );
      return rows.map((r) => ({ id: r.id, name: r.name, cameraType: r.camera_type, lat: r.lat, lon: r.lon, status: r.status }));
    },

    async cameraNames(ids: string[]): Promise<Map<string, string>> {
      const { rows } = await db.query<{ id: string; name: string }>(`SELECT id, name FROM devices WHERE id = ANY($1::uuid[]) AND kind IN ('camera','mobile') AND decommissioned_at IS NULL`, [ids]);
      return new Map(rows.map((r) => [r.id, r.name]));
    },

    async snapshotExists(id: string): Promise<boolean> {
      const { rowCount } = await db.query('SELECT 1 FROM snapshots WHERE id = $1', [id]);
      return rowCount === 1;
    },

    async incident(id: string, lock = false): Promise<IncidentFacts | null> {
      const { rows } = await db.query(`SELECT id, number, title, status, priority, lat, lon, created_at FROM incidents WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
      const r = rows[0];
      return r ? { id: r.id, number: r.number, title: r.title, status: r.status, priority: r.priority, lat: r.lat, lon: r.lon, createdAt: r.created_at } : null;
    },

    /** Fill the incident's first time for a cue step (kept when already set) and move its status when `to` is given. */
    async incidentStep(id: string, column: 'dispatched_at' | 'acknowledged_at' | 'en_route_at' | 'arrived_at', at: Date, status: { from: string; to: string } | null): Promise<{ version: number } | null> {
      const { rows } = await db.query(
        `UPDATE incidents SET ${column} = COALESCE(${column}, $2),
           status = CASE WHEN $3::text IS NOT NULL AND status = $3 THEN $4 ELSE status END,
           version = version + CASE WHEN $3::text IS NOT NULL AND status = $3 THEN 1 ELSE 0 END,
           updated_at = CASE WHEN $3::text IS NOT NULL AND status = $3 THEN now() ELSE updated_at END
         WHERE id = $1 RETURNING version, status`,
        [id, at, status?.from ?? null, status?.to ?? null],
      );
      return rows[0] ? { version: rows[0].version } : null;
    },

    async raisePriority(id: string): Promise<number | null> {
      const { rows } = await db.query<{ priority: number }>(
        'UPDATE incidents SET priority = GREATEST(1, priority - 1), version = version + 1, updated_at = now() WHERE id = $1 AND priority > 1 RETURNING priority', [id]);
      return rows[0]?.priority ?? null;
    },

    async setIncidentGrid(id: string, unitId: string | null): Promise<void> {
      await db.query('UPDATE incidents SET grid_unit_id = $2 WHERE id = $1', [id, unitId]);
    },

    async grids(): Promise<{ id: string; grid: LonLat[] }[]> {
      const { rows } = await db.query(`SELECT id, grid FROM patrol_units WHERE grid IS NOT NULL AND NOT disabled ORDER BY call_sign`);
      return rows.map((r) => ({ id: r.id, grid: r.grid }));
    },

    async timeline(incidentId: string, actor: { id: string | null; name: string }, kind: string, details: Record<string, unknown>): Promise<{ id: number; at: Date }> {
      const { rows } = await db.query(
        'INSERT INTO incident_events (incident_id, actor_id, actor_name, kind, details) VALUES ($1, $2, $3, $4, $5) RETURNING id, at',
        [incidentId, actor.id, actor.name, kind, JSON.stringify(details)],
      );
      return { id: Number(rows[0].id), at: rows[0].at };
    },

    async insertCue(c: {
      incidentId: string; unitId: string; message: string; cameraIds: string[]; snapshotId: string | null; ring: number | null; distanceM: number | null;
      createdBy: string | null; createdByName: string; ackSeconds: number;
    }): Promise<string> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO cues (incident_id, unit_id, message, camera_ids, snapshot_id, ring, distance_m, created_by, created_by_name, ack_deadline)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10)) RETURNING id`,
        [c.incidentId, c.unitId, c.message, c.cameraIds, c.snapshotId, c.ring, c.distanceM, c.createdBy, c.createdByName, c.ackSeconds],
      );
      return rows[0]!.id;
    },

    async cue(id: string, lock = false): Promise<Omit<Cue, 'events' | 'photos' | 'allowedSteps'> | null> {
      if (lock) await db.query('SELECT 1 FROM cues WHERE id = $1 FOR UPDATE', [id]);
      const { rows } = await db.query(`SELECT ${CUE_COLUMNS} FROM ${CUE_FROM} WHERE c.id = $1`, [id]);
      return rows[0] ? toCue(rows[0]) : null;
    },

    async cues(f: { incidentId?: string; unitId?: string; active?: boolean; limit: number }): Promise<Omit<Cue, 'events' | 'photos' | 'allowedSteps'>[]> {
      const { rows } = await db.query(
        `SELECT ${CUE_COLUMNS} FROM ${CUE_FROM}
          WHERE ($1::uuid IS NULL OR c.incident_id = $1) AND ($2::uuid IS NULL OR c.unit_id = $2)
            AND (NOT $3 OR c.status IN ('sent','received','en_route','on_scene'))
          ORDER BY c.sent_at DESC LIMIT $4`,
        [f.incidentId ?? null, f.unitId ?? null, f.active ?? false, f.limit],
      );
      return rows.map(toCue);
    },

    /** Move a cue to `to`, setting the step's time (kept when already set); false when its version moved meanwhile. */
    async setCueStatus(id: string, to: CueStatus, column: string | null, extra: { report?: string; reassignedTo?: string }): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE cues SET status = $2, ${column ? `${column} = COALESCE(${column}, now()),` : ''}
           report = COALESCE($3, report), reassigned_to = COALESCE($4, reassigned_to), version = version + 1
         WHERE id = $1`,
        [id, to, extra.report ?? null, extra.reassignedTo ?? null],
      );
      return rowCount === 1;
    },

    async setReassignedTo(id: string, nextId: string): Promise<void> {
      await db.query('UPDATE cues SET reassigned_to = $2 WHERE id = $1', [id, nextId]);
    },

    async setCueTimes(id: string, columns: string[]): Promise<void> {
      if (columns.length === 0) return;
      await db.query(`UPDATE cues SET ${columns.map((c) => `${c} = COALESCE(${c}, now())`).join(', ')} WHERE id = $1`, [id]);
    },

    async cueEvent(e: { cueId: string; actorId: string | null; actorName: string; from: CueStatus | null; to: CueStatus; override: boolean; reason: string; lat?: number | null; lon?: number | null }): Promise<void> {
      await db.query(
        'INSERT INTO cue_events (cue_id, actor_id, actor_name, from_status, to_status, override, reason, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [e.cueId, e.actorId, e.actorName, e.from, e.to, e.override, e.reason, e.lat ?? null, e.lon ?? null],
      );
    },

    async cueEvents(cueIds: string[]): Promise<Map<string, CueEvent[]>> {
      const { rows } = await db.query('SELECT cue_id, at, actor_name, from_status, to_status, override, reason FROM cue_events WHERE cue_id = ANY($1::uuid[]) ORDER BY at, id', [cueIds]);
      const out = new Map<string, CueEvent[]>();
      for (const r of rows) {
        const list = out.get(r.cue_id) ?? [];
        list.push({ at: r.at, actorName: r.actor_name, from: r.from_status, to: r.to_status, override: r.override, reason: r.reason });
        out.set(r.cue_id, list);
      }
      return out;
    },

    async photos(cueIds: string[]): Promise<Map<string, CuePhoto[]>> {
      const { rows } = await db.query('SELECT id, cue_id, bytes, sha256, content_type, uploaded_at FROM cue_photos WHERE cue_id = ANY($1::uuid[]) ORDER BY uploaded_at, id', [cueIds]);
      const out = new Map<string, CuePhoto[]>();
      for (const r of rows) {
        const list = out.get(r.cue_id) ?? [];
        list.push({ id: r.id, bytes: r.bytes, sha256: r.sha256, contentType: r.content_type, uploadedAt: r.uploaded_at });
        out.set(r.cue_id, list);
      }
      return out;
    },

    async insertPhoto(p: { cueId: string; path: string; bytes: number; sha256: string; contentType: string; uploadedBy: string | null }): Promise<CuePhoto> {
      const { rows } = await db.query(
        'INSERT INTO cue_photos (cue_id, path, bytes, sha256, content_type, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, bytes, sha256, content_type, uploaded_at',
        [p.cueId, p.path, p.bytes, p.sha256, p.contentType, p.uploadedBy],
      );
      const r = rows[0];
      return { id: r.id, bytes: r.bytes, sha256: r.sha256, contentType: r.content_type, uploadedAt: r.uploaded_at };
    },

    async photo(cueId: string, photoId: string): Promise<{ path: string; contentType: string; bytes: number } | null> {
      const { rows } = await db.query('SELECT path, content_type, bytes FROM cue_photos WHERE id = $1 AND cue_id = $2', [photoId, cueId]);
      return rows[0] ? { path: rows[0].path, contentType: rows[0].content_type, bytes: rows[0].bytes } : null;
    },

    async photoCount(cueId: string): Promise<number> {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM cue_photos WHERE cue_id = $1', [cueId]);
      return Number(rows[0]!.n);
    },

    /** Cues past their acknowledgement deadline, marked escalated (each once, whichever replica gets it). */
    async escalateDue(limit: number): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(
        `UPDATE cues SET escalated_at = now() WHERE id IN (
           SELECT id FROM cues WHERE status = 'sent' AND escalated_at IS NULL AND ack_deadline <= now() ORDER BY ack_deadline LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [limit],
      );
      return rows.map((r) => r.id);
    },

    async pushes(unitId: string): Promise<Push[]> {
      const { rows } = await db.query(
        `SELECT p.id, p.unit_id, p.device_id, d.name AS device_name, p.cue_id, p.pushed_by_name, p.pushed_at
           FROM unit_camera_pushes p JOIN devices d ON d.id = p.device_id WHERE p.unit_id = $1 AND p.ended_at IS NULL ORDER BY p.pushed_at`,
        [unitId],
      );
      return rows.map((r) => ({ id: r.id, unitId: r.unit_id, deviceId: r.device_id, deviceName: r.device_name, cueId: r.cue_id, pushedByName: r.pushed_by_name, pushedAt: r.pushed_at }));
    },

    async push(p: { unitId: string; deviceId: string; cueId: string | null; by: string | null; byName: string }): Promise<void> {
      await db.query(
        `INSERT INTO unit_camera_pushes (unit_id, device_id, cue_id, pushed_by, pushed_by_name) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (unit_id, device_id) WHERE ended_at IS NULL DO UPDATE SET cue_id = COALESCE(EXCLUDED.cue_id, unit_camera_pushes.cue_id)`,
        [p.unitId, p.deviceId, p.cueId, p.by, p.byName],
      );
    },

    async unpush(unitId: string, deviceId: string | null): Promise<number> {
      const { rowCount } = await db.query('UPDATE unit_camera_pushes SET ended_at = now() WHERE unit_id = $1 AND ($2::uuid IS NULL OR device_id = $2) AND ended_at IS NULL', [unitId, deviceId]);
      return rowCount ?? 0;
    },

    async isPushed(unitId: string, deviceId: string): Promise<boolean> {
      const { rowCount } = await db.query('SELECT 1 FROM unit_camera_pushes WHERE unit_id = $1 AND device_id = $2 AND ended_at IS NULL', [unitId, deviceId]);
      return rowCount === 1;
    },

    async ring(incidentId: string): Promise<{ radii: [number, number, number]; lat: number; lon: number; active: boolean; setByName: string; setAt: Date } | null> {
      const { rows } = await db.query('SELECT radii_m, lat, lon, active, set_by_name, set_at FROM incident_rings WHERE incident_id = $1', [incidentId]);
      const r = rows[0];
      return r ? { radii: r.radii_m, lat: r.lat, lon: r.lon, active: r.active, setByName: r.set_by_name, setAt: r.set_at } : null;
    },

    async setRing(incidentId: string, radii: number[], lat: number, lon: number, by: string | null, byName: string): Promise<void> {
      await db.query(
        `INSERT INTO incident_rings (incident_id, radii_m, lat, lon, set_by, set_by_name) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (incident_id) DO UPDATE SET radii_m = EXCLUDED.radii_m, lat = EXCLUDED.lat, lon = EXCLUDED.lon, active = true,
           set_by = EXCLUDED.set_by, set_by_name = EXCLUDED.set_by_name, set_at = now(), cleared_at = NULL`,
        [incidentId, radii, lat, lon, by, byName],
      );
    },

    async clearRing(incidentId: string): Promise<boolean> {
      const { rowCount } = await db.query('UPDATE incident_rings SET active = false, cleared_at = now() WHERE incident_id = $1 AND active', [incidentId]);
      return rowCount === 1;
    },

    /** Active rings of open incidents whose outer radius holds the point, nearest first. */
    async ringsHolding(lat: number, lon: number): Promise<{ incidentId: string; distance: number; radii: number[] }[]> {
      const { rows } = await db.query(
        `SELECT * FROM (SELECT r.incident_id, r.radii_m, ${HAVERSINE('r.lat', 'r.lon')} AS distance FROM incident_rings r JOIN incidents i ON i.id = r.incident_id
           WHERE r.active AND i.status NOT IN ('closed','cancelled') AND earth_box(ll_to_earth($1, $2), 50000) @> ll_to_earth(r.lat, r.lon)) x
          WHERE distance <= radii_m[3] ORDER BY distance`,
        [lat, lon],
      );
      return rows.map((r) => ({ incidentId: r.incident_id, distance: Number(r.distance), radii: r.radii_m }));
    },

    /** Join an alarm to an incident unless it already joined one (another console replica heard it too): whether this call did. */
    async linkAlarm(alarmId: string, incidentId: string): Promise<boolean> {
      const { rowCount } = await db.query('UPDATE alarms SET incident_id = $2 WHERE id = $1 AND incident_id IS NULL', [alarmId, incidentId]);
      return rowCount === 1;
    },
  };
}

export type LinkageRepository = ReturnType<typeof createLinkageRepository>;
export type RingMemberRow = RingMember;
