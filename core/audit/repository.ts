import type { Queryable } from '../db/pool.ts';
import type { AuditEntry, AuditRecord } from './types.ts';

/** What the audit viewer filters by; every field optional but paging. */
export interface AuditFilter {
  /** The actor's user id (exact). */
  actorId?: string;
  /** Part of the actor's name, any case (`zhang` finds `zhang.wei`). */
  actor?: string;
  /** An action or its dotted prefix (`user.` finds user.create, user.update …). */
  action?: string;
  targetType?: string; targetId?: string;
  outcome?: 'ok' | 'denied' | 'failed';
  from?: Date; to?: Date;
}
export interface AuditQuery extends AuditFilter { limit: number; offset: number }

/** Totals are counted up to this many rows (then `totalCapped`): a count over millions of rows is not worth its time. */
export const AUDIT_COUNT_CAP = 10_000;

const SELECT = `SELECT id, at, actor_id AS "actorId", actor_name AS "actorName", actor_kind AS "actorKind", action,
                target_type AS "targetType", target_id AS "targetId", outcome, reason, details, ip, request_id AS "requestId"
         FROM audit_log`;

/** The WHERE clause of a filter, its arguments numbered from $1. */
function whereOf(q: AuditFilter): { sql: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, value: unknown) => { args.push(value); where.push(sql.replaceAll('?', `$${args.length}`)); };
  const like = (s: string) => s.replace(/[\\%_]/g, '\\$&');
  if (q.actorId) add('actor_id = ?', q.actorId);
  if (q.actor) add(`actor_name ILIKE ?`, `%${like(q.actor)}%`);
  if (q.action) add('action LIKE ?', like(q.action) + '%');
  if (q.targetType) add('target_type = ?', q.targetType);
  if (q.targetId) add('target_id = ?', q.targetId);
  if (q.outcome) add('outcome = ?', q.outcome);
  if (q.from) add('at >= ?', q.from);
  if (q.to) add('at < ?', q.to);
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
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

    /** Newest first; `total` counted up to AUDIT_COUNT_CAP (then `totalCapped`). */
    async list(q: AuditQuery): Promise<{ items: AuditRecord[]; total: number; totalCapped: boolean }> {
      const { sql, args } = whereOf(q);
      const n = args.length;
      const [{ rows }, count] = await Promise.all([
        db.query<AuditRecord>(`${SELECT} ${sql} ORDER BY at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`, [...args, q.limit, q.offset]),
        db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM audit_log ${sql} LIMIT $${n + 1}) capped`, [...args, AUDIT_COUNT_CAP + 1]),
      ]);
      const total = count.rows[0]?.n ?? 0;
      return { items: rows, total: Math.min(total, AUDIT_COUNT_CAP), totalCapped: total > AUDIT_COUNT_CAP };
    },

    /** Whether more than `max` rows match (the export's cap). */
    async moreThan(q: AuditFilter, max: number): Promise<boolean> {
      const { sql, args } = whereOf(q);
      const { rows } = await db.query(`SELECT 1 FROM audit_log ${sql} ORDER BY at DESC, id DESC OFFSET $${args.length + 1} LIMIT 1`, [...args, max]);
      return rows.length > 0;
    },

    /**
     * Newest first, `max` rows at most, read in keyset batches so a long export holds no
     * connection or memory for long. The keyset carries `at` as text: a Date would drop the
     * microseconds and skip rows.
     */
    async *stream(q: AuditFilter, max: number, batch = 1000): AsyncGenerator<AuditRecord> {
      const { sql, args } = whereOf(q);
      let after: { at: string; id: number } | null = null;
      let sent = 0;
      while (sent < max) {
        const size = Math.min(batch, max - sent);
        const n = args.length;
        const keyset: string = after ? `${sql ? `${sql} AND` : 'WHERE'} (at, id) < ($${n + 2}::timestamptz, $${n + 3})` : sql;
        const result = await db.query<AuditRecord & { cursorAt: string }>(
          `SELECT * FROM (${SELECT.replace('SELECT id,', 'SELECT at::text AS "cursorAt", id,')} ${keyset} ORDER BY at DESC, id DESC LIMIT $${n + 1}) page`,
          after ? [...args, size, after.at, after.id] : [...args, size]);
        const rows: (AuditRecord & { cursorAt: string })[] = result.rows;
        for (const { cursorAt: _c, ...r } of rows) yield r;
        sent += rows.length;
        if (rows.length < size) return;
        const last: AuditRecord & { cursorAt: string } = rows[rows.length - 1]!;
        after = { at: last.cursorAt, id: last.id };
      }
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
    moreThan: repo.moreThan,
    stream: repo.stream,
  };
}
