import { tooMany } from '../http/errors.ts';
import type { AuditLog } from '../audit/types.ts';
import type { LoginLimiter } from './login-limiter.ts';
import type { IdentityService } from './service.ts';
import type { User } from './types.ts';

export interface LoginMeta { ip: string; userAgent: string | null; requestId: string }

/**
 * One login attempt: refused at once while a failure window is full (429
 * `auth.rate_limited`), otherwise checked; a failure is counted and a success clears
 * the account+address window. Every attempt, limited ones included, writes an audit row.
 */
export function createLoginFlow(deps: { identity: IdentityService; limiter: LoginLimiter; audit: AuditLog }) {
  const { identity, limiter, audit } = deps;
  const anonymous = (username: string) => ({ kind: 'system' as const, userId: null, username: username.slice(0, 64) });

  return {
    async attempt(username: string, password: string, meta: LoginMeta): Promise<{ token: string; user: User; expiresAt: Date }> {
      const where = { ip: meta.ip, requestId: meta.requestId };
      const verdict = await limiter.check(username, meta.ip);
      if (!verdict.allowed) {
        await audit.record({ actor: anonymous(username), action: 'auth.login', outcome: 'denied', details: { limited: verdict.limited }, ...where });
        throw tooMany(`Too many failed logins; try again in ${verdict.seconds} s`, { code: 'auth.rate_limited', params: { seconds: verdict.seconds } });
      }
      let result: Awaited<ReturnType<IdentityService['login']>>;
      try {
        result = await identity.login(username, password, { ip: meta.ip, userAgent: meta.userAgent });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 401) throw err; // not a wrong password: the audit hook records it
        await limiter.failed(username, meta.ip);
        await audit.record({ actor: anonymous(username), action: 'auth.login', outcome: 'denied', ...where });
        throw err;
      }
      await limiter.succeeded(username, meta.ip);
      const { user } = result;
      await audit.record({ actor: { kind: 'user', userId: user.id, username: user.username, roles: user.roles }, action: 'auth.login', ...where });
      return result;
    },
  };
}
