import { randomUUID } from 'node:crypto';
import { log as rootLog } from '../../core/log.ts';
import { createSimCamera, type SimCameraHandle } from './camera.ts';
import { reconfiguredSpec, resolveEncoding, type SimReconfiguration } from './encoding.ts';
import { nameUuid } from './onvif-device.ts';
import { startOnvifServer } from './onvif-server.ts';
import { startRtspServer } from './rtsp-server.ts';
import { VideoSource } from './source.ts';
import type { SimCamera, SimCameraSpec, SimFault } from './types.ts';

/**
 * A set of simulated ONVIF/RTSP cameras: for each, an RTSP server (lazily started sources: an H.264 or
 * H.265 main stream, an H.264 sub stream) and an ONVIF service; optionally a WS-Discovery responder for all of them.
 */

export interface SimulatorOptions {
  /** Specs (missing fields get defaults) or how many default cameras. */
  cameras: Partial<SimCameraSpec>[] | number;
  /** Bind address for every camera (default 127.0.0.1). */
  host?: string;
  /** Camera i listens on basePort + 2i (ONVIF) and basePort + 2i + 1 (RTSP); none: ephemeral ports. */
  basePort?: number;
  discovery?: boolean | { unicastPort?: number; multicast?: boolean };
  /** Stop a camera's encoder this long after its last RTSP client (default 10 s). */
  idleStopMs?: number;
  /** Time zone of the burned-in clocks (the site's); the machine's when absent. */
  timezone?: string;
  /**
   * Each camera's endpoint UUID is derived from this and its id, so two simulators never
   * share one (default: random per simulator; give a stable seed to keep UUIDs across restarts).
   */
  seed?: string;
}

export interface SimMedia {
  main: VideoSource;
  sub: VideoSource;
}

export interface SimReconfigureOptions {
  /**
   * Close the camera's RTSP sessions, as an encoder reboot does (default false: running sessions
   * keep going and receive the new parameter sets and keyframe in band, as several real cameras do).
   * A codec change always drops them: an RTSP session's SDP names its codec, so H.264 ↔ H.265 cannot
   * change inside one session.
   */
  dropSessions?: boolean;
}

export interface SimReconfigureResult {
  /** The camera's spec from now on. */
  spec: SimCameraSpec;
  /** Whether the sessions were closed (asked for, or forced by a codec change). */
  dropped: boolean;
  /** Playing sessions that were closed. */
  droppedSessions: number;
  /** The streams whose encoding changed (their running encoders restarted with it). */
  changed: ('main' | 'sub')[];
}

export interface Simulator {
  cameras: SimCamera[];
  camera(id: string): SimCamera | undefined;
  /** The sources behind a camera's /101 and /102 (diagnostics, tests). */
  media(id: string): SimMedia | undefined;
  setFault(id: string, fault: SimFault, on: boolean): void;
  /**
   * Change a camera's encoder as its web page does: codec, size, rate or GOP (see SimReconfiguration;
   * throws SimSpecError for a value the camera cannot take, before anything changes). Running encoders
   * restart with the new settings; the ONVIF profiles and new RTSP clients see them at once. Sessions
   * stay unless `dropSessions` (or a codec change) closes them: see SimReconfigureOptions.
   * Calls for one camera run one after the other.
   */
  reconfigure(id: string, change: SimReconfiguration, opts?: SimReconfigureOptions): Promise<SimReconfigureResult>;
  /** WS-Discovery unicast port, when discovery runs. */
  discoveryPort: number | null;
  /** Stops every server and encoder; bounded (a few seconds at most). */
  close(): Promise<void>;
}

