import pg from 'pg';
import type { Logger } from 'pino';
import type { NodeRepository } from './repository.ts';

export interface MembershipDeps {
  log: Logger;
  nodes: NodeRepository;
  databaseUrl: string;
  node: { id: string; internalUrl: string; publicUrl: string; maxSessions: number };
  leaseSeconds: number;
  /** Called after every claim with what changed, and with devices the registry says were edited. */
  onChange: (change: { added: string[]; removed: string[]; edited: string[] }) => void;
}

/**
 * This gateway node's place in the cluster: heartbeat, the devices it leases,
 * and the registry's changes as they happen (PostgreSQL LISTEN/NOTIFY on
 * `skynet_devices`), so an added, disabled or edited device takes effect
 * without a restart and without a polling loop over the registry.
 */
export function createMembership(deps: MembershipDeps) {
  let held = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let listener: pg.Client | null = null;
  let stopped = false;
  let claiming: Promise<void> | null = null;
  let again = false;
  const edited = new Set<string>();

  async function claimOnce(): Promise<void> {
    await deps.nodes.heartbeat(deps.node);
    const ids = new Set(await deps.nodes.claim(deps.node.id, deps.leaseSeconds));
    const added = [...ids].filter((id) => !held.has(id));
    const removed = [...held].filter((id) => !ids.has(id));
    const changed = [...edited].filter((id) => ids.has(id) && !added.includes(id));
    edited.clear();
    held = ids;
    if (added.length || removed.length || changed.length) deps.onChange({ added, removed, edited: changed });
  }

  /** Claims never overlap; a request during one runs once more right after. */
  function claim(): Promise<void> {
    if (claiming) { again = true; return claiming; }
    claiming = claimOnce()
      .catch((err: Error) => deps.log.warn({ err: err.message }, 'lease claim failed; retrying at the next tick'))
      .finally(() => {
        claiming = null;
        if (again && !stopped) { again = false; void claim(); }
      });
    return claiming;
  }

  async function listen(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({ connectionString: deps.databaseUrl });
    client.on('error', (err) => {
      deps.log.warn({ err: err.message }, 'registry listener lost its connection; reconnecting');
      listener = null;
      client.end().catch(() => {});
      if (!stopped) setTimeout(() => void listen().catch(() => {}), 1000);
    });
    client.on('notification', (msg) => {
      try {
        const { id, op } = JSON.parse(msg.payload ?? '{}') as { id?: string; op?: string };
        if (id && op === 'update') edited.add(id);
      } catch { /* not ours */ }
      void claim();
    });
    await client.connect();
    await client.query('LISTEN skynet_devices');
    listener = client;
  }

  return {
    held: () => [...held],
    holds: (id: string) => held.has(id),

    async start(): Promise<void> {
      stopped = false;
      await listen();
      await claim();
      const tick = () => { void claim().finally(() => { if (!stopped) timer = setTimeout(tick, Math.max(1000, (deps.leaseSeconds * 1000) / 3)); }); };
      timer = setTimeout(tick, Math.max(1000, (deps.leaseSeconds * 1000) / 3));
    },

    /** Claim now (tests, and after start-up work). */
    refresh: () => claim(),

    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (claiming) await claiming;
      await deps.nodes.release(deps.node.id).catch(() => {});
      await listener?.end().catch(() => {});
      listener = null;
      held = new Set();
    },
  };
}

export type Membership = ReturnType<typeof createMembership>;
