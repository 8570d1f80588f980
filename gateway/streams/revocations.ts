import type { Logger } from 'pino';
import { MAX_MEDIA_TOKEN_SECONDS } from '../../core/crypto.ts';
import type { BusEvent, EventBus } from '../../core/redis.ts';

/** The event core/identity publishes when a user's credentials are cut off. */
export const IDENTITY_REVOKED = 'identity.revoked';
/** Fallback reload from PostgreSQL (an event missed while Redis was away). */
export const REVOCATION_RELOAD_MS = 2_000;

/**
 * Merge what was learnt into the set, keeping each user's latest revocation, and drop
 * revocations older than `horizon`: every token issued before them has expired anyway.
 * A revocation is never undone by re-enabling a user, so entries are never lowered.
 */
export function mergeRevocations(set: Map<string, Date>, learnt: Iterable<{ userId: string; at: Date }>, horizon: number): Map<string, Date> {
  for (const { userId, at } of learnt) {
    const known = set.get(userId);
    if (!known || at > known) set.set(userId, at);
  }
  for (const [userId, at] of set) if (at.getTime() < horizon) set.delete(userId);
  return set;
}

export interface RevocationSetOptions {
  /** Users revoked at or after `since` (core/identity/repository.ts revokedSince). */
  revokedSince: (since: Date) => Promise<{ userId: string; at: Date }[]>;
  events: EventBus;
  log: Logger;
  /** How far back revocations matter: the longest media token life. */
  horizonMs?: number;
  reloadMs?: number;
  /**
   * Called once for each revocation learnt after start (event or reload): open connections of the user
   * (low-latency WebSockets) are closed by it; a playlist or segment request is refused by `revokedAt`.
   */
  onRevoked?: (userId: string) => void;
}

/**
 * The gateway's revocation set (user id → when their credentials were last revoked):
 * loaded at start for the last max-token-life, updated by `identity.revoked` on the
 * event bus at once, and refreshed from PostgreSQL every couple of seconds.
 */
export function createRevocationSet(opts: RevocationSetOptions) {
  const horizonMs = opts.horizonMs ?? MAX_MEDIA_TOKEN_SECONDS * 1000;
  const reloadMs = opts.reloadMs ?? REVOCATION_RELOAD_MS;
  const log = opts.log.child({ component: 'revocations' });
  const set = new Map<string, Date>();
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => Promise<void>) | null = null;
  let lastReloadAt: Date | null = null;
  let failing = false;

  let started = false;
  /** Tell onRevoked of the users whose revocation is newer than what the set held. */
  const learn = (rows: Iterable<{ userId: string; at: Date }>) => {
    const before = new Map(set);
    mergeRevocations(set, rows, Date.now() - horizonMs);
    if (!started || !opts.onRevoked) return;
    for (const [userId, at] of set) {
      if ((before.get(userId)?.getTime() ?? -1) < at.getTime()) {
        try { opts.onRevoked(userId); } catch (err) { log.error({ err }, 'onRevoked failed'); }
      }
    }
  };

  const reload = async () => {
    const rows = await opts.revokedSince(new Date(Date.now() - horizonMs));
    learn(rows);
    lastReloadAt = new Date();
    if (failing) log.info('revocations reloaded from PostgreSQL again');
    failing = false;
  };

  const onEvent = (event: BusEvent) => {
    if (event.type !== IDENTITY_REVOKED || typeof event.userId !== 'string') return;
    const at = new Date(typeof event.at === 'string' ? event.at : NaN);
    if (Number.isNaN(at.getTime())) return;
    learn([{ userId: event.userId, at }]);
  };

  return {
    /** When the user's credentials were last revoked (within the horizon), or null. */
    revokedAt: (userId: string): Date | null => set.get(userId) ?? null,

    status: () => ({ users: set.size, lastReloadAt }),

    /** Subscribe first (so nothing falls between the load and the subscription), then load. */
    async start(): Promise<void> {
      unsubscribe = await opts.events.subscribe(onEvent).catch((err: Error) => {
        log.warn({ err: err.message }, `no event bus: revocations are learnt from PostgreSQL every ${reloadMs / 1000} s`);
        return null;
      });
      await reload();
      started = true;
      timer = setInterval(() => {
        reload().catch((err: Error) => {
          if (!failing) log.warn({ err: err.message }, 'could not reload revocations; keeping the ones known');
          failing = true;
        });
      }, reloadMs);
      timer.unref();
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      const u = unsubscribe;
      unsubscribe = null;
      await u?.().catch(() => {});
    },
  };
}

export type RevocationSet = ReturnType<typeof createRevocationSet>;
