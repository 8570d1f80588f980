import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { PtzState, PtzVector, SimCamera, SimCameraSpec, SimFault } from './types.ts';

/** What the simulator plugs in once the camera's media side exists. */
export interface SimCameraParts {
  snapshot: () => Promise<Buffer>;
  rtspClients: () => number;
}

export interface SimCameraHandle extends SimCamera {
  /** Connect the media side (source snapshot, RTSP client count). */
  bind(parts: SimCameraParts): void;
  /**
   * Replace the spec (a reconfiguration: simulator.ts checks it and restarts the sources); the ONVIF
   * service reads `spec` per request, so its profiles report the new encoding from then on.
   */
  setSpec(next: SimCameraSpec): void;
}

export function clampPtz(p: PtzVector): PtzVector {
  return {
    pan: clamp(p.pan, -1, 1),
    tilt: clamp(p.tilt, -1, 1),
    zoom: clamp(p.zoom, 0, 1),
  };
}

function clamp(v: number, lo: number, hi: number): number {
  if (!Number.isFinite(v)) return lo < 0 ? 0 : lo;
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Position at `now` for a continuous move (velocity in generic units per second), stopping at
 * `moveUntil`. Pure: the state is not changed.
 */
export function integratePtz(state: Pick<PtzState, 'position' | 'velocity' | 'moveStartedAt' | 'moveUntil'>, now: number): PtzVector {
  const { position, velocity, moveStartedAt, moveUntil } = state;
  if (!velocity || moveStartedAt === null) return clampPtz(position);
  const end = moveUntil === null ? now : Math.min(now, moveUntil);
  const dt = Math.max(0, end - moveStartedAt) / 1000;
  return clampPtz({
    pan: position.pan + velocity.pan * dt,
    tilt: position.tilt + velocity.tilt * dt,
    zoom: position.zoom + velocity.zoom * dt,
  });
}

/** Address to put in URIs: the bind address, or for a wildcard bind the first external IPv4. */
export function advertisedHost(host: string): string {
  let h = host;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    h = '127.0.0.1';
    for (const list of Object.values(networkInterfaces())) {
      const a = list?.find((i) => i.family === 'IPv4' && !i.internal);
      if (a) { h = a.address; break; }
    }
  }
  return h.includes(':') ? `[${h}]` : h;
}

export function createSimCamera(initial: SimCameraSpec): SimCameraHandle {
  let spec = initial;
  let parts: SimCameraParts | null = null;
  const ptz: PtzState = {
    position: { pan: 0, tilt: 0, zoom: 0 },
    velocity: null,
    moveStartedAt: null,
    moveUntil: null,
    presets: new Map(),
  };
  const faults = new Set<SimFault>();
  const host = () => advertisedHost(spec.host);

  const camera: SimCameraHandle = {
    get spec() { return spec; },
    uuid: spec.uuid ?? randomUUID(),
    ptz,
    faults,
    rtspPort: spec.rtspPort,
    onvifPort: spec.onvifPort,
    rtspUri(profile) {
      return `rtsp://${host()}:${camera.rtspPort}/Streaming/Channels/${profile === 'main' ? '101' : '102'}`;
    },
    onvifUri() {
      return `http://${host()}:${camera.onvifPort}/onvif/device_service`;
    },
    snapshotUri() {
      return `http://${host()}:${camera.onvifPort}/onvif/snapshot.jpg`;
    },
    snapshot() {
      return parts ? parts.snapshot() : Promise.reject(new Error(`camera ${spec.id} has no media source`));
    },
    rtspClients() {
      return parts ? parts.rtspClients() : 0;
    },
    ptzPosition(now = Date.now()) {
      // A velocity set without a start time starts counting now.
      if (ptz.velocity && ptz.moveStartedAt === null) ptz.moveStartedAt = now;
      const pos = integratePtz(ptz, now);
      if (ptz.velocity && ptz.moveUntil !== null && now >= ptz.moveUntil) {
        // The move timed out: settle the state where it stopped.
        ptz.position = pos;
        ptz.velocity = null;
        ptz.moveStartedAt = null;
        ptz.moveUntil = null;
      }
      return pos;
    },
    bind(p) {
      parts = p;
    },
    setSpec(next) {
      if (next.id !== spec.id) throw new Error(`camera ${spec.id}: a reconfiguration cannot change the id`);
      spec = next;
    },
  };
  return camera;
}
