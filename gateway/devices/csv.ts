import { parse } from 'csv-parse/sync';
import type { DeviceInput } from './types.ts';

export const CSV_COLUMNS = ['name', 'code', 'kind', 'camera_type', 'site_code', 'lat', 'lon', 'heading', 'address', 'tags',
  'onvif_host', 'onvif_port', 'username', 'password', 'rtsp_main', 'rtsp_sub', 'recording'] as const;
export const MAX_IMPORT_ROWS = 10_000;

export interface CsvRow { row: number; siteCode: string | null; input: DeviceInput }
export interface CsvRefusal { row: number; field: string | null; reason: string }

/**
 * CSV text → one DeviceInput per row (row numbers as a spreadsheet shows them,
 * the header being row 1), and refusals for rows that cannot even be read.
 * Field checks happen later, per row, in the service.
 */
export function parseDeviceCsv(text: string): { rows: CsvRow[]; refused: CsvRefusal[] } {
  let records: string[][];
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, max_record_size: 64 * 1024 });
  } catch (err) {
    return { rows: [], refused: [{ row: 0, field: null, reason: `not readable as CSV: ${(err as Error).message}` }] };
  }
  const header = (records[0] ?? []).map((h) => h.toLowerCase().replace(/\s+/g, '_'));
  if (!header.includes('name')) return { rows: [], refused: [{ row: 1, field: 'name', reason: `the header must name the columns; expected ${CSV_COLUMNS.join(',')}` }] };
  const unknown = header.filter((h) => h && !(CSV_COLUMNS as readonly string[]).includes(h));
  const refused: CsvRefusal[] = unknown.length ? [{ row: 1, field: unknown[0]!, reason: `unknown column(s) ignored: ${unknown.join(', ')}` }] : [];
  const body = records.slice(1);
  if (body.length > MAX_IMPORT_ROWS) return { rows: [], refused: [{ row: 0, field: null, reason: `at most ${MAX_IMPORT_ROWS} rows per import (got ${body.length})` }] };

  const rows: CsvRow[] = [];
  body.forEach((cells, i) => {
    const row = i + 2;
    const get = (col: (typeof CSV_COLUMNS)[number]) => {
      const at = header.indexOf(col);
      const v = at >= 0 ? cells[at] : undefined;
      return v === undefined || v === '' ? undefined : v;
    };
    const num = (col: (typeof CSV_COLUMNS)[number]): number | undefined | Error => {
      const v = get(col);
      if (v === undefined) return undefined;
      const n = Number(v);
      return Number.isFinite(n) ? n : new Error(`${col} must be a number (got "${v.slice(0, 40)}")`);
    };
    const lat = num('lat'), lon = num('lon'), heading = num('heading'), port = num('onvif_port');
    for (const [col, v] of [['lat', lat], ['lon', lon], ['heading', heading], ['onvif_port', port]] as const) {
      if (v instanceof Error) { refused.push({ row, field: col, reason: v.message }); return; }
    }
    if ((lat === undefined) !== (lon === undefined)) { refused.push({ row, field: lat === undefined ? 'lat' : 'lon', reason: 'lat and lon go together' }); return; }
    const host = get('onvif_host');
    const input: DeviceInput = {
      name: get('name'),
      code: get('code') ?? null,
      kind: get('kind') as DeviceInput['kind'],
      cameraType: get('camera_type') as DeviceInput['cameraType'],
      address: get('address') ?? null,
      location: lat !== undefined && lon !== undefined ? { lat: lat as number, lon: lon as number, heading: (heading as number | undefined) ?? null } : null,
      tags: get('tags')?.split(/[;|，,]/).map((t) => t.trim()).filter(Boolean) ?? [],
      onvif: host ? { host, port: (port as number | undefined) ?? 80, username: get('username') ?? null, password: get('password') ?? null } : null,
      streams: { main: get('rtsp_main') ?? null, sub: get('rtsp_sub') ?? null },
      recording: get('recording') ? { mode: get('recording') as 'none' } : undefined,
    };
    rows.push({ row, siteCode: get('site_code') ?? null, input });
  });
  return { rows, refused };
}
