import type { AuditRecord } from './types.ts';

/**
 * The audit log as CSV for a spreadsheet: pure functions of plain values.
 * Cells are always quoted (quotes doubled); a cell a spreadsheet would run as a formula
 * (starting with = + - @, a tab or a carriage return) gets a leading apostrophe; the file
 * starts with a UTF-8 byte-order mark so Excel in zh-CN reads it as UTF-8, not GBK.
 */

export const BOM = '\uFEFF';
const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell, safe to open in Excel, LibreOffice or WPS. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function csvLine(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

export type CsvLocale = 'zh-CN' | 'en';

const HEADERS: Record<CsvLocale, (zone: string) => string[]> = {
  'zh-CN': (zone) => [`时间（${zone}）`, '操作人', '身份类型', '操作', '对象类型', '对象', '结果', '事由', 'IP 地址', '请求号', '详情'],
  en: (zone) => [`Time (${zone})`, 'Actor', 'Actor kind', 'Action', 'Target type', 'Target', 'Outcome', 'Reason', 'IP address', 'Request id', 'Details'],
};
const OUTCOMES: Record<CsvLocale, Record<string, string>> = {
  'zh-CN': { ok: '成功', denied: '拒绝', failed: '失败' },
  en: { ok: 'ok', denied: 'denied', failed: 'failed' },
};

export function csvHeader(locale: CsvLocale, zone: string): string {
  return BOM + csvLine(HEADERS[locale](zone));
}

/** The line that ends a file cut at `max` rows. */
export function csvTruncatedNote(locale: CsvLocale, max: number): string {
  return csvLine([locale === 'zh-CN'
    ? `# 仅导出了最新的 ${max} 行：请缩小时间范围或增加筛选条件后分批导出`
    : `# Only the newest ${max} rows were exported: narrow the time range or the filters and export in parts`]);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:mm:ss` in `zone` (24 h), what a control room reads. */
export function zonedTime(at: Date, zone: string): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${pad(Number(parts.hour))}:${parts.minute}:${parts.second}`;
}

export function csvRow(r: AuditRecord, locale: CsvLocale, zone: string): string {
  return csvLine([
    zonedTime(r.at, zone), r.actorName, r.actorKind, r.action, r.targetType, r.targetId,
    OUTCOMES[locale][r.outcome] ?? r.outcome, r.reason, r.ip, r.requestId,
    Object.keys(r.details ?? {}).length ? r.details : '',
  ]);
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
