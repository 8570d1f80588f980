import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeOnvifSessions, probeDevice } from '../../gateway/onvif/onvif-client.ts';
import { readCaptureTimeAnnexB } from '../../gateway/simulator/capture-sei.ts';
import { SimSpecError } from '../../gateway/simulator/encoding.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { ffmpegMarker } from '../../gateway/simulator/source.ts';
import type { SimCamera } from '../../gateway/simulator/types.ts';
import { run, withCreds } from '../helpers/process.ts';

/**
 * A camera reconfigured from its web page (Simulator.reconfigure): a size change reaches a connected
 * RTSP client in band (new SPS/PPS and keyframe, same session, RTP continuous, decodable across the
 * change); a GOP change with dropSessions closes the sessions like an encoder reboot; a codec change
 * always does; fresh clients and the ONVIF profiles see the new encoding. One H.264 camera at
 * 320x180, 10 fps, changed step by step (the tests run in order).
 */

let sim: Simulator;
let cam: SimCamera;
let work: string;

const basic = (c: SimCamera) => `Basic ${Buffer.from(`${c.spec.username}:${c.spec.password}`).toString('base64')}`;

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function probeStream(c: SimCamera): Promise<Record<string, unknown>> {
  const r = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', withCreds(c)]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).streams[0];
}

interface Picture { nals: Buffer[]; seq: number[]; ts: number }

/**
 * A bare RTSP client that plays the H.264 main stream over TCP and depacketizes RFC 6184 (single NAL
 * units and FU-A, what the simulator sends) into access units: it sees every NAL the camera sends.
 */
