import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, IdParams, NullableDateTime, PageOf, Paging, StringEnum, Uuid } from '../../core/http/schemas.ts';
import { STAFF, type Role } from '../../core/identity/types.ts';
import { MediaToken } from '../../gateway/streams/media-auth.ts';
import type { ExportService } from './service.ts';
import { EXPORT_STATUSES, GAP_REASONS } from './types.ts';

/** Who may ask for exports. Monitors and patrol may not. */
export const EXPORTERS: readonly Role[] = ['admin', 'supervisor', 'investigator'];

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ExportSchema = Type.Object({
  id: Uuid,
  caseNumber: Type.String(),
  reason: Type.String(),
  requestedByName: Type.String(),
  requestedAt: DateTime,
  items: Type.Array(Type.Object({ deviceId: Uuid, deviceName: Type.String(), from: DateTime, to: DateTime })),
  status: StringEnum(EXPORT_STATUSES),
  progress: Type.Object({ percent: Type.Number(), bytes: Type.Number(), stage: Type.Optional(Type.String()) }),
  bytes: Type.Union([Type.Number(), Type.Null()]),
  sha256: Nullable(Type.String()),
  error: Nullable(Type.String()),
  errorCode: Nullable(Type.String()),
  finishedAt: NullableDateTime,
  gaps: Type.Array(Type.Object({ deviceId: Uuid, from: DateTime, to: DateTime, reason: StringEnum(GAP_REASONS) })),
  delivered: Type.Union([Type.Array(Type.Object({ deviceId: Uuid, from: DateTime, to: DateTime, file: Type.String(), bytes: Type.Number() })), Type.Null()]),
});

/** People's export API (console process). The package link's token is its only credential. */
export const exportRoutes = fp(async (app: App, opts: { exports: ExportService }) => {
  const { exports } = opts;

  app.post('/api/exports', {
    config: { access: { roles: EXPORTERS } },
    schema: {
      tags: ['exports'], summary: 'Request an evidence export',
      description: 'Cuts the recorded footage of each camera over its range (stream copy, from the keyframe before the start) into one MP4 per camera, adds the snapshots named, and packs them with a signed manifest (Ed25519) into a ZIP. The footage is held against retention from now on. Audited.',
      body: Type.Object({
        caseNumber: Type.String({ minLength: 1, maxLength: 64 }),
        reason: Type.String({ minLength: 1, maxLength: 500 }),
        items: Type.Array(Type.Object({ deviceId: Uuid, from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }) }), { minItems: 1, maxItems: 64 }),
        snapshotIds: Type.Optional(Type.Array(Uuid, { maxItems: 50 })),
      }),
      response: { 202: Type.Object({ export: ExportSchema }), ...errors(400, 401, 403, 404, 422) },
    },
  }, async (req, reply) => reply.code(202).send(await exports.request(req.principal!, req.body, { ip: req.ip, requestId: req.id })));

  app.get('/api/exports', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['exports'], summary: 'Exports', description: 'Newest first. Admins and supervisors see everyone\'s unless `mine`; others see their own.',
      querystring: Type.Object({ mine: Type.Optional(Type.Boolean()), ...Paging }),
      response: { 200: PageOf(ExportSchema), ...errors(400, 401, 403) },
    },
  }, async (req) => exports.list(req.principal!, req.query));

  app.get('/api/exports/:id', {
    config: { access: { roles: STAFF } },
    schema: { tags: ['exports'], summary: 'An export', params: IdParams, response: { 200: ExportSchema, ...errors(400, 401, 403, 404) } },
  }, async (req) => exports.get(req.principal!, req.params.id));

  app.post('/api/exports/:id/download', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['exports'], summary: 'A download link',
      description: 'A link to the package signed for you (about 10 minutes). Only who asked for the export, supervisors and admins. Audited.',
      params: IdParams, body: Type.Object({}),
      response: { 200: Type.Object({ url: Type.String(), expiresAt: DateTime }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => exports.download(req.principal!, req.params.id, { ip: req.ip, requestId: req.id }));

  app.get('/api/exports/:id/package/:token', {
    config: { access: 'public' },
    schema: { hide: true, params: Type.Object({ id: Uuid, token: MediaToken }) },
  }, async (req, reply) => {
    const { stream, bytes, filename } = await exports.package(req.params.id, req.params.token);
    return reply.header('content-type', 'application/zip').header('content-length', bytes)
      .header('content-disposition', `attachment; filename="${filename}"`).header('cache-control', 'private, no-store').send(stream);
  });

  app.get('/api/evidence/public-key', {
    config: { access: { roles: STAFF } },
    schema: {
      tags: ['exports'], summary: 'The evidence signing key',
      description: 'The Ed25519 public key export manifests are signed with: `skynet verify --key` takes this PEM.',
      response: { 200: Type.Object({ algorithm: Type.Literal('Ed25519'), publicKeyPem: Type.String(), fingerprint: Type.String() }), ...errors(401, 403) },
    },
  }, async () => exports.publicKey());
}, { name: 'export-routes', dependencies: ['identity-guard'] });
