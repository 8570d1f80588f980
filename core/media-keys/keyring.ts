import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEntry, AuditLog } from '../audit/types.ts';
import { MAX_MEDIA_TOKEN_SECONDS } from '../crypto.ts';
import type { BusEvent, EventBus } from '../redis.ts';
import type { MediaKeyRepository, MediaKeyRow } from './repository.ts';

/** Published on the event bus after a rotation: every process reloads its keyring. */
export const MEDIA_KEYS_ROTATED = 'media.keys.rotated';
/** Fallback when an event is missed (Redis down for a moment): reload this often. */
export const MEDIA_KEYS_RELOAD_MS = 10_000;
/** A token naming a kid we do not know reloads the keyring, at most this often. */
export const MEDIA_KEYS_MISS_RELOAD_MS = 1_000;

export interface MediaKeyState { kid: string; createdAt: Date; retiredAt: Date | null }

/** Does a key still verify tokens at `now`? The current one does; a retired one for `graceMs` after its retirement. */
export function keyVerifies(key: Pick<MediaKeyState, 'retiredAt'>, now: number, graceMs: number): boolean {
  return key.retiredAt === null || now - key.retiredAt.getTime() <= graceMs;
}

/** The key that signs: the newest one not retired (null when there is none). */
export function signingKey<K extends MediaKeyState>(keys: readonly K[]): K | null {
  let best: K | null = null;
  for (const k of keys) if (k.retiredAt === null && (!best || k.createdAt > best.createdAt)) best = k;
  return best;
}

/** A fresh key id: time-ordered and unique enough (`m` + base36 ms + 4 hex). */
export function newMediaKid(now = Date.now()): string {
  return `m${now.toString(36)}${randomBytes(2).toString('hex')}`;
}

export interface MediaKeyringOptions {
  repo: MediaKeyRepository;
  /** The HMAC key of a kid (HKDF of the master key; see core/crypto.ts). */
  derive: (kid: string) => Buffer;
  events: EventBus;
  audit: AuditLog;
  log: Logger;
  /** How long a retired key keeps verifying: the longest token life. */
  graceMs?: number;
  reloadMs?: number;
}

/**
 * The media keyring of one process: the current kid (the console signs with it) and
 * the retired kids still inside their grace period (the gateway verifies with whichever
 * a token names). Loaded from PostgreSQL on first use, reloaded on a rotation event and
 * every few seconds, and on a token naming an unknown kid (throttled).
 */
export function createMediaKeyring(opts: MediaKeyringOptions) {
  const graceMs = opts.graceMs ?? MAX_MEDIA_TOKEN_SECONDS * 1000;
  const reloadMs = opts.reloadMs ?? MEDIA_KEYS_RELOAD_MS;
  const log = opts.log.child({ component: 'media-keys' });
  let keys = new Map<string, MediaKeyState>();
  let loadedAt = 0;
  let started: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => Promise<void>) | null = null;
  let loading: Promise<void> | null = null;
  let generation = 0;

  const load = (): Promise<void> => {
    loading ??= (async () => {
      try {
        const rows: MediaKeyRow[] = await opts.repo.usable(new Date(Date.now() - graceMs));
        const next = new Map(rows.map((r) => [r.kid, { kid: r.kid, createdAt: r.createdAt, retiredAt: r.retiredAt }]));
        const before = signingKey([...keys.values()])?.kid;
        keys = next;
        loadedAt = Date.now();
        const now = signingKey([...next.values()])?.kid;
        if (before && now !== before) log.info({ kid: now, previous: before }, 'media key rotated: signing with the new key id');
      } finally {
        loading = null;
      }
    })();
    return loading;
  };

  const onEvent = (event: BusEvent) => {
    if (event.type !== MEDIA_KEYS_ROTATED) return;
    load().catch((err: Error) => log.warn({ err: err.message }, 'could not reload the media keys after a rotation'));
  };

  const ready = (): Promise<void> => {
    started ??= (async () => {
      const mine = generation;
      await load();
      if (mine !== generation) return; // stopped meanwhile
      timer = setInterval(() => {
        load().catch((err: Error) => log.warn({ err: err.message }, 'could not reload the media keys'));
      }, reloadMs);
      timer.unref();
      const u = await opts.events.subscribe(onEvent).catch((err: Error) => {
        log.warn({ err: err.message }, `media key rotations will be noticed within ${reloadMs / 1000} s (no event bus)`);
        return null;
      });
      if (mine === generation) unsubscribe = u;
      else await u?.().catch(() => {});
    })().catch((err: unknown) => { started = null; throw err; });
    return started;
  };

  return {
    ready,

    /** The kid and key to sign with now. */
    async signing(): Promise<{ kid: string; key: Buffer }> {
      await ready();
      const current = signingKey([...keys.values()]);
      if (!current) throw new Error('no current media key (media_keys is empty: run "skynet migrate")');
      return { kid: current.kid, key: opts.derive(current.kid) };
    },

    /** The key of `kid` if it verifies tokens now; null for an unknown kid or one retired past its grace. */
    async verifying(kid: string, now = Date.now()): Promise<Buffer | null> {
      await ready();
      let k = keys.get(kid);
      if (!k && Date.now() - loadedAt >= MEDIA_KEYS_MISS_RELOAD_MS) {
        await load().catch((err: Error) => log.warn({ err: err.message }, 'could not reload the media keys'));
        k = keys.get(kid);
      }
      return k && keyVerifies(k, now, graceMs) ? opts.derive(kid) : null;
    },

    /** The kids this process knows: the current one and the retired ones still verifying. */
    async list(): Promise<{ current: string | null; keys: MediaKeyState[] }> {
      await ready();
      const all = [...keys.values()].filter((k) => keyVerifies(k, Date.now(), graceMs));
      return { current: signingKey(all)?.kid ?? null, keys: all };
    },

    /**
     * Make a new kid current and retire the old one (it keeps verifying for the grace
     * period); every process hears of it on the bus. Audited, failures included.
     */
    async rotate(actor: AuditEntry['actor'], meta: { ip?: string; requestId?: string } = {}): Promise<{ kid: string; retired: string[]; graceSeconds: number }> {
      const kid = newMediaKid();
      let result: Awaited<ReturnType<MediaKeyRepository['rotate']>>;
      try {
        result = await opts.repo.rotate(kid);
      } catch (err) {
        await opts.audit.record({ actor, action: 'media_keys.rotate', targetType: 'media_key', outcome: 'failed', details: { error: (err as Error).message }, ...meta });
        throw err;
      }
      const retired = result.retired.map((r) => r.kid);
      await opts.audit.record({ actor, action: 'media_keys.rotate', targetType: 'media_key', targetId: kid, details: { retired, graceSeconds: graceMs / 1000 }, ...meta });
      if (started) await load().catch(() => {});
      await opts.events.publish(MEDIA_KEYS_ROTATED, { kid, retired }).catch((err: Error) => {
        log.warn({ err: err.message }, `could not announce the media key rotation; processes notice it within ${reloadMs / 1000} s`);
      });
      return { kid, retired, graceSeconds: graceMs / 1000 };
    },

    async stop(): Promise<void> {
      generation++;
      if (timer) clearInterval(timer);
      timer = null;
      const u = unsubscribe;
      unsubscribe = null;
      started = null;
      await u?.().catch(() => {});
    },
  };
}

export type MediaKeyring = ReturnType<typeof createMediaKeyring>;
