import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/server/main.ts';
import { createAlarmRaiser, transitionAlarm, type AlarmRaiser } from '../../console/server/alarms/raise.ts';
import { incidentFromAlarm, sourceOfAlarm } from '../../console/server/alarms/service.ts';
import type { Alarm } from '../../console/server/alarms/types.ts';
import type { App } from '../../core/http/app.ts';
import type { Platform } from '../../core/platform.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { createRecordingIndexer } from '../../gateway/recordings/indexer.ts';
import { createRecordingRepository } from '../../gateway/recordings/repository.ts';
import { mediaLayout } from '../../gateway/streams/layout.ts';
import { startSimulator, type Simulator } from '../../gateway/simulator/simulator.ts';
import { loginAs, testPlatform } from '../helpers/platform.ts';

// The alarms panel's server: raising (dedup, device facts filled in, the realtime event), the list
// and its filters, acknowledging with a note (once, audited), turning an alarm into an incident
// (new or joined), the roles refused, bad input; and the gateway's own raisers: a health check
// that finds a camera gone raises exactly one device_offline alarm, a recording hole one gap alarm.
let platform: Platform;
let close: () => Promise<void>;
let app: App;
let raiser: AlarmRaiser;
const run = randomBytes(3).toString('hex');
const users: Record<'admin' | 'monitor' | 'investigator' | 'supervisor' | 'patrol', string> = { admin: '', monitor: '', investigator: '', supervisor: '', patrol: '' };
let monitorName = '';
let deviceId = '';
let otherDeviceId = '';

