import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmRaiser } from '../../console/server/alarms/raise.ts';
import { buildConsole } from '../../console/server/main.ts';
import type { RealtimeEvent } from '../../core/events.ts';
import type { App } from '../../core/http/app.ts';
import type { Role } from '../../core/identity/types.ts';
import type { Platform } from '../../core/platform.ts';
import { createDeviceRepository } from '../../gateway/devices/repository.ts';
import { createDeviceService } from '../../gateway/devices/service.ts';
import { createMaintenanceFamily } from '../../workers/maintenance/family.ts';
import { loginAs, testPlatform, waitUntil } from '../helpers/platform.ts';

// The monitor-patrol linkage (监巡联动) against real PostgreSQL and Redis through the console's
// HTTP API and its realtime WebSocket: units and duty, GPS from phones and terminals, proposals,
// cues and their rules, escalation, pushed cameras, rings, photos, response times and who may do what.
// Its own database: the nearest-unit answers must see only the units this file makes.

type WsCtor = new (url: string, opts?: { headers?: Record<string, string>; origin?: string }) => {
  on(e: 'message', f: (d: Buffer) => void): void; on(e: 'open' | 'close', f: () => void): void; on(e: 'error', f: (err: Error) => void): void;
  send(d: string): void; close(): void;
};
const WS = createRequire(import.meta.url)('ws') as WsCtor;

let platform: Platform;
let close: () => Promise<void>;
let app: App;
let base: string;
const heard: RealtimeEvent[] = [];
let unsubscribe: () => Promise<void>;
type User = { cookie: string; userId: string; username: string };
const staff: Partial<Record<Role, User>> = {};
let p1: User; // member of 巡01 (vehicle)
let p2: User; // member of 巡02 (foot)
let p3: User; // member of no unit
let unit1: Record<string, any>;
let unit2: Record<string, any>;
let unit3: Record<string, any>; // 巡03, nobody on duty
let cameraNear: string;
let cameraFar: string;
let checkpoint: string;

// The incident's place and the units around it (a city block in Hangzhou).
const AT = { lat: 30.25, lon: 120.16 };
const north = (m: number) => ({ lat: AT.lat + m / 111_200, lon: AT.lon });

