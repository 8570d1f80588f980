import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import { DateTime, errors, StringEnum } from '../../../core/http/schemas.ts';
import { CONTROL_ROOM } from '../../../core/identity/types.ts';
import type { ConsoleContext } from '../context.ts';
import { createMapService } from './service.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const LatLonSchema = Type.Object({ lat: Type.Number(), lon: Type.Number() });

/** A located device as the map and the searches show it (console/web/src/api/map.ts MapDevice). */
export const MapDeviceSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: StringEnum(['camera', 'checkpoint', 'mobile'] as const),
  cameraType: Type.Union([StringEnum(['fixed', 'ptz', 'face'] as const), Type.Null()]),
  lat: Type.Number(),
  lon: Type.Number(),
  heading: Type.Union([Type.Number(), Type.Null()]),
  status: StringEnum(['unknown', 'online', 'offline', 'degraded'] as const),
  statusReason: Nullable(Type.String()),
  hasSub: Type.Boolean(),
  ptz: Type.Boolean(),
  address: Nullable(Type.String()),
  siteId: Nullable(Type.String({ format: 'uuid' })),
});

const MapIncidentSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  number: Type.String(),
  type: Type.String(),
  title: Type.String(),
  status: StringEnum(['new', 'dispatched', 'on_scene', 'resolved', 'closed', 'cancelled'] as const),
  priority: Type.Integer(),
  lat: Type.Number(),
  lon: Type.Number(),
  occurredAt: DateTime,
});

const Position = Type.Array(Type.Number(), { minItems: 2, maxItems: 2 });
const FeatureSchema = Type.Object({
  type: Type.Literal('Feature'),
  geometry: Type.Object({
    type: StringEnum(['Point', 'LineString', 'Polygon'] as const),
    coordinates: Type.Union([Position, Type.Array(Position), Type.Array(Type.Array(Position))]),
  }),
  properties: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Null()])),
});

/** Who reads the tile settings and the offline base layer: the control room and the patrol phone. */
const BASE_MAP_READERS = [...CONTROL_ROOM, 'patrol'] as const;

/** The map's API (console process): tile settings, the offline base layer, devices and incidents. */
export const mapRoutes = fp(async (app: App, opts: { ctx: ConsoleContext }) => {
  const map = createMapService({ platform: opts.ctx.platform });

  // The base map (tiles or the offline layer) is drawn on the patrol phone too; devices and incidents stay the control room's.
  app.get('/api/map/config', {
    config: { access: { roles: BASE_MAP_READERS } },
    schema: {
      tags: ['map'], summary: 'Map settings',
      description: 'The tile server (empty: draw the offline base layer of GET /api/map/base), its attribution and zoom limit, and where the map opens.',
      response: {
        200: Type.Object({ tileUrl: Type.String(), attribution: Type.String(), maxZoom: Type.Integer(), center: LatLonSchema, zoom: Type.Integer() }),
        ...errors(401, 403),
      },
    },
  }, async () => map.config());

  app.get('/api/map/base', {
    config: { access: { roles: BASE_MAP_READERS } },
    schema: {
      tags: ['map'], summary: 'Offline base layer',
      description: 'GeoJSON drawn when no tile server is set: roads (LineString, kind road), places (Point, kind place) and sites (Point, kind site, siteKind) of the demo town, or, for a real registry, its sites and each area\'s outline (Polygon, kind area: the convex hull of its devices).',
      response: { 200: Type.Object({ type: Type.Literal('FeatureCollection'), features: Type.Array(FeatureSchema) }), ...errors(401, 403) },
    },
  }, async () => map.base());

  app.get('/api/map/devices', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags: ['map'], summary: 'Devices on the map',
      description: 'Every located device in service (decommissioned ones are left out), in one answer.',
      response: { 200: Type.Object({ items: Type.Array(MapDeviceSchema) }), ...errors(401, 403) },
    },
  }, async () => map.devices());

  app.get('/api/map/incidents', {
    config: { access: { roles: CONTROL_ROOM } },
    schema: {
      tags: ['map'], summary: 'Incidents on the map',
      description: 'Located incidents, newest first (at most 2,000): the open ones (not closed or cancelled) by default, all with open=false.',
      querystring: Type.Object({ open: Type.Boolean({ default: true }) }),
      response: { 200: Type.Object({ items: Type.Array(MapIncidentSchema) }), ...errors(400, 401, 403) },
    },
  }, async (req) => map.incidents({ open: req.query.open }));
}, { name: 'map-routes', dependencies: ['identity-guard'] });
