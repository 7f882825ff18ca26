import argon2 from 'argon2';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Argon2Config } from '../config/sections/argon2.section.js';

/** The contract's bounds, counted in Unicode code points after NFKC normalization. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/** Common passwords refused at signup and password change (a short list of the worst offenders). */
const COMMON_PASSWORDS = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', '11111111', '00000000',
  'qwertyui', 'qwerty123', 'qwertyuiop', 'iloveyou', 'abcdefgh', 'abc12345', 'letmein1', 'welcome1',
  'sunshine', 'princess', 'football', 'baseball', 'monkey123', 'dragon123', 'passw0rd', 'p@ssw0rd',
  'admin123', 'administrator', 'changeme', 'trustno1', 'superman', 'starwars', '87654321', 'aaaaaaaa',
]);

/** Normalizes a password the way it is hashed: NFKC, never truncated. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Length in Unicode code points (what the contract counts), not UTF-16 units. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Whether a password is too long to be worth hashing; checked before any hashing, so a 1 MB body costs nothing. */
export function isOverlongPassword(password: string): boolean {
  // Cheap first: UTF-16 length bounds the code-point count from above.
  return password.length > PASSWORD_MAX_LENGTH && codePointLength(password) > PASSWORD_MAX_LENGTH;
}

/**
 * Returns why a new password is refused, or null when it is acceptable.
 * Length is counted in code points of the password as typed (the same count
 * isOverlongPassword uses before hashing), so one password never meets two
 * different limits; NFKC applies to what is hashed and compared.
 */
export function checkNewPassword(password: string, username: string): string | null {
  const normalized = normalizePassword(password);
  const length = codePointLength(password);
  if (length < PASSWORD_MIN_LENGTH) return `Password must be at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Password must be at most ${PASSWORD_MAX_LENGTH} characters.`;
  const lower = normalized.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'This password is too common; choose another.';
  if (lower === username.toLowerCase()) return 'Password must not be the username.';
  return null;
}

/**
 * Argon2id hashing (OWASP's first choice for password storage: memory-hard, so
 * GPU guessing is costly). Parameters come from config; hashes made with older
 * parameters are reported by needsRehash so login can upgrade them.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | null = null;
  /**
   * The hashing queue. Each Argon2 computation holds `memoryCost` KiB (19 MiB
   * by default) until it finishes, so 50 parallel logins would mean about
   * 1 GB; at most `concurrency` run at once and the rest wait in order. A
   * queued login is still answered, later. The libuv pool (4 threads) could
   * not run more at once anyway.
   */
  private readonly queue: LimitFunction;

  constructor(
    private readonly params: Argon2Config,
    concurrency = 2,
  ) {
    this.queue = pLimit(concurrency);
  }

  /** How many hash computations are running and waiting (for tests and metrics). */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.queue.activeCount, waiting: this.queue.pendingCount };
  }

  /** Hashes a (normalized) password with the configured parameters. */
  hash(password: string): Promise<string> {
    return this.queue(() => argon2.hash(normalizePassword(password), { type: argon2.argon2id, ...this.params }));
  }

  /** Verifies a password against a stored hash; false for a malformed hash rather than throwing. */
  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await this.queue(() => argon2.verify(hash, normalizePassword(password)));
    } catch {
      return false;
    }
  }

  /**
   * Burns the same time as a real verification. Used when there is no user to
   * check against, so an unknown username costs what a wrong password costs.
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('tokengate-dummy-password-for-timing');
    await this.verify(await this.dummyHash, password);
    return false;
  }

  /** Whether a stored hash was made with other parameters than today's. */
  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, { ...this.params });
    } catch {
      return true;
    }
  }
}
