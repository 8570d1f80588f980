import { describe, expect, it } from 'vitest';
import { accountKey, decideLogin, DEFAULT_LOGIN_LIMITS, type Counters } from '../../core/identity/login-limits.ts';

const none = { failures: 0, msLeft: -2 };
const c = (over: Partial<Counters>): Counters => ({ account_ip: none, ip: none, account: none, ...over });

describe('decideLogin', () => {
  it.each([
    ['no failures yet', c({}), { allowed: true }],
    ['four failures from this address for this account', c({ account_ip: { failures: 4, msLeft: 30_000 } }), { allowed: true }],
    ['the fifth failure fills the account+address window', c({ account_ip: { failures: 5, msLeft: 30_000 } }), { allowed: false, limited: 'account_ip', seconds: 30 }],
    ['a full window that has expired does not count', c({ account_ip: { failures: 9, msLeft: 0 } }), { allowed: true }],
    ['a key with no expiry (-1) is not a window', c({ account_ip: { failures: 9, msLeft: -1 } }), { allowed: true }],
    ['spraying: 20 failures from one address over many usernames', c({ ip: { failures: 20, msLeft: 400_000 } }), { allowed: false, limited: 'ip', seconds: 400 }],
    ['19 failures from one address still pass', c({ ip: { failures: 19, msLeft: 400_000 } }), { allowed: true }],
    ['one account guessed from many addresses', c({ account: { failures: 20, msLeft: 800_500 } }), { allowed: false, limited: 'account', seconds: 801 }],
    ['several full windows: the one closed longest is named', c({ account_ip: { failures: 5, msLeft: 50_000 }, ip: { failures: 25, msLeft: 200_000 }, account: { failures: 20, msLeft: 100_000 } }), { allowed: false, limited: 'ip', seconds: 200 }],
    ['under a second left still says 1 s', c({ account_ip: { failures: 5, msLeft: 10 } }), { allowed: false, limited: 'account_ip', seconds: 1 }],
  ] as const)('%s', (_what, counters, verdict) => {
    expect(decideLogin(counters, DEFAULT_LOGIN_LIMITS)).toEqual(verdict);
  });

  it('follows the configured maximum', () => {
    const limits = { ...DEFAULT_LOGIN_LIMITS, account_ip: { max: 2, windowSeconds: 60 } };
    expect(decideLogin(c({ account_ip: { failures: 2, msLeft: 1000 } }), limits)).toMatchObject({ allowed: false, limited: 'account_ip' });
  });

  it('counts an account under one name whatever its case and spacing', () => {
    expect(accountKey('  Admin ')).toBe('admin');
    expect(accountKey('ADMIN')).toBe(accountKey('admin'));
  });
});
