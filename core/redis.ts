import { Redis } from 'ioredis';

export type { Redis };

/**
 * A Redis connection with every key and channel under one prefix, so that two
 * deployments (or two test runs) on one Redis never see each other's data.
 * BullMQ takes the prefix itself (`prefix` option); pub/sub channels go through
 * `channel()`.
 */
export function createRedis(url: string, options: { lazy?: boolean; forBullmq?: boolean } = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: options.lazy ?? false,
    // BullMQ requires null here; elsewhere fail a command after a few retries rather than hang.
    maxRetriesPerRequest: options.forBullmq ? null : 3,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => {}); // reconnects on its own; callers see command errors
  return redis;
}

export function channel(prefix: string, name: string): string {
  return `${prefix}${name}`;
}

export function unreachableMessage(url: string, err: unknown): string {
  const u = new URL(url);
  const code = (err as { code?: string }).code ?? (err as Error).message;
  return `Redis at ${u.hostname}:${u.port || '6379'} is not reachable (${code}). Start it (Debian: redis-server --daemonize yes --bind 127.0.0.1 --port 6379; Docker: docker compose -f docker/compose.yml up -d redis) or set SKYNET_REDIS_URL.`;
}

/** Connect and PING once, with a time limit; throws with a one-line message when Redis is not there. */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(unreachableMessage(url, err));
  } finally {
    redis.disconnect();
  }
}

/** One event as it travels on the bus: its type, when it was published, and its payload. */
export interface BusEvent { type: string; at: string; [key: string]: unknown }

/** Publishes realtime events (device status, alarms) that console replicas fan out. */
export interface EventBus {
  publish(type: string, payload: Record<string, unknown>): Promise<void>;
  /**
   * Hear every event published on the bus from now on (one subscriber connection per
   * process, opened on first use, closed with the last listener). Events published while
   * the connection is down are not replayed: listeners that must not miss a change also
   * reload from PostgreSQL now and then.
   */
  subscribe(listener: (event: BusEvent) => void): Promise<() => Promise<void>>;
}

export function createEventBus(redis: Redis, prefix: string): EventBus {
  const name = channel(prefix, 'events');
  const listeners = new Set<(event: BusEvent) => void>();
  let sub: Promise<Redis> | null = null;
  const connect = async (): Promise<Redis> => {
    const conn = redis.duplicate();
    conn.on('error', () => {});
    conn.on('message', (ch: string, message: string) => {
      if (ch !== name) return;
      let event: BusEvent;
      try {
        event = JSON.parse(message) as BusEvent;
      } catch {
        return;
      }
      if (!event || typeof event.type !== 'string') return;
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // one listener's failure is its own; the others still hear the event
        }
      }
    });
    await conn.subscribe(name);
    return conn;
  };
  return {
    async publish(type, payload) {
      await redis.publish(name, JSON.stringify({ type, at: new Date().toISOString(), ...payload }));
    },
    async subscribe(listener) {
      listeners.add(listener);
      if (!sub) sub = connect().catch((err: unknown) => { sub = null; throw err; });
      try {
        await sub;
      } catch (err) {
        listeners.delete(listener);
        throw err;
      }
      return async () => {
        listeners.delete(listener);
        if (listeners.size === 0 && sub) {
          const conn = sub;
          sub = null;
          (await conn.catch(() => null))?.disconnect();
        }
      };
    },
  };
}