const call = (who: User | null, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: method as 'GET', url, headers: { ...(who ? { cookie: who.cookie } : {}), ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function ok(res: Awaited<ReturnType<typeof call>>, status = 200) {
  if (res.statusCode !== status) throw new Error(`${res.statusCode} ${res.body}`);
  return res.json();
}

const fix = (p: { lat: number; lon: number }, agoMs = 0, extra: Record<string, unknown> = {}) => ({ at: new Date(Date.now() - agoMs).toISOString(), lat: p.lat, lon: p.lon, ...extra });

async function incident(title = '抢夺案', at: { lat: number; lon: number } | null = AT) {
  return (await ok(await call(staff.monitor!, 'POST', '/api/incidents', { type: 'robbery', source: 'call_110', title, ...(at ?? {}) }), 201)).incident as Record<string, any>;
}

function socket(user: User): Promise<{ messages: Record<string, any>[]; send(m: unknown): void; close(): void; next(pred: (m: Record<string, any>) => boolean, ms?: number): Promise<Record<string, any>> }> {
  return new Promise((resolve, reject) => {
    const ws = new WS(`${base.replace('http', 'ws')}/api/events`, { headers: { cookie: user.cookie }, origin: base });
    const messages: Record<string, any>[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    ws.on('error', reject);
    ws.on('open', () => resolve({
      messages, send: (m) => ws.send(JSON.stringify(m)), close: () => ws.close(),
      async next(pred, ms = 5000) {
        const end = Date.now() + ms;
        for (;;) {
          const m = messages.find(pred);
          if (m) return m;
          if (Date.now() > end) throw new Error(`no message in ${ms} ms: ${JSON.stringify(messages).slice(0, 400)}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      },
    }));
  });
}

function multipart(name: string, filename: string, type: string, data: Buffer) {
  const boundary = `----skynet${randomUUID()}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`),
    data, Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7), Buffer.from([0xff, 0xd9])]);

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'linkage.ackTimeoutSeconds': 600, 'linkage.maxFixesPerSecond': 5 }, { ownDatabase: true }));
  app = await buildConsole(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  for (const role of ['admin', 'supervisor', 'monitor', 'investigator'] as const) staff[role] = await loginAs(app, platform, [role]);
  [p1, p2, p3] = [await loginAs(app, platform, ['patrol']), await loginAs(app, platform, ['patrol']), await loginAs(app, platform, ['patrol'])];
  unsubscribe = await platform.eventLog.subscribe((e) => { heard.push(e); });
  const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
  const cam = async (name: string, p: { lat: number; lon: number }, kind: 'camera' | 'checkpoint' = 'camera') =>
    (await devices.create({ name, kind, enabled: false, location: { lat: p.lat, lon: p.lon } })).id;
  cameraNear = await cam('人民路口-枪机', north(120));
  cameraFar = await cam('解放路-球机', north(2500));
  checkpoint = await cam('环城北路卡口', north(4000), 'checkpoint');
}, 60_000);

afterAll(async () => {
  await unsubscribe?.();
  await app?.close();
  await close?.();
});

describe('patrol units (巡逻力量)', () => {
  it('lets an admin create units with members and a grid, and refuses what is wrong with the field named', async () => {
    const grid = [[120.15, 30.24], [120.17, 30.24], [120.17, 30.26], [120.15, 30.26]];
    unit1 = await ok(await call(staff.admin!, 'POST', '/api/units', { callSign: '巡01', kind: 'vehicle', grid, gridName: '人民路责任田', memberIds: [p1.userId] }), 201);
    expect(unit1).toMatchObject({ callSign: '巡01', kind: 'vehicle', state: 'off_duty', gridName: '人民路责任田', position: null, stale: true, activeCueId: null });
    expect(unit1.members).toEqual([expect.objectContaining({ userId: p1.userId, onDuty: false })]);
    unit2 = await ok(await call(staff.admin!, 'POST', '/api/units', { callSign: '巡02', kind: 'foot', memberIds: [p2.userId] }), 201);
    unit3 = await ok(await call(staff.admin!, 'POST', '/api/units', { callSign: '巡03', kind: 'ebike' }), 201);

    const taken = await call(staff.admin!, 'POST', '/api/units', { callSign: '巡01', kind: 'foot' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ code: 'linkage.call_sign_taken', field: 'callSign' });
    const badGrid = await call(staff.admin!, 'POST', '/api/units', { callSign: '巡09', kind: 'foot', grid: [[120, 30], [121, 30]] });
    expect(badGrid.json()).toMatchObject({ code: 'linkage.grid_invalid', field: 'grid' });
    const notPatrol = await call(staff.admin!, 'POST', '/api/units', { callSign: '巡09', kind: 'foot', memberIds: [staff.monitor!.userId] });
    expect(notPatrol.json()).toMatchObject({ code: 'linkage.member_not_patrol', field: 'memberIds' });
    const badKind = await call(staff.admin!, 'POST', '/api/units', { callSign: '巡09', kind: 'helicopter' });
    expect(badKind.statusCode).toBe(400);

    const stale = await call(staff.admin!, 'PATCH', `/api/units/${unit3.id}`, { gridName: 'x', version: unit3.version + 5 });
    expect(stale.json()).toMatchObject({ code: 'linkage.unit_stale' });
    const renamed = await ok(await call(staff.admin!, 'PATCH', `/api/units/${unit3.id}`, { gridName: '城站片区', version: unit3.version }));
    expect(renamed).toMatchObject({ gridName: '城站片区', version: unit3.version + 1 });
  });

  it('lets a member go on duty with their unit only, one unit at a time', async () => {
    expect((await call(p3, 'POST', '/api/patrol/duty', { unitId: unit1.id })).json()).toMatchObject({ code: 'linkage.not_member' });
    const on = await ok(await call(p1, 'POST', '/api/patrol/duty', { unitId: unit1.id }));
    expect(on).toMatchObject({ state: 'available' });
    expect(on.onDutySince).not.toBeNull();
    expect(await ok(await call(p2, 'POST', '/api/patrol/duty', { unitId: unit2.id }))).toMatchObject({ state: 'available' });
    await platform.pool.query('INSERT INTO unit_members (unit_id, user_id) VALUES ($1, $2)', [unit2.id, p1.userId]);
    expect((await call(p1, 'POST', '/api/patrol/duty', { unitId: unit2.id })).json()).toMatchObject({ code: 'linkage.on_duty_elsewhere' });
    await platform.pool.query('DELETE FROM unit_members WHERE unit_id = $1 AND user_id = $2', [unit2.id, p1.userId]);
    const me = await ok(await call(p1, 'GET', '/api/patrol/me'));
    expect(me.duty.unit.id).toBe(unit1.id);
    expect(me.units.map((u: { id: string }) => u.id)).toEqual([unit1.id]);
    expect(me.cue).toBeNull();
    expect(heard.some((e) => e.topic === 'units' && e.kind === 'unit.updated' && (e.payload.unit as { id: string }).id === unit1.id)).toBe(true);
  });
});

describe('GPS (定位)', () => {
  it('keeps the good fixes of a batch and names each bad one, fanning the newest out on `units`', async () => {
    const before = heard.length;
    const res = await ok(await call(p1, 'POST', '/api/patrol/positions', {
      fixes: [fix(north(900), 20_000), fix(north(800), 10_000, { heading: 180, speed: 8 }), fix({ lat: 95, lon: 120 }), fix(north(800), -120_000), fix({ lat: 0, lon: 0 }), fix(north(800), 10_000, { heading: 180 })],
    }));
    expect(res.accepted).toBe(2);
    expect(res.duplicates).toBe(1);
    expect(res.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([[2, 'linkage.fix_range'], [3, 'linkage.fix_future'], [4, 'linkage.fix_range']]);
    await waitUntil(() => heard.slice(before).some((e) => e.kind === 'unit.positions'), 3000, 'unit.positions');
    const event = heard.slice(before).find((e) => e.kind === 'unit.positions')!;
    expect(event.topic).toBe('units');
    expect(event.payload.positions).toEqual([expect.objectContaining({ unitId: unit1.id, heading: 180, speed: 8, source: 'phone' })]);
    const u = await ok(await call(staff.monitor!, 'GET', `/api/units/${unit1.id}`));
    expect(u.stale).toBe(false);
    expect(u.position.lat).toBeCloseTo(north(800).lat, 6);
    const track = await ok(await call(staff.supervisor!, 'GET', `/api/units/${unit1.id}/track`));
    expect(track.items).toHaveLength(2);
    // Sending the same again stores nothing twice; an older fix does not move the unit back.
    expect(await ok(await call(p1, 'POST', '/api/patrol/positions', { fixes: [fix(north(5000), 3600_000)] }))).toMatchObject({ accepted: 1 });
    expect((await ok(await call(staff.monitor!, 'GET', `/api/units/${unit1.id}`))).position.lat).toBeCloseTo(north(800).lat, 6);
  });

  it('refuses fixes from a patrol user off duty, and answers a flood with 429 without losing the good requests', async () => {
    expect((await call(p3, 'POST', '/api/patrol/positions', { fixes: [fix(AT)] })).json()).toMatchObject({ code: 'linkage.not_on_duty' });
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await call(p2, 'POST', '/api/patrol/positions', { fixes: [fix(north(300), i * 1000)] })).statusCode);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
    expect(statuses).toContain(429);
    const flooded = await call(p2, 'POST', '/api/patrol/positions', { fixes: [fix(north(300))] });
    if (flooded.statusCode === 429) expect(flooded.json()).toMatchObject({ code: 'linkage.gps_flood' });
    const stored = (await platform.pool.query('SELECT count(*)::int AS n FROM unit_positions WHERE unit_id = $1', [unit2.id])).rows[0].n;
    expect(stored).toBe(statuses.filter((s) => s === 200).length + (flooded.statusCode === 200 ? 1 : 0));
    // A flood fills no audit log: the 429s write no refusal rows (the 401s of a wrong credential do).
    const refusals = await platform.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'POST /api/patrol/positions' AND details->>'status' = '429'`);
    expect(refusals.rows[0].n).toBe(0);
    const garbage = await call(p2, 'POST', '/api/patrol/positions', { fixes: 'everywhere' });
    expect(garbage.statusCode).toBe(400);
  });

  it('takes fixes from a vehicle terminal with its credential, and nothing without it', async () => {
    const cred = await ok(await call(staff.admin!, 'POST', `/api/units/${unit3.id}/terminal`));
    expect(cred.terminalId).toMatch(/^T[0-9A-F]{12}$/);
    const auth = { authorization: `Terminal ${cred.terminalId}:${cred.secret}` };
    expect(await ok(await call(null, 'POST', '/api/gps/fixes', { fixes: [fix(north(1500))] }, auth))).toMatchObject({ accepted: 1 });
    for (const bad of [undefined, `Terminal ${cred.terminalId}:${'x'.repeat(32)}`, `Bearer ${cred.secret}`, 'Terminal nonsense']) {
      const res = await call(null, 'POST', '/api/gps/fixes', { fixes: [fix(north(1500))] }, bad ? { authorization: bad } : {});
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'linkage.terminal_unauthorized' });
    }
    const u = await ok(await call(staff.monitor!, 'GET', `/api/units/${unit3.id}`));
    expect(u.position).toMatchObject({ source: 'terminal' });
    expect(u.state).toBe('off_duty');
  });
});

describe('cues (监巡指令)', () => {
  let inc: Record<string, any>;
  let cue: Record<string, any>;

  it('proposes the nearest available units with the cameras along their way', async () => {
    inc = await incident();
    const l = await ok(await call(staff.monitor!, 'GET', `/api/incidents/${inc.id}/linkage`));
    // 巡02 is 300 m north, 巡01 800 m; 巡03 (1,500 m) is off duty.
    expect(l.proposals.map((p: { unit: { callSign: string } }) => p.unit.callSign)).toEqual(['巡02', '巡01']);
    expect(l.proposals[0].distanceM).toBeGreaterThan(280);
    expect(l.proposals[0].distanceM).toBeLessThan(320);
    expect(l.proposals[0].etaSeconds).toBeNull();
    expect(l.proposals[1].alongTheWay.map((c: { id: string }) => c.id)).toEqual([cameraNear]);
    expect(l.cameras.map((c: { id: string }) => c.id)).toEqual([cameraNear]);
    expect(l.cues).toEqual([]);
    expect(l.rings).toBeNull();
  });

  it('refuses a cue to an off-duty, unknown or busy unit, naming the rule', async () => {
    const off = await call(staff.monitor!, 'POST', `/api/incidents/${inc.id}/cues`, { unitId: unit3.id, message: '前往现场' });
    expect(off.statusCode).toBe(409);
    expect(off.json()).toMatchObject({ code: 'linkage.unit_off_duty', params: { callSign: '巡03' } });
    expect(off.json().params.rule).toContain('off duty');
    const unknown = await call(staff.monitor!, 'POST', `/api/incidents/${inc.id}/cues`, { unitId: randomUUID() });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'linkage.unit_not_found' });
    const badCamera = await call(staff.monitor!, 'POST', `/api/incidents/${inc.id}/cues`, { unitId: unit1.id, cameraIds: [checkpoint] });
    expect(badCamera.json()).toMatchObject({ code: 'linkage.camera_unknown', field: 'cameraIds' });
  });

  it('delivers a cue to the unit\'s phone over the realtime channel at once, and again on reconnect', async () => {
    const phone = await socket(p1);
    await phone.next((m) => m.op === 'hello');
    phone.send({ op: 'subscribe', topics: [`unit:${unit1.id}`, `unit:${unit2.id}`, 'cues'] });
    const sub = await phone.next((m) => m.op === 'subscribed');
    expect(sub.topics).toEqual([`unit:${unit1.id}`]);
    expect(sub.refused.map((r: { topic: string }) => r.topic)).toEqual([`unit:${unit2.id}`, 'cues']);
    const lastId = (await phone.next((m) => m.op === 'hello')).lastId as number;
    const t0 = Date.now();
    cue = await ok(await call(staff.monitor!, 'POST', `/api/incidents/${inc.id}/cues`, { unitId: unit1.id, message: '嫌疑人穿红色上衣，向北逃窜', cameraIds: [cameraNear] }), 201);
    const got = await phone.next((m) => m.op === 'event' && m.event.kind === 'cue.sent', 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(got.event.payload.cue).toMatchObject({ id: cue.id, status: 'sent', message: '嫌疑人穿红色上衣，向北逃窜', allowedSteps: ['received'], cameraIds: [cameraNear] });
    await phone.next((m) => m.op === 'event' && m.event.kind === 'camera.pushed');
    phone.close();
    // Offline when it went out: a phone that reconnects with the last id it saw gets it.
    const again = await socket(p1);
    await again.next((m) => m.op === 'hello');
    again.send({ op: 'subscribe', topics: [`unit:${unit1.id}`], after: lastId });
    const replayed = await again.next((m) => m.op === 'event' && m.event.kind === 'cue.sent');
    expect(replayed.event.payload.cue.id).toBe(cue.id);
    again.close();
    expect(cue).toMatchObject({ status: 'sent', unitCallSign: '巡01', incidentNumber: inc.number, createdByName: staff.monitor!.username });
    expect(cue.distanceM).toBeGreaterThan(780);
    const i = await ok(await call(staff.monitor!, 'GET', `/api/incidents/${inc.id}`));
    expect(i.status).toBe('dispatched');
    expect(i.dispatchedAt).not.toBeNull();
    // The incident's page and the lists hear it move.
    await waitUntil(() => heard.some((e) => e.topic === `incident:${inc.id}` && e.kind === 'incident.updated' && (e.payload.incident as { status: string }).status === 'dispatched'), 3000, 'incident.updated');
    expect(heard.some((e) => e.topic === 'incidents' && e.kind === 'incident.updated' && (e.payload.incident as { id: string; status: string }).id === inc.id)).toBe(true);
    expect((await ok(await call(staff.monitor!, 'GET', `/api/units/${unit1.id}`))).state).toBe('busy');
    const busy = await call(staff.monitor!, 'POST', `/api/incidents/${inc.id}/cues`, { unitId: unit1.id });
    expect(busy.json()).toMatchObject({ code: 'linkage.unit_busy' });
  });

  it('lets the unit move its cue one step at a time, and names the rule of a skip', async () => {
    const skip = await call(p1, 'POST', `/api/patrol/cues/${cue.id}/steps`, { status: 'on_scene' });
    expect(skip.statusCode).toBe(409);
    expect(skip.json()).toMatchObject({ code: 'linkage.cue_step_skipped', params: { from: 'sent', to: 'on_scene' } });
    expect(skip.json().params.rule).toContain('a unit cannot be on_scene for a cue it never accepted');
    expect((await call(p2, 'POST', `/api/patrol/cues/${cue.id}/steps`, { status: 'received' })).json()).toMatchObject({ code: 'linkage.not_your_cue' });
    expect((await call(p2, 'GET', `/api/patrol/cues/${cue.id}`)).statusCode).toBe(403);
    for (const status of ['received', 'en_route', 'on_scene'] as const) {
      const moved = await ok(await call(p1, 'POST', `/api/patrol/cues/${cue.id}/steps`, { status, ...north(10) }));
      expect(moved.status).toBe(status);
    }
    expect((await call(p1, 'POST', `/api/patrol/cues/${cue.id}/steps`, { status: 'en_route' })).json()).toMatchObject({ code: 'linkage.cue_step_backwards' });
    const times = (await platform.pool.query('SELECT dispatched_at, acknowledged_at, en_route_at, arrived_at, status FROM incidents WHERE id = $1', [inc.id])).rows[0];
    expect(times.status).toBe('on_scene');
    for (const c of ['dispatched_at', 'acknowledged_at', 'en_route_at', 'arrived_at']) expect(times[c]).toBeInstanceOf(Date);
    expect(times.dispatched_at.getTime()).toBeLessThanOrEqual(times.acknowledged_at.getTime());
    expect(times.en_route_at.getTime()).toBeLessThanOrEqual(times.arrived_at.getTime());
    const timeline = (await ok(await call(staff.supervisor!, 'GET', `/api/incidents/${inc.id}/timeline`))).items.map((e: { kind: string }) => e.kind);
    expect(timeline).toEqual(expect.arrayContaining(['cue.sent', 'cue.received', 'cue.en_route', 'cue.on_scene']));
    // The response times appear in the statistics: this unit arrived within the 1-minute target.
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const stats = await ok(await call(staff.supervisor!, 'GET', `/api/stats/response?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&groupBy=unit`));
    const mine = stats.groups.find((g: { key: string | null }) => g.key === unit1.id);
    expect(mine).toMatchObject({ label: '巡01', dispatched: 1, arrived: 1, within: [1, 1, 1] });
    expect(stats.targetsSeconds).toEqual([60, 180, 300]);
  });

  it('takes the report\'s photos by content only, and shows them to the control room and the unit', async () => {
    const photo = multipart('file', 'scene.jpg', 'image/jpeg', JPEG);
    const up = await ok(await app.inject({ method: 'POST', url: `/api/patrol/cues/${cue.id}/photos`, headers: { cookie: p1.cookie, ...photo.headers }, payload: photo.body }), 201);
    expect(up).toMatchObject({ contentType: 'image/jpeg', bytes: JPEG.length });
    const svg = multipart('file', 'scene.jpg', 'image/jpeg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'));
    const refused = await app.inject({ method: 'POST', url: `/api/patrol/cues/${cue.id}/photos`, headers: { cookie: p1.cookie, ...svg.headers }, payload: svg.body });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'linkage.photo_type', field: 'file' });
    const huge = multipart('file', 'big.jpg', 'image/jpeg', Buffer.concat([JPEG, Buffer.alloc(8 * 1024 * 1024)]));
    const tooBig = await app.inject({ method: 'POST', url: `/api/patrol/cues/${cue.id}/photos`, headers: { cookie: p1.cookie, ...huge.headers }, payload: huge.body });
    expect(tooBig.statusCode).toBe(400);
    expect(tooBig.json()).toMatchObject({ code: 'linkage.photo_too_large' });
    const other = await app.inject({ method: 'POST', url: `/api/patrol/cues/${cue.id}/photos`, headers: { cookie: p2.cookie, ...photo.headers }, payload: photo.body });
    expect(other.statusCode).toBe(403);
    const seen = await call(staff.monitor!, 'GET', `/api/cues/${cue.id}/photos/${up.id}`);
    expect(seen.statusCode).toBe(200);
    expect(seen.headers['content-type']).toBe('image/jpeg');
    expect(seen.rawPayload.equals(JPEG)).toBe(true);
    expect((await call(p1, 'GET', `/api/cues/${cue.id}/photos/${up.id}`)).statusCode).toBe(200);
    expect((await call(p2, 'GET', `/api/cues/${cue.id}/photos/${up.id}`)).statusCode).toBe(403);
    expect((await call(staff.investigator!, 'GET', `/api/cues/${cue.id}/photos/${up.id}`)).statusCode).toBe(403);
  });

  it('ends the cue with a report, frees the unit and takes its cameras off the phone', async () => {
    expect((await call(p1, 'POST', `/api/patrol/cues/${cue.id}/steps`, { status: 'done' })).json()).toMatchObject({ code: 'linkage.report_required', field: 'report' });
    const done = await ok(await call(p1, 'POST', `/api/patrol/cues/${cue.id}/steps`, { status: 'done', report: '嫌疑人已控制，移交派出所' }));
    expect(done).toMatchObject({ status: 'done', report: '嫌疑人已控制，移交派出所' });
    expect(done.photos).toHaveLength(1);
    expect(done.events.map((e: { to: string }) => e.to)).toEqual(['sent', 'received', 'en_route', 'on_scene', 'done']);
    expect((await ok(await call(staff.monitor!, 'GET', `/api/units/${unit1.id}`))).state).toBe('available');
    expect((await ok(await call(staff.monitor!, 'GET', `/api/units/${unit1.id}/pushes`))).items).toEqual([]);
    expect((await call(p1, 'POST', `/api/patrol/cameras/${cameraNear}/live`, { stream: 'sub' })).json()).toMatchObject({ code: 'linkage.camera_not_pushed' });
  });

  it('lets a monitor force a step only with a reason, recorded as an override, and reassign or cancel', async () => {
    const inc2 = await incident('可疑人员徘徊');
    const c = await ok(await call(staff.monitor!, 'POST', `/api/incidents/${inc2.id}/cues`, { unitId: unit2.id }), 201);
    expect((await call(staff.monitor!, 'POST', `/api/cues/${c.id}/steps`, { status: 'on_scene' })).json()).toMatchObject({ code: 'linkage.cue_override_reason' });
    const forced = await ok(await call(staff.monitor!, 'POST', `/api/cues/${c.id}/steps`, { status: 'on_scene', reason: '对讲机确认已到达' }));
    expect(forced.status).toBe('on_scene');
    expect(forced.receivedAt).not.toBeNull();
    expect(forced.events.at(-1)).toMatchObject({ from: 'sent', to: 'on_scene', override: true, reason: '对讲机确认已到达', actorName: staff.monitor!.username });
    const audit = await platform.pool.query(`SELECT reason FROM audit_log WHERE action = 'cue.override' AND target_id = $1`, [c.id]);
    expect(audit.rows.map((r) => r.reason)).toEqual(['对讲机确认已到达']);
    // A reassignment the rules refuse changes nothing: the cue stays with 巡02.
    expect((await call(staff.monitor!, 'POST', `/api/cues/${c.id}/reassign`, { unitId: unit3.id, reason: '换人' })).json()).toMatchObject({ code: 'linkage.unit_off_duty' });
    expect((await ok(await call(staff.monitor!, 'GET', `/api/cues/${c.id}`))).status).toBe('on_scene');
    expect((await ok(await call(staff.monitor!, 'GET', `/api/units/${unit2.id}`))).state).toBe('busy');
    // Reassign to 巡01: the old cue ends reassigned, 巡02 is free, 巡01 holds the new one.
    const next = await ok(await call(staff.monitor!, 'POST', `/api/cues/${c.id}/reassign`, { unitId: unit1.id, reason: '巡02 另有任务' }), 201);
    expect(next).toMatchObject({ unitId: unit1.id, status: 'sent', incidentId: inc2.id });
    const old = await ok(await call(staff.monitor!, 'GET', `/api/cues/${c.id}`));
    expect(old).toMatchObject({ status: 'reassigned', reassignedTo: next.id });
    expect((await ok(await call(staff.monitor!, 'GET', `/api/units/${unit2.id}`))).state).toBe('available');
    const cancelled = await ok(await call(staff.monitor!, 'POST', `/api/cues/${next.id}/cancel`, { reason: '警情已撤销' }));
    expect(cancelled.status).toBe('cancelled');
    expect((await call(staff.monitor!, 'POST', `/api/cues/${next.id}/cancel`, { reason: '再次' })).json()).toMatchObject({ code: 'linkage.cue_final' });
  });

  it('shows the cue\'s snapshot to its own unit only, with a signed link, audited', async () => {
    const inc4 = await incident('盗窃电动车');
    const snap = (await platform.pool.query(
      `INSERT INTO snapshots (device_id, taken_at, source, path, bytes, requested_by_name, purpose) VALUES ($1, now(), 'session', $2, 100, 'bench', 'incident') RETURNING id`,
      [cameraNear, `snap/${randomUUID()}.jpg`])).rows[0].id as string;
    const c = await ok(await call(staff.monitor!, 'POST', `/api/incidents/${inc4.id}/cues`, { unitId: unit2.id, snapshotId: snap }), 201);
    const shown = await ok(await call(p2, 'GET', `/api/patrol/cues/${c.id}/snapshot`));
    expect(shown).toMatchObject({ id: snap, deviceId: cameraNear });
    expect(shown.url).toMatch(new RegExp(`^/api/snapshots/${snap}/image/`));
    expect((await call(p1, 'GET', `/api/patrol/cues/${c.id}/snapshot`)).json()).toMatchObject({ code: 'linkage.not_your_cue' });
    const audit = await platform.pool.query(`SELECT actor_name FROM audit_log WHERE action = 'snapshot.view' AND target_id = $1`, [snap]);
    expect(audit.rows.map((r) => r.actor_name)).toEqual([p2.username]);
    const bad = await call(staff.monitor!, 'POST', `/api/incidents/${inc4.id}/cues`, { unitId: unit1.id, snapshotId: randomUUID() });
    expect(bad.json()).toMatchObject({ code: 'linkage.snapshot_unknown', field: 'snapshotId' });
    await ok(await call(staff.monitor!, 'POST', `/api/cues/${c.id}/cancel`, { reason: '测试结束' }));
  });

  it('escalates a cue nobody received in time: an alarm, and the next unit proposed', async () => {
    const inc3 = await incident('打架斗殴');
    const c = await ok(await call(staff.monitor!, 'POST', `/api/incidents/${inc3.id}/cues`, { unitId: unit2.id }), 201);
    const before = heard.length;
    await platform.pool.query(`UPDATE cues SET ack_deadline = now() - interval '1 second' WHERE id = $1`, [c.id]);
    await waitUntil(() => heard.slice(before).some((e) => e.topic === 'cues' && e.kind === 'cue.escalated'), 8000, 'cue.escalated');
    const e = heard.slice(before).find((x) => x.topic === 'cues' && x.kind === 'cue.escalated')!;
    expect((e.payload.cue as { id: string }).id).toBe(c.id);
    expect((e.payload.next as { unit: { callSign: string } }).unit.callSign).toBe('巡01');
    const alarm = (await platform.pool.query(`SELECT severity, details FROM alarms WHERE kind = 'cue_unacked' AND details->>'cueId' = $1`, [c.id])).rows;
    expect(alarm).toHaveLength(1);
    expect(alarm[0]).toMatchObject({ severity: 'critical', details: { unit: '巡02', nextUnit: '巡01' } });
    // Once only.
    await new Promise((r) => setTimeout(r, 2500));
    expect(heard.slice(before).filter((x) => x.topic === 'cues' && x.kind === 'cue.escalated')).toHaveLength(1);
    await ok(await call(staff.monitor!, 'POST', `/api/cues/${c.id}/cancel`, { reason: '测试结束' }));
  });
});

describe('pushed cameras (推送视频)', () => {
  it('lets a patrol user open only the cameras pushed to their unit', async () => {
    expect((await call(p2, 'POST', `/api/patrol/cameras/${cameraFar}/live`, { stream: 'sub' })).json()).toMatchObject({ code: 'linkage.camera_not_pushed' });
    expect((await call(p2, 'POST', `/api/devices/${cameraFar}/live`, { stream: 'sub' })).statusCode).toBe(403);
    const push = await ok(await call(staff.monitor!, 'POST', `/api/units/${unit2.id}/pushes`, { deviceId: cameraFar }), 201);
    expect(push).toMatchObject({ unitId: unit2.id, deviceId: cameraFar, deviceName: '解放路-球机' });
    expect((await ok(await call(p2, 'GET', '/api/patrol/me'))).pushes.map((p: { deviceId: string }) => p.deviceId)).toEqual([cameraFar]);
    // Past the push check: the camera is disabled here, so the live service refuses it for that reason.
    const live = await call(p2, 'POST', `/api/patrol/cameras/${cameraFar}/live`, { stream: 'sub' });
    expect(live.json().code).not.toBe('linkage.camera_not_pushed');
    expect((await call(p1, 'POST', `/api/patrol/cameras/${cameraFar}/live`, { stream: 'sub' })).json()).toMatchObject({ code: 'linkage.camera_not_pushed' });
    expect((await call(staff.monitor!, 'DELETE', `/api/units/${unit2.id}/pushes/${cameraFar}`)).statusCode).toBe(204);
    expect((await call(p2, 'POST', `/api/patrol/cameras/${cameraFar}/live`, { stream: 'sub' })).json()).toMatchObject({ code: 'linkage.camera_not_pushed' });
  });
});

describe('rings (三圈)', () => {
  let inc: Record<string, any>;
  it('lists the cameras, checkpoints and units of each ring, each in the innermost that holds it', async () => {
    inc = await incident('抢劫案');
    expect((await call(staff.monitor!, 'PUT', `/api/incidents/${inc.id}/rings`, { radiiM: [3000, 1000, 5000] })).json()).toMatchObject({ code: 'linkage.radii_order' });
    const unlocated = await incident('无位置警情', null);
    expect((await call(staff.monitor!, 'PUT', `/api/incidents/${unlocated.id}/rings`, {})).json()).toMatchObject({ code: 'linkage.incident_unlocated' });
    const set = await ok(await call(staff.monitor!, 'PUT', `/api/incidents/${inc.id}/rings`, {}));
    expect(set.radiiM).toEqual([1000, 3000, 5000]);
    const ids = (ring: number, k: 'cameras' | 'checkpoints' | 'units') => set.rings[ring][k].map((m: { id: string }) => m.id);
    expect(set.rings.map((r: { code: string }) => r.code)).toEqual(['control', 'prevention', 'sealing']);
    expect(ids(0, 'cameras')).toEqual([cameraNear]);
    expect(ids(1, 'cameras')).toEqual([cameraFar]);
    expect(ids(2, 'checkpoints')).toEqual([checkpoint]);
    expect(ids(0, 'units').sort()).toEqual([unit1.id, unit2.id].sort());
    expect(ids(1, 'units')).toEqual([unit3.id]);
  });

  it('cues every available unit of a ring at once and lists the others as skipped', async () => {
    const r = await ok(await call(staff.monitor!, 'POST', `/api/incidents/${inc.id}/rings/1/cues`, { message: '封堵各路口' }));
    expect(r.items.map((c: { unitCallSign: string }) => c.unitCallSign).sort()).toEqual(['巡01', '巡02']);
    expect(r.items.every((c: { ring: number }) => c.ring === 1)).toBe(true);
    expect(r.skipped).toEqual([{ unitId: unit3.id, callSign: '巡03', code: 'linkage.unit_off_duty' }]);
    for (const c of r.items) await ok(await call(staff.monitor!, 'POST', `/api/cues/${c.id}/cancel`, { reason: '演练结束' }));
  });

  it('joins a face alarm inside an active ring to the incident and raises its priority', async () => {
    const before = (await ok(await call(staff.monitor!, 'GET', `/api/incidents/${inc.id}`))).priority as number;
    const raiser = createAlarmRaiser({ db: platform.pool, eventLog: platform.eventLog });
    const alarm = await raiser.raise({ kind: 'face', deviceId: cameraFar, details: { score: 0.93 } });
    await waitUntil(async () => (await platform.pool.query('SELECT incident_id FROM alarms WHERE id = $1', [alarm!.id])).rows[0].incident_id === inc.id, 8000, 'the alarm joined');
    const after = await ok(await call(staff.monitor!, 'GET', `/api/incidents/${inc.id}`));
    expect(after.priority).toBe(Math.max(1, before - 1));
    const timeline = (await ok(await call(staff.supervisor!, 'GET', `/api/incidents/${inc.id}/timeline`))).items;
    expect(timeline.find((e: { kind: string }) => e.kind === 'alarm.joined').details).toMatchObject({ alarmId: alarm!.id, ring: 1, alarmKind: 'face' });
    // Outside every ring: nothing joins.
    const devices = createDeviceService({ repo: createDeviceRepository(platform.pool), boxKey: platform.keys.box });
    const far = await devices.create({ name: '郊外相机', enabled: false, location: { lat: AT.lat + 1, lon: AT.lon } });
    const outside = await raiser.raise({ kind: 'face', deviceId: far.id });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await platform.pool.query('SELECT incident_id FROM alarms WHERE id = $1', [outside!.id])).rows[0].incident_id).toBeNull();
    expect((await call(staff.monitor!, 'DELETE', `/api/incidents/${inc.id}/rings`)).statusCode).toBe(204);
    expect((await ok(await call(staff.monitor!, 'GET', `/api/incidents/${inc.id}/rings`))).active).toBe(false);
  });

  it('files an incident under the grid (责任田) that holds it', async () => {
    const i = await incident('网格内警情', north(100));
    await waitUntil(async () => (await platform.pool.query('SELECT grid_unit_id FROM incidents WHERE id = $1', [i.id])).rows[0].grid_unit_id === unit1.id, 5000, 'the grid');
  });
});

