import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { streamKey, type StreamName } from '../../gateway/streams/keys.ts';
import { mediaLayout, type MediaLayout } from '../../gateway/streams/layout.ts';
import { initNumbers, withRunMaps } from '../../gateway/streams/playlist-runs.ts';
import { createRtspRelay, type MediaRelay } from '../../gateway/streams/rtsp-relay.ts';
import { createSessionManager, type SessionManager } from '../../gateway/streams/sessions.ts';
import type { LowLatencySink } from '../../gateway/streams/supervisor.ts';
import type { StateChange, StreamSource } from '../../gateway/streams/types.ts';

/**
 * Cameras as real ones send: a factory-default dome (H.265 main with a 4 s GOP, H.264 sub) through
 * real ffmpeg sessions. H.265 is copied (never transcoded) into fMP4 HLS, the recording keeps H.265,
 * the sub stream is a session of its own, a restart continues the playlist with a discontinuity, and
 * every session's ffmpeg writes fMP4 for the low-latency path on its stdout.
 */

const log = createLogger({ level: 'silent' });
let sim: Simulator;
let relay: MediaRelay;
let work: string;
let layout: MediaLayout;
let manager: SessionManager;
const changes: StateChange[] = [];
const D = randomUUID();
const DEAD = randomUUID();
const sources = new Map<string, StreamSource>();
/** What each session key's ffmpeg wrote on stdout (the low-latency feed), and its start/end calls. */
const feeds = new Map<string, { chunks: Buffer[]; starts: number; ends: string[] }>();
let refusing: TcpServer;

const sink = (key: string): LowLatencySink => {
  const f = { chunks: [] as Buffer[], starts: 0, ends: [] as string[] };
  feeds.set(key, f);
  return {
    start: () => { f.starts++; f.chunks = []; },
    push: (c) => { f.chunks.push(c); },
    end: (reason) => { f.ends.push(reason); },
    info: () => null,
  };
};

async function waitFor<T>(fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const probe = (path: string, entries: string) =>
  spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', entries, '-of', 'json', path], { encoding: 'utf8', timeout: 30_000 });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'skynet-hevc-test-'));
  sim = await startSimulator({
    cameras: [{ id: `hevc-${process.pid}`, name: '出厂默认球机', width: 640, height: 360, fps: 10, ptz: false, factoryDefault: true }],
    idleStopMs: 2000,
  });
  const cam = sim.cameras[0]!;
  const base = { name: cam.spec.name, username: cam.spec.username, password: cam.spec.password };
  sources.set(streamKey(D, 'main'), { ...base, deviceId: D, url: cam.rtspUri('main'), encoding: 'H265', record: true, stream: 'main' });
  sources.set(streamKey(D, 'sub'), { ...base, deviceId: D, url: cam.rtspUri('sub'), encoding: 'H264', record: false, stream: 'sub' });
  // A camera whose port refuses at once (the fastest failure: the back-off is what is measured).
  refusing = createTcpServer((s) => s.destroy());
  await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
  refusing.close();
  const deadPort = (refusing.address() as AddressInfo | null)?.port ?? 9;
  sources.set(streamKey(DEAD, 'main'), { deviceId: DEAD, name: 'dead', url: `rtsp://127.0.0.1:${deadPort}/x`, username: null, password: null, encoding: 'H264', record: false, stream: 'main' });
  relay = createRtspRelay({ log });
  layout = mediaLayout(work);
  manager = createSessionManager({
    log, layout, maxSessions: 6, idleStopMs: 300_000, minFreeMb: () => 0, relay, lowLatency: sink,
    source: async (deviceId: string, stream: StreamName) => {
      const s = sources.get(streamKey(deviceId, stream));
      if (!s) throw new Error('no such stream');
      return s;
    },
    onStateChange: (c) => changes.push(c),
  });
});

