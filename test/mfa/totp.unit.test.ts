import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  acceptTotpCode,
  generateTotpCode,
  generateTotpSecret,
  looksLikeTotpCode,
  matchTotpStep,
  totpStep,
  totpUrl,
} from '../../src/mfa/totp.js';

/** RFC 6238 Appendix B, SHA-1 rows: the ASCII secret "12345678901234567890", 8-digit codes. */
const RFC_SECRET_ASCII = '12345678901234567890';
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // the same 20 bytes, base32
const RFC_VECTORS: Array<[seconds: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP against RFC 6238', () => {
  it('otpauth computes every SHA-1 vector of Appendix B (8 digits)', () => {
    const secret = Secret.fromLatin1(RFC_SECRET_ASCII);
    expect(secret.base32).toBe(RFC_SECRET);
    for (const [seconds, code] of RFC_VECTORS) {
      expect(TOTP.generate({ secret, algorithm: 'SHA1', digits: 8, period: 30, timestamp: seconds * 1000 })).toBe(code);
    }
  });

  it('our 6-digit codes are the vectors truncated to 6 digits (mod 10^6), and match back to their step', () => {
    for (const [seconds, code] of RFC_VECTORS) {
      const six = code.slice(-6);
      expect(generateTotpCode(RFC_SECRET, seconds * 1000)).toBe(six);
      expect(matchTotpStep(RFC_SECRET, six, seconds * 1000)).toBe(Math.floor(seconds / 30));
    }
  });

  it('counts steps of 30 seconds from the Unix epoch', () => {
    expect(totpStep(0)).toBe(0);
    expect(totpStep(29_999)).toBe(0);
    expect(totpStep(30_000)).toBe(1);
    expect(totpStep(59_000)).toBe(1);
  });
});

describe('skew', () => {
  const t = 1_111_111_111_000; // inside step 37037037
  const step = totpStep(t);
  const codeAt = (s: number) => generateTotpCode(RFC_SECRET, s * 30_000);

  it('accepts the codes of the step before and after, and says which step matched', () => {
    expect(matchTotpStep(RFC_SECRET, codeAt(step), t)).toBe(step);
    expect(matchTotpStep(RFC_SECRET, codeAt(step - 1), t)).toBe(step - 1);
    expect(matchTotpStep(RFC_SECRET, codeAt(step + 1), t)).toBe(step + 1);
  });

  it('refuses codes two steps away either way', () => {
    expect(matchTotpStep(RFC_SECRET, codeAt(step - 2), t)).toBeNull();
    expect(matchTotpStep(RFC_SECRET, codeAt(step + 2), t)).toBeNull();
  });

  it('refuses what is not six digits, and tolerates the space people type', () => {
    const code = codeAt(step);
    expect(matchTotpStep(RFC_SECRET, `${code.slice(0, 3)} ${code.slice(3)}`, t)).toBe(step);
    for (const bad of ['', '12345', '1234567', 'abcdef', `${code}0`, code.slice(1)]) expect(matchTotpStep(RFC_SECRET, bad, t)).toBeNull();
    expect(looksLikeTotpCode('123 456')).toBe(true);
    expect(looksLikeTotpCode('abcd-efgh-ijkl-mnop')).toBe(false);
  });

  it('refuses a right code for another secret', () => {
    expect(matchTotpStep(generateTotpSecret(), codeAt(step), t)).toBeNull();
  });
});

describe('replay rule', () => {
  const t = 1_234_567_890_000;
  const step = totpStep(t);
  const code = generateTotpCode(RFC_SECRET, t);

  it('accepts a code once: not again for the step it was used in', () => {
    expect(acceptTotpCode(RFC_SECRET, code, t, null)).toBe(step);
    expect(acceptTotpCode(RFC_SECRET, code, t, step)).toBeNull();
    // Still refused 30 s later, while the skew window still covers it.
    expect(acceptTotpCode(RFC_SECRET, code, t + 30_000, step)).toBeNull();
  });

  it('refuses an older code after a newer one was used', () => {
    const older = generateTotpCode(RFC_SECRET, t - 30_000);
    expect(acceptTotpCode(RFC_SECRET, older, t, step)).toBeNull();
    expect(acceptTotpCode(RFC_SECRET, older, t, step - 2)).toBe(step - 1);
  });

  it('accepts the next step after one was used', () => {
    expect(acceptTotpCode(RFC_SECRET, generateTotpCode(RFC_SECRET, t + 30_000), t + 30_000, step)).toBe(step + 1);
  });
});

describe('enrollment', () => {
  it('makes 160-bit base32 secrets, a new one each time', () => {
    const a = generateTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(generateTotpSecret()).not.toBe(a);
  });

  it('writes the otpauth URL the contract gives, which otpauth parses back', () => {
    const url = totpUrl({ issuer: 'tokengate', username: 'alice.b', secret: RFC_SECRET });
    expect(url).toMatch(/^otpauth:\/\/totp\/tokengate:alice\.b\?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=tokengate(&|$)/);
    const parsed = new URL(url);
    expect(parsed.searchParams.get('algorithm')).toBe('SHA1');
    expect(parsed.searchParams.get('digits')).toBe('6');
    expect(parsed.searchParams.get('period')).toBe('30');
  });

  it('escapes an issuer with spaces', () => {
    expect(totpUrl({ issuer: 'Acme Corp', username: 'bob', secret: RFC_SECRET })).toMatch(/^otpauth:\/\/totp\/Acme%20Corp:bob\?secret=.+&issuer=Acme%20Corp/);
  });
});
