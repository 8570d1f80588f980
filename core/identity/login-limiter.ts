import type { Redis } from '../redis.ts';
import { accountKey, decideLogin, type Counter, type Counters, type LimitScope, type LoginLimits, type Verdict } from './login-limits.ts';

/**
 * The login failure counters in Redis (shared by every console replica): one key per
 * window, INCR on a failure with PEXPIRE set when the window opens, so a window runs
 * from its first failure. Keys live under the deployment's Redis prefix.
 */
export function createLoginLimiter(opts: { redis: Redis; prefix: string; limits: LoginLimits }) {
  const { redis, limits } = opts;
  const keys = (username: string, ip: string): Record<LimitScope, string> => {
    const account = accountKey(username);
    return {
      account_ip: `${opts.prefix}login:account_ip:${ip}|${account}`,
      ip: `${opts.prefix}login:ip:${ip}`,
      account: `${opts.prefix}login:account:${account}`,
    };
  };
  const scopes: LimitScope[] = ['account_ip', 'ip', 'account'];

  return {
    /** May `username` try from `ip` now? */
    async check(username: string, ip: string): Promise<Verdict> {
      const k = keys(username, ip);
      const pipeline = redis.multi();
      for (const s of scopes) pipeline.get(k[s]).pttl(k[s]);
      const replies = (await pipeline.exec()) ?? [];
      const counters = {} as Counters;
      scopes.forEach((s, i) => {
        const [errGet, value] = replies[i * 2] ?? [];
        const [errTtl, ttl] = replies[i * 2 + 1] ?? [];
        if (errGet || errTtl) throw errGet ?? errTtl;
        const c: Counter = { failures: Number(value ?? 0), msLeft: Number(ttl ?? -2) };
        counters[s] = c;
      });
      return decideLogin(counters, limits);
    },

    /** Count one failed attempt in each window. */
    async failed(username: string, ip: string): Promise<void> {
      const k = keys(username, ip);
      const pipeline = redis.multi();
      for (const s of scopes) pipeline.incr(k[s]).pexpire(k[s], limits[s].windowSeconds * 1000, 'NX');
      await pipeline.exec();
    },

    /** A success: the account+address window starts afresh (the others keep counting failures). */
    async succeeded(username: string, ip: string): Promise<void> {
      await redis.del(keys(username, ip).account_ip);
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
