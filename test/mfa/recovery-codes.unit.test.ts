import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RECOVERY_CODE_COUNT, generateRecoveryCodes, hashRecoveryCode, looksLikeRecoveryCode, normalizeRecoveryCode } from '../../src/mfa/recovery-codes.js';

describe('recovery codes', () => {
  it('makes ten distinct codes of 80 bits, in four groups of four base32 characters', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(RECOVERY_CODE_COUNT).toBe(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) {
      expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
      expect(looksLikeRecoveryCode(code)).toBe(true);
    }
  });

  it('spreads its characters over the whole alphabet (not a fixed or short-cycled generator)', () => {
    const chars = new Set(generateRecoveryCodes(200).join('').replace(/-/g, ''));
    expect(chars.size).toBe(32);
  });

  it('ignores case, spaces and hyphens when hashing', () => {
    const [code] = generateRecoveryCodes(1) as [string];
    const hash = hashRecoveryCode(code);
    expect(hashRecoveryCode(code.toUpperCase())).toBe(hash);
    expect(hashRecoveryCode(code.replace(/-/g, ' '))).toBe(hash);
    expect(hashRecoveryCode(normalizeRecoveryCode(code))).toBe(hash);
  });

  it('stores a SHA-256 that is neither the code nor its plain hash, and differs per code', () => {
    const [a, b] = generateRecoveryCodes(2) as [string, string];
    const hash = hashRecoveryCode(a);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    expect(hash).not.toContain(normalizeRecoveryCode(a));
    expect(hash).not.toBe(createHash('sha256').update(a).digest('base64url'));
    expect(hashRecoveryCode(b)).not.toBe(hash);
  });

  it('tells recovery codes from TOTP codes and junk', () => {
    for (const bad of ['123456', '', 'abcd-efgh-ijkl', 'abcd-efgh-ijkl-mnop-q', 'abcd-efgh-ijkl-mn0p', 'abcd-efgh-ijkl-mn1p']) {
      expect(looksLikeRecoveryCode(bad)).toBe(false);
    }
    expect(looksLikeRecoveryCode('ABCD EFGH IJKL MNOP')).toBe(true);
  });
});
