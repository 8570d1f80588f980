import { Type } from 'typebox';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { App } from '../http/app.ts';
import { errors, StringEnum } from '../http/schemas.ts';
import { notFound } from '../http/errors.ts';
import type { AuditLog } from '../audit/types.ts';
import { SESSION_COOKIE } from './guard.ts';
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
  loginAttemptsPerMinute: number;
}

/** Login, logout, who am I, users and API tokens. */
export const identityRoutes = fp(async (app: App, opts: IdentityRoutesOptions) => {
  const { identity, audit } = opts;
  await app.register(rateLimit, {
    global: false, hook: 'preHandler', redis: opts.redis, nameSpace: `${opts.redisPrefix}ratelimit:`,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429, error: 'too_many_requests',
      message: `Too many attempts; try again in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });

  app.post('/api/auth/login', {
    config: {
      access: 'public',
      rateLimit: {
        max: opts.loginAttemptsPerMinute, timeWindow: 60_000,
        keyGenerator: (req) => `login:${req.ip}:${String((req.body as { username?: string } | undefined)?.username ?? '').toLowerCase()}`,
      },
    },
    schema: {
      tags: ['auth'],
      body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) }),
      response: { 200: Type.Object({ user: UserSchema }), ...errors(400, 401, 429) },
    },
  }, async (req, reply) => {
    const meta = { ip: req.ip, userAgent: req.headers['user-agent']?.slice(0, 300) ?? null };
    try {
      const { token, user, expiresAt } = await identity.login(req.body.username, req.body.password, meta);
      reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: opts.secureCookies, path: '/', expires: expiresAt });
      await audit.record({ actor: { kind: 'user', userId: user.id, username: user.username, roles: user.roles }, action: 'auth.login', ip: req.ip, requestId: req.id });
      return { user: userJson(user) };
    } catch (err) {
      await audit.record({ actor: { kind: 'system', userId: null, username: req.body.username.slice(0, 64) }, action: 'auth.login', outcome: 'denied', ip: req.ip, requestId: req.id });
      throw err;
    }
  });

  app.post('/api/auth/logout', {
    config: { access: 'public' },
    schema: { tags: ['auth'], response: { 204: Type.Null() } },
  }, async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await identity.logout(token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });

  app.get('/api/auth/me', {
    config: { access: { roles: ANY_ROLE } },
    schema: { tags: ['auth'], response: { 200: Type.Object({ user: UserSchema }), ...errors(401) } },
  }, async (req) => {
    const user = req.principal?.userId ? await identity.getUser(req.principal.userId) : null;
    if (!user) throw notFound('user');
    return { user: userJson(user) };
  });

  app.get('/api/users', {
    config: { access: { roles: ADMIN } },
    schema: { tags: ['users'], response: { 200: Type.Object({ items: Type.Array(UserSchema) }), ...errors(401, 403) } },
  }, async () => ({ items: (await identity.listUsers()).map(userJson) }));

  app.post('/api/users', {
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['users'],
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
    config: { access: { roles: ADMIN } },
    schema: {
      tags: ['users'],
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      body: Type.Object({
        displayName: Type.Optional(Type.String({ maxLength: 100 })), password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
        roles: Type.Optional(Type.Array(RoleSchema, { minItems: 1 })), locale: Type.Optional(LocaleSchema), disabled: Type.Optional(Type.Boolean()),
      }),
      response: { 200: UserSchema, ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const user = await identity.updateUser(req.params.id, req.body);
    const { password: _p, ...changed } = req.body;
    await audit.record({ actor: req.principal!, action: 'user.update', targetType: 'user', targetId: user.id, details: { ...changed, passwordChanged: req.body.password !== undefined }, ip: req.ip, requestId: req.id });
    return userJson(user);
  });

  app.post('/api/auth/tokens', {
    config: { access: { roles: ANY_ROLE } },
    schema: {
      tags: ['auth'],
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
    config: { access: { roles: ANY_ROLE } },
    schema: { tags: ['auth'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 204: Type.Null(), ...errors(401, 404) } },
  }, async (req, reply) => {
    if (!(await identity.revokeApiToken(req.principal!.userId!, req.params.id))) throw notFound('token');
    await audit.record({ actor: req.principal!, action: 'token.revoke', targetType: 'api_token', targetId: req.params.id, ip: req.ip, requestId: req.id });
    return reply.code(204).send(null);
  });
}, { name: 'identity-routes', dependencies: ['identity-guard'] });
