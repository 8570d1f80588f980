import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
  SKYNET_LOG_LEVEL: 'warn',
};
delete (env as Record<string, string | undefined>).VITEST;

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

describe('skynet up', () => {
  let child: ChildProcess;
  let output = '';

  it('migrates, seeds the demo site, starts everything and prints the URLs and login', async () => {
    child = spawn(process.execPath, ['bin/skynet.js', 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { output += d; });
    child.stderr!.on('data', (d) => { output += d; });
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
