import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import type { RealtimeEvent } from '../../core/events.ts';
import type { App } from '../../core/http/app.ts';
import type { Role } from '../../core/identity/types.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { localDay } from '../../gateway/recordings/timeline.ts';
import { createWorkerDeps, type WorkerDeps } from '../../workers/deps.ts';
import { runRetention } from '../../workers/retention/run.ts';
import { loginAs, testPlatform, waitUntil } from '../helpers/platform.ts';

// Incidents (警情) against real PostgreSQL and Redis through the console API: numbering per
// site-local day under concurrency, the life cycle, edits under optimistic concurrency, the
// timeline, realtime events and audit rows of every change, the list's filters and keyset
// pages, bookmarks holding footage through real retention runs, evidence and exports.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let gateway: Gateway;
let deps: WorkerDeps;
let mediaRoot: string;
const users: Partial<Record<Role, { cookie: string; userId: string; username: string }>> = {};
const run = randomBytes(4).toString('hex');
const heard: RealtimeEvent[] = [];
let unsubscribe: () => Promise<void>;

const DAY = 86_400_000;
const SEG_MS = 10_000;

const call = (role: Role | null, method: string, url: string, payload?: unknown) =>
  app.inject({ method: method as 'GET', url, headers: role ? { cookie: users[role]!.cookie } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function create(payload: Record<string, unknown> = {}, role: Role = 'monitor') {
  const res = await call(role, 'POST', '/api/incidents', { type: 'theft', source: 'call_110', title: `盗窃案 ${run}`, ...payload });
  if (res.statusCode !== 201) throw new Error(`create: ${res.statusCode} ${res.body}`);
  return res.json().incident as Record<string, any>;
}

async function camera(retentionDays = 30, extra: Record<string, unknown> = {}): Promise<string> {
  return (await deps.devices.create({ name: `警情相机-${randomBytes(3).toString('hex')}`, enabled: false, recording: { mode: 'continuous', retentionDays }, ...extra })).id;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
async function segments(deviceId: string, from: number, count: number) {
  const start = Math.floor(from / 1000) * 1000;
  const rows = Array.from({ length: count }, (_, i) => {
    const startsAt = new Date(start + i * SEG_MS);
    const path = `rec/${deviceId}/${stamp(startsAt).slice(0, 8)}/${stamp(startsAt)}.ts`;
    return { deviceId, startsAt, endsAt: new Date(startsAt.getTime() + SEG_MS), path, bytes: 1024 };
  });
  for (const r of rows) {
    mkdirSync(dirname(join(mediaRoot, r.path)), { recursive: true });
    writeFileSync(join(mediaRoot, r.path), Buffer.alloc(1024));
  }
  await deps.recordings.insertSegments(rows, platform.config.gateway.nodeId);
  return rows;
}

const activeHolds = async (kind: string, ref: string) =>
  (await platform.pool.query(`SELECT count(*)::int AS n FROM holds WHERE kind = $1 AND ref = $2 AND released_at IS NULL`, [kind, ref])).rows[0].n as number;

const timeline = async (id: string) => (await call('supervisor', 'GET', `/api/incidents/${id}/timeline`)).json().items as { kind: string; actorName: string; details: any }[];

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'retention.batchSize': 50 }));
  gateway = await startGateway(platform);
  mediaRoot = gateway.layout.root;
  deps = createWorkerDeps(platform);
  app = await buildConsole(platform);
  for (const role of ['admin', 'supervisor', 'monitor', 'investigator', 'patrol'] as const) users[role] = await loginAs(app, platform, [role]);
  unsubscribe = await platform.eventLog.subscribe((e) => { heard.push(e); });
});
afterAll(async () => {
  await unsubscribe?.();
  await deps?.jobs.close();
  await app?.close();
  await gateway?.close();
  await close?.();
});

