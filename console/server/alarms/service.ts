import type { Pool, Queryable } from '../../../core/db/pool.ts';
import { withTransaction } from '../../../core/db/pool.ts';
import type { EventLog } from '../../../core/events.ts';
import { createAuditLog } from '../../../core/audit/repository.ts';
import { badRequest, conflict, notFound } from '../../../core/http/errors.ts';
import type { Principal } from '../../../core/identity/types.ts';
import type { Actor, CreateIncidentInput, Incident, IncidentSource } from '../incidents/types.ts';
import { ALARMS_TOPIC } from './raise.ts';
import { createAlarmRepository } from './repository.ts';
import type { Alarm, AlarmKind, AlarmQuery, AlarmState } from './types.ts';

type Meta = { ip?: string; requestId?: string };

/** What alarms need of the incidents service (console/server/incidents/service.ts). */
export interface IncidentPort {
  create(principal: Principal, input: CreateIncidentInput, req: Meta): Promise<{ incident: Incident } | Incident>;
  get(principal: Principal, id: string): Promise<Incident>;
  /** With `tx` the entry is written in it; `publish` sends its event once that transaction committed. */
  addTimeline(incidentId: string, actor: Actor, kind: string, details: Record<string, unknown>, tx?: Queryable): Promise<{ publish: () => Promise<void> }>;
}

/** Statuses an alarm can no longer join. */
const FINAL_STATUSES = new Set(['closed', 'cancelled']);

/** The incident source of an incident made from an alarm. */
export function sourceOfAlarm(kind: AlarmKind): IncidentSource {
  return kind === 'face' ? 'face_alarm' : kind === 'plate' ? 'plate_alarm' : 'video_patrol';
}

/**
 * The incident a "new incident" from an alarm starts as: the alarm's place, moment and camera,
 * under what the monitor typed (type, title … win over what the alarm suggests).
 */
export function incidentFromAlarm(alarm: Alarm, input: Partial<CreateIncidentInput> & { type: string }): CreateIncidentInput {
  return {
    source: sourceOfAlarm(alarm.kind),
    title: input.title?.trim() || alarm.deviceName || alarm.kind,
    occurredAt: alarm.raisedAt,
    ...(alarm.lat !== null && alarm.lon !== null ? { lat: alarm.lat, lon: alarm.lon } : {}),
    ...(alarm.deviceId ? { deviceId: alarm.deviceId } : {}),
    ...input,
  } as CreateIncidentInput;
}

export interface ListInput {
  state?: AlarmState;
  kind?: string;
  deviceId?: string;
  incidentId?: string;
  from?: string;
  to?: string;
  limit?: number;
  before?: string;
}

export type LinkInput = { incidentId: string; incident?: undefined } | { incident: Partial<CreateIncidentInput> & { type: string }; incidentId?: undefined };

/**
 * The alarms panel: list and count, acknowledge with a note (once: a second ack is 409
 * alarm.already_acked naming who did it), and tie an alarm to an incident, new or existing.
 * Every change is audited and goes out on the realtime log as `alarm.updated`.
 */
