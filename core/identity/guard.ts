import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { App } from '../http/app.ts';
import { forbidden, unauthorized } from '../http/errors.ts';
import type { IdentityService } from './service.ts';
import type { Access, Principal } from './types.ts';

export const SESSION_COOKIE = 'skynet_session';

declare module 'fastify' {
  interface FastifyContextConfig { access?: Access }
  interface FastifyRequest { principal: Principal | null }
}

/** Does `access` let `principal` through? Pure, so the rule is tested with plain values. */
export function allows(access: Access, principal: Principal | null): 'ok' | 'unauthenticated' | 'forbidden' {
  if (access === 'public') return 'ok';
  if (!principal) return 'unauthenticated';
  if (access === 'service') return principal.kind === 'service' ? 'ok' : 'forbidden';
  if (principal.kind === 'service') return 'forbidden';
  return principal.roles.some((r) => access.roles.includes(r)) ? 'ok' : 'forbidden';
}

/**
 * Authenticates every request (session cookie, API token or service token) and
 * enforces the `access` each route declares. A route registered without one
 * stops the process at start-up: no route is open by omission.
 */
export const identityGuard = fp(async (app: App, opts: { identity: IdentityService }) => {
  if (!app.hasDecorator('parseCookie')) await app.register(cookie);
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: Access } | undefined)?.access;
    if (route.url.startsWith('/docs')) {
      route.config = { ...(route.config ?? {}), access: access ?? 'public' } as typeof route.config;
      return;
    }
    if (!access) throw new Error(`route ${route.method} ${route.url} declares no access (config.access)`);
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config?.access;
    if (!access) return; // 404 handler
    const header = request.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const cookieValue = request.cookies?.[SESSION_COOKIE];
    request.principal = bearer || cookieValue ? await opts.identity.authenticate({ bearer, cookie: cookieValue }) : null;
    const verdict = allows(access, request.principal);
    if (verdict === 'unauthenticated') throw unauthorized();
    if (verdict === 'forbidden') throw forbidden();
  });
}, { name: 'identity-guard' });