describe('who may do what', () => {
  let id: string;
  beforeAll(async () => { id = (await create()).id; });

  const bm = '00000000-0000-4000-8000-000000000001';
  const routes = () => [
    ['GET', '/api/incidents/catalogue'], ['GET', '/api/incidents'], ['POST', '/api/incidents', { type: 'theft', source: 'other', title: 'x' }],
    ['GET', `/api/incidents/${id}`], ['PATCH', `/api/incidents/${id}`, { version: 1, title: 'y' }],
    ['POST', `/api/incidents/${id}/status`, { version: 1, status: 'dispatched' }], ['GET', `/api/incidents/${id}/timeline`],
    ['POST', `/api/incidents/${id}/notes`, { text: 'n' }], ['GET', `/api/incidents/${id}/evidence`],
    ['POST', `/api/incidents/${id}/bookmarks`, { deviceId: bm, from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:01:00Z' }],
    ['DELETE', `/api/incidents/${id}/bookmarks/${bm}`], ['POST', `/api/incidents/${id}/snapshots`, { deviceId: bm }],
    ['POST', `/api/incidents/${id}/exports`, { items: [{ deviceId: bm, from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:01:00Z' }], reason: 'r' }],
  ] as [string, string, unknown?][];

  it('refuses patrol everything (403) and strangers (401), and audits the refused writes', async () => {
    for (const [method, url, body] of routes()) {
      expect((await call('patrol', method, url, body)).statusCode, `${method} ${url}`).toBe(403);
      expect((await call(null, method, url, body)).statusCode, `${method} ${url}`).toBe(401);
    }
    const { rows } = await platform.pool.query(`SELECT outcome FROM audit_log WHERE actor_id = $1 AND action = 'incident.create'`, [users.patrol!.userId]);
    expect(rows).toEqual([{ outcome: 'denied' }]);
  });

  it('lets supervisors and investigators read but not create, edit or change status', async () => {
    for (const role of ['supervisor', 'investigator'] as const) {
      expect((await call(role, 'GET', '/api/incidents')).statusCode).toBe(200);
      expect((await call(role, 'GET', `/api/incidents/${id}`)).statusCode).toBe(200);
      expect((await call(role, 'GET', `/api/incidents/${id}/timeline`)).statusCode).toBe(200);
      expect((await call(role, 'GET', `/api/incidents/${id}/evidence`)).statusCode).toBe(200);
      expect((await call(role, 'GET', '/api/incidents/catalogue')).statusCode).toBe(200);
      expect((await call(role, 'POST', '/api/incidents', { type: 'theft', source: 'other', title: 'x' })).statusCode).toBe(403);
      expect((await call(role, 'PATCH', `/api/incidents/${id}`, { version: 1, title: 'y' })).statusCode).toBe(403);
      expect((await call(role, 'POST', `/api/incidents/${id}/status`, { version: 1, status: 'dispatched' })).statusCode).toBe(403);
    }
    // Notes and bookmarks: monitors and investigators, not supervisors; exports: not monitors.
    expect((await call('supervisor', 'POST', `/api/incidents/${id}/notes`, { text: 'n' })).statusCode).toBe(403);
    expect((await call('investigator', 'POST', `/api/incidents/${id}/notes`, { text: '调查员备注' })).statusCode).toBe(201);
    expect((await call('monitor', 'POST', `/api/incidents/${id}/exports`, routes()[12]![2])).statusCode).toBe(403);
    expect((await call('admin', 'PATCH', `/api/incidents/${id}`, { version: 1, priority: 2 })).statusCode).toBe(200);
  });
});

describe('creating', () => {
  it('numbers <prefix><site-local yyyymmdd><4 digits>, distinct and consecutive under concurrency', async () => {
    const day = localDay(platform.config.site.timezone).replace(/-/g, '');
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) => create({ title: `并发 ${i} ${run}` })));
    const numbers = made.map((m) => m.number as string);
    for (const n of numbers) expect(n).toMatch(new RegExp(`^JQ${day}\\d{4}$`));
    const seqs = numbers.map((n) => Number(n.slice(-4))).sort((a, b) => a - b);
    expect(new Set(seqs).size).toBe(20);
    expect(seqs.at(-1)! - seqs[0]!).toBe(19);
    const { rows } = await platform.pool.query(`SELECT last FROM incident_numbers WHERE day = to_date($1, 'YYYYMMDD')`, [day]);
    expect(rows[0].last).toBeGreaterThanOrEqual(seqs.at(-1)!);
  });

  it('answers the whole incident, writes its timeline, audit row and realtime events (after commit)', async () => {
    const before = await platform.eventLog.lastId();
    const inc = await create({ priority: 1, description: '嫌疑人骑电动车向东逃离', address: '人民路 12 号', lat: 31.23, lon: 121.47, reporterName: '张三', reporterPhone: '13800000000' });
    expect(inc).toMatchObject({
      type: 'theft', priority: 1, source: 'call_110', status: 'new', version: 1, lat: 31.23, lon: 121.47, address: '人民路 12 号',
      description: '嫌疑人骑电动车向东逃离', reporterName: '张三', reporterPhone: '13800000000', createdByName: users.monitor!.username,
      allowedTransitions: ['dispatched', 'cancelled'], closedAt: null, deviceId: null,
    });
    expect((await call('supervisor', 'GET', `/api/incidents/${inc.id}`)).json()).toEqual(inc);
    const tl = await timeline(inc.id);
    expect(tl).toHaveLength(1);
    expect(tl[0]).toMatchObject({ kind: 'created', actorName: users.monitor!.username, details: { number: inc.number, type: 'theft' } });
    const audit = await platform.pool.query(`SELECT action, outcome, actor_id FROM audit_log WHERE target_id = $1`, [inc.id]);
    expect(audit.rows).toEqual([{ action: 'incident.create', outcome: 'ok', actor_id: users.monitor!.userId }]);
    const logged = await platform.eventLog.since(before, ['incidents', `incident:${inc.id}`], 100);
    expect(logged.filter((e) => e.topic === 'incidents' && (e.payload.incident as any).id === inc.id).map((e) => e.kind)).toEqual(['incident.created']);
    expect(logged.filter((e) => e.topic === `incident:${inc.id}`).map((e) => e.kind)).toEqual(['incident.updated', 'incident.timeline']);
    const summary = logged.find((e) => e.topic === 'incidents' && (e.payload.incident as any).id === inc.id)!.payload.incident as Record<string, unknown>;
    expect(summary).not.toHaveProperty('description');
    expect(summary.number).toBe(inc.number);
    await expect.poll(() => heard.filter((e) => e.topic === `incident:${inc.id}`).length).toBe(2);
  });

  it('takes place, address and site from the camera it was raised from', async () => {
    const deviceId = await camera(30, { location: { lat: 30.5, lon: 114.3 }, address: '中山路卡口' });
    const inc = await create({ deviceId, source: 'video_patrol' });
    expect(inc).toMatchObject({ deviceId, lat: 30.5, lon: 114.3, address: '中山路卡口' });
    const placed = await create({ deviceId, lat: 30.6, lon: 114.4, address: '另一处' });
    expect(placed).toMatchObject({ lat: 30.6, lon: 114.4, address: '另一处' });
  });

  it('refuses bad input naming the field', async () => {
    const bad = async (payload: Record<string, unknown>, field: string, code?: string) => {
      const res = await call('monitor', 'POST', '/api/incidents', { type: 'theft', source: 'call_110', title: 't', ...payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().field).toBe(field);
      if (code) expect(res.json().code).toBe(code);
    };
    await bad({ type: 'jaywalking' }, 'type', 'incident.type_unknown');
    await bad({ lat: 91, lon: 0 }, 'lat');
    await bad({ lat: 0, lon: -180.5 }, 'lon');
    await bad({ lat: 30 }, 'lon', 'incident.location_pair');
    await bad({ title: '   ' }, 'title', 'incident.blank');
    await bad({ title: '' }, 'title');
    await bad({ occurredAt: new Date(Date.now() + DAY).toISOString() }, 'occurredAt', 'incident.occurred_future');
    await bad({ occurredAt: 'yesterday' }, 'occurredAt');
    await bad({ deviceId: randomUUID() }, 'deviceId', 'incident.device_unknown');
    await bad({ source: 'twitter' }, 'source');
    await bad({ priority: 5 }, 'priority');
    await bad({ title: 'x'.repeat(10_001) }, 'title');
  });

  it('stores 10 kB text and markup verbatim', async () => {
    const markup = '<script>alert(1)</script><img src=x onerror=alert(2)>&amp; "引号" \'\u202e';
    const title = `${markup}${'标'.repeat(10_000 - markup.length)}`;
    const description = 'd'.repeat(10_240) + markup;
    const inc = await create({ title, description, address: markup, reporterName: markup.slice(0, 100) });
    const got = (await call('supervisor', 'GET', `/api/incidents/${inc.id}`)).json();
    expect([got.title, got.description, got.address, got.reporterName]).toEqual([title, description, markup, markup.slice(0, 100)]);
  });

  it('answers 404 incident.not_found for an unknown id and 400 for a malformed one', async () => {
    const res = await call('supervisor', 'GET', `/api/incidents/${randomUUID()}`);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('incident.not_found');
    for (const path of ['', '/timeline', '/evidence']) expect((await call('supervisor', 'GET', `/api/incidents/${randomUUID()}${path}`)).statusCode).toBe(404);
    expect((await call('monitor', 'PATCH', `/api/incidents/${randomUUID()}`, { version: 1, title: 'x' })).statusCode).toBe(404);
    expect((await call('monitor', 'POST', `/api/incidents/${randomUUID()}/status`, { version: 1, status: 'dispatched' })).statusCode).toBe(404);
    expect((await call('monitor', 'POST', `/api/incidents/${randomUUID()}/notes`, { text: 'x' })).statusCode).toBe(404);
    expect((await call('supervisor', 'GET', '/api/incidents/not-a-uuid')).statusCode).toBe(400);
  });

  it('serves the catalogue', async () => {
    const c = (await call('investigator', 'GET', '/api/incidents/catalogue')).json();
    expect(c.types).toEqual(platform.config.incidents.types);
    expect(c.sources).toContain('call_110');
    expect(c.priorities).toEqual([1, 2, 3, 4]);
    expect(c.transitions.resolved).toEqual(['closed', 'on_scene', 'cancelled']);
    expect(c.transitions.closed).toEqual([]);
    expect(c.nearbyRadiusMeters).toBe(platform.config.incidents.nearbyRadiusMeters);
    expect(c).toMatchObject({ searchMaxRangeDays: platform.config.search.maxRangeDays, searchMaxCameras: platform.config.search.maxCameras });
  });
});

describe('editing', () => {
  it('changes the fields sent, bumps the version and writes old → new in the timeline and audit', async () => {
    const inc = await create({ priority: 3, address: '旧地址' });
    const res = await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 1, priority: 1, address: '新地址', title: inc.title, lat: 31.1, lon: 121.2 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: 2, priority: 1, address: '新地址', lat: 31.1, lon: 121.2, title: inc.title });
    const tl = await timeline(inc.id);
    expect(tl.at(-1)).toMatchObject({ kind: 'updated', details: { changes: { priority: { from: 3, to: 1 }, address: { from: '旧地址', to: '新地址' }, lat: { from: null, to: 31.1 }, lon: { from: null, to: 121.2 } } } });
    expect(Object.keys(tl.at(-1)!.details.changes)).toHaveLength(4);
    const audit = await platform.pool.query(`SELECT details FROM audit_log WHERE target_id = $1 AND action = 'incident.update'`, [inc.id]);
    expect(audit.rows[0].details.changes.priority).toEqual({ from: 3, to: 1 });
    // Nothing different: nothing written, the version stays.
    const same = await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 2, priority: 1 });
    expect(same.json().version).toBe(2);
    expect(await timeline(inc.id)).toHaveLength(tl.length);
    // Clearing the place takes both coordinates.
    expect((await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 2, lat: null })).json().field).toBe('lon');
    expect((await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 2, lat: null, lon: null })).json()).toMatchObject({ lat: null, lon: null, version: 3 });
    expect((await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 3, type: 'nope' })).json().code).toBe('incident.type_unknown');
    expect((await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 3, lat: 0, lon: 0 })).json()).toMatchObject({ lat: 0, lon: 0, version: 4 });
    expect((await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 4, deviceId: null })).json()).toMatchObject({ deviceId: null, version: 4 });
  });

  it('refuses a stale version with 409 incident.stale naming the current version and who changed it', async () => {
    const inc = await create();
    expect((await call('admin', 'PATCH', `/api/incidents/${inc.id}`, { version: 1, priority: 2 })).statusCode).toBe(200);
    const res = await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 1, priority: 4 });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'incident.stale', params: { currentVersion: 2, updatedByName: users.admin!.username } });
    const st = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version: 1, status: 'dispatched' });
    expect(st.statusCode).toBe(409);
    expect(st.json().code).toBe('incident.stale');
  });

  it('lets exactly one of two concurrent edits of one version win', async () => {
    for (let round = 0; round < 5; round++) {
      const inc = await create();
      const [a, b] = await Promise.all([
        call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version: 1, title: `甲 ${round}` }),
        call('admin', 'PATCH', `/api/incidents/${inc.id}`, { version: 1, title: `乙 ${round}` }),
      ]);
      expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
      const winner = a.statusCode === 200 ? a.json() : b.json();
      const now = (await call('supervisor', 'GET', `/api/incidents/${inc.id}`)).json();
      expect(now).toMatchObject({ version: 2, title: winner.title });
      expect((await timeline(inc.id)).filter((e) => e.kind === 'updated')).toHaveLength(1);
    }
  });
});

