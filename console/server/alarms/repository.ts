import type { Queryable } from '../../../core/db/pool.ts';
import type { Alarm, AlarmQuery, AlarmSeverity, RaiseInput } from './types.ts';

interface Row {
  id: string; raised_at: Date; kind: Alarm['kind']; severity: AlarmSeverity; device_id: string | null; device_name: string | null;
  lat: number | null; lon: number | null; details: Record<string, unknown>; acked_at: Date | null; acked_by_name: string | null;
  ack_note: string | null; incident_id: string | null; incident_number: string | null;
}

const toAlarm = (r: Row): Alarm => ({
  id: r.id, raisedAt: r.raised_at.toISOString(), kind: r.kind, severity: r.severity, deviceId: r.device_id, deviceName: r.device_name,
  lat: r.lat, lon: r.lon, details: r.details, ackedAt: r.acked_at?.toISOString() ?? null, ackedByName: r.acked_by_name,
  ackNote: r.ack_note, incidentId: r.incident_id, incidentNumber: r.incident_number,
});

const COLUMNS = `a.id, a.raised_at, a.kind, a.severity, a.device_id, a.device_name, a.lat, a.lon, a.details,
  a.acked_at, a.acked_by_name, a.ack_note, a.incident_id, i.number AS incident_number`;
/** An alarm row (or rows written by a CTE named `a`) with its incident's number. */
const SELECT = `SELECT ${COLUMNS} FROM alarms a LEFT JOIN incidents i ON i.id = a.incident_id`;

