import { parse } from 'csv-parse/sync';
import type { ErrorParams } from '../../core/http/errors.ts';
import { CAMERA_TYPES, DEVICE_KINDS, RECORDING_MODES, type DeviceInput } from './types.ts';

export const CSV_COLUMNS = ['name', 'code', 'kind', 'camera_type', 'site_code', 'lat', 'lon', 'heading', 'address', 'tags',
  'onvif_host', 'onvif_port', 'username', 'password', 'rtsp_main', 'rtsp_sub', 'recording', 'retention_days', 'ptz', 'enabled'] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
export const MAX_IMPORT_ROWS = 10_000;

/**
 * The values each enumeration column takes: the API value, and the labels the
 * web app shows for it (zh-CN and en, console/web/src/i18n), so a sheet filled
 * in from what the UI says imports as it reads. Matching ignores case and spaces.
 */
export const CSV_ENUMS = {
  kind: { camera: ['摄像机', 'Camera'], checkpoint: ['卡口', 'Checkpoint'], mobile: ['移动设备', 'Mobile'] },
  camera_type: { fixed: ['枪机', 'Fixed'], ptz: ['球机', 'PTZ'], face: ['人脸抓拍机', 'Face capture'] },
  recording: { none: ['不录像', 'No recording'], continuous: ['连续录像', 'Continuous'], event: ['事件录像', 'On event'] },
} as const satisfies Record<string, Record<string, readonly string[]>>;
export type CsvEnumColumn = keyof typeof CSV_ENUMS;

const BOOLEANS: Record<string, boolean> = {
  true: true, yes: true, y: true, '1': true, 是: true, 启用: true, 有: true,
  false: false, no: false, n: false, '0': false, 否: false, 停用: false, 无: false,
};
/** The spellings a boolean column (ptz, enabled) accepts, for messages. */
export const CSV_BOOLEAN_VALUES = '是/否, true/false, yes/no, 1/0';

/** One problem of one row, worded by the web app from `code` and `params`; `reason` is the English wording. */
export interface CsvRefusal { row: number; field: string | null; code: string; params: ErrorParams; reason: string }
export interface CsvRow { row: number; siteCode: string | null; input: DeviceInput }

const norm = (v: string) => v.trim().toLowerCase().replace(/\s+/g, ' ');

function enumValue(column: CsvEnumColumn, raw: string): string | null {
  const wanted = norm(raw);
  for (const [value, labels] of Object.entries(CSV_ENUMS[column])) {
    if (norm(value) === wanted || (labels as readonly string[]).some((l) => norm(l) === wanted)) return value;
  }
  return null;
}

/** What a refusal of an enumeration value lists as allowed: `camera（摄像机）, …`. */
export function allowedValues(column: CsvEnumColumn): string {
  return Object.entries(CSV_ENUMS[column]).map(([value, labels]) => `${value}（${labels[0]}）`).join(', ');
}

const fileRefusal = (row: number, field: string | null, { code }: { code: string }, params: ErrorParams, reason: string): CsvRefusal => ({ row, field, code, params, reason });

/**
 * CSV text → one DeviceInput per row (row numbers as a spreadsheet shows them,
 * the header being row 1), and every problem a cell has on its own (a number that
 * is not one, an enumeration value that is none of its values). A row with such
 * problems is still returned, without the bad cells, so the service reports the
 * row's other problems too. A file that cannot be read at all gives no rows.
 */
