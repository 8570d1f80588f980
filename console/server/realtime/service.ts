import type { FastifyRequest } from 'fastify';
import { HttpError, forbidden } from '../../../core/http/errors.ts';
import { crossSiteVerdict, normaliseOrigin, SESSION_COOKIE } from '../../../core/identity/guard.ts';

/**
 * A WebSocket upgrade is a GET, so the guard's cross-site check (unsafe methods only) does
 * not cover it, yet a page on another origin can open a socket that carries the session
 * cookie (cross-site WebSocket hijacking). An upgrade that authenticates with the cookie
 * must come from the console's own origin (or a configured one); bearer-token upgrades
 * are not browser-borne and pass.
 */
export function checkUpgradeOrigin(req: FastifyRequest, allowedOrigins: readonly string[]): void {
  if (req.headers.authorization?.startsWith('Bearer ')) return;
  if (!req.cookies?.[SESSION_COOKIE]) return;
  const own = normaliseOrigin(`${req.protocol}://${req.host}`);
  const configured = allowedOrigins.map((o) => normaliseOrigin(o)).filter((o): o is string => o !== null);
  const verdict = crossSiteVerdict(
    { origin: req.headers.origin, secFetchSite: req.headers['sec-fetch-site'] as string | undefined },
    own ? [own, ...configured] : configured,
  );
  if (verdict === 'cross_site') throw forbidden('Cross-site WebSocket refused: open it from the console itself', { code: 'auth.cross_site' });
}

/** /api/events without an upgrade: 426, so a script sees what it should have asked for. */
export function refuseNonUpgrade(): never {
  throw new HttpError(426, 'upgrade_required', 'GET /api/events is a WebSocket: send an upgrade request', { code: 'realtime.upgrade_required' });
}
