import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalPeer, keyRef, loopbackHost, startRtmpIngest } from '../../gateway/ingest/rtmp.ts';
import type { RtmpIngest } from '../../gateway/ingest/types.ts';

/**
 * RTMP ingest against real ffmpeg pushers and ffprobe pullers: one 320x180 10 fps push at a time
 * (the machine is shared), refused pushes fail fast, garbage on the port harms nothing.
 */

const KEY = randomBytes(18).toString('base64url');
const DISABLED_KEY = randomBytes(18).toString('base64url');
const UNKNOWN_KEY = randomBytes(18).toString('base64url');
const keys = new Map([
  [KEY, { deviceId: 'dev-mobile-1', enabled: true }],
  [DISABLED_KEY, { deviceId: 'dev-mobile-2', enabled: false }],
]);

const lines: string[] = [];
const log = pino({ level: 'debug' }, { write: (s: string) => { lines.push(s); } });
const events: string[] = [];
let ingest: RtmpIngest;

/** Kill switches of the client processes still running (a failed test must not leave one behind). */
const children = new Set<(sig?: NodeJS.Signals) => void>();

interface Run { code: number | null; stdout: string; stderr: string }

/** A client process in its own group, killed with it on timeout. */
function run(cmd: string, args: string[], timeoutMs: number): { done: Promise<Run>; stop: (sig?: NodeJS.Signals) => void } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const stop = (sig: NodeJS.Signals = 'SIGKILL') => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
  children.add(stop);
  const timer = setTimeout(() => stop(), timeoutMs);
  const done = new Promise<Run>((resolve) => {
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code) => { clearTimeout(timer); children.delete(stop); resolve({ code, stdout, stderr }); });
  });
  return { done, stop };
}

function push(path: string, seconds = 30) {
  return run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '10', '-pix_fmt', 'yuv420p',
    '-t', String(seconds), '-f', 'flv', `rtmp://127.0.0.1:${ingest.port}${path}`,
  ], (seconds + 15) * 1000);
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const published = (id: string) => events.filter((e) => e === `publish:${id}`).length;
const unpublished = (id: string) => events.filter((e) => e === `unpublish:${id}`).length;

beforeAll(async () => {
  ingest = await startRtmpIngest({
    log, host: '127.0.0.1', port: 0, handshakeTimeoutMs: 3000, idleTimeoutMs: 3000,
    // a registry round trip: what the pusher sends meanwhile is held and replayed
    lookupStreamKey: async (key) => { await new Promise((r) => setTimeout(r, 100)); return keys.get(key) ?? null; },
    onPublish: (id) => events.push(`publish:${id}`),
    onUnpublish: (id) => events.push(`unpublish:${id}`),
  });
});

afterAll(async () => {
  for (const stop of children) stop('SIGKILL');
  await ingest?.close();
});

