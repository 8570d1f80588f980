/**
 * ONVIF PTZ (ver20) operations of the simulated camera, in the generic spaces:
 * pan and tilt in [-1, 1], zoom in [0, 1]. Continuous moves set a velocity that
 * `camera.ptzPosition()` integrates; every change first folds the position reached so far
 * into `ptz.position`, so a move never jumps. Absolute, relative and preset moves are instant.
 */
import type { PtzVector, SimCamera } from './types.ts';
import { type SoapFault, type XmlNode, attr, child, fault, faults, parseDuration, text, xmlEscape as esc } from './soap.ts';
import type { OpContext, Operation } from './onvif-device.ts';

const SPACE = 'http://www.onvif.org/ver10/tptz';
const NODE_TOKEN = 'PTZNode_1';
const CONFIG_TOKEN = 'PTZConfig_1';
const PROFILES = new Set(['Profile_101', 'Profile_102']);
/** Used when ContinuousMove carries no Timeout, so a lost Stop never leaves the camera turning. */
export const DEFAULT_PTZ_TIMEOUT_MS = 10_000;
const MAX_PTZ_TIMEOUT_MS = 3_600_000;
const MAX_PRESETS = 256;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

const range = (lo: number, hi: number) => `<tt:Min>${lo}</tt:Min><tt:Max>${hi}</tt:Max>`;

export function ptzConfigurationXml(prefix: 'tt' | 'tptz'): string {
  return `<${prefix}:PTZConfiguration token="${CONFIG_TOKEN}"><tt:Name>PTZ</tt:Name><tt:UseCount>2</tt:UseCount>` +
    `<tt:NodeToken>${NODE_TOKEN}</tt:NodeToken>` +
    `<tt:DefaultAbsolutePantTiltPositionSpace>${SPACE}/PanTiltSpaces/PositionGenericSpace</tt:DefaultAbsolutePantTiltPositionSpace>` +
    `<tt:DefaultAbsoluteZoomPositionSpace>${SPACE}/ZoomSpaces/PositionGenericSpace</tt:DefaultAbsoluteZoomPositionSpace>` +
    `<tt:DefaultRelativePanTiltTranslationSpace>${SPACE}/PanTiltSpaces/TranslationGenericSpace</tt:DefaultRelativePanTiltTranslationSpace>` +
    `<tt:DefaultRelativeZoomTranslationSpace>${SPACE}/ZoomSpaces/TranslationGenericSpace</tt:DefaultRelativeZoomTranslationSpace>` +
    `<tt:DefaultContinuousPanTiltVelocitySpace>${SPACE}/PanTiltSpaces/VelocityGenericSpace</tt:DefaultContinuousPanTiltVelocitySpace>` +
    `<tt:DefaultContinuousZoomVelocitySpace>${SPACE}/ZoomSpaces/VelocityGenericSpace</tt:DefaultContinuousZoomVelocitySpace>` +
    `<tt:DefaultPTZSpeed><tt:PanTilt x="0.5" y="0.5" space="${SPACE}/PanTiltSpaces/GenericSpeedSpace"/>` +
    `<tt:Zoom x="0.5" space="${SPACE}/ZoomSpaces/ZoomGenericSpeedSpace"/></tt:DefaultPTZSpeed>` +
    `<tt:DefaultPTZTimeout>PT${DEFAULT_PTZ_TIMEOUT_MS / 1000}S</tt:DefaultPTZTimeout>` +
    `<tt:PanTiltLimits><tt:Range><tt:URI>${SPACE}/PanTiltSpaces/PositionGenericSpace</tt:URI>` +
    `<tt:XRange>${range(-1, 1)}</tt:XRange><tt:YRange>${range(-1, 1)}</tt:YRange></tt:Range></tt:PanTiltLimits>` +
    `<tt:ZoomLimits><tt:Range><tt:URI>${SPACE}/ZoomSpaces/PositionGenericSpace</tt:URI>` +
    `<tt:XRange>${range(0, 1)}</tt:XRange></tt:Range></tt:ZoomLimits></${prefix}:PTZConfiguration>`;
}

function vectorXml(v: PtzVector): string {
  return `<tt:PanTilt x="${v.pan}" y="${v.tilt}" space="${SPACE}/PanTiltSpaces/PositionGenericSpace"/>` +
    `<tt:Zoom x="${v.zoom}" space="${SPACE}/ZoomSpaces/PositionGenericSpace"/>`;
}

/**
 * Read `<PanTilt x y/><Zoom x/>` from a vector element. Missing parts take `base`;
 * a present but non-numeric value is a fault.
 */
export function readVector(node: XmlNode | undefined, base: PtzVector): PtzVector | SoapFault {
  const panTilt = child(node, 'PanTilt');
  const zoom = child(node, 'Zoom');
  const num = (n: XmlNode | undefined, name: string, fallback: number) => {
    const raw = attr(n, name);
    return raw === undefined ? fallback : Number(raw);
  };
  const v = { pan: num(panTilt, 'x', base.pan), tilt: num(panTilt, 'y', base.tilt), zoom: num(zoom, 'x', base.zoom) };
  if (![v.pan, v.tilt, v.zoom].every(Number.isFinite)) return faults.invalidArg('InvalidVector', 'PTZ vector is not a number');
  return v;
}

