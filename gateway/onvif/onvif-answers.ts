/**
 * Reading what an ONVIF device answered. The `onvif` package turns numbers-looking
 * strings into numbers (firmware `5.10` becomes 5.1, token `007` stays but `1.0` becomes 1),
 * so the adapter reads the raw SOAP it received with fast-xml-parser and keeps strings
 * as strings. Nothing here trusts the device: every missing element is a ProtocolAnswerError.
 */
import { XMLParser } from 'fast-xml-parser';
import { checkMediaUrl } from '../streams/url-policy.ts';
import type { OnvifProfile, PtzPresetInfo, PtzStatus } from './types.ts';

export class ProtocolAnswerError extends Error {}

type Node = Record<string, unknown>;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true, // DTDs are refused before parsing, so only the predefined and numeric references exist
  htmlEntities: true,
  trimValues: true,
  isArray: (name) => ['Profiles', 'Preset', 'ProbeMatch'].includes(name),
});

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A SOAP message as nested objects (local names, attributes as `@_name`); throws ProtocolAnswerError. */
export function parseSoapXml(xml: string | undefined, what: string): unknown {
  if (!xml || /<!DOCTYPE|<!ENTITY/i.test(xml)) throw new ProtocolAnswerError(`no usable ${what}`);
  try {
    return parser.parse(xml);
  } catch {
    throw new ProtocolAnswerError(`malformed ${what}`);
  }
}

/** The element named `operation` inside the SOAP Body of `xml`. */
export function answerOf(xml: string | undefined, operation: string): Node {
  const body = get(get(parseSoapXml(xml, operation), 'Envelope'), 'Body');
  const answer = get(body, operation);
  if (!isNode(answer) && answer !== '') throw new ProtocolAnswerError(`${operation} missing from the answer`);
  return isNode(answer) ? answer : {};
}

export function get(node: unknown, name: string): unknown {
  if (!isNode(node)) return undefined;
  const v = node[name];
  return Array.isArray(v) ? v[0] : v;
}

