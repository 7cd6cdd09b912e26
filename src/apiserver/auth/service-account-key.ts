// The key that signs service-account tokens: an RSA 2048 key made on first start and kept in the
// PKI directory (service-account.key, PKCS#8 PEM, mode 0600), reused across restarts so tokens
// already handed out stay valid. Tokens are RS256 JWTs whose `kid` is upstream's key id: the
// base64url SHA-256 of the public key's PKIX (SPKI) DER encoding.
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const SERVICE_ACCOUNT_KEY_FILE = 'service-account.key';

export interface ServiceAccountKey {
  alg: 'RS256';
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** upstream's keyIDFromPublicKey. */
export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

export function serviceAccountKeyFromPem(pem: string): ServiceAccountKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error(`${SERVICE_ACCOUNT_KEY_FILE}: an RSA key is required, found ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  return { alg: 'RS256', kid: keyId(publicKey), privateKey, publicKey };
}

/** Loads <dir>/service-account.key, creating it (and dir) when missing. */
export async function ensureServiceAccountKey(dir: string): Promise<ServiceAccountKey> {
  const path = join(dir, SERVICE_ACCOUNT_KEY_FILE);
  if (existsSync(path)) return serviceAccountKeyFromPem(readFileSync(path, 'utf8'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // 'wx': never overwrite a key another process wrote meanwhile; read theirs instead.
  try {
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return serviceAccountKeyFromPem(readFileSync(path, 'utf8'));
    throw e;
  }
  return serviceAccountKeyFromPem(pem);
}
