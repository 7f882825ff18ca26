import { randomUUID } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../db/database.js';
import { AppError, ErrorCode, INVALID_CREDENTIALS_MESSAGE, badInput } from '../errors.js';
import type { Logger } from '../platform/logger.js';
import { noAuthMetrics, type AuthMetrics } from '../platform/metrics.js';
import type { RequestMeta } from '../platform/request-meta.js';
import * as users from '../users/user.repository.js';
import type { UserService } from '../users/user.service.js';
import { isValidUsername, type User } from '../users/user.js';
import type { AccessTokens } from '../tokens/access-token.js';
import type { AuthRateLimits } from './rate-limits.js';
import type { EmailService } from './email.service.js';
import type { Viewer } from './viewer.js';
import { checkNewPassword, isOverlongPassword, type PasswordHasher } from '../credentials/password.js';
import { csrfTokenFor, sameCsrfToken } from '../tokens/csrf-token.js';
import { deriveRefreshToken, generateRefreshToken, hashRefreshToken, isWellFormedRefreshToken, sameHash } from '../tokens/refresh-token.js';
import * as sessions from '../sessions/session.repository.js';
import type { FastRotations } from '../sessions/refresh-rotation.repository.js';
import type { SessionService } from '../sessions/session.service.js';
import { isSessionActive, type Session } from '../sessions/session.js';
import { MFA_TOKEN_MAX_FAILURES, MFA_TOKEN_TTL_SECONDS, generateMfaToken, hashMfaToken, isWellFormedMfaToken } from '../tokens/mfa-token.js';
import * as mfaTokens from './mfa-token.repository.js';
import type { SecondFactor, TotpService } from './totp.service.js';

/** A new token pair, as the `AuthPayload` type answers it. */
export interface AuthResult {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
  readonly user: User;
  /** The session the pair belongs to, and when it ends (ms): what the cookie transport needs. */
  readonly sessionId: string;
  readonly sessionExpiresAt: number;
}

/** What a cookie refresh presents (../shared/API.md, "Cookie transport for browsers"). */
export interface CookieCredential {
  /** The tg_refresh cookie. */
  readonly refreshToken: string | undefined;
  /** The tg_csrf cookie and the X-CSRF-Token header: both must be present and equal. */
  readonly csrfCookie: string | undefined;
  readonly csrfHeader: string | undefined;
}

/** Dependencies of AuthService. */
export interface AuthServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly hasher: PasswordHasher;
  readonly accessTokens: AccessTokens;
  /** HMAC key for deriving each rotated refresh token from the previous one. */
  readonly refreshChainKey: Buffer;
  /** HMAC key of the cookie mode's CSRF tokens (tokens/csrf-token.ts). */
  readonly csrfKey: Buffer;
  /** The door every session-ending write goes through. */
  readonly sessions: SessionService;
  readonly rateLimits: AuthRateLimits;
  readonly userService: UserService;
  /** Addresses and their verification links (signup writes the first one). */
  readonly email: EmailService;
  /** Second factors: whether a user has TOTP on, and checking a code. */
  readonly totp: TotpService;
  readonly logger: Logger;
  readonly refreshTokenTtl: number;
  readonly refreshReuseGrace: number;
  /**
   * The common case of a refresh in one step (SQLite: prepared statements,
   * rotations of one event-loop turn sharing a commit; PostgreSQL: one
   * statement); absent or null, every refresh takes the general path.
   */
  readonly fastRotations?: FastRotations | null;
  /** Where login and refresh outcomes are counted (Prometheus in the server); counts nothing when absent. */
  readonly metrics?: AuthMetrics;
}

const USER_AGENT_MAX = 512;
const INVALID_REFRESH_MESSAGE = 'The refresh token is not valid; sign in again.';
const INVALID_MFA_MESSAGE = 'The code is not valid, or this sign-in has expired; codes work once, for 30 seconds.';
/** RFC 8176 `amr` of a password sign-in. */
const PASSWORD_ONLY = ['pwd'] as const;

/** Signing in and out, refresh rotation, sessions and password changes. */
export class AuthService {
  private readonly metrics: AuthMetrics;

  constructor(private readonly deps: AuthServiceDeps) {
    this.metrics = deps.metrics ?? noAuthMetrics;
  }

