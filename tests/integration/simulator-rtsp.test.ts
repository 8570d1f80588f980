import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { encodeTestFile, ffmpegMarker } from '../../gateway/simulator/source.ts';
import type { SimCamera } from '../../gateway/simulator/types.ts';
import { streamSize } from '../../gateway/simulator/source.ts';
import { gstPlay, gstPlayedCleanly } from '../helpers/process.ts';

/**
 * The simulator's RTSP side against real clients: ffprobe, ffmpeg, GStreamer, and raw sockets.
 * Two cameras at 320x180, 10 fps: cam1 a live PTZ encode (runs only while a client uses it), cam2 a
 * pre-encoded file looped in real time (the benchmark source; faults are tried on it).
 */


let sim: Simulator;
let cam1: SimCamera; // PTZ
let cam2: SimCamera; // file source; faults are switched on this one
let work: string;

interface Run { code: number | null; stdout: string; stderr: string; ms: number }

/** Run a client in its own process group; killed with it on timeout. Never blocks the event loop. */
function run(cmd: string, args: string[], timeoutMs = 15_000): { done: Promise<Run>; kill: () => void } {
  const t0 = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const kill = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
  const timer = setTimeout(kill, timeoutMs);
  const done = new Promise<Run>((resolve) => {
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: Date.now() - t0 }); });
  });
  return { done, kill };
}

const withCreds = (cam: SimCamera, profile: 'main' | 'sub' = 'main', password = cam.spec.password) =>
  cam.rtspUri(profile).replace('rtsp://', `rtsp://${cam.spec.username}:${encodeURIComponent(password)}@`);

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface RawResponse { status: number; headers: Map<string, string[]>; body: string; raw: Buffer }

/** A bare RTSP client on one TCP connection, for what real clients do not send. */
class RawClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;
  private cseq = 0;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.waiter?.(); });
    socket.on('close', () => { this.closed = true; this.waiter?.(); });
    socket.on('error', () => { /* close follows */ });
  }
  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  write(data: string | Buffer): void { this.socket.write(data); }
  async request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.write(`${lines.join('\r\n')}\r\n\r\n`);
    return this.response();
  }
  /** Next response; skips interleaved frames. */
  async response(ms = 10_000): Promise<RawResponse> {
    const end = Date.now() + ms;
    for (;;) {
      while (this.buf[0] === 0x24 && this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt16BE(2)) {
        this.buf = this.buf.subarray(4 + this.buf.readUInt16BE(2));
      }
      const i = this.buf.indexOf('\r\n\r\n');
      if (i >= 0 && this.buf[0] !== 0x24) {
        const head = this.buf.subarray(0, i).toString();
        const [statusLine, ...rest] = head.split('\r\n');
        const headers = new Map<string, string[]>();
        for (const l of rest) {
          const [k, ...v] = l.split(':');
          const key = k!.trim().toLowerCase();
          headers.set(key, [...(headers.get(key) ?? []), v.join(':').trim()]);
        }
        const len = Number(headers.get('content-length')?.[0] ?? 0);
        if (this.buf.length >= i + 4 + len) {
          const raw = this.buf.subarray(0, i + 4 + len);
          this.buf = this.buf.subarray(i + 4 + len);
          return { status: Number(/^RTSP\/1\.0 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: raw.subarray(i + 4).toString(), raw };
        }
      }
      if (this.closed) throw new Error(`connection closed (${this.buf.length} bytes pending)`);
      const left = end - Date.now();
      if (left <= 0) throw new Error('no response');
      await new Promise<void>((r) => { this.waiter = r; setTimeout(r, Math.min(left, 200)); });
    }
  }
  /** Wait for the server to close the connection. */
  async untilClosed(ms = 5000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await new Promise<void>((r) => { this.waiter = r; setTimeout(r, 100); });
    return this.closed;
  }
  bytes(): number { return this.buf.length; }
  close(): void { this.socket.destroy(); }
}

