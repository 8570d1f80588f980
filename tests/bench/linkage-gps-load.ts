import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { realtimeClient, type WsClient } from './linkage-seed.ts';

/**
 * The GPS step's load (a child process of linkage-gps.ts, so its CPU is read apart from the
 * server's): `units` vehicle terminals, each POSTing one fix a second to /api/gps/fixes with its
 * own `Authorization: Terminal <id>:<secret>`, spread evenly over the second (open loop: a fix is
 * sent when due, whether or not earlier ones were answered) over a pool of keep-alive HTTP/1.1
 * connections (one request at a time on each, no pipelining; written and read on raw sockets so
 * the generator costs little next to the server — node:http's client costs about as much as
 * the server's side of each request); and `consoles` control-room WebSockets subscribed to `units`, timing when each
 * `unit.positions` event brings each fix. Reads its plan as one JSON line on stdin; prints
 * `{"phase":"measure"}` when the measured window opens, `{"phase":"done"}` when it closes, then
 * `{"result":…}`.
 */
interface Plan {
  base: string;
  units: { id: string; auth: string; lat: number; lon: number }[];
  consoles: string[];
  warmupSeconds: number;
  seconds: number;
  sockets: number;
  /** Fixes per unit per second (a terminal sends 1; more shows the headroom). */
  rate: number;
}

interface Sent { t0: number; /** When it was written to a connection (the POST's start); NaN while it waits for one. */ tw: number; unit: number; inWindow: boolean; status: number; accepted: number; ackMs: number; receipts: number }

const plan = await new Promise<Plan>((resolve) => {
  const rl = createInterface({ input: process.stdin });
  rl.once('line', (line) => { rl.close(); resolve(JSON.parse(line) as Plan); });
});
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const sent = new Map<string, Sent>();
const fanout: number[] = [];
let frameBytes = 0, frames = 0, positionsHeard = 0, unknownPositions = 0;
const consoles: WsClient[] = [];
for (const cookie of plan.consoles) {
  consoles.push(await realtimeClient(plan.base, cookie, ['units'], (e, receivedAt, bytes) => {
    if (e.kind !== 'unit.positions') return;
    frames++;
    frameBytes += bytes;
    for (const p of (e.payload.positions ?? []) as { unitId: string; at: string }[]) {
      positionsHeard++;
      const s = sent.get(`${p.unitId} ${p.at}`);
      if (!s) { unknownPositions++; continue; }
      s.receipts++;
      if (s.inWindow) fanout.push(receivedAt - s.tw);
    }
  }));
}

const url = new URL('/api/gps/fixes', plan.base);

/**
 * A keep-alive HTTP/1.1 connection to the console: one request at a time, the answer read by its
 * content-length. A request waiting for a free connection queues (as an HTTP agent's would).
 */
interface Conn { socket: Socket; buf: Buffer; busy: ((status: number, body: string) => void) | null; fail: (() => void) | null }
const idle: Conn[] = [];
const waiting: { head: string; body: string; s: Sent; done: (status: number, body: string) => void; fail: () => void }[] = [];
let reconnects = 0;
function openConn(): void {
  const c: Conn = { socket: connect(Number(url.port), url.hostname), buf: Buffer.alloc(0), busy: null, fail: null };
  c.socket.setNoDelay(true);
  c.socket.on('connect', () => release(c));
  c.socket.on('data', (d: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    const headEnd = c.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = c.buf.subarray(0, headEnd).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (!Number.isFinite(length)) { c.socket.destroy(new Error('answer without content-length')); return; }
    if (c.buf.length < headEnd + 4 + length) return;
    const body = c.buf.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
    c.buf = c.buf.subarray(headEnd + 4 + length);
    const done = c.busy;
    c.busy = null;
    c.fail = null;
    done?.(Number(head.slice(9, 12)), body);
    release(c);
  });
  c.socket.on('error', () => {});
  c.socket.on('close', () => {
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    c.fail?.();
    if (!stopping) { reconnects++; openConn(); }
  });
}
function release(c: Conn): void {
  const next = waiting.shift();
  if (!next) { idle.push(c); return; }
  c.busy = next.done;
  c.fail = next.fail;
  next.s.tw = performance.now();
  if (next.s.inWindow) queueMs.push(next.s.tw - next.s.t0);
  c.socket.write(next.head + next.body);
}
function send(head: string, body: string, s: Sent, done: (status: number, body: string) => void, fail: () => void): void {
  const c = idle.pop();
  if (!c) { waiting.push({ head, body, s, done, fail }); return; }
  c.busy = done;
  c.fail = fail;
  s.tw = performance.now();
  c.socket.write(head + body);
}
/** How long requests of the window waited for a free connection (only those that did). */
const queueMs: number[] = [];
let stopping = false;
for (let i = 0; i < plan.sockets; i++) openConn();
await new Promise((r) => setTimeout(r, 500));

