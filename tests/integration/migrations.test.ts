import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { dropDatabase, ensureDatabase, listMigrations, migrate } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';

const url = new URL(inject('databaseUrl'));
url.pathname = `/skynet_migrate_${randomBytes(4).toString('hex')}`;
const databaseUrl = url.toString();

afterAll(async () => { await dropDatabase(databaseUrl); });

describe('migrations', () => {
  it('create the missing database once, even when four processes race', async () => {
    const created = await Promise.all([1, 2, 3, 4].map(() => ensureDatabase(databaseUrl)));
    expect(created.filter(Boolean)).toHaveLength(1);
  });

  it('apply every migration exactly once when four runners start at the same moment', async () => {
    const pools = [1, 2, 3, 4].map(() => createPool(databaseUrl, 1));
    try {
      const applied = await Promise.all(pools.map((p) => migrate(p)));
      expect(applied.map((a) => a.length).reduce((x, y) => x + y, 0)).toBe(listMigrations().length);
      const { rows } = await pools[0]!.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(listMigrations().map((m) => m.version));
      expect(await migrate(pools[0]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuse a migration that changed after it was applied', async () => {
    const pool = createPool(databaseUrl, 1);
    try {
      const changed = listMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
      await expect(migrate(pool, changed)).rejects.toThrow(/changed after it was applied/);
    } finally {
      await pool.end();
    }
  });
});