export function createAlarmService(deps: { pool: Pool; eventLog: EventLog; incidents: IncidentPort }) {
  const { pool, eventLog, incidents } = deps;
  const repo = createAlarmRepository(pool);

  const byOf = (p: Principal) => ({ userId: p.userId, name: p.username });

  async function found(id: string): Promise<Alarm> {
    const alarm = await repo.get(id);
    if (!alarm) throw notFound('alarm', { code: 'alarm.not_found' });
    return alarm;
  }

  /** Write `change` with its audit row and event in one transaction; publish once committed. */
  async function changed(fn: (db: Queryable, repo: ReturnType<typeof createAlarmRepository>) => Promise<Alarm>): Promise<Alarm> {
    const { alarm, event } = await withTransaction(pool, async (client) => {
      const alarm = await fn(client, createAlarmRepository(client));
      const event = await eventLog.append(ALARMS_TOPIC, 'alarm.updated', { alarm }, client);
      return { alarm, event };
    });
    await eventLog.publishAfterCommit(event);
    return alarm;
  }

  return {
    async list(q: ListInput): Promise<{ items: Alarm[] }> {
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && to <= from) throw badRequest('the range must end after it starts', { field: 'to', code: 'alarm.range_order' });
      const kinds = q.kind ? (q.kind.split(',').filter(Boolean) as AlarmKind[]) : undefined;
      const query: AlarmQuery = {
        state: q.state ?? (q.incidentId ? 'all' : 'open'), kinds, deviceId: q.deviceId, incidentId: q.incidentId, from, to,
        limit: q.limit ?? 100, before: q.before ? new Date(q.before) : undefined,
      };
      return { items: await repo.list(query) };
    },

    summary: () => repo.summary(),

    get: found,

    async ack(principal: Principal, id: string, note: string | undefined, meta: Meta): Promise<Alarm> {
      const text = note?.trim() ? note : null;
      return changed(async (db, tx) => {
        const current = await tx.lock(id);
        if (!current) throw notFound('alarm', { code: 'alarm.not_found' });
        if (current.ackedAt) {
          throw conflict('this alarm was acknowledged already', { code: 'alarm.already_acked', params: { ackedByName: current.ackedByName, ackedAt: current.ackedAt } });
        }
        const alarm = (await tx.ack(id, byOf(principal), text))!;
        await createAuditLog(db).record({
          actor: principal, action: 'alarm.ack', targetType: 'alarm', targetId: id,
          details: { kind: alarm.kind, deviceId: alarm.deviceId, deviceName: alarm.deviceName, note: text }, ...meta,
        });
        return alarm;
      });
    },

    /** Join an existing incident, or create one from the alarm; the incident's timeline records it. */
    async link(principal: Principal, id: string, input: LinkInput, meta: Meta): Promise<{ alarm: Alarm; incident: Incident }> {
      if (!input.incidentId && !input.incident) throw badRequest('give incidentId (join) or incident (new)', { field: 'incidentId', code: 'alarm.link_target' });
      if (input.incidentId && input.incident) throw badRequest('give incidentId or incident, not both', { field: 'incident', code: 'alarm.link_target' });
      const actor: Actor = { id: principal.userId, name: principal.username };
      // Two monitors linking the same alarm at once: one at a time (the lock holds while the incident is made).
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`alarm.link:${id}`]);
        const current = await createAlarmRepository(client).get(id);
        if (!current) throw notFound('alarm', { code: 'alarm.not_found' });
        let incident: Incident;
        if (input.incidentId) {
          incident = await incidents.get(principal, input.incidentId);
          if (current.incidentId === incident.id) {
            await client.query('COMMIT');
            return { alarm: current, incident };
          }
          if (FINAL_STATUSES.has(incident.status)) {
            throw conflict('the incident is closed', { code: 'alarm.incident_closed', params: { number: incident.number, status: incident.status } });
          }
        }
        if (current.incidentId) {
          throw conflict('this alarm belongs to another incident already', { code: 'alarm.already_linked', params: { number: current.incidentNumber } });
        }
        if (!input.incidentId) {
          const made = await incidents.create(principal, incidentFromAlarm(current, input.incident!), meta);
          incident = 'incident' in made ? made.incident : made;
        }
        const alarm = await createAlarmRepository(client).link(id, incident!.id, byOf(principal));
        await createAuditLog(client).record({
          actor: principal, action: 'alarm.link', targetType: 'alarm', targetId: id,
          details: { incidentId: incident!.id, number: incident!.number, created: !input.incidentId, kind: alarm.kind, deviceName: alarm.deviceName }, ...meta,
        });
        const entry = await incidents.addTimeline(incident!.id, actor, 'alarm.joined', {
          alarmId: alarm.id, kind: alarm.kind, deviceName: alarm.deviceName, raisedAt: alarm.raisedAt,
        }, client);
        const event = await eventLog.append(ALARMS_TOPIC, 'alarm.updated', { alarm }, client);
        await client.query('COMMIT');
        await eventLog.publishAfterCommit(event);
        await entry.publish();
        return { alarm, incident: incident! };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

export type AlarmService = ReturnType<typeof createAlarmService>;
