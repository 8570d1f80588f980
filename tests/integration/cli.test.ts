import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { dropDatabase } from '../../core/db/migrate.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'skynet-cli-'));
const url = new URL(inject('databaseUrl'));
url.pathname = `/skynet_cli_${randomBytes(4).toString('hex')}`;
const databaseUrl = url.toString();
const port = 20_000 + Math.floor(Math.random() * 20_000);
const env = {
  ...process.env,
  SKYNET_DATABASE_URL: databaseUrl,
  SKYNET_REDIS_PREFIX: `skynet-test:${inject('runId')}:cli:`,
  SKYNET_DATA_DIR: dataDir,
  SKYNET_CONSOLE_PORT: String(port),
  SKYNET_GATEWAY_PORT: String(port + 1),
  SKYNET_RTMP_PORT: String(port + 2),
  SKYNET_SIMULATOR_BASE_PORT: String(port + 10),
  SKYNET_SIMULATOR_LIVE_CAMERAS: '2',
  SKYNET_ADMIN_PASSWORD: 'cli-admin-password',
};
// The defaults a person gets: text on the terminal, the log in <dataDir>/logs/skynet.log.
for (const k of ['VITEST', 'SKYNET_LOG_LEVEL', 'SKYNET_LOG_FORMAT', 'SKYNET_LOG_FILE']) delete (env as Record<string, string | undefined>)[k];

function skynet(args: string[], extra: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/skynet.js', ...args], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });
}

