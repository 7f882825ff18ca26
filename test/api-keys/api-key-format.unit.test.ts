import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseBearer, parseConnectionParams } from '../../src/http/credentials.js';
import { BASE62_ALPHABET, checksumOf, generateApiKey, hashApiKey, isWellFormedApiKey, prefixOf } from '../../src/api-keys/api-key-format.js';

/*
 * The key format as a secret scanner sees it (docs/guides/api-keys.md,
 * "Format"): recomputed here from the documented rules, independently of
 * the module, so the documentation and the code cannot drift apart.
 */

/** The checksum as the guide describes it: CRC32 of the 30 ASCII characters, 6 base62 digits, most significant first. */
function documentedChecksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

describe('the API key format', () => {
  it('is tg_pat_ + 30 base62 + a 6-character base62 CRC32 of those 30', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey();
      expect(key).toMatch(/^tg_pat_[0-9A-Za-z]{36}$/);
      const body = key.slice(7, 37);
      expect(key.slice(37)).toBe(documentedChecksum(body));
      expect(isWellFormedApiKey(key)).toBe(true);
    }
  });

  it('uses the alphabet 0-9, A-Z, a-z in that order', () => {
    expect(BASE62_ALPHABET).toBe('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
  });

  it('writes known checksums (fixed vectors a scanner can test against; also in the guide)', () => {
    expect(crc32('123456789')).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value: the CRC of zip and PNG
    expect(crc32('0123456789ABCDEFGHIJKLMNOPQRST')).toBe(0xf0c344af);
    expect(checksumOf('0123456789ABCDEFGHIJKLMNOPQRST')).toBe('4PMbyp');
    expect(checksumOf('0'.repeat(30))).toBe('2C8GjS');
    expect(isWellFormedApiKey('tg_pat_0123456789ABCDEFGHIJKLMNOPQRST4PMbyp')).toBe(true);
  });

  it('refuses a key with one character changed, a wrong checksum, or the wrong shape', () => {
    const key = generateApiKey();
    const body = key.slice(7, 37);
    const flipped = body[0] === 'a' ? `b${body.slice(1)}` : `a${body.slice(1)}`;
    expect(isWellFormedApiKey(`tg_pat_${flipped}${key.slice(37)}`)).toBe(false);
    const badSum = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
    expect(isWellFormedApiKey(badSum)).toBe(false);
    expect(isWellFormedApiKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`${key}0`)).toBe(false);
    expect(isWellFormedApiKey(key.replace('tg_pat_', 'tg_pak_'))).toBe(false);
    expect(isWellFormedApiKey(`tg_pat_${'-'.repeat(30)}${checksumOf('-'.repeat(30))}`)).toBe(false);
  });

  it('draws every character of the alphabet (no character left out by the sampling)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) for (const c of generateApiKey().slice(7, 37)) seen.add(c);
    expect(seen.size).toBe(62);
  });

  it('shows tg_pat_ and 4 random characters as the prefix, and stores a hash that is neither', () => {
    const key = generateApiKey();
    expect(prefixOf(key)).toBe(key.slice(0, 11));
    const hash = hashApiKey(key);
    expect(hash).not.toContain(key.slice(7));
    expect(hash).toBe(hashApiKey(key));
    expect(hash).not.toBe(hashApiKey(generateApiKey()));
  });
});

describe('the Authorization header with an API key', () => {
  it('is parsed as an API key on HTTP and in connection_init; a tg_pat_ value of another shape is malformed', () => {
    const key = generateApiKey();
    expect(parseBearer(`Bearer ${key}`)).toEqual({ kind: 'api_key', key });
    expect(parseBearer(`bearer   ${key}  `)).toEqual({ kind: 'api_key', key });
    expect(parseConnectionParams({ Authorization: `Bearer ${key}` })).toEqual({ kind: 'api_key', key });
    expect(parseBearer(`Bearer ${key}0`)).toEqual({ kind: 'malformed' });
    expect(parseBearer('Bearer tg_pat_short')).toEqual({ kind: 'malformed' });
    expect(parseBearer(`Basic ${key}`)).toEqual({ kind: 'malformed' });
    // A checksum is not the transport's business: a wrong one still reaches api-keys/, which refuses it before any lookup.
    expect(parseBearer(`Bearer ${key.slice(0, -6)}000000`).kind).toBe('api_key');
  });
});
