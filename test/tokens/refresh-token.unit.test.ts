import { describe, it, expect } from 'vitest';
import {
  deriveRefreshToken,
  generateRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
  sameHash,
} from '../../src/tokens/refresh-token.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210', 'utf8');
/** A fixed, well-formed token (32 bytes 0x00..0x1f in base64url). */
const TOKEN = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64url');

describe('generateRefreshToken', () => {
  it('returns 43 base64url characters (32 random bytes, no padding)', () => {
    const token = generateRefreshToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
  });

  it('returns a different token on every call', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => generateRefreshToken()));
    expect(tokens.size).toBe(200);
  });
});

describe('isWellFormedRefreshToken', () => {
  it('accepts generated and derived tokens', () => {
    expect(isWellFormedRefreshToken(generateRefreshToken())).toBe(true);
    expect(isWellFormedRefreshToken(TOKEN)).toBe(true);
    expect(isWellFormedRefreshToken(deriveRefreshToken(KEY, TOKEN))).toBe(true);
  });

  it.each([
    ['an empty string', ''],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'],
    ['42 characters', 'a'.repeat(42)],
    ['44 characters', 'a'.repeat(44)],
    ['padded base64', `${'a'.repeat(42)}=`],
    ['standard base64 characters + and /', `${'a'.repeat(41)}+/`],
    ['a dot', `${'a'.repeat(42)}.`],
    ['surrounding spaces', ` ${'a'.repeat(43)} `],
    ['a trailing newline', `${'a'.repeat(43)}\n`],
  ])('rejects %s', (_label, token) => {
    expect(isWellFormedRefreshToken(token)).toBe(false);
  });
});

describe('hashRefreshToken', () => {
  it('is deterministic and is not the token itself', () => {
    const hash = hashRefreshToken(TOKEN);
    expect(hashRefreshToken(TOKEN)).toBe(hash);
    expect(hash).not.toBe(TOKEN);
  });

  it('is the base64url SHA-256 of the token', () => {
    // SHA-256 of the empty string, a well-known value.
    expect(hashRefreshToken('')).toBe(Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex').toString('base64url'));
  });

  it('differs for different tokens', () => {
    expect(hashRefreshToken(TOKEN)).not.toBe(hashRefreshToken(generateRefreshToken()));
  });
});

describe('deriveRefreshToken', () => {
  it('is deterministic for one key', () => {
    expect(deriveRefreshToken(KEY, TOKEN)).toBe(deriveRefreshToken(KEY, TOKEN));
  });

  it('differs from its input', () => {
    expect(deriveRefreshToken(KEY, TOKEN)).not.toBe(TOKEN);
  });

  it('differs by key', () => {
    expect(deriveRefreshToken(KEY, TOKEN)).not.toBe(deriveRefreshToken(OTHER_KEY, TOKEN));
  });

  it('differs by token', () => {
    expect(deriveRefreshToken(KEY, TOKEN)).not.toBe(deriveRefreshToken(KEY, generateRefreshToken()));
  });

  it('takes one step by default', () => {
    expect(deriveRefreshToken(KEY, TOKEN)).toBe(deriveRefreshToken(KEY, TOKEN, 1));
  });

  it.each([2, 3, 5])('with steps=%i equals that many single steps', (steps) => {
    let stepwise = TOKEN;
    for (let i = 0; i < steps; i++) stepwise = deriveRefreshToken(KEY, stepwise);
    expect(deriveRefreshToken(KEY, TOKEN, steps)).toBe(stepwise);
  });

  it('gives distinct tokens along a chain', () => {
    const chain = [1, 2, 3, 4].map((steps) => deriveRefreshToken(KEY, TOKEN, steps));
    expect(new Set([TOKEN, ...chain]).size).toBe(5);
  });

  it('returns the token itself for steps=0', () => {
    expect(deriveRefreshToken(KEY, TOKEN, 0)).toBe(TOKEN);
  });

  it('produces a well-formed refresh token', () => {
    expect(isWellFormedRefreshToken(deriveRefreshToken(KEY, TOKEN, 3))).toBe(true);
  });
});

describe('sameHash', () => {
  const hash = hashRefreshToken(TOKEN);

  it('is true for equal hashes', () => {
    expect(sameHash(hash, hashRefreshToken(TOKEN))).toBe(true);
  });

  it('is false for different hashes of the same length', () => {
    expect(sameHash(hash, hashRefreshToken(generateRefreshToken()))).toBe(false);
  });

  it('is false, without throwing, for different lengths', () => {
    expect(sameHash(hash, hash.slice(0, -1))).toBe(false);
    expect(sameHash(hash, '')).toBe(false);
  });
});