const basic = (cam: SimCamera, password = cam.spec.password) =>
  `Basic ${Buffer.from(`${cam.spec.username}:${password}`).toString('base64')}`;

function ffmpegLeft(): string[] {
  const r = spawnSync('pgrep', ['-af', ffmpegMarker()], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sim-rtsp-test-'));
  const file = join(work, 'loop.h264');
  await encodeTestFile(file, { width: 320, height: 180, fps: 10, seconds: 2 });
  sim = await startSimulator({
    cameras: [
      { width: 320, height: 180, fps: 10, ptz: true, name: '城关镇人民路口-01' },
      { width: 320, height: 180, fps: 10, ptz: false, sourceFile: file },
    ],
    idleStopMs: 3000,
  });
  cam1 = sim.cameras[0]!;
  cam2 = sim.cameras[1]!;
});

afterAll(async () => {
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('simulator RTSP server', () => {
  it('serves H.264 at the camera size to ffprobe over TCP (Digest auth)', async () => {
    const r = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', withCreds(cam1)]).done;
    expect(r.stderr).toBe('');
    const s = JSON.parse(r.stdout).streams[0];
    expect(s).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
  }, 20_000);

  it('lets ffmpeg pull ≥ 2 s of decodable video, counting it as one client and none after it left', async () => {
    const out = join(work, 'pull.mp4');
    const pull = run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', withCreds(cam1), '-t', '3', '-c', 'copy', '-y', out]);
    await waitFor(() => cam1.rtspClients() === 1, 10_000, 'one RTSP client');
    const r = await pull.done;
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => cam1.rtspClients() === 0, 3000, 'no RTSP client');
    const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames,duration,width,height', '-of', 'json', out]).done;
    const s = JSON.parse(probe.stdout).streams[0];
    expect(Number(s.duration)).toBeGreaterThanOrEqual(2);
    expect(Number(s.nb_read_frames)).toBeGreaterThanOrEqual(20);
    const decode = await run('ffmpeg', ['-v', 'error', '-i', out, '-f', 'null', '-']).done;
    expect(decode.code).toBe(0);
    expect(decode.stderr).toBe('');
  }, 20_000);

  it('serves the sub stream (/102) at the size ONVIF advertises', async () => {
    const r = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', withCreds(cam1, 'sub')]).done;
    const sub = streamSize(cam1.spec, 'sub');
    expect(sub.width).toBeLessThan(cam1.spec.width);
    expect(JSON.parse(r.stdout).streams[0]).toMatchObject({ codec_name: 'h264', width: sub.width, height: sub.height });
  }, 20_000);

  it('loops a pre-encoded file in real time (a 2 s file gives 3 s of video in 3 s)', async () => {
    const out = join(work, 'file.mp4');
    const r = await run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', withCreds(cam2), '-t', '3', '-c', 'copy', '-y', out]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(2500);
    const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames,duration,width,height', '-of', 'json', out]).done;
    const s = JSON.parse(probe.stdout).streams[0];
    expect(s).toMatchObject({ width: 320, height: 180 });
    expect(Number(s.duration)).toBeGreaterThanOrEqual(2.5);
    const decode = await run('ffmpeg', ['-v', 'error', '-i', out, '-f', 'null', '-']).done;
    expect(decode.stderr).toBe('');
  }, 20_000);

  // .ci/run installs gstreamer1.0-tools and gstreamer1.0-plugins-good (rtspsrc, rtph264depay).
  it('plays in GStreamer rtspsrc (a third-party client)', async () => {
    const p = await gstPlay(cam1.rtspUri('main'), cam1.spec.username, cam1.spec.password, ['rtph264depay', '!', 'fakesink', 'num-buffers=30']);
    expect(gstPlayedCleanly(p)).toBeNull();
    await waitFor(() => sim.cameras[0]!.rtspClients() === 0, 5000, 'the client to be gone');
  }, 20_000);

  it('answers a UDP transport with 461 and serves the SDP the spec asks for', async () => {
    const c = await RawClient.open(cam1.rtspPort);
    try {
      const opt = await c.request('OPTIONS', cam1.rtspUri('main'));
      expect(opt.status).toBe(200);
      expect(opt.headers.get('public')?.[0]).toContain('DESCRIBE');
      const d = await c.request('DESCRIBE', cam1.rtspUri('main'), { Authorization: basic(cam1), Accept: 'application/sdp' });
      expect(d.status).toBe(200);
      expect(d.body).toMatch(/a=rtpmap:96 H264\/90000/);
      expect(d.body).toMatch(/a=fmtp:96 packetization-mode=1;profile-level-id=[0-9A-F]{6};sprop-parameter-sets=[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+/);
      expect(d.body).toMatch(/a=framerate:10/);
      expect(d.body).toContain('s=城关镇人民路口-01');
      const udp = await c.request('SETUP', `${cam1.rtspUri('main')}/trackID=1`, {
        Authorization: basic(cam1), Transport: 'RTP/AVP;unicast;client_port=50000-50001',
      });
      expect(udp.status).toBe(461);
      const tcp = await c.request('SETUP', `${cam1.rtspUri('main')}/trackID=1`, {
        Authorization: basic(cam1), Transport: 'RTP/AVP;unicast;client_port=50000-50001,RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      expect(tcp.status).toBe(200);
      expect(tcp.headers.get('transport')?.[0]).toMatch(/^RTP\/AVP\/TCP;unicast;interleaved=0-1/);
      expect(tcp.headers.get('session')?.[0]).toMatch(/;timeout=\d+/);
    } finally {
      c.close();
    }
  }, 20_000);

  it('refuses a wrong password with 401 and a Digest challenge, and ffmpeg fails', async () => {
    const c = await RawClient.open(cam1.rtspPort);
    const r = await c.request('DESCRIBE', cam1.rtspUri('main'), { Authorization: basic(cam1, 'wrong') });
    c.close();
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')?.join('\n')).toMatch(/Digest realm="[^"]+", nonce="[^"]+"/);
    const f = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', withCreds(cam1, 'main', 'wrong')]).done;
    expect(f.code).not.toBe(0);
    expect(f.stderr).toMatch(/401|Unauthorized/);
  }, 20_000);

  it('answers malformed and oversized requests with 400 and keeps serving', async () => {
    const g = await RawClient.open(cam2.rtspPort);
    g.write(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect((await g.response()).status).toBe(400);
    expect(await g.untilClosed()).toBe(true);
    const big = await RawClient.open(cam2.rtspPort);
    big.write(`DESCRIBE ${cam2.rtspUri('main')} RTSP/1.0\r\nX-Pad: ${'a'.repeat(10_000)}`);
    expect((await big.response()).status).toBe(400);
    expect(await big.untilClosed()).toBe(true);
    const noCseq = await RawClient.open(cam2.rtspPort);
    noCseq.write('OPTIONS * RTSP/1.0\r\n\r\n');
    expect((await noCseq.response()).status).toBe(400);
    noCseq.close();
    const ok = await RawClient.open(cam2.rtspPort);
    expect((await ok.request('OPTIONS', '*')).status).toBe(200);
    expect((await ok.request('DESCRIBE', `${cam2.rtspUri('main')}/nope`, { Authorization: basic(cam2) })).status).toBe(404);
    ok.close();
  }, 20_000);

  it('drop: closes the playing client, refuses new connections, recovers when cleared', async () => {
    const pull = run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-timeout', '5000000', '-i', withCreds(cam2), '-t', '15', '-f', 'null', '-']);
    await waitFor(() => cam2.rtspClients() === 1, 10_000, 'one RTSP client');
    sim.setFault(cam2.spec.id, 'drop', true);
    try {
      expect(cam2.rtspClients()).toBe(0);
      const r = await pull.done;
      expect(r.ms).toBeLessThan(10_000);
      const c = await RawClient.open(cam2.rtspPort).catch(() => null);
      if (c) expect(await c.untilClosed(2000)).toBe(true);
    } finally {
      sim.setFault(cam2.spec.id, 'drop', false);
      pull.kill();
    }
    const again = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', withCreds(cam2)]).done;
    expect(again.code, again.stderr).toBe(0);
  }, 20_000);

  it('stall: keeps the connection but sends nothing, so ffmpeg -timeout 2 s gives up', async () => {
    // ffmpeg 5.1's CLI takes a read timeout for the end of the input (exit 0, after retries);
    // -xerror makes it the failure a recorder would see.
    const pull = run('ffmpeg', ['-v', 'error', '-xerror', '-rtsp_transport', 'tcp', '-timeout', '2000000', '-i', withCreds(cam2), '-t', '15', '-f', 'null', '-']);
    try {
      await waitFor(() => cam2.rtspClients() === 1, 10_000, 'one RTSP client');
      await new Promise((r) => setTimeout(r, 500));
      sim.setFault(cam2.spec.id, 'stall', true);
      const t0 = Date.now();
      const r = await pull.done;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/timed out/i);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(cam2.rtspClients()).toBe(0);
    } finally {
      sim.setFault(cam2.spec.id, 'stall', false);
      pull.kill();
    }
  }, 20_000);

  it('garbage: answers with bytes that are not RTSP; refuse-auth: 401 even with the right password', async () => {
    sim.setFault(cam2.spec.id, 'garbage', true);
    try {
      const c = await RawClient.open(cam2.rtspPort);
      c.write(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
      await waitFor(() => c.bytes() > 0, 3000, 'a reply');
      await expect(c.response(300)).rejects.toThrow();
      c.close();
    } finally {
      sim.setFault(cam2.spec.id, 'garbage', false);
    }
    sim.setFault(cam2.spec.id, 'refuse-auth', true);
    try {
      const c = await RawClient.open(cam2.rtspPort);
      expect((await c.request('DESCRIBE', cam2.rtspUri('main'), { Authorization: basic(cam2) })).status).toBe(401);
      c.close();
    } finally {
      sim.setFault(cam2.spec.id, 'refuse-auth', false);
    }
  }, 20_000);

  it('burns the PTZ position into the picture: the overlay follows a move', async () => {
    const main = sim.media(cam1.spec.id)!.main;
    const before = await cam1.snapshot();
    expect(before.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const file = main.ptzFile!;
    expect(readFileSync(file, 'utf8')).toContain('pan +0.000');
    const now = Date.now();
    Object.assign(cam1.ptz, { velocity: { pan: 1, tilt: -1, zoom: 0.5 }, moveStartedAt: now, moveUntil: now + 500 });
    await waitFor(() => readFileSync(file, 'utf8').includes('pan +0.500'), 3000, 'the PTZ overlay to reach the end of the move');
    expect(readFileSync(file, 'utf8')).toBe('PTZ pan +0.500 tilt -0.500 zoom 0.250');
    expect(cam1.ptz.velocity).toBeNull();
    const after = await cam1.snapshot();
    expect(after.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(after.equals(before)).toBe(false);
  }, 20_000);

  it('stops idle encoders and leaves no ffmpeg behind on close', async () => {
    const media = sim.cameras.map((c) => sim.media(c.spec.id)!);
    await waitFor(() => media.every((m) => !m.main.isRunning && !m.sub.isRunning), 8000, 'idle encoders to stop');
    await waitFor(() => ffmpegLeft().length === 0, 3000, 'no simulator ffmpeg');
    await sim.media(cam1.spec.id)!.main.ready(8000); // start one again, then close everything
    expect(ffmpegLeft().length).toBe(1);
    const t0 = Date.now();
    await sim.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(ffmpegLeft()).toEqual([]);
    expect(existsSync(sim.media(cam1.spec.id)!.main.ptzFile!)).toBe(false);
  }, 20_000);
});
