import { checkMediaTokenSignature, mediaTokenKid, signMediaToken, type MediaClaims } from '../../core/crypto.ts';
import { forbidden, unauthorized } from '../../core/http/errors.ts';
import { tokenRevoked, type MediaSigner, type MediaVerifier } from '../../gateway/streams/media-auth.ts';

/**
 * The signed image link of a snapshot: the media-token HMAC of core/crypto.ts with the media
 * keyring's current kid (rotation and grace as for live and footage), bound to the user, the
 * camera and this one snapshot, with scope `snapshot` so a gateway refuses it as a live or
 * footage token, and neither of those passes here.
 */

/** Links last long enough to look at a strip; the web app asks for fresh ones before they lapse. */
export const SNAPSHOT_TOKEN_SECONDS = 10 * 60;
const SCOPE = 'snapshot';

export async function mintSnapshotToken(signer: MediaSigner, c: { userId: string; deviceId: string; snapshotId: string }, now = Date.now()): Promise<{ token: string; expiresAt: Date }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + SNAPSHOT_TOKEN_SECONDS;
  const { kid, key } = await signer.signing();
  // MediaClaims names the gateway's scopes only; this one is checked here (judgeSnapshotToken).
  const claims = { sub: c.userId, cam: c.deviceId, snap: c.snapshotId, scope: SCOPE, kid, iat, exp } as unknown as MediaClaims;
  return { token: signMediaToken(key, claims), expiresAt: new Date(exp * 1000) };
}

export type SnapshotTokenVerdict =
  | { ok: true; userId: string }
  | { ok: false; status: 401 | 403; code: 'media.token_invalid' | 'media.token_expired' | 'media.token_revoked' | 'snapshot.token_wrong_snapshot' };

/**
 * The decision on an image request, from plain values: unknown kid or bad signature → invalid,
 * past exp → expired, its user disabled or revoked since it was minted → revoked (401 all);
 * another snapshot, or not a snapshot token → 403.
 */
export function judgeSnapshotToken(input: {
  check: ReturnType<typeof checkMediaTokenSignature> | null;
  snapshotId: string;
  user: { disabled: boolean; revokedAt: Date | null } | null;
}): SnapshotTokenVerdict {
  const { check } = input;
  if (!check || (!check.ok && check.reason !== 'expired')) return { ok: false, status: 401, code: 'media.token_invalid' };
  if (!check.ok) return { ok: false, status: 401, code: 'media.token_expired' };
  if (!input.user || input.user.disabled || tokenRevoked(check.claims.iat, input.user.revokedAt)) return { ok: false, status: 401, code: 'media.token_revoked' };
  if ((check.claims.scope as string) !== SCOPE || check.claims.snap !== input.snapshotId) return { ok: false, status: 403, code: 'snapshot.token_wrong_snapshot' };
  return { ok: true, userId: check.claims.sub };
}

const MESSAGES: Record<Exclude<SnapshotTokenVerdict, { ok: true }>['code'], string> = {
  'media.token_invalid': 'the image link is invalid',
  'media.token_expired': 'the image link has expired',
  'media.token_revoked': 'the image link was revoked: its user was disabled or their password reset',
  'snapshot.token_wrong_snapshot': 'the image link is for another snapshot',
};

/**
 * Check an image link: the keyring gives the key of the kid it names, `user` says whether its
 * user still holds credentials (looked up once the signature holds). Throws the 401/403.
 */
export async function checkSnapshotToken(
  keys: MediaVerifier, token: string, snapshotId: string,
  user: (userId: string) => Promise<{ disabled: boolean; revokedAt: Date | null } | null>, now = Date.now(),
): Promise<string> {
  const kid = mediaTokenKid(token);
  const key = kid ? await keys.verifying(kid) : null;
  const check = key ? checkMediaTokenSignature(key, token, now) : null;
  const verdict = judgeSnapshotToken({ check, snapshotId, user: check?.ok ? await user(check.claims.sub) : null });
  if (verdict.ok) return verdict.userId;
  const detail = { code: verdict.code };
  throw verdict.status === 401 ? unauthorized(MESSAGES[verdict.code], detail) : forbidden(MESSAGES[verdict.code], detail);
}
