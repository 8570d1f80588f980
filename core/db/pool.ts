import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'>;

// timestamptz and bigint come back as strings unless told otherwise: bigint counts
// (bytes, rows) are safe as numbers in our ranges; times stay Date objects.
pg.types.setTypeParser(20, (v) => Number(v));

export function createPool(url: string, max = 10): Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not take the process down.
  pool.on('error', () => {});
  return pool;
}

/** `postgres://u@h:p/db` → its host, port and database name, for messages and admin connections. */
export function describeUrl(url: string): { host: string; port: string; database: string; adminUrl: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return { host: u.hostname, port: u.port || '5432', database, adminUrl: admin.toString() };
}

export function unreachableMessage(url: string, err: unknown): string {
  const { host, port } = describeUrl(url);
  const code = (err as { code?: string }).code ?? (err as Error).message;
  return `PostgreSQL at ${host}:${port} is not reachable (${code}). Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; Docker: docker compose -f docker/compose.yml up -d postgres) or set SKYNET_DATABASE_URL.`;
}

/** Run `fn` in a transaction on one client. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
