import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JwtAlgorithm } from '../config/fields.js';

/*
 * Asymmetric signing keys for access tokens (docs/api.md, "Signing
 * keys"): parsing and checking PEM keys, their RFC 7638 thumbprints (the
 * `kid`), and the public JWK Set. Pure: PEM text comes in, nothing is read
 * from disk here (signing-key-files.ts does that).
 */

/** The algorithms that use a key pair (and a `kid`). */
export type AsymmetricAlgorithm = Exclude<JwtAlgorithm, 'HS256'>;

/** RSA moduli below this are refused (NIST SP 800-131A; RFC 7518 §3.3 requires at least 2048). */
export const MIN_RSA_BITS = 2048;

/** A public JWK as published in the JWKS: public members only. */
export type PublicJwk =
  | { readonly kty: 'RSA'; readonly kid: string; readonly use: 'sig'; readonly alg: 'RS256'; readonly n: string; readonly e: string }
  | { readonly kty: 'EC'; readonly kid: string; readonly use: 'sig'; readonly alg: 'ES256'; readonly crv: 'P-256'; readonly x: string; readonly y: string };

/** A key that verifies tokens: its `kid`, its pinned algorithm, its public half. */
export interface VerifyKey {
  readonly kid: string;
  /** The one algorithm tokens under this key may use; never read from a token. */
  readonly algorithm: AsymmetricAlgorithm;
  readonly publicKey: KeyObject;
  readonly jwk: PublicJwk;
}

/** The key that signs new tokens. */
export interface SignKey extends VerifyKey {
  readonly privateKey: KeyObject;
}

/**
 * Every key of a deployment: the active one signs, all of them verify and
 * are published (active first). Fixed for the life of a process.
 */
export interface SigningKeySet {
  readonly active: SignKey;
  /** Active first, then the earlier signers in the order configured; no two with one kid. */
  readonly verifyKeys: readonly VerifyKey[];
}

/** Why a PEM was refused; the message says what is wrong, the caller names the setting. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

/** "an RSA key", "an ed25519 key": a key's type for messages. */
function describeType(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'an RSA key';
  if (type === 'ec') return `an EC key on ${key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'P-256' : (key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve')}`;
  return `${type !== undefined && /^[aeiou]/.test(type) ? 'an' : 'a'} ${type ?? 'unknown'} key`;
}

/** Refuses keys too weak for their algorithm: RSA under 2048 bits, EC off P-256. */
function checkStrength(key: KeyObject, algorithm: AsymmetricAlgorithm): void {
  if (algorithm === 'RS256') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new SigningKeyError(`is a ${bits}-bit RSA key; RS256 needs at least ${MIN_RSA_BITS} bits`);
  } else if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    // Node names P-256 by its X9.62/OpenSSL name, prime256v1.
    throw new SigningKeyError(`is ${describeType(key)}; ES256 needs a key on P-256`);
  }
}

/** The algorithm a key's type implies: RSA → RS256, EC P-256 → ES256; anything else is refused. */
export function algorithmOfKey(key: KeyObject): AsymmetricAlgorithm {
  const type = key.asymmetricKeyType;
  const algorithm = type === 'rsa' ? 'RS256' : type === 'ec' ? 'ES256' : null;
  if (algorithm === null) throw new SigningKeyError(`is ${describeType(key)}; tokengate verifies RSA (RS256) and EC P-256 (ES256) keys`);
  checkStrength(key, algorithm);
  return algorithm;
}

/** Checks that a key fits `algorithm`: its type first, then its size or curve. */
function expectAlgorithm(key: KeyObject, algorithm: AsymmetricAlgorithm): void {
  const type = algorithm === 'RS256' ? 'rsa' : 'ec';
  if (key.asymmetricKeyType !== type) {
    throw new SigningKeyError(`is ${describeType(key)}; JWT_ALGORITHM=${algorithm} needs ${algorithm === 'RS256' ? 'an RSA key' : 'an EC P-256 key'}`);
  }
  checkStrength(key, algorithm);
}

/**
 * Names the key block a PEM text holds, for messages and the public/private
 * check; null when it holds none. An "EC PARAMETERS" block before the key (as
 * `openssl ecparam -genkey` writes) is skipped.
 */
function pemLabel(pem: string): string | null {
  for (const match of pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)) {
    if (match[1] !== 'EC PARAMETERS') return match[1]!;
  }
  return null;
}

/**
 * Parses the private key that signs (PKCS#8, PKCS#1 or SEC1 PEM) and checks it
 * fits `algorithm`. Refuses public keys, encrypted keys and anything malformed.
 */
