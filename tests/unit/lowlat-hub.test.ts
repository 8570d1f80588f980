import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFmp4Reader, type Fragment } from '../../gateway/lowlat/fmp4.ts';
import { closeReason, createLowLatencyHub, HEADER_BYTES, pingVerdict, viewerVerdict, type LowLatencyHubOptions } from '../../gateway/lowlat/hub.ts';

// The low-latency hub with fake sockets (send / close / bufferedAmount, as `ws` has them) and
// fMP4 from ffmpeg: what a viewer gets when it joins, how a slow one is skipped forward, what the
// hub holds with a thousand stalled viewers, restarts, expiry, revocation, garbage.

/** A socket as the hub sees `ws`: sends are queued while stalled (bufferedAmount grows), drained at once otherwise. */
class FakeSocket extends EventEmitter {
  readyState = 1;
  /** What arrived (text as parsed JSON, binary as { kind, at, payload }) unless `record` is false. */
  got: ({ text: Record<string, unknown> } | { kind: number; at: number; payload: Buffer })[] = [];
  /** While stalled, what a real socket would still hold: the very buffers sent (shared, as ws keeps them). */
  queue: Buffer[] = [];
  private queued = 0;
  stalled = false;
  /** Set by a test to play a socket whose buffer is this full. */
  forced: number | null = null;
  closedWith: { code: number; reason: string } | null = null;
  terminated = false;
  pings = 0;
  constructor(private record = true) { super(); }
  get bufferedAmount(): number { return this.forced ?? this.queued; }
  send(data: Buffer | string): void {
    if (this.stalled) {
      const b = typeof data === 'string' ? Buffer.from(data) : data;
      this.queue.push(b);
      this.queued += b.length;
    }
    if (!this.record) return;
    if (typeof data === 'string') this.got.push({ text: JSON.parse(data) as Record<string, unknown> });
    else this.got.push({ kind: data[0]!, at: data.readDoubleBE(1), payload: data.subarray(HEADER_BYTES) });
  }
  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
    this.readyState = 2;
  }
  terminate(): void { this.terminated = true; this.readyState = 3; }
  ping(): void { this.pings++; }
  /** What the socket received, in short: 'init{…}', 'I' (init segment), 'K', 'F', 'skip:n', 'end:…'. */
  summary(): string[] {
    return this.got.map((m) => ('text' in m ? (m.text.type === 'skip' ? `skip:${m.text.dropped}` : m.text.type === 'end' ? `end:${m.text.reason}` : String(m.text.type)) : ({ 1: 'I', 2: 'F', 3: 'K' } as Record<number, string>)[m.kind]!));
  }
}

let init: Buffer;
let frags: Fragment[];
const lines: Record<string, unknown>[] = [];
const log = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });

beforeAll(() => {
  const bytes = execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '3', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-bf', '0',
    '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '100000', 'pipe:1',
  ], { maxBuffer: 64 * 1024 * 1024 });
  const events = createFmp4Reader().push(bytes);
  init = events.flatMap((e) => (e.type === 'init' ? [e.segment] : []))[0]!;
  frags = events.flatMap((e) => (e.type === 'fragment' ? [e.fragment] : []));
  expect(frags[0]!.keyframe && !frags[1]!.keyframe).toBe(true);
});

afterEach(() => {
  vi.useRealTimers();
  lines.length = 0;
});

