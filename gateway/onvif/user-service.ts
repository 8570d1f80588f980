import { badRequest, conflict } from '../../core/http/errors.ts';
import type { AuditLog } from '../../core/audit/types.ts';
import type { Principal } from '../../core/identity/types.ts';
import type { GatewayClient } from '../nodes/client.ts';
import type { DeviceService } from '../devices/service.ts';
import { checkPresetName } from './service.ts';
import type { ProbeWarning } from './types.ts';

/**
 * People's ONVIF actions (console process): each is carried out by a gateway node through
 * its internal API (gateway/onvif/service.ts); this side checks the registry, marks what
 * discovery found that is already registered, and writes the audit rows.
 */

export interface ProbeAnswer {
  vendor: string; model: string; serial: string; firmware: string;
  profiles: { token: string; name: string; encoding: string; width: number; height: number; fps?: number; rtspUri?: string; snapshotUri?: string }[];
  rtspMain: string | null; rtspSub: string | null; snapshotUri: string | null; ptz: boolean;
  warnings: ProbeWarning[];
}

export interface DiscoveredAnswer {
  urn: string; host: string; port: number; xaddrs: string[];
  name: string | null; hardware: string | null; scopes: string[];
}

export interface Registered { deviceId: string; name: string }

/** Who asked, for the audit row. */
export interface Asker { principal: Principal; ip: string; requestId: string }

/** host:port of each of a discovered device's XAddrs, and of the address it was found at. */
export function endpointsOf(d: Pick<DiscoveredAnswer, 'host' | 'port' | 'xaddrs'>): { host: string; port: number }[] {
  const out = new Map<string, { host: string; port: number }>();
  const add = (host: string, port: number) => {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    out.set(`${h}:${port}`, { host: h, port });
  };
  add(d.host, d.port);
  for (const x of d.xaddrs) {
    try {
      const u = new URL(x);
      add(u.hostname, Number(u.port) || (u.protocol === 'https:' ? 443 : 80));
    } catch {
      // not a URL: nothing to match
    }
  }
  return [...out.values()];
}

export function createOnvifUserService(deps: { gateway: GatewayClient; devices: DeviceService; audit: AuditLog }) {
  const { gateway, devices, audit } = deps;

  /** Run `work` and write its audit row, a failed one too (outcome `failed` with the error's code). */
  async function audited<T>(who: Asker, action: string, target: { type: string; id: string }, details: Record<string, unknown>,
    work: () => Promise<T>, more?: (result: T) => Record<string, unknown>): Promise<T> {
    const base = { actor: who.principal, action, targetType: target.type, targetId: target.id, ip: who.ip, requestId: who.requestId };
    let result: T;
    try {
      result = await work();
    } catch (err) {
      await audit.record({ ...base, outcome: 'failed', details: { ...details, error: (err as { code?: string }).code ?? 'internal' } });
      throw err;
    }
    const all = { ...details, ...more?.(result) };
    await audit.record({ ...base, ...(Object.keys(all).length ? { details: all } : {}) });
    return result;
  }

  const warningCodes = (r: ProbeAnswer) => (r.warnings.length ? { warnings: r.warnings.map((w) => w.code) } : {});

  /** A device in service: a decommissioned one keeps its footage but is no longer probed or steered. */
  async function inService(id: string) {
    const device = await devices.get(id);
    if (device.decommissionedAt) {
      throw conflict('this device was decommissioned', { field: 'id', code: 'onvif.decommissioned', params: { name: device.name } });
    }
    return device;
  }

  async function ptzDevice(id: string) {
    const device = await inService(id);
    if (!device.ptz) throw badRequest('this device has no PTZ', { field: 'id', code: 'onvif.not_ptz', params: { name: device.name } });
    return device;
  }

  return {
    probe: (body: { host: string; port: number; username: string; password: string }, who: Asker): Promise<ProbeAnswer> =>
      audited(who, 'onvif.probe', { type: 'host', id: `${body.host}:${body.port}` }, {},
        () => gateway.anyNode<ProbeAnswer>('POST', '/internal/onvif/probe', body, 20_000), warningCodes),

    async probeRegistered(id: string, who: Asker): Promise<ProbeAnswer> {
      await inService(id);
      return audited(who, 'onvif.probe', { type: 'device', id }, {},
        () => gateway.forDevice<ProbeAnswer>(id, 'POST', `/internal/devices/${id}/probe`, {}, 20_000), warningCodes);
    },

    /** WS-Discovery through a gateway node; each result says whether (and as which device) it is registered. */
    async discover(body: { timeoutMs: number; host?: string; port?: number }): Promise<(DiscoveredAnswer & { registered: Registered | null })[]> {
      const { items } = await gateway.anyNode<{ items: DiscoveredAnswer[] }>('POST', '/internal/onvif/discover', body, body.timeoutMs + 5000);
      const endpoints = items.map(endpointsOf);
      const found = await devices.findByOnvifEndpoints(endpoints.flat());
      const byEndpoint = new Map(found.map((d) => [`${d.host.toLowerCase()}:${d.port}`, { deviceId: d.id, name: d.name }]));
      return items.map((d, i) => ({
        ...d,
        registered: endpoints[i]!.map((e) => byEndpoint.get(`${e.host}:${e.port}`)).find((r) => r !== undefined) ?? null,
      }));
    },

    async ptzMove(id: string, move: { pan: number; tilt: number; zoom: number; timeoutMs: number }, who: Asker): Promise<void> {
      await ptzDevice(id);
      await audited(who, 'ptz.move', { type: 'device', id }, { pan: move.pan, tilt: move.tilt, zoom: move.zoom },
        () => gateway.forDevice(id, 'POST', `/internal/devices/${id}/ptz/move`, move));
    },

    async ptzStop(id: string): Promise<void> {
      await ptzDevice(id);
      await gateway.forDevice(id, 'POST', `/internal/devices/${id}/ptz/stop`, {});
    },

    async ptzStatus(id: string) {
      await ptzDevice(id);
      return gateway.forDevice<{ pan: number; tilt: number; zoom: number; moving: boolean }>(id, 'GET', `/internal/devices/${id}/ptz/status`);
    },

    async ptzPresets(id: string) {
      await ptzDevice(id);
      return gateway.forDevice<{ items: { token: string; name: string }[] }>(id, 'GET', `/internal/devices/${id}/ptz/presets`);
    },

    async ptzSetPreset(id: string, rawName: string, who: Asker): Promise<{ token: string }> {
      const name = checkPresetName(rawName);
      await ptzDevice(id);
      return audited(who, 'ptz.preset.set', { type: 'device', id }, { name },
        () => gateway.forDevice<{ token: string }>(id, 'POST', `/internal/devices/${id}/ptz/presets`, { name }), (r) => ({ token: r.token }));
    },

    async ptzGotoPreset(id: string, token: string, who: Asker): Promise<void> {
      await ptzDevice(id);
      await audited(who, 'ptz.preset.goto', { type: 'device', id }, { token },
        () => gateway.forDevice(id, 'POST', `/internal/devices/${id}/ptz/presets/${encodeURIComponent(token)}/goto`, {}));
    },
  };
}

export type OnvifUserService = ReturnType<typeof createOnvifUserService>;
