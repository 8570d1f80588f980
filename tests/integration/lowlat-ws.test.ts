import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../core/http/app.ts';
import { identityGuard } from '../../core/identity/guard.ts';
import type { IdentityService } from '../../core/identity/service.ts';
import { createLogger } from '../../core/log.ts';
import { createFmp4Reader, parseFragment, parseInit, type InitInfo } from '../../gateway/lowlat/fmp4.ts';
import { createLowLatencyHub, HEADER_BYTES, VIEWER_HIGH_WATER_BYTES, type LowLatencyHub, type WebSocketLike } from '../../gateway/lowlat/hub.ts';
import { lowLatencyRoutes } from '../../gateway/lowlat/routes.ts';
import { streamKey } from '../../gateway/streams/keys.ts';
import { createMediaAuth, mintMediaToken } from '../../gateway/streams/media-auth.ts';
import type { SessionInfo } from '../../gateway/streams/types.ts';

// The low-latency WebSocket end to end: a listening Fastify app with the guard, the real media
// auth (signed tokens, a keyring of one key) and the lowlat routes; real `ws` clients; the hub fed
// by real ffmpeg writing fMP4 on its stdout at the live rate (-re). Refusals before the upgrade,
// what a viewer gets first, a client that sends, a stalled client while 10+ MB go by.

interface WsClient {
  readyState: number;
  send(data: string | Buffer): void;
  close(code?: number): void;
  terminate(): void;
  on(event: string, listener: (...args: any[]) => void): void;
  _socket: import('node:net').Socket;
}
type WsCtor = new (url: string) => WsClient;
const WS = createRequire(import.meta.url)('ws') as WsCtor;
const run = promisify(execFile);

type Message = { text: Record<string, any> } | { kind: number; at: number; payload: Buffer; receivedAt: number };

interface Client {
  ws: WsClient;
  messages: Message[];
  next(pred: (m: Message) => boolean, timeoutMs?: number): Promise<Message>;
  closed: Promise<{ code: number; reason: string }>;
}

const DEVICE = randomUUID();
const OTHER = randomUUID();
const NO_SESSION = randomUUID();
const NOISY = randomUUID();
const KEY = streamKey(DEVICE, 'main');
const NOISY_KEY = streamKey(NOISY, 'main');
const key = randomBytes(32);
const signer = { signing: async () => ({ kid: 'k1', key }) };
const lines: string[] = [];
const touches = new Map<string, number>();
const sessions = new Map<string, SessionInfo>();
/** The server side of each attached socket, by key (the hub's own, seen through a wrapper). */
const attached: { key: string; socket: WebSocketLike }[] = [];
const procs: ChildProcess[] = [];
let hub: LowLatencyHub;
let app: App;
let appClosed = false;
let base: string;
let dir: string;
let noiseClip: string;

const session = (deviceId: string): SessionInfo => ({
  deviceId, stream: 'main', state: 'live', reason: null, mode: 'copy', codec: 'h264', codecString: null, width: null, height: null,
  transcodeReason: null, cpuPercent: null, recording: false, startedAt: null, lastSegmentAt: null, restarts: 0, viewers: 0,
});
const token = async (deviceId: string, o: { seconds?: number; now?: number; userId?: string } = {}) =>
  (await mintMediaToken(signer, { userId: o.userId ?? 'u1', deviceId, scope: 'live', ...(o.seconds ? { seconds: o.seconds } : {}) }, o.now)).token;
const wsUrl = (deviceId: string, t: string | null, stream = 'main') => `${base.replace('http', 'ws')}/media/live/${deviceId}/ws?${t === null ? '' : `token=${encodeURIComponent(t)}&`}stream=${stream}`;

function connect(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WS(url);
    const messages: Message[] = [];
    const waiters: { pred: (m: Message) => boolean; done: (m: Message) => void }[] = [];
    let onClose!: (v: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((r) => { onClose = r; });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m: Message = isBinary
        ? { kind: data[0]!, at: data.readDoubleBE(1), payload: data.subarray(HEADER_BYTES), receivedAt: Date.now() }
        : { text: JSON.parse(data.toString()) as Record<string, any> };
      messages.push(m);
      for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.done(m); }
    });
    ws.on('close', (code: number, reason: Buffer) => onClose({ code, reason: reason.toString() }));
    // A refused upgrade: its status and error body, once the server has closed the connection.
    ws.on('unexpected-response', (req: { socket: import('node:net').Socket }, res: import('node:http').IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      const t = setTimeout(() => { req.socket.destroy(); reject(Object.assign(new Error('left open'), { status: -2 })); }, 3000);
      req.socket.once('close', () => {
        clearTimeout(t);
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: body ? JSON.parse(body) as Record<string, unknown> : null }));
      });
    });
    ws.on('error', (err: Error) => reject(err));
    ws.on('open', () => resolve({
      ws, messages, closed,
      next(pred, timeoutMs = 10_000) {
        const seen = messages.find(pred);
        if (seen) return Promise.resolve(seen);
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error(`no matching message in ${timeoutMs} ms; got ${messages.length}`)), timeoutMs);
          waiters.push({ pred, done: (m) => { clearTimeout(t); res(m); } });
        });
      },
    }));
  });
}
const refusal = (p: Promise<unknown>) => p.then(() => ({ status: 0, body: null }), (err: { status?: number; body?: Record<string, unknown> | null }) => ({ status: err.status ?? -1, body: err.body ?? null }));
const isText = (type: string) => (m: Message) => 'text' in m && m.text.type === type;
const binaries = (c: Client) => c.messages.filter((m): m is Extract<Message, { kind: number }> => 'kind' in m);