  /**
   * Creates an account and signs it in with a fresh pair. With an address,
   * its verification link and mail are written in the same transaction.
   */
  async signup(username: string, password: string, meta: RequestMeta, email: string | null = null): Promise<AuthResult> {
    await this.deps.rateLimits.chargeSignup(meta);
    const address = email === null ? null : this.deps.email.parseEmail(email);
    const now = this.deps.clock.now();
    const refreshToken = generateRefreshToken();
    const mail = address !== null && (await this.deps.email.mayMail(address));
    // The user, its first session and its first link commit together: a crash
    // between the writes must not leave an account that a retried signup calls taken.
    const { user, result: session } = await this.deps.userService.createUserWith({ username, password, roles: ['USER'], email: address }, async (trx, created) => {
      const started = await this.insertSession(trx, created, meta, refreshToken, now, PASSWORD_ONLY);
      if (mail && address) await this.deps.email.queueVerification(trx, created, address, now);
      return started;
    });
    this.deps.email.afterQueue(mail);
    this.deps.sessions.sessionStarted(session);
    this.audit('auth.signup', meta, { userId: user.id, sessionId: session.id, email: address !== null, mailQueued: mail });
    return this.issue(user, session.id, refreshToken, true, now, session.amr);
  }

  /**
   * Checks a username and password and opens a session. Every failure gives
   * the same error after the same work (one Argon2 verification), so neither
   * the answer nor its timing tells whether the username exists.
   */
  async login(username: string, password: string, meta: RequestMeta): Promise<AuthResult> {
    // Refused before hashing: an attacker must not make us hash a megabyte.
    if (isOverlongPassword(password)) {
      this.metrics.login('failure'); // no stored password is that long: a wrong one
      throw badInput('password', 'Password must be at most 256 characters.');
    }
    // Charged before hashing; a lock refuses even the right password.
    let attempt;
    try {
      attempt = await this.deps.rateLimits.beginLogin(username, meta);
    } catch (error) {
      if (error instanceof AppError && error.code === ErrorCode.RATE_LIMITED) this.metrics.login('locked');
      throw error;
    }
    let found: users.UserWithHash | null;
    let ok: boolean;
    try {
      found = isValidUsername(username) ? await users.findUserWithHashByUsername(this.deps.db, username) : null;
      ok = found ? await this.deps.hasher.verify(found.passwordHash, password) : await this.deps.hasher.verifyDummy(password);
    } catch (error) {
      await attempt.abandoned();
      throw error;
    }
    if (!found || !ok) {
      await attempt.failed();
      this.metrics.login('failure');
      this.audit('auth.login_failed', meta, { userId: found?.user.id ?? null });
      throw new AppError(ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE);
    }
    if (this.deps.hasher.needsRehash(found.passwordHash)) {
      // Cost parameters were raised since this hash was made: upgrade it now that we hold the password.
      await users.updatePasswordHash(this.deps.db, found.user.id, await this.deps.hasher.hash(password), this.deps.clock.now());
    }
    let mfaEnabled: boolean;
    try {
      mfaEnabled = await this.deps.totp.isEnabled(found.user.id);
    } catch (error) {
      await attempt.abandoned();
      throw error;
    }
    if (mfaEnabled) {
      // Neither a success nor a failure yet: the pair's earlier failures stay
      // counted (a right password must not reset the budget for guessing
      // codes), and verifyMfa charges each code like a password.
      await attempt.deferred();
      const mfaToken = generateMfaToken();
      const now = this.deps.clock.now();
      await mfaTokens.insertMfaToken(this.deps.db, { hash: hashMfaToken(mfaToken), userId: found.user.id, now, expiresAt: now + MFA_TOKEN_TTL_SECONDS * 1000 });
      this.metrics.login('mfa_required');
      this.audit('auth.mfa_required', meta, { userId: found.user.id });
      throw new AppError(ErrorCode.MFA_REQUIRED, 'Two-factor authentication is on: send verifyMfa with the mfaToken and a code.', { mfaToken });
    }
    await attempt.succeeded();
    const { auth, sessionId } = await this.startSession(found.user, meta, PASSWORD_ONLY);
    this.metrics.login('success');
    this.audit('auth.login', meta, { userId: found.user.id, sessionId });
    return auth;
  }

