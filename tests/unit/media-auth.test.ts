import { describe, expect, it } from 'vitest';
import { checkMediaTokenSignature, deriveKeys, deriveMediaKey, mediaTokenKid, signMediaToken, type MediaClaims } from '../../core/crypto.ts';
import { scrubUrl } from '../../core/log.ts';
import { routePath } from '../../core/http/app.ts';
import { keyVerifies, newMediaKid, signingKey } from '../../core/media-keys/keyring.ts';
import { dayAllowed, instantAllowed } from '../../gateway/recordings/timeline.ts';
import { createMediaAuth, judgeMediaToken, mediaPath, mintMediaToken, tokenRevoked } from '../../gateway/streams/media-auth.ts';
import { mergeRevocations } from '../../gateway/streams/revocations.ts';

const master = Buffer.alloc(32, 7);
const keys = deriveKeys(master);
const now = Date.parse('2026-06-01T12:00:00Z');
const s = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const claims = (over: Partial<MediaClaims> = {}): MediaClaims => ({ sub: 'u1', cam: 'c1', kid: 'v1', iat: s('2026-06-01T11:58:00Z'), exp: s('2026-06-01T12:08:00Z'), scope: 'live', ...over });

describe('media keys', () => {
  it('derives one key per kid from the master key; kid v1 is the key of releases before key ids', () => {
    expect(keys.mediaKey('v1').equals(deriveMediaKey(master, 'v1'))).toBe(true);
    expect(keys.mediaKey('m2').equals(keys.mediaKey('v1'))).toBe(false);
    expect(deriveMediaKey(Buffer.alloc(32, 8), 'v1').equals(keys.mediaKey('v1'))).toBe(false);
    expect(() => deriveMediaKey(master, 'bad kid/..')).toThrow(/not a media key id/);
    expect(newMediaKid(now)).toMatch(/^m[0-9a-z]+[0-9a-f]{4}$/);
    expect(newMediaKid(now)).not.toBe(newMediaKid(now));
  });

  it('a retired key verifies for the grace period after its retirement, then not; the current one always', () => {
    const grace = 30 * 60_000;
    expect(keyVerifies({ retiredAt: null }, now, grace)).toBe(true);
    expect(keyVerifies({ retiredAt: new Date(now - grace) }, now, grace)).toBe(true);
    expect(keyVerifies({ retiredAt: new Date(now - grace - 1) }, now, grace)).toBe(false);
  });

  it('signs with the newest key that is not retired', () => {
    const k = (kid: string, created: string, retired: string | null) => ({ kid, createdAt: new Date(created), retiredAt: retired ? new Date(retired) : null });
    expect(signingKey([k('v1', '2026-01-01T00:00:00Z', '2026-05-01T00:00:00Z'), k('m2', '2026-05-01T00:00:00Z', null)])?.kid).toBe('m2');
    expect(signingKey([k('v1', '2026-01-01T00:00:00Z', '2026-05-01T00:00:00Z')])).toBeNull();
  });

  it('reads the kid a token names before checking it, and checks form, signature and expiry', () => {
    const token = signMediaToken(keys.mediaKey('m2'), claims({ kid: 'm2' }));
    expect(mediaTokenKid(token)).toBe('m2');
    expect(mediaTokenKid('garbage')).toBeNull();
    expect(mediaTokenKid(`${Buffer.from('{"kid":"../x"}').toString('base64url')}.x`)).toBeNull();
    expect(checkMediaTokenSignature(keys.mediaKey('m2'), token, now)).toMatchObject({ ok: true });
    expect(checkMediaTokenSignature(keys.mediaKey('v1'), token, now)).toEqual({ ok: false, reason: 'signature' });
    expect(checkMediaTokenSignature(keys.mediaKey('m2'), token, Date.parse('2026-06-01T12:09:00Z'))).toEqual({ ok: false, reason: 'expired' });
    const noIat = signMediaToken(keys.mediaKey('m2'), { ...claims({ kid: 'm2' }), iat: undefined as unknown as number });
    expect(checkMediaTokenSignature(keys.mediaKey('m2'), noIat, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('mints with the current kid, iat now and a capped life; the URL path carries the token', async () => {
    const minted = await mintMediaToken({ signing: async () => ({ kid: 'm2', key: keys.mediaKey('m2') }) }, { userId: 'u1', deviceId: 'c1', scope: 'vod', seconds: 86_400 }, now);
    const c = checkMediaTokenSignature(keys.mediaKey('m2'), minted.token, now);
    expect(c.ok && c.claims).toMatchObject({ kid: 'm2', iat: now / 1000, exp: now / 1000 + 30 * 60, scope: 'vod' });
    expect(minted.kid).toBe('m2');
    expect(minted.token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(mediaPath('vod', 'c1', minted.token)).toBe(`/media/vod/c1/${minted.token}/index.m3u8`);
  });
});

describe('revocation', () => {
  it('refuses a token issued before (or in the second of) its user\'s last revocation', () => {
    const at = new Date('2026-06-01T11:59:30.400Z');
    expect(tokenRevoked(s('2026-06-01T11:59:29Z'), at)).toBe(true);
    expect(tokenRevoked(s('2026-06-01T11:59:30Z'), at)).toBe(true);
    expect(tokenRevoked(s('2026-06-01T11:59:31Z'), at)).toBe(false);
    expect(tokenRevoked(s('2026-06-01T11:59:29Z'), null)).toBe(false);
  });

  it('keeps each user\'s latest revocation (re-enabling never lowers it) and forgets those older than the horizon', () => {
    const set = new Map<string, Date>();
    mergeRevocations(set, [{ userId: 'a', at: new Date('2026-06-01T11:50:00Z') }, { userId: 'b', at: new Date('2026-06-01T11:00:00Z') }], now - 30 * 60_000);
    expect([...set.keys()]).toEqual(['a']);
    mergeRevocations(set, [{ userId: 'a', at: new Date('2026-06-01T11:40:00Z') }], now - 30 * 60_000);
    expect(set.get('a')).toEqual(new Date('2026-06-01T11:50:00Z'));
    mergeRevocations(set, [{ userId: 'a', at: new Date('2026-06-01T11:55:00Z') }], now - 30 * 60_000);
    expect(set.get('a')).toEqual(new Date('2026-06-01T11:55:00Z'));
    mergeRevocations(set, [], Date.parse('2026-06-01T12:30:00Z'));
    expect(set.size).toBe(0);
  });
});

describe('judgeMediaToken', () => {
  const token = 'x.y';
  const ok = { ok: true as const, claims: claims() };
  const base = { token, check: ok, deviceId: 'c1', scope: 'live' as const, revokedAt: null };
  it.each([
    ['no token', { ...base, token: undefined, check: null }, { ok: false, status: 401, code: 'media.token_required' }],
    ['unknown or out-of-grace kid', { ...base, check: null }, { ok: false, status: 401, code: 'media.token_invalid' }],
    ['altered', { ...base, check: { ok: false as const, reason: 'signature' as const } }, { ok: false, status: 401, code: 'media.token_invalid' }],
    ['expired', { ...base, check: { ok: false as const, reason: 'expired' as const } }, { ok: false, status: 401, code: 'media.token_expired' }],
    ['revoked after issue', { ...base, revokedAt: new Date('2026-06-01T11:59:00Z') }, { ok: false, status: 401, code: 'media.token_revoked' }],
    ['revoked before issue (re-enabled, fresh token)', { ...base, revokedAt: new Date('2026-06-01T11:50:00Z') }, { ok: true }],
    ['another camera', { ...base, deviceId: 'c2' }, { ok: false, status: 403, code: 'media.token_wrong_camera' }],
    ['another scope', { ...base, scope: 'vod' as const }, { ok: false, status: 403, code: 'media.token_wrong_camera' }],
    ['good', base, { ok: true }],
  ])('%s', (_name, input, verdict) => {
    expect(judgeMediaToken(input)).toEqual(verdict);
  });

  it('checks through the keyring and the revocation set', async () => {
    const revoked = new Map<string, Date>();
    const auth = createMediaAuth({
      keys: { verifying: async (kid) => (kid === 'v1' || kid === 'm2' ? keys.mediaKey(kid) : null) },
      revocations: { revokedAt: (u) => revoked.get(u) ?? null },
    });
    const good = signMediaToken(keys.mediaKey('m2'), claims({ kid: 'm2' }));
    await expect(auth.check(good, 'c1', 'live', now)).resolves.toMatchObject({ sub: 'u1' });
    const unknown = signMediaToken(keys.mediaKey('m9'), claims({ kid: 'm9' }));
    await expect(auth.check(unknown, 'c1', 'live', now)).rejects.toMatchObject({ statusCode: 401, code: 'media.token_invalid' });
    const lying = signMediaToken(keys.mediaKey('m9'), claims({ kid: 'm2' }));
    await expect(auth.check(lying, 'c1', 'live', now)).rejects.toMatchObject({ statusCode: 401, code: 'media.token_invalid' });
    revoked.set('u1', new Date('2026-06-01T11:59:00Z'));
    await expect(auth.check(good, 'c1', 'live', now)).rejects.toMatchObject({ statusCode: 401, code: 'media.token_revoked' });
  });
});

describe('days and times of footage', () => {
  it.each([
    ['2026-06-01', true], ['1970-01-01', true], ['2028-06-01', true],
    ['2026-02-30', false], ['0000-01-01', false], ['1969-12-31', false], ['9999-12-31', false], ['2029-01-01', false], ['2026-6-1', false],
  ])('%s → %s', (day, allowed) => {
    expect(dayAllowed(day, now)).toBe(allowed);
  });
  it('bounds instants the same way', () => {
    expect(instantAllowed(Date.parse('0000-01-01T00:00:00Z'), now)).toBe(false);
    expect(instantAllowed(Date.parse('2026-05-31T00:00:00Z'), now)).toBe(true);
    expect(instantAllowed(Number.NaN, now)).toBe(false);
  });
});

describe('scrubbing media tokens', () => {
  const token = signMediaToken(keys.mediaKey('v1'), claims());
  it.each([
    `/media/live/c1/${token}/index.m3u8`,
    `/media/vod/c1/${token}/seg/12.ts`,
    `http://gw:8090/media/vod/c1/${token}`,
    `GET /elsewhere/${token}/x`,
  ])('%s', (url) => {
    expect(scrubUrl(url)).not.toContain(token);
    expect(routePath(url)).not.toContain(token);
  });
  it('leaves other paths alone', () => {
    expect(scrubUrl('/media/vod/gap.ts')).toBe('/media/vod/gap.ts');
    expect(routePath('/api/devices/c1/timeline?day=2026-06-01')).toBe('/api/devices/c1/timeline');
  });
});
