import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseSigningKey, type AsymmetricAlgorithm } from '../../src/tokens/signing-keys.js';
import { b64 } from './jwt.js';

/** A key pair written as PKCS#8 PEM for JWT_PRIVATE_KEY_FILE, with what tests need to forge and check tokens. */
export interface TestKey {
  readonly algorithm: AsymmetricAlgorithm;
  /** The private key's PEM file (mode 0600). */
  readonly file: string;
  /** The public key's PEM file, for JWT_VERIFY_KEY_FILES. */
  readonly publicFile: string;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as SPKI PEM text (what an attacker can derive from the JWKS). */
  readonly publicPem: string;
}

/** Makes a key pair of `algorithm` (RSA 2048, EC P-256) and writes it into `dir` as `name.pem` and `name.pub.pem`. */
export function writeTestKey(dir: string, algorithm: AsymmetricAlgorithm, name: string): TestKey {
  const { privateKey, publicKey } =
    algorithm === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const file = path.join(dir, `${name}.pem`);
  const publicFile = path.join(dir, `${name}.pub.pem`);
  writeFileSync(file, pem, { mode: 0o600 });
  writeFileSync(publicFile, publicPem);
  return { algorithm, file, publicFile, kid: parseSigningKey(pem, algorithm).kid, privateKey, publicKey, publicPem };
}

/** Signs `header.payload` by hand with a key pair's private key (ES256 as JOSE r||s), so a test controls every header field. */
export function signJws(header: Record<string, unknown>, claims: Record<string, unknown>, privateKey: KeyObject): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature =
    privateKey.asymmetricKeyType === 'ec'
      ? cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      : cryptoSign('sha256', Buffer.from(input), privateKey);
  return `${input}.${signature.toString('base64url')}`;
}