/** The alarms table (and the few registry facts a raise fills in). SQL only. */
export function createAlarmRepository(db: Queryable) {
  return {
    /** Insert one alarm; null when its dedup key is taken already. */
    async insert(input: Required<Omit<RaiseInput, 'raisedAt'>> & { raisedAt: Date | null }): Promise<Alarm | null> {
      const { rows } = await db.query<Row>(
        `WITH a AS (
           INSERT INTO alarms (raised_at, kind, severity, device_id, device_name, lat, lon, details, dedup_key)
           VALUES (COALESCE($1, now()), $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (dedup_key) DO NOTHING
           RETURNING *)
         SELECT ${COLUMNS} FROM a LEFT JOIN incidents i ON i.id = a.incident_id`,
        [input.raisedAt, input.kind, input.severity, input.deviceId, input.deviceName, input.lat, input.lon, JSON.stringify(input.details), input.dedupKey],
      );
      return rows[0] ? toAlarm(rows[0]) : null;
    },

    /** A device's name and location as the registry has them now (null: no such device). */
    async deviceFacts(deviceId: string): Promise<{ name: string; lat: number | null; lon: number | null } | null> {
      const { rows } = await db.query<{ name: string; lat: number | null; lon: number | null }>('SELECT name, lat, lon FROM devices WHERE id = $1', [deviceId]);
      return rows[0] ?? null;
    },

    /** The id of the device's newest status change to `status` (what makes a transition's dedup key). */
    async lastStatusEvent(deviceId: string, status: string): Promise<number | null> {
      const { rows } = await db.query<{ id: number }>(
        'SELECT id FROM device_status_events WHERE device_id = $1 AND status = $2 ORDER BY at DESC, id DESC LIMIT 1', [deviceId, status]);
      return rows[0]?.id ?? null;
    },

    /**
     * Of these (newly indexed) segment starts, those that begin at least `seconds` after the
     * previous segment of their camera ended: the hole before each.
     */
    async gapsBefore(starts: readonly { deviceId: string; startsAt: Date }[], seconds: number): Promise<{ deviceId: string; from: Date; to: Date }[]> {
      if (starts.length === 0) return [];
      const { rows } = await db.query<{ device_id: string; gap_from: Date; gap_to: Date }>(
        `SELECT r.device_id, prev.ends_at AS gap_from, r.starts_at AS gap_to
         FROM unnest($1::uuid[], $2::timestamptz[]) AS r(device_id, starts_at)
         CROSS JOIN LATERAL (
           SELECT s.ends_at FROM recording_segments s
           WHERE s.device_id = r.device_id AND s.starts_at < r.starts_at
           ORDER BY s.starts_at DESC LIMIT 1) prev
         WHERE r.starts_at - prev.ends_at >= make_interval(secs => $3)
         ORDER BY r.device_id, r.starts_at`,
        [starts.map((s) => s.deviceId), starts.map((s) => s.startsAt), seconds],
      );
      return rows.map((r) => ({ deviceId: r.device_id, from: r.gap_from, to: r.gap_to }));
    },

    async get(id: string): Promise<Alarm | null> {
      const { rows } = await db.query<Row>(`${SELECT} WHERE a.id = $1`, [id]);
      return rows[0] ? toAlarm(rows[0]) : null;
    },

    /** The alarm, its row locked until the transaction `db` is in ends. */
    async lock(id: string): Promise<Alarm | null> {
      const { rows } = await db.query<Row>(`${SELECT} WHERE a.id = $1 FOR UPDATE OF a`, [id]);
      return rows[0] ? toAlarm(rows[0]) : null;
    },

    /** Newest first. */
    async list(q: AlarmQuery): Promise<Alarm[]> {
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (sql: string, value: unknown) => { args.push(value); where.push(sql.replace('?', `$${args.length}`)); };
      if (q.state === 'open') where.push('a.acked_at IS NULL');
      if (q.state === 'acked') where.push('a.acked_at IS NOT NULL');
      if (q.kinds?.length) add('a.kind = ANY(?)', q.kinds);
      if (q.deviceId) add('a.device_id = ?', q.deviceId);
      if (q.incidentId) add('a.incident_id = ?', q.incidentId);
      if (q.from) add('a.raised_at >= ?', q.from);
      if (q.to) add('a.raised_at < ?', q.to);
      if (q.before) add('a.raised_at < ?', q.before);
      args.push(q.limit);
      const { rows } = await db.query<Row>(
        `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.raised_at DESC, a.id DESC LIMIT $${args.length}`, args);
      return rows.map(toAlarm);
    },

    async summary(): Promise<{ open: number; critical: number }> {
      const { rows } = await db.query<{ open: number; critical: number }>(
        `SELECT count(*)::int AS open, (count(*) FILTER (WHERE severity = 'critical'))::int AS critical FROM alarms WHERE acked_at IS NULL`);
      return rows[0] ?? { open: 0, critical: 0 };
    },

    /** Acknowledge an open alarm; null when it was acknowledged already. */
    async ack(id: string, by: { userId: string | null; name: string }, note: string | null): Promise<Alarm | null> {
      const { rows } = await db.query<Row>(
        `WITH a AS (
           UPDATE alarms SET acked_at = now(), acked_by = $2, acked_by_name = $3, ack_note = $4
           WHERE id = $1 AND acked_at IS NULL RETURNING *)
         SELECT ${COLUMNS} FROM a LEFT JOIN incidents i ON i.id = a.incident_id`,
        [id, by.userId, by.name, note],
      );
      return rows[0] ? toAlarm(rows[0]) : null;
    },

    /** Tie the alarm to an incident; an open one is acknowledged by it (handled as that incident). */
    async link(id: string, incidentId: string, by: { userId: string | null; name: string }): Promise<Alarm> {
      const { rows } = await db.query<Row>(
        `WITH a AS (
           UPDATE alarms SET incident_id = $2,
             acked_by = CASE WHEN acked_at IS NULL THEN $3::uuid ELSE acked_by END,
             acked_by_name = CASE WHEN acked_at IS NULL THEN $4 ELSE acked_by_name END,
             acked_at = COALESCE(acked_at, now())
           WHERE id = $1 RETURNING *)
         SELECT ${COLUMNS} FROM a LEFT JOIN incidents i ON i.id = a.incident_id`,
        [id, incidentId, by.userId, by.name],
      );
      return toAlarm(rows[0]!);
    },
  };
}

export type AlarmRepository = ReturnType<typeof createAlarmRepository>;
