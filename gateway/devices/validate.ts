import { createHash } from 'node:crypto';
import { badRequest, type HttpError } from '../../core/http/errors.ts';
import { checkMediaUrl, UrlRefused, type MediaScheme } from '../streams/url-policy.ts';
import { CAMERA_TYPES, DEVICE_KINDS, RECORDING_MODES, type Device, type DeviceInput, type DeviceRecord } from './types.ts';

/** Letters, digits, - and _; an all-digit code is the national 20-digit device code (GB/T 28181). */
export function codeProblem(code: string): HttpError | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(code)) return badRequest('code must be 1–64 letters, digits, - or _', { field: 'code', code: 'device.code_format' });
  if (/^\d+$/.test(code) && code.length !== 20) return badRequest('an all-digit code must be the 20-digit national device code', { field: 'code', code: 'device.code_national', params: { length: code.length } });
  return null;
}

export function checkCode(code: string): void {
  const problem = codeProblem(code);
  if (problem) throw problem;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A host name or an IP address: no scheme, path, port or credentials. */
export function checkHost(host: string, field: string): string {
  const h = host.trim();
  if (!HOST.test(h) && !/^[0-9a-fA-F:]+$/.test(h)) {
    throw badRequest(`${field} must be a host name or IP address (no scheme, port or path)`, { field, code: 'device.host_invalid' });
  }
  return h;
}

const outOfRange = (field: string, min: number, max: number, message: string) =>
  badRequest(message, { field, code: 'device.out_of_range', params: { min, max } });
const tooLong = (field: string, limit: number) =>
  badRequest(`${field} must have at most ${limit} characters`, { field, code: 'validation.maxLength', params: { limit } });

/**
 * Merge `input` over `current` (or defaults) and check every field, so the
 * result is a complete row. `seal` encrypts a new password. Every problem is
 * collected (a CSV import reports them all); `record` is complete only when
 * `problems` is empty.
 */
export function checkRecord(input: DeviceInput, current: Device | null, currentPasswordEnc: Buffer | null, seal: (p: string) => Buffer, newStreamKey: () => string): { record: DeviceRecord; problems: HttpError[] } {
  const problems: HttpError[] = [];
  const fail = (err: HttpError) => { problems.push(err); };

  let kind = input.kind ?? current?.kind ?? 'camera';
  if (!DEVICE_KINDS.includes(kind)) {
    fail(badRequest(`kind must be one of ${DEVICE_KINDS.join(', ')}`, { field: 'kind', code: 'validation.enum', params: { allowedValues: DEVICE_KINDS.join(', ') } }));
    kind = 'camera';
  }
  let cameraType = input.cameraType !== undefined ? input.cameraType : (current?.cameraType ?? null);
  if (kind === 'camera') {
    cameraType ??= 'fixed';
    if (!CAMERA_TYPES.includes(cameraType)) {
      fail(badRequest(`cameraType must be one of ${CAMERA_TYPES.join(', ')}`, { field: 'cameraType', code: 'validation.enum', params: { allowedValues: CAMERA_TYPES.join(', ') } }));
      cameraType = 'fixed';
    }
  } else cameraType = null;

  const name = (input.name ?? current?.name ?? '').trim();
  if (!name) fail(badRequest('name is required', { field: 'name', code: 'validation.required' }));
  if (name.length > 200) fail(tooLong('name', 200));

  const code = input.code !== undefined ? (input.code?.trim() || null) : (current?.code ?? null);
  const codeIssue = code ? codeProblem(code) : null;
  if (codeIssue) fail(codeIssue);

  let loc = input.location !== undefined ? input.location : current?.location ?? null;
  if (loc) {
    const bad = problems.length;
    if (!(loc.lat >= -90 && loc.lat <= 90)) fail(outOfRange('location.lat', -90, 90, 'location.lat must be between -90 and 90'));
    if (!(loc.lon >= -180 && loc.lon <= 180)) fail(outOfRange('location.lon', -180, 180, 'location.lon must be between -180 and 180'));
    if (loc.heading !== null && loc.heading !== undefined && !(loc.heading >= 0 && loc.heading < 360)) {
      fail(badRequest('location.heading must be from 0 to below 360', { field: 'location.heading', code: 'device.heading_range' }));
    }
    if (problems.length > bad) loc = null;
  }

  const tags = [...new Set((input.tags ?? current?.tags ?? []).map((t) => t.trim()).filter(Boolean))];
  if (tags.length > 50 || tags.some((t) => t.length > 50)) fail(badRequest('at most 50 tags of at most 50 characters', { field: 'tags', code: 'device.tags_limit', params: { max: 50 } }));

  // Streams: checked against the scheme allow-list; credentials in a URL move to the encrypted column.
  const url = (value: string | null | undefined, field: string, schemes?: readonly MediaScheme[]) => {
    if (value === null || value === undefined || value === '') return null;
    try {
      return checkMediaUrl(value, field, schemes);
    } catch (err) {
      if (!(err instanceof UrlRefused)) throw err;
      fail(err.toHttp());
      return null;
    }
  };
  const streamsIn = input.streams ?? {};
  const main = streamsIn.main !== undefined ? url(streamsIn.main, 'streams.main') : null;
  const sub = streamsIn.sub !== undefined ? url(streamsIn.sub, 'streams.sub') : null;
  const snapshot = streamsIn.snapshot !== undefined ? url(streamsIn.snapshot, 'streams.snapshot', ['http', 'https']) : null;
  const streams = {
    main: streamsIn.main !== undefined ? main?.url ?? null : current?.streams.main ?? null,
    sub: streamsIn.sub !== undefined ? sub?.url ?? null : current?.streams.sub ?? null,
    snapshot: streamsIn.snapshot !== undefined ? snapshot?.url ?? null : current?.streams.snapshot ?? null,
  };
  // Profile URIs (an ONVIF probe's, or a script's) pass the same policy as the streams (rtsp/rtsps, http/https), without credentials.
  const profiles = input.profiles === undefined ? current?.profiles ?? [] : input.profiles.map((p, i) => {
    const { rtspUri, snapshotUri, ...rest } = p;
    const rtsp = rtspUri ? url(rtspUri, `profiles.${i}.rtspUri`, ['rtsp', 'rtsps']) : null;
    const snap = snapshotUri ? url(snapshotUri, `profiles.${i}.snapshotUri`, ['http', 'https']) : null;
    return { ...rest, ...(rtsp ? { rtspUri: rtsp.url } : {}), ...(snap ? { snapshotUri: snap.url } : {}) };
  });

  let onvifHost = current?.onvif?.host ?? null;
  let onvifPort = current?.onvif?.port ?? null;
  let username = current?.onvif?.username ?? null;
  let passwordEnc = currentPasswordEnc;
  if (input.onvif === null) {
    onvifHost = null;
    onvifPort = null;
  } else if (input.onvif) {
    try {
      onvifHost = checkHost(input.onvif.host, 'onvif.host');
    } catch (err) {
      fail(err as HttpError);
    }
    onvifPort = input.onvif.port ?? 80;
    if (!Number.isInteger(onvifPort) || onvifPort < 1 || onvifPort > 65535) {
      fail(outOfRange('onvif.port', 1, 65535, 'onvif.port must be 1–65535'));
      onvifPort = 80;
    }
    if (input.onvif.username !== undefined) username = input.onvif.username || null;
    // An empty or absent password keeps the stored one.
    if (input.onvif.password) passwordEnc = seal(input.onvif.password);
  }
  const urlCreds = main ?? sub;
  if (urlCreds?.username && !input.onvif?.username) username = urlCreds.username;
  if (urlCreds?.password && !input.onvif?.password) passwordEnc = seal(urlCreds.password);
  if (username && username.length > 128) fail(tooLong('onvif.username', 128));

  let recordingMode = input.recording?.mode ?? current?.recording.mode ?? 'none';
  if (!RECORDING_MODES.includes(recordingMode)) {
    fail(badRequest(`recording.mode must be one of ${RECORDING_MODES.join(', ')}`, { field: 'recording.mode', code: 'validation.enum', params: { allowedValues: RECORDING_MODES.join(', ') } }));
    recordingMode = 'none';
  }
  let retentionDays = input.recording?.retentionDays ?? current?.recording.retentionDays ?? 30;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 3650) {
    fail(outOfRange('recording.retentionDays', 1, 3650, 'recording.retentionDays must be 1–3650'));
    retentionDays = 30;
  }

  const text = (v: string | null | undefined, cur: string | null | undefined, field: string) => {
    const out = v !== undefined ? (v?.trim() || null) : (cur ?? null);
    if (out && out.length > 200) fail(tooLong(field, 200));
    return out;
  };

  const record: DeviceRecord = {
    kind, cameraType, name, code,
    siteId: input.siteId !== undefined ? input.siteId : current?.siteId ?? null,
    address: text(input.address, current?.address, 'address'),
    lat: loc?.lat ?? null, lon: loc?.lon ?? null, heading: loc?.heading ?? null,
    tags, onvifHost, onvifPort, username, passwordEnc,
    rtspMain: streams.main, rtspSub: streams.sub, snapshotUri: streams.snapshot,
    profiles,
    vendor: text(input.vendor, current?.vendor, 'vendor'),
    model: text(input.model, current?.model, 'model'),
    serial: text(input.serial, current?.serial, 'serial'),
    firmware: text(input.firmware, current?.firmware, 'firmware'),
    ptz: input.ptz ?? current?.ptz ?? cameraType === 'ptz',
    recordingMode, retentionDays,
    ...streamKeyFields(kind, current, newStreamKey),
    enabled: input.enabled ?? current?.enabled ?? true,
  };
  return { record, problems };
}

/** checkRecord for one API request: the first problem is the answer. */
export function toRecord(input: DeviceInput, current: Device | null, currentPasswordEnc: Buffer | null, seal: (p: string) => Buffer, newStreamKey: () => string): DeviceRecord {
  const { record, problems } = checkRecord(input, current, currentPasswordEnc, seal, newStreamKey);
  if (problems[0]) throw problems[0];
  return record;
}

/** SHA-256 (hex) of an RTMP stream key: what the registry keeps and looks pushes up by. */
export function hashStreamKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A mobile camera keeps its key's hash; a new one gets a key (returned once); others have none. */
function streamKeyFields(kind: string, current: Device | null, newStreamKey: () => string): { streamKeyHash: string | null; newStreamKey?: string } {
  if (kind !== 'mobile') return { streamKeyHash: null };
  if (current?.streamKeyHash) return { streamKeyHash: current.streamKeyHash };
  const key = newStreamKey();
  return { streamKeyHash: hashStreamKey(key), newStreamKey: key };
}
