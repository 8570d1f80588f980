import type { AddressInfo } from 'node:net';
import type { ConsoleContext } from '../../console/server/context.ts';
import { buildConsole } from '../../console/server/main.ts';
import { createLinkageService } from '../../console/server/linkage/service.ts';
import type { App } from '../../core/http/app.ts';
import { benchPlatform, percentile } from './helpers.ts';
import { cityPoint, login, rng, round, scaled, scaleNote, seedDevices, seedIncidents, seedUnits, seedUsers, spread, timed } from './linkage-seed.ts';

/**
 * The linkage's geographic reads on a site-sized city (≈ 11 × 11 km around the demo centre):
 * 2,000 patrol units on duty (one member each, an open shift, 5 % with a fix older than
 * linkage.staleSeconds) scattered over it, 2,200 cameras and 40 checkpoints, and incidents at
 * random places, through the HTTP API as a monitor:
 * - nearest: GET /api/incidents/:id/linkage — the 5 nearest available units (fresh positions
 *   first) with the cameras along each one's way, the cameras around the incident, its cues and
 *   rings — 200 requests over 50 incidents → nearest_units_p95_ms; the proposals alone
 *   (service.proposals, and the KNN query under it) are timed in process for the notes;
 * - rings: PUT /api/incidents/:id/rings once each (default radii 1/3/5 km), then GET rings
 *   100 times → ring_members_p95_ms.
 */
const UNITS = scaled(2000, 50);
const CAMERAS = scaled(2200, 100);
const CHECKPOINTS = scaled(40, 4);
const INCIDENTS = 50;
const NEAREST_REQUESTS = 200;
const RING_INCIDENTS = 20;
const RING_REQUESTS = 100;
const WARMUP = 10;

