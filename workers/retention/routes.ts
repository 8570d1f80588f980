import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../../core/http/app.ts';
import { DateTime, errors, NullableDateTime, StringEnum, Uuid } from '../../core/http/schemas.ts';
import { ADMIN, type Role } from '../../core/identity/types.ts';
import { HOLD_KINDS } from './holds.ts';
import type { RetentionService } from './service.ts';

const SUPERVISORS: readonly Role[] = ['admin', 'supervisor'];
const Disk = Type.Object({ totalBytes: Type.Number(), usedBytes: Type.Number(), freeBytes: Type.Number(), usedPercent: Type.Number() });
const Overview = Type.Object({
  config: Type.Object({
    highWaterPercent: Type.Integer(), lowWaterPercent: Type.Integer(), intervalMinutes: Type.Integer(),
    exportRetentionDays: Type.Integer(), defaultRetentionDays: Type.Integer(), batchSize: Type.Integer(),
  }),
  nodes: Type.Array(Type.Object({ nodeId: Type.String(), disk: Type.Union([Disk, Type.Null()]), error: Type.Union([Type.String(), Type.Null()]) })),
  holds: Type.Object({ active: Type.Integer() }),
  purgeQueue: Type.Integer({ description: 'files out of the index still waiting to be unlinked' }),
  lastRun: Type.Union([Type.Object({
    id: Type.Integer(), startedAt: DateTime, finishedAt: NullableDateTime, status: StringEnum(['running', 'ok', 'failed'] as const),
    result: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]), error: Type.Union([Type.String(), Type.Null()]),
  }), Type.Null()]),
});
const HoldSchema = Type.Object({
  id: Type.Integer(), deviceId: Uuid, startsAt: DateTime, endsAt: DateTime, kind: StringEnum(HOLD_KINDS),
  ref: Type.String(), reason: Type.Union([Type.String(), Type.Null()]), createdBy: Type.Union([Uuid, Type.Null()]),
  createdAt: DateTime, releasedAt: NullableDateTime,
});

/** Retention's admin API (console process): settings, node disks, queue and last run; the live holds. */
export const retentionRoutes = fp(async (app: App, opts: { retention: RetentionService }) => {
  const { retention } = opts;

  app.get('/api/admin/retention', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['jobs'], summary: 'Retention status',
      description: 'Retention settings, the media disk of each live gateway node, active holds, files waiting in the purge queue, and the last run.',
      response: { 200: Overview, ...errors(401, 403) },
    },
  }, async () => retention.overview());

  app.get('/api/admin/holds', {
    config: { access: { roles: SUPERVISORS } },
    schema: {
      tags: ['jobs'], summary: 'Footage holds',
      description: 'Live holds (footage retention keeps: export ranges, bookmarks, evidence), of one camera or all.',
      querystring: Type.Object({ deviceId: Type.Optional(Uuid) }),
      response: { 200: Type.Object({ items: Type.Array(HoldSchema) }), ...errors(400, 401, 403) },
    },
  }, async (req) => retention.holds(req.query.deviceId));
}, { name: 'retention-routes', dependencies: ['identity-guard'] });
