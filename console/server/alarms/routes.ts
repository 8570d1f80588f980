import { Type, type TSchema } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import { DateTime, errors, IdParams, NullableDateTime, StringEnum, Uuid } from '../../../core/http/schemas.ts';
import { CONTROL_ROOM, MONITORS } from '../../../core/identity/types.ts';
import type { ConsoleContext } from '../context.ts';
import { createIncidentService } from '../incidents/service.ts';
import { CreateIncidentBody, IncidentSchema, Source } from '../incidents/schemas.ts';
import { createAlarmService, type IncidentPort } from './service.ts';
import { ALARM_KINDS, ALARM_SEVERITIES, ALARM_STATES, MAX_ALARM_PAGE, MAX_NOTE_LENGTH } from './types.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const AlarmSchema = Type.Object({
  id: Uuid,
  raisedAt: DateTime,
  kind: StringEnum(ALARM_KINDS),
  severity: StringEnum(ALARM_SEVERITIES),
  deviceId: Nullable(Uuid),
  deviceName: Nullable(Type.String()),
  lat: Nullable(Type.Number()),
  lon: Nullable(Type.Number()),
  details: Type.Record(Type.String(), Type.Unknown(), { description: 'Kind-specific facts: reason, from/to/seconds of a gap, the session error, match score …' }),
  ackedAt: NullableDateTime,
  ackedByName: Nullable(Type.String()),
  ackNote: Nullable(Type.String()),
  incidentId: Nullable(Uuid),
  incidentNumber: Nullable(Type.String()),
});

/** What a new incident from an alarm takes: as POST /api/incidents, but source and title may be left to the alarm. */
const NewIncidentFromAlarm = Type.Object({
  ...CreateIncidentBody.properties,
  source: Type.Optional(Source),
  title: Type.Optional(CreateIncidentBody.properties.title),
});

/**
 * The alarms panel (报警): every kind the platform raises, newest first; CONTROL_ROOM reads,
 * MONITORS acknowledge and turn an alarm into an incident (new or joined).
 */
export const alarmRoutes = fp(async (app: App, opts: { ctx: ConsoleContext }) => {
  const { platform } = opts.ctx;
  const incidents: IncidentPort = createIncidentService(opts.ctx);
  const alarms = createAlarmService({ pool: platform.pool, eventLog: platform.eventLog, incidents });
  const meta = (req: { ip: string; id: string }) => ({ ip: req.ip, requestId: req.id });

  app.get('/api/alarms', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags: ['alarms'], summary: 'Alarms',
      description: 'Newest first. `state` open (the default; all when `incidentId` is given: an incident\'s alarms are handled by it), acked or all; `kind` one kind or several separated by commas; `from`/`to` the raise time; `before` pages back.',
      querystring: Type.Object({
        state: Type.Optional(StringEnum(ALARM_STATES)),
        kind: Type.Optional(Type.String({ pattern: `^(${ALARM_KINDS.join('|')})(,(${ALARM_KINDS.join('|')}))*$`, description: 'a kind, or kinds separated by commas' })),
        deviceId: Type.Optional(Uuid),
        incidentId: Type.Optional(Uuid),
        from: Type.Optional(Type.String({ format: 'date-time' })),
        to: Type.Optional(Type.String({ format: 'date-time' })),
        limit: Type.Integer({ minimum: 1, maximum: MAX_ALARM_PAGE, default: 100 }),
        before: Type.Optional(Type.String({ format: 'date-time' })),
      }),
      response: { 200: Type.Object({ items: Type.Array(AlarmSchema) }), ...errors(400, 401, 403) },
    },
  }, async (req) => alarms.list(req.query));

  app.get('/api/alarms/summary', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags: ['alarms'], summary: 'Open alarm count', description: 'What the header bell shows: open alarms, and how many of them are critical.',
      response: { 200: Type.Object({ open: Type.Integer(), critical: Type.Integer() }), ...errors(401, 403) },
    },
  }, async () => alarms.summary());

  app.post('/api/alarms/:id/ack', {
    config: { access: { roles: MONITORS }, audit: 'alarm.ack' },
    schema: {
      tags: ['alarms'], summary: 'Acknowledge an alarm',
      description: 'Once: a second acknowledgement answers 409 alarm.already_acked with who acknowledged it and when. Audited; sent as alarm.updated.',
      params: IdParams,
      body: Type.Object({ note: Type.Optional(Type.String({ maxLength: MAX_NOTE_LENGTH })) }),
      response: { 200: AlarmSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => alarms.ack(req.principal!, req.params.id, req.body.note, meta(req)));

  app.post('/api/alarms/:id/incident', {
    config: { access: { roles: MONITORS }, audit: 'alarm.link' },
    schema: {
      tags: ['alarms'], summary: 'Alarm to incident',
      description: '`{ incidentId }` joins an existing incident; `{ incident }` creates one from the alarm (its place, moment and camera; source face_alarm, plate_alarm or video_patrol). An open alarm is acknowledged by it. The incident\'s timeline records alarm.joined.',
      params: IdParams,
      body: Type.Object({ incidentId: Type.Optional(Uuid), incident: Type.Optional(NewIncidentFromAlarm) }),
      response: { 200: Type.Object({ alarm: AlarmSchema, incident: IncidentSchema }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => alarms.link(req.principal!, req.params.id, req.body as Parameters<typeof alarms.link>[2], meta(req)));
}, { name: 'alarms-routes', dependencies: ['identity-guard'] });
