/**
 * What each stream of a simulated camera sends: codec, size, frame rate and keyframe interval,
 * derived from its spec by pure functions. The encoder (source.ts), the RTSP server's SDP and the
 * ONVIF media profiles (onvif-device.ts) all read it from here, so what the camera advertises is
 * what it sends.
 */
import type { SimCameraSpec } from './types.ts';

export type SimCodec = 'h264' | 'h265';

export const GOP_SECONDS_MIN = 1;
export const GOP_SECONDS_MAX = 10;
export const FPS_MAX = 60;
/** The factory-default dome: H.265 with a 4 s GOP. */
export const FACTORY_DEFAULT = { codec: 'h265', gopSeconds: 4 } as const;

/**
 * A spec the simulator cannot honour, naming the field: `sim.invalid_spec` (a bad value) or
 * `sim.conflicting_spec` (factoryDefault with a codec or GOP that is not the preset's).
 */
export class SimSpecError extends Error {
  constructor(readonly code: 'sim.invalid_spec' | 'sim.conflicting_spec', readonly field: string, message: string) {
    super(message);
    this.name = 'SimSpecError';
  }
}

export interface SimEncoding {
  /** Main stream codec; the sub stream is H.264 whatever this is. */
  codec: SimCodec;
  gopSeconds: number;
}

/** The camera's codec and GOP, from its fields and the factoryDefault preset; throws SimSpecError. */
export function resolveEncoding(spec: Pick<SimCameraSpec, 'id' | 'codec' | 'gopSeconds' | 'factoryDefault' | 'fps'>): SimEncoding {
  const where = `camera ${spec.id}`;
  if (!Number.isFinite(spec.fps) || spec.fps < 1 || spec.fps > FPS_MAX) {
    throw new SimSpecError('sim.invalid_spec', 'fps', `${where}: fps must be a number from 1 to ${FPS_MAX} (got ${String(spec.fps)})`);
  }
  if (spec.codec !== undefined && spec.codec !== 'h264' && spec.codec !== 'h265') {
    throw new SimSpecError('sim.invalid_spec', 'codec', `${where}: codec must be "h264" or "h265" (got ${JSON.stringify(spec.codec)})`);
  }
  if (spec.gopSeconds !== undefined &&
    (typeof spec.gopSeconds !== 'number' || !Number.isFinite(spec.gopSeconds) || spec.gopSeconds < GOP_SECONDS_MIN || spec.gopSeconds > GOP_SECONDS_MAX)) {
    throw new SimSpecError('sim.invalid_spec', 'gopSeconds',
      `${where}: gopSeconds must be a number of seconds from ${GOP_SECONDS_MIN} to ${GOP_SECONDS_MAX} (got ${JSON.stringify(spec.gopSeconds)})`);
  }
  if (spec.factoryDefault !== undefined && typeof spec.factoryDefault !== 'boolean') {
    throw new SimSpecError('sim.invalid_spec', 'factoryDefault', `${where}: factoryDefault must be true or false (got ${JSON.stringify(spec.factoryDefault)})`);
  }
  if (spec.factoryDefault) {
    if (spec.codec !== undefined && spec.codec !== FACTORY_DEFAULT.codec) {
      throw new SimSpecError('sim.conflicting_spec', 'codec', `${where}: factoryDefault sends ${FACTORY_DEFAULT.codec}; codec ${spec.codec} contradicts it`);
    }
    if (spec.gopSeconds !== undefined && spec.gopSeconds !== FACTORY_DEFAULT.gopSeconds) {
      throw new SimSpecError('sim.conflicting_spec', 'gopSeconds',
        `${where}: factoryDefault has a ${FACTORY_DEFAULT.gopSeconds} s GOP; gopSeconds ${spec.gopSeconds} contradicts it`);
    }
    return { ...FACTORY_DEFAULT };
  }
  return { codec: spec.codec ?? 'h264', gopSeconds: spec.gopSeconds ?? 1 };
}

/**
 * Encode size of each stream. The sub stream (/102) is half the main stream's width, at most 640, with
 * its aspect, and at most 15 fps: the same rule onvif-device.ts advertises in its media profiles.
 */