const n = plan.units.length;
const pos = plan.units.map((u) => ({ lat: u.lat, lon: u.lon, heading: Math.floor(Math.random() * 360) }));
let inFlight = 0, maxInFlight = 0, errors = 0, ackBytes = 0, acksTotal = 0;
let windowOpen = false, windowAcks = 0, windowAccepted = 0, windowSent = 0;
const statuses = new Map<number, number>();
const ackMs: number[] = [];

function post(i: number): void {
  const u = plan.units[i]!;
  const p = pos[i]!;
  // A vehicle moving at ≈ 8 m/s on its heading, turning now and then.
  if (Math.random() < 0.05) p.heading = Math.floor(Math.random() * 360);
  p.lat += (8 * Math.cos((p.heading * Math.PI) / 180)) / 111_195;
  p.lon += (8 * Math.sin((p.heading * Math.PI) / 180)) / (111_195 * Math.cos((p.lat * Math.PI) / 180));
  const at = new Date().toISOString();
  const body = JSON.stringify({ fixes: [{ at, lat: +p.lat.toFixed(6), lon: +p.lon.toFixed(6), heading: p.heading, speed: 8, accuracy: 5 }] });
  const s: Sent = { t0: performance.now(), tw: NaN, unit: i, inWindow: windowOpen, status: 0, accepted: 0, ackMs: 0, receipts: 0 };
  sent.set(`${u.id} ${at}`, s);
  if (windowOpen) windowSent++;
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  const head = `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${u.auth}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  send(head, body, s, (status, text) => {
    inFlight--;
    ackBytes += Buffer.byteLength(text);
    acksTotal++;
    s.status = status;
    s.ackMs = performance.now() - s.tw;
    if (status === 200) s.accepted = Number(/"accepted":(\d+)/.exec(text)?.[1] ?? 0);
    if (windowOpen) {
      windowAcks++;
      windowAccepted += s.accepted;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      ackMs.push(s.ackMs);
    }
  }, () => { inFlight--; errors++; });
}

// Open loop: fix k is due at start + k × (1000 / (n × rate)) ms and goes to unit k mod n (each unit `rate` times a second).
const every = 1000 / (n * (plan.rate || 1));
const start = performance.now();
const warmEnd = start + plan.warmupSeconds * 1000;
const end = warmEnd + plan.seconds * 1000;
let k = 0;
let behindMax = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    if (!windowOpen && now >= warmEnd && now < end) { windowOpen = true; say({ phase: 'measure' }); }
    if (now >= end) { windowOpen = false; say({ phase: 'done' }); resolve(); return; }
    while (start + k * every <= now) {
      behindMax = Math.max(behindMax, now - (start + k * every));
      post(k % n);
      k++;
    }
    setTimeout(tick, 2);
  };
  tick();
});
const windowSeconds = plan.seconds;
// Let the last answers and positions arrive.
const drainUntil = performance.now() + 10_000;
while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 1500));

let acceptedInWindow = 0, receiptsOfAccepted = 0, neverHeard = 0;
for (const s of sent.values()) {
  if (!s.inWindow || s.accepted !== 1) continue;
  acceptedInWindow++;
  receiptsOfAccepted += Math.min(s.receipts, plan.consoles.length);
  if (s.receipts === 0) neverHeard++;
}
const pct = (v: number[]) => {
  const sorted = Float64Array.from(v).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { n: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.length ? sorted[sorted.length - 1]! : NaN };
};
say({
  result: {
    offeredPerS: windowSent / windowSeconds,
    acksPerS: windowAcks / windowSeconds,
    acceptedPerS: windowAccepted / windowSeconds,
    statuses: Object.fromEntries(statuses), errors, maxInFlight, behindMaxMs: behindMax, leftInFlight: inFlight,
    ack: pct(ackMs), fanout: pct(fanout), queued: { ...pct(queueMs), n: queueMs.length }, acceptedInWindow, receiptsOfAccepted, neverHeard, consoles: plan.consoles.length,
    frames, frameBytes, positionsHeard, unknownPositions, ackBytes, acksTotal, sentTotal: sent.size, reconnects,
  },
});
stopping = true;
for (const ws of consoles) ws.terminate();
for (const c of idle) c.socket.destroy();
process.exit(0);
