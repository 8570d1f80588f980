import { signMediaToken, verifyMediaToken, type MediaClaims } from '../../core/crypto.ts';
import { forbidden, unauthorized } from '../../core/http/errors.ts';

/** Live tokens last long enough to start playing; the player refreshes before expiry. */
export const LIVE_TOKEN_SECONDS = 10 * 60;
export const VOD_TOKEN_SECONDS = 30 * 60;

/**
 * Mint a media token (console side): bound to the user, one camera, a scope
 * (live or vod, and for vod the time range) and an expiry.
 */
export function mintMediaToken(key: Buffer, claims: { userId: string; deviceId: string; scope: 'live' | 'vod'; from?: string; to?: string; seconds?: number }): { token: string; expiresAt: Date } {
  const seconds = claims.seconds ?? (claims.scope === 'live' ? LIVE_TOKEN_SECONDS : VOD_TOKEN_SECONDS);
  const exp = Math.floor(Date.now() / 1000) + seconds;
  const token = signMediaToken(key, {
    sub: claims.userId, cam: claims.deviceId, scope: claims.scope, exp,
    ...(claims.from ? { from: claims.from } : {}), ...(claims.to ? { to: claims.to } : {}),
  });
  return { token, expiresAt: new Date(exp * 1000) };
}

/**
 * Check a media request's token (gateway side): missing or altered or expired → 401,
 * a token for another camera or another scope → 403.
 */
export function checkMediaToken(key: Buffer, token: string | undefined, deviceId: string, scope: 'live' | 'vod'): MediaClaims {
  if (!token) throw unauthorized('a media token is required');
  const claims = verifyMediaToken(key, token);
  if (!claims) throw unauthorized('the media token is invalid or expired');
  if (claims.cam !== deviceId || claims.scope !== scope) throw forbidden('the media token is not for this camera');
  return claims;
}
