import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams } from '../../core/http/schemas.ts';
import { badRequest } from '../../core/http/errors.ts';
import type { AuditLog } from '../../core/audit/types.ts';
import { ADMIN, STAFF } from '../../core/identity/types.ts';
import { DeviceInputSchema, DeviceListQuery, DeviceSchema, SiteSchema, State } from './schemas.ts';
import type { DeviceService } from './service.ts';

export interface DeviceRoutesOptions { devices: DeviceService; audit: AuditLog; timezone: string }

/** The device registry's user API (served by the console process). */
export const deviceRoutes = fp(async (app: App, { devices, audit, timezone }: DeviceRoutesOptions) => {
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: 8 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  const who = (req: { principal: unknown; ip: string; id: string }) => ({ actor: req.principal as never, ip: req.ip, requestId: req.id });

  app.get('/api/sites', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['devices'], response: { 200: Type.Object({ items: Type.Array(SiteSchema) }), ...errors(401, 403) } },
  }, async () => ({ items: (await devices.listSites()).map((s) => ({ ...s, timezone })) }));

  app.get('/api/devices', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['devices'], querystring: DeviceListQuery,
      response: { 200: Type.Object({ items: Type.Array(DeviceSchema), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() }), ...errors(400, 401, 403) },
    },
  }, async (req) => {
    const { page, pageSize, sort, order, ...filter } = req.query;
    const { items, total } = await devices.list(filter, { page, pageSize, sort, order });
    return { items, total, page, pageSize };
  });

  app.get('/api/devices/:id', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['devices'], params: IdParams, response: { 200: DeviceSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => devices.get(req.params.id));

  app.get('/api/devices/:id/status-history', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['devices'], params: IdParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ at: DateTime, status: State, reason: Type.Union([Type.String(), Type.Null()]) })) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    await devices.get(req.params.id);
    return { items: await devices.statusHistory(req.params.id, req.query.limit) };
  });

  app.post('/api/devices', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['devices'], body: DeviceInputSchema, response: { 201: DeviceSchema, ...errors(400, 401, 403, 409) } },
  }, async (req, reply) => {
    if (!req.body.name) throw badRequest('name is required', 'name');
    const device = await devices.create(req.body);
    await audit.record({ ...who(req), action: 'device.create', targetType: 'device', targetId: device.id, details: { name: device.name, code: device.code } });
    return reply.code(201).send(device);
  });

  app.patch('/api/devices/:id', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['devices'], params: IdParams, body: DeviceInputSchema, response: { 200: DeviceSchema, ...errors(400, 401, 403, 404, 409) } },
  }, async (req) => {
    const device = await devices.update(req.params.id, req.body);
    const fields = Object.keys(req.body);
    await audit.record({ ...who(req), action: 'device.update', targetType: 'device', targetId: device.id, details: { fields, passwordChanged: Boolean(req.body.onvif?.password) } });
    return device;
  });

  app.delete('/api/devices/:id', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['devices'], params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
  }, async (req, reply) => {
    const device = await devices.get(req.params.id);
    await devices.remove(req.params.id);
    await audit.record({ ...who(req), action: 'device.delete', targetType: 'device', targetId: device.id, details: { name: device.name, code: device.code } });
    return reply.code(204).send(null);
  });

  app.post('/api/devices/import', {
    config: { access: { roles: ADMIN } },
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      tags: ['devices'],
      description: 'Bulk import from CSV (Content-Type: text/csv). Rows whose code exists update that device. Bad rows are reported, good rows land.',
      body: Type.String({ maxLength: 8 * 1024 * 1024 }),
      response: {
        200: Type.Object({ created: Type.Integer(), updated: Type.Integer(), refused: Type.Array(Type.Object({ row: Type.Integer(), field: Type.Union([Type.String(), Type.Null()]), reason: Type.String() })) }),
        ...errors(400, 401, 403, 413, 415),
      },
    },
  }, async (req) => {
    if (typeof req.body !== 'string' || !req.body.trim()) throw badRequest('send the CSV as the request body with Content-Type: text/csv');
    const report = await devices.importCsv(req.body);
    await audit.record({ ...who(req), action: 'device.import', targetType: 'device', details: { created: report.created, updated: report.updated, refused: report.refused.length } });
    return report;
  });
}, { name: 'device-routes', dependencies: ['identity-guard'] });
