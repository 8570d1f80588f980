import { open, randomToken, seal } from '../../core/crypto.ts';
import { badRequest, conflict, HttpError, isUniqueViolation, notFound } from '../../core/http/errors.ts';
import { parseDeviceCsv, type CsvRefusal } from './csv.ts';
import type { DeviceRepository } from './repository.ts';
import { toRecord } from './validate.ts';
import type { Device, DeviceConnection, DeviceFilter, DeviceInput, DeviceSort } from './types.ts';

export interface DeviceServiceDeps {
  repo: DeviceRepository;
  /** AES-256-GCM key for camera passwords (core/crypto deriveKeys().box). */
  boxKey: Buffer;
}

export interface ImportReport { created: number; updated: number; refused: CsvRefusal[] }

/** The device registry's rules: validation, secrets sealed, codes unique, CSV import. */
export function createDeviceService({ repo, boxKey }: DeviceServiceDeps) {
  const sealPassword = (p: string) => seal(boxKey, p);
  const newStreamKey = () => randomToken(18);

  async function checkSite(siteId: string | null | undefined): Promise<void> {
    if (!siteId) return;
    const sites = await repo.listSites();
    if (!sites.some((s) => s.id === siteId)) throw badRequest('siteId names no site', 'siteId');
  }

  function duplicate(err: unknown): never {
    if (isUniqueViolation(err, 'devices_code_key')) throw conflict('another device already has this code', 'code');
    if (isUniqueViolation(err, 'devices_stream_key_key')) throw conflict('stream key already in use', 'streamKey');
    throw err;
  }

  const service = {
    list: (filter: DeviceFilter, page: { page: number; pageSize: number; sort: DeviceSort; order: 'asc' | 'desc' }) =>
      repo.list(filter, { limit: page.pageSize, offset: (page.page - 1) * page.pageSize, sort: page.sort, order: page.order }),

    async get(id: string): Promise<Device> {
      const device = await repo.get(id);
      if (!device) throw notFound('device');
      return device;
    },

    async create(input: DeviceInput): Promise<Device> {
      await checkSite(input.siteId);
      const record = toRecord(input, null, null, sealPassword, newStreamKey);
      return repo.insert(record).catch(duplicate);
    },

    async update(id: string, input: DeviceInput): Promise<Device> {
      const current = await service.get(id);
      if (input.siteId !== undefined) await checkSite(input.siteId);
      const secret = await repo.getSecret(id);
      const record = toRecord(input, current, secret?.passwordEnc ?? null, sealPassword, newStreamKey);
      const updated = await repo.update(id, record).catch(duplicate);
      if (!updated) throw notFound('device');
      return updated;
    },

    async remove(id: string): Promise<void> {
      if (!(await repo.remove(id))) throw notFound('device');
    },

    /**
     * Import rows: a row whose code exists updates that device, others are created.
     * Every row stands alone, so one bad row never stops the good ones.
     */
    async importCsv(text: string): Promise<ImportReport> {
      const { rows, refused } = parseDeviceCsv(text);
      const report: ImportReport = { created: 0, updated: 0, refused };
      const siteIds = new Map((await repo.listSites()).map((s) => [s.code, s.id]));
      const seenCodes = new Map<string, number>();
      for (const { row, siteCode, input } of rows) {
        try {
          if (siteCode) {
            const siteId = siteIds.get(siteCode);
            if (!siteId) throw badRequest(`site_code ${siteCode} names no site`, 'site_code');
            input.siteId = siteId;
          }
          if (input.code) {
            const earlier = seenCodes.get(input.code);
            if (earlier) throw conflict(`code repeats row ${earlier}`, 'code');
            seenCodes.set(input.code, row);
          }
          const existing = input.code ? await repo.findIdByCode(input.code) : null;
          if (existing) {
            await service.update(existing, input);
            report.updated++;
          } else {
            await repo.insert(toRecord(input, null, null, sealPassword, newStreamKey)).catch(duplicate);
            report.created++;
          }
        } catch (err) {
          if (!(err instanceof HttpError)) throw err;
          report.refused.push({ row, field: err.field ? csvField(err.field) : null, reason: err.message });
        }
      }
      report.refused.sort((a, b) => a.row - b.row);
      return report;
    },

    byStreamKey: (key: string) => repo.getByStreamKey(key),
    listSites: () => repo.listSites(),
    statusHistory: (id: string, limit = 50) => repo.statusHistory(id, limit),

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
          ptz: device.ptz, enabled: device.enabled, recordingMode: device.recording.mode, streamKey: device.streamKey,
          encoding: device.profiles[0]?.encoding ?? null,
        };
      });
    },

    recordStatus: (id: string, state: Device['status']['state'], reason: string | null, seen: boolean) => repo.recordStatus(id, state, reason, seen),
  };
  return service;
}

/** API field names → the CSV column a person would look at. */
function csvField(field: string): string {
  const map: Record<string, string> = {
    cameraType: 'camera_type', 'onvif.host': 'onvif_host', 'onvif.port': 'onvif_port', 'onvif.username': 'username',
    'streams.main': 'rtsp_main', 'streams.sub': 'rtsp_sub', 'location.lat': 'lat', 'location.lon': 'lon',
    'location.heading': 'heading', 'recording.mode': 'recording', siteId: 'site_code',
  };
  return map[field] ?? field;
}

export type DeviceService = ReturnType<typeof createDeviceService>;
