import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { createLowLatencyHub, type LowLatencyHub } from '../../gateway/lowlat/hub.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { mediaLayout } from '../../gateway/streams/layout.ts';
import { createRtspRelay, type MediaRelay } from '../../gateway/streams/rtsp-relay.ts';
import { createSessionManager, type SessionManager } from '../../gateway/streams/sessions.ts';
import type { StateChange } from '../../gateway/streams/types.ts';

/**
 * A camera reconfigured from its web page while the gateway pulls it: the new resolution arrives in band
 * on the same RTSP session; the low-latency hub sees a keyframe whose SPS the run's init segment does not
 * describe, the session restarts once, and the new run's init (what players re-initialise with) has the new size.
 */

const log = createLogger({ level: 'silent' });
const D = randomUUID();
let sim: Simulator;
let relay: MediaRelay;
let hub: LowLatencyHub;
let manager: SessionManager;
let work: string;
const changes: StateChange[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'skynet-reconf-test-'));
  sim = await startSimulator({ cameras: [{ id: `reconf-${process.pid}`, name: '改配置相机', width: 320, height: 180, fps: 10, ptz: false }], idleStopMs: 2000 });
  const cam = sim.cameras[0]!;
  relay = createRtspRelay({ log });
  hub = createLowLatencyHub({ log, onParameterChange: (key, reason) => manager.restart(key, reason) });
  manager = createSessionManager({
    log, layout: mediaLayout(work), maxSessions: 2, idleStopMs: 300_000, minFreeMb: () => 0, relay,
    lowLatency: (key) => hub.feed(key),
    source: async (deviceId, stream) => ({
      deviceId, stream, name: cam.spec.name, url: cam.rtspUri(stream), username: cam.spec.username, password: cam.spec.password, encoding: 'H264', record: false,
    }),
    onStateChange: (c) => changes.push(c),
  });
});

afterAll(async () => {
  await manager?.close();
  hub?.close();
  await relay?.close();
  await sim?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function waitFor<T>(fn: () => T | null | undefined | false, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a camera that changes its resolution mid-stream', () => {
  it('restarts the session once and the new init segment describes the new size', async () => {
    await manager.open(D, { viewer: true });
    await waitFor(() => manager.get(D)?.state === 'live' && manager.get(D)?.width === 320, 30_000, 'the session live at 320 wide');
    expect(manager.debug(D)!.spawns).toBe(1);
    const result = await sim.reconfigure(sim.cameras[0]!.spec.id, { width: 480, height: 270 }, { dropSessions: false });
    expect(result.dropped).toBe(false);
    await waitFor(() => manager.get(D)?.state === 'live' && manager.get(D)?.width === 480, 30_000, `the session live at 480 wide (now ${manager.get(D)?.width})`);
    expect(manager.get(D)).toMatchObject({ width: 480, height: 270, codec: 'h264', mode: 'copy' });
    expect(manager.debug(D)!.spawns).toBe(2);
    expect(changes.some((c) => c.deviceId === D && c.reason?.includes('changed its stream settings'))).toBe(true);
    // Once restarted on the new SDP, the stream agrees with its init: no further restarts.
    await new Promise((r) => setTimeout(r, 3000));
    expect(manager.debug(D)!.spawns).toBe(2);
  });
});