  /**
   * The second step of a login for a user with TOTP on: the mfaToken from
   * MFA_REQUIRED and a current TOTP code or an unused recovery code. Answers
   * the fresh pair of a new session. Every wrong code spends the login
   * budgets; the token dies after five, after five minutes, or once used.
   */
  async verifyMfa(mfaToken: string, code: string, meta: RequestMeta): Promise<AuthResult> {
    if (!isWellFormedMfaToken(mfaToken)) throw invalidMfaCode();
    const hash = hashMfaToken(mfaToken);
    const stored = await mfaTokens.findMfaToken(this.deps.db, hash);
    const now = this.deps.clock.now();
    if (stored === null || stored.usedAt !== null || stored.failures >= MFA_TOKEN_MAX_FAILURES || stored.expiresAt.getTime() <= now) throw invalidMfaCode();
    const user = await users.findUserById(this.deps.db, stored.userId);
    if (user === null) throw invalidMfaCode();
    // Charged before the code is checked, like a password: a lock refuses even the right code.
    const attempt = await this.deps.rateLimits.beginLogin(user.username, meta);
    const refreshToken = generateRefreshToken();
    let outcome: { kind: 'dead' } | { kind: 'wrong' } | { kind: 'ok'; session: Session; method: SecondFactor };
    try {
      outcome = await this.deps.db.transaction().execute(async (trx) => {
        // The try is counted before the check, and (on PostgreSQL) the row stays
        // locked until commit: parallel guesses on one token are serialized and bounded.
        if (!(await mfaTokens.claimMfaAttempt(trx, hash, now, MFA_TOKEN_MAX_FAILURES))) return { kind: 'dead' as const };
        const method = await this.deps.totp.checkSecondFactor(trx, user.id, code, now);
        if (method === null) return { kind: 'wrong' as const };
        if (!(await mfaTokens.completeMfaToken(trx, hash, now))) throw new Error('mfaToken changed during verification');
        const session = await this.insertSession(trx, user, meta, refreshToken, now, ['pwd', method]);
        return { kind: 'ok' as const, session, method };
      });
    } catch (error) {
      await attempt.abandoned();
      throw error;
    }
    if (outcome.kind === 'dead') {
      await attempt.abandoned();
      throw invalidMfaCode();
    }
    if (outcome.kind === 'wrong') {
      await attempt.failed();
      this.metrics.login('failure');
      this.audit('auth.mfa_failed', meta, { userId: user.id });
      throw invalidMfaCode();
    }
    await attempt.succeeded();
    this.metrics.login('success'); // the login that answered mfa_required, now complete
    this.deps.sessions.sessionStarted(outcome.session);
    this.audit('auth.login', meta, { userId: user.id, sessionId: outcome.session.id, method: outcome.method });
    return this.issue(user, outcome.session.id, refreshToken, true, now, outcome.session.amr);
  }

  /**
   * Trades a refresh token for a new pair (see ../shared/API.md, "Tokens").
   * The live token rotates; an already-used one inside the grace window gets
   * the session's current pair; outside it, reuse means theft and ends the
   * session. The theft revocation is committed even though the call fails.
   */
  async refresh(token: string, meta: RequestMeta): Promise<AuthResult> {
    // Charged before the token is looked at: a refused call does not use it up.
    await this.deps.rateLimits.chargeRefresh(meta);
    return this.refreshCharged(token, null, meta);
  }

  /**
   * A refresh with the tg_refresh cookie (`refreshToken` without argument).
   * The X-CSRF-Token header must equal the tg_csrf cookie, and that value
   * must be the CSRF token of the refresh token's session; else FORBIDDEN
   * (reason CSRF), decided before anything is written, so nothing is used up.
   * A cross-site page can make the browser send the cookie, but cannot read
   * tg_csrf to echo it. `null`: cookie mode is off.
   */
  async refreshWithCookie(credential: CookieCredential | null, meta: RequestMeta): Promise<AuthResult> {
    if (credential === null) throw badInput('refreshToken', 'refreshToken is required: this server does not keep refresh tokens in cookies.');
    await this.deps.rateLimits.chargeRefresh(meta);
    const { csrfCookie, csrfHeader, refreshToken } = credential;
    if (csrfCookie === undefined || csrfHeader === undefined || !sameCsrfToken(csrfCookie, csrfHeader)) throw csrfRefused();
    if (refreshToken === undefined) throw this.invalidRefresh();
    return this.refreshCharged(refreshToken, csrfHeader, meta);
  }

