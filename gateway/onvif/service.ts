import { badGateway, badRequest, HttpError } from '../../core/http/errors.ts';
import type { DeviceConnection } from '../devices/types.ts';
import { checkHost } from '../devices/validate.ts';
import { discover, probeUnicast } from './discovery.ts';
import {
  OnvifError, probeDevice, ptzContinuousMove, ptzGotoPreset, ptzPresets, ptzSetPreset, ptzStatus, ptzStop,
} from './onvif-client.ts';

/** The gateway's ONVIF operations on registered devices, with errors a person can act on. */
export function createOnvifService(deps: { connection: (deviceId: string) => Promise<DeviceConnection>; timeoutMs: number }) {
  async function conn(deviceId: string) {
    const c = await deps.connection(deviceId);
    if (!c.onvifHost) throw badRequest('this device has no ONVIF address', 'onvif.host');
    return { host: c.onvifHost, port: c.onvifPort ?? 80, username: c.username ?? '', password: c.password ?? '', timeoutMs: deps.timeoutMs };
  }

  async function onvifCall<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof HttpError) throw err;
      if (err instanceof OnvifError) {
        const what: Record<string, string> = {
          unreachable: 'the device is unreachable', timeout: 'the device did not answer in time',
          auth: 'the device refused the user name or password', protocol: 'the device answered something that is not ONVIF',
          unsupported: 'the device does not support this operation',
        };
        throw badGateway(`${what[err.code] ?? 'ONVIF failed'}: ${err.message}`);
      }
      throw err;
    }
  }

  return {
    probe: (p: { host: string; port: number; username: string; password: string }) =>
      onvifCall(async () => {
        const r = await probeDevice({ host: checkHost(p.host, 'host'), port: p.port, username: p.username, password: p.password, timeoutMs: deps.timeoutMs });
        return { ...r, rtspMain: r.rtspMain ?? null, rtspSub: r.rtspSub ?? null, snapshotUri: r.snapshotUri ?? null };
      }),

    /** Probe a registered device with its stored credentials (re-probe after a firmware change). */
    async probeRegistered(deviceId: string) {
      const c = await conn(deviceId);
      return onvifCall(async () => {
        const r = await probeDevice(c);
        return { ...r, rtspMain: r.rtspMain ?? null, rtspSub: r.rtspSub ?? null, snapshotUri: r.snapshotUri ?? null };
      });
    },

    async discover(q: { timeoutMs: number; host?: string; port?: number }) {
      const found = q.host
        ? await probeUnicast({ host: checkHost(q.host, 'host'), port: q.port ?? 3702, timeoutMs: q.timeoutMs })
        : await discover({ timeoutMs: q.timeoutMs });
      return found.map((d) => ({ urn: d.urn, host: d.host, port: d.port, xaddrs: d.xaddrs, name: d.name ?? null, hardware: d.hardware ?? null, scopes: d.scopes }));
    },

    ptzMove: async (id: string, m: { pan: number; tilt: number; zoom: number; timeoutMs: number }) => { const c = await conn(id); await onvifCall(() => ptzContinuousMove(c, m)); },
    ptzStop: async (id: string) => { const c = await conn(id); await onvifCall(() => ptzStop(c)); },
    ptzStatus: async (id: string) => { const c = await conn(id); return onvifCall(() => ptzStatus(c)); },
    ptzPresets: async (id: string) => { const c = await conn(id); return onvifCall(() => ptzPresets(c)); },
    ptzSetPreset: async (id: string, name: string) => { const c = await conn(id); return onvifCall(() => ptzSetPreset(c, name)); },
    ptzGotoPreset: async (id: string, token: string) => { const c = await conn(id); await onvifCall(() => ptzGotoPreset(c, token)); },
  };
}

export type OnvifService = ReturnType<typeof createOnvifService>;
