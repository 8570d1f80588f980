import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinkageRepository } from '../console/server/linkage/repository.ts';
import type { LonLat, UnitKind } from '../console/server/linkage/types.ts';
import { DEMO_ROADS } from '../config/demo-site.ts';
import type { Platform } from '../core/platform.ts';

/** A demo unit's GPS moves along its road this often (a vehicle terminal reports every few seconds). */
const MOVE_EVERY_MS = 3000;
/** Metres a demo unit moves per report (≈ 30 km/h for a vehicle, less on foot). */
const STEP_M: Record<UnitKind, number> = { vehicle: 25, motorbike: 20, ebike: 12, foot: 4 };

interface DemoUnit { callSign: string; kind: UnitKind; road: number; gridName: string; grid: LonLat[]; onDuty: boolean }

/** Four grids (责任田) cutting the demo town in quarters around the crossing of 解放路 and 工业路. */
const Q = { s: 37.045, n: 37.075, w: 115.65, e: 115.69, lat: 37.0603, lon: 115.6691 };
const UNITS: DemoUnit[] = [
  { callSign: '巡01', kind: 'vehicle', road: 0, gridName: '城北西片', grid: [[Q.w, Q.lat], [Q.lon, Q.lat], [Q.lon, Q.n], [Q.w, Q.n]], onDuty: true },
  { callSign: '巡02', kind: 'vehicle', road: 2, gridName: '城北东片', grid: [[Q.lon, Q.lat], [Q.e, Q.lat], [Q.e, Q.n], [Q.lon, Q.n]], onDuty: true },
  { callSign: '摩03', kind: 'motorbike', road: 8, gridName: '城南东片', grid: [[Q.lon, Q.s], [Q.e, Q.s], [Q.e, Q.lat], [Q.lon, Q.lat]], onDuty: true },
  { callSign: '步04', kind: 'foot', road: 3, gridName: '城南西片', grid: [[Q.w, Q.s], [Q.lon, Q.s], [Q.lon, Q.lat], [Q.w, Q.lat]], onDuty: false },
];

/** A point `m` metres along a polyline of [lat, lon], bouncing back at its ends; and the heading there. */
export function along(path: readonly (readonly [number, number])[], m: number): { lat: number; lon: number; heading: number } {
  const seg = path.slice(1).map((p, i) => {
    const a = path[i]!;
    const dy = (p[0] - a[0]) * 111_200;
    const dx = (p[1] - a[1]) * 111_200 * Math.cos((a[0] * Math.PI) / 180);
    return { a, b: p, len: Math.hypot(dx, dy), heading: ((Math.atan2(dx, dy) * 180) / Math.PI + 360) % 360 };
  });
  const total = seg.reduce((s, x) => s + x.len, 0);
  let d = m % (2 * total);
  const back = d > total;
  if (back) d = 2 * total - d;
  for (const s of seg) {
    if (d <= s.len || s === seg.at(-1)) {
      const t = s.len === 0 ? 0 : Math.min(1, d / s.len);
      return { lat: s.a[0] + (s.b[0] - s.a[0]) * t, lon: s.a[1] + (s.b[1] - s.a[1]) * t, heading: back ? (s.heading + 180) % 360 : s.heading };
    }
    d -= s.len;
  }
  return { lat: path[0]![0], lon: path[0]![1], heading: 0 };
}

/**
 * The demo site's patrol force (巡逻力量): four units with their grids, each with a patrol user
 * (patrol01–patrol04, one generated password written to <dataDir>/demo-patrol-password, 0600),
 * three of them on duty, and the units' GPS moving along the town's roads as vehicle terminals
 * would report it. Seeded once, when the demo site is first loaded and no unit exists.
 */
export async function startDemoPatrol(platform: Platform, seed: boolean): Promise<{ password: string | null; file: string | null; close: () => void }> {
  const { pool, eventLog, log } = platform;
  const repo = createLinkageRepository(pool);
  let password: string | null = null;
  let file: string | null = null;
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM patrol_units');
  if (seed && rows[0]!.n === 0) {
    password = randomBytes(9).toString('base64url');
    for (const [i, u] of UNITS.entries()) {
      const username = `patrol0${i + 1}`;
      const user = await platform.identity.createUser({ username, password, displayName: `${u.callSign} 巡逻员`, roles: ['patrol'] }).catch(() => null);
      const id = await repo.insertUnit({ callSign: u.callSign, kind: u.kind, stationId: null, grid: u.grid, gridName: u.gridName });
      if (user) {
        await repo.setMembers(id, [user.id]);
        if (u.onDuty) await repo.startShift(id, user.id);
      }
      await repo.refreshState(id);
    }
    mkdirSync(platform.config.dataDir, { recursive: true });
    file = join(platform.config.dataDir, 'demo-patrol-password');
    writeFileSync(file, `patrol01 … patrol04: ${password}\n`, { mode: 0o600 });
    log.info({ units: UNITS.length }, 'seeded the demo patrol units');
  }
  const units = (await repo.units({}, 120)).filter((u) => UNITS.some((d) => d.callSign === u.callSign));
  const travelled = new Map(units.map((u, i) => [u.id, i * 400]));
  const tick = async () => {
    const fixes = units.map((u) => {
      const demo = UNITS.find((d) => d.callSign === u.callSign)!;
      const m = (travelled.get(u.id) ?? 0) + STEP_M[demo.kind];
      travelled.set(u.id, m);
      const p = along(DEMO_ROADS[demo.road]!.path, m);
      return { unitId: u.id, at: new Date(), lat: p.lat, lon: p.lon, heading: Math.round(p.heading), speed: STEP_M[demo.kind] / (MOVE_EVERY_MS / 1000), accuracy: 5, source: 'terminal' as const };
    });
    const stored = await repo.insertFixes(fixes);
    if (stored.length) {
      await eventLog.publishEphemeral('units', 'unit.positions', {
        positions: stored.map((f) => ({ unitId: f.unitId, lat: f.lat, lon: f.lon, heading: f.heading, speed: f.speed, at: f.at.toISOString(), source: f.source })),
      });
    }
  };
  const timer = setInterval(() => { void tick().catch((err: unknown) => log.warn({ err }, 'demo patrol GPS tick failed')); }, MOVE_EVERY_MS);
  timer.unref();
  void tick().catch(() => undefined);
  return { password, file, close: () => clearInterval(timer) };
}
