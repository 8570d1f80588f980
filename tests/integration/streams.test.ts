import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { REALM, verifyAuthorization } from '../../gateway/simulator/rtsp-server.ts';
import { encodeTestFile, stopProcessGroup } from '../../gateway/simulator/source.ts';
import type { SimCamera } from '../../gateway/simulator/types.ts';
import { mediaLayout, type MediaLayout } from '../../gateway/streams/layout.ts';
import { createRtspRelay, type MediaRelay } from '../../gateway/streams/rtsp-relay.ts';
import { createSessionManager, SessionLimitError, type SessionManager } from '../../gateway/streams/sessions.ts';
import type { SessionState, StateChange, StreamSource } from '../../gateway/streams/types.ts';

/**
 * Stream sessions against real ffmpeg and the simulator: two 320x180 10 fps cameras looping a
 * pre-encoded file (cheap). cam1 (device A) carries the live, restart and recording checks; faults
 * are switched on cam2 (device B), each test with a fresh session so back-off starts from zero.
 */

let sim: Simulator;
let cam1: SimCamera;
let cam2: SimCamera;
/** A camera with a password no other process on this machine knows (the /proc scan looks for it). */
let cam3: SimCamera;
let relay: MediaRelay;
let work: string;
let layout: MediaLayout;
let manager: SessionManager;
let minFree = 0;
const changes: StateChange[] = [];
const sources = new Map<string, StreamSource>();
const A = randomUUID();
const B = randomUUID();
const log = createLogger({ level: 'silent' });

const sourceFor = (id: string, cam: SimCamera): StreamSource => ({
  deviceId: id, name: cam.spec.name, url: cam.rtspUri('main'), username: cam.spec.username, password: cam.spec.password, encoding: 'H264', record: false, stream: 'main',
});
const lookup = async (id: string) => {
  const s = sources.get(id);
  if (!s) throw new Error('device not found');
  return s;
};

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const stateOf = (m: SessionManager, id: string) => m.get(id)?.state ?? null;
const waitState = (m: SessionManager, id: string, state: SessionState, ms = 20_000) =>
  waitFor(() => stateOf(m, id) === state, ms, `${id} ${state} (now ${stateOf(m, id)} ${m.get(id)?.reason})`);
const changesSince = (mark: number, id: string) => changes.slice(mark).filter((c) => c.deviceId === id);

/** A child process run without blocking the event loop (the simulator serves RTSP from this process). */
function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
  return new Promise((resolve) => {
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

async function ffprobe(target: string): Promise<{ codec_name: string; width: number; height: number }> {
  const live = target.endsWith('.m3u8') ? ['-live_start_index', '0'] : [];
  const r = await run('ffprobe', ['-v', 'error', ...live, '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', target]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).streams[0];
}

/** ffmpeg processes whose command line names this run's media directory. */
function ffmpegsHere(): string[] {
  const r = spawnSync('pgrep', ['-af', work], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}

interface Playlist { sequence: number; segments: { pdt: number; duration: number; uri: string }[] }
function readPlaylist(path: string): Playlist {
  const text = readFileSync(path, 'utf8');
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]);
  const segments = [...text.matchAll(/#EXTINF:([\d.]+),\n#EXT-X-PROGRAM-DATE-TIME:(\S+)\n(\S+)/g)]
    .map((m) => ({ duration: Number(m[1]), pdt: Date.parse(m[2]!.replace(/\+0000$/, 'Z')), uri: m[3]! }));
  return { sequence, segments };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'skynet-streams-test-'));
  const file = join(work, 'loop.h264');
  await encodeTestFile(file, { width: 320, height: 180, fps: 10, seconds: 4 });
  sim = await startSimulator({
    cameras: [
      { width: 320, height: 180, fps: 10, ptz: false, sourceFile: file },
      { width: 320, height: 180, fps: 10, ptz: false, sourceFile: file },
      { width: 320, height: 180, fps: 10, ptz: false, sourceFile: file, password: `relay-${randomBytes(8).toString('hex')}` },
    ],
    idleStopMs: 2000,
  });
  cam1 = sim.cameras[0]!;
  cam2 = sim.cameras[1]!;
  cam3 = sim.cameras[2]!;
  relay = createRtspRelay({ log });
  sources.set(A, sourceFor(A, cam1));
  sources.set(B, sourceFor(B, cam2));
  layout = mediaLayout(work);
  manager = createSessionManager({
    log, layout, maxSessions: 4, idleStopMs: 300_000, minFreeMb: () => minFree, diskRetryMs: 1000,
    source: lookup, onStateChange: (c) => changes.push(c), relay,
  });
});

