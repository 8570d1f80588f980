import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildConsole } from '../../console/server/main.ts';
import { startGateway } from '../../gateway/main.ts';
import { startSimulator } from '../../gateway/simulator/simulator.ts';
import type { BenchResult } from './run.ts';
import { benchPlatform, percentile } from './helpers.ts';

const TOTAL = 2200;
const SIMULATED = 20;      // real simulated cameras (ONVIF + RTSP), each registered 20 times
const REACHABLE = 400;
const WRONG_PASSWORD = 40;
const SLOW = 440;          // accept the connection and never answer: each costs a full timeout

/**
 * registry: one health cycle over 2,200 devices, most unreachable or slow as in a
 * real network, and the p95 of a filtered device-list page over the same registry.
 *
 * Two health runs. The mixed run: of the 1,760 unreachable devices, 440 time out and 1,320
 * stand at loopback addresses where nothing listens, refused at once (what a switched-off
 * camera on a LAN that answers with a reset looks like). The timeout run: every unreachable
 * device times out, as on a real network where a dead camera's packets are dropped and each
 * probe waits its full timeout — a listener on loopback that accepts and never answers.
 */
export async function run(): Promise<BenchResult> {
  const { platform, config, close } = await benchPlatform({ 'health.intervalSeconds': 86_400 });
  const held: Socket[] = [];
  const blackhole = createServer((s) => { held.push(s); s.on('error', () => {}); });
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  const slowPort = (blackhole.address() as AddressInfo).port;
  const sim = await startSimulator({ cameras: Array.from({ length: SIMULATED }, (_, i) => ({ id: `bench-${i}`, ptz: false })), host: '127.0.0.1' });

  // The registry, through the CSV import as an admin would load it (many rows share a simulated
  // camera's endpoint and stream URL on purpose: confirmDuplicate registers them all).
  const header = 'name,code,kind,camera_type,site_code,lat,lon,heading,address,tags,onvif_host,onvif_port,username,password,rtsp_main,rtsp_sub,recording';
  const lines = [header];
  const roads = ['人民路', '建设街', '解放路', '长江路', '黄河大道', '朝阳街', '文化路', '迎宾大道'];
  for (let i = 0; i < TOTAL; i++) {
    const road = roads[i % roads.length];
    let host = '127.0.0.1', port = 0, rtsp = '', user = 'admin', pass = 'bench';
    if (i < REACHABLE + WRONG_PASSWORD) {
      const cam = sim.cameras[i % SIMULATED]!;
      port = cam.onvifPort; rtsp = cam.rtspUri('main'); pass = i < REACHABLE ? cam.spec.password : 'wrong-password';
    } else if (i < REACHABLE + WRONG_PASSWORD + SLOW) {
      port = slowPort; rtsp = `rtsp://127.0.0.1:${slowPort}/live`;
    } else {
      host = `127.21.${Math.floor(i / 250)}.${(i % 250) + 1}`; port = 80; rtsp = `rtsp://${host}:554/Streaming/Channels/101`;
    }
    const code = `130534000013100${String(i).padStart(5, '0')}`;
    lines.push(`${road}${i}号路口,${code},camera,${i % 10 === 0 ? 'ptz' : 'fixed'},,${37 + (i % 100) / 1000},${115.6 + (i % 77) / 1000},0,清河县${road},${i % 7 === 0 ? '重点' : ''},${host},${port},${user},${pass},${rtsp},,none`);
  }
  const consoleApp = await buildConsole(platform);
  await consoleApp.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(consoleApp.server.address() as AddressInfo).port}`;
  await platform.identity.createUser({ username: 'bench', password: 'bench-password', roles: ['admin'] });
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'bench-password' }) });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const importStarted = performance.now();
  const imported = await (await fetch(`${base}/api/devices/import?confirmDuplicate=true`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: lines.join('\n') })).json() as { created: number; refused: unknown[] };
  const importS = (performance.now() - importStarted) / 1000;
  if (imported.created !== TOTAL) throw new Error(`import created ${imported.created}: ${JSON.stringify(imported.refused.slice(0, 3))}`);

  // The gateway leases all 2,200 and judges them once on its own; then we time a full cycle.
  const gateway = await startGateway(platform, { listen: false });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { rows } = await platform.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM devices WHERE checked_at IS NOT NULL');
    if (rows[0]!.n >= TOTAL) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const report = await gateway.health.runCycle();
  const statesNow = async () => (await platform.pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM devices GROUP BY status ORDER BY status')).rows;
  const states = await statesNow();

  // Filtered pages, as the device list asks for them.
  const { rows: sites } = await platform.pool.query<{ id: string }>('SELECT id FROM sites');
  const queries = [
    'status=offline&kind=camera&page=7&pageSize=20',
    'q=%E8%A7%A3%E6%94%BE%E8%B7%AF&sort=status&pageSize=50',
    'cameraType=ptz&status=online&page=2&pageSize=20',
    `tag=${encodeURIComponent('重点')}&sort=updatedAt&order=desc&pageSize=20`,
    'page=100&pageSize=20',
    ...(sites[0] ? [`siteId=${sites[0].id}`] : []),
  ];
  const latencies: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    const res = await fetch(`${base}/api/devices?${queries[i % queries.length]}`, { headers: { cookie } });
    await res.arrayBuffer();
    if (i >= 20) latencies.push(performance.now() - t); // first 20 warm up
  }

  // The timeout run: the refused devices now time out too. The registry change makes the
  // gateway re-check them on its own; once it has, time a full cycle again.
  const moved = new Date();
  const { rowCount } = await platform.pool.query(
    `UPDATE devices SET onvif_host = '127.0.0.1', onvif_port = $1, rtsp_main = $2 WHERE onvif_host LIKE '127.21.%'`,
    [slowPort, `rtsp://127.0.0.1:${slowPort}/live`],
  );
  if (rowCount !== TOTAL - REACHABLE - WRONG_PASSWORD - SLOW) throw new Error(`moved ${rowCount} devices to the silent listener`);
  const settle = Date.now() + 240_000;
  while (Date.now() < settle) {
    const { rows } = await platform.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM devices WHERE onvif_port = $1 AND (checked_at IS NULL OR checked_at < $2)', [slowPort, moved]);
    if (rows[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const timeoutReport = await gateway.health.runCycle();
  const timeoutStates = await statesNow();

  await gateway.close();
  await consoleApp.close();
  await sim.close();
  for (const s of held) s.destroy();
  blackhole.close();
  await close();

  return {
    metrics: {
      health_cycle_2200_s: report.durationMs / 1000,
      health_cycle_2200_timeout_s: timeoutReport.durationMs / 1000,
      device_list_p95_ms: percentile(latencies, 95),
      device_list_p50_ms: percentile(latencies, 50),
      csv_import_2200_s: importS,
    },
    targets: {
      health_cycle_2200_s: { op: '<=', value: 60 },
      health_cycle_2200_timeout_s: { op: '<=', value: 60 },
      device_list_p95_ms: { op: '<=', value: 50 },
    },
    notes: [
      `mixed run: ${REACHABLE} reachable (${SIMULATED} simulated cameras), ${WRONG_PASSWORD} refusing the password, ${SLOW} accepting and never answering (each a ${config.health.timeoutMs} ms timeout), ${TOTAL - REACHABLE - WRONG_PASSWORD - SLOW} refused at once (nothing listens)`,
      `timeout run: the same, with all ${TOTAL - REACHABLE - WRONG_PASSWORD} unreachable devices timing out (${config.health.timeoutMs} ms each)`,
      `health: concurrency ${config.health.concurrency}; states after the mixed cycle: ${states.map((s) => `${s.status} ${s.n}`).join(', ')}; after the timeout cycle: ${timeoutStates.map((s) => `${s.status} ${s.n}`).join(', ')}`,
      `device list: ${latencies.length} requests over HTTP on loopback with a session cookie, ${queries.length} filter shapes`,
    ],
  };
}