/** A complete spec for camera number `index` (0-based) from what was given. */
export function defaultSpec(index: number, given: Partial<SimCameraSpec>, o: { host: string; basePort?: number }): SimCameraSpec {
  const n = String(index + 1).padStart(3, '0');
  const id = given.id ?? `cam-${n}`;
  const port = (offset: number) => (o.basePort ? o.basePort + 2 * index + offset : 0);
  return {
    name: `模拟摄像机-${n}`,
    username: 'admin',
    password: `sim-${id}`,
    ptz: index % 4 === 0,
    vendor: 'Skynet-Sim',
    model: 'SIM-IPC-2',
    serial: `SIM${String(index + 1).padStart(9, '0')}`,
    firmware: 'V1.0.0 build 240601',
    width: 640,
    height: 360,
    fps: 15,
    host: o.host,
    onvifPort: port(0),
    rtspPort: port(1),
    ...stripUndefined(given),
    id,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface Running {
  camera: SimCameraHandle;
  media: SimMedia;
  close: () => Promise<void>;
  applyFaults: () => void;
  dropSessions: () => number;
  /** The reconfiguration in progress, so the next waits for it. */
  reconfiguring: Promise<unknown>;
}

async function startCamera(spec: SimCameraSpec, idleStopMs: number | undefined): Promise<Running> {
  const camera = createSimCamera(spec);
  const media: SimMedia = {
    main: new VideoSource(camera, { profile: 'main', idleStopMs }),
    sub: new VideoSource(camera, { profile: 'sub', idleStopMs }),
  };
  const closers: (() => Promise<void>)[] = [() => media.main.close(), () => media.sub.close()];
  const close = async () => { await Promise.allSettled(closers.reverse().map((c) => c())); };
  try {
    const rtsp = await startRtspServer(camera, media);
    closers.push(() => rtsp.close());
    camera.rtspPort = rtsp.port;
    camera.bind({ snapshot: () => media.main.snapshot(), rtspClients: () => rtsp.clients() });
    const onvif = await startOnvifServer(camera);
    closers.push(() => onvif.close());
    camera.onvifPort = onvif.port;
    return {
      camera, media, close, applyFaults: () => rtsp.applyFaults(), dropSessions: () => rtsp.dropSessions(), reconfiguring: Promise.resolve(),
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const given = typeof opts.cameras === 'number' ? Array.from({ length: opts.cameras }, () => ({})) : opts.cameras;
  const seed = opts.seed ?? randomUUID();
  const specs = given.map((g, i) => defaultSpec(i, { timezone: opts.timezone, ...g }, { host, basePort: opts.basePort }))
    .map((s) => ({ ...s, uuid: s.uuid ?? nameUuid(`${seed}:${s.id}`) }));
  const ids = new Set(specs.map((s) => s.id));
  if (ids.size !== specs.length) throw new Error('simulated camera ids must be unique');
  // Every spec is checked before anything listens: a bad codec or GOP names its camera and field (SimSpecError).
  for (const spec of specs) resolveEncoding(spec);

  const running: Running[] = [];
  let discovery: { close(): Promise<void>; unicastPort: number } | null = null;
  const closeAll = async () => {
    await Promise.allSettled([...running.map((r) => r.close()), discovery?.close()]);
  };
  try {
    // One at a time: a port clash names its camera, and nothing starts in a burst.
    for (const spec of specs) running.push(await startCamera(spec, opts.idleStopMs));
    if (opts.discovery) {
      // Loaded only when asked for: tests and embedded uses need no UDP sockets.
      const { startWsDiscovery } = await import('./ws-discovery.ts');
      const d = typeof opts.discovery === 'object' ? opts.discovery : {};
      discovery = await startWsDiscovery(() => running.map((r) => r.camera), d);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  rootLog.info({ cameras: running.length, host, discovery: discovery?.unicastPort ?? null }, 'camera simulator started');

  const byId = new Map(running.map((r) => [r.camera.spec.id, r]));
  let closing: Promise<void> | null = null;
  return {
    cameras: running.map((r) => r.camera),
    camera: (id) => byId.get(id)?.camera,
    media: (id) => byId.get(id)?.media,
    discoveryPort: discovery?.unicastPort ?? null,
    setFault(id, fault, on) {
      const r = byId.get(id);
      if (!r) throw new Error(`no simulated camera ${id}`);
      if (on) r.camera.faults.add(fault);
      else r.camera.faults.delete(fault);
      r.applyFaults();
    },
    reconfigure(id, change, o = {}) {
      const r = byId.get(id);
      if (!r) return Promise.reject(new Error(`no simulated camera ${id}`));
      const next = r.reconfiguring.then(() => reconfigureCamera(r, change, o));
      r.reconfiguring = next.catch(() => undefined);
      return next;
    },
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}

/** One reconfiguration (Simulator.reconfigure): check, replace the spec, drop sessions if so, restart encoders. */
async function reconfigureCamera(r: Running, change: SimReconfiguration, o: SimReconfigureOptions): Promise<SimReconfigureResult> {
  const before = r.camera.spec;
  const spec = reconfiguredSpec(before, change);
  const dropped = o.dropSessions === true || resolveEncoding(spec).codec !== resolveEncoding(before).codec;
  r.camera.setSpec(spec);
  // Sessions go before the encoders restart, so no old session sees a frame of the new encoding.
  const droppedSessions = dropped ? r.dropSessions() : 0;
  const [main, sub] = await Promise.all([r.media.main.reconfigure(), r.media.sub.reconfigure()]);
  const changed = [...(main ? ['main' as const] : []), ...(sub ? ['sub' as const] : [])];
  rootLog.info({ camera: spec.id, change, dropped, droppedSessions, changed }, 'simulated camera reconfigured');
  return { spec, dropped, droppedSessions, changed };
}
