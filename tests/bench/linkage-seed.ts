import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { DEMO_CENTER } from '../../config/demo-site.ts';
import type { Pool } from '../../core/db/pool.ts';
import { SESSION_COOKIE } from '../../core/identity/guard.ts';
import type { Role } from '../../core/identity/types.ts';
import type { Platform } from '../../core/platform.ts';

/**
 * What the linkage benchmark's steps (linkage-*.ts) share: the site's size (scaled by
 * SKYNET_BENCH_SCALE for a smoke run), its city (≈ 11 × 11 km around the demo town's centre),
 * seeding users, sessions, units, cameras and incidents in bulk SQL, timed HTTP requests that
 * count the bytes served, WebSocket clients of /api/events, and /proc CPU counters.
 */

/** SKYNET_BENCH_SCALE=0.1: a smoke run at a tenth of the site (the full run is 1). */
export const SCALE = Number(process.env.SKYNET_BENCH_SCALE ?? 1);
if (!(SCALE > 0 && SCALE <= 1)) throw new Error(`SKYNET_BENCH_SCALE must lie in (0, 1], not ${process.env.SKYNET_BENCH_SCALE}`);
/** `n` at this run's scale, at least `min`. */
export const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));
export const scaleNote = () => (SCALE === 1 ? 'full size' : `SMOKE RUN at SKYNET_BENCH_SCALE=${SCALE}: figures are not the site's`);

/** The city: ±5.5 km around the demo centre (≈ 11 × 11 km), as console-search.ts scatters its cameras. */
export const CENTER = DEMO_CENTER;
export const SPREAD = { lat: 0.0495, lon: 0.062 };
export const M_PER_DEG = 111_195;

/** Rounded to `d` places; NaN (or null, as JSON writes NaN) stays NaN. */
export const round = (v: number | null, d = 1) => (v === null || !Number.isFinite(v) ? NaN : Number(v.toFixed(d)));