/** An ffmpeg writing the session's fMP4 on stdout into the hub (and into a reader of the test's own, for sizes). */
function feedFrom(k: string, input: string[], seen?: { sizes: number[]; durationsMs: number[] }) {
  const feed = hub.feed(k);
  feed.start({ stream: 'main', mode: 'copy' });
  const proc = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', ...input, '-an',
    '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '100000', '-flush_packets', '1', 'pipe:1',
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(proc);
  const reader = createFmp4Reader();
  let info: InitInfo | null = null;
  let bytes = 0;
  proc.stdout!.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    feed.push(chunk);
    if (!seen) return;
    for (const e of reader.push(chunk)) {
      if (e.type === 'init') info = e.info;
      if (e.type === 'fragment' && info) {
        seen.sizes.push(e.fragment.byteLength);
        seen.durationsMs.push((e.fragment.duration / info.timescale) * 1000);
      }
    }
  });
  return { proc, bytes: () => bytes, stop: () => { proc.kill('SIGKILL'); feed.end('ffmpeg stopped'); } };
}

const waitUntil = async (fn: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

let small: ReturnType<typeof feedFrom>;
const smallSeen = { sizes: [] as number[], durationsMs: [] as number[] };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lowlat-'));
  // A clip of incompressible noise (~10 MB/s), looped at the live rate for the stalled client: 10+ MB in about a second.
  noiseClip = join(dir, 'noise.mp4');
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-vf', 'noise=alls=60:allf=t', '-t', '2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '25', '-bf', '0', '-y', noiseClip]);
  const log = createLogger({ level: 'debug' }, { write: (s: string) => { lines.push(s); } });
  const real = createLowLatencyHub({ log });
  hub = { ...real, attach: (k, socket, viewer) => { attached.push({ key: k, socket }); real.attach(k, socket, viewer); } };
  const auth = createMediaAuth({ keys: { verifying: async (kid) => (kid === 'k1' ? key : null) }, revocations: { revokedAt: () => null } });
  sessions.set(KEY, session(DEVICE));
  sessions.set(NOISY_KEY, session(NOISY));
  app = await createApp({ logger: log, title: 'lowlat test' });
  await app.register(identityGuard, { identity: { authenticate: async () => null } as unknown as IdentityService });
  await app.register(lowLatencyRoutes, {
    hub, auth, touchIntervalMs: 200,
    sessions: { get: (k) => sessions.get(k) ?? null, touch: (k) => { touches.set(k, (touches.get(k) ?? 0) + 1); } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  small = feedFrom(KEY, ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '50', '-bf', '0'], smallSeen);
  await waitUntil(() => hub.feed(KEY).info() !== null, 20_000, 'the init segment');
});

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  hub?.close();
  if (!appClosed) await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('refused before the upgrade', () => {
  it('a token for another camera: 403, no socket', async () => {
    const r = await refusal(connect(wsUrl(DEVICE, await token(OTHER))));
    expect(r).toEqual({ status: 403, body: expect.objectContaining({ code: 'media.token_wrong_camera' }) });
  });

  it('an expired token: 401; no token or a forged one: 401', async () => {
    const expired = await token(DEVICE, { now: Date.now() - 20 * 60_000, seconds: 60 });
    expect(await refusal(connect(wsUrl(DEVICE, expired)))).toEqual({ status: 401, body: expect.objectContaining({ code: 'media.token_expired' }) });
    expect((await refusal(connect(wsUrl(DEVICE, null)))).body).toMatchObject({ code: 'media.token_required' });
    const forged = await mintMediaToken({ signing: async () => ({ kid: 'k1', key: randomBytes(32) }) }, { userId: 'u1', deviceId: DEVICE, scope: 'live' });
    expect(await refusal(connect(wsUrl(DEVICE, forged.token)))).toEqual({ status: 401, body: expect.objectContaining({ code: 'media.token_invalid' }) });
  });

  it('a vod token is not a live one: 403', async () => {
    const vod = await mintMediaToken(signer, { userId: 'u1', deviceId: DEVICE, scope: 'vod', from: new Date(Date.now() - 60_000).toISOString(), to: new Date().toISOString() });
    expect((await refusal(connect(wsUrl(DEVICE, vod.token)))).status).toBe(403);
  });

  it('no session for the stream: 404 live.no_session', async () => {
    expect(await refusal(connect(wsUrl(NO_SESSION, await token(NO_SESSION))))).toEqual({ status: 404, body: expect.objectContaining({ code: 'live.no_session' }) });
    // The camera's sub stream has no session either.
    expect((await refusal(connect(wsUrl(DEVICE, await token(DEVICE), 'sub')))).status).toBe(404);
  });

  it('a plain GET (no upgrade) with a good token: 426', async () => {
    const res = await fetch(`${base}/media/live/${DEVICE}/ws?token=${encodeURIComponent(await token(DEVICE))}`);
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ code: 'live.upgrade_required' });
  });
});