class Player {
  private buf = Buffer.alloc(0);
  private cseq = 0;
  private answer: ((head: string, body: string) => void) | null = null;
  private fu: Buffer[] = [];
  private current: Picture = { nals: [], seq: [], ts: 0 };
  readonly pictures: Picture[] = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => { /* close follows */ });
  }

  static async play(c: SimCamera): Promise<Player> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(c.rtspPort, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const p = new Player(socket);
    const uri = c.rtspUri('main');
    expect((await p.request('DESCRIBE', uri, { Authorization: basic(c), Accept: 'application/sdp' })).head).toMatch(/^RTSP\/1\.0 200/);
    const setup = await p.request('SETUP', `${uri}/trackID=1`, { Authorization: basic(c), Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    const session = /session: *([^;\r\n]+)/i.exec(setup.head)?.[1];
    expect(session).toBeTruthy();
    expect((await p.request('PLAY', uri, { Authorization: basic(c), Session: session! })).head).toMatch(/^RTSP\/1\.0 200/);
    return p;
  }

  /** The SPS NAL units received, in order, without repeats. */
  spsChanges(): Buffer[] {
    const out: Buffer[] = [];
    for (const pic of this.pictures) {
      for (const n of pic.nals) if ((n[0]! & 0x1f) === 7 && !out.at(-1)?.equals(n)) out.push(n);
    }
    return out;
  }

  annexB(): Buffer {
    return Buffer.concat(this.pictures.flatMap((p) => p.nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n])));
  }

  close(): void { this.socket.destroy(); }

  private request(method: string, uri: string, headers: Record<string, string>): Promise<{ head: string; body: string }> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to ${method}`)), 10_000);
      this.answer = (head, body) => { clearTimeout(t); resolve({ head, body }); };
      this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4 || this.buf.length < 4 + this.buf.readUInt16BE(2)) return;
        const len = this.buf.readUInt16BE(2);
        if (this.buf[1] === 0) this.onRtp(this.buf.subarray(4, 4 + len));
        this.buf = this.buf.subarray(4 + len);
        continue;
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString();
      const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + len) return;
      const body = this.buf.subarray(end + 4, end + 4 + len).toString();
      this.buf = this.buf.subarray(end + 4 + len);
      this.answer?.(head, body);
      this.answer = null;
    }
  }

  private onRtp(p: Buffer): void {
    const marker = (p[1]! & 0x80) !== 0;
    const payload = p.subarray(12);
    this.current.seq.push(p.readUInt16BE(2));
    this.current.ts = p.readUInt32BE(4);
    const type = payload[0]! & 0x1f;
    if (type === 28) {
      if (payload[1]! & 0x80) this.fu = [Buffer.from([(payload[0]! & 0xe0) | (payload[1]! & 0x1f)])];
      this.fu.push(payload.subarray(2));
      if (payload[1]! & 0x40) this.current.nals.push(Buffer.concat(this.fu));
    } else {
      this.current.nals.push(Buffer.from(payload));
    }
    if (marker) {
      this.pictures.push(this.current);
      this.current = { nals: [], seq: [], ts: 0 };
    }
  }
}

function ffmpegLeft(): string[] {
  const r = spawnSync('pgrep', ['-af', ffmpegMarker()], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}

const isKeyframe = (p: Picture) => p.nals.some((n) => (n[0]! & 0x1f) === 5);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sim-reconfigure-test-'));
  sim = await startSimulator({ cameras: [{ id: 'web-cam', width: 320, height: 180, fps: 10, ptz: false }], idleStopMs: 1500 });
  cam = sim.cameras[0]!;
});

afterAll(async () => {
  closeOnvifSessions();
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a camera reconfigured from its web page', () => {
  it('sends a new size in band to a connected client: same session, new SPS, continuous RTP, decodable across the change', async () => {
    const player = await Player.play(cam);
    try {
      await waitFor(() => player.pictures.length >= 12, 10_000, '12 pictures before');
      const result = await sim.reconfigure('web-cam', { width: 480, height: 270 });
      expect(result).toMatchObject({ dropped: false, droppedSessions: 0, changed: ['main', 'sub'] });
      expect(result.spec).toMatchObject({ width: 480, height: 270, fps: 10 });
      const before = player.pictures.length;
      await waitFor(() => player.pictures.length >= before + 15, 10_000, '15 pictures after');
      expect(player.closed).toBe(false);
      expect(cam.rtspClients()).toBe(1);

      // Two SPS: the old encoder's, then the new one's, which is the one a fresh DESCRIBE advertises.
      const sps = player.spsChanges();
      expect(sps).toHaveLength(2);
      const fresh = await run('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', withCreds(cam)]);
      expect(JSON.parse(fresh.stdout).streams[0]).toMatchObject({ codec_name: 'h264', width: 480, height: 270 });

      // One RTP session throughout: sequence numbers without a gap, timestamps increasing, a keyframe right after the change.
      const seq = player.pictures.flatMap((p) => p.seq);
      for (let i = 1; i < seq.length; i++) expect(seq[i], `packet ${i}`).toBe((seq[i - 1]! + 1) & 0xffff);
      const ts = player.pictures.map((p) => p.ts);
      for (let i = 1; i < ts.length; i++) {
        const step = (ts[i]! - ts[i - 1]!) >>> 0; // modulo 2^32: RTP timestamps wrap
        expect(step > 0 && step < 90_000, `picture ${i}: +${step}`).toBe(true);
      }
      const firstNew = player.pictures.findIndex((p) => p.nals.some((n) => n.equals(sps[1]!)));
      expect(isKeyframe(player.pictures[firstNew]!)).toBe(true);
      // Every picture, old and new, carries its capture time.
      const times = player.pictures.map((p) => readCaptureTimeAnnexB(Buffer.concat(p.nals.flatMap((n) => [Buffer.from([0, 0, 1]), n])), 'h264'));
      expect(times.every((t) => t !== null)).toBe(true);

      // What the client received decodes as one stream that changes size.
      const file = join(work, 'in-band.h264');
      writeFileSync(file, player.annexB());
      const frames = await run('ffprobe', ['-v', 'error', '-show_entries', 'frame=width,height', '-of', 'json', file]);
      expect(frames.code, frames.stderr).toBe(0);
      const decoded = (JSON.parse(frames.stdout).frames as { width: number; height: number }[]).map((f) => `${f.width}x${f.height}`);
      expect(decoded.length).toBeGreaterThanOrEqual(player.pictures.length - 1);
      expect([...new Set(decoded)]).toEqual(['320x180', '480x270']);
    } finally {
      player.close();
    }
  }, 60_000);

  it('reports the new size to the gateway\'s ONVIF probe, the sub stream following it', async () => {
    const r = await probeDevice({ host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password, timeoutMs: 5000 });
    expect(r.profiles.map(({ rtspUri: _u, snapshotUri: _s, ...p }) => p)).toEqual([
      { token: 'Profile_101', name: 'mainStream', encoding: 'H264', width: 480, height: 270, fps: 10, gop: 10 },
      { token: 'Profile_102', name: 'subStream', encoding: 'H264', width: 240, height: 136, fps: 10, gop: 10 },
    ]);
  }, 20_000);

  it('closes running sessions like an encoder reboot when asked (dropSessions), and encodes the new GOP', async () => {
    const player = await Player.play(cam);
    try {
      await waitFor(() => player.pictures.length >= 3, 10_000, 'pictures');
      const result = await sim.reconfigure('web-cam', { gopSeconds: 2 }, { dropSessions: true });
      expect(result).toMatchObject({ dropped: true, droppedSessions: 1, changed: ['main', 'sub'] });
      await waitFor(() => player.closed, 5000, 'the session to close');
    } finally {
      player.close();
    }
    const after = await Player.play(cam);
    try {
      await waitFor(() => after.pictures.filter(isKeyframe).length >= 2, 15_000, 'two keyframes');
      const keys = after.pictures.map((p, i) => (isKeyframe(p) ? i : -1)).filter((i) => i >= 0);
      expect(keys[1]! - keys[0]!).toBe(20);
    } finally {
      after.close();
    }
    const r = await probeDevice({ host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password, timeoutMs: 5000 });
    expect(r.profiles.map((p) => p.gop)).toEqual([20, 20]);
  }, 40_000);

  it('drops the sessions for a codec change even when asked not to (the SDP names the codec), then serves H.265', async () => {
    const player = await Player.play(cam);
    try {
      await waitFor(() => player.pictures.length >= 3, 10_000, 'pictures');
      const result = await sim.reconfigure('web-cam', { codec: 'h265' }, { dropSessions: false });
      expect(result).toMatchObject({ dropped: true, droppedSessions: 1, changed: ['main'] });
      await waitFor(() => player.closed, 5000, 'the session to close');
    } finally {
      player.close();
    }
    expect(await probeStream(cam)).toMatchObject({ codec_name: 'hevc', width: 480, height: 270 });
    const r = await probeDevice({ host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password, timeoutMs: 5000 });
    expect(r.profiles.map((p) => [p.encoding, p.width, p.height, p.gop])).toEqual([['H265', 480, 270, 20], ['H264', 240, 136, 20]]);
  }, 40_000);

  it('refuses a value the camera cannot take before changing anything, and serialises concurrent changes', async () => {
    const before = cam.spec;
    await expect(sim.reconfigure('web-cam', { width: 481 })).rejects.toMatchObject({ code: 'sim.invalid_spec', field: 'width' });
    await expect(sim.reconfigure('web-cam', { gopSeconds: 0 })).rejects.toBeInstanceOf(SimSpecError);
    await expect(sim.reconfigure('no-such-cam', { fps: 5 })).rejects.toThrow('no simulated camera no-such-cam');
    expect(cam.spec).toBe(before);
    const [a, b] = await Promise.all([sim.reconfigure('web-cam', { fps: 5 }), sim.reconfigure('web-cam', { fps: 8 })]);
    expect([a.spec.fps, b.spec.fps, cam.spec.fps]).toEqual([5, 8, 8]);
    expect(b.spec.codec).toBe('h265');
  }, 20_000);

  it('changes an idle camera without starting its encoders, and leaves no ffmpeg behind on close', async () => {
    const media = sim.media('web-cam')!;
    await waitFor(() => !media.main.isRunning && !media.sub.isRunning, 10_000, 'the encoders to stop when idle');
    const result = await sim.reconfigure('web-cam', { width: 320, height: 180 });
    expect(result.changed).toEqual(['main', 'sub']);
    expect(media.main.isRunning || media.sub.isRunning).toBe(false);
    expect(media.main.config).toMatchObject({ codec: 'h265', width: 320, height: 180, fps: 8, gopFrames: 16 });
    await sim.close();
    expect(ffmpegLeft()).toEqual([]);
  }, 20_000);
});