describe('who may call what', () => {
  it('refuses every route family to the roles it is not for', async () => {
    const inc = await incident('权限测试');
    const cases: [User | null, string, string, unknown?][] = [
      [null, 'GET', '/api/units'],
      [staff.investigator!, 'GET', '/api/units'],
      [p1, 'GET', '/api/units'],
      [staff.monitor!, 'POST', '/api/units', { callSign: 'x', kind: 'foot' }],
      [staff.supervisor!, 'POST', `/api/units/${unit1.id}/terminal`],
      [staff.investigator!, 'GET', `/api/incidents/${inc.id}/linkage`],
      [p1, 'GET', `/api/incidents/${inc.id}/linkage`],
      [p1, 'POST', `/api/incidents/${inc.id}/cues`, { unitId: unit1.id }],
      [staff.supervisor!, 'POST', `/api/incidents/${inc.id}/cues`, { unitId: unit1.id }],
      [p1, 'GET', '/api/cues'],
      [p1, 'POST', `/api/units/${unit1.id}/pushes`, { deviceId: cameraNear }],
      [p1, 'PUT', `/api/incidents/${inc.id}/rings`, {}],
      [staff.supervisor!, 'PUT', `/api/incidents/${inc.id}/rings`, {}],
      [staff.monitor!, 'GET', '/api/patrol/me'],
      [staff.monitor!, 'POST', '/api/patrol/positions', { fixes: [fix(AT)] }],
      [staff.admin!, 'POST', '/api/patrol/duty', { unitId: unit1.id }],
      [p1, 'GET', `/api/units/${unit1.id}/track`],
    ];
    for (const [who, method, url, body] of cases) {
      const res = await call(who, method, url, body);
      expect(res.statusCode, `${who?.username ?? 'anonymous'} ${method} ${url}`).toBe(who ? 403 : 401);
    }
  });

  it('purges GPS fixes past their retention with the maintenance job', async () => {
    await platform.pool.query(`INSERT INTO unit_positions (unit_id, at, received_at, lat, lon, source) VALUES ($1, now() - interval '400 days', now() - interval '399 days', 30, 120, 'phone')`, [unit1.id]);
    const family = createMaintenanceFamily({ platform });
    const r = await (family.handlers['tracks.purge'] as () => Promise<{ deleted: number }>)();
    expect(r.deleted).toBe(1);
    expect(family.schedules?.map((s) => s.name)).toContain('tracks.purge');
  });
});
