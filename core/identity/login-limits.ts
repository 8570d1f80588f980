/**
 * Login limiting as pure decisions over plain counters, so the rules are tested with
 * tables (tests/unit/login-limits.test.ts). Only failures are counted, in three
 * windows: one account from one address (a person mistyping, a guesser), one address
 * across every username (password spraying), one account across addresses (a guesser
 * spread over many addresses). A success never counts and clears the account+address
 * window.
 */

export type LimitScope = 'account_ip' | 'ip' | 'account';

export interface Window { max: number; windowSeconds: number }
export type LoginLimits = Record<LimitScope, Window>;

/** Failures counted so far in a window, and the milliseconds until it resets (<= 0: no window open). */
export interface Counter { failures: number; msLeft: number }
export type Counters = Record<LimitScope, Counter>;

export type Verdict = { allowed: true } | { allowed: false; limited: LimitScope; seconds: number };

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  account_ip: { max: 5, windowSeconds: 60 },
  ip: { max: 20, windowSeconds: 600 },
  account: { max: 20, windowSeconds: 900 },
};

const ORDER: LimitScope[] = ['account_ip', 'ip', 'account'];

/**
 * May this attempt go ahead? Refused when any window already holds its maximum of
 * failures; the answer names the window that stays closed longest, and how many whole
 * seconds until it opens (at least 1).
 */
export function decideLogin(counters: Counters, limits: LoginLimits): Verdict {
  let worst: { limited: LimitScope; ms: number } | null = null;
  for (const scope of ORDER) {
    const c = counters[scope];
    if (c.msLeft <= 0 || c.failures < limits[scope].max) continue;
    if (!worst || c.msLeft > worst.ms) worst = { limited: scope, ms: c.msLeft };
  }
  return worst ? { allowed: false, limited: worst.limited, seconds: Math.max(1, Math.ceil(worst.ms / 1000)) } : { allowed: true };
}

/** The name a username is counted under: case and surrounding space do not make a new account. */
export function accountKey(username: string): string {
  return username.trim().toLowerCase().slice(0, 64);
}