describe('the life cycle', () => {
  it('walks new → dispatched → on_scene → resolved → (reopened) on_scene → resolved → closed, each in the timeline', async () => {
    const inc = await create();
    let version = 1;
    const step = async (status: string, note?: string, extra: Record<string, unknown> = {}) => {
      const res = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version, status, ...(note ? { note } : {}), ...extra });
      expect(res.statusCode, `${status}: ${res.body}`).toBe(200);
      version = res.json().version;
      return res.json();
    };
    await step('dispatched', '派出所民警已出警');
    await step('on_scene');
    await step('resolved');
    expect((await step('on_scene', '重新到场')).allowedTransitions).toEqual(['resolved', 'cancelled']);
    await step('resolved');
    // Whether video helped solve it is recorded when closing, and only then.
    const early = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version, status: 'on_scene', videoAssisted: true });
    expect(early.json()).toMatchObject({ code: 'incident.video_assisted_on_close', field: 'videoAssisted' });
    const closed = await step('closed', undefined, { videoAssisted: true });
    expect(closed).toMatchObject({ status: 'closed', version: 7, allowedTransitions: [], videoAssisted: true, dispatchedAt: null, arrivedAt: null });
    expect(closed.closedAt).not.toBeNull();
    const statuses = (await timeline(inc.id)).filter((e) => e.kind === 'status').map((e) => e.details);
    expect(statuses).toEqual([
      { from: 'new', to: 'dispatched', note: '派出所民警已出警' }, { from: 'dispatched', to: 'on_scene' }, { from: 'on_scene', to: 'resolved' },
      { from: 'resolved', to: 'on_scene', note: '重新到场' }, { from: 'on_scene', to: 'resolved' }, { from: 'resolved', to: 'closed', videoAssisted: true },
    ]);
    const audit = await platform.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE target_id = $1 AND action = 'incident.status'`, [inc.id]);
    expect(audit.rows[0].n).toBe(6);
    // Final: no status, no edit.
    const again = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version, status: 'on_scene' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'incident.bad_transition', params: { from: 'closed', to: 'on_scene' } });
    const edit = await call('monitor', 'PATCH', `/api/incidents/${inc.id}`, { version, title: '改' });
    expect(edit.statusCode).toBe(409);
    expect(edit.json().code).toBe('incident.final');
  });

  it('refuses skipping steps with 409 incident.bad_transition {from, to}', async () => {
    const inc = await create();
    for (const status of ['on_scene', 'resolved', 'closed', 'new']) {
      const res = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version: 1, status });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'incident.bad_transition', params: { from: 'new', to: status } });
    }
    expect((await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version: 1, status: 'done' })).json().field).toBe('status');
    const cancelled = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version: 1, status: 'cancelled', note: '重复报警' });
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', allowedTransitions: [] });
    expect(cancelled.json().closedAt).not.toBeNull();
  });
});

describe('the list', () => {
  const tag = `LIST${run}`;
  const made: Record<string, any>[] = [];
  const list = async (query: string, role: Role = 'supervisor') => {
    const res = await call(role, 'GET', `/api/incidents?q=${tag}&${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: Record<string, any>[]; nextCursor: string | null; total: number; totalCapped: boolean };
  };

  beforeAll(async () => {
    const base = Date.now() - 10 * DAY;
    const specs = [
      { type: 'theft', priority: 1, source: 'call_110', lat: 31.20, lon: 121.40 },
      { type: 'theft', priority: 2, source: 'video_patrol', lat: 31.21, lon: 121.41 },
      { type: 'fight', priority: 1, source: 'call_110', lat: 31.30, lon: 121.50 },
      { type: 'fight', priority: 3, source: 'patrol_report', lat: 31.22, lon: 121.42 },
      { type: 'fraud', priority: 4, source: 'other' },
      { type: 'theft', priority: 3, source: 'call_110', lat: 40.0, lon: 116.4 },
      { type: 'traffic', priority: 2, source: 'call_110', lat: 31.205, lon: 121.405 },
    ];
    for (const [i, s] of specs.entries()) {
      made.push(await create({ ...s, title: `${tag} 第${i}起 ${i === 3 ? '电动车被盗' : '普通'}`, occurredAt: new Date(base + i * DAY).toISOString() }));
    }
    await call('monitor', 'POST', `/api/incidents/${made[1]!.id}/status`, { version: 1, status: 'dispatched' });
    await call('monitor', 'POST', `/api/incidents/${made[2]!.id}/status`, { version: 1, status: 'cancelled' });
  });

  const numbers = (r: { items: Record<string, any>[] }) => r.items.map((i) => i.number);
  const of = (...idx: number[]) => idx.map((i) => made[i]!.number);

  it('orders newest occurrence first and filters by status (several, or open), type, priority, source', async () => {
    expect(numbers(await list(''))).toEqual(of(6, 5, 4, 3, 2, 1, 0));
    expect(numbers(await list('status=dispatched,cancelled'))).toEqual(of(2, 1));
    expect(numbers(await list('status=open&type=fight'))).toEqual(of(3));
    expect(numbers(await list('type=theft'))).toEqual(of(5, 1, 0));
    expect(numbers(await list('priority=1'))).toEqual(of(2, 0));
    expect(numbers(await list('source=call_110&status=new'))).toEqual(of(6, 5, 0));
    const all = await list('');
    expect(all).toMatchObject({ total: 7, totalCapped: false, nextCursor: null });
    expect(Object.keys(all.items[0]!).sort()).toEqual(['address', 'createdAt', 'createdByName', 'id', 'lat', 'lon', 'number', 'occurredAt', 'priority', 'source', 'status', 'title', 'type', 'updatedAt', 'version']);
  });

  it('filters by time range (from inclusive, to exclusive) and refuses a reversed one', async () => {
    const at = (i: number) => made[i]!.occurredAt as string;
    expect(numbers(await list(`from=${at(2)}&to=${at(5)}`))).toEqual(of(4, 3, 2));
    const res = await call('supervisor', 'GET', `/api/incidents?from=${at(5)}&to=${at(2)}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'to', code: 'incident.range_order' });
    expect((await call('supervisor', 'GET', '/api/incidents?from=soon')).json().field).toBe('from');
  });

  it('searches text in number, title, description and address (wildcards literal)', async () => {
    const res = await call('supervisor', 'GET', `/api/incidents?q=${encodeURIComponent(`${tag} 第3起 电动车`)}`);
    expect(numbers(res.json())).toEqual(of(3));
    const byNumber = await call('supervisor', 'GET', `/api/incidents?q=${made[4]!.number}`);
    expect(numbers(byNumber.json())).toEqual(of(4));
    expect((await call('supervisor', 'GET', `/api/incidents?q=${encodeURIComponent(`${tag}%第`)}`)).json().items).toEqual([]);
  });

  it('filters by area and refuses an incomplete or reversed one naming the field', async () => {
    expect(numbers(await list('minLat=31.19&minLon=121.39&maxLat=31.215&maxLon=121.415'))).toEqual(of(6, 1, 0));
    const missing = await call('supervisor', 'GET', '/api/incidents?minLat=31&minLon=121&maxLat=32');
    expect(missing.json()).toMatchObject({ field: 'maxLon', code: 'incident.bbox_incomplete' });
    const reversed = await call('supervisor', 'GET', '/api/incidents?minLat=32&minLon=121&maxLat=31&maxLon=122');
    expect(reversed.json()).toMatchObject({ field: 'maxLat', code: 'incident.bbox_order' });
    expect((await call('supervisor', 'GET', '/api/incidents?minLat=-91&minLon=121&maxLat=31&maxLon=122')).json().field).toBe('minLat');
    expect((await call('supervisor', 'GET', '/api/incidents?status=archived')).json()).toMatchObject({ field: 'status', code: 'incident.status_unknown' });
    expect((await call('supervisor', 'GET', '/api/incidents?type=nope')).json().field).toBe('type');
  });

  it('pages with a keyset cursor: every row once, in order, even when a row is added meanwhile', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let first = true;
    do {
      const page = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.total).toBe(first ? 7 : page.total);
      if (first) await create({ title: `${tag} 新增`, occurredAt: new Date().toISOString() }); // newer than all: not on later pages
      first = false;
      seen.push(...numbers(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(of(6, 5, 4, 3, 2, 1, 0));
    expect((await call('supervisor', 'GET', '/api/incidents?cursor=garbage')).json()).toMatchObject({ field: 'cursor', code: 'incident.bad_cursor' });
  });

  it('counts the total up to 10,000 and says when it is capped', async () => {
    const cap = `CAP${run}`;
    await platform.pool.query(
      `INSERT INTO incidents (number, type, source, title, occurred_at, created_by_name)
       SELECT $1 || g, 'other', 'other', $1 || ' 批量', now() - g * interval '1 minute', 'test' FROM generate_series(1, 10050) g`, [cap]);
    const res = (await call('supervisor', 'GET', `/api/incidents?q=${cap}&limit=200`)).json();
    expect(res).toMatchObject({ total: 10_000, totalCapped: true });
    expect(res.items).toHaveLength(200);
    expect(res.nextCursor).not.toBeNull();
    const some = (await call('supervisor', 'GET', `/api/incidents?q=${cap}&from=${new Date(Date.now() - 100.5 * 60_000).toISOString()}`)).json();
    expect(some).toMatchObject({ total: 100, totalCapped: false });
    await platform.pool.query(`DELETE FROM incidents WHERE number LIKE $1`, [`${cap}%`]);
  });
});

describe('notes, bookmarks and retention', () => {
  it('adds notes to the timeline with the author; refuses blank ones', async () => {
    const inc = await create();
    const res = await call('investigator', 'POST', `/api/incidents/${inc.id}/notes`, { text: '<b>嫌疑人</b>穿红色上衣' });
    expect(res.statusCode).toBe(201);
    expect(res.json().entry).toMatchObject({ kind: 'note', actorName: users.investigator!.username, details: { text: '<b>嫌疑人</b>穿红色上衣' } });
    expect((await timeline(inc.id)).at(-1)!.kind).toBe('note');
    expect((await call('monitor', 'POST', `/api/incidents/${inc.id}/notes`, { text: '  ' })).json()).toMatchObject({ field: 'text', code: 'incident.blank' });
    await expect.poll(() => heard.some((e) => e.topic === `incident:${inc.id}` && e.kind === 'incident.timeline' && (e.payload.entry as any).kind === 'note')).toBe(true);
  });

  it('bookmarks hold footage; removing one releases its hold; bad ranges are refused', async () => {
    const inc = await create();
    const deviceId = await camera();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() - 3_000_000).toISOString();
    const res = await call('investigator', 'POST', `/api/incidents/${inc.id}/bookmarks`, { deviceId, from, to, note: '嫌疑人出现' });
    expect(res.statusCode, res.body).toBe(201);
    const bookmark = res.json().bookmark;
    expect(bookmark).toMatchObject({ incidentId: inc.id, deviceId, from, to, note: '嫌疑人出现', createdByName: users.investigator!.username });
    expect(bookmark.deviceName).toMatch(/^警情相机-/);
    expect(await activeHolds('bookmark', bookmark.id)).toBe(1);
    const ev = (await call('supervisor', 'GET', `/api/incidents/${inc.id}/evidence`)).json();
    expect(ev.bookmarks).toEqual([bookmark]);
    expect((await call('supervisor', 'POST', `/api/incidents/${inc.id}/bookmarks`, { deviceId, from, to })).statusCode).toBe(403);

    const bad = async (body: Record<string, unknown>, field: string) => {
      const r = await call('monitor', 'POST', `/api/incidents/${inc.id}/bookmarks`, { deviceId, from, to, ...body });
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().field).toBe(field);
    };
    await bad({ from: to, to: from }, 'to');
    await bad({ from: new Date(Date.now() + 60_000).toISOString(), to: new Date(Date.now() + 120_000).toISOString() }, 'from');
    await bad({ from: new Date(Date.now() - 2 * DAY).toISOString() }, 'to');
    await bad({ deviceId: randomUUID() }, 'deviceId');

    const del = await call('monitor', 'DELETE', `/api/incidents/${inc.id}/bookmarks/${bookmark.id}`);
    expect(del.statusCode).toBe(204);
    expect(await activeHolds('bookmark', bookmark.id)).toBe(0);
    expect((await call('monitor', 'DELETE', `/api/incidents/${inc.id}/bookmarks/${bookmark.id}`)).json().code).toBe('incident.bookmark_not_found');
    expect((await timeline(inc.id)).map((e) => e.kind)).toEqual(['created', 'bookmark.added', 'bookmark.removed']);
    const audit = await platform.pool.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [inc.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['incident.create', 'incident.bookmark_add', 'incident.bookmark_remove']);
  });

  it('keeps a bookmarked range through retention while open, and lets it go once the incident is closed', async () => {
    await runRetention(deps, { trigger: 'manual', log: platform.log }); // whatever earlier files left
    await platform.pool.query(`DELETE FROM media_purges WHERE node_id <> $1`, [platform.config.gateway.nodeId]);
    const deviceId = await camera(1);
    const segs = await segments(deviceId, Date.now() - 3 * DAY, 12);
    const inc = await create();
    const res = await call('monitor', 'POST', `/api/incidents/${inc.id}/bookmarks`, {
      deviceId, from: new Date(segs[4]!.startsAt.getTime() + 1000).toISOString(), to: new Date(segs[7]!.endsAt.getTime() - 1000).toISOString(),
    });
    expect(res.statusCode, res.body).toBe(201);
    const indexed = async () => (await platform.pool.query('SELECT path FROM recording_segments WHERE device_id = $1 ORDER BY starts_at', [deviceId])).rows.map((r) => r.path as string);

    await runRetention(deps, { trigger: 'manual', log: platform.log });
    expect(await indexed()).toEqual(segs.slice(4, 8).map((s) => s.path));
    expect(segs.slice(4, 8).every((s) => existsSync(join(mediaRoot, s.path)))).toBe(true);
    expect(existsSync(join(mediaRoot, segs[0]!.path))).toBe(false);

    let version = 1;
    for (const status of ['dispatched', 'on_scene', 'resolved', 'closed']) {
      const r = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version, status });
      version = r.json().version;
    }
    expect(await activeHolds('bookmark', res.json().bookmark.id)).toBe(0);
    expect((await timeline(inc.id)).at(-1)).toMatchObject({ kind: 'holds.released', details: { bookmarks: 1, holds: 1 } });
    // Closed: no new bookmark.
    expect((await call('monitor', 'POST', `/api/incidents/${inc.id}/bookmarks`, { deviceId, from: segs[0]!.startsAt, to: segs[1]!.endsAt })).json().code).toBe('incident.final');

    await runRetention(deps, { trigger: 'manual', log: platform.log });
    expect(await indexed()).toEqual([]);
    expect(segs.some((s) => existsSync(join(mediaRoot, s.path)))).toBe(false);
  });
});

describe('evidence: exports and snapshots', () => {
  it('exports for the incident: case number = incident number, linked, in evidence and timeline; monitors refused', async () => {
    const inc = await create();
    const deviceId = await camera();
    const segs = await segments(deviceId, Date.now() - 600_000, 6);
    const items = [{ deviceId, from: segs[0]!.startsAt.toISOString(), to: segs[5]!.endsAt.toISOString() }];
    const res = await call('investigator', 'POST', `/api/incidents/${inc.id}/exports`, { items, reason: '移送检察院' });
    expect(res.statusCode, res.body).toBe(202);
    const exp = res.json().export;
    expect(exp).toMatchObject({ caseNumber: inc.number, reason: '移送检察院' });
    const row = await platform.pool.query('SELECT incident_id FROM exports WHERE id = $1', [exp.id]);
    expect(row.rows[0].incident_id).toBe(inc.id);
    expect(await activeHolds('export', exp.id)).toBe(1);
    const ev = (await call('supervisor', 'GET', `/api/incidents/${inc.id}/evidence`)).json();
    expect(ev.exports).toHaveLength(1);
    expect(ev.exports[0]).toMatchObject({ id: exp.id, caseNumber: inc.number, reason: '移送检察院', requestedByName: users.investigator!.username });
    expect((await timeline(inc.id)).at(-1)).toMatchObject({ kind: 'export.started', details: { exportId: exp.id } });
    const audit = await platform.pool.query(`SELECT details FROM audit_log WHERE action = 'export.request' AND target_id = $1`, [exp.id]);
    expect(audit.rows[0].details.incidentId).toBe(inc.id);
    expect((await call('investigator', 'POST', `/api/incidents/${randomUUID()}/exports`, { items, reason: 'x' })).statusCode).toBe(404);
    const bad = await call('investigator', 'POST', `/api/incidents/${inc.id}/exports`, { items: [{ ...items[0], from: items[0]!.to, to: items[0]!.from }], reason: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('items.0.to');

    // The package expires while the incident is open: its footage stays held until the incident closes.
    const path = deps.evidence.exportPath(exp.id);
    await deps.evidence.put(path, Buffer.alloc(100, 1));
    const old = new Date(Date.now() - (platform.config.evidence.exportRetentionDays + 1) * DAY);
    await platform.pool.query(`UPDATE exports SET status = 'done', path = $2, bytes = 100, finished_at = $3 WHERE id = $1`, [exp.id, path, old]);
    await runRetention(deps, { trigger: 'manual', log: platform.log });
    expect((await platform.pool.query('SELECT status FROM exports WHERE id = $1', [exp.id])).rows[0].status).toBe('expired');
    expect(await activeHolds('export', exp.id)).toBe(1);
    const cancel = await call('monitor', 'POST', `/api/incidents/${inc.id}/status`, { version: 1, status: 'cancelled' });
    expect(cancel.statusCode).toBe(200);
    expect(await activeHolds('export', exp.id)).toBe(0);
  });

  it('lists the incident\'s snapshots with signed links; snapshot requests check the incident first', async () => {
    const inc = await create();
    const deviceId = await camera();
    const sid = randomUUID();
    const path = deps.evidence.snapshotPath(deviceId, new Date(), sid);
    await deps.evidence.put(path, Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    await platform.pool.query(
      `INSERT INTO snapshots (id, device_id, taken_at, source, path, bytes, requested_by_name, purpose, incident_id) VALUES ($1, $2, now(), 'session', $3, 4, 'test', 'manual', $4)`,
      [sid, deviceId, path, inc.id]);
    const ev = (await call('investigator', 'GET', `/api/incidents/${inc.id}/evidence`)).json();
    expect(ev.snapshots).toHaveLength(1);
    expect(ev.snapshots[0]).toMatchObject({ id: sid, deviceId });
    expect(ev.snapshots[0].url).toMatch(new RegExp(`^/api/snapshots/${sid}/image/`));
    const img = await app.inject({ method: 'GET', url: ev.snapshots[0].url });
    expect(img.statusCode).toBe(200);
    expect((await call('investigator', 'POST', `/api/incidents/${randomUUID()}/snapshots`, { deviceId })).statusCode).toBe(404);
    expect((await call('supervisor', 'POST', `/api/incidents/${inc.id}/snapshots`, { deviceId })).statusCode).toBe(403);
    expect((await call('investigator', 'POST', `/api/incidents/${inc.id}/snapshots`, { deviceId, at: new Date(Date.now() + DAY).toISOString() })).json().field).toBe('at');
  });
});

describe('a snapshot taken for the incident', () => {
  let sim: Simulator;
  let deviceId: string;
  beforeAll(async () => {
    sim = await startSimulator({ cameras: [{ id: `inc-snap-${run}`, width: 320, height: 180, fps: 10 }], host: '127.0.0.1' });
    const c = sim.cameras[0]!;
    const res = await call('admin', 'POST', '/api/devices', {
      name: `警情抓图-${run}`, onvif: { host: '127.0.0.1', port: c.onvifPort, username: c.spec.username, password: c.spec.password },
      streams: { main: c.rtspUri('main'), snapshot: c.snapshotUri() },
    });
    if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`);
    deviceId = res.json().id;
    await waitUntil(() => gateway.membership.held().includes(deviceId), 20_000, 'the gateway to hold the camera');
  });
  afterAll(async () => { await sim?.close(); });

  it('is taken live through the snapshot service, linked to the incident, in its evidence and timeline', async () => {
    const inc = await create();
    const res = await call('investigator', 'POST', `/api/incidents/${inc.id}/snapshots`, { deviceId });
    expect(res.statusCode, res.body).toBe(201);
    const { snapshot } = res.json();
    expect(snapshot).toMatchObject({ deviceId, width: 320, height: 180, reason: `incident:${inc.number}`, requestedByName: users.investigator!.username });
    expect((await platform.pool.query('SELECT incident_id FROM snapshots WHERE id = $1', [snapshot.id])).rows[0].incident_id).toBe(inc.id);
    const ev = (await call('supervisor', 'GET', `/api/incidents/${inc.id}/evidence`)).json();
    expect(ev.snapshots.map((s: { id: string }) => s.id)).toEqual([snapshot.id]);
    expect((await app.inject({ method: 'GET', url: ev.snapshots[0].url })).headers['content-type']).toBe('image/jpeg');
    expect((await timeline(inc.id)).at(-1)).toMatchObject({ kind: 'snapshot.added', details: { snapshotId: snapshot.id, deviceId } });
    const audit = await platform.pool.query(`SELECT reason FROM audit_log WHERE action = 'snapshot.take' AND target_id = $1 ORDER BY id DESC LIMIT 1`, [deviceId]);
    expect(audit.rows[0].reason).toBe(`incident:${inc.number}`);
  });
});