export async function benchGeo(): Promise<{ metrics: { nearest_units_p95_ms: number; ring_members_p95_ms: number }; notes: string[] }> {
  const { platform, config, close } = await benchPlatform({ 'health.intervalSeconds': 86_400 });
  let app: App | null = null;
  try {
    const { pool } = platform;
    const random = rng(11);
    const seedStarted = performance.now();
    await seedDevices(pool, CAMERAS, CHECKPOINTS);
    const patrols = await seedUsers(platform, UNITS, 'bench-patrol', ['patrol']);
    await seedUnits(pool, { n: UNITS, at: () => cityPoint(random), members: patrols.map((p) => p.id), onDuty: true, staleShare: 0.05 });
    const places = Array.from({ length: INCIDENTS }, () => cityPoint(random, 0.9));
    const incidents = await seedIncidents(pool, places);
    await pool.query('VACUUM ANALYZE incidents');
    const seedS = (performance.now() - seedStarted) / 1000;

    app = await buildConsole(platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await platform.identity.createUser({ username: 'bench-monitor', password: 'bench-password', roles: ['monitor'] });
    const monitor = await login(base, 'bench-monitor');
    // Fixes as fresh as when seeded (the 5 % stale ones stay stale).
    await pool.query(`UPDATE patrol_units SET fix_at = now() - random() * interval '20 seconds' WHERE fix_at > now() - interval '5 minutes'`);
    await pool.query('VACUUM ANALYZE patrol_units');

    // nearest: the incident's linkage, as the monitor opens it.
    type Linkage = { proposals: { unit: { stale: boolean }; distanceM: number; alongTheWay: unknown[] }[]; cameras: unknown[] };
    const nearest: number[] = [];
    let bytes = 0, proposals = 0, way = 0, cameras = 0, nearestM = 0, stale = 0;
    for (let i = 0; i < WARMUP + NEAREST_REQUESTS; i++) {
      const r = await timed<Linkage>(base, monitor, 'GET', `/api/incidents/${incidents[i % incidents.length]}/linkage`);
      if (i < WARMUP) continue;
      nearest.push(r.ms);
      bytes += r.bytes;
      proposals += r.json.proposals.length;
      way += r.json.proposals.reduce((s, p) => s + p.alongTheWay.length, 0);
      cameras += r.json.cameras.length;
      nearestM += r.json.proposals[0]?.distanceM ?? 0;
      stale += r.json.proposals.filter((p) => p.unit.stale).length;
    }

    // The same in process (no HTTP): the whole linkage answer, the proposals alone, and the two queries under them.
    const linkage = createLinkageService({ platform } as unknown as ConsoleContext);
    const actor = { kind: 'user' as const, userId: null, username: 'bench-monitor', roles: ['monitor' as const] };
    const whole: number[] = [];
    const alone: number[] = [];
    const knn: number[] = [];
    const rows: number[] = [];
    const auth: number[] = [];
    const token = monitor.slice(monitor.indexOf('=') + 1);
    for (let i = 0; i < WARMUP + NEAREST_REQUESTS; i++) {
      const at = places[i % places.length]!;
      let t = performance.now();
      await linkage.linkage(incidents[i % incidents.length]!, actor);
      const w = performance.now() - t;
      t = performance.now();
      await linkage.proposals(at);
      const a = performance.now() - t;
      t = performance.now();
      const near = await linkage.repo.nearestAvailable(at.lat, at.lon, 10, []);
      const k = performance.now() - t;
      t = performance.now();
      await linkage.repo.units({ ids: near.map((x) => x.id) }, config.linkage.staleSeconds);
      const u = performance.now() - t;
      // What every cookie request costs before its route: the session check (UPDATE sessions SET last_seen_at … RETURNING, committed).
      t = performance.now();
      await platform.identity.authenticate({ cookie: token });
      const s = performance.now() - t;
      if (i >= WARMUP) { whole.push(w); alone.push(a); knn.push(k); rows.push(u); auth.push(s); }
    }

    // rings: set once, then read.
    const putMs: number[] = [];
    for (const id of incidents.slice(0, RING_INCIDENTS)) putMs.push((await timed(base, monitor, 'PUT', `/api/incidents/${id}/rings`, {})).ms);
    type Rings = { rings: { cameras: unknown[]; checkpoints: unknown[]; units: unknown[] }[] };
    const ringMs: number[] = [];
    let ringBytes = 0, members = 0, ringCams = 0, ringCps = 0, ringUnits = 0;
    for (let i = 0; i < WARMUP + RING_REQUESTS; i++) {
      const r = await timed<Rings>(base, monitor, 'GET', `/api/incidents/${incidents[i % RING_INCIDENTS]}/rings`);
      if (i < WARMUP) continue;
      ringMs.push(r.ms);
      ringBytes += r.bytes;
      for (const ring of r.json.rings) {
        ringCams += ring.cameras.length;
        ringCps += ring.checkpoints.length;
        ringUnits += ring.units.length;
      }
    }
    members = ringCams + ringCps + ringUnits;
    const n = NEAREST_REQUESTS;
    const rn = RING_REQUESTS;
    return {
      metrics: { nearest_units_p95_ms: round(percentile(nearest, 95)), ring_members_p95_ms: round(percentile(ringMs, 95)) },
      notes: [
        scaleNote(),
        `${UNITS} units on duty (5 % with a stale fix), ${CAMERAS} cameras, ${CHECKPOINTS} checkpoints over ≈ 11 × 11 km, ${INCIDENTS} incidents at random places; seeded in ${round(seedS)} s`,
        `nearest (GET /api/incidents/:id/linkage, ${n} requests after ${WARMUP}): ${spread(nearest, percentile)}; per answer ${round(proposals / n)} proposals (nearest at ${Math.round(nearestM / n)} m, ${round(stale / n, 2)} stale), ${round(way / n)} cameras along the ways, ${round(cameras / n)} cameras within ${config.incidents.nearbyRadiusMeters} m; ${Math.round(bytes / n).toLocaleString('en')} bytes per answer`,
        `in process, no HTTP (the same ${n} incidents): the whole linkage answer (service.linkage: incident, cues, rings, proposals ∥ cameras around) ${spread(whole, percentile)}; the proposals alone (KNN, the units' rows, the cameras along each of the 5 ways) ${spread(alone, percentile)}; the KNN query (nearestAvailable, 10 units) ${spread(knn, percentile)}; the 10 units' rows (repo.units: members, duty, active cue) ${spread(rows, percentile)}; the session check every cookie request makes first (identity.authenticate: an UPDATE of sessions.last_seen_at, a commit) ${spread(auth, percentile)}`,
        `rings: PUT ${RING_INCIDENTS} × (radii ${config.linkage.ringRadiiMeters.join(' / ')} m): ${spread(putMs, percentile)}; GET /api/incidents/:id/rings ${rn} requests after ${WARMUP}: ${spread(ringMs, percentile)}; per answer ${Math.round(members / rn)} members (${Math.round(ringCams / rn)} cameras, ${Math.round(ringCps / rn)} checkpoints, ${Math.round(ringUnits / rn)} units), ${Math.round(ringBytes / rn).toLocaleString('en')} bytes`,
      ],
    };
  } finally {
    await app?.close();
    await close();
  }
}
