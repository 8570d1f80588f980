import { checkMediaTokenSignature, MAX_MEDIA_TOKEN_SECONDS, mediaTokenKid, signMediaToken, type MediaClaims } from '../../core/crypto.ts';
import { Type } from 'typebox';
import { forbidden, unauthorized } from '../../core/http/errors.ts';

/** Live tokens last long enough to start playing; the player refreshes before expiry. */
export const LIVE_TOKEN_SECONDS = 10 * 60;
export const VOD_TOKEN_SECONDS = MAX_MEDIA_TOKEN_SECONDS;

export type MediaScope = 'live' | 'vod';

/** A media token as a URL path segment (core/crypto.ts: base64url, a dot, base64url). */
export const MediaToken = Type.String({ minLength: 1, maxLength: 1024 });

/** What minting needs of the keyring: the current kid and its key. */
export interface MediaSigner { signing(): Promise<{ kid: string; key: Buffer }> }
/** What checking needs: the key of a kid still verifying (null otherwise), and when a user was last revoked. */
export interface MediaVerifier {
  verifying(kid: string): Promise<Buffer | null>;
}
export interface RevocationLookup { revokedAt(userId: string): Date | null }

/**
 * Mint a media token (console side) with the current key id: bound to the user, one
 * camera, a scope (live or vod, and for vod the time range), when it was issued and an
 * expiry (never longer than the longest token life, which is the keys' grace period).
 */
export async function mintMediaToken(signer: MediaSigner, claims: { userId: string; deviceId: string; scope: MediaScope; from?: string; to?: string; seconds?: number }, now = Date.now()): Promise<{ token: string; expiresAt: Date; kid: string }> {
  const seconds = Math.min(claims.seconds ?? (claims.scope === 'live' ? LIVE_TOKEN_SECONDS : VOD_TOKEN_SECONDS), MAX_MEDIA_TOKEN_SECONDS);
  const iat = Math.floor(now / 1000);
  const exp = iat + seconds;
  const { kid, key } = await signer.signing();
  const token = signMediaToken(key, {
    sub: claims.userId, cam: claims.deviceId, scope: claims.scope, kid, iat, exp,
    ...(claims.from ? { from: claims.from } : {}), ...(claims.to ? { to: claims.to } : {}),
  });
  return { token, expiresAt: new Date(exp * 1000), kid };
}

/**
 * Was this token issued before its user was last revoked (disabled, password reset)?
 * `iat` has whole seconds: a token issued in the second of the revocation is refused too.
 */
export function tokenRevoked(iat: number, revokedAt: Date | null): boolean {
  return revokedAt !== null && iat <= Math.floor(revokedAt.getTime() / 1000);
}

export type TokenVerdict =
  | { ok: true }
  | { ok: false; status: 401 | 403; code: 'media.token_required' | 'media.token_invalid' | 'media.token_expired' | 'media.token_revoked' | 'media.token_wrong_camera' };

/**
 * The gateway's decision on a media request, from plain values: a missing token, an unknown
 * or out-of-grace kid, a bad signature → invalid; past exp → expired; issued before the user's
 * revocation → revoked (all 401); another camera or scope → 403.
 */
export function judgeMediaToken(input: {
  token: string | undefined;
  /** Result of the signature check with the kid's key; null when the kid gave no key. */
  check: ReturnType<typeof checkMediaTokenSignature> | null;
  deviceId: string;
  scope: MediaScope;
  revokedAt: Date | null;
}): TokenVerdict {
  if (!input.token) return { ok: false, status: 401, code: 'media.token_required' };
  const { check } = input;
  if (!check || (!check.ok && check.reason !== 'expired')) return { ok: false, status: 401, code: 'media.token_invalid' };
  if (!check.ok) return { ok: false, status: 401, code: 'media.token_expired' };
  if (tokenRevoked(check.claims.iat, input.revokedAt)) return { ok: false, status: 401, code: 'media.token_revoked' };
  if (check.claims.cam !== input.deviceId || check.claims.scope !== input.scope) return { ok: false, status: 403, code: 'media.token_wrong_camera' };
  return { ok: true };
}

const MESSAGES: Record<Exclude<TokenVerdict, { ok: true }>['code'], string> = {
  'media.token_required': 'a media token is required',
  'media.token_invalid': 'the media token is invalid',
  'media.token_expired': 'the media token has expired',
  'media.token_revoked': 'the media token was revoked: its user was disabled or their password reset',
  'media.token_wrong_camera': 'the media token is not for this camera',
};

/**
 * Media-request authentication on the gateway: the keyring picks the key of the kid
 * the token names, the revocation set says when its user was last revoked.
 */
export function createMediaAuth(deps: { keys: MediaVerifier; revocations: RevocationLookup }) {
  return {
    async check(token: string | undefined, deviceId: string, scope: MediaScope, now = Date.now()): Promise<MediaClaims> {
      let check: ReturnType<typeof checkMediaTokenSignature> | null = null;
      if (token) {
        const kid = mediaTokenKid(token);
        const key = kid ? await deps.keys.verifying(kid) : null;
        check = key ? checkMediaTokenSignature(key, token, now) : null;
      }
      const revokedAt = check?.ok ? deps.revocations.revokedAt(check.claims.sub) : null;
      const verdict = judgeMediaToken({ token, check, deviceId, scope, revokedAt });
      if (verdict.ok) return (check as { ok: true; claims: MediaClaims }).claims;
      const detail = { code: verdict.code };
      throw verdict.status === 401 ? unauthorized(MESSAGES[verdict.code], detail) : forbidden(MESSAGES[verdict.code], detail);
    },
  };
}

export type MediaAuth = ReturnType<typeof createMediaAuth>;

/**
 * Where a media token's playlist lives: the token is one path segment after the camera,
 * so relative segment URIs (`seg-12.ts`, `seg/34.ts`) carry it without repeating it.
 */
export function mediaPath(scope: MediaScope, deviceId: string, token: string): string {
  return `/media/${scope}/${deviceId}/${token}/index.m3u8`;
}
