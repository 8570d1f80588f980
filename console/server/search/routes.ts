import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import { DateTime, errors, NullableDateTime, StringEnum } from '../../../core/http/schemas.ts';
import { CONTROL_ROOM } from '../../../core/identity/types.ts';
import type { ConsoleContext } from '../context.ts';
import { createIncidentService } from '../incidents/service.ts';
import { LatLonSchema, MapDeviceSchema } from '../map/routes.ts';
import { createSearchService } from './service.ts';

const EVENT_KINDS = ['alarm', 'snapshot', 'bookmark', 'offline'] as const;
const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });
const Instant = Type.String({ format: 'date-time' });

/** A device in a footage answer: a MapDevice whose lat/lon are null when it is not placed on the map. */
const FootageDeviceSchema = Type.Object({
  ...MapDeviceSchema.properties,
  lat: Type.Union([Type.Number(), Type.Null()]),
  lon: Type.Union([Type.Number(), Type.Null()]),
});
const Range = Type.Object({ from: DateTime, to: DateTime });
const EventSchema = Type.Object({
  kind: StringEnum(EVENT_KINDS), at: DateTime, to: NullableDateTime, id: Type.String(),
  label: Type.String({ description: 'alarm: its kind; snapshot: its reason or purpose; bookmark: its note; offline: empty' }),
});
const CameraFootageSchema = Type.Object({
  device: FootageDeviceSchema,
  recordedSeconds: Type.Number(),
  ranges: Type.Array(Range, { description: 'Recorded footage, segments with holes of 2 s or less merged' }),
  gaps: Type.Array(Range, { description: 'Missing footage longer than 2 s, up to the end of the range or now' }),
  events: Type.Array(EventSchema),
});

/** Video search and nearby cameras (console process). */
export const searchRoutes = fp(async (app: App, opts: { ctx: ConsoleContext }) => {
  const incidents = createIncidentService(opts.ctx);
  const search = createSearchService({
    platform: opts.ctx.platform,
    addTimeline: async (incidentId, actor, kind, details) => (await incidents.addTimeline(incidentId, actor, kind, details)).publish(),
  });

  app.get('/api/search/nearby', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags: ['search'], summary: 'Cameras nearby',
      description: 'Located devices in service within `radius` metres (default incidents.nearbyRadiusMeters, at most incidents.maxRadiusMeters) of a point, nearest first. With `incidentId` the incident\'s location is the centre, and the search is audited with the incident as its reason and noted on its timeline (cameras.searched).',
      querystring: Type.Object({
        lat: Type.Optional(Lat), lon: Type.Optional(Lon),
        radius: Type.Optional(Type.Integer({ minimum: 1 })),
        incidentId: Type.Optional(Type.String({ format: 'uuid' })),
        kind: StringEnum(['camera', 'checkpoint', 'all'] as const, { default: 'all', description: 'camera: cameras and mobile devices; checkpoint: road checkpoints' }),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
      }),
      response: {
        200: Type.Object({ center: LatLonSchema, radius: Type.Integer(), items: Type.Array(Type.Object({ device: MapDeviceSchema, distanceMeters: Type.Number() })) }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => search.nearby(req.principal!, req.query, { ip: req.ip, requestId: req.id }));

  app.post('/api/search/footage', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags: ['search'], summary: 'Search footage',
      description: 'Cameras by id, inside a drawn polygon and/or with a tag; with `events`, only those with such events in the range. For each: recorded ranges, gaps and events (alarms, snapshots, bookmarks, offline periods) over [from, to) (at most search.maxRangeDays). At most search.maxCameras cameras, by name; `truncated` says more matched. Audited (footage.search), with the incident as reason when given.',
      body: Type.Object({
        deviceIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 5000 })),
        area: Type.Optional(Type.Object({ points: Type.Array(Type.Object({ lat: Lat, lon: Lon }), { minItems: 3, maxItems: 200 }) })),
        from: Instant,
        to: Instant,
        tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
        events: Type.Optional(Type.Array(StringEnum(EVENT_KINDS), { maxItems: 4 })),
        incidentId: Type.Optional(Type.String({ format: 'uuid' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
      }),
      response: { 200: Type.Object({ items: Type.Array(CameraFootageSchema), truncated: Type.Boolean() }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => search.footage(req.principal!, req.body, { ip: req.ip, requestId: req.id }));

  app.get('/api/search/timeline/:deviceId', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags: ['search'], summary: 'A camera\'s footage timeline',
      description: 'Recorded ranges, gaps and events of one camera (decommissioned ones too) over [from, to): the last 24 hours by default. Audited (footage.search), with the incident as reason when given.',
      params: Type.Object({ deviceId: Type.String({ format: 'uuid' }) }),
      querystring: Type.Object({ from: Type.Optional(Instant), to: Type.Optional(Instant), incidentId: Type.Optional(Type.String({ format: 'uuid' })) }),
      response: {
        200: Type.Object({ device: FootageDeviceSchema, recordedSeconds: Type.Number(), ranges: Type.Array(Range), gaps: Type.Array(Range), events: Type.Array(EventSchema) }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => search.timeline(req.principal!, req.params.deviceId, req.query, { ip: req.ip, requestId: req.id }));
}, { name: 'search-routes', dependencies: ['identity-guard'] });
