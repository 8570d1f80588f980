import type { Queryable } from '../../core/db/pool.ts';

export const HOLD_KINDS = ['export', 'bookmark', 'evidence'] as const;
export type HoldKind = (typeof HOLD_KINDS)[number];

export interface Hold {
  id: number;
  deviceId: string;
  startsAt: Date;
  endsAt: Date;
  kind: HoldKind;
  ref: string;
  reason: string | null;
  createdBy: string | null;
  createdAt: Date;
  releasedAt: Date | null;
}

export interface NewHold {
  deviceId: string;
  startsAt: Date;
  endsAt: Date;
  kind: HoldKind;
  /** What holds it: an export id, an incident id. */
  ref: string;
  reason?: string | null;
  createdBy?: string | null;
}

const COLUMNS = `id, device_id AS "deviceId", starts_at AS "startsAt", ends_at AS "endsAt", kind, ref, reason,
  created_by AS "createdBy", created_at AS "createdAt", released_at AS "releasedAt"`;

/**
 * The holds table: footage retention must keep. Exports (and later incident bookmarks and
 * evidence) write here; retention reads it and skips any segment a live hold overlaps.
 * Placing a hold is idempotent (same kind, ref, camera and start: one row).
 */
export function createHoldRepository(db: Queryable) {
  return {
    async place(holds: readonly NewHold[]): Promise<void> {
      if (holds.length === 0) return;
      await db.query(
        `INSERT INTO holds (device_id, starts_at, ends_at, kind, ref, reason, created_by)
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::uuid[])
         ON CONFLICT (kind, ref, device_id, starts_at) DO UPDATE SET released_at = NULL, ends_at = greatest(holds.ends_at, EXCLUDED.ends_at)`,
        [holds.map((h) => h.deviceId), holds.map((h) => h.startsAt), holds.map((h) => h.endsAt), holds.map((h) => h.kind),
          holds.map((h) => h.ref), holds.map((h) => h.reason ?? null), holds.map((h) => h.createdBy ?? null)],
      );
    },

    /** Release every hold of (kind, ref): retention may take that footage again. */
    async release(kind: HoldKind, ref: string): Promise<number> {
      const { rowCount } = await db.query(`UPDATE holds SET released_at = now() WHERE kind = $1 AND ref = $2 AND released_at IS NULL`, [kind, ref]);
      return rowCount ?? 0;
    },

    async active(filter: { deviceId?: string; kind?: HoldKind; ref?: string } = {}): Promise<Hold[]> {
      const { rows } = await db.query(
        `SELECT ${COLUMNS} FROM holds WHERE released_at IS NULL
           AND ($1::uuid IS NULL OR device_id = $1) AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR ref = $3)
         ORDER BY device_id, starts_at`,
        [filter.deviceId ?? null, filter.kind ?? null, filter.ref ?? null],
      );
      return rows as Hold[];
    },
  };
}

export type HoldRepository = ReturnType<typeof createHoldRepository>;
