import { createAuditLog } from '../../core/audit/repository.ts';
import type { AuditEntry } from '../../core/audit/types.ts';
import type { Queryable } from '../../core/db/pool.ts';
import { open, randomToken, seal } from '../../core/crypto.ts';
import { badRequest, conflict, HttpError, isUniqueViolation, notFound } from '../../core/http/errors.ts';
import { csvTemplate, parseDeviceCsv, type CsvRefusal } from './csv.ts';
import type { DeviceRepository } from './repository.ts';
import { checkRecord, hashStreamKey, toRecord } from './validate.ts';
import type {
  Device, DeviceConnection, DeviceFilter, DeviceInput, DeviceRecord, DeviceSort, DuplicateCandidate, DuplicateMatch, ListLocale,
} from './types.ts';

export interface DeviceServiceDeps {
  repo: DeviceRepository;
  /** AES-256-GCM key for camera passwords (core/crypto deriveKeys().box). */
  boxKey: Buffer;
}

/** Who writes, for the audit rows a write leaves (a write without one is the system's own: demo seeding, tests). */
export interface WriteContext { actor: AuditEntry['actor']; ip?: string; requestId?: string }

/**
 * A CSV import is all or nothing: `applied` is false, and nothing was written,
 * when any row was refused; `refused` lists every problem of every row.
 */
export interface ImportReport { applied: boolean; rows: number; created: number; updated: number; refused: CsvRefusal[] }

type TxRepo = Parameters<Parameters<DeviceRepository['transaction']>[0]>[0]['repo'];

const DUPLICATE_FIELD: Record<DuplicateMatch['attribute'], string> = { onvif: 'onvif.host', serial: 'serial', stream: 'streams.main' };

