import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { App } from '../http/app.ts';
import type { FastifyRequest } from 'fastify';
import { errorBody } from '../http/app.ts';
import { forbidden, HttpError, unauthorized } from '../http/errors.ts';
import type { IdentityService } from './service.ts';
import type { Access, Principal } from './types.ts';

export const SESSION_COOKIE = 'skynet_session';

declare module 'fastify' {
  interface FastifyContextConfig { access?: Access; accessFromPrefix?: boolean }
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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `scheme://host[:port]` as browsers write it in Origin (default port left out), or null when it is no origin. */
export function normaliseOrigin(value: string): string | null {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/**
 * May a state-changing request that carries the session cookie go ahead? Pure, so the
 * rule is tested with plain values.
 *
 * - With `Origin` (browsers send it on every unsafe request): only the console's own
 *   origin (the request's own scheme and Host, or one configured) passes. `Origin: null`
 *   (sandboxed frames, redirects, and Chromium's HTML form posts under helmet's
 *   `Referrer-Policy: no-referrer`: the web app itself only writes through fetch(),
 *   which sends its real origin) and a same-site page on another port
 *   (http://127.0.0.1:18999 against the console on :8080: SameSite=Strict still sends
 *   the cookie there) are refused.
 * - Without `Origin`, `Sec-Fetch-Site` decides: `same-origin` and `none` (the user
 *   typed it) pass, `same-site` and `cross-site` are refused.
 * - With neither header the request does not come from a browser page: browsers send
 *   Origin on unsafe methods, so this is a script (curl, an operator's tool) that holds
 *   the cookie itself, which no page can make a browser do. It is let through.
 */
export function crossSiteVerdict(h: { origin?: string | undefined; secFetchSite?: string | undefined }, ownOrigins: readonly string[]): 'ok' | 'cross_site' {
  if (h.origin !== undefined) {
    const origin = normaliseOrigin(h.origin.trim());
    return origin !== null && ownOrigins.includes(origin) ? 'ok' : 'cross_site';
  }
  if (h.secFetchSite !== undefined) return h.secFetchSite === 'same-origin' || h.secFetchSite === 'none' ? 'ok' : 'cross_site';
  return 'ok';
}

export interface GuardOptions {
  identity: IdentityService;
  /** Origins besides the request's own that the web app is served from (console.publicUrl, console.allowedOrigins). */
  allowedOrigins?: readonly string[];
  /**
   * Access for routes a library registers itself under a prefix (Bull Board's pages and
   * API under /admin/queues): a route there without its own declaration gets this one.
   * Nothing else is open by omission.
   */
  prefixAccess?: readonly { prefix: string; access: Access }[];
}

/**
 * Authenticates every request (session cookie, API token or service token) and
 * enforces the `access` each route declares. A route registered without one
 * stops the process at start-up: no route is open by omission. A state-changing
 * request carrying the session cookie must come from the console's own origin
 * (crossSiteVerdict); bearer-token requests are not browser-borne and skip that check.
 */
export const identityGuard = fp(async (app: App, opts: GuardOptions) => {
  if (!app.hasDecorator('parseCookie')) await app.register(cookie);
  app.decorateRequest('principal', null);
  const configured = (opts.allowedOrigins ?? []).map((o) => normaliseOrigin(o)).filter((o): o is string => o !== null);

  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: Access } | undefined)?.access;
    if (route.url.startsWith('/docs')) {
      route.config = { ...(route.config ?? {}), access: access ?? 'public' } as typeof route.config;
      return;
    }
    const inherited = access ?? opts.prefixAccess?.find((p) => route.url === p.prefix || route.url.startsWith(`${p.prefix}/`))?.access;
    if (!inherited) throw new Error(`route ${route.method} ${route.url} declares no access (config.access)`);
    if (!access) route.config = { ...(route.config ?? {}), access: inherited, accessFromPrefix: true } as typeof route.config;
    // Public routes need no credential: OpenAPI shows no padlock on them. Mutated in
    // place, since @fastify/swagger keeps a reference to the route it saw first.
    if (inherited === 'public') {
      if (route.schema) (route.schema as Record<string, unknown>).security = [];
      else route.schema = { security: [] } as unknown as typeof route.schema;
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config?.access;
    if (!access) return; // 404 handler
    if (!request.routeOptions.config?.accessFromPrefix) return check(request, access);
    // A library's routes have the library's error handler: answer a refusal in our shape here.
    try {
      await check(request, access);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      request.errorCode = err.code;
      return reply.code(err.statusCode).send(errorBody(err.error, err.code, err.message, err.field, err.params));
    }
  });

  async function check(request: FastifyRequest, access: Access): Promise<void> {
    const header = request.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const cookieValue = request.cookies?.[SESSION_COOKIE];
    request.principal = bearer || cookieValue ? await opts.identity.authenticate({ bearer, cookie: cookieValue }) : null;
    // Checked for every route, public ones too (logout acts on the cookie).
    if (!bearer && cookieValue && !SAFE_METHODS.has(request.method)) {
      const own = normaliseOrigin(`${request.protocol}://${request.host}`);
      const verdict = crossSiteVerdict(
        { origin: request.headers.origin, secFetchSite: request.headers['sec-fetch-site'] as string | undefined },
        own ? [own, ...configured] : configured,
      );
      if (verdict === 'cross_site') throw forbidden('Cross-site request refused: send it from the console itself', { code: 'auth.cross_site' });
    }
    const verdict = allows(access, request.principal);
    if (verdict === 'unauthenticated') throw unauthorized();
    if (verdict === 'forbidden') throw forbidden();
  }
}, { name: 'identity-guard' });