export function parseSigningKey(pem: string, algorithm: AsymmetricAlgorithm): SignKey {
  const label = pemLabel(pem);
  if (label === null) throw new SigningKeyError('is not a PEM file (no "-----BEGIN … PRIVATE KEY-----" line)');
  if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY' || label === 'CERTIFICATE') {
    throw new SigningKeyError(`holds a ${label === 'CERTIFICATE' ? 'certificate' : 'public key'}, not a private key: it cannot sign (list public keys in JWT_VERIFY_KEY_FILES)`);
  }
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new SigningKeyError('is encrypted with a passphrase; give the key unencrypted (keep the file mode 0600)');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SigningKeyError(`is not a readable private key (a malformed "${label}" PEM block)`);
  }
  expectAlgorithm(privateKey, algorithm);
  const verify = describeVerifyKey(createPublicKey(privateKey), algorithm);
  return Object.freeze({ ...verify, privateKey });
}

/**
 * Parses a key of an earlier signer (a public key, or a private key whose
 * public half is taken). Its algorithm follows from its type, so a rotation
 * may also move between RS256 and ES256.
 */
export function parseVerifyKey(pem: string): VerifyKey {
  const label = pemLabel(pem);
  if (label === null) throw new SigningKeyError('is not a PEM file (no "-----BEGIN … KEY-----" line)');
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new SigningKeyError('is encrypted with a passphrase; give the public key (or the key unencrypted)');
  }
  let publicKey: KeyObject;
  try {
    // createPublicKey takes public keys, and derives the public half of a private key.
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new SigningKeyError(`is not a readable key (a malformed "${label}" PEM block)`);
  }
  return describeVerifyKey(publicKey, algorithmOfKey(publicKey));
}

/** The public JWK, kid and pinned algorithm of a public key that fits `algorithm`. */
function describeVerifyKey(publicKey: KeyObject, algorithm: AsymmetricAlgorithm): VerifyKey {
  const exported = publicKey.export({ format: 'jwk' });
  const kid = jwkThumbprint(exported);
  const jwk: PublicJwk =
    algorithm === 'RS256'
      ? Object.freeze({ kty: 'RSA', kid, use: 'sig', alg: 'RS256', n: String(exported.n), e: String(exported.e) })
      : Object.freeze({ kty: 'EC', kid, use: 'sig', alg: 'ES256', crv: 'P-256', x: String(exported.x), y: String(exported.y) });
  return Object.freeze({ kid, algorithm, publicKey, jwk });
}

/** The members RFC 7638 §3.2 hashes for each key type, already in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
};

/**
 * The RFC 7638 JWK thumbprint: SHA-256 over the JSON object of the required
 * members only, in lexicographic order, without whitespace; base64url.
 */
export function jwkThumbprint(jwk: { readonly kty?: string; readonly [member: string]: unknown }): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? ''];
  if (members === undefined) throw new SigningKeyError(`has no thumbprint rule for key type ${String(jwk.kty)}`);
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value === '') throw new SigningKeyError(`JWK lacks its "${name}" member`);
    canonical[name] = value;
  }
  // JSON.stringify keeps insertion order, and the members were inserted sorted.
  return createHash('sha256').update(JSON.stringify(canonical), 'utf8').digest('base64url');
}

/**
 * The key set of a deployment. Earlier keys that repeat the active key (or
 * one another) are listed once, so the JWKS has no duplicate `kid`.
 */
export function buildKeySet(active: SignKey, earlier: readonly VerifyKey[]): SigningKeySet {
  const seen = new Set<string>([active.kid]);
  const verifyKeys: VerifyKey[] = [active];
  for (const key of earlier) {
    if (seen.has(key.kid)) continue;
    seen.add(key.kid);
    verifyKeys.push(key);
  }
  return Object.freeze({ active, verifyKeys: Object.freeze(verifyKeys) });
}

/** The JWK Set document of `/.well-known/jwks.json`: every verify key, active first; empty for HS256. */
export function publicJwks(keys: SigningKeySet | null): { readonly keys: readonly PublicJwk[] } {
  return { keys: keys === null ? [] : keys.verifyKeys.map((key) => key.jwk) };
}

/** A new private key for `algorithm` as a PKCS#8 PEM (RSA: 2048 bits; EC: P-256). */
export function generateSigningKeyPem(algorithm: AsymmetricAlgorithm): string {
  const { privateKey } =
    algorithm === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS, publicExponent: 0x10001 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
