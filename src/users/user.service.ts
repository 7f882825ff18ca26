import { randomUUID } from 'node:crypto';
import { insertCredential } from '../credentials/credential.repository.js';
import { checkNewPassword, isOverlongPassword, type PasswordHasher } from '../credentials/password.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../db/database.js';
import { isUniqueViolationOf } from '../db/errors.js';
import { AppError, ErrorCode, badInput } from '../errors.js';
import type { Logger } from '../platform/logger.js';
import * as users from './user.repository.js';
import type { UserChanges } from './user-changes.js';
import { isValidUsername, normalizeRoles, type Role, type User } from './user.js';

/** Dependencies of UserService. */
export interface UserServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly hasher: PasswordHasher;
  /** The session layer's door for writes that change what a user's tokens may do. */
  readonly userChanges: UserChanges;
  readonly logger: Logger;
}

/** One page of users. */
export interface UserPage {
  readonly nodes: readonly User[];
  readonly totalCount: number;
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/** What createUser needs. */
export interface NewUser {
  readonly username: string;
  readonly password: string;
  readonly roles: readonly Role[];
  /** An address already checked by the caller (stored unverified), or none. */
  readonly email?: { readonly email: string; readonly key: string } | null;
}

/** A new user checked and with its password hashed, ready to insert. */
export interface PreparedUser {
  readonly username: string;
  readonly roles: readonly Role[];
  readonly email: { readonly email: string; readonly key: string } | null;
  readonly passwordHash: string;
}

const MAX_PAGE = 100;

/** The contract's error for a unique violation on users (a taken username or address); any other error as it is. */
export function takenOr(error: unknown): unknown {
  if (isUniqueViolationOf(error, 'email_key')) return new AppError(ErrorCode.EMAIL_TAKEN, 'That email address is in use.');
  if (isUniqueViolationOf(error, 'username_key')) return new AppError(ErrorCode.USERNAME_TAKEN, 'That username is taken.');
  return error;
}

/** Users: creation, lookup, listing and roles. */
export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  /**
   * Creates a user after checking the contract's username and password
   * rules, in a transaction of its own (the admin CLI, the bootstrap admin).
   */
  async createUser(input: NewUser): Promise<User> {
    const prepared = await this.prepare(input);
    try {
      const user = await this.deps.db.transaction().execute((trx) => this.insert(trx, prepared));
      this.deps.logger.info({ event: 'user.created', userId: user.id, roles: user.roles }, 'user created');
      return user;
    } catch (error) {
      throw takenOr(error);
    }
  }

  /**
   * Checks a new user against the contract's rules and hashes the password:
   * the slow part, done before any transaction opens. The password is hashed
   * before the username is tried, so a taken name answers no faster than a free one.
   */
  async prepare(input: NewUser): Promise<PreparedUser> {
    if (!isValidUsername(input.username)) {
      throw badInput('username', 'Username must be 3–64 characters of letters, digits, ".", "_" or "-".');
    }
    if (isOverlongPassword(input.password)) throw badInput('password', 'Password must be at most 256 characters.');
    const weakness = checkNewPassword(input.password, input.username);
    if (weakness) throw badInput('password', weakness);
    return { username: input.username, roles: input.roles, email: input.email ?? null, passwordHash: await this.deps.hasher.hash(input.password) };
  }

  /**
   * Inserts a prepared user and its password credential in the caller's
   * transaction (signup opens the first session in the same one). A taken
   * username or address throws the driver's error: map it with `takenOr`
   * once the transaction is over.
   */
  async insert(db: Db, prepared: PreparedUser): Promise<User> {
    const now = this.deps.clock.now();
    const user = await users.insertUser(db, { id: randomUUID(), username: prepared.username, roles: prepared.roles, now, email: prepared.email });
    await insertCredential(db, { id: randomUUID(), userId: user.id, kind: 'password', material: prepared.passwordHash, now });
    return user;
  }

  /** A user by id, or null. */
  getUser(id: string): Promise<User | null> {
    return users.findUserById(this.deps.db, id);
  }

  /** Finds a user by username (compared case-insensitively, as at login). */
  findByUsername(username: string): Promise<User | null> {
    return users.findUserByUsername(this.deps.db, username);
  }

  /** A page of users in signup order. */
  async listUsers(first: number, after: string | null): Promise<UserPage> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw badInput('first', `first must be from 1 to ${MAX_PAGE}.`);
    }
    const cursor = after === null ? null : decodeCursor(after);
    const [page, totalCount] = await Promise.all([
      users.listUsers(this.deps.db, { first, after: cursor }),
      users.countUsers(this.deps.db),
    ]);
    const last = page.users.at(-1);
    return {
      nodes: page.users,
      totalCount,
      endCursor: last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
      hasNextPage: page.hasNextPage,
    };
  }

  /**
   * Replaces a user's roles; the user's existing tokens carry the new rights
   * from their next request. Refuses to remove the last admin, which would
   * leave nobody able to manage roles.
   */
  async setRoles(
    actor: { userId: string | null; sessionId: string | null },
    userId: string,
    roles: readonly Role[],
    meta: { clientAddress: string; requestId: string; userAgent?: string | null },
  ): Promise<User> {
    const wanted = normalizeRoles(roles);
    const by = { actorId: actor.userId, sessionId: actor.sessionId, meta: { clientAddress: meta.clientAddress, userAgent: meta.userAgent ?? null } };
    const updated = await this.deps.userChanges.changeUser(
      userId,
      async (trx, audit) => {
        const current = await users.findUserById(trx, userId);
        if (current === null) throw badInput('userId', 'No user has that id.');
        if (current.roles.includes('ADMIN') && !wanted.includes('ADMIN') && (await users.countAdmins(trx)) <= 1) {
          throw badInput('roles', 'That would remove the last ADMIN.');
        }
        const user = await users.updateRoles(trx, userId, wanted, this.deps.clock.now());
        await audit({ type: 'roles.changed', details: { from: current.roles, to: user?.roles ?? wanted } });
        return { result: user, user };
      },
      by,
    );
    if (updated === null) throw badInput('userId', 'No user has that id.');
    this.deps.logger.info(
      {
        event: 'user.roles_changed',
        userId: actor.userId,
        sessionId: actor.sessionId,
        targetUserId: userId,
        roles: updated.roles,
        clientAddress: meta.clientAddress,
        requestId: meta.requestId,
      },
      'user.roles_changed',
    );
    return updated;
  }
}

function encodeCursor(cursor: users.UserCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): users.UserCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      if (!Number.isNaN(Date.parse(value[0]))) return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through: a cursor we did not make
  }
  throw badInput('after', 'after must be an endCursor returned by users.');
}