const K = () => Buffer.concat(frags[0]!.parts);
const F = () => Buffer.concat(frags[1]!.parts);
/** A fragment with an mdat of `bytes` (the moof of a real keyframe or other fragment: the hub reads only the moof). */
function big(keyframe: boolean, bytes: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + bytes, 0);
  head.write('mdat', 4, 'latin1');
  return Buffer.concat([frags[keyframe ? 0 : 1]!.parts[0]!, head, Buffer.alloc(bytes)]);
}
/** Pushed as a pipe would: in 64 KiB chunks. */
function pipe(feed: { push(b: Buffer): void }, bytes: Buffer): void {
  for (let at = 0; at < bytes.length; at += 65536) feed.push(bytes.subarray(at, at + 65536));
}
const KEY = '6f1c2f4e-52a6-4c1b-9d51-6a8f3c2a1b00';
const hubOf = (o: Partial<LowLatencyHubOptions> = {}) => createLowLatencyHub({ log, pingIntervalMs: 0, ...o });
const viewer = (userId = 'u1', expiresAt = Date.now() + 600_000) => ({ userId, expiresAt });

describe('a viewer joining', () => {
  it('mid-GOP gets init JSON, the init segment, the keyframe fragment and the rest of the held GOP, then what comes', () => {
    let clock = 1_000;
    const hub = hubOf({ now: () => clock });
    const feed = hub.feed(KEY);
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(init);
    clock = 2_000;
    pipe(feed, Buffer.concat([K(), F()]));
    clock = 3_000;
    feed.push(F());
    const s = new FakeSocket();
    clock = 3_500;
    hub.attach(KEY, s, viewer());
    expect(s.summary()).toEqual(['init', 'I', 'K', 'F', 'F']);
    const msg = (s.got[0] as { text: Record<string, unknown> }).text;
    expect(msg).toEqual({
      type: 'init', codec: 'avc1.64000c', mime: 'video/mp4; codecs="avc1.64000c"', width: 320, height: 180, stream: 'main', mode: 'copy', serverTime: 3_500,
    });
    const [, i, k, f1, f2] = s.got as { kind: number; at: number; payload: Buffer }[];
    expect(i!.payload.equals(init)).toBe(true);
    expect(k!.payload.equals(K())).toBe(true);
    expect(f2!.payload.equals(F())).toBe(true);
    // Arrival times: when the fragment's last byte came from ffmpeg.
    expect([i!.at, k!.at, f1!.at, f2!.at]).toEqual([1_000, 2_000, 2_000, 3_000]);
    feed.push(F());
    feed.push(K());
    expect(s.summary().slice(5)).toEqual(['F', 'K']);
    expect(feed.info()).toEqual({ codec: 'avc1.64000c', mime: 'video/mp4; codecs="avc1.64000c"', width: 320, height: 180 });
    expect(hub.viewers(KEY)).toBe(1);
  });

  it('before any init gets nothing, then the init and the stream from its first keyframe', () => {
    const hub = hubOf();
    const s = new FakeSocket();
    hub.attach(KEY, s, viewer());
    expect(s.got).toEqual([]);
    const feed = hub.feed(KEY);
    feed.start({ stream: 'sub', mode: 'transcode' });
    expect(feed.info()).toBeNull();
    feed.push(Buffer.concat([init, K(), F()]));
    expect(s.summary()).toEqual(['init', 'I', 'K', 'F']);
    expect((s.got[0] as { text: Record<string, unknown> }).text).toMatchObject({ stream: 'sub', mode: 'transcode' });
  });

  it('when the GOP outgrew maxGopBytes: the init at once, then nothing until the next keyframe (no skip message: it missed nothing)', () => {
    const hub = hubOf({ maxGopBytes: 300_000 });
    const feed = hub.feed(KEY);
    feed.start({ stream: 'main', mode: 'copy' });
    pipe(feed, Buffer.concat([init, big(true, 200_000), big(false, 200_000)]));
    expect(lines.some((l) => String(l.msg).includes('GOP outgrew'))).toBe(true);
    const held = hub.stats().bufferedBytes;
    expect(held).toBeLessThan(init.length + 300_000);
    const s = new FakeSocket();
    hub.attach(KEY, s, viewer());
    expect(s.summary()).toEqual(['init', 'I']);
    feed.push(F());
    expect(s.summary()).toEqual(['init', 'I']);
    feed.push(K());
    feed.push(F());
    expect(s.summary()).toEqual(['init', 'I', 'K', 'F']);
  });
});

