import type { Queryable } from '../db/pool.ts';
import type { AuditEntry, AuditRecord } from './types.ts';

export interface AuditQuery {
  actorId?: string; action?: string; targetType?: string; targetId?: string;
  from?: Date; to?: Date; limit: number; offset: number;
}

export function createAuditRepository(db: Queryable) {
  return {
    async insert(e: AuditEntry): Promise<void> {
      await db.query(
        `INSERT INTO audit_log (actor_id, actor_name, actor_kind, action, target_type, target_id, outcome, reason, details, ip, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [e.actor.userId, e.actor.username, e.actor.kind, e.action, e.targetType ?? null, e.targetId ?? null,
          e.outcome ?? 'ok', e.reason ?? null, JSON.stringify(e.details ?? {}), e.ip ?? null, e.requestId ?? null],
      );
    },

    async list(q: AuditQuery): Promise<{ items: AuditRecord[]; total: number }> {
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (sql: string, value: unknown) => { args.push(value); where.push(sql.replace('?', `$${args.length}`)); };
      if (q.actorId) add('actor_id = ?', q.actorId);
      if (q.action) add('action LIKE ?', q.action.replace(/[%_]/g, '\\$&') + '%');
      if (q.targetType) add('target_type = ?', q.targetType);
      if (q.targetId) add('target_id = ?', q.targetId);
      if (q.from) add('at >= ?', q.from);
      if (q.to) add('at < ?', q.to);
      const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const { rows } = await db.query(
        `SELECT id, at, actor_id AS "actorId", actor_name AS "actorName", actor_kind AS "actorKind", action,
                target_type AS "targetType", target_id AS "targetId", outcome, reason, details, ip, request_id AS "requestId",
                count(*) OVER ()::int AS total
         FROM audit_log ${filter} ORDER BY at DESC, id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
        [...args, q.limit, q.offset],
      );
      return { items: rows.map(({ total: _t, ...r }) => r as AuditRecord), total: rows[0]?.total ?? 0 };
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;

/** How many request ids the log remembers between a row being written and its response ending. */
const REMEMBERED_REQUESTS = 10_000;

/**
 * The audit log every feature writes through. A failed audit write fails the action.
 * A row written with a `requestId` marks that request as audited, so the failure hook
 * (failures.ts) adds no second row for it; `claim` reads and forgets the mark.
 */
export function createAuditLog(db: Queryable) {
  const repo = createAuditRepository(db);
  const recorded = new Set<string>();
  return {
    async record(entry: AuditEntry): Promise<void> {
      await repo.insert(entry);
      if (!entry.requestId) return;
      recorded.add(entry.requestId);
      if (recorded.size > REMEMBERED_REQUESTS) recorded.delete(recorded.values().next().value!);
    },
    claim(requestId: string): boolean {
      return recorded.delete(requestId);
    },
    list: repo.list,
  };
}