describe('a viewer', () => {
  it('gets the init JSON, the init segment and a keyframe fragment first, then fragments whose timestamps advance', async () => {
    const c = await connect(wsUrl(DEVICE, await token(DEVICE)));
    await waitUntil(() => binaries(c).length >= 12, 15_000, 'a dozen binary messages');
    const [first, second] = c.messages;
    expect(first).toEqual({ text: expect.objectContaining({ type: 'init', codec: expect.stringMatching(/^avc1\.[0-9a-f]{6}$/), width: 320, height: 180, stream: 'main', mode: 'copy' }) });
    const init = (first as { text: Record<string, any> }).text;
    expect(init.mime).toBe(`video/mp4; codecs="${init.codec}"`);
    expect(Math.abs(init.serverTime - Date.now())).toBeLessThan(15_000);
    expect(second).toMatchObject({ kind: 1 });
    const segment = (second as { payload: Buffer }).payload;
    expect(segment.toString('latin1', 4, 8)).toBe('ftyp');
    const info = parseInit(segment.subarray(segment.readUInt32BE(0)));
    expect(info.codec).toBe(init.codec);
    const frames = binaries(c).slice(1);
    expect(frames[0]!.kind).toBe(3);
    expect(frames.every((f) => f.kind === 2 || f.kind === 3)).toBe(true);
    // Decode times (tfdt) advance by each fragment's duration; arrival stamps do not go back.
    const parsed = frames.map((f) => parseFragment(f.payload.subarray(0, f.payload.readUInt32BE(0)), info));
    expect(parsed[0]!.keyframe).toBe(true);
    for (let i = 1; i < parsed.length; i++) {
      expect(parsed[i]!.decodeTime).toBe(parsed[i - 1]!.decodeTime + parsed[i - 1]!.duration);
      expect(frames[i]!.at).toBeGreaterThanOrEqual(frames[i - 1]!.at);
      expect(parsed[i]!.keyframe).toBe(frames[i]!.kind === 3);
    }
    // Stamped by this machine's clock when the fragment's last byte came from ffmpeg.
    for (const f of frames) {
      expect(f.receivedAt - f.at).toBeGreaterThanOrEqual(-5);
      expect(f.receivedAt - f.at).toBeLessThan(5_000);
    }
    // The session is touched while the viewer is attached.
    const before = touches.get(KEY) ?? 0;
    await new Promise((r) => setTimeout(r, 500));
    expect(touches.get(KEY)! - before).toBeGreaterThanOrEqual(2);
    c.ws.close();
    await c.closed;
  });

  it('a second viewer joining mid-GOP starts from the held keyframe and GOP, not the next keyframe', async () => {
    // A keyframe may arrive from ffmpeg during the handshake (a few ms of each 2 s GOP): then once more.
    for (let attempt = 0; ; attempt++) {
      const t0 = Date.now();
      const c = await connect(wsUrl(DEVICE, await token(DEVICE)));
      await c.next((m) => 'kind' in m && m.kind !== 1 && m.at >= t0);
      const frames = binaries(c).slice(1);
      c.ws.close();
      await c.closed;
      if (frames[0]!.at >= t0 && attempt < 2) continue;
      // Held: the keyframe and the fragments after it came from ffmpeg before this viewer asked.
      expect(frames[0]!.kind).toBe(3);
      expect(frames[0]!.at).toBeLessThan(t0);
      expect(frames.filter((f) => f.at < t0).every((f, i) => f.kind === (i === 0 ? 3 : 2))).toBe(true);
      return;
    }
  });

  it('that sends anything is closed with 1008', async () => {
    const c = await connect(wsUrl(DEVICE, await token(DEVICE)));
    c.ws.send('hello');
    expect((await c.closed).code).toBe(1008);
    await waitUntil(() => hub.viewers(KEY) === 0, 2_000, 'the viewer forgotten');
  });

  it('whose token expires is closed with 4401 at the expiry', async () => {
    const c = await connect(wsUrl(DEVICE, await token(DEVICE, { seconds: 2 })));
    const t0 = Date.now();
    const closed = await c.closed;
    expect(closed.code).toBe(4401);
    expect(Date.now() - t0).toBeLessThan(3_500);
  });

  it('of a stopped session is closed with 4410', async () => {
    const c = await connect(wsUrl(DEVICE, await token(DEVICE, { userId: 'u9' })));
    await c.next((m) => 'kind' in m && m.kind === 3);
    hub.closeKey(KEY, 'idle');
    expect(await c.closed).toEqual({ code: 4410, reason: 'idle' });
  });
});

