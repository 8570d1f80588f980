import { hash, verify } from '@node-rs/argon2';
import { randomToken, safeEqual, sha256 } from '../crypto.ts';
import { badRequest, conflict, isUniqueViolation, notFound, unauthorized } from '../http/errors.ts';
import type { EventBus } from '../redis.ts';
import type { IdentityRepository } from './repository.ts';
import { ROLES, type Principal, type Role, type User } from './types.ts';

// argon2id, OWASP's second recommended setting (19 MiB, t=2, p=1).
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const API_TOKEN_PREFIX = 'skt_';

export interface IdentityDeps {
  repo: IdentityRepository;
  sessionHours: number;
  serviceToken: string;
  /** Where `identity.revoked` is published (the gateway listens, to stop media at once). */
  events?: EventBus;
}

export interface NewUser { username: string; password: string; displayName?: string; roles: Role[]; locale?: 'zh-CN' | 'en' }

/** A user's password change by themselves, or an admin's reset. */
export interface PasswordChange { currentPassword: string; newPassword: string; keepSessionToken?: string }

export function createIdentityService({ repo, sessionHours, serviceToken, events }: IdentityDeps) {
  // Verified against when the user does not exist, so both paths take the same time.
  const dummyHash = hash('skynet-timing-equaliser', ARGON2);

  function checkPassword(password: string, field = 'password'): void {
    if (password.length < 8) throw badRequest('password must have at least 8 characters', { field, code: 'validation.minLength', params: { limit: 8 } });
    if (password.length > 256) throw badRequest('password must have at most 256 characters', { field, code: 'validation.maxLength', params: { limit: 256 } });
  }

  /**
   * Cut the user's credentials off and tell the gateway: sessions end (but the caller's
   * own, when kept), API tokens too when asked, and `revoked_at` is stamped so media
   * tokens minted before now are refused.
   */
  async function revoke(userId: string, opts: { keepSessionToken?: string; tokens: boolean }): Promise<Date | null> {
    const at = await repo.revokeCredentials(userId, {
      tokens: opts.tokens, ...(opts.keepSessionToken ? { keepSession: sha256(opts.keepSessionToken) } : {}),
    });
    if (at && events) await events.publish('identity.revoked', { userId, at: at.toISOString() });
    return at;
  }

  return {
    async createUser(input: NewUser): Promise<User> {
      if (!/^[A-Za-z0-9_.@-]{2,64}$/.test(input.username)) throw badRequest('username must be 2–64 letters, digits or _.@-', { field: 'username', code: 'user.username_invalid' });
      checkPassword(input.password);
      if (!input.roles.length || input.roles.some((r) => !ROLES.includes(r))) throw badRequest(`roles must be some of ${ROLES.join(', ')}`, 'roles');
      try {
        return await repo.insertUser({
          username: input.username, displayName: input.displayName ?? input.username,
          passwordHash: await hash(input.password, ARGON2), roles: input.roles, locale: input.locale ?? 'zh-CN',
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`user ${input.username} already exists`, { field: 'username', code: 'user.username_taken', params: { username: input.username } });
        throw err;
      }
    },

    /**
     * Edit a user. Disabling ends their sessions and revokes their API tokens for good
     * (enabling again revives none); a new password ends their sessions.
     */
    async updateUser(id: string, patch: { displayName?: string; password?: string; roles?: Role[]; locale?: 'zh-CN' | 'en'; disabled?: boolean }, actorId?: string | null): Promise<User> {
      if (patch.password !== undefined) checkPassword(patch.password);
      if (patch.disabled === true && actorId === id) throw badRequest('you cannot disable your own account', { field: 'disabled', code: 'user.disable_self' });
      const user = await repo.updateUser(id, {
        ...patch, passwordHash: patch.password !== undefined ? await hash(patch.password, ARGON2) : undefined,
      });
      if (!user) throw notFound('user');
      if (patch.disabled === true) await revoke(id, { tokens: true });
      else if (patch.password !== undefined) await revoke(id, { tokens: false });
      return user;
    },

    /** An admin sets a new password for someone: all that user's sessions end. */
    async resetPassword(id: string, newPassword: string): Promise<User> {
      checkPassword(newPassword, 'newPassword');
      const user = await repo.updateUser(id, { passwordHash: await hash(newPassword, ARGON2) });
      if (!user) throw notFound('user');
      await revoke(id, { tokens: false });
      return user;
    },

    /**
     * A user changes their own password: the current one must be right; every other
     * session and every API token of theirs ends, the session making the change stays.
     */
    async changeOwnPassword(userId: string, change: PasswordChange): Promise<void> {
      const current = await repo.passwordHash(userId);
      if (!current) throw notFound('user');
      if (!(await verify(current, change.currentPassword).catch(() => false))) {
        throw badRequest('the current password is wrong', { field: 'currentPassword', code: 'auth.wrong_password' });
      }
      checkPassword(change.newPassword, 'newPassword');
      if (change.newPassword === change.currentPassword) {
        throw badRequest('the new password must differ from the current one', { field: 'newPassword', code: 'auth.same_password' });
      }
      await repo.updateUser(userId, { passwordHash: await hash(change.newPassword, ARGON2) });
      await revoke(userId, { tokens: true, ...(change.keepSessionToken ? { keepSessionToken: change.keepSessionToken } : {}) });
    },

    /** Users revoked at or after `since` (see IdentityRepository.revokedSince). */
    revokedSince: (since: Date) => repo.revokedSince(since),

    listUsers: () => repo.listUsers(),
    countUsers: () => repo.countUsers(),

    /** A wrong user and a wrong password answer the same, in the same time. */
    async login(username: string, password: string, meta: { ip: string | null; userAgent: string | null }): Promise<{ token: string; user: User; expiresAt: Date }> {
      const found = await repo.findUserForLogin(username);
      const ok = found && !found.disabled
        ? await verify(found.passwordHash, password).catch(() => false)
        : (await verify(await dummyHash, password).catch(() => false), false);
      if (!ok || !found) throw unauthorized('Wrong username or password');
      const token = randomToken();
      const expiresAt = new Date(Date.now() + sessionHours * 3600_000);
      await repo.insertSession({ tokenHash: sha256(token), userId: found.id, expiresAt, ...meta });
      await repo.touchLogin(found.id);
      const { passwordHash: _omit, ...user } = found;
      return { token, user, expiresAt };
    },

    logout: (token: string) => repo.deleteSession(sha256(token)),

    async issueApiToken(userId: string, name: string, days: number | null): Promise<{ id: string; token: string }> {
      const token = API_TOKEN_PREFIX + randomToken();
      const expiresAt = days ? new Date(Date.now() + days * 86_400_000) : null;
      const { id } = await repo.insertApiToken({ userId, name, tokenHash: sha256(token), expiresAt });
      return { id, token };
    },

    /**
     * An admin issues a token acting as another user (a script, a device, a video-wall PC):
     * refused for an unknown user (404) or a disabled one (409), whose tokens would not work.
     */
    async issueApiTokenFor(userId: string, name: string, days: number | null): Promise<{ id: string; token: string; expiresAt: Date | null }> {
      const user = await repo.getUser(userId);
      if (!user) throw notFound('user');
      if (user.disabled) throw conflict('the user is disabled: enable them before issuing a token', { code: 'apiToken.user_disabled', params: { username: user.username } });
      const token = API_TOKEN_PREFIX + randomToken();
      const expiresAt = days ? new Date(Date.now() + days * 86_400_000) : null;
      const { id } = await repo.insertApiToken({ userId, name, tokenHash: sha256(token), expiresAt });
      return { id, token, expiresAt };
    },

    listApiTokens: (userId: string) => repo.listApiTokens(userId),
    revokeApiToken: (userId: string, id: string) => repo.revokeApiToken(userId, id),

    /** Resolve a session cookie or a bearer credential (API token or service token). */
    async authenticate(cred: { cookie?: string; bearer?: string }): Promise<Principal | null> {
      if (cred.bearer) {
        if (safeEqual(cred.bearer, serviceToken)) return { kind: 'service', userId: null, username: 'service', roles: [] };
        if (cred.bearer.startsWith(API_TOKEN_PREFIX)) {
          const user = await repo.userByApiToken(sha256(cred.bearer));
          return user ? { kind: 'api', userId: user.id, username: user.username, roles: user.roles } : null;
        }
        return null;
      }
      if (cred.cookie) {
        const user = await repo.userBySession(sha256(cred.cookie));
        return user ? { kind: 'user', userId: user.id, username: user.username, roles: user.roles } : null;
      }
      return null;
    },

    getUser: (id: string) => repo.getUser(id),
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