const inLimits = (v: PtzVector): PtzVector => ({ pan: clamp(v.pan, -1, 1), tilt: clamp(v.tilt, -1, 1), zoom: clamp(v.zoom, 0, 1) });

/** Bring `ptz.position` up to `now` and end a continuous move whose time is up. */
function fold(camera: SimCamera, now: number): void {
  const { ptz } = camera;
  ptz.position = inLimits(camera.ptzPosition(now));
  if (ptz.velocity && ptz.moveUntil !== null && now >= ptz.moveUntil) stopMoving(camera);
  else if (ptz.velocity) ptz.moveStartedAt = now;
}

function stopMoving(camera: SimCamera): void {
  camera.ptz.velocity = null;
  camera.ptz.moveStartedAt = null;
  camera.ptz.moveUntil = null;
}

export function isMoving(camera: SimCamera, now: number): { panTilt: boolean; zoom: boolean } {
  const { velocity, moveUntil } = camera.ptz;
  const live = velocity !== null && (moveUntil === null || now < moveUntil);
  return { panTilt: live && (velocity.pan !== 0 || velocity.tilt !== 0), zoom: live && velocity.zoom !== 0 };
}

/** Wrap an operation: PTZ operations need a known ProfileToken. */
function withProfile(op: Operation): Operation {
  return (ctx) => {
    const token = text(ctx.params['ProfileToken']);
    return PROFILES.has(token) ? op(ctx) : faults.invalidArg('NoProfile', `No such profile: ${token}`);
  };
}

function presetXml(token: string, name: string, position: PtzVector): string {
  return `<tptz:Preset token="${esc(token)}"><tt:Name>${esc(name)}</tt:Name><tt:PTZPosition>${vectorXml(position)}</tt:PTZPosition></tptz:Preset>`;
}

function moveTo(ctx: OpContext, target: PtzVector): void {
  fold(ctx.camera, ctx.now);
  stopMoving(ctx.camera);
  ctx.camera.ptz.position = inLimits(target);
}