afterAll(async () => {
  await manager?.close();
  await relay?.close();
  await sim?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('H.265 cameras and sub streams (real ffmpeg, simulated factory-default dome)', () => {
  it('copies the H.265 main stream into fMP4 HLS and records it in H.265: no transcode', async () => {
    await manager.setRecording([D]);
    await manager.open(D, { viewer: true });
    await waitFor(() => manager.get(D)?.state === 'live', 40_000, 'the H.265 session to go live');
    expect(manager.get(D)).toMatchObject({ stream: 'main', mode: 'copy', codec: 'hevc', transcodeReason: null, recording: true });
    expect(manager.debug(D)!.command).not.toContain('libx264');
    expect(manager.debug(D)!.command).toContain('hvc1');
    expect(manager.transcodes().running).toBe(0);

    const dir = layout.liveDir(D);
    const playlist = readFileSync(layout.livePlaylist(D), 'utf8');
    const init = /#EXT-X-MAP:URI="(init-\d+\.mp4)"/.exec(playlist)?.[1];
    expect(init).toBeTruthy();
    const seg = playlist.split('\n').find((l) => l.endsWith('.m4s'))!;
    const joined = join(work, 'probe.mp4');
    writeFileSync(joined, Buffer.concat([readFileSync(join(dir, init!)), readFileSync(join(dir, seg))]));
    const p = JSON.parse(probe(joined, 'stream=codec_name,codec_tag_string,width,height').stdout) as { streams: { codec_name: string; codec_tag_string: string; width: number }[] };
    expect(p.streams[0]).toMatchObject({ codec_name: 'hevc', codec_tag_string: 'hvc1', width: 640 });

    // The recording: closed 10 s MPEG-TS segments in the camera's own codec, decodable by GStreamer's avdec_h265.
    const recDir = layout.recDir(D);
    const recorded = await waitFor(() => {
      const days = readdirSync(recDir).filter((d) => /^\d{8}$/.test(d));
      const files = days.flatMap((d) => readdirSync(join(recDir, d)).map((f) => join(recDir, d, f)));
      const csv = readdirSync(recDir).filter((f) => f.endsWith('.csv')).map((f) => readFileSync(join(recDir, f), 'utf8')).join('');
      return files.find((f) => csv.includes(f.split('/').pop()!)) ?? null;
    }, 40_000, 'a closed recording segment');
    expect(JSON.parse(probe(recorded, 'stream=codec_name').stdout).streams[0].codec_name).toBe('hevc');
    const gst = spawnSync('gst-launch-1.0', ['-q', 'filesrc', `location=${recorded}`, '!', 'tsdemux', '!', 'h265parse', '!', 'avdec_h265', '!', 'fakesink'], { encoding: 'utf8', timeout: 60_000 });
    expect(gst.status, gst.stderr).toBe(0);
  });

  it('writes the low-latency fMP4 (ftyp, moov, then fragments) on the session\'s stdout', async () => {
    const feed = await waitFor(() => {
      const f = feeds.get(D);
      return f && Buffer.concat(f.chunks).length > 50_000 ? f : null;
    }, 20_000, 'low-latency bytes');
    const bytes = Buffer.concat(feed.chunks);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(bytes.includes(Buffer.from('hvc1'))).toBe(true);
    expect(bytes.includes(Buffer.from('moof'))).toBe(true);
    expect(feed.starts).toBe(1);
  });

  it('runs the sub stream as a session of its own: H.264 at the sub size, its own directory, never recording', async () => {
    const key = streamKey(D, 'sub');
    await manager.open(key, { viewer: true });
    await waitFor(() => manager.get(key)?.state === 'live', 30_000, 'the sub session to go live');
    expect(manager.get(key)).toMatchObject({ deviceId: D, stream: 'sub', mode: 'copy', codec: 'h264', recording: false });
    expect(manager.get(D)!.stream).toBe('main');
    const playlist = readFileSync(layout.livePlaylist(key), 'utf8');
    const seg = playlist.split('\n').find((l) => l.endsWith('.ts'))!;
    const p = JSON.parse(probe(join(layout.liveDir(key), seg), 'stream=codec_name,width').stdout) as { streams: { codec_name: string; width: number }[] };
    expect(p.streams[0]!.codec_name).toBe('h264');
    expect(p.streams[0]!.width).toBeLessThan(640);
    expect(manager.debug(key)!.command).not.toContain('-f segment');
    await manager.stop(key, 'test');
  });

  it('continues the playlist across an ffmpeg restart: EXT-X-DISCONTINUITY, numbers rising, each run with its own init segment', async () => {
    const before = readFileSync(layout.livePlaylist(D), 'utf8');
    const seqBefore = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(before)![1]);
    const pid = manager.debug(D)!.pid!;
    process.kill(pid, 'SIGKILL');
    const after = await waitFor(() => {
      const text = readFileSync(layout.livePlaylist(D), 'utf8');
      return manager.debug(D)?.pid !== pid && text.includes('#EXT-X-DISCONTINUITY') && /#EXT-X-DISCONTINUITY\n#EXTINF[^\n]*\n(#[^\n]*\n)*seg-\d+\.m4s/.test(text) ? text : null;
    }, 40_000, 'the restarted run to append after a discontinuity');
    const seqAfter = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(after)![1]);
    expect(seqAfter).toBeGreaterThanOrEqual(seqBefore);
    const served = withRunMaps(after, await initNumbers(layout.liveDir(D)));
    expect(served.match(/#EXT-X-MAP:/g)!.length).toBe(2);
    expect(feeds.get(D)!.starts).toBe(2);
    expect(feeds.get(D)!.ends.length).toBeGreaterThanOrEqual(1);
  });

  it('backs a dead camera off and retries at once when the health checker says it is back', async () => {
    manager.setHealth(DEAD, 'offline');
    await manager.open(DEAD);
    await waitFor(() => (manager.debug(DEAD)?.failures ?? 0) >= 3, 20_000, 'three failures');
    const spawns = manager.debug(DEAD)!.spawns;
    // Now waiting 8 s (then 16, 32 … up to 5 minutes): the judgement "online" cuts the wait short.
    manager.setHealth(DEAD, 'online');
    await waitFor(() => manager.debug(DEAD)!.spawns > spawns, 2500, 'an immediate retry');
    await manager.stop(DEAD, 'test');
  });
});
