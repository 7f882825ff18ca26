import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  buildKeySet,
  generateSigningKeyPem,
  jwkThumbprint,
  parseSigningKey,
  parseVerifyKey,
  publicJwks,
  SigningKeyError,
} from '../../src/tokens/signing-keys.js';

/** RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint. */
const RFC7638_KEY = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
} as const;
const RFC7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const spki = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString();

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** The message of the SigningKeyError `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SigningKeyError);
    return (error as Error).message;
  }
  throw new Error('the key was accepted');
}

describe('RFC 7638 thumbprints (the kid)', () => {
  it('matches the RFC 7638 §3.1 example key', () => {
    expect(jwkThumbprint(RFC7638_KEY)).toBe(RFC7638_THUMBPRINT);
  });

  it('gives the same kid for that key read from a PEM file (what an operator deploys)', () => {
    const pem = createPublicKey({ key: { kty: 'RSA', n: RFC7638_KEY.n, e: RFC7638_KEY.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const key = parseVerifyKey(pem);
    expect(key.kid).toBe(RFC7638_THUMBPRINT);
    expect(key.algorithm).toBe('RS256');
    expect(key.jwk).toEqual({ kty: 'RSA', kid: RFC7638_THUMBPRINT, use: 'sig', alg: 'RS256', n: RFC7638_KEY.n, e: 'AQAB' });
  });

  it('ignores member order and members outside the required ones', () => {
    const shuffled = { kid: 'x', e: RFC7638_KEY.e, alg: 'RS256', use: 'sig', n: RFC7638_KEY.n, kty: 'RSA' };
    expect(jwkThumbprint(shuffled)).toBe(RFC7638_THUMBPRINT);
    // Control: a change to a required member changes the thumbprint.
    expect(jwkThumbprint({ ...shuffled, e: 'AQAC' })).not.toBe(RFC7638_THUMBPRINT);
  });

  it('agrees with jose, an independent implementation, for EC P-256 and RSA keys', async () => {
    for (let i = 0; i < 5; i++) {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = pair.publicKey.export({ format: 'jwk' });
      expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0], 'sha256'));
      expect(parseSigningKey(pkcs8(pair.privateKey), 'ES256').kid).toBe(jwkThumbprint(jwk));
    }
    const jwk = rsa.publicKey.export({ format: 'jwk' });
    expect(parseSigningKey(pkcs8(rsa.privateKey), 'RS256').kid).toBe(await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0], 'sha256'));
  });

  it('reads the EC PARAMETERS + EC PRIVATE KEY file that `openssl ecparam -genkey` writes', () => {
    // The DER of OID 1.2.840.10045.3.1.7 (P-256), as openssl puts it before the key.
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    expect(parseSigningKey(params + sec1, 'ES256').kid).toBe(parseSigningKey(pkcs8(ec.privateKey), 'ES256').kid);
    expect(refusal(() => parseSigningKey(params + spki(ec.publicKey), 'ES256'))).toMatch(/holds a public key/);
  });

  it('gives a public key, its private key and every PEM encoding of them one kid', () => {
    const kid = parseSigningKey(pkcs8(ec.privateKey), 'ES256').kid;
    expect(parseSigningKey(ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(), 'ES256').kid).toBe(kid);
    expect(parseVerifyKey(spki(ec.publicKey)).kid).toBe(kid);
    expect(parseVerifyKey(pkcs8(ec.privateKey)).kid).toBe(kid);
    const rsaKid = parseSigningKey(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), 'RS256').kid;
    expect(parseVerifyKey(rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()).kid).toBe(rsaKid);
  });
});

describe('parseSigningKey and parseVerifyKey refusals', () => {
  it('accepts the right keys (control for the refusals below)', () => {
    expect(parseSigningKey(pkcs8(ec.privateKey), 'ES256').algorithm).toBe('ES256');
    expect(parseSigningKey(pkcs8(rsa.privateKey), 'RS256').algorithm).toBe('RS256');
    expect(parseVerifyKey(spki(ec.publicKey)).algorithm).toBe('ES256');
    expect(parseVerifyKey(spki(rsa.publicKey)).algorithm).toBe('RS256');
  });

  it('refuses text that is not PEM', () => {
    expect(refusal(() => parseSigningKey('not a key', 'ES256'))).toMatch(/not a PEM file/);
    expect(refusal(() => parseVerifyKey(''))).toMatch(/not a PEM file/);
  });

  it('refuses a malformed PEM block', () => {
    const broken = pkcs8(ec.privateKey).replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    expect(refusal(() => parseSigningKey(broken, 'ES256'))).toMatch(/malformed "PRIVATE KEY" PEM block/);
    expect(refusal(() => parseVerifyKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'))).toMatch(/malformed "PUBLIC KEY" PEM block/);
  });

  it('refuses a public key where the signing key belongs', () => {
    expect(refusal(() => parseSigningKey(spki(ec.publicKey), 'ES256'))).toMatch(/holds a public key, not a private key/);
    expect(refusal(() => parseSigningKey(rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(), 'RS256'))).toMatch(/public key/);
  });

  it('refuses an encrypted private key', () => {
    const encrypted = ec.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' }).toString();
    expect(refusal(() => parseSigningKey(encrypted, 'ES256'))).toMatch(/encrypted/);
    expect(refusal(() => parseVerifyKey(encrypted))).toMatch(/encrypted/);
  });

  it('refuses a key of the wrong type for the algorithm', () => {
    expect(refusal(() => parseSigningKey(pkcs8(ec.privateKey), 'RS256'))).toBe('is an EC key on P-256; JWT_ALGORITHM=RS256 needs an RSA key');
    expect(refusal(() => parseSigningKey(pkcs8(rsa.privateKey), 'ES256'))).toBe('is an RSA key; JWT_ALGORITHM=ES256 needs an EC P-256 key');
    const ed = generateKeyPairSync('ed25519');
    expect(refusal(() => parseSigningKey(pkcs8(ed.privateKey), 'ES256'))).toBe('is an ed25519 key; JWT_ALGORITHM=ES256 needs an EC P-256 key');
    expect(refusal(() => parseVerifyKey(spki(ed.publicKey)))).toMatch(/is an ed25519 key; tokengate verifies RSA \(RS256\) and EC P-256 \(ES256\) keys/);
  });

  it('refuses RSA keys under 2048 bits, to sign or to verify', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(refusal(() => parseSigningKey(pkcs8(weak.privateKey), 'RS256'))).toBe('is a 1024-bit RSA key; RS256 needs at least 2048 bits');
    expect(refusal(() => parseVerifyKey(spki(weak.publicKey)))).toBe('is a 1024-bit RSA key; RS256 needs at least 2048 bits');
  });

  it('refuses EC keys that are not on P-256, to sign or to verify', () => {
    for (const namedCurve of ['secp384r1', 'secp256k1']) {
      const other = generateKeyPairSync('ec', { namedCurve });
      expect(refusal(() => parseSigningKey(pkcs8(other.privateKey), 'ES256'))).toBe(`is an EC key on ${namedCurve}; ES256 needs a key on P-256`);
      expect(refusal(() => parseVerifyKey(spki(other.publicKey)))).toBe(`is an EC key on ${namedCurve}; ES256 needs a key on P-256`);
    }
  });
});

describe('key sets and the JWKS', () => {
  const active = parseSigningKey(pkcs8(ec.privateKey), 'ES256');
  const earlierRsa = parseVerifyKey(spki(rsa.publicKey));
  const earlierEc = parseVerifyKey(spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));

  it('lists the active key first, then the earlier ones in the configured order, each once', () => {
    const set = buildKeySet(active, [earlierEc, parseVerifyKey(pkcs8(ec.privateKey)), earlierRsa, earlierEc]);
    expect(set.verifyKeys.map((k) => k.kid)).toEqual([active.kid, earlierEc.kid, earlierRsa.kid]);
    expect(set.active).toBe(active);
  });

  it('publishes kty, kid, use, alg and the public members only', () => {
    const { keys } = publicJwks(buildKeySet(active, [earlierRsa]));
    expect(keys).toHaveLength(2);
    const [first, second] = keys;
    expect(Object.keys(first!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(first).toMatchObject({ kty: 'EC', kid: active.kid, use: 'sig', alg: 'ES256', crv: 'P-256' });
    expect(Object.keys(second!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(second).toMatchObject({ kty: 'RSA', kid: earlierRsa.kid, use: 'sig', alg: 'RS256', e: 'AQAB' });
    const text = JSON.stringify(keys);
    for (const secret of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"', '"k"']) expect(text).not.toContain(secret);
  });

  it('publishes nothing for HS256', () => {
    expect(publicJwks(null)).toEqual({ keys: [] });
  });
});

describe('generateSigningKeyPem', () => {
  it.each(['ES256', 'RS256'] as const)('makes an unencrypted PKCS#8 %s key that parses back for its algorithm', (algorithm) => {
    const pem = generateSigningKeyPem(algorithm);
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    expect(parseSigningKey(pem, algorithm).algorithm).toBe(algorithm);
    // A new key each time.
    expect(parseSigningKey(generateSigningKeyPem(algorithm), algorithm).kid).not.toBe(parseSigningKey(pem, algorithm).kid);
  });
});