/** The registry's rules: validation, secrets sealed, codes unique, duplicates confirmed, CSV import, decommissioning. */
export function createDeviceService({ repo, boxKey }: DeviceServiceDeps) {
  const sealPassword = (p: string) => seal(boxKey, p);
  const newStreamKey = () => randomToken(18);

  async function checkSite(siteId: string | null | undefined): Promise<void> {
    if (!siteId) return;
    const sites = await repo.listSites();
    if (!sites.some((s) => s.id === siteId)) throw badRequest('siteId names no site', { field: 'siteId', code: 'device.site_unknown' });
  }

  function uniqueViolation(err: unknown): never {
    if (isUniqueViolation(err, 'devices_code_key')) throw conflict('another device already has this code', { field: 'code', code: 'device.code_taken' });
    if (isUniqueViolation(err, 'devices_stream_key_key')) throw conflict('stream key already in use', { field: 'streamKey', code: 'device.stream_key_taken' });
    throw err;
  }

  /** What of `record` identifies a camera; on update only what changes (what was confirmed once is not asked again). */
  function candidate(key: number, record: DeviceRecord, current: Device | null): DuplicateCandidate {
    const changed = <T>(next: T, prev: T | undefined) => (current && next === prev ? null : next);
    const endpointChanged = !current || record.onvifHost !== current.onvif?.host || record.onvifPort !== current.onvif?.port;
    return {
      key, selfId: current?.id ?? null,
      host: endpointChanged ? record.onvifHost : null, port: endpointChanged ? record.onvifPort : null,
      serial: changed(record.serial, current?.serial),
      main: changed(record.rtspMain, current?.streams.main), sub: changed(record.rtspSub, current?.streams.sub),
    };
  }

  function duplicateError(m: DuplicateMatch, c: DuplicateCandidate): HttpError {
    const field = m.attribute === 'stream' && m.value === c.sub && m.value !== c.main ? 'streams.sub' : DUPLICATE_FIELD[m.attribute];
    return conflict(`${m.attribute === 'onvif' ? 'the ONVIF endpoint' : m.attribute === 'serial' ? 'the serial number' : 'the stream URL'} ${m.value} is already registered as device "${m.deviceName}"; send confirmDuplicate: true to register it anyway`, {
      field, code: 'device.duplicate',
      params: { attribute: m.attribute, value: m.value, deviceId: m.deviceId, deviceName: m.deviceName, deviceCode: m.deviceCode ?? '' },
    });
  }

  /**
   * Run a write and the audit rows it records in one transaction: a failed audit write fails
   * the action. A refused or failed request is audited by the console's auditFailures hook
   * (core/audit/failures.ts, under the route's `config.audit` action), so nothing is recorded here then.
   */
  function audited<T>(ctx: WriteContext | undefined, fn: (tx: { repo: TxRepo; record: (e: Omit<AuditEntry, 'actor' | 'ip' | 'requestId'>) => Promise<void> }) => Promise<T>): Promise<T> {
    return repo.transaction(({ repo: tx, db }) => {
      const log = ctx ? createAuditLog(db) : null;
      return fn({ repo: tx, record: async (e) => { await log?.record({ ...e, actor: ctx!.actor, ip: ctx!.ip, requestId: ctx!.requestId }); } });
    });
  }

  /** An audit row outside any write (an import refused as a whole answers 200, so no hook records it). */
  async function auditAlone(ctx: WriteContext | undefined, e: Omit<AuditEntry, 'actor' | 'ip' | 'requestId'>): Promise<void> {
    if (ctx) await repo.transaction(({ db }) => createAuditLog(db).record({ ...e, actor: ctx.actor, ip: ctx.ip, requestId: ctx.requestId }));
  }

  const service = {
    list: (filter: DeviceFilter, page: { page: number; pageSize: number; sort: DeviceSort; order: 'asc' | 'desc'; locale?: ListLocale }) =>
      repo.list(filter, { limit: page.pageSize, offset: (page.page - 1) * page.pageSize, sort: page.sort, order: page.order, locale: page.locale }),

    /** Any device, a decommissioned one included (its footage stays playable until retention ends). */
    async get(id: string): Promise<Device> {
      const device = await repo.get(id);
      if (!device) throw notFound('device');
      return device;
    },

    /**
     * Register a device. One whose ONVIF endpoint, serial or stream URL is
     * already registered is refused (409 device.duplicate, naming the device and
     * the attribute) unless the request confirms it.
     */
    async create(input: DeviceInput & { confirmDuplicate?: boolean }, ctx?: WriteContext): Promise<Device> {
      const { confirmDuplicate, ...fields } = input;
      return audited(ctx, async ({ repo: tx, record: audit }) => {
        await checkSite(fields.siteId);
        const record = toRecord(fields, null, null, sealPassword, newStreamKey);
        const c = candidate(0, record, null);
        const [dup] = await tx.findDuplicates([c]);
        if (dup && !confirmDuplicate) throw duplicateError(dup, c);
        const device = await tx.insert(record).catch(uniqueViolation);
        await audit({
          action: 'device.create', targetType: 'device', targetId: device.id,
          details: { name: device.name, code: device.code, ...(dup ? { duplicateOf: { deviceId: dup.deviceId, attribute: dup.attribute }, confirmedDuplicate: true } : {}) },
        });
        // A new mobile camera's stream key: in this answer only (it is stored as a hash).
        return record.newStreamKey ? { ...device, streamKey: record.newStreamKey } : device;
      });
    },

    async update(id: string, input: DeviceInput & { confirmDuplicate?: boolean }, ctx?: WriteContext): Promise<Device> {
      const { confirmDuplicate, ...fields } = input;
      const changed = Object.keys(fields);
      return audited(ctx, async ({ repo: tx, record: audit }) => {
        const current = await service.get(id);
        if (current.decommissionedAt) throw conflict('this device was decommissioned; it can no longer be changed', { code: 'device.decommissioned', params: { name: current.name } });
        if (fields.siteId !== undefined) await checkSite(fields.siteId);
        const secret = await tx.getSecret(id);
        const record = toRecord(fields, current, secret?.passwordEnc ?? null, sealPassword, newStreamKey);
        const c = candidate(0, record, current);
        const [dup] = await tx.findDuplicates([c]);
        if (dup && !confirmDuplicate) throw duplicateError(dup, c);
        const updated = await tx.update(id, record).catch(uniqueViolation);
        if (!updated) throw notFound('device');
        await audit({
          action: 'device.update', targetType: 'device', targetId: id,
          details: { fields: changed, passwordChanged: Boolean(fields.onvif?.password), ...(dup ? { duplicateOf: { deviceId: dup.deviceId, attribute: dup.attribute }, confirmedDuplicate: true } : {}) },
        });
        return updated;
      });
    },

    /**
     * Delete = decommission: the device leaves the list and the gateway, its code
     * is free again, and its footage stays searchable and playable until its
     * retention ends (the row stays, so nothing the gateway still writes about it fails).
     */
    async remove(id: string, ctx?: WriteContext): Promise<void> {
      await audited(ctx, async ({ repo: tx, record: audit }) => {
        const device = await tx.get(id);
        if (!device || !(await tx.decommission(id))) throw notFound('device');
        await audit({
          action: 'device.delete', targetType: 'device', targetId: id,
          details: { name: device.name, code: device.code, decommissioned: true, retentionDays: device.recording.retentionDays },
        });
      });
    },

    /**
     * Import a CSV file, all or nothing: every row is checked first and every
     * problem of every row reported (columns named as the file names them); when
     * any row is refused nothing is written. Otherwise the rows are written in one
     * transaction: a row whose code is registered updates that device, the others
     * are created, each with its own audit row, and one summary row.
     */
    async importCsv(text: string, options: { confirmDuplicate?: boolean } = {}, ctx?: WriteContext): Promise<ImportReport> {
      if (typeof text !== 'string' || !text.trim()) throw badRequest('send the CSV as the request body with Content-Type: text/csv', { code: 'csv.empty' });
      const { rows, refused } = parseDeviceCsv(text);
      const refuse = (row: number, err: HttpError, fieldOverride?: string) => {
        const field = fieldOverride ?? (err.field ? csvField(err.field) : null);
        refused.push({ row, field, code: err.code, params: { ...(field ? { field } : {}), ...err.params }, reason: csvReason(err.message) });
      };

      const siteIds = new Map((await repo.listSites()).map((s) => [s.code, s.id]));
      const codes = [...new Set(rows.map((r) => r.input.code?.trim()).filter((c): c is string => Boolean(c)))];
      const idByCode = await repo.idsByCode(codes);
      const ids = [...new Set(idByCode.values())];
      const [current, secrets] = await Promise.all([
        ids.length ? repo.list({ ids }, { limit: ids.length, offset: 0, sort: 'code', order: 'asc' }) : { items: [] as Device[] },
        repo.getSecrets(ids),
      ]);
      const currentById = new Map(current.items.map((d) => [d.id, d]));

      const planned: { row: number; existing: Device | null; record: DeviceRecord }[] = [];
      const seenCodes = new Map<string, number>();
      for (const { row, siteCode, input } of rows) {
        if (siteCode) {
          const siteId = siteIds.get(siteCode);
          if (siteId) input.siteId = siteId;
          else refuse(row, badRequest(`site_code ${siteCode} names no site`, { field: 'site_code', code: 'csv.site_unknown', params: { site: siteCode.slice(0, 64) } }));
        }
        const code = input.code?.trim();
        if (code) {
          const earlier = seenCodes.get(code);
          if (earlier) refuse(row, conflict(`code repeats row ${earlier}`, { field: 'code', code: 'csv.code_repeats', params: { row: earlier } }));
          else seenCodes.set(code, row);
        }
        const existing = code ? currentById.get(idByCode.get(code) ?? '') ?? null : null;
        const { record, problems } = checkRecord(input, existing, existing ? secrets.get(existing.id)?.passwordEnc ?? null : null, sealPassword, newStreamKey);
        for (const p of problems) refuse(row, p);
        planned.push({ row, existing, record });
      }

      if (!options.confirmDuplicate) {
        // Against the registry…
        const candidates = planned.map((p, i) => candidate(i, p.record, p.existing));
        const reported = new Set<string>();
        for (const m of await repo.findDuplicates(candidates)) {
          const c = candidates[m.key]!;
          const once = `${m.key}:${m.attribute}:${m.value}`;
          if (reported.has(once)) continue;
          reported.add(once);
          const err = duplicateError(m, c);
          refuse(planned[m.key]!.row, err);
        }
        // …and between rows of the file.
        const firstRow = new Map<string, number>();
        planned.forEach((p, i) => {
          const c = candidates[i]!;
          const keys: [string, string, string][] = [];
          if (c.host) keys.push([`onvif:${c.host.toLowerCase()}:${c.port}`, 'onvif_host', `${c.host}:${c.port}`]);
          if (c.main) keys.push([`stream:${c.main}`, 'rtsp_main', c.main]);
          if (c.sub) keys.push([`stream:${c.sub}`, 'rtsp_sub', c.sub]);
          for (const [key, field, value] of keys) {
            const earlier = firstRow.get(key);
            if (earlier === undefined) { firstRow.set(key, p.row); continue; }
            if (earlier === p.row) continue;
            refuse(p.row, conflict(`${value} repeats row ${earlier}; import with confirmDuplicate=true to register both`, {
              field, code: 'csv.duplicate_row', params: { row: earlier, value },
            }), field);
          }
        });
      }

      refused.sort((a, b) => a.row - b.row);
      const report: ImportReport = { applied: false, rows: rows.length, created: 0, updated: 0, refused };
      const summary = () => ({ rows: rows.length, created: report.created, updated: report.updated, refused: refused.length, confirmedDuplicate: Boolean(options.confirmDuplicate) });
      if (refused.length) {
        await auditAlone(ctx, { action: 'device.import', targetType: 'device', outcome: 'failed', details: { ...summary(), applied: false } });
        return report;
      }

      try {
        await audited(ctx, async ({ repo: tx, record: audit }) => {
          for (const { row, existing, record } of planned) {
            let device: Device | null;
            try {
              device = existing ? await tx.update(existing.id, record) : await tx.insert(record);
            } catch (err) {
              uniqueViolationAt(row, err);
            }
            if (!device) throw notFound('device');
            if (existing) report.updated++;
            else report.created++;
            await audit({
              action: existing ? 'device.update' : 'device.create', targetType: 'device', targetId: device.id,
              details: { source: 'import', row, name: device.name, code: device.code },
            });
          }
          await audit({ action: 'device.import', targetType: 'device', details: { ...summary(), applied: true } });
        });
      } catch (err) {
        if (!(err instanceof RowConflict)) throw err;
        // Another writer took a code between the check and the write: nothing of this file was applied.
        report.created = 0;
        report.updated = 0;
        refuse(err.row, err.refusal);
        await auditAlone(ctx, { action: 'device.import', targetType: 'device', outcome: 'failed', details: { ...summary(), applied: false } });
        return report;
      }
      report.applied = true;
      return report;
    },

    /** The import template, its example row naming a site of this installation. */
    async importTemplate(locale: ListLocale): Promise<string> {
      const sites = await repo.listSites();
      return csvTemplate(locale, sites.find((s) => s.kind === 'station')?.code ?? sites[0]?.code ?? null);
    },

    async statusHistoryOf(id: string, limit = 50) {
      await service.get(id);
      return repo.statusHistory(id, limit);
    },

    byStreamKey: (key: string) => repo.getByStreamKeyHash(hashStreamKey(key)),

    /**
     * A new RTMP stream key for a mobile camera, returned once; the old key stops
     * working for new pushes at once (a push already running goes on until it ends).
     */
    async rotateStreamKey(id: string, ctx?: WriteContext): Promise<{ streamKey: string }> {
      return audited(ctx, async ({ repo: tx, record: audit }) => {
        const device = await service.get(id);
        if (device.decommissionedAt) throw conflict('this device was decommissioned; it can no longer be changed', { code: 'device.decommissioned', params: { name: device.name } });
        if (device.kind !== 'mobile') throw badRequest('only mobile cameras push with a stream key', { field: 'kind', code: 'device.not_mobile' });
        const streamKey = newStreamKey();
        if (!(await tx.setStreamKeyHash(id, hashStreamKey(streamKey)))) throw notFound('device');
        await audit({ action: 'device.stream_key_rotate', targetType: 'device', targetId: id, details: { name: device.name } });
        return { streamKey };
      });
    },
    listSites: () => repo.listSites(),
    statusHistory: (id: string, limit = 50) => repo.statusHistory(id, limit),

    /** Devices in service registered at these ONVIF endpoints (discovery marks what is already registered). */
    async findByOnvifEndpoints(endpoints: { host: string; port: number }[]): Promise<{ id: string; name: string; host: string; port: number }[]> {
      const matches = await repo.findDuplicates(endpoints.map((e, key) => ({ key, selfId: null, host: e.host, port: e.port, serial: null, main: null, sub: null })));
      return matches.filter((m) => m.attribute === 'onvif').map((m) => ({ id: m.deviceId, name: m.deviceName, host: endpoints[m.key]!.host, port: endpoints[m.key]!.port }));
    },

    /** For the gateway only: how to reach the device, password decrypted. */
    async connection(id: string): Promise<DeviceConnection> {
      const [found] = await service.connections([id]);
      if (!found) throw notFound('device');
      return found;
    },

    /** Many at once, for the health cycle and the session supervisor (two queries whatever the count). */
    async connections(ids: string[]): Promise<DeviceConnection[]> {
      if (ids.length === 0) return [];
      const [{ items }, secrets] = await Promise.all([
        repo.list({ ids }, { limit: ids.length, offset: 0, sort: 'name', order: 'asc' }),
        repo.getSecrets(ids),
      ]);
      return items.map((device) => {
        const secret = secrets.get(device.id);
        // One unreadable password (a changed secret key) must not stop the others.
        let password: string | null = null;
        let credentialError: string | null = null;
        try {
          password = secret?.passwordEnc ? open(boxKey, secret.passwordEnc) : null;
        } catch {
          credentialError = 'the stored password cannot be decrypted (was the secret key changed?): enter the password again';
        }
        return {
          id: device.id, kind: device.kind, name: device.name, credentialError,
          onvifHost: device.onvif?.host ?? null, onvifPort: device.onvif?.port ?? null,
          username: secret?.username ?? null, password,
          rtspMain: device.streams.main, rtspSub: device.streams.sub, snapshotUri: device.streams.snapshot,
          ptz: device.ptz, enabled: device.enabled, recordingMode: device.recording.mode,
          ...profileEncodings(device),
        };
      });
    },

    recordStatus: (id: string, state: Device['status']['state'], reason: string | null, seen: boolean) => repo.recordStatus(id, state, reason, seen),
  };
  return service;
}

