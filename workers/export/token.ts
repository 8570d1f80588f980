import { checkMediaTokenSignature, mediaTokenKid, signMediaToken, type MediaClaims } from '../../core/crypto.ts';
import { forbidden, unauthorized } from '../../core/http/errors.ts';
import { tokenRevoked, type MediaSigner, type MediaVerifier } from '../../gateway/streams/media-auth.ts';

/**
 * The download link of a package: the media-token HMAC of core/crypto.ts with the media
 * keyring's current kid, bound to the user and this one export, scope `export` (so no live,
 * footage or snapshot token passes here, and this one passes nowhere else).
 */
export const EXPORT_TOKEN_SECONDS = 10 * 60;
const SCOPE = 'export';

export async function mintExportToken(signer: MediaSigner, c: { userId: string; exportId: string }, now = Date.now()): Promise<{ token: string; expiresAt: Date }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + EXPORT_TOKEN_SECONDS;
  const { kid, key } = await signer.signing();
  // MediaClaims names the gateway's scopes only; this one is checked here. `cam` is required by the format: empty.
  const claims = { sub: c.userId, cam: '', xid: c.exportId, scope: SCOPE, kid, iat, exp } as unknown as MediaClaims;
  return { token: signMediaToken(key, claims), expiresAt: new Date(exp * 1000) };
}

/** Check a download link; throws 401 (invalid, expired, revoked user) or 403 (another export). Returns the user id. */
export async function checkExportToken(
  keys: MediaVerifier, token: string, exportId: string,
  user: (userId: string) => Promise<{ disabled: boolean; revokedAt: Date | null } | null>, now = Date.now(),
): Promise<string> {
  const kid = mediaTokenKid(token);
  const key = kid ? await keys.verifying(kid) : null;
  const check = key ? checkMediaTokenSignature(key, token, now) : null;
  if (!check || (!check.ok && check.reason !== 'expired')) throw unauthorized('the download link is invalid', { code: 'media.token_invalid' });
  if (!check.ok) throw unauthorized('the download link has expired', { code: 'media.token_expired' });
  const holder = await user(check.claims.sub);
  if (!holder || holder.disabled || tokenRevoked(check.claims.iat, holder.revokedAt)) {
    throw unauthorized('the download link was revoked: its user was disabled or their password reset', { code: 'media.token_revoked' });
  }
  if ((check.claims.scope as string) !== SCOPE || check.claims.xid !== exportId) throw forbidden('the download link is for another export', { code: 'export.token_wrong_export' });
  return check.claims.sub;
}