describe('a slow viewer', () => {
  it('stops receiving past the high-water mark, drops fragments, and resumes at a keyframe once under a quarter of it, with a skip message', () => {
    const hub = hubOf({ viewerHighWaterBytes: 1_000_000 });
    const feed = hub.feed(KEY);
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(Buffer.concat([init, K()]));
    const slow = new FakeSocket();
    const fast = new FakeSocket();
    hub.attach(KEY, slow, viewer());
    hub.attach(KEY, fast, viewer('u2'));
    feed.push(F());
    slow.forced = 1_000_001;
    feed.push(F()); // dropped: over the mark
    feed.push(F());
    slow.forced = 400_000;
    feed.push(K()); // a keyframe, but still over a quarter of the mark
    feed.push(F());
    slow.forced = 250_000;
    feed.push(F()); // under a quarter, but no keyframe
    feed.push(K()); // resumes here
    feed.push(F());
    expect(slow.summary()).toEqual(['init', 'I', 'K', 'F', 'skip:5', 'K', 'F']);
    expect(fast.summary()).toEqual(['init', 'I', 'K', 'F', 'F', 'F', 'K', 'F', 'F', 'K', 'F']);
  });

  it('the rule as a table', () => {
    const hw = 1000;
    expect(viewerVerdict({ state: 'live', skipped: false }, 1000, false, hw)).toBe('send');
    expect(viewerVerdict({ state: 'live', skipped: false }, 1001, true, hw)).toBe('stall');
    expect(viewerVerdict({ state: 'wait', skipped: true }, 251, true, hw)).toBe('drop');
    expect(viewerVerdict({ state: 'wait', skipped: true }, 250, false, hw)).toBe('drop');
    expect(viewerVerdict({ state: 'wait', skipped: true }, 250, true, hw)).toBe('resume');
    expect(viewerVerdict({ state: 'wait', skipped: false }, 1000, true, hw)).toBe('resume');
    expect(viewerVerdict({ state: 'init', skipped: false }, 0, true, hw)).toBe('drop');
  });

  it('100 MB through one camera with 1000 stalled viewers: what the hub and the sockets hold stays bounded, the buffers shared', async () => {
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    // Backing stores of collected buffers are freed after the collection: give that a moment.
    const gc = async () => {
      for (let n = 0; n < 3; n++) {
        collect();
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const highWater = 2 * 1024 * 1024;
    const hub = hubOf({ viewerHighWaterBytes: highWater });
    const feed = hub.feed(KEY);
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(init);
    // 200 KB fragments, a keyframe every 10 (a 2 MB GOP); input buffers built once and pushed again and again.
    const FRAG = 200_000;
    const key = big(true, FRAG);
    const other = big(false, FRAG);
    const sockets: FakeSocket[] = [];
    await gc();
    const before = process.memoryUsage();
    let fed = 0;
    let maxBuffered = 0;
    for (let i = 0; fed < 100 * 1024 * 1024; i++) {
      // Ten waves of 100 viewers join during the first half and never read again.
      if (i % 25 === 0 && sockets.length < 1000) {
        for (let n = 0; n < 100; n++) {
          const s = new FakeSocket(false);
          s.stalled = true;
          sockets.push(s);
          hub.attach(KEY, s, viewer(`u${sockets.length}`));
        }
      }
      const frag = i % 10 === 0 ? key : other;
      pipe(feed, frag);
      fed += frag.length;
      if (i % 50 === 0) maxBuffered = Math.max(maxBuffered, hub.stats().bufferedBytes);
    }
    await gc();
    const after = process.memoryUsage();
    const stats = hub.stats();
    expect(stats.viewers).toBe(1000);
    expect(stats.keys).toBe(1);
    // Per socket: what it had queued when cut off: the held GOP it got on joining (≤ 2 MB here), or the mark plus one fragment.
    const perSocket = Math.max(highWater, 10 * (FRAG + 200)) + FRAG + 1000;
    for (const s of sockets) expect(s.bufferedAmount).toBeLessThanOrEqual(perSocket);
    const bound = 1000 * perSocket + 8 * 1024 * 1024 + init.length + 65536;
    expect(stats.bufferedBytes).toBeLessThanOrEqual(bound);
    expect(maxBuffered).toBeLessThanOrEqual(bound);
    // What memory really grew by: the sockets share the fragment buffers, so a wave of 100 holds one window
    // (the mark plus a fragment): ten windows and the held GOP (10 fragments), plus a little slack;
    // not 1000 × 2 MB, nor the 100 MB fed.
    const grew = after.arrayBuffers - before.arrayBuffers;
    expect(grew).toBeLessThan(10 * (highWater + FRAG) + 10 * FRAG + 4 * 1024 * 1024);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(32 * 1024 * 1024);
    console.info(`lowlat memory: fed ${(fed / 2 ** 20).toFixed(0)} MiB to 1000 stalled viewers; stats().bufferedBytes ${(stats.bufferedBytes / 2 ** 20).toFixed(0)} MiB (upper bound, shared buffers counted per socket); array buffers grew ${(grew / 2 ** 20).toFixed(1)} MiB, heap ${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB`);
    hub.close();
  }, 60_000);
});

describe('restarts', () => {
  it('end() tells viewers and keeps them; start() forgets the old init; the new init re-inits them', () => {
    const hub = hubOf();
    const feed = hub.feed(KEY);
    const s = new FakeSocket();
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(Buffer.concat([init, K(), F()]));
    hub.attach(KEY, s, viewer());
    feed.end('camera sends hevc');
    expect(feed.info()).toBeNull();
    // A viewer joining meanwhile is told why nothing comes.
    const late = new FakeSocket();
    hub.attach(KEY, late, viewer('u2'));
    feed.start({ stream: 'main', mode: 'transcode' });
    feed.push(F()); // a stray fragment of no init: not sent
    feed.push(Buffer.concat([init, K()]));
    expect(s.summary()).toEqual(['init', 'I', 'K', 'F', 'end:camera sends hevc', 'init', 'I', 'K']);
    expect(late.summary()).toEqual(['end:camera sends hevc', 'init', 'I', 'K']);
    expect((s.got[5] as { text: Record<string, unknown> }).text).toMatchObject({ type: 'init', mode: 'transcode' });
    expect(hub.viewers(KEY)).toBe(2);
  });

  it('start() while viewers wait mid-stream: no fragment of the old run reaches them after it', () => {
    const hub = hubOf();
    const feed = hub.feed(KEY);
    const s = new FakeSocket();
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(Buffer.concat([init, K()]));
    hub.attach(KEY, s, viewer());
    feed.push(F().subarray(0, 50)); // half a box when ffmpeg is replaced
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(Buffer.concat([init, K()]));
    expect(s.summary()).toEqual(['init', 'I', 'K', 'init', 'I', 'K']);
    expect(lines.filter((l) => l.level === 40)).toEqual([]);
  });
});

describe('closing viewers', () => {
  it('at the token expiry with 4401, and at once when it has expired already', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const hub = hubOf();
    const s = new FakeSocket();
    hub.attach(KEY, s, { userId: 'u1', expiresAt: 1_060_000 });
    vi.advanceTimersByTime(59_999);
    expect(s.closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(s.closedWith).toEqual({ code: 4401, reason: 'the media token has expired' });
    expect(hub.viewers(KEY)).toBe(0);
    // Not finishing the close handshake: cut after the grace.
    vi.advanceTimersByTime(2_000);
    expect(s.terminated).toBe(true);
    const old = new FakeSocket();
    hub.attach(KEY, old, { userId: 'u1', expiresAt: 999_999 });
    expect(old.closedWith?.code).toBe(4401);
    expect(old.got).toEqual([]);
  });

  it('a viewer that sends anything: 1008', () => {
    const hub = hubOf();
    const s = new FakeSocket();
    hub.attach(KEY, s, viewer());
    s.emit('message', Buffer.from('hello'), false);
    expect(s.closedWith).toEqual({ code: 1008, reason: 'the low-latency socket takes no messages' });
    expect(hub.viewers(KEY)).toBe(0);
  });

  it('closeUser closes that user\'s viewers on every key (4401 unless told), no one else\'s', () => {
    const hub = hubOf();
    const a = new FakeSocket();
    const b = new FakeSocket();
    const c = new FakeSocket();
    hub.attach(KEY, a, viewer('u1'));
    hub.attach(`${KEY}.sub`, b, viewer('u1'));
    hub.attach(KEY, c, viewer('u2'));
    hub.closeUser('u1');
    expect([a.closedWith?.code, b.closedWith?.code, c.closedWith]).toEqual([4401, 4401, null]);
    hub.closeUser('u2', 4403);
    expect(c.closedWith?.code).toBe(4403);
    expect(hub.stats().viewers).toBe(0);
  });

  it('closeKey closes a key\'s viewers with 4410 and the reason (cut to the 123 bytes a close frame allows)', () => {
    const hub = hubOf();
    const a = new FakeSocket();
    const b = new FakeSocket();
    hub.attach(KEY, a, viewer());
    hub.attach(`${KEY}.sub`, b, viewer());
    hub.closeKey(KEY, 'idle');
    expect(a.closedWith).toEqual({ code: 4410, reason: 'idle' });
    expect(b.closedWith).toBeNull();
    expect(hub.stats()).toMatchObject({ keys: 1, viewers: 1 });
    const long = 'ü'.repeat(200);
    expect(Buffer.byteLength(closeReason(long))).toBeLessThanOrEqual(123);
    hub.closeKey(`${KEY}.sub`, long);
    expect(Buffer.byteLength(b.closedWith!.reason)).toBeLessThanOrEqual(123);
    expect(hub.stats()).toEqual({ keys: 0, viewers: 0, bufferedBytes: 0 });
  });

  it('a socket closed by its client is forgotten', () => {
    const hub = hubOf();
    const s = new FakeSocket();
    hub.attach(KEY, s, viewer());
    s.emit('close');
    expect(hub.viewers(KEY)).toBe(0);
    const e = new FakeSocket();
    hub.attach(KEY, e, viewer());
    e.emit('error', new Error('ECONNRESET'));
    expect(hub.viewers(KEY)).toBe(0);
    expect(e.terminated).toBe(true);
  });

  it('pings each socket; one that neither answered the last ping nor read anything since is cut', () => {
    vi.useFakeTimers();
    const hub = hubOf({ pingIntervalMs: 1000 });
    const alive = new FakeSocket();
    const dead = new FakeSocket();
    const slow = new FakeSocket();
    hub.attach(KEY, alive, viewer());
    hub.attach(KEY, dead, viewer());
    hub.attach(KEY, slow, viewer());
    slow.forced = 2_000_000;
    vi.advanceTimersByTime(1000);
    expect([alive.pings, dead.pings, slow.pings]).toEqual([1, 1, 1]);
    alive.emit('pong');
    slow.forced = 1_500_000; // its pong is queued behind what it is still reading
    vi.advanceTimersByTime(1000);
    expect([alive.terminated, dead.terminated, slow.terminated]).toEqual([false, true, false]);
    expect(hub.viewers(KEY)).toBe(2);
    alive.emit('pong');
    vi.advanceTimersByTime(1000); // slow read nothing more and did not answer
    expect([alive.terminated, slow.terminated]).toEqual([false, true]);
    hub.close();
  });

  it('ping verdicts', () => {
    expect(pingVerdict({ answered: true, buffered: 0 }, 0)).toBe('alive');
    expect(pingVerdict({ answered: false, buffered: 0 }, 0)).toBe('dead');
    expect(pingVerdict({ answered: false, buffered: 100 }, 99)).toBe('alive');
    expect(pingVerdict({ answered: false, buffered: 100 }, 100)).toBe('dead');
  });

  it('close() cuts every viewer (1001) and refuses new ones', () => {
    const hub = hubOf();
    const s = new FakeSocket();
    hub.attach(KEY, s, viewer());
    hub.close();
    expect(s.closedWith?.code).toBe(1001);
    expect(s.terminated).toBe(true);
    const late = new FakeSocket();
    hub.attach(KEY, late, viewer());
    expect(late.closedWith?.code).toBe(1001);
    expect(hub.stats()).toEqual({ keys: 0, viewers: 0, bufferedBytes: 0 });
  });
});

describe('garbage from ffmpeg', () => {
  it('never throws: a warning, viewers resume at the next keyframe with a skip message', () => {
    const hub = hubOf();
    const feed = hub.feed(KEY);
    const s = new FakeSocket();
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(Buffer.concat([init, K()]));
    hub.attach(KEY, s, viewer());
    expect(() => feed.push(Buffer.from('\u0000\u0000\u0000\u0010\u00ff\u00fe garbage garbage'))).not.toThrow();
    expect(lines.some((l) => l.level === 40 && l.code === 'fmp4.bad_box')).toBe(true);
    feed.push(F());
    feed.push(K());
    expect(s.summary()).toEqual(['init', 'I', 'K', 'skip:1', 'K']);
    // A new viewer meanwhile is not handed what was held before the break.
    expect(hub.stats().bufferedBytes).toBe(init.length + HEADER_BYTES + K().length + HEADER_BYTES);
  });
});

describe('an in-process tap (the compat transcode reading a main session)', () => {
  const tapOf = () => {
    const got: { kind: 'I' | 'K' | 'F'; bytes: Buffer }[] = [];
    const restarts: string[] = [];
    let first = true;
    return {
      got, restarts,
      sink: {
        write(chunk: Buffer, keyframe: boolean) { got.push({ kind: first ? 'I' : keyframe ? 'K' : 'F', bytes: chunk }); first = false; },
        restart(reason: string) { restarts.push(reason); },
      },
    };
  };

  it('gets the raw init and the held GOP at once, then what comes, and a restart when a new run begins', () => {
    const hub = hubOf();
    const feed = hub.feed(KEY);
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(Buffer.concat([init, K(), F()]));
    const t = tapOf();
    const detach = hub.tap(KEY, t.sink);
    feed.push(F());
    expect(t.got.map((g) => g.kind)).toEqual(['I', 'K', 'F', 'F']);
    // No message header: the bytes ffmpeg wrote, so the tap's reader sees one fMP4 stream.
    expect(Buffer.concat(t.got.map((g) => g.bytes)).equals(Buffer.concat([init, K(), F(), F()]))).toBe(true);
    feed.end('ffmpeg ended');
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(init);
    expect(t.restarts).toEqual(['the stream it reads started a new run']);
    feed.push(K());
    expect(t.got).toHaveLength(4);
    detach();
    expect(hub.stats().keys).toBe(1);
  });

  it('before any init waits, then starts at the first keyframe; a detached tap gets nothing more', () => {
    const hub = hubOf();
    const t = tapOf();
    const detach = hub.tap(KEY, t.sink);
    const feed = hub.feed(KEY);
    feed.start({ stream: 'main', mode: 'copy' });
    feed.push(init);
    feed.push(F());
    expect(t.got.map((g) => g.kind)).toEqual(['I']);
    feed.push(K());
    feed.push(F());
    expect(t.got.map((g) => g.kind)).toEqual(['I', 'K', 'F']);
    detach();
    feed.push(F());
    expect(t.got).toHaveLength(3);
    expect(t.restarts).toEqual([]);
  });
});
