import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The platform's Ed25519 signing key (evidence manifests): `secrets.signingKey` when set
 * (PKCS#8 PEM, or its DER in base64), else <dataDir>/signing.key, created 0600 on first use
 * with flag 'wx' so two processes starting at once end up with the same key.
 */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
  /** SHA-256 of the public key's SPKI DER, hex: what a person compares with the published one. */
  fingerprint: string;
}

function parsePrivate(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----')
    ? createPrivateKey(trimmed)
    : createPrivateKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the signing key is not an Ed25519 key');
  return key;
}

export function fingerprintOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex');
}

export function signingKeyOf(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), fingerprint: fingerprintOf(publicKey) };
}

export function loadSigningKey(configured: string | undefined, dataDir: string): SigningKey & { created: boolean; path?: string } {
  if (configured) return { ...signingKeyOf(parsePrivate(configured)), created: false };
  const path = join(dataDir, 'signing.key');
  if (existsSync(path)) return { ...signingKeyOf(parsePrivate(readFileSync(path, 'utf8'))), created: false, path };
  mkdirSync(dirname(path), { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  try {
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as { code?: string }).code === 'EEXIST') return loadSigningKey(undefined, dataDir);
    throw err;
  }
  return { ...signingKeyOf(privateKey), created: true, path };
}

/** A public key from PEM (SPKI), only if it is Ed25519. */
export function parsePublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 public key');
  return key;
}

export const signBytes = (key: KeyObject, data: Buffer): Buffer => sign(null, data, key);
export const verifyBytes = (key: KeyObject, data: Buffer, signature: Buffer): boolean => {
  try { return verify(null, data, key, signature); } catch { return false; }
};