describe('a stalled viewer', () => {
  it('while 10+ MB pass: what the server buffers for it stays under the bound, and it gets a skip and a keyframe when it reads again', async () => {
    const c = await connect(wsUrl(NOISY, await token(NOISY)));
    c.ws._socket.pause();
    const server = attached.filter((a) => a.key === NOISY_KEY).at(-1)!.socket;
    const seen = { sizes: [] as number[], durationsMs: [] as number[] };
    const noisy = feedFrom(NOISY_KEY, ['-stream_loop', '-1', '-i', noiseClip, '-c:v', 'copy'], seen);
    let maxBuffered = 0;
    let maxHeld = 0;
    const sample = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, server.bufferedAmount);
      maxHeld = Math.max(maxHeld, hub.stats().bufferedBytes);
    }, 10);
    try {
      await waitUntil(() => noisy.bytes() > 12 * 1024 * 1024, 30_000, '12 MB from ffmpeg');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      clearInterval(sample);
    }
    const maxFragment = Math.max(...seen.sizes);
    expect(seen.sizes.length).toBeGreaterThan(10);
    // Cut off at the high-water mark: at most one message past it.
    expect(maxBuffered).toBeGreaterThan(VIEWER_HIGH_WATER_BYTES / 2);
    expect(maxBuffered).toBeLessThanOrEqual(VIEWER_HIGH_WATER_BYTES + maxFragment + HEADER_BYTES);
    // The hub holds the GOPs of both feeds (≤ 8 MiB each), their inits, and what the sockets queue.
    expect(maxHeld).toBeLessThanOrEqual(2 * 8 * 1024 * 1024 + VIEWER_HIGH_WATER_BYTES + 2 * maxFragment + 1024 * 1024);
    c.ws._socket.resume();
    const skip = await c.next(isText('skip'), 15_000);
    expect((skip as { text: { dropped: number } }).text.dropped).toBeGreaterThan(0);
    const i = c.messages.indexOf(skip);
    await waitUntil(() => c.messages.length > i + 1, 10_000, 'the fragment after the skip');
    expect(c.messages[i + 1]).toMatchObject({ kind: 3 });
    console.info(`lowlat stalled viewer: ${(noisy.bytes() / 2 ** 20).toFixed(1)} MiB fed; server buffered at most ${(maxBuffered / 2 ** 20).toFixed(2)} MiB for it (mark ${(VIEWER_HIGH_WATER_BYTES / 2 ** 20).toFixed(0)} MiB, largest fragment ${(maxFragment / 2 ** 10).toFixed(0)} KiB); hub held at most ${(maxHeld / 2 ** 20).toFixed(1)} MiB; skip dropped ${(skip as { text: { dropped: number } }).text.dropped}; small stream fragments ${Math.min(...smallSeen.sizes)}–${Math.max(...smallSeen.sizes)} B, ${Math.min(...smallSeen.durationsMs).toFixed(0)}–${Math.max(...smallSeen.durationsMs).toFixed(0)} ms; noisy ${Math.min(...seen.durationsMs).toFixed(0)}–${Math.max(...seen.durationsMs).toFixed(0)} ms`);
    noisy.stop();
    expect(await c.next(isText('end'))).toEqual({ text: { type: 'end', reason: 'ffmpeg stopped' } });
    c.ws.close();
  });
});

describe('logs and shutdown', () => {
  it('no media token appears in any log line', async () => {
    const t = await token(DEVICE);
    await refusal(connect(wsUrl(OTHER, t)));
    const c = await connect(wsUrl(DEVICE, t));
    c.ws.send('x');
    await c.closed;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes(t) || l.includes(t.split('.')[1]!))).toEqual([]);
  });

  it('the app closes at once with a stalled viewer attached', async () => {
    const c = await connect(wsUrl(DEVICE, await token(DEVICE)));
    c.ws._socket.pause();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    small.stop();
    await app.close();
    appClosed = true;
    expect(Date.now() - t0).toBeLessThan(3_000);
    c.ws.terminate();
  });
});
