import type { AddressInfo } from 'node:net';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import { benchPlatform, percentile } from './helpers.ts';
import {
  cityPoint, login, mapLimit, realtimeClient, rng, round, scaled, scaleNote, seedDevices, seedIncidents, seedSessions, seedUnits, seedUsers,
  spread, timed, type WsClient,
} from './linkage-seed.ts';

/**
 * Cue delivery (监巡指令下发): 500 patrol users, each a member of their own unit, go on duty through
 * the phone's API (POST /api/patrol/duty) and hold a realtime WebSocket subscribed to their
 * `unit:<id>` — 500 connected phones. Their units' latest fixes lie around the incidents (within
 * ≈ 3 km of the town centre) among 2,200 cameras, so proposals are real. A monitor, for each cue,
 * reads the incident's linkage (GET /api/incidents/:id/linkage), cues the nearest proposed unit
 * with the first two nearby cameras (POST /api/incidents/:id/cues), and the phone acknowledges
 * (received) once the `cue.sent` frame arrives — so the unit is busy and the next cue goes to
 * another unit, as in a real shift. 200 cues one at a time (after 5 not counted), each timed from
 * the POST's start to the phone's frame.
 */
const UNITS = scaled(500, 30);
const CUES = scaled(200, 20);
const WARMUP = 5;
const INCIDENTS = scaled(20, 4);
const CAMERAS = scaled(2200, 100);
const CHECKPOINTS = scaled(40, 4);

