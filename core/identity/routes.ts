import { Type } from 'typebox';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { App } from '../http/app.ts';
import { errors, StringEnum } from '../http/schemas.ts';
import { notFound } from '../http/errors.ts';
import { outcomeFor } from '../audit/failures.ts';
import type { AuditLog } from '../audit/types.ts';
import { SESSION_COOKIE } from './guard.ts';
import { createLoginFlow } from './login.ts';
import { createLoginLimiter } from './login-limiter.ts';
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from './login-limits.ts';
import type { IdentityService } from './service.ts';
import { ADMIN, ANY_ROLE, ROLES, type User } from './types.ts';

const RoleSchema = StringEnum(ROLES);
const LocaleSchema = Type.Union([Type.Literal('zh-CN'), Type.Literal('en')]);
const UserSchema = Type.Object({
  id: Type.String(), username: Type.String(), displayName: Type.String(), roles: Type.Array(RoleSchema),
  locale: LocaleSchema, disabled: Type.Boolean(), lastLoginAt: Type.Union([Type.String(), Type.Null()]),
});
const userJson = (u: User) => ({ ...u, lastLoginAt: u.lastLoginAt?.toISOString() ?? null, createdAt: u.createdAt.toISOString() });

export interface IdentityRoutesOptions {
  identity: IdentityService;
  audit: AuditLog;
  redis: Redis;
  redisPrefix: string;
  secureCookies: boolean;
  /** Failure windows for logins (config console.login); defaults: DEFAULT_LOGIN_LIMITS. */
  loginLimits?: LoginLimits;
  /** Older spelling: the account+address window's maximum per minute. */
  loginAttemptsPerMinute?: number;
}

