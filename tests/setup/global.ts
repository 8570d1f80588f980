import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { dropDatabase, ensureDatabase, migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';

declare module 'vitest' {
  export interface ProvidedContext { databaseUrl: string; runId: string; secretKey: string }
}

/**
 * One database per test run, created and migrated here and dropped at the end,
 * and one run id that prefixes every Redis key: runs never see each other's data.
 */
export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const base = process.env.SKYNET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const url = new URL(base);
  url.pathname = `/skynet_test_${runId}`;
  const databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, 2);
  await migrate(pool);
  await pool.end();
  project.provide('databaseUrl', databaseUrl);
  project.provide('runId', runId);
  // One secret key for the run, as every node of one deployment shares one: devices sealed
  // by one test file's platform stay readable by the next file's gateway.
  project.provide('secretKey', randomBytes(32).toString('base64'));
  return async () => {
    await dropDatabase(databaseUrl);
  };
}