  private async refreshCharged(token: string, csrf: string | null, meta: RequestMeta): Promise<AuthResult> {
    if (!isWellFormedRefreshToken(token)) throw this.invalidRefresh();
    const now = this.deps.clock.now();
    const hash = hashRefreshToken(token);
    const outcome = (await this.rotateFast(token, hash, now, csrf)) ?? (await this.deps.db.transaction().execute((trx) => this.rotate(trx, token, hash, now, csrf)));
    if (outcome.kind === 'csrf') throw csrfRefused();
    if (outcome.kind === 'reused') {
      const { session } = outcome;
      // Theft: ends the session through the door even when Redis cannot be
      // told first (while it is unreachable every instance checks sessions
      // in the database), and commits although this call fails.
      await this.deps.sessions.change(
        session.userId,
        async () => {
          const ended = await sessions.endSessionById(this.deps.db, session.id, 'refresh_reuse', this.deps.clock.now());
          return { result: ended, change: { ended: { sessionIds: ended ? [session.id] : [], reason: 'refresh_reuse' } } };
        },
        { unannounced: 'proceed' },
      );
      this.metrics.refresh('reused');
      this.audit('auth.refresh_reuse', meta, { userId: outcome.session.userId, sessionId: outcome.session.id }, 'warn');
      throw invalidRefresh();
    }
    if (outcome.kind === 'invalid') throw this.invalidRefresh();
    const user = await this.deps.sessions.checkSession(outcome.session.id, outcome.session.userId);
    if (!user.active) throw this.invalidRefresh();
    this.metrics.refresh(outcome.kind);
    // The session's methods travel on: a refresh keeps `amr`, and is never fresh.
    return this.issue(user.user, outcome.session.id, outcome.refreshToken, false, now, outcome.session.amr, outcome.expiresAt);
  }

  private invalidRefresh(): AppError {
    this.metrics.refresh('invalid');
    return invalidRefresh();
  }

  /**
   * The live token of an open session rotates in one step; null when that is
   * not the case (or there is no fast path), and the general path decides.
   * With a CSRF value, a session it does not belong to is left alone here, so
   * the general path refuses it before anything is written.
   */
  private async rotateFast(token: string, hash: string, now: number, csrf: string | null): Promise<RotateOutcome | null> {
    const fast = this.deps.fastRotations;
    if (!fast) return null;
    const next = deriveRefreshToken(this.deps.refreshChainKey, token);
    const expiresAt = now + this.deps.refreshTokenTtl * 1000;
    const belongs = csrf === null ? undefined : (sessionId: string) => sameCsrfToken(csrf, csrfTokenFor(this.deps.csrfKey, sessionId));
    const session = await fast.rotate({ hash, nextHash: hashRefreshToken(next), now, expiresAt, belongs });
    return session === null ? null : { kind: 'rotated', session, refreshToken: next, expiresAt };
  }

  private async rotate(trx: Db, token: string, hash: string, now: number, csrf: string | null): Promise<RotateOutcome> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const stored = await sessions.findRefreshToken(trx, hash);
      if (stored === null) return { kind: 'invalid' };
      const session = await sessions.findSessionById(trx, stored.sessionId);
      if (session === null || !isSessionActive(session, now)) return { kind: 'invalid' };
      // Before any write (and before theft detection): a refused CSRF check uses nothing up and ends nothing.
      if (csrf !== null && !sameCsrfToken(csrf, csrfTokenFor(this.deps.csrfKey, session.id))) return { kind: 'csrf' };

