import { describe, it, expect } from 'vitest';
import {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  PasswordHasher,
  checkNewPassword,
  codePointLength,
  isOverlongPassword,
  normalizePassword,
} from '../../src/credentials/password.js';

/** Cheap Argon2id parameters: the lowest memory the config allows, one pass. */
const CHEAP = { memoryCost: 8192, timeCost: 1, parallelism: 1 } as const;
const LOCK = '\u{1F510}'; // 🔐, one code point, two UTF-16 units
const FULLWIDTH_PASSWORD123 = '\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13'; // ｐａｓｓｗｏｒｄ１２３

/** A password of exactly `n` code points with no pattern a deny-list would catch. */
const passwordOf = (n: number): string => Array.from({ length: n }, (_, i) => 'Xk7#qR2!mZ'[i % 10]).join('');

describe('checkNewPassword', () => {
  it('declares the contract bounds', () => {
    expect(PASSWORD_MIN_LENGTH).toBe(8);
    expect(PASSWORD_MAX_LENGTH).toBe(256);
  });

  it.each([
    ['7 characters', passwordOf(7), /at least 8/],
    ['an empty password', '', /at least 8/],
    ['257 characters', passwordOf(257), /at most 256/],
    ['7 emoji (14 UTF-16 units)', LOCK.repeat(7), /at least 8/],
    ['257 emoji', LOCK.repeat(257), /at most 256/],
  ])('refuses %s', (_label, password, message) => {
    expect(checkNewPassword(password, 'alice')).toMatch(message);
  });

  it.each([
    ['exactly 8 characters', passwordOf(8)],
    ['exactly 256 characters', passwordOf(256)],
    ['8 emoji (16 UTF-16 units)', LOCK.repeat(8)],
    ['256 emoji (512 UTF-16 units)', LOCK.repeat(256)],
    ['a passphrase with spaces', 'correct horse battery staple'],
  ])('accepts %s', (_label, password) => {
    expect(checkNewPassword(password, 'alice')).toBeNull();
  });

  it.each(['password', 'PASSWORD', 'Password123', 'pAsSw0Rd', '12345678', 'Changeme', 'TrustNo1'])(
    'refuses the common password %j, whatever its case',
    (password) => {
      expect(checkNewPassword(password, 'alice')).toMatch(/too common/);
    },
  );

  it('normalizes with NFKC before checking: fullwidth "ｐａｓｓｗｏｒｄ１２３" is the common "password123"', () => {
    expect(checkNewPassword(FULLWIDTH_PASSWORD123, 'alice')).toMatch(/too common/);
  });

  it('accepts a fullwidth password that is not common', () => {
    expect(checkNewPassword('\uff38\uff4b\uff17\uff03\uff51\uff32\uff12\uff01', 'alice')).toBeNull(); // Ｘｋ７＃ｑＲ２！
  });

  it('refuses a password equal to the username, case-insensitively', () => {
    expect(checkNewPassword('alice.smith', 'alice.smith')).toMatch(/username/);
    expect(checkNewPassword('ALICE.SMITH', 'Alice.Smith')).toMatch(/username/);
  });

  it('accepts a password that merely contains the username', () => {
    expect(checkNewPassword('alice.smith-Xk7#', 'alice.smith')).toBeNull();
  });
});

describe('isOverlongPassword', () => {
  it('is true for a 1 MB string', () => {
    expect(isOverlongPassword('a'.repeat(1024 * 1024))).toBe(true);
  });

  it.each([
    ['256 ASCII characters', 'a'.repeat(256), false],
    ['257 ASCII characters', 'a'.repeat(257), true],
    ['256 astral code points (512 UTF-16 units)', LOCK.repeat(256), false],
    ['257 astral code points', LOCK.repeat(257), true],
    ['an empty string', '', false],
  ])('is %s → %s', (_label, password, expected) => {
    expect(isOverlongPassword(password)).toBe(expected);
  });
});

describe('codePointLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    [LOCK, 1],
    [LOCK.repeat(8), 8],
    ['e\u0301', 2], // e + combining acute: two code points
    ['\ud83d', 1], // a lone surrogate still counts once
  ])('counts %j as %i', (text, expected) => {
    expect(codePointLength(text)).toBe(expected);
  });
});

