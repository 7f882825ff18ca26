import { randomUUID } from 'node:crypto';
import { findSingleCredential, replaceSingleCredential, touchCredential, updateCredentialMaterial } from '../credentials/credential.repository.js';
import type { PasswordHasher } from '../credentials/password.js';
import type { Db } from '../db/database.js';
import type { Clock } from '../platform/clock.js';
import * as users from '../users/user.repository.js';
import { isValidUsername, type User } from '../users/user.js';
import type { FirstFactorProof } from './factor.js';

/** RFC 8176 `amr` of a password. */
const PWD = ['pwd'] as const;

/**
 * The password as a factor: a `password` row of the credentials table,
 * holding an Argon2id hash. Every check does the same work (one Argon2
 * verification) whether or not the user exists or has a password, so neither
 * the answer nor its timing tells which.
 */
export class PasswordFactor {
  constructor(private readonly deps: { readonly db: Db; readonly clock: Clock; readonly hasher: PasswordHasher }) {}

  /**
   * Proves a username and password. `proof` is null when either is wrong (or
   * the user has no password: social sign-in only); `user` is who the
   * username names, if anyone, for the audit line of a failure.
   */
  async identify(username: string, password: string): Promise<{ readonly user: User | null; readonly proof: FirstFactorProof | null }> {
    const user = isValidUsername(username) ? await users.findUserByUsername(this.deps.db, username) : null;
    const ok = await this.verify(user, password);
    return { user, proof: ok && user ? { user, amr: PWD, multiFactor: false } : null };
  }

  /** Checks a user's password (changePassword's current one); false for a wrong one or none. */
  async verify(user: User | null, password: string): Promise<boolean> {
    const stored = user ? await findSingleCredential(this.deps.db, user.id, 'password') : null;
    if (stored === null) return this.deps.hasher.verifyDummy(password);
    if (!(await this.deps.hasher.verify(stored.material, password))) return false;
    if (this.deps.hasher.needsRehash(stored.material)) {
      // Cost parameters were raised since this hash was made: upgrade it now that we hold the password.
      await updateCredentialMaterial(this.deps.db, stored.id, await this.deps.hasher.hash(password));
    }
    await touchCredential(this.deps.db, stored.id, this.deps.clock.now());
    return true;
  }

  /** Sets a user's password (a new hash replaces the old one) in the caller's transaction. */
  async set(db: Db, userId: string, passwordHash: string): Promise<void> {
    await replaceSingleCredential(db, { id: randomUUID(), userId, kind: 'password', material: passwordHash, now: this.deps.clock.now() });
  }
}
