import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { createAuditLog } from './audit/repository.ts';
import { deriveKeys, loadMasterKey, type Keys } from './crypto.ts';
import { createPool, unreachableMessage as pgUnreachable, type Pool } from './db/pool.ts';
import { createIdentityRepository } from './identity/repository.ts';
import { createIdentityService, type IdentityService } from './identity/service.ts';
import { createLogger } from './log.ts';
import { createEventLog, type EventLog } from './events.ts';
import { createMediaKeyring, type MediaKeyring } from './media-keys/keyring.ts';
import { createMediaKeyRepository } from './media-keys/repository.ts';
import { checkRedis, createEventBus, createRedis, type EventBus, type Redis } from './redis.ts';

/**
 * What every process shares: configuration, logger, PostgreSQL pool, Redis,
 * keys, the audit log and identity. Features take from it what they need;
 * nothing here knows about cameras.
 */
export interface Platform {
  config: Config;
  log: Logger;
  pool: Pool;
  redis: Redis;
  keys: Keys;
  events: EventBus;
  /** The realtime event log (rows, then the bus): alarms, incidents, device state for the console's WebSocket. */
  eventLog: EventLog;
  audit: ReturnType<typeof createAuditLog>;
  identity: IdentityService;
  /** Media-token key ids: the console signs with the current one, the gateway verifies any still in grace. Loaded on first use. */
  mediaKeys: MediaKeyring;
  close(): Promise<void>;
}

/** Start-up refusal: the CLI prints the message alone, no stack. */
export class StartupError extends Error {}

export async function createPlatform(config: Config, log: Logger = createLogger()): Promise<Platform> {
  await checkRedis(config.redis.url).catch((err: Error) => { throw new StartupError(err.message); });
  const pool = createPool(config.database.url, config.database.poolSize);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    const code = (err as { code?: string }).code;
    if (code === '3D000') throw new StartupError(`database ${new URL(config.database.url).pathname.slice(1)} does not exist: run "skynet migrate" first (npm start does this)`);
    throw new StartupError(pgUnreachable(config.database.url, err));
  }
  const master = loadMasterKey(config.secrets.key, config.dataDir);
  if (master.created) log.warn({ path: master.path }, 'created a new secret key; back it up: camera passwords cannot be read without it');
  const keys = deriveKeys(master.key, config.secrets.serviceToken);
  const redis = createRedis(config.redis.url);
  const events = createEventBus(redis, config.redis.prefix);
  const identity = createIdentityService({ repo: createIdentityRepository(pool), sessionHours: config.console.sessionHours, serviceToken: keys.serviceToken, events });
  const audit = createAuditLog(pool);
  const eventLog = createEventLog({ db: pool, bus: events });
  const mediaKeys = createMediaKeyring({ repo: createMediaKeyRepository(pool), derive: keys.mediaKey, events, audit, log });
  return {
    config, log, pool, redis, keys, identity, events, eventLog, audit, mediaKeys,
    async close() {
      await mediaKeys.stop();
      redis.disconnect();
      await pool.end().catch(() => {});
    },
  };
}
