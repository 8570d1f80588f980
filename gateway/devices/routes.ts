import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, StringEnum } from '../../core/http/schemas.ts';
import type { AuditLog } from '../../core/audit/types.ts';
import { ADMIN, STAFF } from '../../core/identity/types.ts';
import { DeviceInputSchema, DeviceListQuery, DeviceSchema, ImportReportSchema, SiteSchema, State } from './schemas.ts';
import type { DeviceService, WriteContext } from './service.ts';
import type { ListLocale } from './types.ts';

export interface DeviceRoutesOptions {
  devices: DeviceService;
  /** Kept for the callers that pass it; the service writes the audit rows. */
  audit?: AuditLog;
  timezone: string;
}

const CSV_LIMIT = 8 * 1024 * 1024;
const LOCALES = ['zh-CN', 'en'] as const;

const who = (req: FastifyRequest): WriteContext => ({ actor: req.principal as WriteContext['actor'], ip: req.ip, requestId: req.id });

/** The requesting user's language: `locale` in the query, else Accept-Language, else zh-CN (the console's default). */
function requestLocale(req: FastifyRequest, explicit: ListLocale | undefined): ListLocale {
  if (explicit) return explicit;
  const first = String(req.headers['accept-language'] ?? '').split(',')[0]?.trim().toLowerCase() ?? '';
  if (first.startsWith('en')) return 'en';
  return 'zh-CN';
}

/** The device registry's user API (served by the console process). */
export const deviceRoutes = fp(async (app: App, { devices, timezone }: DeviceRoutesOptions) => {
  app.get('/api/sites', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['devices'], summary: 'List sites',
      description: 'Every site (platform, area, station) with its parent, so a client can show the tree.',
      response: { 200: Type.Object({ items: Type.Array(SiteSchema) }), ...errors(401, 403) },
    },
  }, async () => ({ items: (await devices.listSites()).map((s) => ({ ...s, timezone })) }));

  app.get('/api/devices', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['devices'], summary: 'List devices in service',
      description: 'Filtered and paged. `siteId` includes the sites below it. Names sort by pinyin in zh-CN (`locale`, else Accept-Language). Decommissioned devices are not listed.',
      querystring: DeviceListQuery,
      response: { 200: Type.Object({ items: Type.Array(DeviceSchema), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() }), ...errors(400, 401, 403) },
    },
  }, async (req) => {
    const { page, pageSize, sort, order, locale, ...filter } = req.query;
    const { items, total } = await devices.list(filter, { page, pageSize, sort, order, locale: requestLocale(req, locale) });
    return { items, total, page, pageSize };
  });

  app.get('/api/devices/import/template', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['devices'], summary: 'CSV import template',
      description: 'The header and an example row that imports as it stands (enumeration labels in the requested language).',
      querystring: Type.Object({ locale: Type.Optional(StringEnum(LOCALES)) }),
      response: { 200: Type.String(), ...errors(401, 403) },
    },
  }, async (req, reply) => {
    const csv = await devices.importTemplate(requestLocale(req, req.query.locale));
    return reply.header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="skynet-devices-template.csv"').send(csv);
  });

  app.get('/api/devices/:id', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['devices'], summary: 'Get a device',
      description: 'A decommissioned device is found too (`decommissionedAt` set): its footage stays playable until its retention ends.',
      params: IdParams, response: { 200: DeviceSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => devices.get(req.params.id));

  app.get('/api/devices/:id/status-history', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['devices'], summary: 'Status history of a device', params: IdParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ at: DateTime, status: State, reason: Type.Union([Type.String(), Type.Null()]) })) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => ({ items: await devices.statusHistoryOf(req.params.id, req.query.limit) }));

  app.post('/api/devices', {
    config: { access: { roles: ADMIN }, audit: 'device.create' },
    schema: {
      tags: ['devices'], summary: 'Register a device',
      description: 'A device whose ONVIF endpoint, serial number or stream URL is already registered is refused with 409 `device.duplicate` (params name the device and the attribute) unless `confirmDuplicate` is true. Audited.',
      body: DeviceInputSchema, response: { 201: DeviceSchema, ...errors(400, 401, 403, 409) },
    },
  }, async (req, reply) => reply.code(201).send(await devices.create(req.body, who(req))));

  app.patch('/api/devices/:id', {
    config: { access: { roles: ADMIN }, audit: 'device.update' },
    schema: {
      tags: ['devices'], summary: 'Change a device',
      description: 'Absent fields keep their value. Changing the ONVIF endpoint, serial or a stream URL to one already registered needs `confirmDuplicate`. A decommissioned device cannot be changed (409 `device.decommissioned`). Audited.',
      params: IdParams, body: DeviceInputSchema, response: { 200: DeviceSchema, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => devices.update(req.params.id, req.body, who(req)));

  app.delete('/api/devices/:id', {
    config: { access: { roles: ADMIN }, audit: 'device.delete' },
    schema: {
      tags: ['devices'], summary: 'Decommission a device',
      description: 'The device leaves the list and the gateway and its code is free again; its footage stays searchable and playable until its retention ends. Audited.',
      params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    await devices.remove(req.params.id, who(req));
    return reply.code(204).send(null);
  });

  app.post('/api/devices/:id/stream-key', {
    config: { access: { roles: ADMIN }, audit: 'device.stream_key_rotate' },
    schema: {
      tags: ['devices'], summary: 'Rotate a mobile camera\'s RTMP stream key',
      description: 'A new stream key, shown in this answer only (it is stored as a hash). New pushes need it at once; a push already running goes on until it ends. Audited.',
      params: IdParams, response: { 200: Type.Object({ streamKey: Type.String() }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => devices.rotateStreamKey(req.params.id, who(req)));

  // The CSV import in its own (encapsulated) scope: only this route parses text/csv and
  // text/plain bodies; every other route accepts JSON alone.
  await app.register(async (scope: App) => {
    scope.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: CSV_LIMIT }, (_req, body, done) => done(null, body));
    scope.post('/api/devices/import', {
      config: { access: { roles: ADMIN }, audit: 'device.import' },
      bodyLimit: CSV_LIMIT,
      schema: {
        tags: ['devices'], summary: 'Import devices from CSV',
        description: 'Content-Type: text/csv. All or nothing: every row is checked first and every problem of every row is reported (`refused`, columns named as in the file, each with a code and params); when any row is refused nothing is written (`applied: false`). A row whose code is registered updates that device. Rows that repeat a registered ONVIF endpoint or stream URL are refused unless `confirmDuplicate=true`. Audited per device, plus a summary row (a refused file leaves a failed one).',
        querystring: Type.Object({ confirmDuplicate: Type.Boolean({ default: false }) }),
        body: Type.String({ maxLength: CSV_LIMIT }),
        response: { 200: ImportReportSchema, ...errors(400, 401, 403, 413, 415) },
      },
    }, async (req) => devices.importCsv(req.body, { confirmDuplicate: req.query.confirmDuplicate }, who(req)));
  });
}, { name: 'device-routes', dependencies: ['identity-guard'] });
