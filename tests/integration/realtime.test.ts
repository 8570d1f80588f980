import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { createRealtimeHub, type RealtimeSocket } from '../../console/server/realtime/hub.ts';
import { MAX_FRAME_BYTES } from '../../console/server/realtime/protocol.ts';
import type { App } from '../../core/http/app.ts';
import { CONTROL_ROOM, type Role } from '../../core/identity/types.ts';
import type { Platform } from '../../core/platform.ts';
import { createEventsPurge } from '../../workers/maintenance/events-purge.ts';
import { createMaintenanceFamily } from '../../workers/maintenance/family.ts';
import { loginAs, testPlatform, waitUntil, type LogCapture } from '../helpers/platform.ts';

// The realtime channel end to end: a listening console, real `ws` clients, events appended to
// the real event log (PostgreSQL row → Redis → this console → sockets); the guard's refusals
// before the upgrade, topic permissions, replay and resync, garbage, floods, slow consumers,
// revoked credentials and dead sockets.

// `ws` ships no types (it comes with @fastify/websocket): the little of it used here, typed.
interface WsClient {
  readyState: number;
  send(data: string | Buffer): void;
  close(code?: number): void;
  terminate(): void;
  on(event: string, listener: (...args: any[]) => void): void;
  _socket: import('node:net').Socket;
}
type WsCtor = new (url: string, opts?: { headers?: Record<string, string>; origin?: string }) => WsClient;
const WS = createRequire(import.meta.url)('ws') as WsCtor;

const FLOOD_LIMIT = 10;
let platform: Platform;
let logs: LogCapture;
let close: () => Promise<void>;
let app: App;
let base: string;
let origin: string;

