import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { createLowLatencyHub, type LowLatencyHub } from '../../gateway/lowlat/hub.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { streamKey } from '../../gateway/streams/keys.ts';
import { mediaLayout, type MediaLayout } from '../../gateway/streams/layout.ts';
import { createRtspRelay, type MediaRelay } from '../../gateway/streams/rtsp-relay.ts';
import { createSessionManager, type SessionManager } from '../../gateway/streams/sessions.ts';
import { liveSegments } from '../../gateway/streams/supervisor.ts';
import type { StateChange, StreamSource } from '../../gateway/streams/types.ts';

/**
 * The compat transcode: for a browser that decodes neither an H.265 main stream nor a sub stream,
 * the gateway transcodes the main stream to H.264, capped, reading the main session's
 * low-latency feed (no second RTSP connection to the camera), counted against the node's
 * transcode limit, its cost in the session state, restarted when the main session restarts.
 */

const log = createLogger({ level: 'silent' });
let sim: Simulator;
let relay: MediaRelay;
let hub: LowLatencyHub;
let work: string;
let layout: MediaLayout;
let manager: SessionManager;
const changes: StateChange[] = [];
const D = randomUUID();
const E = randomUUID();
const sources = new Map<string, StreamSource>();

const probe = (path: string) => JSON.parse(spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,height', '-of', 'json', path],
  { encoding: 'utf8', timeout: 30_000 }).stdout) as { streams: { codec_name: string; height: number }[] };

async function waitLive(key: string, ms = 40_000) {
  await expect.poll(() => manager.get(key)?.state, { timeout: ms, interval: 200 }).toBe('live');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'skynet-compat-test-'));
  sim = await startSimulator({
    cameras: [{ id: `compat-${process.pid}`, name: 'H.265 球机', width: 640, height: 360, fps: 10, ptz: false, codec: 'h265', gopSeconds: 2 }],
    idleStopMs: 2000,
  });
  const cam = sim.cameras[0]!;
  for (const id of [D, E]) {
    sources.set(id, { deviceId: id, name: cam.spec.name, url: cam.rtspUri('main'), username: cam.spec.username, password: cam.spec.password, encoding: 'H265', record: false, stream: 'main' });
  }
  relay = createRtspRelay({ log });
  hub = createLowLatencyHub({ log, pingIntervalMs: 0 });
  layout = mediaLayout(work);
  manager = createSessionManager({
    log, layout, maxSessions: 6, idleStopMs: 300_000, minFreeMb: () => 0, relay,
    maxTranscodes: 1, transcode: { maxHeight: 240, maxFps: 5 },
    lowLatency: (key) => hub.feed(key), tap: (key) => ({ open: (sink) => hub.tap(key, sink) }),
    source: async (deviceId, stream) => {
      const s = stream === 'main' ? sources.get(deviceId) : undefined;
      if (!s) throw new Error('no such stream');
      return s;
    },
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

describe('the compat transcode of an H.265 main stream', () => {
  const compat = streamKey(D, 'compat');

  it('transcodes the main session\'s feed to capped H.264, with one RTSP connection to the camera', async () => {
    const info = await manager.open(compat, { viewer: true });
    expect(info.stream).toBe('compat');
    await waitLive(compat);
    // The main stream runs as its own session (copied, H.265), and the camera sees it alone.
    expect(manager.get(D)).toMatchObject({ stream: 'main', mode: 'copy', codec: 'hevc', state: 'live' });
    expect(sim.cameras[0]!.rtspClients()).toBe(1);
    expect(manager.get(compat)).toMatchObject({ mode: 'transcode', codec: 'h264', transcodeReason: expect.stringContaining('decodes neither') });
    expect(manager.transcodes()).toEqual({ running: 1, limit: 1 });

    const segs = await liveSegments(layout, compat);
    expect(segs.length).toBeGreaterThan(0);
    expect(probe(join(layout.liveDir(compat), segs.at(-1)!)).streams[0]).toEqual({ codec_name: 'h264', height: 240 });
    // The low-latency path of the compat stream carries H.264 as well.
    await expect.poll(() => hub.feed(compat).info()?.codec ?? null, { timeout: 10_000 }).toMatch(/^avc1\./);
    await expect.poll(() => manager.get(compat)!.cpuPercent ?? 0, { timeout: 10_000, interval: 250 }).toBeGreaterThan(0);
  });

  it('takes the node\'s transcode slot: a second one fails with the limit named', async () => {
    await manager.open(streamKey(E, 'compat'), { viewer: true });
    await expect.poll(() => manager.get(streamKey(E, 'compat'))?.reason ?? null, { timeout: 20_000, interval: 200 })
      .toBe('this gateway node is at its limit of transcoding sessions');
    expect(manager.get(streamKey(E, 'compat'))!.state).not.toBe('live');
    await manager.stop(streamKey(E, 'compat'), 'test done');
    await manager.stop(E, 'test done');
  });

  it('starts over when the main session restarts, and plays again', async () => {
    const spawns = manager.debug(compat)!.spawns;
    manager.restart(D, 'test: main restarted');
    await expect.poll(() => manager.debug(compat)!.spawns, { timeout: 20_000, interval: 200 }).toBeGreaterThan(spawns);
    expect(changes.some((c) => c.stream === 'compat' && c.reason?.startsWith('main stream:'))).toBe(true);
    await waitLive(compat);
    await expect.poll(async () => {
      const segs = await liveSegments(layout, compat);
      return segs.length > 0 ? probe(join(layout.liveDir(compat), segs.at(-1)!)).streams[0]?.codec_name : null;
    }, { timeout: 20_000, interval: 500 }).toBe('h264');
  });

  it('stops with its main session when the device goes', async () => {
    sources.delete(D);
    await manager.reconcile(D);
    expect(manager.get(compat)).toBeNull();
    expect(manager.get(D)).toBeNull();
    expect(manager.transcodes().running).toBe(0);
  });
});
