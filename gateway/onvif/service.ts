import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { badRequest, HttpError, unprocessable, type ErrorParams } from '../../core/http/errors.ts';
import type { DeviceConnection } from '../devices/types.ts';
import { checkHost } from '../devices/validate.ts';
import { discover, probeUnicast } from './discovery.ts';
import {
  OnvifError, probeDevice, ptzContinuousMove, ptzGotoPreset, ptzPresets, ptzSetPreset, ptzStatus, ptzStop,
} from './onvif-client.ts';
import type { OnvifFailureKind, ProbeResult } from './types.ts';

/** Where the request named the device: in its body (a probe by address) or by a registered device's stored settings. */
interface Target {
  host: string;
  port: number;
  /** The device's stored settings, not the request's input. */
  stored: boolean;
  timeoutMs: number;
}

/**
 * How an ONVIF failure is answered. The rule: what the person typed (an ad-hoc probe's
 * host, port, user name and password) or asked for (a preset) is at fault → 4xx naming
 * the field; the device or the network failing → 5xx (502 refused/unreachable/answered
 * garbage, 504 did not answer in time: neither is the user's fault, and retrying later
 * may work). Credentials are the person's input even when stored: a refused password is
 * 422 in both cases, on `password` for a probe and `onvif.password` for a registered device.
 * A device that answers but is not ONVIF is 422 when the person pointed the probe at it,
 * 502 for a registered device (it was ONVIF once).
 */
const ANSWERS: Record<OnvifFailureKind, {
  status: number; code: string; field?: 'host' | 'port' | 'password' | 'token' | 'name';
  /** What differs when the device's stored settings, not the request, named it. */
  stored?: { status?: number; code?: string };
}> = {
  auth: { status: 422, code: 'onvif.auth_failed', field: 'password', stored: { code: 'onvif.stored_auth_failed' } },
  host_not_found: { status: 422, code: 'onvif.host_not_found', field: 'host' },
  refused: { status: 502, code: 'onvif.connection_refused', field: 'port' },
  unreachable: { status: 502, code: 'onvif.unreachable', field: 'host' },
  timeout: { status: 504, code: 'onvif.timeout' },
  not_onvif: { status: 422, code: 'onvif.not_onvif', field: 'port', stored: { status: 502 } },
  too_large: { status: 502, code: 'onvif.answer_too_large' },
  fault: { status: 502, code: 'onvif.device_fault' },
  no_media: { status: 422, code: 'onvif.no_media' },
  no_rtsp_profile: { status: 422, code: 'onvif.no_video_profile' },
  unsupported: { status: 422, code: 'onvif.unsupported' },
  no_ptz: { status: 422, code: 'onvif.no_ptz' },
  no_token: { status: 404, code: 'onvif.preset_not_found', field: 'token' },
  preset_exists: { status: 409, code: 'onvif.preset_name_taken', field: 'name' },
  too_many_presets: { status: 409, code: 'onvif.too_many_presets' },
  invalid_preset_name: { status: 400, code: 'onvif.preset_name_invalid', field: 'name' },
};

const CATEGORY: Record<number, string> = { 400: 'bad_request', 404: 'not_found', 409: 'conflict', 422: 'unprocessable', 502: 'bad_gateway', 504: 'gateway_timeout' };

/** An OnvifError as the API error a person can act on (see ANSWERS). */
export function onvifHttpError(err: OnvifError, t: Target, extra: ErrorParams = {}): HttpError {
  const a = ANSWERS[err.kind];
  const status = (t.stored ? a.stored?.status : undefined) ?? a.status;
  const code = (t.stored ? a.stored?.code : undefined) ?? a.code;
  // A registered device's settings are the `onvif.*` fields of the device form.
  const field = a.field && ['host', 'port', 'password'].includes(a.field) ? (t.stored ? `onvif.${a.field}` : a.field) : a.field;
  const params: ErrorParams = { host: t.host, port: t.port, ...extra };
  if (err.kind === 'timeout') params.seconds = Math.round(t.timeoutMs / 100) / 10;
  if (err.kind === 'fault') params.reason = err.deviceReason || '—';
  return new HttpError(status, CATEGORY[status] ?? 'bad_gateway', err.message, { code, params, ...(field ? { field } : {}) });
}

