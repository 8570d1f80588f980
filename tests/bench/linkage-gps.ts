import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConsole } from '../../console/server/main.ts';
import type { App } from '../../core/http/app.ts';
import { benchPlatform } from './helpers.ts';
import { cityPoint, cpuLine, cpuWindow, rng, round, scaled, scaleNote, seedSessions, seedUnits, seedUsers, terminalAuth, type CpuReading } from './linkage-seed.ts';

/**
 * GPS ingest and fan-out: 2,000 vehicle terminals (units seeded with a terminal id and the
 * SHA-256 of its secret, as POST /api/units/:id/terminal stores them) each POST one fix a second
 * to /api/gps/fixes (`Authorization: Terminal <id>:<secret>`) — 2,000 requests a second, spread
 * evenly, over keep-alive connections — while 10 control-room consoles hold a realtime socket
 * subscribed to `units`. The terminals and consoles run in a child process (linkage-gps-load.ts)
 * so that the server's CPU (this process: the console API and its realtime hub), the load's, and
 * PostgreSQL's and Redis's are read apart. After a 5 s warm-up, 30 s are measured
 * (SKYNET_BENCH_GPS_SECONDS): fixes acknowledged `accepted` per second, and for each accepted fix
 * the time from its POST's start to each console's `unit.positions` frame carrying that unit with
 * that fix time. linkage.maxFixesPerSecond stays at its default (5 a second per unit): a terminal
 * sends one.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
const UNITS = scaled(2000, 50);
const CONSOLES = 10;
const SECONDS = Number(process.env.SKYNET_BENCH_GPS_SECONDS ?? 30);
const WARMUP_S = 5;
/** Keep-alive connections the terminals share (a real site has one per terminal; the box has 2 cores). */
const SOCKETS = Number(process.env.SKYNET_BENCH_GPS_SOCKETS ?? 256);
/** Fixes per terminal per second: 1 as a terminal sends; SKYNET_BENCH_GPS_RATE=1.5 offers 3,000/s to show the headroom past the target. */
const RATE = Number(process.env.SKYNET_BENCH_GPS_RATE ?? 1);

interface Dist { n: number; p50: number; p95: number; p99: number; max: number }
interface LoadResult {
  offeredPerS: number; acksPerS: number; acceptedPerS: number; statuses: Record<string, number>; errors: number; maxInFlight: number;
  behindMaxMs: number; leftInFlight: number; ack: Dist; fanout: Dist; queued: Dist; acceptedInWindow: number; receiptsOfAccepted: number; neverHeard: number;
  consoles: number; frames: number; frameBytes: number; positionsHeard: number; unknownPositions: number; ackBytes: number; acksTotal: number; sentTotal: number; reconnects: number;
}