export function parseDeviceCsv(text: string): { rows: CsvRow[]; refused: CsvRefusal[] } {
  let records: string[][];
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, max_record_size: 64 * 1024 });
  } catch (err) {
    const detail = (err as Error).message.slice(0, 200);
    return { rows: [], refused: [fileRefusal(0, null, { code: 'csv.unreadable' }, { detail }, `not readable as CSV: ${detail}`)] };
  }
  const header = (records[0] ?? []).map((h) => h.trim().toLowerCase().replace(/\s+/g, '_'));
  if (!header.includes('name')) {
    return { rows: [], refused: [fileRefusal(1, 'name', { code: 'csv.no_header' }, { expected: CSV_COLUMNS.join(',') }, `the first row must name the columns; expected ${CSV_COLUMNS.join(',')}`)] };
  }
  const refused: CsvRefusal[] = [];
  const unknown = header.filter((h) => h && !(CSV_COLUMNS as readonly string[]).includes(h));
  if (unknown.length) {
    // A misspelt column would silently lose what it holds: refuse the file instead.
    refused.push(fileRefusal(1, unknown[0]!, { code: 'csv.unknown_columns' }, { columns: unknown.join(', '), expected: CSV_COLUMNS.join(',') },
      `unknown column(s): ${unknown.join(', ')}; the columns are ${CSV_COLUMNS.join(',')}`));
  }
  const repeated = header.filter((h, i) => h && header.indexOf(h) !== i);
  if (repeated.length) {
    refused.push(fileRefusal(1, repeated[0]!, { code: 'csv.repeated_columns' }, { columns: [...new Set(repeated)].join(', ') }, `column(s) named twice: ${[...new Set(repeated)].join(', ')}`));
  }
  const body = records.slice(1);
  if (body.length > MAX_IMPORT_ROWS) {
    return { rows: [], refused: [fileRefusal(0, null, { code: 'csv.too_many_rows' }, { max: MAX_IMPORT_ROWS, got: body.length }, `at most ${MAX_IMPORT_ROWS} rows per import (got ${body.length})`)] };
  }
  if (body.length === 0) refused.push(fileRefusal(1, null, { code: 'csv.no_rows' }, {}, 'the file has a header but no device rows'));

  const rows: CsvRow[] = [];
  body.forEach((cells, i) => {
    const row = i + 2;
    const refuse = (field: CsvColumn, { code }: { code: string }, params: ErrorParams, reason: string) => refused.push({ row, field, code, params: { field, ...params }, reason });
    const get = (col: CsvColumn) => {
      const at = header.indexOf(col);
      const v = at >= 0 ? cells[at] : undefined;
      return v === undefined || v === '' ? undefined : v;
    };
    const num = (col: CsvColumn): number | undefined | null => {
      const v = get(col);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (Number.isFinite(n)) return n;
      refuse(col, { code: 'csv.not_a_number' }, { value: v.slice(0, 40) }, `${col} must be a number (got "${v.slice(0, 40)}")`);
      return null;
    };
    const pick = (col: CsvEnumColumn): string | undefined => {
      const v = get(col);
      if (v === undefined) return undefined;
      const value = enumValue(col, v);
      if (value === null) {
        refuse(col, { code: 'csv.not_allowed' }, { value: v.slice(0, 40), allowed: allowedValues(col) }, `${col} must be one of ${allowedValues(col)} (got "${v.slice(0, 40)}")`);
        return undefined;
      }
      return value;
    };
    const bool = (col: CsvColumn): boolean | undefined => {
      const v = get(col);
      if (v === undefined) return undefined;
      const b = BOOLEANS[norm(v)];
      if (b === undefined) refuse(col, { code: 'csv.not_boolean' }, { value: v.slice(0, 40), allowed: CSV_BOOLEAN_VALUES }, `${col} must be one of ${CSV_BOOLEAN_VALUES} (got "${v.slice(0, 40)}")`);
      return b;
    };

    const lat = num('lat'), lon = num('lon'), heading = num('heading'), port = num('onvif_port'), retention = num('retention_days');
    if (lat !== null && lon !== null && (lat === undefined) !== (lon === undefined)) {
      refuse(lat === undefined ? 'lat' : 'lon', { code: 'csv.lat_lon_together' }, {}, 'lat and lon go together');
    }
    const kind = pick('kind'), cameraType = pick('camera_type'), recording = pick('recording');
    const ptz = bool('ptz'), enabled = bool('enabled');
    const host = get('onvif_host');
    const input: DeviceInput = {
      name: get('name'),
      code: get('code') ?? null,
      kind: kind as DeviceInput['kind'],
      cameraType: cameraType as DeviceInput['cameraType'],
      address: get('address') ?? null,
      location: typeof lat === 'number' && typeof lon === 'number' ? { lat, lon, heading: typeof heading === 'number' ? heading : null } : null,
      tags: get('tags')?.split(/[;|，,；、]/).map((t) => t.trim()).filter(Boolean) ?? [],
      onvif: host ? { host, port: typeof port === 'number' ? port : 80, username: get('username') ?? null, password: get('password') ?? null } : null,
      streams: { main: get('rtsp_main') ?? null, sub: get('rtsp_sub') ?? null },
    };
    if (recording !== undefined || typeof retention === 'number') {
      input.recording = {
        ...(recording !== undefined ? { mode: recording as (typeof RECORDING_MODES)[number] } : {}),
        ...(typeof retention === 'number' ? { retentionDays: retention } : {}),
      };
    }
    if (ptz !== undefined) input.ptz = ptz;
    if (enabled !== undefined) input.enabled = enabled;
    rows.push({ row, siteCode: get('site_code') ?? null, input });
  });
  return { rows, refused };
}

// The enumerations above must cover every value the registry knows.
for (const [column, values] of [['kind', DEVICE_KINDS], ['camera_type', CAMERA_TYPES], ['recording', RECORDING_MODES]] as const) {
  const known = Object.keys(CSV_ENUMS[column]);
  if (values.some((v) => !known.includes(v))) throw new Error(`CSV_ENUMS.${column} lacks a value of ${values.join(', ')}`);
}

/**
 * The template the web app offers for download: the header and one example row
 * that imports as it stands (tests/integration/devices.test.ts imports it). In
 * zh-CN the enumeration columns show the labels the UI uses; `siteCode` is a
 * site of this installation (left empty when there is none).
 */
export function csvTemplate(locale: 'zh-CN' | 'en', siteCode: string | null): string {
  const zh = locale === 'zh-CN';
  const example: Record<CsvColumn, string> = {
    name: zh ? '人民路与解放路口东' : 'Renmin Rd & Jiefang Rd, east', code: '33010600001320000001',
    kind: zh ? CSV_ENUMS.kind.camera[0] : 'camera', camera_type: zh ? CSV_ENUMS.camera_type.ptz[0] : 'ptz',
    site_code: siteCode ?? '', lat: '30.274085', lon: '120.155070', heading: '90',
    address: zh ? '人民路与解放路交叉口东北角' : 'north-east corner of Renmin Rd and Jiefang Rd', tags: zh ? '路口;重点' : 'junction;priority',
    onvif_host: '192.168.1.64', onvif_port: '80', username: 'admin', password: '',
    rtsp_main: 'rtsp://192.168.1.64:554/Streaming/Channels/101', rtsp_sub: 'rtsp://192.168.1.64:554/Streaming/Channels/102',
    recording: zh ? CSV_ENUMS.recording.continuous[0] : 'continuous', retention_days: '30', ptz: zh ? '是' : 'yes', enabled: zh ? '是' : 'yes',
  };
  const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  // BOM: Excel then opens the Chinese example as UTF-8.
  return `\uFEFF${CSV_COLUMNS.join(',')}\r\n${CSV_COLUMNS.map((c) => cell(example[c])).join(',')}\r\n`;
}