export async function benchCues(): Promise<{ metrics: { cue_delivery_p95_ms: number }; notes: string[] }> {
  if (CUES + WARMUP > UNITS) throw new Error(`${CUES + WARMUP} cues need as many units (${UNITS})`);
  const { platform, close } = await benchPlatform({ 'health.intervalSeconds': 86_400 });
  let app: App | null = null;
  const phones: WsClient[] = [];
  try {
    const { pool } = platform;
    const random = rng(21);
    const seedStarted = performance.now();
    await seedDevices(pool, CAMERAS, CHECKPOINTS);
    const patrols = await seedUsers(platform, UNITS, 'bench-patrol', ['patrol']);
    const unitIds = await seedUnits(pool, { n: UNITS, at: () => cityPoint(random, 0.5), members: patrols.map((p) => p.id) });
    const incidents = await seedIncidents(pool, Array.from({ length: INCIDENTS }, () => cityPoint(random, 0.3)));
    const cookies = await seedSessions(pool, patrols.map((p) => p.id));
    const seedS = (performance.now() - seedStarted) / 1000;

    app = await buildConsole(platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    // Every phone goes on duty with its unit through the API, then opens its realtime channel.
    const dutyStarted = performance.now();
    await mapLimit(unitIds, 4, async (unitId, i) => { await timed(base, cookies[i]!, 'POST', '/api/patrol/duty', { unitId }); });
    const dutyS = (performance.now() - dutyStarted) / 1000;
    const waiters = new Map<string, (at: number, bytes: number, cueId: string) => void>();
    const connectStarted = performance.now();
    phones.push(...await mapLimit(unitIds, 10, (unitId, i) => realtimeClient(base, cookies[i]!, [`unit:${unitId}`], (e, at, bytes) => {
      if (e.kind === 'cue.sent' && e.topic === `unit:${unitId}`) waiters.get(unitId)?.(at, bytes, (e.payload.cue as { id: string }).id);
    })));
    const connectS = (performance.now() - connectStarted) / 1000;
    const sockets = app.realtimeHub.stats().sockets;

    await platform.identity.createUser({ username: 'bench-monitor', password: 'bench-password', roles: ['monitor'] });
    const monitor = await login(base, 'bench-monitor');
    // The seeded fixes are fresh (≤ 20 s) as of the seed: keep them so for the proposals.
    await pool.query(`UPDATE patrol_units SET fix_at = now() - random() * interval '20 seconds'`);
    await pool.query('VACUUM ANALYZE patrol_units');

    const delivery: number[] = [];
    const postMs: number[] = [];
    const linkageMs: number[] = [];
    let linkageBytes = 0, cueBytes = 0, frameBytes = 0, lost = 0, fromProposals = 0, rank = 0;
    const used = new Set<string>();
    const phoneOf = new Map(unitIds.map((id, i) => [id, cookies[i]!]));
    for (let k = 0; k < WARMUP + CUES; k++) {
      const incidentId = incidents[k % incidents.length]!;
      const view = await timed<{ proposals: { unit: { id: string } }[]; cameras: { id: string }[] }>(base, monitor, 'GET', `/api/incidents/${incidentId}/linkage`);
      const pick = view.json.proposals.findIndex((p) => !used.has(p.unit.id));
      const unitId = pick >= 0 ? view.json.proposals[pick]!.unit.id : unitIds.find((id) => !used.has(id))!;
      used.add(unitId);
      const got = new Promise<{ at: number; bytes: number; cueId: string } | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 5000);
        waiters.set(unitId, (at, bytes, cueId) => { clearTimeout(timer); resolve({ at, bytes, cueId }); });
      });
      const t0 = performance.now();
      const cue = await timed<{ id: string }>(base, monitor, 'POST', `/api/incidents/${incidentId}/cues`, {
        unitId, message: `嫌疑人身穿红色上衣，骑电动车向北逃窜，请前往拦截（${k + 1}）`, cameraIds: view.json.cameras.slice(0, 2).map((c) => c.id),
      });
      const frame = await got;
      waiters.delete(unitId);
      if (k < WARMUP) continue;
      linkageMs.push(view.ms);
      linkageBytes += view.bytes;
      postMs.push(cue.ms);
      cueBytes += cue.bytes;
      if (pick >= 0) { fromProposals++; rank += pick; }
      if (!frame || frame.cueId !== cue.json.id) { lost++; continue; }
      delivery.push(frame.at - t0);
      frameBytes += frame.bytes;
      // The phone acknowledges, as it does on receipt: the unit is busy, the next cue goes to another.
      await timed(base, phoneOf.get(unitId)!, 'POST', `/api/patrol/cues/${cue.json.id}/steps`, { status: 'received' });
    }
    const p95 = percentile(delivery, 95);
    return {
      metrics: { cue_delivery_p95_ms: round(p95) },
      notes: [
        scaleNote(),
        `${UNITS} patrol users each on duty with their own unit (POST /api/patrol/duty, ${round(dutyS)} s) and connected: ${sockets} realtime sockets, one per phone, each subscribed to its unit:<id> (${round(connectS)} s to connect); units' fixes within ≈ 2.75 km of the centre, ${INCIDENTS} incidents within ≈ 1.6 km, ${CAMERAS} cameras and ${CHECKPOINTS} checkpoints over the city; seeded in ${round(seedS)} s`,
        `${CUES} cues (after ${WARMUP} not counted) one at a time, each to another unit: ${fromProposals} to a proposed unit (mean rank ${round(rank / Math.max(1, fromProposals), 2)} of the 5, 0 = nearest), with two nearby cameras pushed; the phone acknowledges each (received)`,
        `delivery (POST /api/incidents/:id/cues start → the phone's cue.sent frame on unit:<id>): ${spread(delivery, percentile)}; ${lost} lost (no frame within 5 s)`,
        `the POST itself (until its 201 body): ${spread(postMs, percentile)}; the monitor's GET /api/incidents/:id/linkage before each: ${spread(linkageMs, percentile)}`,
        `bytes: GET linkage ${Math.round(linkageBytes / Math.max(1, linkageMs.length)).toLocaleString('en')} per answer, POST cue ${Math.round(cueBytes / Math.max(1, postMs.length)).toLocaleString('en')} per 201, cue.sent frame ${Math.round(frameBytes / Math.max(1, delivery.length)).toLocaleString('en')} per phone`,
      ],
    };
  } finally {
    for (const ws of phones) ws.terminate();
    await app?.close();
    await close();
  }
}