describe('normalizePassword', () => {
  it.each([
    [FULLWIDTH_PASSWORD123, 'password123'],
    ['\ufb01le', 'file'], // ﬁ ligature
    ['e\u0301', '\u00e9'], // composed
    ['\u212b', '\u00c5'], // ANGSTROM SIGN → Å
  ])('maps %j to %j (NFKC)', (input, expected) => {
    expect(normalizePassword(input)).toBe(expected);
  });

  it('keeps case, spaces and length: it never truncates', () => {
    expect(normalizePassword('  Pass Word  ')).toBe('  Pass Word  ');
    const long = passwordOf(10_000);
    expect(normalizePassword(long)).toBe(long);
  });
});

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher(CHEAP);

  it('hashes with argon2id and the configured parameters, never storing the password', async () => {
    const hash = await hasher.hash('Xk7#qR2!mZ');
    const [, algorithm, , params] = hash.split('$');
    expect(algorithm).toBe('argon2id');
    expect(Object.fromEntries(params!.split(',').map((kv) => kv.split('=')))).toEqual({ m: '8192', t: '1', p: '1' });
    expect(hash).not.toContain('Xk7#qR2!mZ');
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hasher.hash('Xk7#qR2!mZ');
    expect(await hasher.verify(hash, 'Xk7#qR2!mZ')).toBe(true);
    expect(await hasher.verify(hash, 'Xk7#qR2!mz')).toBe(false);
    expect(await hasher.verify(hash, 'Xk7#qR2!mZ ')).toBe(false);
  });

  it('salts: two hashes of one password differ and both verify', async () => {
    const [a, b] = await Promise.all([hasher.hash('Xk7#qR2!mZ'), hasher.hash('Xk7#qR2!mZ')]);
    expect(a).not.toBe(b);
    expect(await hasher.verify(b, 'Xk7#qR2!mZ')).toBe(true);
  });

  it('verifies NFKC-equivalent input both ways', async () => {
    const fromFullwidth = await hasher.hash(FULLWIDTH_PASSWORD123);
    expect(await hasher.verify(fromFullwidth, 'password123')).toBe(true);
    const fromAscii = await hasher.hash('password123');
    expect(await hasher.verify(fromAscii, FULLWIDTH_PASSWORD123)).toBe(true);
  });

  it('hashes the whole password: a 256-character password differs from its 255-character prefix', async () => {
    const long = passwordOf(256);
    const hash = await hasher.hash(long);
    expect(await hasher.verify(hash, long)).toBe(true);
    expect(await hasher.verify(hash, long.slice(0, 255))).toBe(false);
  });

  it.each(['', 'not-a-hash', '$argon2id$v=19$m=8192,t=1,p=1$broken', '$2b$10$abcdefghijklmnopqrstuuJ3Xo8l5lPJ0o0QwYgD8s1K6vI3vE9W'])(
    'returns false for the malformed hash %j instead of throwing',
    async (hash) => {
      await expect(hasher.verify(hash, 'Xk7#qR2!mZ')).resolves.toBe(false);
    },
  );

  it('reports needsRehash for hashes made with other parameters only', async () => {
    const stronger = new PasswordHasher({ ...CHEAP, timeCost: 2 });
    const cheapHash = await hasher.hash('Xk7#qR2!mZ');
    const strongerHash = await stronger.hash('Xk7#qR2!mZ');
    expect(hasher.needsRehash(cheapHash)).toBe(false);
    expect(stronger.needsRehash(cheapHash)).toBe(true);
    expect(stronger.needsRehash(strongerHash)).toBe(false);
    expect(hasher.needsRehash(strongerHash)).toBe(true);
  });

  it('hashes at most `concurrency` at once: 50 parallel verifications queue, and every one is answered', async () => {
    const queued = new PasswordHasher(CHEAP, 2);
    const hash = await queued.hash('Xk7#qR2!mZ');
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, queued.load.running)), 0);
    const answers = Promise.all(Array.from({ length: 50 }, (_, i) => queued.verify(hash, i % 2 === 0 ? 'Xk7#qR2!mZ' : 'wrong')));
    expect(queued.load).toEqual({ running: 2, waiting: 48 });
    const results = await answers;
    clearInterval(watch);
    expect(results.filter(Boolean)).toHaveLength(25);
    expect(peak).toBeLessThanOrEqual(2);
    expect(queued.load).toEqual({ running: 0, waiting: 0 });
  });

  it('verifyDummy resolves false, even for the dummy password itself', async () => {
    await expect(hasher.verifyDummy('Xk7#qR2!mZ')).resolves.toBe(false);
    await expect(hasher.verifyDummy('tokengate-dummy-password-for-timing')).resolves.toBe(false);
  });
});

describe('one length rule for every check', () => {
  it('counts code points as typed, before NFKC, in checkNewPassword and isOverlongPassword alike', () => {
    // U+337B expands to four characters under NFKC; typed, it is one.
    expect(checkNewPassword('\u337b'.repeat(4), 'alice')).toMatch(/at least 8/);
    // 300 code points as typed (e + combining accent), 150 after NFKC: over the limit for both checks.
    const composedLater = 'e\u0301'.repeat(150);
    expect(isOverlongPassword(composedLater)).toBe(true);
    expect(checkNewPassword(composedLater, 'alice')).toMatch(/at most 256/);
  });
});
