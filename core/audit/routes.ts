import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../http/app.ts';
import { errors } from '../http/schemas.ts';
import type { AuditRepository } from './repository.ts';

const AuditItem = Type.Object({
  id: Type.Integer(), at: Type.String({ format: 'date-time' }), actorId: Type.Union([Type.String(), Type.Null()]),
  actorName: Type.String(), actorKind: Type.String(), action: Type.String(),
  targetType: Type.Union([Type.String(), Type.Null()]), targetId: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(), reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()), ip: Type.Union([Type.String(), Type.Null()]),
});

/** GET /api/audit — who did what, when and why (admins and supervisors). */
export const auditRoutes = fp(async (app: App, opts: { audit: Pick<AuditRepository, 'list'> }) => {
  app.get('/api/audit', {
    config: { access: { roles: ['admin', 'supervisor'] } },
    schema: {
      summary: 'Search the audit log', tags: ['audit'],
      querystring: Type.Object({
        actorId: Type.Optional(Type.String({ format: 'uuid' })), action: Type.Optional(Type.String({ maxLength: 100 })),
        targetType: Type.Optional(Type.String({ maxLength: 50 })), targetId: Type.Optional(Type.String({ maxLength: 100 })),
        from: Type.Optional(Type.String({ format: 'date-time' })), to: Type.Optional(Type.String({ format: 'date-time' })),
        page: Type.Integer({ minimum: 1, default: 1 }), pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
      }),
      response: { 200: Type.Object({ items: Type.Array(AuditItem), total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() }), ...errors(400, 401, 403) },
    },
  }, async (req) => {
    const q = req.query;
    const { items, total } = await opts.audit.list({
      actorId: q.actorId, action: q.action, targetType: q.targetType, targetId: q.targetId,
      from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined,
      limit: q.pageSize, offset: (q.page - 1) * q.pageSize,
    });
    return { items: items.map((i) => ({ ...i, at: i.at.toISOString() })), total, page: q.page, pageSize: q.pageSize };
  });
}, { name: 'audit-routes' });