export const ptzOperations: Record<string, Operation> = {
  GetNodes: () => `<tptz:GetNodesResponse>${nodeXml()}</tptz:GetNodesResponse>`,
  GetNode: () => `<tptz:GetNodeResponse>${nodeXml()}</tptz:GetNodeResponse>`,
  GetConfigurations: () => `<tptz:GetConfigurationsResponse>${ptzConfigurationXml('tptz')}</tptz:GetConfigurationsResponse>`,
  GetConfiguration: () => `<tptz:GetConfigurationResponse>${ptzConfigurationXml('tptz')}</tptz:GetConfigurationResponse>`,
  GetServiceCapabilities: () => `<tptz:GetServiceCapabilitiesResponse><tptz:Capabilities EFlip="false" Reverse="false" MoveStatus="true" StatusPosition="true"/></tptz:GetServiceCapabilitiesResponse>`,

  GetStatus: withProfile(({ camera, now }) => {
    const position = inLimits(camera.ptzPosition(now));
    const moving = isMoving(camera, now);
    return `<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>${vectorXml(position)}</tt:Position>` +
      `<tt:MoveStatus><tt:PanTilt>${moving.panTilt ? 'MOVING' : 'IDLE'}</tt:PanTilt><tt:Zoom>${moving.zoom ? 'MOVING' : 'IDLE'}</tt:Zoom></tt:MoveStatus>` +
      `<tt:UtcTime>${new Date(now).toISOString()}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>`;
  }),

  ContinuousMove: withProfile((ctx) => {
    const v = readVector(child(ctx.params, 'Velocity'), { pan: 0, tilt: 0, zoom: 0 });
    if (!('pan' in v)) return v;
    const rawTimeout = text(ctx.params['Timeout']);
    const timeout = rawTimeout ? parseDuration(rawTimeout) : DEFAULT_PTZ_TIMEOUT_MS;
    if (timeout === null) return faults.invalidArg('InvalidTimeout', `Not a duration: ${rawTimeout}`);
    fold(ctx.camera, ctx.now);
    const velocity = { pan: clamp(v.pan, -1, 1), tilt: clamp(v.tilt, -1, 1), zoom: clamp(v.zoom, -1, 1) };
    if (velocity.pan === 0 && velocity.tilt === 0 && velocity.zoom === 0) stopMoving(ctx.camera);
    else Object.assign(ctx.camera.ptz, { velocity, moveStartedAt: ctx.now, moveUntil: ctx.now + clamp(timeout, 0, MAX_PTZ_TIMEOUT_MS) });
    return '<tptz:ContinuousMoveResponse/>';
  }),

  Stop: withProfile(({ camera, params, now }) => {
    const stopPanTilt = text(params['PanTilt']) !== 'false';
    const stopZoom = text(params['Zoom']) !== 'false';
    fold(camera, now);
    const v = camera.ptz.velocity;
    if (v) {
      const rest = { pan: stopPanTilt ? 0 : v.pan, tilt: stopPanTilt ? 0 : v.tilt, zoom: stopZoom ? 0 : v.zoom };
      if (rest.pan === 0 && rest.tilt === 0 && rest.zoom === 0) stopMoving(camera);
      else camera.ptz.velocity = rest;
    }
    return '<tptz:StopResponse/>';
  }),

  AbsoluteMove: withProfile((ctx) => {
    const target = readVector(child(ctx.params, 'Position'), ctx.camera.ptzPosition(ctx.now));
    if (!('pan' in target)) return target;
    moveTo(ctx, target);
    return '<tptz:AbsoluteMoveResponse/>';
  }),

  RelativeMove: withProfile((ctx) => {
    const delta = readVector(child(ctx.params, 'Translation'), { pan: 0, tilt: 0, zoom: 0 });
    if (!('pan' in delta)) return delta;
    const from = ctx.camera.ptzPosition(ctx.now);
    moveTo(ctx, { pan: from.pan + delta.pan, tilt: from.tilt + delta.tilt, zoom: from.zoom + delta.zoom });
    return '<tptz:RelativeMoveResponse/>';
  }),

  GotoHomePosition: withProfile((ctx) => {
    moveTo(ctx, { pan: 0, tilt: 0, zoom: 0 });
    return '<tptz:GotoHomePositionResponse/>';
  }),

  GetPresets: withProfile(({ camera }) =>
    `<tptz:GetPresetsResponse>${[...camera.ptz.presets.values()].map((p) => presetXml(p.token, p.name, p.position)).join('')}</tptz:GetPresetsResponse>`),

  GotoPreset: withProfile((ctx) => {
    const preset = ctx.camera.ptz.presets.get(text(ctx.params['PresetToken']));
    if (!preset) return faults.invalidArg('NoToken', 'No such preset');
    moveTo(ctx, preset.position);
    return '<tptz:GotoPresetResponse/>';
  }),

  SetPreset: withProfile(({ camera, params, now }) => {
    const { presets } = camera.ptz;
    let token = text(params['PresetToken']);
    if (token && !presets.has(token)) return faults.invalidArg('NoToken', 'No such preset');
    if (!token) {
      if (presets.size >= MAX_PRESETS) return fault('Receiver', ['ter:Action', 'ter:TooManyPresets'], 'Maximum number of presets reached');
      let n = 1;
      while (presets.has(String(n))) n += 1;
      token = String(n);
    }
    const name = text(params['PresetName']).slice(0, 64) || `Preset ${token}`;
    if ([...presets.values()].some((p) => p.name === name && p.token !== token)) {
      return faults.invalidArg('PresetExist', 'A preset with this name already exists');
    }
    fold(camera, now);
    presets.set(token, { token, name, position: { ...camera.ptz.position } });
    return `<tptz:SetPresetResponse><tptz:PresetToken>${esc(token)}</tptz:PresetToken></tptz:SetPresetResponse>`;
  }),

  RemovePreset: withProfile(({ camera, params }) => {
    if (!camera.ptz.presets.delete(text(params['PresetToken']))) return faults.invalidArg('NoToken', 'No such preset');
    return '<tptz:RemovePresetResponse/>';
  }),
};

function nodeXml(): string {
  return `<tptz:PTZNode token="${NODE_TOKEN}" FixedHomePosition="false"><tt:Name>PTZ</tt:Name><tt:SupportedPTZSpaces>` +
    `<tt:AbsolutePanTiltPositionSpace><tt:URI>${SPACE}/PanTiltSpaces/PositionGenericSpace</tt:URI><tt:XRange>${range(-1, 1)}</tt:XRange><tt:YRange>${range(-1, 1)}</tt:YRange></tt:AbsolutePanTiltPositionSpace>` +
    `<tt:AbsoluteZoomPositionSpace><tt:URI>${SPACE}/ZoomSpaces/PositionGenericSpace</tt:URI><tt:XRange>${range(0, 1)}</tt:XRange></tt:AbsoluteZoomPositionSpace>` +
    `<tt:ContinuousPanTiltVelocitySpace><tt:URI>${SPACE}/PanTiltSpaces/VelocityGenericSpace</tt:URI><tt:XRange>${range(-1, 1)}</tt:XRange><tt:YRange>${range(-1, 1)}</tt:YRange></tt:ContinuousPanTiltVelocitySpace>` +
    `<tt:ContinuousZoomVelocitySpace><tt:URI>${SPACE}/ZoomSpaces/VelocityGenericSpace</tt:URI><tt:XRange>${range(-1, 1)}</tt:XRange></tt:ContinuousZoomVelocitySpace>` +
    `</tt:SupportedPTZSpaces><tt:MaximumNumberOfPresets>${MAX_PRESETS}</tt:MaximumNumberOfPresets><tt:HomeSupported>true</tt:HomeSupported></tptz:PTZNode>`;
}
