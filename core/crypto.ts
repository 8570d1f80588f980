import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The platform's secret material, all derived from one 32-byte master key
 * (SKYNET_SECRET_KEY, or `<dataDir>/secret.key` created on first start):
 * - a secret box (AES-256-GCM) for camera passwords at rest;
 * - an HMAC key for short-lived signed media tokens;
 * - the service token between processes when none is configured.
 */
export interface Keys {
  box: Buffer;
  media: Buffer;
  serviceToken: string;
}

export function deriveKeys(master: Buffer, serviceToken?: string): Keys {
  if (master.length !== 32) throw new Error('the secret key must be 32 bytes');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  return {
    box: derive('skynet/secret-box/v1'),
    media: derive('skynet/media-token/v1'),
    serviceToken: serviceToken ?? derive('skynet/service-token/v1').toString('base64url'),
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

/**
 * Signed media token: `base64url(json claims).base64url(hmac)`, bound to a user,
 * a scope (a camera id) and an expiry. Verified by the gateway without a database
 * round trip.
 */
export interface MediaClaims {
  sub: string;     // user id
  cam: string;     // device id the token is good for
  exp: number;     // unix seconds
  scope: 'live' | 'vod';
  [key: string]: unknown;
}

export function signMediaToken(key: Buffer, claims: MediaClaims): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', key).update(body).digest('base64url');
  return `${body}.${mac}`;
}

export function verifyMediaToken(key: Buffer, token: string, now = Date.now()): MediaClaims | null {
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) return null;
  const expected = createHmac('sha256', key).update(body).digest('base64url');
  if (!safeEqual(mac, expected)) return null;
  let claims: MediaClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < now) return null;
  return claims;
}
