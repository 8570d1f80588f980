import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { errors, IdParams, StringEnum } from '../../core/http/schemas.ts';
import { ADMIN, STAFF } from '../../core/identity/types.ts';
import type { Platform } from '../../core/platform.ts';
import { createSiteService, type WriteContext } from './service.ts';
import { SITE_KINDS, type SiteWithUsage } from './types.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });

/** A site as GET /api/sites lists it, with what uses it. */
export const SiteUsageSchema = Type.Object({
  id: Type.String(), code: Type.String(), name: Type.String(), kind: StringEnum(SITE_KINDS), parentId: Nullable(Type.String()),
  lat: Nullable(Type.Number()), lon: Nullable(Type.Number()), timezone: Type.String(),
  devices: Type.Integer({ description: 'Devices registered to this site (decommissioned ones not counted).' }),
  children: Type.Integer({ description: 'Sites directly below this one.' }),
});

const SiteFields = {
  code: Type.String({ minLength: 1, maxLength: 64, description: 'Unique: letters, digits and _.-' }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: StringEnum(SITE_KINDS, { description: 'platform (监控平台) above area (派出所/大队) above station' }),
  parentId: Type.Optional(Nullable(Type.String({ format: 'uuid' }))),
  lat: Type.Optional(Nullable(Lat)),
  lon: Type.Optional(Nullable(Lon)),
};

/** Admin routes of the site tree; GET /api/sites (the flat list) is served by gateway/devices/routes.ts. */
export const siteRoutes = fp(async (app: App, opts: { platform: Platform }) => {
  const { platform } = opts;
  const sites = createSiteService({ pool: platform.pool, audit: platform.audit });
  const timezone = platform.config.site.timezone;
  const json = (s: SiteWithUsage) => ({ ...s, timezone });
  const ctx = (req: { principal?: WriteContext['actor'] | null; ip: string; id: string }): WriteContext => ({ actor: req.principal!, ip: req.ip, requestId: req.id });

  app.get('/api/sites/usage', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['sites'], summary: 'Sites with their use',
      description: 'Every site with the number of devices registered to it and of sites directly below it: what the site tree page shows.',
      response: { 200: Type.Object({ items: Type.Array(SiteUsageSchema) }), ...errors(401, 403) },
    },
  }, async () => ({ items: (await sites.list()).map(json) }));

  app.get('/api/sites/:id', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['sites'], summary: 'A site', params: IdParams,
      response: { 200: SiteUsageSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => json(await sites.get(req.params.id)));

  app.post('/api/sites', {
    config: { access: { roles: ADMIN }, audit: 'site.create' },
    schema: {
      tags: ['sites'], summary: 'Create a site',
      description: 'A platform, area or station, below `parentId` (none: a top-level platform). The parent must exist and not be of a lower level; codes are unique (409 site.code_taken).',
      body: Type.Object(SiteFields),
      response: { 201: SiteUsageSchema, ...errors(400, 401, 403, 409) },
    },
  }, async (req, reply) => reply.code(201).send(json(await sites.create(ctx(req), req.body))));

  app.patch('/api/sites/:id', {
    config: { access: { roles: ADMIN }, audit: 'site.update' },
    schema: {
      tags: ['sites'], summary: 'Change a site',
      description: 'Any of its fields; moving it below one of its own descendants (or itself) is refused with 409 site.cycle naming `parentId`.',
      params: IdParams,
      body: Type.Partial(Type.Object(SiteFields)),
      response: { 200: SiteUsageSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => json(await sites.update(ctx(req), req.params.id, req.body)));

  app.delete('/api/sites/:id', {
    config: { access: { roles: ADMIN }, audit: 'site.delete' },
    schema: {
      tags: ['sites'], summary: 'Delete a site',
      description: 'Refused with 409 site.in_use ({ devices, children }) while devices are registered to it or sites sit below it.',
      params: IdParams,
      response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    await sites.remove(ctx(req), req.params.id);
    return reply.code(204).send(null);
  });
}, { name: 'site-routes', dependencies: ['identity-guard'] });