describe('rtmp ingest', () => {
  it('binds an ephemeral port and gives a loopback pull URL', () => {
    expect(ingest.port).toBeGreaterThan(0);
    expect(ingest.sourceUrl('dev-mobile-1')).toBe(`rtmp://127.0.0.1:${ingest.port}/live/dev-mobile-1`);
    expect(ingest.publishing()).toEqual([]);
  });

  it('accepts a push with a known key, plays it back to loopback, refuses a second publisher and ends on stop', async () => {
    const pusher = push(`/live/${KEY}`);
    await waitFor(() => published('dev-mobile-1') === 1, 15_000, 'onPublish');
    expect(ingest.publishing()).toEqual(['dev-mobile-1']);

    const probe = await run('ffprobe', [
      '-v', 'error', '-rw_timeout', '10000000', '-analyzeduration', '500000', '-show_entries', 'stream=codec_name,width,height', '-of', 'json',
      ingest.sourceUrl('dev-mobile-1'),
    ], 20_000).done;
    expect(probe.code, probe.stderr).toBe(0);
    const { streams } = JSON.parse(probe.stdout) as { streams: { codec_name: string; width: number; height: number }[] };
    expect(streams).toContainEqual({ codec_name: 'h264', width: 320, height: 180 });

    const second = await push(`/live/${KEY}`, 10).done;
    expect(second.code).not.toBe(0);
    expect(published('dev-mobile-1')).toBe(1);
    expect(ingest.publishing()).toEqual(['dev-mobile-1']);

    pusher.stop('SIGKILL');
    await pusher.done;
    await waitFor(() => unpublished('dev-mobile-1') === 1, 10_000, 'onUnpublish');
    expect(ingest.publishing()).toEqual([]);
  });

  it('refuses unknown keys, disabled devices and other apps', async () => {
    const before = events.length;
    const [unknown, disabled, otherApp] = await Promise.all([
      push(`/live/${UNKNOWN_KEY}`, 10).done,
      push(`/live/${DISABLED_KEY}`, 10).done,
      push(`/other/${KEY}`, 10).done,
    ]);
    expect(unknown.code).not.toBe(0);
    expect(disabled.code).not.toBe(0);
    expect(otherApp.code).not.toBe(0);
    expect(events.length).toBe(before);
    expect(ingest.publishing()).toEqual([]);
  });

  it('survives garbage on the port and still takes the next push', async () => {
    const closedBy = (bytes: Buffer[]) => new Promise<void>((resolve) => {
      const s = connect(ingest.port, '127.0.0.1', () => { for (const b of bytes) s.write(b); });
      s.resume();
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    const handshake = Buffer.concat([Buffer.from([3]), randomBytes(1536), randomBytes(1536)]);
    // a 16 MiB message declared on each of 2000 chunk streams: NMS alone would allocate 32 GiB
    const bomb = Buffer.concat(Array.from({ length: 2000 }, (_, i) =>
      Buffer.from([0x01, i >> 8, i & 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0])));
    const t0 = Date.now();
    await Promise.all([
      closedBy([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), randomBytes(8000)]),
      closedBy([handshake, bomb]),
      closedBy([handshake, Buffer.from([0x03, 0, 0, 0, 0, 0, 0x20, 0x14, 0, 0, 0, 0]), randomBytes(4000)]),
      closedBy([handshake]), // then silence
    ]);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(process.memoryUsage().rss).toBeLessThan(1024 ** 3);

    const pusher = push(`/live/${KEY}`, 10);
    await waitFor(() => published('dev-mobile-1') === 2, 15_000, 'onPublish after garbage');
    pusher.stop();
    await pusher.done;
    await waitFor(() => unpublished('dev-mobile-1') === 2, 10_000, 'onUnpublish');
  });

  it('drops a publisher that goes silent', async () => {
    const pusher = push(`/live/${KEY}`, 20);
    await waitFor(() => published('dev-mobile-1') === 3, 15_000, 'onPublish');
    pusher.stop('SIGSTOP');
    const t0 = Date.now();
    await waitFor(() => unpublished('dev-mobile-1') === 3, 10_000, 'onUnpublish of a silent publisher');
    expect(Date.now() - t0).toBeGreaterThan(2000);
    expect(ingest.publishing()).toEqual([]);
    pusher.stop('SIGKILL');
    await pusher.done;
  });

  it('never logs a stream key, only its hash prefix', () => {
    const all = lines.join('');
    for (const k of [KEY, DISABLED_KEY, UNKNOWN_KEY]) expect(all).not.toContain(k);
    expect(all).toContain(keyRef(UNKNOWN_KEY));
    expect(all).toContain('unknown stream key');
    expect(all).toContain('device disabled');
    expect(all).toContain('not rtmp');
    expect(all).toContain('rtmp message too large');
    expect(all).toContain('no publish or play in time');
    expect(all).toContain('publisher silent');
  });

  it('close() frees the port and ends live pushes', async () => {
    const pusher = push(`/live/${KEY}`, 20);
    await waitFor(() => published('dev-mobile-1') === 4, 15_000, 'onPublish');
    await ingest.close();
    expect(unpublished('dev-mobile-1')).toBe(4);
    expect((await pusher.done).code).not.toBe(0);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(ingest.port, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => probe.close(r));
  });
});

describe('rtmp ingest address rules', () => {
  it('treats loopback and same-address peers as local, others not', () => {
    expect(isLocalPeer('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(isLocalPeer('::ffff:127.0.0.1', '::ffff:127.0.0.1')).toBe(true);
    expect(isLocalPeer('::1', '::1')).toBe(true);
    expect(isLocalPeer('10.1.2.3', '10.1.2.3')).toBe(true);
    expect(isLocalPeer('10.1.2.4', '10.1.2.3')).toBe(false);
    expect(isLocalPeer('::ffff:192.168.0.9', '::ffff:192.168.0.1')).toBe(false);
    expect(isLocalPeer(undefined, undefined)).toBe(false);
  });

  it('pulls over loopback whatever the bind address', () => {
    expect(loopbackHost('0.0.0.0')).toBe('127.0.0.1');
    expect(loopbackHost('::')).toBe('127.0.0.1');
    expect(loopbackHost('127.0.0.1')).toBe('127.0.0.1');
    expect(loopbackHost('::1')).toBe('[::1]');
    expect(loopbackHost('10.0.0.5')).toBe('10.0.0.5');
  });
});