afterAll(async () => {
  await manager?.close();
  await relay?.close();
  await sim?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('stream sessions (real ffmpeg, simulated cameras)', () => {
  it('plays valid live HLS: h264, advancing segments, program date-time on the wall clock; two viewers, one pull', async () => {
    const [first, second] = await Promise.all([manager.open(A, { viewer: true }), manager.open(A, { viewer: true })]);
    expect(first.deviceId).toBe(A);
    expect(second.viewers).toBe(2);
    expect(await manager.waitForPlaylist(A, 15_000)).toBe(true);
    await waitState(manager, A, 'live');
    expect(cam1.rtspClients()).toBe(1);
    expect(manager.list().filter((s) => s.deviceId === A)).toHaveLength(1);
    expect(manager.get(A)).toMatchObject({ mode: 'copy', recording: false, viewers: 2, restarts: 0 });

    const playlist = layout.livePlaylist(A);
    const p1 = readPlaylist(playlist);
    // A fresh playlist: its newest segment ends about now.
    const m1 = statSync(playlist).mtimeMs;
    await waitFor(() => statSync(playlist).mtimeMs > m1, 5000, 'a playlist update');
    const p2 = readPlaylist(playlist);
    const newest = p2.segments.at(-1)!;
    expect(Math.abs(Date.now() - (newest.pdt + newest.duration * 1000))).toBeLessThan(2000);
    expect(p2.sequence + p2.segments.length).toBeGreaterThan(p1.sequence + p1.segments.length);
    expect(newest.uri).toMatch(/^seg-\d+\.ts$/);
    expect(p2.segments.every((s) => s.duration <= 2.5)).toBe(true);

    expect(await ffprobe(join(layout.liveDir(A), newest.uri))).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
    expect((await ffprobe(playlist)).codec_name).toBe('h264');
    expect(manager.get(A)!.lastSegmentAt).not.toBeNull();
  });

  it('restarts after its ffmpeg is SIGKILLed, with the reason recorded, and is live again on one pull', async () => {
    const before = manager.debug(A)!;
    expect(before.pid).toBeGreaterThan(0);
    // ffmpeg reads the camera through the credential relay: a loopback URL, its one-time token masked.
    expect(before.command).toMatch(/ -i rtsp:\/\/127\.0\.0\.1:\d+\/\*\*\*\/Streaming\/Channels\/101 /);
    expect(before.command).not.toContain(cam1.spec.password);
    const mark = changes.length;
    process.kill(before.pid!, 'SIGKILL');
    await waitFor(() => changesSince(mark, A).some((c) => c.state === 'reconnecting'), 5000, 'reconnecting');
    const failure = changesSince(mark, A).find((c) => c.state === 'reconnecting')!;
    expect(failure.reason).toBe('ffmpeg killed by SIGKILL');
    expect(failure.stderrTail).toBeTruthy();
    expect(failure.stderrTail).not.toContain(cam1.spec.password);
    await waitState(manager, A, 'live');
    const after = manager.debug(A)!;
    expect(after.pid).not.toBe(before.pid);
    expect(after.spawns).toBe(before.spawns + 1);
    await waitFor(() => cam1.rtspClients() === 1, 5000, 'one RTSP client');
  });

  it('records into day directories with UTC names and a segment list, once recording is on', async () => {
    const mark = changes.length;
    await manager.setRecording([A]);
    await waitFor(() => changesSince(mark, A).some((c) => c.reason === 'recording started'), 5000, 'restart for recording');
    await waitState(manager, A, 'live');
    expect(manager.get(A)!.recording).toBe(true);
    const recDir = layout.recDir(A);
    const csvLines = () => readdirSync(recDir).filter((f) => /^segments-\d+\.csv$/.test(f))
      .flatMap((f) => readFileSync(join(recDir, f), 'utf8').split('\n').filter(Boolean));
    await waitFor(() => existsSync(recDir) && csvLines().length > 0, 30_000, 'a closed recording segment');
    const [name, start, end] = csvLines()[0]!.split(',');
    expect(name).toMatch(/^\d{8}T\d{6}Z\.ts$/);
    expect(Number(end)).toBeGreaterThan(Number(start));
    const day = name!.slice(0, 8);
    const file = join(recDir, day, name!);
    expect(statSync(file).size).toBeGreaterThan(0);
    // The name is the segment's UTC start: within a minute of now, read as UTC.
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name!)!;
    const startMs = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    expect(Math.abs(Date.now() - startMs)).toBeLessThan(60_000);
    expect((await ffprobe(file)).codec_name).toBe('h264');

    await manager.setRecording([]);
    await waitFor(() => manager.get(A)?.recording === false, 5000, 'recording off');
  });

  it('reconnects with a reason when the camera drops, and is live again when it is back', async () => {
    await manager.open(B);
    await waitState(manager, B, 'live');
    const mark = changes.length;
    sim.setFault(cam2.spec.id, 'drop', true);
    try {
      await waitFor(() => changesSince(mark, B).some((c) => c.state === 'reconnecting' && !!c.reason), 20_000, 'reconnecting');
    } finally {
      sim.setFault(cam2.spec.id, 'drop', false);
    }
    await waitState(manager, B, 'live', 30_000);
    await manager.stop(B, 'test done');
  });

  it('restarts a stalled camera by segment age', async () => {
    // A 3 s threshold, so the watchdog (not ffmpeg's own 5 s read timeout) is what notices.
    const stallChanges: StateChange[] = [];
    const m3 = createSessionManager({ log, layout, maxSessions: 1, idleStopMs: 300_000, staleAfterMs: 3000, source: lookup, onStateChange: (c) => stallChanges.push(c) });
    try {
      await m3.open(B);
      await waitState(m3, B, 'live');
      sim.setFault(cam2.spec.id, 'stall', true);
      try {
        await waitFor(() => stallChanges.some((c) => c.state === 'reconnecting'), 15_000, 'stale restart');
      } finally {
        sim.setFault(cam2.spec.id, 'stall', false);
      }
      expect(stallChanges.find((c) => c.state === 'reconnecting')!.reason).toMatch(/^no segments for [34] s$/);
      await waitState(m3, B, 'live', 30_000);
    } finally {
      await m3.close();
    }
  });

  it('backs off from a camera that sends garbage: a reason, and few spawns', async () => {
    sim.setFault(cam2.spec.id, 'garbage', true);
    const mark = changes.length;
    try {
      await manager.open(B);
      await new Promise((r) => setTimeout(r, 10_000));
      const failures = changesSince(mark, B).filter((c) => c.state === 'reconnecting' || c.state === 'failed');
      expect(failures.length).toBeGreaterThan(0);
      expect(failures[0]!.reason).toBe('invalid data from camera');
      expect(manager.debug(B)!.spawns).toBeLessThanOrEqual(5);
      expect(['reconnecting', 'failed']).toContain(stateOf(manager, B));
    } finally {
      sim.setFault(cam2.spec.id, 'garbage', false);
      await manager.stop(B, 'test done');
    }
  });

  it('says authentication failed when the camera refuses the credentials', async () => {
    sim.setFault(cam2.spec.id, 'refuse-auth', true);
    const mark = changes.length;
    try {
      await manager.open(B);
      await waitFor(() => changesSince(mark, B).some((c) => c.state === 'failed'), 15_000, 'failed');
      expect(changesSince(mark, B).find((c) => c.state === 'failed')!.reason).toMatch(/authentication/);
    } finally {
      sim.setFault(cam2.spec.id, 'refuse-auth', false);
      await manager.stop(B, 'test done');
    }
  });

  it('degrades when the disk is full and recovers when space returns', async () => {
    minFree = 1e12;
    const mark = changes.length;
    try {
      await manager.open(B);
      await waitFor(() => changesSince(mark, B).some((c) => c.state === 'degraded'), 5000, 'degraded');
      expect(changesSince(mark, B).find((c) => c.state === 'degraded')!.reason).toMatch(/^disk full: \d+ MB free$/);
      expect(manager.debug(B)!.spawns).toBe(0);
    } finally {
      minFree = 0;
    }
    await waitState(manager, B, 'live', 20_000);
    await manager.stop(B, 'test done');
  });

  it('refuses a URL ffmpeg must not open, without spawning', async () => {
    const F = randomUUID();
    sources.set(F, { ...sourceFor(F, cam2), url: 'file:///etc/passwd' });
    await manager.open(F);
    await waitState(manager, F, 'failed', 5000);
    expect(manager.get(F)!.reason).toMatch(/^URL refused/);
    expect(manager.debug(F)!.spawns).toBe(0);
    await manager.stop(F, 'test done');
  });

  it('transcodes a camera that does not send H.264, and says so', async () => {
    // A "camera" serving MPEG-2 video in MPEG-TS over HTTP, one encoder per client.
    const encoders = new Set<ChildProcess>();
    const server: Server = createServer((_req, res) => {
      const enc = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10',
        '-c:v', 'mpeg2video', '-q:v', '5', '-g', '10', '-f', 'mpegts', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
      encoders.add(enc);
      enc.on('exit', () => encoders.delete(enc));
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      enc.stdout!.pipe(res);
      res.on('close', () => void stopProcessGroup(enc, 500));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const D = randomUUID();
    sources.set(D, { deviceId: D, name: 'mpeg2', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cam.ts`, username: null, password: null, encoding: null, record: false, stream: 'main' });
    const mark = changes.length;
    try {
      await manager.open(D);
      await waitState(manager, D, 'live', 30_000);
      expect(manager.get(D)!.mode).toBe('transcode');
      expect(changesSince(mark, D).some((c) => c.mode === 'transcode' && c.reason === 'camera sends mpeg2video, which browsers cannot play: transcoding to H.264')).toBe(true);
      expect(manager.debug(D)!.spawns).toBe(2);
      const newest = readPlaylist(layout.livePlaylist(D)).segments.at(-1)!;
      expect((await ffprobe(join(layout.liveDir(D), newest.uri))).codec_name).toBe('h264');
      // Its cost is in the session state: measured from the ffmpeg's /proc CPU time (a decode and
      // encode at 320×180 10 fps: a few percent of a core, more than nothing).
      await expect.poll(() => manager.get(D)!.cpuPercent, { timeout: 10_000, interval: 250 }).toBeGreaterThan(0);
      expect(manager.get(D)!.cpuPercent).toBeLessThan(200);
    } finally {
      await manager.stop(D, 'test done');
      server.closeAllConnections();
      server.close();
      await Promise.all([...encoders].map((e) => stopProcessGroup(e, 500)));
    }
  });

  it('stops an idle live session, keeps a touched one, and refuses sessions over the limit', async () => {
    const idleChanges: StateChange[] = [];
    const m2 = createSessionManager({ log, layout, maxSessions: 1, idleStopMs: 3000, source: lookup, onStateChange: (c) => idleChanges.push(c) });
    try {
      await m2.open(B, { viewer: true });
      expect(await m2.waitForPlaylist(B, 15_000)).toBe(true);
      await expect(m2.open(A, { viewer: true })).rejects.toBeInstanceOf(SessionLimitError);
      await expect(m2.open(A)).rejects.toThrow('this gateway node is at its limit of 1 sessions');
      expect((await m2.open(B, { viewer: true })).viewers).toBe(2); // joining is not a new session
      // Touched (playlist and segment requests) past the idle timeout: still running.
      for (let i = 0; i < 5; i++) {
        m2.touch(B);
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(m2.get(B)).not.toBeNull();
      expect(m2.get(B)!.state).toBe('live');
      const t0 = Date.now();
      await waitFor(() => m2.get(B) === null, 10_000, 'idle stop');
      expect(Date.now() - t0).toBeGreaterThan(1500);
      await waitFor(() => idleChanges.at(-1)?.state === 'stopped', 5000, 'stopped');
      expect(idleChanges.at(-1)).toMatchObject({ deviceId: B, state: 'stopped', reason: 'idle' });
      await waitFor(() => !existsSync(layout.liveDir(B)), 5000, 'live files removed');
      expect(await m2.waitForPlaylist(B, 100)).toBe(false);
    } finally {
      await m2.close();
    }
  });

  it('stops a session whose device was removed, on reconcile', async () => {
    const R = randomUUID();
    sources.set(R, sourceFor(R, cam2));
    await manager.open(R);
    sources.delete(R);
    const mark = changes.length;
    await manager.reconcile(R);
    expect(manager.get(R)).toBeNull();
    expect(changesSince(mark, R).at(-1)).toMatchObject({ state: 'stopped', reason: 'device removed or disabled: device not found' });
  });

  it('close() stops everything within 5 s and leaves no ffmpeg behind', async () => {
    await manager.open(B);
    await waitState(manager, B, 'live');
    expect(ffmpegsHere().length).toBeGreaterThanOrEqual(2); // A and B
    const t0 = Date.now();
    await manager.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(ffmpegsHere()).toEqual([]);
    expect(manager.list()).toEqual([]);
    await expect(manager.open(A)).rejects.toThrow(/closed/);
  });

  it('kills its ffmpeg process groups when the Node process exits', async () => {
    const marker = `skynet-exit-hook-${randomUUID()}`;
    const script = join(work, 'exit-hook.mts');
    writeFileSync(script, [
      `import { spawnFfmpeg } from ${JSON.stringify(resolve('gateway/streams/ffmpeg.ts'))};`,
      `const p = spawnFfmpeg(['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5', '-metadata', 'title=${marker}', '-f', 'null', '-']);`,
      'const t = setInterval(() => { if (p.pid) { clearInterval(t); console.log(p.pid); setTimeout(() => process.exit(0), 300); } }, 20);',
    ].join('\n'));
    const r = await run(resolve('node_modules/.bin/tsx'), [script], 30_000);
    expect(r.code, r.stderr).toBe(0);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => spawnSync('pgrep', ['-f', marker]).status !== 0, 3000, 'no ffmpeg left');
  });
});

/** Every process on this machine whose command line holds `needle` ("pid: command line"). */
function processesHolding(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmdline: string;
    try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

/** Send one RTSP request on a fresh connection; the answer's head (or '' when the connection closes first). */
function rtspAsk(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const s = connect(port, '127.0.0.1', () => s.write(request));
    const done = () => { s.destroy(); resolve(text); };
    s.setTimeout(5000, done);
    s.on('data', (d: Buffer) => { text += d.toString('latin1'); if (text.includes('\r\n\r\n')) done(); });
    s.on('error', done);
    s.on('close', done);
  });
}

/**
 * A TCP tap in front of a simulated camera that makes it Digest-only (its Basic challenge is taken
 * out of every answer) and keeps what the client sent, to see what went over the wire.
 */
async function digestOnly(cameraPort: number): Promise<{ port: number; sent: () => string; close: () => Promise<void> }> {
  const sent: string[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    const up = connect(cameraPort, '127.0.0.1');
    for (const s of [client, up]) { sockets.add(s); s.on('error', () => {}); s.on('close', () => { sockets.delete(s); client.destroy(); up.destroy(); }); }
    client.on('data', (d: Buffer) => { sent.push(d.toString('latin1')); up.write(d); });
    up.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      client.write(text.includes('WWW-Authenticate: Basic') ? Buffer.from(text.replace(/WWW-Authenticate: Basic[^\r]*\r\n/g, ''), 'latin1') : d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    sent: () => sent.join(''),
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>((r) => server.close(() => r())); },
  };
}

describe('credential relay: camera passwords never reach a process\'s arguments', () => {
  const relayChanges: StateChange[] = [];
  const rport = (url: string) => Number(new URL(url).port);

  it('plays a Digest-only camera through the relay; no command line on the machine holds the password', async () => {
    const tap = await digestOnly(rport(cam3.rtspUri('main')));
    const D = randomUUID();
    sources.set(D, { ...sourceFor(D, cam3), url: `rtsp://127.0.0.1:${tap.port}/Streaming/Channels/101` });
    const m = createSessionManager({ log, layout, maxSessions: 2, idleStopMs: 300_000, source: lookup, onStateChange: (c) => relayChanges.push(c), relay });
    try {
      await m.open(D);
      await waitState(m, D, 'live');
      expect(await m.waitForPlaylist(D, 15_000)).toBe(true);
      // While the session runs: no process's /proc/<pid>/cmdline holds the password.
      expect(processesHolding(cam3.spec.password)).toEqual([]);
      const pid = m.debug(D)!.pid!;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const input = argv[argv.indexOf('-i') + 1]!;
      expect(input).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/Streaming\/Channels\/101$/);
      expect(m.debug(D)!.command).not.toContain(input.split('/')[3]); // the token is masked in what is logged
      // The camera got its own URL and a Digest answer, never the password itself.
      const wire = tap.sent();
      expect(wire).toContain(`DESCRIBE rtsp://127.0.0.1:${tap.port}/Streaming/Channels/101 RTSP/1.0`);
      expect(wire).toMatch(/PLAY rtsp:\/\/127\.0\.0\.1:\d+\/Streaming\/Channels\/101\/? RTSP\/1\.0/);
      expect(wire).toMatch(/Authorization: Digest username="admin", realm="Skynet-Sim"/);
      expect(wire).not.toMatch(/Authorization: Basic/);
      expect(wire).not.toContain(cam3.spec.password);
      expect(wire).not.toContain(input.split('/')[3]);
      // The run's token serves its one connection (ffmpeg's), not a second one.
      expect(await rtspAsk(rport(input), `OPTIONS ${input} RTSP/1.0\r\nCSeq: 1\r\n\r\n`)).toMatch(/^RTSP\/1\.0 404 /);
      const newest = readPlaylist(layout.livePlaylist(D)).segments.at(-1)!;
      expect((await ffprobe(join(layout.liveDir(D), newest.uri))).codec_name).toBe('h264');
    } finally {
      await m.close();
      await tap.close();
    }
  });

  it('reaches an rtsps camera over TLS; ffmpeg reads plain RTSP from the loopback relay', async () => {
    // A TLS front (self-signed, as cameras ship) before the simulated camera.
    const dir = mkdtempSync(join(tmpdir(), 'skynet-tls-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=camera.local', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const { createServer: createTlsServer } = await import('node:tls');
    const handshakes: string[] = [];
    const front = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (tls) => {
      handshakes.push(tls.getProtocol() ?? '');
      const up = connect(rport(cam3.rtspUri('main')), '127.0.0.1');
      tls.pipe(up).pipe(tls);
      for (const x of [tls, up]) x.on('error', () => { tls.destroy(); up.destroy(); });
      tls.on('close', () => up.destroy());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const T = randomUUID();
    sources.set(T, { ...sourceFor(T, cam3), url: `rtsps://127.0.0.1:${(front.address() as AddressInfo).port}/Streaming/Channels/101` });
    const m = createSessionManager({ log, layout, maxSessions: 2, idleStopMs: 300_000, source: lookup, onStateChange: (c) => relayChanges.push(c), relay });
    try {
      await m.open(T);
      await waitState(m, T, 'live', 30_000);
      expect(handshakes[0]).toMatch(/^TLSv1\.[23]$/);
      expect(m.debug(T)!.command).toMatch(/-protocol_whitelist rtsp,rtp,srtp,udp,tcp .* -i rtsp:\/\/127\.0\.0\.1:\d+\/\*\*\*\/Streaming\/Channels\/101 /);
      expect(processesHolding(cam3.spec.password)).toEqual([]);
    } finally {
      await m.close();
      await new Promise<void>((r) => front.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a wrong password is the session\'s reason: the camera\'s authentication failure', async () => {
    const W = randomUUID();
    sources.set(W, { ...sourceFor(W, cam3), password: 'not-the-password' });
    const mark = relayChanges.length;
    const m = createSessionManager({ log, layout, maxSessions: 2, idleStopMs: 300_000, source: lookup, onStateChange: (c) => relayChanges.push(c), relay });
    try {
      await m.open(W);
      await waitFor(() => relayChanges.slice(mark).some((c) => c.deviceId === W && c.state === 'failed'), 20_000, 'failed');
      expect(relayChanges.slice(mark).find((c) => c.deviceId === W && c.state === 'failed')!.reason).toBe('authentication refused by camera');
      expect(cam3.rtspClients()).toBe(0);
    } finally {
      await m.close();
    }
  });

  it('listens on 127.0.0.1 only and refuses a path it did not issue, or one whose run ended', async () => {
    const ticket = (await relay.open({ url: cam3.rtspUri('main'), username: cam3.spec.username, password: cam3.spec.password }))!;
    const url = new URL(ticket.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.username + url.password).toBe('');
    const port = Number(url.port);
    const ask = (uri: string) => rtspAsk(port, `OPTIONS ${uri} RTSP/1.0\r\nCSeq: 7\r\n\r\n`);
    expect(await ask(`rtsp://127.0.0.1:${port}/${randomBytes(24).toString('base64url')}/Streaming/Channels/101`)).toMatch(/^RTSP\/1\.0 404 Not Found\r\nCSeq: 7\r\n/);
    expect(await ask(`rtsp://127.0.0.1:${port}/Streaming/Channels/101`)).toMatch(/^RTSP\/1\.0 404 /);
    expect(await ask(ticket.url)).toMatch(/^RTSP\/1\.0 200 OK\r\nCSeq: 7\r\n/); // the issued path reaches the camera
    ticket.close();
    expect(await ask(ticket.url)).toMatch(/^RTSP\/1\.0 404 /);
    // Not reachable on the machine's other addresses.
    const { networkInterfaces } = await import('node:os');
    const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (other) {
      const refused = await new Promise<string>((resolve) => {
        const s = connect(port, other.address);
        s.on('connect', () => { s.destroy(); resolve('connected'); });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    }
  });

  it('plays an http camera that requires Digest through the relay\'s HTTP path, password off every command line', async () => {
    const password = `http-${randomBytes(8).toString('hex')}`;
    const authorizations: string[] = [];
    const encoders = new Set<ChildProcess>();
    const server: Server = createServer((req, res) => {
      authorizations.push(req.headers.authorization ?? '');
      const ok = verifyAuthorization(req.headers.authorization, { method: req.method ?? 'GET', username: 'admin', password, realm: REALM, nonceValid: () => true });
      if (!ok) {
        res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", nonce="${randomBytes(8).toString('hex')}", qop="auth", algorithm=MD5` }).end();
        return;
      }
      const enc = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '10', '-f', 'mpegts', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
      encoders.add(enc);
      enc.on('exit', () => encoders.delete(enc));
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      enc.stdout!.pipe(res);
      res.on('close', () => void stopProcessGroup(enc, 500));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const H = randomUUID();
    sources.set(H, { deviceId: H, name: 'http', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/live/cam.ts`, username: 'admin', password, encoding: 'H264', record: false, stream: 'main' });
    const m = createSessionManager({ log, layout, maxSessions: 2, idleStopMs: 300_000, source: lookup, onStateChange: (c) => relayChanges.push(c), relay });
    try {
      await m.open(H);
      await waitState(m, H, 'live', 30_000);
      expect(processesHolding(password)).toEqual([]);
      expect(m.debug(H)!.command).toMatch(/ -i http:\/\/127\.0\.0\.1:\d+\/\*\*\*\/live\/cam\.ts /);
      expect(authorizations[0]).toBe('');
      expect(authorizations.find((a) => a.startsWith('Digest '))).toMatch(/^Digest username="admin", .*uri="\/live\/cam\.ts".*qop=auth, nc=00000001/);
      expect(authorizations.join(' ')).not.toContain(password);
    } finally {
      await m.close();
      server.closeAllConnections();
      server.close();
      await Promise.all([...encoders].map((e) => stopProcessGroup(e, 500)));
    }
  });
});
