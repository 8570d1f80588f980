import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The platform's secret material, all derived from one 32-byte master key
 * (SKYNET_SECRET_KEY, or `<dataDir>/secret.key` created on first start):
 * - a secret box (AES-256-GCM) for camera passwords at rest;
 * - HMAC keys for short-lived signed media tokens, one per key id (`kid`), so the
 *   media key rotates without a new secret being stored (see core/media-keys/);
 * - the service token between processes when none is configured.
 */
export interface Keys {
  box: Buffer;
  /** The media-token HMAC key of a key id. */
  mediaKey(kid: string): Buffer;
  serviceToken: string;
}

/** A media key id: short, printable, safe in a URL path and in HKDF's info string. */
export const MEDIA_KID = /^[A-Za-z0-9_-]{1,32}$/;

const hkdf = (master: Buffer, info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));

/** The media key of `kid`: HKDF of the master key with the kid in the info string (kid v1 is the key of old releases). */
export function deriveMediaKey(master: Buffer, kid: string): Buffer {
  if (!MEDIA_KID.test(kid)) throw new Error(`not a media key id: ${kid}`);
  return hkdf(master, `skynet/media-token/${kid}`);
}

export function deriveKeys(master: Buffer, serviceToken?: string): Keys {
  if (master.length !== 32) throw new Error('the secret key must be 32 bytes');
  const media = new Map<string, Buffer>();
  return {
    box: hkdf(master, 'skynet/secret-box/v1'),
    mediaKey(kid) {
      let key = media.get(kid);
      if (!key) media.set(kid, (key = deriveMediaKey(master, kid)));
      return key;
    },
    serviceToken: serviceToken ?? hkdf(master, 'skynet/service-token/v1').toString('base64url'),
  };
}

/** The configured key, or the one kept in the data directory (created 0600 on first use). */
export function loadMasterKey(configured: string | undefined, dataDir: string): { key: Buffer; created: boolean; path?: string } {
  if (configured) return { key: Buffer.from(configured, 'base64'), created: false };
  const path = join(dataDir, 'secret.key');
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`);
    return { key, created: false, path };
  }
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(32);
  try {
    writeFileSync(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as { code?: string }).code === 'EEXIST') return loadMasterKey(undefined, dataDir);
    throw err;
  }
  return { key, created: true, path };
}

const BOX_VERSION = 1;

/** AES-256-GCM: version byte ‖ 12-byte IV ‖ 16-byte tag ‖ ciphertext. */
export function seal(key: Buffer, plaintext: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([BOX_VERSION]), iv, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Buffer): string {
  if (sealed.length < 29 || sealed[0] !== BOX_VERSION) throw new Error('secret box: unknown format');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
  decipher.setAuthTag(sealed.subarray(13, 29));
  return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
}

export function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** A random token for cookies and API keys: 32 bytes, base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The longest life of any media token (VOD); a retired media key keeps verifying this long. */
export const MAX_MEDIA_TOKEN_SECONDS = 30 * 60;

/**
 * Signed media token: `base64url(json claims).base64url(hmac)`, bound to a user,
 * a scope (a camera id), an expiry and the key id it is signed with. Verified by
 * the gateway without a database round trip. Every character is URL-path safe.
 */
export interface MediaClaims {
  sub: string;     // user id
  cam: string;     // device id the token is good for
  kid: string;     // media key id that signed it
  iat: number;     // unix seconds, when it was minted (revocation compares it)
  exp: number;     // unix seconds
  scope: 'live' | 'vod';
  [key: string]: unknown;
}

export function signMediaToken(key: Buffer, claims: MediaClaims): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', key).update(body).digest('base64url');
  return `${body}.${mac}`;
}

/** The key id a token names, read before its signature is checked (so the right key can be picked); null if unreadable. */
export function mediaTokenKid(token: string): string | null {
  const claims = decodeClaims(token);
  return claims && typeof claims.kid === 'string' && MEDIA_KID.test(claims.kid) ? claims.kid : null;
}

function decodeClaims(token: string): Record<string, unknown> | null {
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? claims as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

export type MediaTokenCheck =
  | { ok: true; claims: MediaClaims }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

/**
 * Check a token's form, signature and expiry with `key` (the key of the kid it names).
 * Only a token that passes yields claims; which key to use is the caller's (the keyring's) call.
 */
export function checkMediaTokenSignature(key: Buffer, token: string, now = Date.now()): MediaTokenCheck {
  const claims = decodeClaims(token);
  if (!claims || typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || typeof claims.kid !== 'string'
    || typeof claims.sub !== 'string' || typeof claims.cam !== 'string') return { ok: false, reason: 'malformed' };
  const [body, mac] = token.split('.') as [string, string];
  const expected = createHmac('sha256', key).update(body).digest('base64url');
  if (!safeEqual(mac, expected)) return { ok: false, reason: 'signature' };
  if (claims.exp * 1000 < now) return { ok: false, reason: 'expired' };
  return { ok: true, claims: claims as MediaClaims };
}

/** Verified claims, or null when the token is malformed, altered or expired. */
export function verifyMediaToken(key: Buffer, token: string, now = Date.now()): MediaClaims | null {
  const check = checkMediaTokenSignature(key, token, now);
  return check.ok ? check.claims : null;
}
