import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { dropDatabase, ensureDatabase, migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { createLogger } from '../../core/log.ts';
import { createPlatform, type Platform } from '../../core/platform.ts';

/** A platform on a database of its own (created, migrated, dropped after), quiet logs. */
export async function benchPlatform(overrides: Record<string, unknown> = {}): Promise<{ platform: Platform; config: Config; close: () => Promise<void> }> {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'skynet-bench-'));
  const base = new URL(process.env.SKYNET_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/skynet');
  base.pathname = `/skynet_bench_${id}`;
  const databaseUrl = base.toString();
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, 2);
  await migrate(pool);
  await pool.end();
  const config = loadConfig({
    env: {}, file: undefined,
    overrides: { 'database.url': databaseUrl, 'redis.prefix': `skynet-bench:${id}:`, dataDir, 'console.port': 0, 'gateway.port': 0, 'gateway.internalPort': 0, 'gateway.host': '127.0.0.1', 'ingest.rtmpPort': 0, 'ingest.rtmpHost': '127.0.0.1', ...overrides },
  });
  const platform = await createPlatform(config, createLogger({ level: 'warn' }));
  return {
    platform, config,
    async close() {
      await platform.close();
      await dropDatabase(databaseUrl);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** One step of a suite: its metrics and notes (each step lives with its feature's bench module). */
export type BenchStep = () => Promise<{ metrics: Record<string, number>; notes: string[] }>;

/**
 * Run a suite's steps in turn (SKYNET_BENCH_ONLY=<name> runs one), merging their metrics and
 * prefixing their notes with the step's name and how long it took.
 */
export async function runSteps(steps: Record<string, BenchStep>): Promise<{ metrics: Record<string, number>; notes: string[] }> {
  const only = process.env.SKYNET_BENCH_ONLY;
  const metrics: Record<string, number> = {};
  const notes: string[] = [];
  for (const [name, fn] of Object.entries(steps)) {
    if (only && only !== name) continue;
    const started = Date.now();
    const r = await fn();
    Object.assign(metrics, r.metrics);
    notes.push(...r.notes.map((n) => `${name}: ${n}`), `${name}: step took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return { metrics, notes };
}
