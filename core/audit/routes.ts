import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { App } from '../http/app.ts';
import { errors, StringEnum } from '../http/schemas.ts';
import { AUDITORS } from '../identity/types.ts';
import type { AuditRepository } from './repository.ts';
import { createAuditViewer, type AuditViewerDeps } from './service.ts';
import type { AuditEntry } from './types.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const OUTCOMES = ['ok', 'denied', 'failed'] as const;

const AuditItem = Type.Object({
  id: Type.Integer(), at: Type.String({ format: 'date-time' }), actorId: Nullable(Type.String()),
  actorName: Type.String(), actorKind: Type.String(), action: Type.String(),
  targetType: Nullable(Type.String()), targetId: Nullable(Type.String()),
  outcome: Type.String(), reason: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown()), ip: Nullable(Type.String()), requestId: Nullable(Type.String()),
});

const Filters = {
  actorId: Type.Optional(Type.String({ format: 'uuid', description: 'The actor\'s user id.' })),
  actor: Type.Optional(Type.String({ maxLength: 64, description: 'Part of the actor\'s name, any case.' })),
  action: Type.Optional(Type.String({ maxLength: 100, description: 'An action or its dotted prefix: `user.` finds user.create, user.update …' })),
  targetType: Type.Optional(Type.String({ maxLength: 50 })), targetId: Type.Optional(Type.String({ maxLength: 100 })),
  outcome: Type.Optional(StringEnum(OUTCOMES)),
  from: Type.Optional(Type.String({ format: 'date-time' })), to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive; before `from` is refused (400 naming `to`).' })),
};

export interface AuditRoutesOptions {
  audit: Pick<AuditRepository, 'list' | 'moreThan' | 'stream'> & { record(entry: AuditEntry): Promise<void> };
  /** The site time zone (config site.timezone) for CSV times; absent: the `timeZone` the client sends, else UTC. */
  timezone?: string;
  maxExportRows?: AuditViewerDeps['maxExportRows'];
}

/** GET /api/audit and GET /api/audit/export.csv — who did what, when and why (admins and supervisors). */
export const auditRoutes = fp(async (app: App, opts: AuditRoutesOptions) => {
  const viewer = createAuditViewer(opts);

  app.get('/api/audit', {
    config: { access: { roles: AUDITORS } },
    schema: {
      summary: 'Search the audit log', tags: ['audit'],
      description: 'Newest first. `total` is counted up to 10,000 rows, then `totalCapped` is true.',
      querystring: Type.Object({
        ...Filters,
        page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }), pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
      }),
      response: {
        200: Type.Object({ items: Type.Array(AuditItem), total: Type.Integer(), totalCapped: Type.Boolean(), page: Type.Integer(), pageSize: Type.Integer() }),
        ...errors(400, 401, 403),
      },
    },
  }, async (req) => viewer.search(req.query));

  app.get('/api/audit/export.csv', {
    config: { access: { roles: AUDITORS }, audit: 'audit.export' },
    schema: {
      summary: 'Export the audit log as CSV', tags: ['audit'],
      description: 'The same filters as GET /api/audit, newest first, at most 100,000 rows (then the file ends with a note and the '
        + '`x-audit-truncated: true` header). UTF-8 with a byte-order mark; every cell quoted; a cell starting with = + - @, '
        + 'a tab or a carriage return gets a leading apostrophe so a spreadsheet never runs it. Times in the site time zone. '
        + 'The export itself is audited (audit.export, with its filters).',
      querystring: Type.Object({
        ...Filters,
        locale: Type.Optional(StringEnum(['zh-CN', 'en'] as const, { description: 'Language of the header row and outcomes (default zh-CN).' })),
        timeZone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone for the times when the server has no site zone configured.' })),
      }),
      response: { 200: Type.Unsafe<unknown>({ description: 'text/csv', type: 'string' }), ...errors(400, 401, 403) },
    },
  }, async (req, reply) => {
    const { stream, filename, truncated } = await viewer.exportCsv(req.principal!, req.query, { ip: req.ip, requestId: req.id });
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('cache-control', 'no-store')
      .header('x-audit-truncated', String(truncated))
      .send(stream);
  });
}, { name: 'audit-routes' });