export async function benchGps(): Promise<{ metrics: { gps_updates_per_s: number; gps_fanout_p95_ms: number }; notes: string[] }> {
  const { platform, config, close } = await benchPlatform({ 'health.intervalSeconds': 86_400 });
  let app: App | null = null;
  let child: ReturnType<typeof spawn> | null = null;
  try {
    const { pool } = platform;
    const random = rng(5);
    const terminals = { run: randomBytes(3).toString('hex').toUpperCase(), secretPrefix: `bench-${randomBytes(8).toString('hex')}-` };
    const starts = Array.from({ length: UNITS }, () => cityPoint(random));
    const unitIds = await seedUnits(pool, { n: UNITS, at: (i) => starts[i]!, terminals });
    const monitors = await seedUsers(platform, CONSOLES, 'bench-console', ['monitor']);
    const cookies = await seedSessions(pool, monitors.map((m) => m.id));

    app = await buildConsole(platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const positions0 = Number((await pool.query('SELECT count(*) AS n FROM unit_positions')).rows[0].n);

    child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'linkage-gps-load.ts')], {
      cwd: join(HERE, '..', '..'), stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, SKYNET_LOG_LEVEL: 'error' },
    });
    const proc = child;
    let reading: CpuReading | null = null;
    const result = await new Promise<LoadResult>((resolve, reject) => {
      let stop: (() => CpuReading) | null = null;
      let buf = '';
      proc.once('exit', (code) => reject(new Error(`GPS load child exited (${code}) before its result`)));
      proc.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line.startsWith('{')) continue;
          const m = JSON.parse(line) as { phase?: string; result?: LoadResult };
          if (m.phase === 'measure') stop = cpuWindow({ 'load generator (terminals + consoles, child process)': proc.pid! });
          else if (m.phase === 'done') reading = stop?.() ?? null;
          else if (m.result) resolve(m.result);
        }
      });
      proc.stdin!.write(`${JSON.stringify({
        base, consoles: cookies, warmupSeconds: WARMUP_S, seconds: SECONDS, sockets: SOCKETS, rate: RATE,
        units: unitIds.map((id, i) => ({ id, auth: terminalAuth(terminals, i), lat: starts[i]!.lat, lon: starts[i]!.lon })),
      })}\n`);
    });
    const r = result;
    const stored = Number((await pool.query('SELECT count(*) AS n FROM unit_positions')).rows[0].n) - positions0;
    const { rows: [ev] } = await pool.query(`SELECT count(*)::int AS n, coalesce(avg(pg_column_size(payload)), 0)::int AS bytes, coalesce(sum(pg_column_size(payload)), 0)::bigint AS total FROM events WHERE kind = 'unit.positions'`);
    await pool.query('VACUUM ANALYZE unit_positions');
    const trackBytes = Number((await pool.query(`SELECT pg_total_relation_size('unit_positions') AS b`)).rows[0].b);
    const gbPerDay = (bytesPerFix: number) => round((bytesPerFix * r.acceptedPerS * 86_400) / 1e9);
    const ok = r.statuses['200'] ?? 0;
    const s429 = r.statuses['429'] ?? 0;
    const other = Object.entries(r.statuses).filter(([k]) => k !== '200' && k !== '429').map(([k, v]) => `${v} × ${k}`).join(', ') || 'none';
    const expected = r.acceptedInWindow * r.consoles;
    const cpu = reading as CpuReading | null;
    const perCore = (v: number, pct: number) => (pct > 0 ? round((v / pct) * 100, 0) : NaN);
    return {
      metrics: { gps_updates_per_s: round(r.acceptedPerS), gps_fanout_p95_ms: round(r.fanout.p95) },
      notes: [
        scaleNote(),
        `${UNITS} terminals × ${RATE} fix/s (offered ${round(r.offeredPerS)}/s) over ${SOCKETS} keep-alive HTTP/1.1 connections (the generator writes and reads them on raw sockets, one request at a time each), ${r.consoles} consoles on 'units'; ${WARMUP_S} s warm-up, ${SECONDS} s measured; linkage.maxFixesPerSecond ${config.linkage.maxFixesPerSecond} per unit (default)`,
        `acknowledged in the window: ${round(r.acksPerS)}/s, accepted ${round(r.acceptedPerS)} fixes/s; answers ${ok} × 200, ${s429} × 429 (linkage.gps_flood), other ${other}; ${r.errors} requests lost to a closed connection (${r.reconnects} reconnects); at most ${r.maxInFlight} requests in flight, ${r.leftInFlight} unanswered 10 s after the end; the sender fell at most ${round(r.behindMaxMs)} ms behind its schedule; ${r.queued.n ? `${r.queued.n} requests waited for a free connection (p95 ${round(r.queued.p95)} ms, max ${round(r.queued.max)} ms), not counted in the times below, which start at the POST's write` : 'no request waited for a free connection'}`,
        `POST /api/gps/fixes answer (start → acknowledged, group commit every 25 ms): p50 ${round(r.ack.p50)} ms, p95 ${round(r.ack.p95)} ms, p99 ${round(r.ack.p99)} ms, max ${round(r.ack.max)} ms; ${Math.round(r.ackBytes / Math.max(1, r.acksTotal))} bytes per answer`,
        `fan-out (fix POST start → a console's unit.positions frame with that unit and fix time; batched every 200 ms): p50 ${round(r.fanout.p50)} ms, p95 ${round(r.fanout.p95)} ms, p99 ${round(r.fanout.p99)} ms, max ${round(r.fanout.max)} ms over ${r.fanout.n.toLocaleString('en')} receipts; of ${r.acceptedInWindow.toLocaleString('en')} accepted fixes × ${r.consoles} consoles = ${expected.toLocaleString('en')} expected receipts, ${(expected - r.receiptsOfAccepted).toLocaleString('en')} lost (${r.neverHeard} fixes heard by no console)`,
        `realtime: ${r.frames} unit.positions frames received by the consoles, ${Math.round(r.frameBytes / Math.max(1, r.frames)).toLocaleString('en')} bytes each (${round((r.frameBytes / Math.max(1, r.consoles)) / (SECONDS + WARMUP_S) / 1024)} KiB/s per console), ${round(r.positionsHeard / Math.max(1, r.frames))} positions per frame, ${ev.n} unit.positions event rows (positions are ephemeral: none expected); ${stored.toLocaleString('en')} fixes stored (unit_positions) of ${r.sentTotal.toLocaleString('en')} sent`,
        `storage at this rate: the track (unit_positions with its key and BRIN index) ${Math.round(trackBytes / Math.max(1, stored))} bytes per fix → ${gbPerDay(trackBytes / Math.max(1, stored))} GB a day, kept linkage.trackRetentionDays (${config.linkage.trackRetentionDays}) days`,
        cpu ? cpuLine(cpu) : 'CPU: not measured (no window)',
        ...(cpu ? [`per 100 % of one core: ${perCore(r.acceptedPerS, cpu.server)} fixes/s in the server process (${perCore(r.acceptedPerS, cpu.serverLoop)} on its event-loop thread alone), ${perCore(r.acceptedPerS, Object.values(cpu.children)[0] ?? 0)} in the load generator, ${perCore(r.acceptedPerS, cpu.postgres)} in PostgreSQL`] : []),
      ],
    };
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await app?.close();
    await close();
  }
}