afterAll(async () => {
  await dropDatabase(databaseUrl);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('skynet CLI refusals', () => {
  it('names the field, the value and the expected form in one line', () => {
    const r = skynet(['migrate'], { SKYNET_GATEWAY_PORT: 'eighty' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('gateway.port = "eighty" (from SKYNET_GATEWAY_PORT) is invalid — expected a TCP port');
  });

  it('says in one line when PostgreSQL or Redis is not there, and how to start it', () => {
    const pg = skynet(['migrate'], { SKYNET_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/skynet' });
    expect(pg.status).toBe(1);
    expect(pg.stderr.trim().split('\n')).toHaveLength(1);
    expect(pg.stderr).toMatch(/PostgreSQL at 127\.0\.0\.1:1 is not reachable .*Start it/);
    const redis = skynet(['console'], { SKYNET_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(redis.status).toBe(1);
    expect(redis.stderr.trim().split('\n')).toHaveLength(1);
    expect(redis.stderr).toMatch(/Redis at 127\.0\.0\.1:1 is not reachable .*redis-server/);
  });

  it('refuses a bad role naming the option', () => {
    const r = skynet(['user', 'add', 'someone', '--roles', 'monitor,chief']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--roles must list some of admin, supervisor, monitor, investigator, patrol (got "chief")');
  });
});

describe('skynet logs', () => {
  it('refuses an unknown log format or level in one line', () => {
    const format = skynet(['migrate'], { SKYNET_LOG_FORMAT: 'xml' });
    expect(format.status).toBe(1);
    expect(format.stderr.trim().split('\n')).toHaveLength(1);
    expect(format.stderr).toContain('SKYNET_LOG_FORMAT = "xml" is invalid — expected text or json');
  });

  it('tells a person in one line; writes JSON lines to standard output with SKYNET_LOG_FORMAT=json', () => {
    const text = skynet(['migrate']);
    expect(text.status).toBe(0);
    expect(text.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^database is up to date/)]);
    expect(text.stderr).toBe('');
    const json = skynet(['migrate'], { SKYNET_LOG_FORMAT: 'json' });
    expect(json.status).toBe(0);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'database is up to date' });
  });
});

describe('skynet up', () => {
  let child: ChildProcess;
  let output = '';
  let stdout = '';
  let stderr = '';

  it('migrates, seeds the demo site, starts everything and prints the URLs and login', async () => {
    child = spawn(process.execPath, ['bin/skynet.js', 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { output += d; stdout += d; });
    child.stderr!.on('data', (d) => { output += d; stderr += d; });
    await expect.poll(() => output, { timeout: 120_000, interval: 500 }).toContain('Skynet is running');
    expect(output).toContain(`http://127.0.0.1:${port}/`);
    expect(output).toContain('admin');
    for (const p of [port, port + 1]) {
      const health = await fetch(`http://127.0.0.1:${p}/api/health`);
      expect(health.status).toBe(200);
    }
    const docs = await fetch(`http://127.0.0.1:${port}/docs/json`);
    expect(((await docs.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'cli-admin-password' }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const devices = (await (await fetch(`http://127.0.0.1:${port}/api/devices?pageSize=1`, { headers: { cookie } })).json()) as { total: number };
    expect(devices.total).toBeGreaterThan(50);
    const checkpoints = (await (await fetch(`http://127.0.0.1:${port}/api/devices?kind=checkpoint`, { headers: { cookie } })).json()) as { total: number };
    expect(checkpoints.total).toBeGreaterThan(0);
    // Make a simulated camera encode, so there is an ffmpeg to leave behind if shutdown were sloppy.
    // Start live view of a simulated camera: the gateway's session ffmpeg and the simulator's encoder both run.
    const { items } = (await (await fetch(`http://127.0.0.1:${port}/api/devices?q=${encodeURIComponent('县政府广场')}`, { headers: { cookie } })).json()) as { items: { id: string }[] };
    const live = await fetch(`http://127.0.0.1:${port}/api/devices/${items[0]!.id}/live`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ waitMs: 10_000 }) });
    expect(live.status).toBe(200);
    expect(((await live.json()) as { playable: boolean }).playable).toBe(true);
    expect(spawnSync('pgrep', ['-f', dataDir], { encoding: 'utf8' }).stdout.trim()).not.toBe('');
  });

  it('keeps the terminal short: the banner last, no request lines, warnings as readable lines; the log in a file', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/api/no-such-route?token=secret-${i}`)).status).toBe(404);
    }
    const out = stdout.trimEnd().split('\n');
    expect(out.length).toBeLessThan(15);
    expect(out[0]).toMatch(/^Starting Skynet — .*\(log: .*logs\/skynet\.log\)$/);
    expect(out.at(-1)).toBe('  Stop:      Ctrl-C');
    expect(out.slice(-8).join('\n')).toContain('Skynet is running');
    expect(out.slice(-8).join('\n')).toMatch(/Log: +.*logs\/skynet\.log/);
    // Whatever reaches the terminal besides the banner is a warning or an error, one readable line each.
    for (const line of stderr.split('\n').filter(Boolean)) {
      expect(line).toMatch(/^(\d\d:\d\d:\d\d (WARN |ERROR|FATAL) \S|\(node:\d+\) |\(Use `node --trace-warnings)/);
    }
    expect(output).not.toContain('"msg"');
    expect(output).not.toContain('request completed');
    // The file has the whole info-level log as JSON, and the request lines only at debug (absent here).
    const file = join(dataDir, 'logs', 'skynet.log');
    expect(existsSync(file)).toBe(true);
    const entries = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(entries.map((e) => e.msg)).toContain('skynet is running');
    expect(entries.map((e) => e.msg)).toContain('applied migration');
    expect(entries.filter((e) => /request|not found/.test(e.msg))).toEqual([]);
    expect(entries.every((e) => e.level >= 30)).toBe(true);
  });

  it('stops everything within seconds on Ctrl-C, leaving no ffmpeg behind', async () => {
    const pid = child.pid!;
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const left = spawnSync('pgrep', ['-f', `skynet-sim-${pid}-`], { encoding: 'utf8' });
    expect(left.stdout.trim()).toBe('');
    // The gateway's session ffmpeg writes under the data directory: none may survive.
    expect(spawnSync('pgrep', ['-f', dataDir], { encoding: 'utf8' }).stdout.trim()).toBe('');
  });
});