interface Client {
  ws: WsClient;
  messages: Record<string, any>[];
  /** Resolves with the first message (seen or to come) matching `pred`. */
  next(pred: (m: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  closed: Promise<{ code: number; reason: string }>;
  send(m: unknown): void;
}

function connect(headers: Record<string, string> = {}, opts: { origin?: string } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WS(`${base.replace('http', 'ws')}/api/events`, { headers, ...(opts.origin ? { origin: opts.origin } : {}) });
    const messages: Record<string, any>[] = [];
    const waiters: { pred: (m: Record<string, any>) => boolean; done: (m: Record<string, any>) => void }[] = [];
    let onClose!: (v: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((r) => { onClose = r; });
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as Record<string, any>;
      messages.push(m);
      for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.done(m); }
    });
    ws.on('close', (code: number, reason: Buffer) => onClose({ code, reason: reason.toString() }));
    // A refused upgrade: the status, once the server has closed the connection (a refusal
    // that left it open would hold a socket, and the console's shutdown, for ever).
    ws.on('unexpected-response', (req: { socket: import('node:net').Socket }, res: { statusCode: number; resume(): void }) => {
      const t = setTimeout(() => { req.socket.destroy(); reject(Object.assign(new Error('left open'), { status: -2 })); }, 3000);
      req.socket.once('close', () => { clearTimeout(t); reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })); });
      res.resume();
    });
    ws.on('error', (err: Error) => reject(err));
    const client: Client = {
      ws, messages, closed,
      send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
      next(pred, timeoutMs = 5000) {
        const seen = messages.find(pred);
        if (seen) return Promise.resolve(seen);
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`)), timeoutMs);
          waiters.push({ pred, done: (m) => { clearTimeout(t); res(m); } });
        });
      },
    };
    ws.on('open', () => resolve(client));
  });
}

const refusal = (p: Promise<unknown>) => p.then(() => 0, (err: { status?: number }) => err.status ?? -1);

async function signedIn(roles: Role[]) {
  const user = await loginAs(app, platform, roles);
  const client = await connect({ cookie: user.cookie });
  const hello = await client.next((m) => m.op === 'hello');
  return { ...user, client, hello };
}

async function subscribe(c: Client, topics: string[], after?: number) {
  const n = c.messages.filter((m) => m.op === 'subscribed').length;
  c.send({ op: 'subscribe', topics, ...(after !== undefined ? { after } : {}) });
  await waitUntil(() => c.messages.filter((m) => m.op === 'subscribed').length > n, 5000, 'subscribed');
  return c.messages.filter((m) => m.op === 'subscribed')[n]!;
}

const eventsOf = (c: Client, topic?: string) => c.messages.filter((m) => m.op === 'event' && (!topic || m.event.topic === topic)).map((m) => m.event);

beforeAll(async () => {
  ({ platform, logs, close } = await testPlatform({ 'realtime.maxMessagesPerSecond': FLOOD_LIMIT }));
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  origin = base;
});

afterAll(async () => {
  await app?.close();
  await close?.();
});

describe('who may open the channel', () => {
  it('refuses an upgrade without credentials with HTTP 401, and the service token with 403', async () => {
    expect(await refusal(connect())).toBe(401);
    expect(await refusal(connect({ cookie: 'skynet_session=not-a-session' }))).toBe(401);
    expect(await refusal(connect({ authorization: 'Bearer skt_nonsense' }))).toBe(401);
    // The service token is for the gateway's internal API, not people's channels.
    expect(await refusal(connect({ authorization: `Bearer ${platform.keys.serviceToken}` }))).toBe(403);
  });

  it('lets a patrol user in to hear its own unit only: no control-room topic, no other unit', async () => {
    const { client } = await signedIn(['patrol']);
    const sub = await subscribe(client, ['alarms', 'incidents', 'devices', 'units', 'cues', `unit:${randomUUID()}`]);
    expect(sub.topics).toEqual([]);
    expect(sub.refused.map((r: { code: string }) => r.code)).toEqual(Array(6).fill('realtime.topic_forbidden'));
    client.ws.close();
  });

  it('lets every control-room role in and says hello with the newest event id', async () => {
    const appended = await platform.eventLog.append('alarms', 'alarm.raised', { alarm: { id: randomUUID() } });
    for (const role of CONTROL_ROOM) {
      const { client, hello } = await signedIn([role]);
      expect(hello.lastId).toBeGreaterThanOrEqual(appended.id);
      client.ws.close();
    }
  });

  it('refuses a cookie-borne upgrade from another origin, accepts the console\'s own', async () => {
    const user = await loginAs(app, platform, ['monitor']);
    expect(await refusal(connect({ cookie: user.cookie }, { origin: 'http://evil.example' }))).toBe(403);
    expect(await refusal(connect({ cookie: user.cookie }, { origin: 'http://127.0.0.1:1' }))).toBe(403);
    const ok = await connect({ cookie: user.cookie }, { origin });
    await ok.next((m) => m.op === 'hello');
    ok.ws.close();
  });

  it('authenticates an API token in the Authorization header', async () => {
    const user = await loginAs(app, platform, ['investigator']);
    const { token } = await platform.identity.issueApiToken(user.userId, 'wall script', null);
    const c = await connect({ authorization: `Bearer ${token}` }, { origin: 'http://evil.example' });
    await c.next((m) => m.op === 'hello');
    expect((await subscribe(c, ['alarms'])).topics).toEqual(['alarms']);
    c.ws.close();
  });

  it('answers a plain GET with 426 (and 401 before that without a session)', async () => {
    const user = await loginAs(app, platform, ['monitor']);
    const res = await app.inject({ method: 'GET', url: '/api/events', headers: { cookie: user.cookie } });
    expect(res.statusCode).toBe(426);
    expect(res.json().code).toBe('realtime.upgrade_required');
    expect((await app.inject({ method: 'GET', url: '/api/events' })).statusCode).toBe(401);
  });
});

describe('topics and events', () => {
  it('delivers events of subscribed topics only, to every subscribed socket', async () => {
    const a = await signedIn(['monitor']);
    const b = await signedIn(['supervisor']);
    const incident = randomUUID();
    const sub = await subscribe(a.client, ['alarms', `incident:${incident}`, 'nonsense', 'incident:not-a-uuid', 'alarms']);
    expect(sub.topics).toEqual(['alarms', `incident:${incident}`]);
    expect(sub.refused).toEqual([
      { topic: 'nonsense', code: 'realtime.topic_unknown' },
      { topic: 'incident:not-a-uuid', code: 'realtime.topic_unknown' },
    ]);
    await subscribe(b.client, ['alarms']);

    const raised = await platform.eventLog.append('alarms', 'alarm.raised', { alarm: { id: randomUUID(), kind: 'manual', details: { note: '<b>x</b>' } } });
    await platform.eventLog.append('devices', 'device.status', { deviceId: randomUUID(), status: 'offline' });
    const timeline = await platform.eventLog.append(`incident:${incident}`, 'incident.timeline', { entry: { id: randomUUID() } });
    const gotA = await a.client.next((m) => m.op === 'event' && m.event.id === timeline.id);
    expect(gotA.event).toMatchObject({ topic: `incident:${incident}`, kind: 'incident.timeline' });
    const gotB = await b.client.next((m) => m.op === 'event' && m.event.id === raised.id);
    expect(gotB.event).toEqual(raised);
    await new Promise((r) => setTimeout(r, 200));
    expect(eventsOf(a.client).map((e) => e.topic)).toEqual(['alarms', `incident:${incident}`]);
    expect(eventsOf(b.client).map((e) => e.id)).toEqual([raised.id]);

    // Unsubscribed: nothing more arrives.
    a.client.send({ op: 'unsubscribe', topics: ['alarms'] });
    a.client.send({ op: 'ping' });
    await a.client.next((m) => m.op === 'pong');
    const later = await platform.eventLog.append('alarms', 'alarm.updated', { alarm: { id: randomUUID() } });
    await b.client.next((m) => m.op === 'event' && m.event.id === later.id);
    await new Promise((r) => setTimeout(r, 200));
    expect(eventsOf(a.client, 'alarms').map((e) => e.id)).toEqual([raised.id]);
    a.client.ws.close();
    b.client.ws.close();
  });

  it('replays what a reconnecting client missed, in order, then goes live', async () => {
    const first = await signedIn(['monitor']);
    await subscribe(first.client, ['alarms', 'incidents']);
    const seen = await platform.eventLog.append('alarms', 'alarm.raised', { alarm: { n: 0 } });
    await first.client.next((m) => m.op === 'event' && m.event.id === seen.id);
    first.client.ws.close();
    await first.client.closed;

    const missed = [];
    for (let n = 1; n <= 3; n++) missed.push(await platform.eventLog.append('alarms', 'alarm.raised', { alarm: { n } }));
    await platform.eventLog.append('devices', 'device.status', { deviceId: randomUUID(), status: 'online' });
    missed.push(await platform.eventLog.append('incidents', 'incident.created', { incident: { n: 4 } }));

    const again = await connect({ cookie: first.cookie });
    await again.next((m) => m.op === 'hello');
    await subscribe(again, ['alarms', 'incidents'], seen.id);
    await waitUntil(() => eventsOf(again).length >= missed.length, 5000, 'replay');
    expect(eventsOf(again).map((e) => e.id)).toEqual(missed.map((e) => e.id));
    const live = await platform.eventLog.append('alarms', 'alarm.raised', { alarm: { n: 5 } });
    await again.next((m) => m.op === 'event' && m.event.id === live.id);
    expect(eventsOf(again).map((e) => e.id)).toEqual([...missed, live].map((e) => e.id));
    again.ws.close();
  });

  it('tells the client to resync when more than 1000 events were missed', async () => {
    const topic = `incident:${randomUUID()}`;
    const before = await platform.eventLog.lastId();
    await platform.pool.query(
      `INSERT INTO events (topic, kind, payload) SELECT $1, 'incident.timeline', jsonb_build_object('n', g) FROM generate_series(1, 1001) g`, [topic],
    );
    const { client } = await signedIn(['investigator']);
    await subscribe(client, [topic], before);
    const resync = await client.next((m) => m.op === 'resync');
    expect(resync.topics).toEqual([topic]);
    expect(eventsOf(client)).toEqual([]);
    // Exactly 1000 missed is still a replay.
    const other = `incident:${randomUUID()}`;
    const start = await platform.eventLog.lastId();
    await platform.pool.query(
      `INSERT INTO events (topic, kind, payload) SELECT $1, 'incident.timeline', jsonb_build_object('n', g) FROM generate_series(1, 1000) g`, [other],
    );
    await subscribe(client, [other], start);
    await waitUntil(() => eventsOf(client, other).length === 1000, 10_000, '1000 replayed events');
    expect(client.messages.filter((m) => m.op === 'resync')).toHaveLength(1);
    client.ws.close();
  });
});

describe('bad clients are closed, the server stays up', () => {
  it.each([
    ['non-JSON text', 'hello there', 'realtime.bad_message'],
    ['an unknown op', JSON.stringify({ op: 'drop_tables' }), 'realtime.bad_message'],
    ['topics that are not strings', JSON.stringify({ op: 'subscribe', topics: [1, 2] }), 'realtime.bad_message'],
    ['a negative after', JSON.stringify({ op: 'subscribe', topics: ['alarms'], after: -1 }), 'realtime.bad_message'],
    ['a frame over 4 kB', JSON.stringify({ op: 'ping', pad: 'x'.repeat(MAX_FRAME_BYTES) }), 'realtime.frame_too_large'],
    ['binary', Buffer.from([1, 2, 3]), 'realtime.bad_message'],
  ])('closes on %s with 1008', async (_what, frame, reason) => {
    const { client } = await signedIn(['monitor']);
    client.ws.send(frame);
    expect(await client.closed).toEqual({ code: 1008, reason });
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBeLessThan(500);
    await waitUntil(() => app.realtimeHub.stats().sockets === 0, 5000, 'socket forgotten');
  });

  it('lets ws itself refuse a frame far past the limit (1009) before reading it whole', async () => {
    const { client } = await signedIn(['monitor']);
    client.ws.send('x'.repeat(MAX_FRAME_BYTES * 16 + 1));
    expect((await client.closed).code).toBe(1009);
  });

  it('closes a socket that sends more than realtime.maxMessagesPerSecond messages in a second', async () => {
    const { client } = await signedIn(['monitor']);
    // At the limit: fine.
    for (let i = 0; i < FLOOD_LIMIT - 1; i++) client.send({ op: 'ping' });
    await waitUntil(() => client.messages.filter((m) => m.op === 'pong').length === FLOOD_LIMIT - 1, 5000, 'pongs');
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < FLOOD_LIMIT + 5; i++) client.send({ op: 'ping' });
    expect(await client.closed).toEqual({ code: 1008, reason: 'realtime.flood' });
    expect(logs.text()).toContain('realtime socket flooded');
  });

  it('cuts a slow consumer instead of buffering without end', async () => {
    const { client } = await signedIn(['monitor']);
    await subscribe(client, ['alarms']);
    const before = app.realtimeHub.stats().sockets;
    client.ws._socket.pause(); // the client stops reading
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 400 && app.realtimeHub.stats().sockets === before; i++) {
      await platform.eventLog.append('alarms', 'alarm.raised', { alarm: { i, big } });
    }
    await waitUntil(() => app.realtimeHub.stats().sockets === before - 1, 10_000, 'slow consumer closed');
    expect(logs.text()).toContain('closed as a slow consumer');
    client.ws._socket.resume();
    await client.closed;
  });
});

describe('a big replay to a slow reader', () => {
  it('paces the replay to what the client reads instead of cutting it', async () => {
    const topic = `incident:${randomUUID()}`;
    const before = await platform.eventLog.lastId();
    // 600 × 20 kB = 12 MB: far past what the kernel buffers and the 1 MB slow-consumer limit.
    await platform.pool.query(
      `INSERT INTO events (topic, kind, payload) SELECT $1, 'incident.timeline', jsonb_build_object('n', g, 'pad', repeat('x', 20000)) FROM generate_series(1, 600) g`, [topic],
    );
    const { client } = await signedIn(['monitor']);
    client.send({ op: 'subscribe', topics: [topic], after: before });
    client.ws._socket.pause();
    await new Promise((r) => setTimeout(r, 1500));
    client.ws._socket.resume();
    await waitUntil(() => eventsOf(client, topic).length === 600, 20_000, '600 replayed events');
    expect(eventsOf(client, topic).map((e) => e.payload.n)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    client.send({ op: 'ping' });
    await client.next((m) => m.op === 'pong');
    client.ws.close();
  });
});

describe('credentials that end close the socket', () => {
  it('closes the sockets of a disabled user with 4401, others stay', async () => {
    const victim = await signedIn(['monitor']);
    const second = await connect({ cookie: victim.cookie });
    await second.next((m) => m.op === 'hello');
    const bystander = await signedIn(['monitor']);
    await platform.identity.updateUser(victim.userId, { disabled: true });
    expect(await victim.client.closed).toEqual({ code: 4401, reason: 'realtime.revoked' });
    expect(await second.closed).toEqual({ code: 4401, reason: 'realtime.revoked' });
    bystander.client.send({ op: 'ping' });
    await bystander.client.next((m) => m.op === 'pong');
    expect(await refusal(connect({ cookie: victim.cookie }))).toBe(401);
    bystander.client.ws.close();
  });

  it('keeps the session that changed its own password, closes the others', async () => {
    const user = await loginAs(app, platform, ['investigator']);
    const keep = await connect({ cookie: user.cookie });
    await keep.next((m) => m.op === 'hello');
    const login2 = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password } });
    const otherCookie = String(login2.headers['set-cookie']).split(';')[0]!;
    const other = await connect({ cookie: otherCookie });
    await other.next((m) => m.op === 'hello');
    await platform.identity.changeOwnPassword(user.userId, {
      currentPassword: user.password, newPassword: `${user.password}-new`, keepSessionToken: user.cookie.split('=')[1]!,
    });
    expect(await other.closed).toEqual({ code: 4401, reason: 'realtime.revoked' });
    keep.send({ op: 'ping' });
    await keep.next((m) => m.op === 'pong');
    keep.ws.close();
  });
});

describe('keepalive and re-checks (the hub with a short tick)', () => {
  /** A socket standing in for ws: records what the hub does to it. */
  function fakeSocket(opts: { answersPings: boolean }) {
    const listeners: Record<string, ((...a: any[]) => void)[]> = {};
    const sent: Record<string, any>[] = [];
    const state = { readyState: 1, closedWith: null as null | { code: number; reason: string }, terminated: false, pings: 0 };
    const socket: RealtimeSocket = {
      get readyState() { return state.readyState; },
      bufferedAmount: 0,
      send: (d: string) => { sent.push(JSON.parse(d)); },
      ping: () => { state.pings++; if (opts.answersPings) setTimeout(() => listeners.pong?.forEach((l) => l()), 5); },
      close: (code: number, reason: string) => { state.closedWith = { code, reason }; state.readyState = 3; },
      terminate: () => { state.terminated = true; state.readyState = 3; },
      on: (event: string, l: (...a: any[]) => void) => { (listeners[event] ??= []).push(l); },
    };
    const deliver = (m: unknown) => listeners.message?.forEach((l) => l(Buffer.from(JSON.stringify(m)), false));
    return { socket, sent, state, deliver };
  }

  it('sends events the bus did not bring (published while Redis was away) from the rows, once', async () => {
    const hub = createRealtimeHub({
      eventLog: platform.eventLog, events: platform.events, identity: platform.identity, log: platform.log,
      access: { roles: CONTROL_ROOM }, maxMessagesPerSecond: 20, catchUpIntervalMs: 100, catchUpGraceMs: 600,
    });
    await hub.start();
    try {
      const user = await loginAs(app, platform, ['monitor']);
      const s = fakeSocket({ answersPings: true });
      hub.attach(s.socket, { kind: 'user', userId: user.userId, username: user.username, roles: ['monitor'] }, { cookie: user.cookie.split('=')[1]! });
      s.deliver({ op: 'subscribe', topics: ['alarms'] });
      await waitUntil(() => s.sent.some((m) => m.op === 'subscribed'), 2000, 'subscribed');
      // A row with no publish: what a bus outage looks like from here.
      const { rows } = await platform.pool.query<{ id: string }>(
        `INSERT INTO events (topic, kind, payload) VALUES ('alarms', 'alarm.raised', '{"alarm":{"lost":true}}') RETURNING id`,
      );
      const lostId = Number(rows[0]!.id);
      // The bus is back before the check runs: a newer event is heard first, and the lost one still goes out.
      const heard = await platform.eventLog.append('alarms', 'alarm.raised', { alarm: { lost: false } });
      await waitUntil(() => s.sent.some((m) => m.op === 'event' && m.event.id === heard.id), 3000, 'heard event');
      expect(s.sent.some((m) => m.op === 'event' && m.event.id === lostId)).toBe(false);
      await waitUntil(() => s.sent.some((m) => m.op === 'event' && m.event.id === lostId), 3000, 'caught-up event');
      await new Promise((r) => setTimeout(r, 1000)); // several catch-up rounds past the grace
      const ids = s.sent.filter((m) => m.op === 'event').map((m) => m.event.id);
      expect(ids.filter((id) => id === lostId)).toHaveLength(1);
      expect(ids.filter((id) => id === heard.id)).toHaveLength(1);
      expect(logs.text()).toContain('the bus did not bring');
    } finally {
      await hub.stop();
    }
  });

  it('pings, cuts a socket that stopped answering, and closes one whose session ended (logout)', async () => {
    const hub = createRealtimeHub({
      eventLog: platform.eventLog, events: platform.events, identity: platform.identity, log: platform.log,
      access: { roles: CONTROL_ROOM }, maxMessagesPerSecond: 20, pingIntervalMs: 100,
    });
    await hub.start();
    try {
      const live = await loginAs(app, platform, ['monitor']);
      const loggedOut = await loginAs(app, platform, ['monitor']);
      const alive = fakeSocket({ answersPings: true });
      const dead = fakeSocket({ answersPings: false });
      const gone = fakeSocket({ answersPings: true });
      const principal = (u: { userId: string; username: string }) => ({ kind: 'user' as const, userId: u.userId, username: u.username, roles: ['monitor' as const] });
      hub.attach(alive.socket, principal(live), { cookie: live.cookie.split('=')[1]! });
      hub.attach(dead.socket, principal(live), { cookie: live.cookie.split('=')[1]! });
      hub.attach(gone.socket, principal(loggedOut), { cookie: loggedOut.cookie.split('=')[1]! });
      await waitUntil(() => alive.sent.some((m) => m.op === 'hello'), 2000, 'hello');
      const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: loggedOut.cookie } });
      expect(out.statusCode).toBeLessThan(300);
      await waitUntil(() => dead.state.terminated && gone.state.closedWith !== null, 3000, 'dead cut and logged-out closed');
      expect(gone.state.closedWith).toEqual({ code: 4401, reason: 'realtime.revoked' });
      await new Promise((r) => setTimeout(r, 300));
      expect(alive.state.pings).toBeGreaterThanOrEqual(3);
      expect(alive.state.terminated).toBe(false);
      expect(alive.state.closedWith).toBeNull();
      expect(hub.stats().sockets).toBe(1);
    } finally {
      await hub.stop();
    }
  });
});

describe('events purge (maintenance / events.purge)', () => {
  it('deletes events past realtime.replayHours and keeps the replay window', async () => {
    const hours = platform.config.realtime.replayHours;
    const { rows } = await platform.pool.query<{ id: string; at: Date }>(
      `INSERT INTO events (topic, kind, payload, at) VALUES
         ('alarms', 'alarm.raised', '{}', now() - make_interval(hours => $1 + 1)),
         ('alarms', 'alarm.raised', '{}', now() - make_interval(hours => $1) + interval '5 minutes')
       RETURNING id, at`, [hours],
    );
    const [old, kept] = rows.map((r) => Number(r.id));
    const purge = createEventsPurge({ platform });
    expect((await purge()).deleted).toBeGreaterThanOrEqual(1);
    const left = await platform.pool.query<{ id: string }>('SELECT id FROM events WHERE id = ANY($1)', [[old, kept]]);
    expect(left.rows.map((r) => Number(r.id))).toEqual([kept]);
    expect((await purge()).deleted).toBe(0); // idempotent
    const family = createMaintenanceFamily({ platform });
    expect(family.schedules?.map((sc) => sc.name)).toContain('events.purge');
  });
});