export function list(node: unknown, name: string): unknown[] {
  if (!isNode(node)) return [];
  const v = node[name];
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

export function str(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (isNode(value) && typeof value['#text'] === 'string') return value['#text'].trim();
  return '';
}

export function attr(node: unknown, name: string): string | undefined {
  const v = isNode(node) ? node[`@_${name}`] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function num(value: unknown): number | undefined {
  const n = Number(typeof value === 'string' ? value : str(value));
  return str(value) !== '' && Number.isFinite(n) ? n : undefined;
}

export function deviceInformation(xml: string | undefined) {
  const a = answerOf(xml, 'GetDeviceInformationResponse');
  const field = (name: string) => str(get(a, name)).slice(0, 256);
  return {
    vendor: field('Manufacturer'),
    model: field('Model'),
    firmware: field('FirmwareVersion'),
    serial: field('SerialNumber'),
    hardwareId: field('HardwareId') || undefined,
  };
}

export interface ProfileInfo extends Omit<OnvifProfile, 'rtspUri' | 'snapshotUri'> {
  ptz: boolean;
}

/**
 * GovLength of a Media1 video encoder configuration: in its H264 element, or the H265 element cameras
 * that send H.265 over Media1 put in its place (MPEG4 too). A positive whole number of frames, or undefined.
 */
export function govLength(enc: unknown): number | undefined {
  for (const name of ['H264', 'H265', 'MPEG4']) {
    const n = num(get(get(enc, name), 'GovLength'));
    if (n !== undefined && Number.isInteger(n) && n > 0 && n <= 100_000) return n;
  }
  return undefined;
}

/** Video profiles (those with a video encoder), in the device's order. */
export function profiles(xml: string | undefined): ProfileInfo[] {
  const a = answerOf(xml, 'GetProfilesResponse');
  const out: ProfileInfo[] = [];
  for (const p of list(a, 'Profiles')) {
    const token = attr(p, 'token');
    const enc = get(p, 'VideoEncoderConfiguration');
    if (!token || !isNode(enc)) continue;
    const res = get(enc, 'Resolution');
    const gop = govLength(enc);
    out.push({
      token,
      name: str(get(p, 'Name')) || token,
      encoding: str(get(enc, 'Encoding')) || (get(enc, 'H265') !== undefined ? 'H265' : get(enc, 'H264') !== undefined ? 'H264' : 'unknown'),
      width: num(get(res, 'Width')) ?? 0,
      height: num(get(res, 'Height')) ?? 0,
      fps: num(get(get(enc, 'RateControl'), 'FrameRateLimit')),
      ...(gop !== undefined ? { gop } : {}),
      ptz: get(p, 'PTZConfiguration') !== undefined,
    });
  }
  return out;
}

/** `GetStreamUri` / `GetSnapshotUri` answer's MediaUri/Uri. */
export function mediaUri(xml: string | undefined, operation: 'GetStreamUriResponse' | 'GetSnapshotUriResponse'): string {
  const uri = str(get(get(answerOf(xml, operation), 'MediaUri'), 'Uri'));
  if (!uri) throw new ProtocolAnswerError(`${operation} has no Uri`);
  return uri;
}

const CREDENTIAL_PARAMS = /^(user|username|usr|password|passwd|pass|pwd|auth|token)$/i;

/**
 * A URI a device reported, checked against the scheme allow-list and stripped of credentials
 * (user:pass@ and `?user=…&password=…`). Null when it is not acceptable.
 */
export function cleanUri(raw: string, schemes: ('rtsp' | 'rtsps' | 'http' | 'https')[]): string | null {
  try {
    const u = new URL(checkMediaUrl(raw, 'uri', schemes).url);
    for (const key of [...u.searchParams.keys()]) if (CREDENTIAL_PARAMS.test(key)) u.searchParams.delete(key);
    return u.toString();
  } catch {
    return null;
  }
}

/** The local names of a SOAP fault's Subcode values (`ter:InvalidArgVal`, `ter:NoToken` → InvalidArgVal, NoToken); [] when it is none. */
export function faultSubcodes(xml: string | undefined): string[] {
  if (!xml || !/Fault/.test(xml)) return [];
  let doc: unknown;
  try {
    doc = parseSoapXml(xml, 'Fault');
  } catch {
    return [];
  }
  const out: string[] = [];
  let node = get(get(get(get(doc, 'Envelope'), 'Body'), 'Fault'), 'Code');
  for (let depth = 0; depth < 8 && isNode(node); depth += 1) {
    const value = str(get(node, 'Value'));
    if (value && depth > 0) out.push(value.split(':').pop()!);
    node = get(node, 'Subcode');
  }
  return out;
}

export function ptzStatus(xml: string | undefined): PtzStatus {
  const status = get(answerOf(xml, 'GetStatusResponse'), 'PTZStatus');
  if (!isNode(status)) throw new ProtocolAnswerError('GetStatus has no PTZStatus');
  const position = get(status, 'Position');
  const moveStatus = get(status, 'MoveStatus');
  const states = isNode(moveStatus) ? [str(get(moveStatus, 'PanTilt')), str(get(moveStatus, 'Zoom'))] : [str(moveStatus)];
  return {
    pan: num(attr(get(position, 'PanTilt'), 'x')) ?? 0,
    tilt: num(attr(get(position, 'PanTilt'), 'y')) ?? 0,
    zoom: num(attr(get(position, 'Zoom'), 'x')) ?? 0,
    moving: states.some((s) => s.toUpperCase() === 'MOVING'),
  };
}

export function presets(xml: string | undefined): PtzPresetInfo[] {
  return list(answerOf(xml, 'GetPresetsResponse'), 'Preset')
    .map((p) => ({ token: attr(p, 'token') ?? '', name: str(get(p, 'Name')) }))
    .filter((p) => p.token !== '')
    .map((p) => ({ token: p.token, name: p.name || p.token }));
}

export function presetToken(xml: string | undefined): string {
  const token = str(get(answerOf(xml, 'SetPresetResponse'), 'PresetToken'));
  if (!token) throw new ProtocolAnswerError('SetPreset returned no PresetToken');
  return token;
}

/** Whether a GetCapabilities answer lists a media and a PTZ service. */
export function capabilities(xml: string | undefined): { media: boolean; ptz: boolean } {
  const caps = get(answerOf(xml, 'GetCapabilitiesResponse'), 'Capabilities');
  const has = (name: string) => str(get(get(caps, name), 'XAddr')) !== '';
  return { media: has('Media'), ptz: has('PTZ') };
}