      if (stored.usedAt === null && stored.generation === session.refreshGeneration) {
        const next = deriveRefreshToken(this.deps.refreshChainKey, token);
        const advanced = await sessions.advanceRefreshGeneration(trx, {
          id: session.id,
          fromGeneration: session.refreshGeneration,
          now,
          expiresAt: now + this.deps.refreshTokenTtl * 1000,
        });
        if (!advanced) continue; // a parallel refresh won; read again and take the grace path
        await sessions.markRefreshTokenUsed(trx, hash, now);
        await sessions.insertRefreshToken(trx, { hash: hashRefreshToken(next), sessionId: session.id, generation: session.refreshGeneration + 1, now });
        return { kind: 'rotated', session, refreshToken: next, expiresAt: now + this.deps.refreshTokenTtl * 1000 };
      }

      const usedAt = stored.usedAt?.getTime() ?? now;
      if (now - usedAt <= this.deps.refreshReuseGrace * 1000 && stored.generation < session.refreshGeneration) {
        // A racer (another tab) inside the grace window: hand it the session's
        // current token, derived from the one it holds, so it joins the one
        // live chain instead of starting a second.
        const current = deriveRefreshToken(this.deps.refreshChainKey, token, session.refreshGeneration - stored.generation);
        const live = await sessions.findRefreshTokenByGeneration(trx, session.id, session.refreshGeneration);
        if (live === null || live.usedAt !== null || !sameHash(live.hash, hashRefreshToken(current))) return { kind: 'invalid' };
        return { kind: 'grace', session, refreshToken: current, expiresAt: session.expiresAt.getTime() };
      }