/**
 * The encodings of the main and sub streams: the profile whose URI is the stream's, else (hand-entered
 * profiles without URIs) the first and second profile.
 */
export function profileEncodings(d: Pick<Device, 'profiles' | 'streams'>): { encoding: string | null; subEncoding: string | null } {
  const of = (uri: string | null, index: number) =>
    (uri ? d.profiles.find((p) => p.rtspUri === uri)?.encoding : undefined) ?? d.profiles[index]?.encoding ?? null;
  return { encoding: of(d.streams.main, 0), subEncoding: of(d.streams.sub, 1) };
}

/** A write of one import row that a concurrent writer made impossible (a code taken meanwhile). */
class RowConflict extends Error {
  constructor(readonly row: number, readonly refusal: HttpError) {
    super(refusal.message);
  }
}

function uniqueViolationAt(row: number, err: unknown): never {
  if (isUniqueViolation(err, 'devices_code_key')) throw new RowConflict(row, conflict('another device already has this code', { field: 'code', code: 'device.code_taken' }));
  throw err;
}

/** API field names → the CSV column a person would look at. */
const CSV_FIELD: Record<string, string> = {
  cameraType: 'camera_type', 'onvif.host': 'onvif_host', 'onvif.port': 'onvif_port', 'onvif.username': 'username',
  'streams.main': 'rtsp_main', 'streams.sub': 'rtsp_sub', 'location.lat': 'lat', 'location.lon': 'lon',
  'location.heading': 'heading', 'recording.mode': 'recording', 'recording.retentionDays': 'retention_days', siteId: 'site_code',
};
function csvField(field: string): string {
  return CSV_FIELD[field] ?? field;
}

/** The English wording with API field names replaced by the file's column names. */
function csvReason(message: string): string {
  return message.replace(/\b(cameraType|onvif\.host|onvif\.port|onvif\.username|streams\.main|streams\.sub|location\.lat|location\.lon|location\.heading|recording\.mode|recording\.retentionDays|siteId)\b/g, (f) => csvField(f));
}

export type DeviceService = ReturnType<typeof createDeviceService>;