/** Preset names go into the device's XML and its on-screen display: printable text, not blank. */
export function checkPresetName(name: string): string {
  const n = name.trim();
  if (!n) throw badRequest('name must not be blank', { field: 'name', code: 'onvif.preset_name_required' });
  if (/[\u0000-\u001f\u007f-\u009f\ufffe\uffff]/.test(n)) {
    throw badRequest('name must not contain control characters', { field: 'name', code: 'onvif.preset_name_invalid' });
  }
  return n;
}

/** The gateway's ONVIF operations (probe, discovery, PTZ), with errors a person can act on. */
export function createOnvifService(deps: { connection: (deviceId: string) => Promise<DeviceConnection>; timeoutMs: number }) {
  async function conn(deviceId: string) {
    const c = await deps.connection(deviceId);
    if (!c.onvifHost) throw badRequest('this device has no ONVIF address', { field: 'onvif.host', code: 'onvif.no_address' });
    return { host: c.onvifHost, port: c.onvifPort ?? 80, username: c.username ?? '', password: c.password ?? '', timeoutMs: deps.timeoutMs };
  }

  async function onvifCall<T>(t: Target, fn: () => Promise<T>, extra?: ErrorParams): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof OnvifError) throw onvifHttpError(err, t, extra);
      throw err;
    }
  }

  /** Run a PTZ operation on a registered device. */
  async function ptz<T>(deviceId: string, fn: (c: Awaited<ReturnType<typeof conn>>) => Promise<T>, extra?: ErrorParams): Promise<T> {
    const c = await conn(deviceId);
    return onvifCall({ host: c.host, port: c.port, stored: true, timeoutMs: c.timeoutMs }, () => fn(c), extra);
  }

  const shape = (r: ProbeResult) => ({ ...r, rtspMain: r.rtspMain ?? null, rtspSub: r.rtspSub ?? null, snapshotUri: r.snapshotUri ?? null });

  return {
    probe: (p: { host: string; port: number; username: string; password: string }) => {
      const host = checkHost(p.host, 'host');
      return onvifCall({ host, port: p.port, stored: false, timeoutMs: deps.timeoutMs }, async () =>
        shape(await probeDevice({ host, port: p.port, username: p.username, password: p.password, timeoutMs: deps.timeoutMs })));
    },

    /** Probe a registered device with its stored credentials (re-probe after a firmware change). */
    async probeRegistered(deviceId: string) {
      const c = await conn(deviceId);
      return onvifCall({ host: c.host, port: c.port, stored: true, timeoutMs: c.timeoutMs }, async () => shape(await probeDevice(c)));
    },

    async discover(q: { timeoutMs: number; host?: string; port?: number }) {
      let found;
      try {
        if (q.host) {
          const host = checkHost(q.host, 'host');
          if (!isIP(host)) {
            await lookup(host).catch(() => {
              throw unprocessable(`host ${host} not found`, { field: 'host', code: 'onvif.host_not_found', params: { host, port: q.port ?? 3702 } });
            });
          }
          found = await probeUnicast({ host, port: q.port ?? 3702, timeoutMs: q.timeoutMs });
        } else found = await discover({ timeoutMs: q.timeoutMs });
      } catch (err) {
        if (err instanceof HttpError) throw err;
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message.slice(0, 120);
        throw new HttpError(502, 'bad_gateway', `WS-Discovery failed: ${reason}`, { code: 'onvif.discovery_failed', params: { reason } });
      }
      return found.map((d) => ({ urn: d.urn, host: d.host, port: d.port, xaddrs: d.xaddrs, name: d.name ?? null, hardware: d.hardware ?? null, scopes: d.scopes }));
    },

    ptzMove: (id: string, m: { pan: number; tilt: number; zoom: number; timeoutMs: number }) => ptz(id, (c) => ptzContinuousMove(c, m)),
    ptzStop: (id: string) => ptz(id, (c) => ptzStop(c)),
    ptzStatus: (id: string) => ptz(id, (c) => ptzStatus(c)),
    ptzPresets: (id: string) => ptz(id, (c) => ptzPresets(c)),
    ptzSetPreset: (id: string, name: string) => {
      const n = checkPresetName(name);
      return ptz(id, (c) => ptzSetPreset(c, n), { name: n });
    },
    ptzGotoPreset: (id: string, token: string) => ptz(id, (c) => ptzGotoPreset(c, token), { token }),
  };
}

export type OnvifService = ReturnType<typeof createOnvifService>;