/** A deterministic random sequence, so runs compare. */
export function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A point in the city, uniformly; `inner` (0–1) keeps it that share of the way from the centre to the edge. */
export function cityPoint(random: () => number, inner = 1): { lat: number; lon: number } {
  return { lat: CENTER.lat + (random() * 2 - 1) * SPREAD.lat * inner, lon: CENTER.lon + (random() * 2 - 1) * SPREAD.lon * inner };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * `n` enabled users with `roles`, in one INSERT: the first through the identity service (its
 * argon2 hash), the rest sharing that hash (hashing 2,000 passwords would take a minute of CPU).
 * Ordered as created: `<prefix>-00001`, …
 */
export async function seedUsers(platform: Platform, n: number, prefix: string, roles: Role[], password = 'bench-password'): Promise<{ id: string; username: string }[]> {
  const first = await platform.identity.createUser({ username: `${prefix}-00001`, password, roles });
  if (n > 1) {
    await platform.pool.query(
      `INSERT INTO users (username, display_name, password_hash, roles)
       SELECT $1 || '-' || lpad(i::text, 5, '0'), $4 || i, u.password_hash, u.roles FROM users u, generate_series(2, $2) i WHERE u.id = $3`,
      [prefix, n, first.id, roles.includes('patrol') ? '巡逻民警' : '值班员'],
    );
  }
  const { rows } = await platform.pool.query<{ id: string; username: string }>(
    `SELECT id, username FROM users WHERE username LIKE $1 || '-%' ORDER BY username`, [prefix]);
  return rows;
}

/** A signed-in session per user (rows as the login writes them): the `cookie` header of each. */
export async function seedSessions(pool: Pool, userIds: string[], hours = 12): Promise<string[]> {
  const tokens = userIds.map(() => randomBytes(32).toString('base64url'));
  await pool.query(
    `INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent)
     SELECT h, u, now() + make_interval(hours => $3), '127.0.0.1', 'skynet-bench' FROM unnest($1::bytea[], $2::uuid[]) AS x(h, u)`,
    [tokens.map(sha256), userIds, hours],
  );
  return tokens.map((t) => `${SESSION_COOKIE}=${t}`);
}

/** Log in over HTTP as a person does: the cookie header. */
export async function login(base: string, username: string, password = 'bench-password'): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

export interface SeedUnits {
  n: number;
  /** Where unit i stands. */
  at: (i: number) => { lat: number; lon: number };
  /** One patrol member per unit (user i of unit i); with `onDuty`, an open shift and state available. */
  members?: string[];
  onDuty?: boolean;
  /** Terminal credentials: terminal id `BT<run><i>`, secret `<secretPrefix><i>` (stored as its SHA-256, as issueTerminal does). */
  terminals?: { run: string; secretPrefix: string };
  /** Share of units whose last fix is older than linkage.staleSeconds (a receiver in a garage). */
  staleShare?: number;
}

/**
 * `n` patrol units in one INSERT (call signs 巡<i>, the four kinds in turn, grids named after the
 * demo town's streets, the latest fix at `at(i)` a few seconds old), with their members and open
 * shifts when asked. Returns the unit ids in call-sign order (unit i is index i).
 */
export async function seedUnits(pool: Pool, o: SeedUnits): Promise<string[]> {
  const pts = Array.from({ length: o.n }, (_, i) => o.at(i));
  const random = rng(77);
  const fixAgo = pts.map(() => (random() < (o.staleShare ?? 0) ? 600 + random() * 3000 : random() * 20));
  await pool.query(
    `INSERT INTO patrol_units (call_sign, kind, state, grid_name, lat, lon, heading, speed, fix_at, fix_source, on_duty_since, terminal_id, terminal_secret_hash)
     SELECT '巡' || lpad(i::text, 4, '0'), (ARRAY['vehicle','foot','motorbike','ebike'])[1 + i % 4],
            CASE WHEN $4 THEN 'available' ELSE 'off_duty' END,
            (ARRAY['人民路','中山路','解放路','建设街','胜利路','清河大街','新华路','文化路'])[1 + i % 8] || '责任田' || (1 + i / 8),
            lat, lon, floor(random() * 360), random() * 12, now() - make_interval(secs => ago), 'terminal',
            CASE WHEN $4 THEN now() - interval '3 hours' END,
            CASE WHEN $5::text IS NOT NULL THEN 'BT' || $5 || lpad(i::text, 5, '0') END,
            CASE WHEN $5::text IS NOT NULL THEN sha256(convert_to($6 || lpad(i::text, 5, '0'), 'UTF8')) END
       FROM unnest($1::float8[], $2::float8[], $3::float8[]) WITH ORDINALITY AS p(lat, lon, ago, i)`,
    [pts.map((p) => p.lat), pts.map((p) => p.lon), fixAgo, o.onDuty ?? false, o.terminals?.run ?? null, o.terminals?.secretPrefix ?? null],
  );
  const { rows } = await pool.query<{ id: string }>(`SELECT id FROM patrol_units WHERE call_sign LIKE '巡%' ORDER BY call_sign`);
  const ids = rows.map((r) => r.id);
  if (o.members) {
    const users = o.members.slice(0, ids.length);
    await pool.query('INSERT INTO unit_members (unit_id, user_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])', [ids.slice(0, users.length), users]);
    if (o.onDuty) {
      await pool.query(`INSERT INTO duty_shifts (unit_id, user_id, started_at) SELECT u, m, now() - interval '3 hours' FROM unnest($1::uuid[], $2::uuid[]) AS x(u, m)`,
        [ids.slice(0, users.length), users]);
    }
  }
  await pool.query('VACUUM ANALYZE patrol_units');
  return ids;
}

/** The terminal credential header of unit i seeded with `terminals`. */
export const terminalAuth = (t: { run: string; secretPrefix: string }, i: number) =>
  `Terminal BT${t.run}${String(i + 1).padStart(5, '0')}:${t.secretPrefix}${String(i + 1).padStart(5, '0')}`;

/**
 * Located cameras (fixed, a tenth PTZ, a few face channels) and checkpoints scattered over the
 * city as console-search.ts does, in one INSERT each; most online, some offline.
 */
export async function seedDevices(pool: Pool, cameras: number, checkpoints: number): Promise<void> {
  await pool.query(
    `INSERT INTO devices (kind, camera_type, name, code, address, lat, lon, heading, tags, status, enabled)
     SELECT 'camera', CASE WHEN i % 10 = 0 THEN 'ptz' WHEN i % 37 = 0 THEN 'face' ELSE 'fixed' END,
            (ARRAY['人民路','中山路','解放路','建设街','胜利路','清河大街','新华路','文化路'])[1 + i % 8] || '-' || lpad(i::text, 4, '0') || CASE WHEN i % 10 = 0 THEN '-球机' ELSE '-枪机' END,
            '13053400001131' || lpad(i::text, 6, '0'), '清河县' || (ARRAY['人民路','中山路','解放路','建设街'])[1 + i % 4] || (i % 300) || '号',
            $1 + (random() * 2 - 1) * $3, $2 + (random() * 2 - 1) * $4, floor(random() * 360),
            CASE WHEN i % 10 = 0 THEN ARRAY['重点部位'] ELSE '{}' END, CASE WHEN random() < 0.08 THEN 'offline' ELSE 'online' END, true
       FROM generate_series(1, $5) AS i`,
    [CENTER.lat, CENTER.lon, SPREAD.lat, SPREAD.lon, cameras],
  );
  if (checkpoints > 0) {
    await pool.query(
      `INSERT INTO devices (kind, name, code, lat, lon, heading, tags, status, enabled)
       SELECT 'checkpoint', '卡口-' || lpad(i::text, 3, '0'), '13053400001121' || lpad(i::text, 6, '0'),
              $1 + (random() * 2 - 1) * $3, $2 + (random() * 2 - 1) * $4, (i % 2) * 90 + 90, ARRAY['卡口'], 'online', true
         FROM generate_series(1, $5) AS i`,
      [CENTER.lat, CENTER.lon, SPREAD.lat, SPREAD.lon, checkpoints],
    );
  }
  await pool.query('VACUUM ANALYZE devices');
}

/** Incidents at the given places (status new, created a few minutes ago): their ids in order. */
export async function seedIncidents(pool: Pool, at: { lat: number; lon: number }[], type = 'robbery'): Promise<string[]> {
  const { rows } = await pool.query<{ id: string; number: string }>(
    `INSERT INTO incidents (number, type, priority, source, status, title, description, address, lat, lon, occurred_at, created_by_name)
     SELECT 'JQBENCH' || lpad(i::text, 6, '0'), $3, 2, 'call_110', 'new', '抢夺案（基准）' || i, '报警人称手机被抢，嫌疑人向北逃窜。',
            '清河县人民路' || i || '号', lat, lon, now() - interval '4 minutes', '监控员'
       FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lat, lon, i)
     RETURNING id, number`,
    [at.map((p) => p.lat), at.map((p) => p.lon), type],
  );
  return rows.sort((a, b) => a.number.localeCompare(b.number)).map((r) => r.id);
}

/** A timed request: wall time from its start to the last body byte, the status, the body bytes and the parsed JSON. */
export async function timed<T = unknown>(base: string, cookie: string, method: string, path: string, body?: unknown): Promise<{ ms: number; status: number; bytes: number; json: T }> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, {
    method, headers: { cookie, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  const text = buf.toString('utf8');
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return { ms, status: res.status, bytes: buf.length, json: (text ? JSON.parse(text) : null) as T };
}

/** p50 / p95 / max of a list of ms, as the notes write them. */
export const spread = (v: number[], pct: (v: number[], p: number) => number) =>
  `p50 ${round(pct(v, 50))} ms, p95 ${round(pct(v, 95))} ms, max ${round(Math.max(...v))} ms`;

// ---- WebSocket clients of /api/events ------------------------------------------------------

export interface WsClient {
  on(event: string, listener: (...args: any[]) => void): void;
  send(data: string): void;
  close(): void;
  terminate(): void;
}
type WsCtor = new (url: string, opts?: { headers?: Record<string, string>; perMessageDeflate?: boolean }) => WsClient;
export const WS = createRequire(import.meta.url)('ws') as WsCtor;

export interface EventFrame { op: string; event?: { id: number; topic: string; kind: string; payload: Record<string, any> }; topics?: string[]; refused?: unknown[] }

/**
 * A realtime client as the web app and the phone open one: /api/events with the session cookie,
 * `subscribe` after `hello`; resolves once `subscribed` names every topic. `onEvent` hears each event frame.
 */
export function realtimeClient(base: string, cookie: string, topics: string[], onEvent: (e: NonNullable<EventFrame['event']>, receivedAt: number, bytes: number) => void): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WS(`${base.replace(/^http/, 'ws')}/api/events`, { headers: { cookie } });
    const timer = setTimeout(() => reject(new Error('realtime client: no subscribed within 15 s')), 15_000);
    ws.on('error', (err: Error) => { clearTimeout(timer); reject(err); });
    ws.on('message', (data: Buffer) => {
      const receivedAt = performance.now();
      const m = JSON.parse(data.toString()) as EventFrame;
      if (m.op === 'event' && m.event) onEvent(m.event, receivedAt, data.length);
      else if (m.op === 'hello') ws.send(JSON.stringify({ op: 'subscribe', topics }));
      else if (m.op === 'subscribed') {
        clearTimeout(timer);
        if (topics.every((t) => m.topics?.includes(t))) resolve(ws);
        else reject(new Error(`realtime client: refused ${JSON.stringify(m.refused)}`));
      }
    });
  });
}

