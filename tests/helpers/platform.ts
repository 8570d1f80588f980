import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { createLogger } from '../../core/log.ts';
import { dropDatabase, ensureDatabase, migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { createPlatform, type Platform } from '../../core/platform.ts';
import type { Role } from '../../core/identity/types.ts';
import type { App } from '../../core/http/app.ts';

/** Everything the platform logged during a test, as text, to assert secrets never appear. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) { this.lines.push(chunk.toString()); done(); }
  text() { return this.lines.join(''); }
}

/**
 * A platform on this run's database, with its own Redis prefix and data
 * directory, logging (at debug) into a capture. `ownDatabase`: a database of its
 * own (created, migrated, dropped on close), for a file that must see only what it
 * seeds (counting every device on the map, the demo town's codes).
 */
export async function testPlatform(overrides: Record<string, unknown> = {}, opts: { ownDatabase?: boolean } = {}): Promise<{ platform: Platform; config: Config; logs: LogCapture; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skynet-test-'));
  let databaseUrl = inject('databaseUrl');
  if (opts.ownDatabase) {
    const url = new URL(databaseUrl);
    url.pathname = `${url.pathname}_${randomBytes(3).toString('hex')}`;
    databaseUrl = url.toString();
    await ensureDatabase(databaseUrl);
    const pool = createPool(databaseUrl, 2);
    try { await migrate(pool); } finally { await pool.end(); }
  }
  const config = loadConfig({
    env: {},
    file: undefined,
    overrides: {
      'database.url': databaseUrl,
      'redis.prefix': `skynet-test:${inject('runId')}:${randomBytes(3).toString('hex')}:`,
      dataDir,
      'secrets.key': inject('secretKey'),
      'console.port': 0,
      'gateway.port': 0,
      'gateway.internalPort': 0,
      'ingest.rtmpPort': 0,
      'ingest.rtmpHost': '127.0.0.1',
      'gateway.host': '127.0.0.1',
      'gateway.nodeId': `gw-${randomBytes(3).toString('hex')}`,
      'health.timeoutMs': 1500,
      ...overrides,
    },
  });
  const logs = new LogCapture();
  const log = createLogger({ level: 'debug' }, logs);
  const platform = await createPlatform(config, log);
  return {
    platform, config, logs,
    async close() {
      await platform.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (opts.ownDatabase) await dropDatabase(databaseUrl);
    },
  };
}

let userSeq = 0;

/** Create a user with `roles` and log in; returns the cookie header to send. */
export async function loginAs(app: App, platform: Platform, roles: Role[]): Promise<{ cookie: string; username: string; password: string; userId: string }> {
  const username = `u${++userSeq}-${roles.join('-')}-${randomBytes(2).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const user = await platform.identity.createUser({ username, password, roles });
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const setCookie = res.headers['set-cookie'];
  const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)!.split(';')[0]!;
  return { cookie, username, password, userId: user.id };
}

/** Wait until `check` returns true (for hooks, where expect.poll is not available). */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