/** Login, logout, who am I, passwords, users and API tokens. */
export const identityRoutes = fp(async (app: App, opts: IdentityRoutesOptions) => {
  const { identity, audit } = opts;
  const limits: LoginLimits = opts.loginLimits
    ?? (opts.loginAttemptsPerMinute ? { ...DEFAULT_LOGIN_LIMITS, account_ip: { max: opts.loginAttemptsPerMinute, windowSeconds: 60 } } : DEFAULT_LOGIN_LIMITS);
  const logins = createLoginFlow({ identity, audit, limiter: createLoginLimiter({ redis: opts.redis, prefix: opts.redisPrefix, limits }) });
  const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, secure: opts.secureCookies, path: '/' };

  app.post('/api/auth/login', {
    config: { access: 'public', audit: 'auth.login' },
    schema: {
      summary: 'Log in (sets the session cookie)', tags: ['auth'],
      body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) }),
      response: { 200: Type.Object({ user: UserSchema }), ...errors(400, 401, 429) },
    },
  }, async (req, reply) => {
    const meta = { ip: req.ip, userAgent: req.headers['user-agent']?.slice(0, 300) ?? null, requestId: req.id };
    try {
      const { token, user, expiresAt } = await logins.attempt(req.body.username, req.body.password, meta);
      reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions, expires: expiresAt });
      return { user: userJson(user) };
    } catch (err) {
      const e = err as { code?: string; params?: { seconds?: number } };
      if (e.code === 'auth.rate_limited' && e.params?.seconds) reply.header('retry-after', String(e.params.seconds));
      throw err;
    }
  });

  app.post('/api/auth/password', {
    config: { access: { roles: ANY_ROLE }, audit: 'user.password_change' },
    schema: {
      summary: 'Change your own password', tags: ['auth'],
      description: 'Change your own password. Your other sessions and your API tokens end; this session stays.',
      body: Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 256 }), newPassword: Type.String({ minLength: 8, maxLength: 256 }) }),
      response: { 204: Type.Null(), ...errors(400, 401) },
    },
  }, async (req, reply) => {
    const principal = req.principal!;
    const keepSessionToken = principal.kind === 'user' ? req.cookies[SESSION_COOKIE] : undefined;
    const entry = { actor: principal, action: 'user.password_change', targetType: 'user', targetId: principal.userId!, ip: req.ip, requestId: req.id };
    try {
      await identity.changeOwnPassword(principal.userId!, { currentPassword: req.body.currentPassword, newPassword: req.body.newPassword, ...(keepSessionToken ? { keepSessionToken } : {}) });
    } catch (err) {
      const e = err as { statusCode?: number; code?: string };
      await audit.record({ ...entry, outcome: outcomeFor(e.statusCode ?? 500), details: { status: e.statusCode ?? 500, code: e.code ?? 'internal' } });
      throw err;
    }
    await audit.record(entry);
    return reply.code(204).send(null);
  });

  app.post('/api/auth/logout', {
    config: { access: 'public', audit: 'auth.logout' },
    schema: { summary: 'Log out (ends this session)', tags: ['auth'], response: { 204: Type.Null() } },
  }, async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await identity.logout(token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });

  app.get('/api/auth/me', {
    config: { access: { roles: ANY_ROLE } },
    schema: { summary: 'Who am I', tags: ['auth'], response: { 200: Type.Object({ user: UserSchema }), ...errors(401) } },
  }, async (req) => {
    const user = req.principal?.userId ? await identity.getUser(req.principal.userId) : null;
    if (!user) throw notFound('user');
    return { user: userJson(user) };
  });

  app.get('/api/users', {
    config: { access: { roles: ADMIN } },
    schema: { summary: 'List users', tags: ['users'], response: { 200: Type.Object({ items: Type.Array(UserSchema) }), ...errors(401, 403) } },
  }, async () => ({ items: (await identity.listUsers()).map(userJson) }));

  app.post('/api/users', {
    config: { access: { roles: ADMIN }, audit: 'user.create' },
    schema: {
      summary: 'Create a user', tags: ['users'],
      body: Type.Object({
        username: Type.String({ minLength: 2, maxLength: 64 }), password: Type.String({ minLength: 8, maxLength: 256 }),
        displayName: Type.Optional(Type.String({ maxLength: 100 })), roles: Type.Array(RoleSchema, { minItems: 1 }),
        locale: Type.Optional(LocaleSchema),
      }),
      response: { 201: UserSchema, ...errors(400, 401, 403, 409) },
    },
  }, async (req, reply) => {
    const user = await identity.createUser(req.body);
    await audit.record({ actor: req.principal!, action: 'user.create', targetType: 'user', targetId: user.id, details: { username: user.username, roles: user.roles }, ip: req.ip, requestId: req.id });
    return reply.code(201).send(userJson(user));
  });

  app.patch('/api/users/:id', {
    config: { access: { roles: ADMIN }, audit: 'user.update' },
    schema: {
      summary: 'Change a user (roles, locale, enable/disable)', tags: ['users'],
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      body: Type.Object({
        displayName: Type.Optional(Type.String({ maxLength: 100 })), password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
        roles: Type.Optional(Type.Array(RoleSchema, { minItems: 1 })), locale: Type.Optional(LocaleSchema), disabled: Type.Optional(Type.Boolean()),
      }),
      response: { 200: UserSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const user = await identity.updateUser(req.params.id, req.body, req.principal!.userId);
    const { password: _p, ...changed } = req.body;
    await audit.record({ actor: req.principal!, action: 'user.update', targetType: 'user', targetId: user.id, details: { ...changed, passwordChanged: req.body.password !== undefined }, ip: req.ip, requestId: req.id });
    return userJson(user);
  });

  app.post('/api/users/:id/password', {
    config: { access: { roles: ADMIN }, audit: 'user.password_reset' },
    schema: {
      summary: "Reset a user's password (admin)", tags: ['users'],
      description: "Set a new password for a user (admins). All of that user's sessions end.",
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      body: Type.Object({ newPassword: Type.String({ minLength: 8, maxLength: 256 }) }),
      response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const entry = { actor: req.principal!, action: 'user.password_reset', targetType: 'user', targetId: req.params.id, ip: req.ip, requestId: req.id };
    try {
      await identity.resetPassword(req.params.id, req.body.newPassword);
    } catch (err) {
      const e = err as { statusCode?: number; code?: string };
      await audit.record({ ...entry, outcome: outcomeFor(e.statusCode ?? 500), details: { status: e.statusCode ?? 500, code: e.code ?? 'internal' } });
      throw err;
    }
    await audit.record(entry);
    return reply.code(204).send(null);
  });

  app.post('/api/auth/tokens', {
    config: { access: { roles: ANY_ROLE }, audit: 'token.issue' },
    schema: {
      summary: 'Issue an API token', tags: ['auth'],
      description: 'Issue an API token for scripts and devices, acting as the calling user. The token is shown once.',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) }),
      response: { 201: Type.Object({ id: Type.String(), token: Type.String() }), ...errors(400, 401) },
    },
  }, async (req, reply) => {
    const issued = await identity.issueApiToken(req.principal!.userId!, req.body.name, req.body.days ?? null);
    await audit.record({ actor: req.principal!, action: 'token.issue', targetType: 'api_token', targetId: issued.id, details: { name: req.body.name }, ip: req.ip, requestId: req.id });
    return reply.code(201).send(issued);
  });

  app.delete('/api/auth/tokens/:id', {
    config: { access: { roles: ANY_ROLE }, audit: 'token.revoke' },
    schema: { summary: 'Revoke an API token', tags: ['auth'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 204: Type.Null(), ...errors(401, 404) } },
  }, async (req, reply) => {
    if (!(await identity.revokeApiToken(req.principal!.userId!, req.params.id))) throw notFound('token');
    await audit.record({ actor: req.principal!, action: 'token.revoke', targetType: 'api_token', targetId: req.params.id, ip: req.ip, requestId: req.id });
    return reply.code(204).send(null);
  });

  // ---- API tokens: your own list, and an admin's view of anyone's -------------------
  const TokenSchema = Type.Object({
    id: Type.String(), name: Type.String(), createdAt: Type.String(), expiresAt: Type.Union([Type.String(), Type.Null()]),
    lastUsedAt: Type.Union([Type.String(), Type.Null()]), revokedAt: Type.Union([Type.String(), Type.Null()]),
  });
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const tokenJson = (t: Awaited<ReturnType<IdentityService['listApiTokens']>>[number]) =>
    ({ id: t.id, name: t.name, createdAt: t.createdAt.toISOString(), expiresAt: iso(t.expiresAt), lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt) });
  const UserIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
  const TokenBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) });

  app.get('/api/auth/tokens', {
    config: { access: { roles: ANY_ROLE } },
    schema: {
      summary: 'Your API tokens', tags: ['auth'], description: 'Newest first, revoked ones included; the secret itself is never shown again.',
      response: { 200: Type.Object({ items: Type.Array(TokenSchema) }), ...errors(401) },
    },
  }, async (req) => ({ items: (await identity.listApiTokens(req.principal!.userId!)).map(tokenJson) }));

  app.get('/api/users/:id/tokens', {
    config: { access: { roles: ADMIN } },
    schema: {
      summary: "A user's API tokens (admin)", tags: ['users'], params: UserIdParams,
      response: { 200: Type.Object({ items: Type.Array(TokenSchema) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    if (!(await identity.getUser(req.params.id))) throw notFound('user');
    return { items: (await identity.listApiTokens(req.params.id)).map(tokenJson) };
  });

  app.post('/api/users/:id/tokens', {
    config: { access: { roles: ADMIN }, audit: 'token.issue' },
    schema: {
      summary: 'Issue an API token for a user (admin)', tags: ['users'],
      description: 'A token acting as that user (a script, a device, a wall PC). The secret is in this answer only. Refused for a disabled user (409 apiToken.user_disabled).',
      params: UserIdParams, body: TokenBody,
      response: { 201: Type.Object({ id: Type.String(), token: Type.String(), expiresAt: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    const issued = await identity.issueApiTokenFor(req.params.id, req.body.name, req.body.days ?? null);
    await audit.record({ actor: req.principal!, action: 'token.issue', targetType: 'api_token', targetId: issued.id, details: { name: req.body.name, userId: req.params.id, days: req.body.days ?? null }, ip: req.ip, requestId: req.id });
    return reply.code(201).send({ id: issued.id, token: issued.token, expiresAt: iso(issued.expiresAt) });
  });

  app.delete('/api/users/:id/tokens/:tokenId', {
    config: { access: { roles: ADMIN }, audit: 'token.revoke' },
    schema: {
      summary: "Revoke a user's API token (admin)", tags: ['users'],
      params: Type.Object({ id: Type.String({ format: 'uuid' }), tokenId: Type.String({ format: 'uuid' }) }),
      response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    if (!(await identity.revokeApiToken(req.params.id, req.params.tokenId))) throw notFound('token');
    await audit.record({ actor: req.principal!, action: 'token.revoke', targetType: 'api_token', targetId: req.params.tokenId, details: { userId: req.params.id }, ip: req.ip, requestId: req.id });
    return reply.code(204).send(null);
  });
}, { name: 'identity-routes', dependencies: ['identity-guard'] });
