import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../../core/http/app.ts';
import { DateTime, errors, IdParams, StringEnum, Uuid } from '../../../core/http/schemas.ts';
import { MONITORS, WALL_VIEWERS } from '../../../core/identity/types.ts';
import type { ConsoleContext } from '../context.ts';
import { createWallService } from './service.ts';
import { MAX_TOUR_CAMERAS } from './types.ts';

const Grid = Type.Union([Type.Literal(1), Type.Literal(4), Type.Literal(9), Type.Literal(16), Type.Literal(25)], { description: 'Tiles on the wall: 1, 4, 9, 16 or 25 (5×5, offered on wide screens).' });
const Tile = Type.Object({ index: Type.Integer({ minimum: 0, maximum: 24 }), deviceId: Type.Union([Uuid, Type.Null()]) });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const LayoutSchema = Type.Object({
  id: Uuid, name: Type.String(), grid: Grid, tiles: Type.Array(Tile), isDefault: Type.Boolean(), updatedAt: DateTime,
});

export const TourSchema = Type.Object({
  id: Uuid, name: Type.String(), deviceIds: Type.Array(Uuid), intervalSeconds: Type.Integer(), grid: Grid,
  createdByName: Type.String(), updatedAt: DateTime,
});

const WallDeviceSchema = Type.Object({
  id: Uuid, name: Type.String(), code: Nullable(Type.String()),
  cameraType: Nullable(StringEnum(['fixed', 'ptz', 'face'] as const)),
  siteId: Nullable(Uuid), siteName: Nullable(Type.String()), address: Nullable(Type.String()),
  lat: Nullable(Type.Number()), lon: Nullable(Type.Number()),
  status: StringEnum(['unknown', 'online', 'offline', 'degraded'] as const), statusReason: Nullable(Type.String()),
  enabled: Type.Boolean(), ptz: Type.Boolean(), hasSub: Type.Boolean({ description: 'A sub stream URL is registered.' }),
});

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });
const LayoutBody = Type.Object({
  grid: Grid,
  tiles: Type.Array(Tile, { maxItems: 25 }),
  isDefault: Type.Optional(Type.Boolean({ description: 'Open this layout when the wall opens; the others stop being the default.' })),
});
const TourFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  deviceIds: Type.Array(Uuid, { minItems: 1, maxItems: MAX_TOUR_CAMERAS, description: 'Cameras in the order the tour shows them.' }),
  intervalSeconds: Type.Integer({ minimum: 5, maximum: 3600, description: 'Seconds each page of cameras stays on the wall.' }),
  grid: Grid,
};

/**
 * The video wall: every wall viewer keeps their own layouts; monitors define and run tours,
 * and starting or stopping one is audited (tour.start / tour.stop with the tour id).
 */
export const wallRoutes = fp(async (app: App, opts: { ctx: ConsoleContext }) => {
  const wall = createWallService(opts.ctx.platform);
  const meta = (req: { ip: string; id: string }) => ({ ip: req.ip, requestId: req.id });

  app.get('/api/wall/devices', {
    config: { access: { roles: WALL_VIEWERS } },
    schema: {
      tags: ['wall'], summary: 'Cameras for the wall',
      description: 'Every camera in service with its site, status (and why) and whether it has PTZ and a sub stream: the wall\'s device tree. No paging.',
      response: { 200: Type.Object({ items: Type.Array(WallDeviceSchema) }), ...errors(401, 403) },
    },
  }, async () => wall.cameras());

  app.get('/api/wall/layouts', {
    config: { access: { roles: WALL_VIEWERS } },
    schema: {
      tags: ['wall'], summary: 'My wall layouts', description: 'Your saved layouts, the default first.',
      response: { 200: Type.Object({ items: Type.Array(LayoutSchema) }), ...errors(401, 403) },
    },
  }, async (req) => wall.layouts(req.principal!));

  app.put('/api/wall/layouts/:name', {
    config: { access: { roles: WALL_VIEWERS }, audit: 'wall.layout.save' },
    schema: {
      tags: ['wall'], summary: 'Save a wall layout',
      description: 'Create or replace your layout of this name. Tiles not sent are empty; every device must be a camera in service.',
      params: NameParams, body: LayoutBody, response: { 200: LayoutSchema, ...errors(400, 401, 403, 409) },
    },
  }, async (req) => wall.saveLayout(req.principal!, req.params.name, req.body, meta(req)));

  app.delete('/api/wall/layouts/:name', {
    config: { access: { roles: WALL_VIEWERS }, audit: 'wall.layout.delete' },
    schema: { tags: ['wall'], summary: 'Delete a wall layout', params: NameParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    await wall.deleteLayout(req.principal!, req.params.name, meta(req));
    return reply.code(204).send(null);
  });

  app.get('/api/wall/tours', {
    config: { access: { roles: WALL_VIEWERS } },
    schema: { tags: ['wall'], summary: 'Tours', description: 'Every tour (轮巡), by name.', response: { 200: Type.Object({ items: Type.Array(TourSchema) }), ...errors(401, 403) } },
  }, async () => wall.tours());

  app.get('/api/wall/tours/:id', {
    config: { access: { roles: WALL_VIEWERS } },
    schema: { tags: ['wall'], summary: 'A tour', params: IdParams, response: { 200: TourSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => wall.tour(req.params.id));

  app.post('/api/wall/tours', {
    config: { access: { roles: MONITORS }, audit: 'tour.create' },
    schema: {
      tags: ['wall'], summary: 'Create a tour', description: 'Cameras only (400 naming deviceIds otherwise); names are unique (409).',
      body: Type.Object({ ...TourFields, intervalSeconds: Type.Optional(TourFields.intervalSeconds), grid: Type.Optional(TourFields.grid) }),
      response: { 201: TourSchema, ...errors(400, 401, 403, 409) },
    },
  }, async (req, reply) => reply.code(201).send(await wall.createTour(req.principal!, req.body, meta(req))));

  app.patch('/api/wall/tours/:id', {
    config: { access: { roles: MONITORS }, audit: 'tour.update' },
    schema: {
      tags: ['wall'], summary: 'Change a tour', params: IdParams,
      body: Type.Partial(Type.Object(TourFields), { minProperties: 1 }),
      response: { 200: TourSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => wall.updateTour(req.principal!, req.params.id, req.body, meta(req)));

  app.delete('/api/wall/tours/:id', {
    config: { access: { roles: MONITORS }, audit: 'tour.delete' },
    schema: { tags: ['wall'], summary: 'Delete a tour', params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    await wall.deleteTour(req.principal!, req.params.id, meta(req));
    return reply.code(204).send(null);
  });

  for (const action of ['start', 'stop'] as const) {
    app.post(`/api/wall/tours/:id/${action}`, {
      config: { access: { roles: MONITORS }, audit: `tour.${action}` },
      schema: {
        tags: ['wall'], summary: action === 'start' ? 'Start a tour' : 'Stop a tour',
        description: `Your wall ${action === 'start' ? 'began' : 'stopped'} rotating this tour: written to the audit log (tour.${action}) with the tour id. Answers the tour.`,
        params: IdParams, response: { 200: TourSchema, ...errors(400, 401, 403, 404) },
      },
    }, async (req) => wall.runTour(req.principal!, req.params.id, action, meta(req)));
  }
}, { name: 'wall-routes', dependencies: ['identity-guard'] });