const api = (method: 'GET' | 'POST', url: string, cookie: string, payload?: unknown) =>
  app.inject({ method, url, headers: { cookie }, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function device(name: string, lat: number | null, lon: number | null): Promise<string> {
  const { rows } = await platform.pool.query<{ id: string }>(
    `INSERT INTO devices (kind, name, lat, lon, enabled) VALUES ('camera', $1, $2, $3, false) RETURNING id`, [name, lat, lon]);
  return rows[0]!.id;
}

const raise = (kind: Alarm['kind'], extra: Record<string, unknown> = {}) => raiser.raise({ kind, deviceId, dedupKey: `t:${randomUUID()}`, ...extra });

beforeAll(async () => {
  ({ platform, close } = await testPlatform({ 'health.intervalSeconds': 3600 }));
  app = await buildConsole(platform);
  await app.ready();
  for (const role of Object.keys(users) as (keyof typeof users)[]) {
    const login = await loginAs(app, platform, [role]);
    users[role] = login.cookie;
    if (role === 'monitor') monitorName = login.username;
  }
  raiser = createAlarmRaiser({ db: platform.pool, eventLog: platform.eventLog });
  deviceId = await device(`报警测试-人民路口-${run}`, 31.2304, 121.4737);
  otherDeviceId = await device(`报警测试-无坐标-${run}`, null, null);
});
afterAll(async () => {
  await app?.close();
  await close?.();
});

describe('raising', () => {
  it('stores the alarm with the device\'s name and place, and logs alarm.raised on the alarms topic', async () => {
    const before = await platform.eventLog.lastId();
    const alarm = await raise('device_offline', { details: { reason: 'ONVIF: unreachable' } });
    expect(alarm).toMatchObject({ kind: 'device_offline', severity: 'warning', deviceId, deviceName: `报警测试-人民路口-${run}`, lat: 31.2304, lon: 121.4737, ackedAt: null, incidentId: null });
    const events = await platform.eventLog.since(before, ['alarms'], 10);
    expect(events.map((e) => [e.kind, (e.payload.alarm as Alarm).id])).toEqual([['alarm.raised', alarm!.id]]);
  });

  it('makes one alarm of a dedup key raised twice', async () => {
    const key = `dedup:${run}`;
    const first = await raiser.raise({ kind: 'manual', dedupKey: key, details: { n: 1 } });
    const second = await raiser.raise({ kind: 'manual', dedupKey: key, details: { n: 2 } });
    expect(first).not.toBeNull();
    expect(second).toBeNull();
    const { rows } = await platform.pool.query('SELECT count(*)::int AS n FROM alarms WHERE dedup_key = $1', [key]);
    expect(rows[0].n).toBe(1);
  });

  it('keeps what the raiser knew of a device that is gone', async () => {
    const alarm = await raiser.raise({ kind: 'session_failed', deviceId: randomUUID(), deviceName: '已删除的相机' });
    expect(alarm).toMatchObject({ deviceId: null, deviceName: '已删除的相机' });
  });

  it('decides which state changes raise', () => {
    expect(transitionAlarm({ from: 'online', to: 'offline' })).toBe('device_offline');
    expect(transitionAlarm({ from: 'unknown', to: 'offline' })).toBe('device_offline');
    expect(transitionAlarm({ from: 'offline', to: 'online' })).toBe('device_online');
    expect(transitionAlarm({ from: 'online', to: 'degraded' })).toBeNull();
    expect(transitionAlarm({ from: 'unknown', to: 'online' })).toBeNull();
    expect(sourceOfAlarm('face')).toBe('face_alarm');
    expect(sourceOfAlarm('plate')).toBe('plate_alarm');
    expect(sourceOfAlarm('recording_gap')).toBe('video_patrol');
  });
});

describe('listing', () => {
  let gap: Alarm;
  let old: Alarm;

  beforeAll(async () => {
    gap = (await raise('recording_gap', { deviceId: otherDeviceId, details: { seconds: 90 } }))!;
    old = (await raise('device_online', { raisedAt: new Date(Date.now() - 3 * 86_400_000) }))!;
  });

  it('lists open alarms newest first, each kind filter and device filter narrowing it', async () => {
    const res = await api('GET', '/api/alarms?limit=500', users.investigator);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as Alarm[];
    expect(items.every((a) => a.ackedAt === null)).toBe(true);
    const times = items.map((a) => Date.parse(a.raisedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const byKind = (await api('GET', '/api/alarms?kind=recording_gap,device_online&limit=500', users.supervisor)).json().items as Alarm[];
    expect(byKind.map((a) => a.id)).toEqual(expect.arrayContaining([gap.id, old.id]));
    expect(byKind.every((a) => ['recording_gap', 'device_online'].includes(a.kind))).toBe(true);

    const byDevice = (await api('GET', `/api/alarms?deviceId=${otherDeviceId}`, users.monitor)).json().items as Alarm[];
    expect(byDevice.map((a) => a.id)).toEqual([gap.id]);
  });

  it('filters by time and pages back with before', async () => {
    const from = new Date(Date.now() - 4 * 86_400_000).toISOString();
    const to = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const inRange = (await api('GET', `/api/alarms?state=all&from=${from}&to=${to}`, users.monitor)).json().items as Alarm[];
    expect(inRange.map((a) => a.id)).toContain(old.id);
    expect(inRange.every((a) => a.raisedAt >= from && a.raisedAt < to)).toBe(true);

    const first = (await api('GET', '/api/alarms?state=all&limit=2', users.monitor)).json().items as Alarm[];
    expect(first).toHaveLength(2);
    const next = (await api('GET', `/api/alarms?state=all&limit=2&before=${first[1]!.raisedAt}`, users.monitor)).json().items as Alarm[];
    expect(next.length).toBeGreaterThan(0);
    expect(next.every((a) => a.raisedAt < first[1]!.raisedAt)).toBe(true);
  });

  it('answers a reversed range, an unknown kind or state with 400 naming the field', async () => {
    const reversed = await api('GET', `/api/alarms?from=${new Date().toISOString()}&to=${new Date(Date.now() - 60_000).toISOString()}`, users.monitor);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json()).toMatchObject({ code: 'alarm.range_order', field: 'to' });
    const kind = await api('GET', '/api/alarms?kind=fire', users.monitor);
    expect(kind.statusCode).toBe(400);
    expect(kind.json().field).toMatch(/kind/);
    const state = await api('GET', '/api/alarms?state=closed', users.monitor);
    expect(state.statusCode).toBe(400);
    expect(state.json().field).toMatch(/state/);
    const device = await api('GET', '/api/alarms?deviceId=nope', users.monitor);
    expect(device.statusCode).toBe(400);
  });

  it('counts open and critical alarms for the bell', async () => {
    const before = (await api('GET', '/api/alarms/summary', users.investigator)).json();
    await raise('face', { details: { score: 0.93 } });
    const after = (await api('GET', '/api/alarms/summary', users.investigator)).json();
    expect(after).toEqual({ open: before.open + 1, critical: before.critical + 1 });
  });
});

describe('acknowledging', () => {
  it('stores the note as given (10 kB of markup too), audits it, sends alarm.updated, and refuses a second ack', async () => {
    const alarm = (await raise('device_offline'))!;
    const note = `<img src=x onerror=alert(1)> 已通知维保 ${'长'.repeat(9_900)}`;
    const before = await platform.eventLog.lastId();
    const res = await api('POST', `/api/alarms/${alarm.id}/ack`, users.monitor, { note });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: alarm.id, ackNote: note, ackedByName: monitorName });
    expect(res.json().ackedAt).not.toBeNull();

    const events = await platform.eventLog.since(before, ['alarms'], 10);
    expect(events.map((e) => e.kind)).toEqual(['alarm.updated']);
    expect((events[0]!.payload.alarm as Alarm).ackNote).toBe(note);
    const audit = await platform.pool.query(`SELECT actor_name, details FROM audit_log WHERE action = 'alarm.ack' AND target_id = $1`, [alarm.id]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ actor_name: monitorName, details: { note } });

    const again = await api('POST', `/api/alarms/${alarm.id}/ack`, users.admin, { note: '重复' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'alarm.already_acked', params: { ackedByName: monitorName } });
    const stored = (await api('GET', `/api/alarms?state=acked&deviceId=${deviceId}&limit=500`, users.monitor)).json().items as Alarm[];
    expect(stored.find((a) => a.id === alarm.id)?.ackNote).toBe(note);
    const open = (await api('GET', `/api/alarms?deviceId=${deviceId}&limit=500`, users.monitor)).json().items as Alarm[];
    expect(open.some((a) => a.id === alarm.id)).toBe(false);
  });

  it('acks without a note; unknown alarm is 404, a note over 10,000 characters 400', async () => {
    const alarm = (await raise('recording_gap'))!;
    const res = await api('POST', `/api/alarms/${alarm.id}/ack`, users.admin, {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().ackNote).toBeNull();
    const unknown = await api('POST', `/api/alarms/${randomUUID()}/ack`, users.monitor, {});
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('alarm.not_found');
    const long = await api('POST', `/api/alarms/${(await raise('manual'))!.id}/ack`, users.monitor, { note: 'x'.repeat(10_001) });
    expect(long.statusCode).toBe(400);
    expect(long.json().field).toMatch(/note/);
  });
});

describe('roles', () => {
  it('refuses a patrol user everything here, and lets only monitors and admins act', async () => {
    const alarm = (await raise('manual'))!;
    const routes: ['GET' | 'POST', string, unknown?][] = [
      ['GET', '/api/alarms'], ['GET', '/api/alarms/summary'],
      ['POST', `/api/alarms/${alarm.id}/ack`, {}], ['POST', `/api/alarms/${alarm.id}/incident`, { incident: { type: 'theft' } }],
    ];
    for (const [method, url, body] of routes) expect((await api(method, url, users.patrol, body)).statusCode, `${method} ${url}`).toBe(403);
    for (const role of ['investigator', 'supervisor'] as const) {
      expect((await api('GET', '/api/alarms', users[role])).statusCode).toBe(200);
      expect((await api('POST', `/api/alarms/${alarm.id}/ack`, users[role], {})).statusCode, role).toBe(403);
      expect((await api('POST', `/api/alarms/${alarm.id}/incident`, users[role], { incident: { type: 'theft' } })).statusCode, role).toBe(403);
    }
    expect((await app.inject({ method: 'GET', url: '/api/alarms' })).statusCode).toBe(401);
    expect((await api('GET', `/api/alarms?deviceId=${deviceId}&limit=500`, users.monitor)).json().items.find((a: Alarm) => a.id === alarm.id).ackedAt).toBeNull();
  });
});

describe('alarm to incident', () => {
  let incidentId = '';
  let number = '';
  const type = () => platform.config.incidents.types[0]!.code;

  it('makes a new incident from the alarm: its place, moment, camera, source video_patrol; the alarm is handled', async () => {
    const alarm = (await raise('device_offline'))!;
    const res = await api('POST', `/api/alarms/${alarm.id}/incident`, users.monitor, { incident: { type: type(), title: '路口相机掉线后发现可疑人员' } });
    expect(res.statusCode, res.body).toBe(200);
    const { alarm: linked, incident } = res.json();
    incidentId = incident.id;
    number = incident.number;
    expect(incident).toMatchObject({ source: 'video_patrol', lat: 31.2304, lon: 121.4737, deviceId, title: '路口相机掉线后发现可疑人员' });
    expect(Date.parse(incident.occurredAt)).toBe(Date.parse(alarm.raisedAt));
    expect(linked).toMatchObject({ id: alarm.id, incidentId, incidentNumber: number, ackedByName: monitorName });
    const timeline = await platform.pool.query(`SELECT kind, details FROM incident_events WHERE incident_id = $1 AND kind = 'alarm.joined'`, [incidentId]);
    expect(timeline.rows).toHaveLength(1);
    expect(timeline.rows[0].details).toMatchObject({ alarmId: alarm.id, kind: 'device_offline', deviceName: `报警测试-人民路口-${run}` });
  });

  it('joins another alarm to that incident, listed under it; joining twice is a no-op, another incident 409', async () => {
    const alarm = (await raise('recording_gap'))!;
    const res = await api('POST', `/api/alarms/${alarm.id}/incident`, users.admin, { incidentId });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().alarm).toMatchObject({ incidentId, incidentNumber: number });
    expect(res.json().incident.id).toBe(incidentId);
    const again = await api('POST', `/api/alarms/${alarm.id}/incident`, users.monitor, { incidentId });
    expect(again.statusCode).toBe(200);
    const listed = (await api('GET', `/api/alarms?incidentId=${incidentId}`, users.investigator)).json().items as Alarm[];
    expect(listed).toHaveLength(2); // an incident's alarms: every state unless asked
    const other = await api('POST', `/api/alarms/${alarm.id}/incident`, users.monitor, { incident: { type: type() } });
    expect(other.statusCode).toBe(409);
    expect(other.json().code).toBe('alarm.already_linked');
    const timeline = await platform.pool.query(`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = $1 AND kind = 'alarm.joined'`, [incidentId]);
    expect(timeline.rows[0].n).toBe(2);
  });

  it('makes a face alarm\'s incident a face_alarm one; refuses a missing target, an unknown alarm or incident', async () => {
    const face = (await raise('face', { deviceId: otherDeviceId }))!;
    const res = await api('POST', `/api/alarms/${face.id}/incident`, users.monitor, { incident: { type: type() } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().incident).toMatchObject({ source: 'face_alarm', deviceId: otherDeviceId, lat: null });
    const none = await api('POST', `/api/alarms/${(await raise('manual'))!.id}/incident`, users.monitor, {});
    expect(none.statusCode).toBe(400);
    expect(none.json().code).toBe('alarm.link_target');
    expect((await api('POST', `/api/alarms/${randomUUID()}/incident`, users.monitor, { incidentId })).statusCode).toBe(404);
    const noIncident = await api('POST', `/api/alarms/${(await raise('manual'))!.id}/incident`, users.monitor, { incidentId: randomUUID() });
    expect(noIncident.statusCode).toBe(404);
    const badLat = await api('POST', `/api/alarms/${(await raise('manual'))!.id}/incident`, users.monitor, { incident: { type: type(), lat: 91, lon: 0 } });
    expect(badLat.statusCode).toBe(400);
    expect(badLat.json().field).toMatch(/lat/);
  });

  it('makes one incident when two monitors turn the same alarm into a new incident at once', async () => {
    const alarm = (await raise('device_offline'))!;
    const [a, b] = await Promise.all([
      api('POST', `/api/alarms/${alarm.id}/incident`, users.monitor, { incident: { type: type(), title: '并发一' } }),
      api('POST', `/api/alarms/${alarm.id}/incident`, users.admin, { incident: { type: type(), title: '并发二' } }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect((a.statusCode === 409 ? a : b).json().code).toBe('alarm.already_linked');
    const { rows } = await platform.pool.query(`SELECT count(*)::int AS n FROM incidents WHERE title IN ('并发一', '并发二')`);
    expect(rows[0].n).toBe(1);
  });

  it('builds the new incident\'s input from the alarm, the monitor\'s fields winning', () => {
    const alarm = { kind: 'plate', raisedAt: '2026-12-02T10:00:00.000Z', lat: 1, lon: 2, deviceId: 'd', deviceName: '卡口' } as Alarm;
    expect(incidentFromAlarm(alarm, { type: 'traffic' })).toEqual({ type: 'traffic', source: 'plate_alarm', title: '卡口', occurredAt: alarm.raisedAt, lat: 1, lon: 2, deviceId: 'd' });
    expect(incidentFromAlarm(alarm, { type: 'traffic', source: 'call_110', title: 'x' })).toMatchObject({ source: 'call_110', title: 'x' });
  });
});

describe('session failures', () => {
  it('makes one alarm per camera for a session failing again and again within the window', async () => {
    const first = await raiser.sessionFailed(deviceId, 'authentication refused by camera');
    const again = await raiser.sessionFailed(deviceId, 'authentication refused by camera');
    // the gateway's reason text, and its stable code for the console to word in the user's language
    expect(first).toMatchObject({
      kind: 'session_failed', deviceId,
      details: { reason: 'authentication refused by camera', reasonCode: 'stream_auth', reasons: [{ code: 'stream_auth', params: {} }] },
    });
    expect(again).toBeNull();
    // a text without a code keeps the text alone (the console shows it as it is)
    expect(await raiser.sessionFailed(otherDeviceId, 'RTSP 401 Unauthorized')).toMatchObject({ details: { reason: 'RTSP 401 Unauthorized', reasonCode: null, reasons: [] } });
  });
});

describe('recording gaps', () => {
  it('raises one alarm for a new segment that starts 30 s or more after the previous one ended', async () => {
    const cam = await device(`录像缺口-${run}`, 31.2, 121.4);
    const t0 = Date.parse('2026-12-01T02:00:00Z');
    const seg = async (startS: number, endS: number) => {
      const startsAt = new Date(t0 + startS * 1000);
      await platform.pool.query('INSERT INTO recording_segments (device_id, starts_at, ends_at, path, bytes) VALUES ($1, $2, $3, $4, 1000)',
        [cam, startsAt, new Date(t0 + endS * 1000), `rec/${cam}/${startS}.ts`]);
      return { deviceId: cam, startsAt };
    };
    const a = await seg(0, 10);
    expect(await raiser.recordingGaps([a], 30)).toEqual([]);
    const b = await seg(12, 22); // 2 s: no gap
    const c = await seg(100, 110); // 78 s after b ended
    const raised = await raiser.recordingGaps([b, c], 30);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ kind: 'recording_gap', deviceId: cam, details: { from: new Date(t0 + 22_000).toISOString(), to: new Date(t0 + 100_000).toISOString(), seconds: 78 } });
    expect(await raiser.recordingGaps([c], 30)).toEqual([]); // indexed again: no second alarm
  });
});

describe('the recording indexer', () => {
  it('raises the gap alarm for a hole it finds while indexing a segment list (as gateway/main wires it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skynet-alarm-rec-'));
    try {
      const cam = await device(`索引缺口-${run}`, null, null);
      const layout = mediaLayout(dir);
      const day = join(layout.recDir(cam), '20261201');
      mkdirSync(day, { recursive: true });
      // Two 10 s segments of one session; the second starts 50 s after the first ended.
      for (const name of ['20261201T030000Z.ts', '20261201T030100Z.ts']) writeFileSync(join(day, name), Buffer.alloc(2048, 0x47));
      const list = layout.segmentList(cam, 1);
      writeFileSync(list, '20261201T030000Z.ts,0.000000,10.000000\n20261201T030100Z.ts,60.000000,70.000000\n');
      const past = new Date(Date.now() - 60_000);
      utimesSync(list, past, past);
      const indexer = createRecordingIndexer({
        log: platform.log, layout, repo: createRecordingRepository(platform.pool), nodeId: 'alarm-test',
        onIndexed: (rows) => raiser.recordingGaps(rows, platform.config.alarms.recordingGapSeconds),
      });
      expect(await indexer.indexNow()).toBe(2);
      const gaps = (await api('GET', `/api/alarms?deviceId=${cam}&kind=recording_gap`, users.monitor)).json().items as Alarm[];
      expect(gaps).toHaveLength(1);
      expect(gaps[0]!.details).toEqual({ from: '2026-12-01T03:00:10.000Z', to: '2026-12-01T03:01:00.000Z', seconds: 50 });
      expect(await indexer.indexNow()).toBe(0); // nothing new: no second alarm
      expect((await api('GET', `/api/alarms?deviceId=${cam}&kind=recording_gap`, users.monitor)).json().items).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the gateway\'s health check', () => {
  let gateway: Gateway;
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ cameras: [{ id: `alarm-${run}`, name: '报警-健康', width: 320, height: 180, fps: 5 }], host: '127.0.0.1' });
    gateway = await startGateway(platform);
  });
  afterAll(async () => {
    await gateway?.close();
    await sim?.close();
  });

  it('raises exactly one device_offline alarm when a camera goes, one device_online when it is back, and logs devices events', async () => {
    const cam = sim.cameras[0]!;
    const created = await api('POST', '/api/devices', users.admin, {
      name: `健康报警-${run}`, location: { lat: 31.25, lon: 121.45, heading: null },
      onvif: { host: '127.0.0.1', port: cam.onvifPort, username: cam.spec.username, password: cam.spec.password },
      streams: { main: cam.rtspUri('main') }, confirmDuplicate: true,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    await expect.poll(async () => (await api('GET', `/api/devices/${id}`, users.admin)).json().status.state, { timeout: 20_000 }).toBe('online');
    const alarmsOf = async (kind: string) => ((await api('GET', `/api/alarms?state=all&deviceId=${id}&kind=${kind}`, users.monitor)).json().items as Alarm[]);
    // The first probe's unknown → online event is written just after the status: wait for it.
    await expect.poll(async () => (await platform.eventLog.since(0, ['devices'], 1000)).some((e) => e.payload.deviceId === id && e.payload.status === 'online'), { timeout: 10_000 }).toBe(true);
    const before = await platform.eventLog.lastId();

    sim.setFault(cam.spec.id, 'drop', true);
    await gateway.health.runCycle();
    await gateway.health.runCycle(); // still offline: no second alarm
    const offline = await alarmsOf('device_offline');
    expect(offline).toHaveLength(1);
    expect(offline[0]).toMatchObject({ deviceName: `健康报警-${run}`, lat: 31.25, lon: 121.45, details: { from: 'online', to: 'offline', reasonCode: 'device_unreachable' } });
    // both probes failed alike on one host: one coded cause with the host (the raw text stays beside it)
    expect(offline[0]!.details.reasons).toEqual([{ code: 'device_unreachable', params: { address: '127.0.0.1' } }]);
    expect(offline[0]!.details.reason).toMatch(/^ONVIF 127\.0\.0\.1:\d+: /);
    // The same transition reported again (a retry) raises nothing more.
    expect(await raiser.deviceStatus({ deviceId: id, name: `健康报警-${run}`, from: 'online', to: 'offline', reason: null })).toBeNull();
    expect(await alarmsOf('device_offline')).toHaveLength(1);

    sim.setFault(cam.spec.id, 'drop', false);
    await gateway.health.runCycle();
    expect(await alarmsOf('device_online')).toHaveLength(1);
    expect((await alarmsOf('device_online'))[0]!.details).toMatchObject({ from: 'offline', to: 'online', reason: null, reasonCode: null, reasons: [] });

    const events = await platform.eventLog.since(before, ['devices', 'alarms'], 100);
    const mine = events.filter((e) => e.payload.deviceId === id || (e.payload.alarm as Alarm | undefined)?.deviceId === id);
    expect(mine.map((e) => `${e.topic}/${e.kind}/${(e.payload.status as string | undefined) ?? (e.payload.alarm as Alarm).kind}`)).toEqual([
      'devices/device.status/offline', 'alarms/alarm.raised/device_offline', 'devices/device.status/online', 'alarms/alarm.raised/device_online',
    ]);
  });
});