      // Theft. The session is ended by the caller, through the door, once this transaction is over.
      return { kind: 'reused', session };
    }
    return { kind: 'invalid' };
  }

  /** Ends the caller's current session. */
  async logout(viewer: Viewer, meta: RequestMeta): Promise<boolean> {
    const ended = await this.deps.sessions.endSessions(viewer.user.id, { sessionId: viewer.sessionId }, 'logout');
    this.audit('auth.logout', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
    return ended.length > 0;
  }

  /** Ends every session of the caller, the current one included; returns how many. */
  async logoutAll(viewer: Viewer, meta: RequestMeta): Promise<number> {
    const ended = await this.deps.sessions.endSessions(viewer.user.id, {}, 'logout_all');
    this.audit('auth.logout_all', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, count: ended.length });
    return ended.length;
  }

  /** Ends one of the caller's sessions; false for an unknown, ended or foreign id alike. */
  async revokeSession(viewer: Viewer, sessionId: string, meta: RequestMeta): Promise<boolean> {
    const ended = await this.deps.sessions.endSessions(viewer.user.id, { sessionId }, 'revoked');
    if (ended.length > 0) this.audit('auth.session_revoked', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, revokedSessionId: sessionId });
    return ended.length > 0;
  }

  /** The caller's open sessions, newest first. */
  listSessions(viewer: Viewer): Promise<Session[]> {
    return sessions.listActiveSessions(this.deps.db, viewer.user.id, this.deps.clock.now());
  }

  /**
   * Changes the caller's password (the permission layer has already required a
   * fresh token). Ends every other session of the caller; the calling session
   * stays signed in with a new fresh pair, and its old refresh token stops working.
   */
  async changePassword(viewer: Viewer, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<AuthResult> {
    if (isOverlongPassword(currentPassword)) throw badInput('currentPassword', 'Password must be at most 256 characters.');
    const found = await users.findUserWithHashById(this.deps.db, viewer.user.id);
    if (found === null) throw new AppError(ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE);
    // Guessing the current password with a stolen fresh token is brute force
    // like any other: it spends the same budget as login for this user and address.
    const attempt = await this.deps.rateLimits.beginLogin(found.user.username, meta);
    let ok: boolean;
    try {
      ok = await this.deps.hasher.verify(found.passwordHash, currentPassword);
    } catch (error) {
      await attempt.abandoned();
      throw error;
    }
    if (!ok) {
      await attempt.failed();
      this.audit('auth.password_change_failed', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
      throw new AppError(ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE);
    }
    await attempt.succeeded();
    if (isOverlongPassword(newPassword)) throw badInput('newPassword', 'Password must be at most 256 characters.');
    const weakness = checkNewPassword(newPassword, found.user.username);
    if (weakness) throw badInput('newPassword', weakness);
    const newHash = await this.deps.hasher.hash(newPassword);

    const now = this.deps.clock.now();
    const refreshToken = generateRefreshToken();
    const { others: ended, amr } = await this.deps.sessions.change(viewer.user.id, () => this.deps.db.transaction().execute(async (trx) => {
      const session = await sessions.findSessionById(trx, viewer.sessionId);
      if (session === null || !isSessionActive(session, now)) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The session has ended; sign in again.', { reason: 'TOKEN_REVOKED' });
      await users.updatePasswordHash(trx, viewer.user.id, newHash, now);
      const restarted = await sessions.restartRefreshChain(trx, {
        sessionId: session.id,
        fromGeneration: session.refreshGeneration,
        hash: hashRefreshToken(refreshToken),
        now,
        expiresAt: now + this.deps.refreshTokenTtl * 1000,
      });
      if (!restarted) throw new Error('session changed during password change');
      const others = await sessions.endSessions(trx, { userId: viewer.user.id, except: viewer.sessionId }, 'password_changed', now);
      // Logins half-way through (password given, code pending) were made with the old password.
      await mfaTokens.deleteMfaTokensOfUser(trx, viewer.user.id);
      return { result: { others, amr: session.amr }, change: { ended: { sessionIds: others, reason: 'password_changed' as const } } };
    }));
    this.audit('auth.password_changed', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, endedSessions: ended.length });
    // For a user with TOTP on only verifyMfa issues fresh tokens: the new pair
    // is not fresh, so a further sensitive change needs the second factor again.
    const fresh = !(await this.deps.totp.isEnabled(viewer.user.id));
    return this.issue(found.user, viewer.sessionId, refreshToken, fresh, now, amr);
  }

  private async startSession(user: User, meta: RequestMeta, amr: readonly string[]): Promise<{ auth: AuthResult; sessionId: string }> {
    const now = this.deps.clock.now();
    const refreshToken = generateRefreshToken();
    const session = await this.deps.db.transaction().execute((trx) => this.insertSession(trx, user, meta, refreshToken, now, amr));
    this.deps.sessions.sessionStarted(session);
    return { auth: this.issue(user, session.id, refreshToken, true, now, session.amr), sessionId: session.id };
  }

  private insertSession(db: Db, user: User, meta: RequestMeta, refreshToken: string, now: number, amr: readonly string[]): Promise<Session> {
    return sessions.insertSession(db, {
      id: randomUUID(),
      userId: user.id,
      userAgent: meta.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
      now,
      expiresAt: now + this.deps.refreshTokenTtl * 1000,
      refreshTokenHash: hashRefreshToken(refreshToken),
      amr,
    });
  }

  /** Signs a pair for a session; `sessionExpiresAt` defaults to a session (re)started now. */
  private issue(
    user: User,
    sessionId: string,
    refreshToken: string,
    fresh: boolean,
    now: number,
    amr: readonly string[] | null,
    sessionExpiresAt = now + this.deps.refreshTokenTtl * 1000,
  ): AuthResult {
    const accessToken = this.deps.accessTokens.sign({ userId: user.id, username: user.username, roles: user.roles, sessionId, fresh, ...(amr ? { amr } : {}) }, now);
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.deps.accessTokens.ttl, user, sessionId, sessionExpiresAt };
  }

  private audit(event: string, meta: RequestMeta, fields: Record<string, unknown>, level: 'info' | 'warn' = 'info'): void {
    this.deps.logger[level]({ event, ...fields, clientAddress: meta.clientAddress, requestId: meta.requestId }, event);
  }
}

type RotateOutcome =
  | { readonly kind: 'rotated' | 'grace'; readonly session: Session; readonly refreshToken: string; readonly expiresAt: number }
  | { readonly kind: 'reused'; readonly session: Session }
  | { readonly kind: 'csrf' }
  | { readonly kind: 'invalid' };

function csrfRefused(): AppError {
  return new AppError(ErrorCode.FORBIDDEN, 'A cookie refresh needs the X-CSRF-Token header, equal to the tg_csrf cookie.', { reason: 'CSRF' });
}

function invalidMfaCode(): AppError {
  return new AppError(ErrorCode.INVALID_MFA_CODE, INVALID_MFA_MESSAGE);
}

function invalidRefresh(): AppError {
  return new AppError(ErrorCode.INVALID_REFRESH_TOKEN, INVALID_REFRESH_MESSAGE);
}