describe('timeline entries from other features', () => {
  it('addTimeline writes in the caller\'s transaction and publishes after its commit', async () => {
    const { createIncidentService } = await import('../../console/server/incidents/service.ts');
    const ctx = { platform, work: deps } as unknown as Parameters<typeof createIncidentService>[0];
    const svc = createIncidentService(ctx);
    const inc = await create();
    const client = await platform.pool.connect();
    try {
      await client.query('BEGIN');
      const { entry, publish } = await svc.addTimeline(inc.id, { id: null, name: 'alarm-rule' }, 'alarm.joined', { alarmId: 'a1' }, client);
      expect((await timeline(inc.id)).some((e) => e.kind === 'alarm.joined')).toBe(false);
      await client.query('COMMIT');
      await publish();
      expect(entry).toMatchObject({ kind: 'alarm.joined', actorName: 'alarm-rule' });
    } finally {
      client.release();
    }
    expect((await timeline(inc.id)).at(-1)).toMatchObject({ kind: 'alarm.joined', details: { alarmId: 'a1' } });
    await expect.poll(() => heard.some((e) => e.topic === `incident:${inc.id}` && (e.payload.entry as any)?.kind === 'alarm.joined')).toBe(true);
    await expect(svc.addTimeline(randomUUID(), { id: null, name: 'x' }, 'camera.viewed', {})).rejects.toMatchObject({ statusCode: 404 });
  });

  it('create runs the caller\'s work in its transaction: a failure there leaves no incident', async () => {
    const { createIncidentService } = await import('../../console/server/incidents/service.ts');
    const svc = createIncidentService({ platform, work: deps } as unknown as Parameters<typeof createIncidentService>[0]);
    const principal = { kind: 'user' as const, userId: users.monitor!.userId, username: users.monitor!.username, roles: ['monitor' as const] };
    const title = `告警转警情 ${run}`;
    await expect(svc.create(principal, { type: 'other', source: 'face_alarm', title }, {}, {
      inTransaction: async () => { throw new Error('alarm already linked'); },
    })).rejects.toThrow('alarm already linked');
    expect((await platform.pool.query('SELECT count(*)::int AS n FROM incidents WHERE title = $1', [title])).rows[0].n).toBe(0);
    let publish: (() => Promise<void>) | null = null;
    const inc = await svc.create(principal, { type: 'other', source: 'face_alarm', title }, {}, {
      inTransaction: async (db, created) => { publish = (await svc.addTimeline(created.id, { id: null, name: 'alarms' }, 'alarm.joined', { alarmId: 'a2' }, db)).publish; },
    });
    await publish!();
    expect((await timeline(inc.id)).map((e) => e.kind)).toEqual(['created', 'alarm.joined']);
  });
});