export function streamSize(spec: Pick<SimCameraSpec, 'width' | 'height' | 'fps'>, profile: 'main' | 'sub'): { width: number; height: number; fps: number } {
  if (profile === 'main') return { width: spec.width, height: spec.height, fps: spec.fps };
  const width = Math.max(160, Math.min(640, Math.round(spec.width / 4) * 2));
  return { width, height: Math.max(2, Math.round((width * spec.height) / spec.width / 2) * 2), fps: Math.min(spec.fps, 15) };
}

export interface StreamConfig {
  codec: SimCodec;
  width: number;
  height: number;
  /** Whole frames per second, as the encoder runs. */
  fps: number;
  gopSeconds: number;
  /** Keyframe interval in frames (ONVIF GovLength, x264/x265 keyint). */
  gopFrames: number;
}

/** Everything the encoder of one stream needs and the camera reports about it; throws SimSpecError. */
export function streamConfig(spec: SimCameraSpec, profile: 'main' | 'sub'): StreamConfig {
  const { codec, gopSeconds } = resolveEncoding(spec);
  const size = streamSize(spec, profile);
  const fps = Math.max(1, Math.round(size.fps));
  return {
    codec: profile === 'main' ? codec : 'h264',
    width: size.width,
    height: size.height,
    fps,
    gopSeconds,
    gopFrames: Math.max(1, Math.round(fps * gopSeconds)),
  };
}

/** What a camera's web page lets a user change on the encoder (Simulator.reconfigure). */
export interface SimReconfiguration {
  /** Main stream codec; the sub stream stays H.264. */
  codec?: SimCodec;
  /** Main stream size (the sub stream follows it, see streamSize). */
  width?: number;
  height?: number;
  fps?: number;
  /** Keyframe interval of both streams. */
  gopSeconds?: number;
}

const RECONFIGURABLE = ['codec', 'width', 'height', 'fps', 'gopSeconds'] as const;
export const SIZE_MIN = 64;
export const SIZE_MAX = 4096;

/**
 * The spec after a reconfiguration, checked like a new one (throws SimSpecError naming the field).
 * Choosing a codec or GOP leaves the factory preset (`factoryDefault` becomes false, the preset's other
 * value is kept explicitly); a size or rate change alone keeps it. A camera that loops a file cannot be
 * reconfigured: the file is what it sends. Sizes are even (4:2:0 chroma) and from 64 to 4096.
 */
export function reconfiguredSpec(spec: SimCameraSpec, change: SimReconfiguration): SimCameraSpec {
  const where = `camera ${spec.id}`;
  for (const key of Object.keys(change)) {
    if (!(RECONFIGURABLE as readonly string[]).includes(key)) {
      throw new SimSpecError('sim.invalid_spec', key, `${where}: ${key} cannot be reconfigured (only ${RECONFIGURABLE.join(', ')})`);
    }
  }
  if (spec.sourceFile) throw new SimSpecError('sim.invalid_spec', 'sourceFile', `${where} loops a file: its encoding cannot be changed`);
  for (const field of ['width', 'height'] as const) {
    const v = change[field];
    if (v !== undefined && (!Number.isInteger(v) || v % 2 !== 0 || v < SIZE_MIN || v > SIZE_MAX)) {
      throw new SimSpecError('sim.invalid_spec', field, `${where}: ${field} must be an even number from ${SIZE_MIN} to ${SIZE_MAX} (got ${JSON.stringify(v)})`);
    }
  }
  const current = resolveEncoding(spec);
  const defined = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as SimReconfiguration;
  const leavesPreset = spec.factoryDefault === true && (defined.codec !== undefined || defined.gopSeconds !== undefined);
  const next: SimCameraSpec = leavesPreset
    ? { ...spec, ...defined, factoryDefault: false, codec: defined.codec ?? current.codec, gopSeconds: defined.gopSeconds ?? current.gopSeconds }
    : { ...spec, ...defined };
  resolveEncoding(next);
  return next;
}
