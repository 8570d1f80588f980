import { badRequest } from '../../core/http/errors.ts';
import { checkMediaUrl, UrlRefused, type MediaScheme } from '../streams/url-policy.ts';
import { CAMERA_TYPES, DEVICE_KINDS, RECORDING_MODES, type Device, type DeviceInput, type DeviceRecord } from './types.ts';

/** Letters, digits, - and _; an all-digit code is the national 20-digit device code (GB/T 28181). */
export function checkCode(code: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(code)) throw badRequest('code must be 1–64 letters, digits, - or _', 'code');
  if (/^\d+$/.test(code) && code.length !== 20) throw badRequest('an all-digit code must be the 20-digit national device code', 'code');
}

/** A host name or an IP address: no scheme, path, port or credentials. */
export function checkHost(host: string, field: string): string {
  const h = host.trim();
  if (!/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h) && !/^[0-9a-fA-F:]+$/.test(h)) {
    throw badRequest(`${field} must be a host name or IP address (no scheme, port or path)`, field);
  }
  return h;
}

function mediaUrl(value: string | null | undefined, field: string, schemes?: readonly MediaScheme[]) {
  if (value === null || value === undefined || value === '') return null;
  try {
    return checkMediaUrl(value, field, schemes);
  } catch (err) {
    if (err instanceof UrlRefused) throw badRequest(err.message, err.field);
    throw err;
  }
}

/**
 * Merge `input` over `current` (or defaults) and check every field, so the
 * result is a complete row. `seal` encrypts a new password.
 */
export function toRecord(input: DeviceInput, current: Device | null, currentPasswordEnc: Buffer | null, seal: (p: string) => Buffer, newStreamKey: () => string): DeviceRecord {
  const kind = input.kind ?? current?.kind ?? 'camera';
  if (!DEVICE_KINDS.includes(kind)) throw badRequest(`kind must be one of ${DEVICE_KINDS.join(', ')}`, 'kind');
  let cameraType = input.cameraType !== undefined ? input.cameraType : (current?.cameraType ?? null);
  if (kind === 'camera') {
    cameraType ??= 'fixed';
    if (!CAMERA_TYPES.includes(cameraType)) throw badRequest(`cameraType must be one of ${CAMERA_TYPES.join(', ')}`, 'cameraType');
  } else cameraType = null;

  const name = (input.name ?? current?.name ?? '').trim();
  if (!name) throw badRequest('name is required', 'name');
  if (name.length > 200) throw badRequest('name must have at most 200 characters', 'name');

  const code = input.code !== undefined ? (input.code?.trim() || null) : (current?.code ?? null);
  if (code) checkCode(code);

  const loc = input.location !== undefined ? input.location : current?.location ?? null;
  if (loc) {
    if (!(loc.lat >= -90 && loc.lat <= 90)) throw badRequest('location.lat must be between -90 and 90', 'location.lat');
    if (!(loc.lon >= -180 && loc.lon <= 180)) throw badRequest('location.lon must be between -180 and 180', 'location.lon');
    if (loc.heading !== null && loc.heading !== undefined && !(loc.heading >= 0 && loc.heading < 360)) throw badRequest('location.heading must be from 0 to below 360', 'location.heading');
  }

  const tags = [...new Set((input.tags ?? current?.tags ?? []).map((t) => t.trim()).filter(Boolean))];
  if (tags.length > 50 || tags.some((t) => t.length > 50)) throw badRequest('at most 50 tags of at most 50 characters', 'tags');

  // Streams: checked against the scheme allow-list; credentials in a URL move to the encrypted column.
  const streamsIn = input.streams ?? {};
  const main = streamsIn.main !== undefined ? mediaUrl(streamsIn.main, 'streams.main') : null;
  const sub = streamsIn.sub !== undefined ? mediaUrl(streamsIn.sub, 'streams.sub') : null;
  const snapshot = streamsIn.snapshot !== undefined ? mediaUrl(streamsIn.snapshot, 'streams.snapshot', ['http', 'https']) : null;
  const streams = {
    main: streamsIn.main !== undefined ? main?.url ?? null : current?.streams.main ?? null,
    sub: streamsIn.sub !== undefined ? sub?.url ?? null : current?.streams.sub ?? null,
    snapshot: streamsIn.snapshot !== undefined ? snapshot?.url ?? null : current?.streams.snapshot ?? null,
  };

  let onvifHost = current?.onvif?.host ?? null;
  let onvifPort = current?.onvif?.port ?? null;
  let username = current?.onvif?.username ?? null;
  let passwordEnc = currentPasswordEnc;
  if (input.onvif === null) {
    onvifHost = null;
    onvifPort = null;
  } else if (input.onvif) {
    onvifHost = checkHost(input.onvif.host, 'onvif.host');
    onvifPort = input.onvif.port ?? 80;
    if (!Number.isInteger(onvifPort) || onvifPort < 1 || onvifPort > 65535) throw badRequest('onvif.port must be 1–65535', 'onvif.port');
    if (input.onvif.username !== undefined) username = input.onvif.username || null;
    // An empty or absent password keeps the stored one.
    if (input.onvif.password) passwordEnc = seal(input.onvif.password);
  }
  const urlCreds = main ?? sub;
  if (urlCreds?.username && !input.onvif?.username) username = urlCreds.username;
  if (urlCreds?.password && !input.onvif?.password) passwordEnc = seal(urlCreds.password);
  if (username && username.length > 128) throw badRequest('onvif.username must have at most 128 characters', 'onvif.username');

  const recordingMode = input.recording?.mode ?? current?.recording.mode ?? 'none';
  if (!RECORDING_MODES.includes(recordingMode)) throw badRequest(`recording.mode must be one of ${RECORDING_MODES.join(', ')}`, 'recording.mode');
  const retentionDays = input.recording?.retentionDays ?? current?.recording.retentionDays ?? 30;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 3650) throw badRequest('recording.retentionDays must be 1–3650', 'recording.retentionDays');

  const text = (v: string | null | undefined, cur: string | null | undefined, field: string) => {
    const out = v !== undefined ? (v?.trim() || null) : (cur ?? null);
    if (out && out.length > 200) throw badRequest(`${field} must have at most 200 characters`, field);
    return out;
  };

  return {
    kind, cameraType, name, code,
    siteId: input.siteId !== undefined ? input.siteId : current?.siteId ?? null,
    address: text(input.address, current?.address, 'address'),
    lat: loc?.lat ?? null, lon: loc?.lon ?? null, heading: loc?.heading ?? null,
    tags, onvifHost, onvifPort, username, passwordEnc,
    rtspMain: streams.main, rtspSub: streams.sub, snapshotUri: streams.snapshot,
    profiles: input.profiles ?? current?.profiles ?? [],
    vendor: text(input.vendor, current?.vendor, 'vendor'),
    model: text(input.model, current?.model, 'model'),
    serial: text(input.serial, current?.serial, 'serial'),
    firmware: text(input.firmware, current?.firmware, 'firmware'),
    ptz: input.ptz ?? current?.ptz ?? cameraType === 'ptz',
    recordingMode, retentionDays,
    streamKey: kind === 'mobile' ? current?.streamKey ?? newStreamKey() : null,
    enabled: input.enabled ?? current?.enabled ?? true,
  };
}
