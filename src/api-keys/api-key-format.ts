import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { hashOpaqueToken } from '../tokens/opaque-token.js';

/*
 * The API key format (docs/guides/api-keys.md, "Format"): `tg_pat_`, 30
 * random base62 characters, then the CRC32 of those 30 characters (as ASCII
 * bytes) written as 6 base62 digits, most significant first, left-padded
 * with `0`. The alphabet is 0-9, A-Z, a-z in that order (digit value 0..61),
 * so a secret scanner can recognise a key and recompute its checksum without
 * asking us. Pure: no clock, no storage.
 */

/** Every key starts with this. */
export const API_KEY_PREFIX = 'tg_pat_';
/** The base62 alphabet, in digit order: `0`=0 … `9`=9, `A`=10 … `Z`=35, `a`=36 … `z`=61. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;
/** How many random characters the stored, shown `prefix` keeps (with `tg_pat_`). */
const SHOWN_RANDOM = 4;
const KEY_PATTERN = /^tg_pat_([0-9A-Za-z]{30})([0-9A-Za-z]{6})$/;
/** 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely (no modulo bias). */
const UNBIASED_LIMIT = 248;
/** Domain of the stored hash: an API key's hash never equals another kind of token's. */
const HASH_DOMAIN = 'api_key:';

/** The CRC32 of `body` (its ASCII bytes) as 6 base62 digits (62^6 > 2^32, so every value fits). */
export function checksumOf(body: string): string {
  let value = crc32(Buffer.from(body, 'latin1'));
  let digits = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    digits = BASE62_ALPHABET[value % 62]! + digits;
    value = Math.floor(value / 62);
  }
  return digits;
}

/** `count` uniformly random base62 characters from the system CSPRNG (30 of them: about 178 bits). */
function randomBase62(count: number): string {
  let out = '';
  while (out.length < count) {
    for (const byte of randomBytes(count * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += BASE62_ALPHABET[byte % 62]!;
      if (out.length === count) break;
    }
  }
  return out;
}

/** A new key, as shown once to its owner. */
export function generateApiKey(): string {
  const body = randomBase62(RANDOM_LENGTH);
  return `${API_KEY_PREFIX}${body}${checksumOf(body)}`;
}

/**
 * Whether `key` has the shape and a correct checksum. Checked before any
 * database or Redis read: a typo or a made-up key costs nothing but this.
 */
export function isWellFormedApiKey(key: string): boolean {
  const match = KEY_PATTERN.exec(key);
  return match !== null && checksumOf(match[1]!) === match[2];
}

/** Whether a bearer value is meant as an API key (its prefix), well formed or not. */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/** The part of a key that is stored and shown: `tg_pat_` and the first 4 random characters. */
export function prefixOf(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + SHOWN_RANDOM);
}

/**
 * The stored form of a key: SHA-256 (under its own domain), as for every
 * opaque token: the key is ~178 random bits, so there is nothing to
 * brute-force and a slow hash would only slow every request.
 */
export function hashApiKey(key: string): string {
  return hashOpaqueToken(key, HASH_DOMAIN);
}