/** Run `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }));
  return out;
}

// ---- CPU from /proc --------------------------------------------------------------------------

let clkTck: number | null = null;
const ticks = () => (clkTck ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100);

/** utime + stime of a process in seconds (null when gone), and its command name. */
function procCpu(pid: number | string): { comm: string; s: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { comm, s: (Number(f[11]) + Number(f[12])) / ticks() };
  } catch {
    return null;
  }
}

/** CPU seconds of every process named `comm` (postgres backends, redis-server) at this moment, by pid. */
function byComm(comm: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const c = procCpu(pid);
    if (c && c.comm.startsWith(comm)) out.set(pid, c.s);
  }
  return out;
}

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/**
 * CPU over a window, percent of one core: this process (the server under test), the given child
 * pids, every PostgreSQL and Redis process (the whole cluster: other databases' work included)
 * and the whole machine (of cores × 100 %).
 */
export function cpuWindow(children: Record<string, number>) {
  const node0 = process.cpuUsage();
  // The event loop's own thread (its tid is the pid): what one Node process cannot spread over cores.
  const loopStat = `${process.pid}/task/${process.pid}`;
  const loop0 = procCpu(loopStat)?.s ?? NaN;
  const threads = () => {
    const out = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
      const c = tid === String(process.pid) ? null : procCpu(`${process.pid}/task/${tid}`);
      if (c) out.set(`${c.comm}#${tid}`, c.s);
    }
    return out;
  };
  const threads0 = threads();
  const kids0 = Object.fromEntries(Object.entries(children).map(([k, pid]) => [k, procCpu(pid)?.s ?? NaN]));
  const pg0 = byComm('postgres');
  const redis0 = byComm('redis-server');
  const m0 = machineTicks();
  const t0 = performance.now();
  const grown = (before: Map<string, number>, after: Map<string, number>) => {
    let s = 0;
    for (const [pid, v] of after) s += v - (before.get(pid) ?? 0); // a backend started in the window counts from 0
    return s;
  };
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const node = process.cpuUsage(node0);
    const m1 = machineTicks();
    const pct = (s: number) => round((s / secs) * 100);
    return {
      seconds: secs,
      server: pct((node.user + node.system) / 1e6),
      serverLoop: pct((procCpu(loopStat)?.s ?? NaN) - loop0),
      serverThreads: (() => {
        const by = new Map<string, number>();
        for (const [k, v] of threads()) { const name = k.slice(0, k.indexOf('#')); by.set(name, (by.get(name) ?? 0) + v - (threads0.get(k) ?? 0)); }
        return Object.fromEntries([...by].filter(([, v]) => v > 0).map(([k, v]) => [k, pct(v)]));
      })(),
      children: Object.fromEntries(Object.entries(children).map(([k, pid]) => [k, pct((procCpu(pid)?.s ?? NaN) - kids0[k]!)])),
      postgres: pct(grown(pg0, byComm('postgres'))),
      redis: pct(grown(redis0, byComm('redis-server'))),
      machine: round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100 * cpus().length),
      cores: cpus().length,
    };
  };
}
export type CpuReading = ReturnType<ReturnType<typeof cpuWindow>>;

export const cpuLine = (c: CpuReading) =>
  `CPU over ${round(c.seconds)} s, % of one core: server (the bench process: console API + realtime hub) ${c.server} (its event-loop thread ${c.serverLoop}; other threads: ${Object.entries(c.serverThreads).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}), `
  + Object.entries(c.children).map(([k, v]) => `${k} ${v}, `).join('')
  + `PostgreSQL (all backends of the cluster) ${c.postgres}, Redis ${c.redis}; whole machine ${c.machine} of ${c.cores * 100}`;
