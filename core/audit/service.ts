import { Readable } from 'node:stream';
import { badRequest } from '../http/errors.ts';
import type { Principal } from '../identity/types.ts';
import { csvHeader, csvRow, csvTruncatedNote, isTimeZone, zonedTime, type CsvLocale } from './csv.ts';
import type { AuditFilter, AuditRepository } from './repository.ts';
import type { AuditEntry, AuditRecord } from './types.ts';

/** The most rows one CSV export carries; past it the file ends with a note. */
export const EXPORT_MAX_ROWS = 100_000;

export interface AuditViewerDeps {
  audit: Pick<AuditRepository, 'list' | 'moreThan' | 'stream'> & { record(entry: AuditEntry): Promise<void> };
  /** The site time zone (config site.timezone): CSV times are written in it. */
  timezone?: string;
  maxExportRows?: number;
}

/** The filters as the query string spells them (ISO times). */
export interface AuditFilterQuery {
  actorId?: string; actor?: string; action?: string; targetType?: string; targetId?: string;
  outcome?: 'ok' | 'denied' | 'failed'; from?: string; to?: string;
}

interface RequestMeta { ip: string; requestId: string }

/** A reversed range is refused naming `to`; blank strings are no filter. */
function filterOf(q: AuditFilterQuery): AuditFilter {
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  if (from && to && from.getTime() > to.getTime()) {
    throw badRequest('the time range ends before it starts', { field: 'to', code: 'audit.range_reversed' });
  }
  const text = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);
  return {
    actorId: q.actorId, actor: text(q.actor), action: text(q.action), targetType: text(q.targetType), targetId: text(q.targetId),
    outcome: q.outcome, from, to,
  };
}

const json = (r: AuditRecord) => ({ ...r, id: Number(r.id), at: r.at.toISOString() });
const defined = (f: AuditFilter) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));

/** The audit viewer: search the log, export it as CSV (the export audited itself). */
export function createAuditViewer({ audit, timezone, maxExportRows = EXPORT_MAX_ROWS }: AuditViewerDeps) {
  return {
    async search(q: AuditFilterQuery & { page: number; pageSize: number }) {
      const { items, total, totalCapped } = await audit.list({ ...filterOf(q), limit: q.pageSize, offset: (q.page - 1) * q.pageSize });
      return { items: items.map(json), total, totalCapped, page: q.page, pageSize: q.pageSize };
    },

    /**
     * The filtered log as a CSV stream, newest first, at most `maxExportRows` rows (then a
     * closing note and `truncated`). Times in the site zone (or `timeZone` when the site has
     * none configured here). Audited as `audit.export` before a byte is sent.
     */
    async exportCsv(principal: Principal, q: AuditFilterQuery & { locale?: CsvLocale; timeZone?: string }, meta: RequestMeta) {
      const filter = filterOf(q);
      const zone = timezone ?? q.timeZone ?? 'UTC';
      if (!isTimeZone(zone)) throw badRequest('timeZone is not a known time zone', { field: 'timeZone', code: 'audit.time_zone' });
      const locale: CsvLocale = q.locale ?? 'zh-CN';
      const truncated = await audit.moreThan(filter, maxExportRows);
      await audit.record({
        actor: principal, action: 'audit.export', targetType: 'audit_log',
        details: { filters: defined(filter), truncated, maxRows: maxExportRows, timeZone: zone }, ip: meta.ip, requestId: meta.requestId,
      });
      const rows = audit.stream(filter, maxExportRows);
      async function* lines() {
        yield csvHeader(locale, zone);
        for await (const r of rows) yield csvRow(r, locale, zone);
        if (truncated) yield csvTruncatedNote(locale, maxExportRows);
      }
      const stamp = zonedTime(new Date(), zone).replace(/[-: ]/g, '').slice(0, 12);
      return { stream: Readable.from(lines()), filename: `audit-${stamp}.csv`, truncated };
    },
  };
}

export type AuditViewer = ReturnType<typeof createAuditViewer>;
