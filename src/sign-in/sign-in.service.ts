import { AppError, ErrorCode, INVALID_CREDENTIALS_MESSAGE, badInput } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../platform/logger.js';
import { noAuthMetrics, type AuthMetrics } from '../platform/metrics.js';
import type { RequestMeta } from '../platform/request-meta.js';
import * as users from '../users/user.repository.js';
import { takenOr, type UserService } from '../users/user.service.js';
import { checkNewPassword, isOverlongPassword, type PasswordHasher } from '../credentials/password.js';
import type { AuthResult, SessionService, TokenService, Viewer } from '../sessions/index.js';
import { MFA_TOKEN_MAX_FAILURES, MFA_TOKEN_TTL_SECONDS, generateMfaToken, hashMfaToken, isWellFormedMfaToken } from '../tokens/mfa-token.js';
import type { AttemptResult, AuthRateLimits } from '../core/rate-limits.js';
import type { EmailService } from '../email/index.js';
import * as mfaTokens from './mfa-token.repository.js';
import type { FederatedFirstFactor, FirstFactorAttempt, FirstFactorProof, SecondFactor } from './factor.js';
import { PasswordFactor } from './password.factor.js';

/** Dependencies of SignInService. */
export interface SignInServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly hasher: PasswordHasher;
  /** The door: sessions open and end through it. */
  readonly sessions: SessionService;
  /** Opens a session with its first pair, signs pairs. */
  readonly tokens: TokenService;
  readonly rateLimits: AuthRateLimits;
  readonly userService: UserService;
  /** Addresses and their verification links (signup writes the first one). */
  readonly email: EmailService;
  /** The second factor a user may have enrolled (TOTP). */
  readonly secondFactor: SecondFactor;
  readonly logger: Logger;
  /** Where login outcomes are counted (Prometheus in the server); counts nothing when absent. */
  readonly metrics?: AuthMetrics;
}

const INVALID_MFA_MESSAGE = 'The code is not valid, or this sign-in has expired; codes work once, for 30 seconds.';
const OVERLONG_PASSWORD = 'Password must be at most 256 characters.';

/**
 * Signing in: signup, the first factor (a password today), the second step
 * (verifyMfa) and changing the password. Every sign-in runs one pipeline:
 * the factor proves a user and its `amr` inside the login budgets, then
 * either a second factor is due (MFA_REQUIRED with an mfaToken) or a session
 * opens through the door with the factors' `amr`.
 */
export class SignInService {
  private readonly metrics: AuthMetrics;
  private readonly password: PasswordFactor;

  constructor(private readonly deps: SignInServiceDeps) {
    this.metrics = deps.metrics ?? noAuthMetrics;
    this.password = new PasswordFactor(deps);
  }

  /**
   * Creates an account and signs it in with a fresh pair. The user, its
   * password, its first session and (with an address) its verification link
   * and mail commit together: a crash between the writes must not leave an
   * account that a retried signup calls taken.
   */
  async signup(username: string, password: string, meta: RequestMeta, email: string | null = null): Promise<AuthResult> {
    await this.deps.rateLimits.chargeSignup(meta);
    const address = email === null ? null : this.deps.email.parseEmail(email);
    const prepared = await this.deps.userService.prepare({ username, password, roles: ['USER'], email: address });
    const mail = address !== null && (await this.deps.email.mayMail(address));
    const now = this.deps.clock.now();
    let auth: AuthResult;
    try {
      auth = await this.deps.sessions.open(
        async (tx) => {
          const user = await this.deps.userService.insert(tx.db, prepared);
          if (mail && address) await this.deps.email.queueVerification(tx.db, user, address, now);
          const opened = await this.deps.tokens.startSession(tx, { user, meta, amr: ['pwd'] }, now);
          await tx.audit({ type: 'user.created', userId: user.id, sessionId: opened.sessionId, details: { method: 'password', email: address !== null } });
          return opened;
        },
        { by: { meta } },
      );
    } catch (error) {
      throw takenOr(error);
    }
    this.deps.email.afterQueue(mail);
    this.deps.logger.info({ event: 'user.created', userId: auth.user.id, roles: auth.user.roles }, 'user created');
    this.audit('auth.signup', meta, { userId: auth.user.id, sessionId: auth.sessionId, email: address !== null, mailQueued: mail });
    return auth;
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
      throw badInput('password', OVERLONG_PASSWORD);
    }
    try {
      // Charged before hashing; a lock refuses even the right password.
      return await this.deps.rateLimits.guardLogin(username, meta, async () => {
        const { user, proof } = await this.password.identify(username, password);
        if (proof === null) {
          this.metrics.login('failure');
          this.audit('auth.login_failed', meta, { userId: user?.id ?? null });
          await this.deps.sessions.record({ type: 'login.failure', userId: user?.id ?? null, meta, details: { method: 'password' } });
          return { outcome: 'failed', error: new AppError(ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE) };
        }
        return this.afterFirstFactor(proof, meta, 'password');
      });
    } catch (error) {
      if (error instanceof AppError && error.code === ErrorCode.RATE_LIMITED) this.metrics.login('locked');
      throw error;
    }
  }

  /**
   * Signs in with a first factor another feature checks (a passkey): the
   * same login budgets, second step and door as a password login. A failure
   * is recorded (`login.failure` with the method) and answers the factor's
   * one error; a success opens the session (`login.success`), or answers
   * MFA_REQUIRED when the user has a second factor and the proof is not
   * already multi-factor.
   */
  async signInWith(attempt: FirstFactorAttempt, meta: RequestMeta): Promise<AuthResult> {
    try {
      return await this.deps.rateLimits.guardLogin(attempt.budgetKey, meta, async () => {
        const checked = await attempt.check();
        if (checked.proof === null) {
          this.metrics.login('failure');
          await this.deps.sessions.record({ type: 'login.failure', userId: checked.user?.id ?? null, meta, details: { method: attempt.method, reason: checked.reason } });
          return { outcome: 'failed', error: checked.error };
        }
        return this.afterFirstFactor(checked.proof, meta, attempt.method);
      });
    } catch (error) {
      if (error instanceof AppError && error.code === ErrorCode.RATE_LIMITED) this.metrics.login('locked');
      throw error;
    }
  }

  /**
   * The second step of a sign-in for a user with a second factor: the
   * mfaToken from MFA_REQUIRED and a current TOTP code or an unused recovery
   * code. Answers the fresh pair of a new session whose `amr` joins both
   * factors. Every wrong code spends the login budgets; the token dies after
   * five, after five minutes, or once used.
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
    const { auth, method } = await this.deps.rateLimits.guardLogin(user.username, meta, () =>
      this.deps.sessions.open(
        async (tx): Promise<AttemptResult<{ auth: AuthResult; method: string }>> => {
          // The try is counted before the check, and (on PostgreSQL) the row stays
          // locked until commit: parallel guesses on one token are serialized and bounded.
          if (!(await mfaTokens.claimMfaAttempt(tx.db, hash, now, MFA_TOKEN_MAX_FAILURES))) return { outcome: 'abandoned', error: invalidMfaCode() };
          const proven = await this.deps.secondFactor.verify(tx.db, user.id, code, now);
          if (proven === null) {
            this.metrics.login('failure');
            this.audit('auth.mfa_failed', meta, { userId: user.id });
            await tx.audit({ type: 'mfa.failure', userId: user.id });
            // Returned, not thrown: the counted try commits.
            return { outcome: 'failed', error: invalidMfaCode() };
          }
          if (!(await mfaTokens.completeMfaToken(tx.db, hash, now))) throw new Error('mfaToken changed during verification');
          const amr = [...stored.amr, proven];
          const opened = await this.deps.tokens.startSession(tx, { user, meta, amr }, now);
          await tx.audit({ type: 'login.success', userId: user.id, sessionId: opened.sessionId, details: { amr, secondFactor: proven } });
          return { outcome: 'succeeded', value: { auth: opened, method: proven } };
        },
        { by: { meta } },
      ),
    );
    this.metrics.login('success'); // the login that answered mfa_required, now complete
    this.audit('auth.login', meta, { userId: user.id, sessionId: auth.sessionId, method });
    return auth;
  }

  /**
   * Changes the caller's password (the permission layer has already required a
   * fresh token). Ends every other session of the caller; the calling session
   * stays signed in with a new fresh pair, and its old refresh token stops working.
   */
  async changePassword(viewer: Viewer, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<AuthResult> {
    if (isOverlongPassword(currentPassword)) throw badInput('currentPassword', OVERLONG_PASSWORD);
    const user = await users.findUserById(this.deps.db, viewer.user.id);
    if (user === null) throw new AppError(ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE);
    // Guessing the current password with a stolen fresh token is brute force
    // like any other: it spends the same budget as login for this user and address.
    await this.deps.rateLimits.guardLogin(user.username, meta, async () => {
      if (await this.password.verify(user, currentPassword)) return { outcome: 'succeeded', value: undefined };
      this.audit('auth.password_change_failed', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
      await this.deps.sessions.record({ type: 'password.change_failed', userId: viewer.user.id, sessionId: viewer.sessionId, meta });
      return { outcome: 'failed', error: new AppError(ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE) };
    });
    if (isOverlongPassword(newPassword)) throw badInput('newPassword', OVERLONG_PASSWORD);
    const weakness = checkNewPassword(newPassword, user.username);
    if (weakness) throw badInput('newPassword', weakness);
    const newHash = await this.deps.hasher.hash(newPassword);

    const now = this.deps.clock.now();
    const { refreshToken, amr, ended } = await this.deps.sessions.change(
      viewer.user.id,
      async (tx) => {
        const restarted = await this.deps.tokens.restartChain(tx.db, viewer.sessionId, now);
        await this.password.set(tx.db, viewer.user.id, newHash);
        const others = await tx.endSessions({ except: viewer.sessionId }, 'password_changed');
        // Logins half-way through (password given, code pending) were made with the old password.
        await mfaTokens.deleteMfaTokensOfUser(tx.db, viewer.user.id);
        await tx.audit({ type: 'password.changed', details: { endedSessions: others.length } });
        return { ...restarted, ended: others };
      },
      { by: { sessionId: viewer.sessionId, meta } },
    );
    this.audit('auth.password_changed', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, endedSessions: ended.length });
    // For a user with a second factor only verifyMfa issues fresh tokens: the new pair
    // is not fresh, so a further sensitive change needs the second factor again.
    const fresh = !(await this.deps.secondFactor.isEnrolled(this.deps.db, viewer.user.id));
    return this.deps.tokens.issue(user, viewer.sessionId, refreshToken, fresh, now, amr);
  }

  /**
   * The pipeline after a first factor proved `proof.user`: a second factor
   * is due when the user has one and the proof is not already multi-factor
   * (MFA_REQUIRED, deferred: the pair's earlier failures stay counted, so a
   * right password never resets the budget for guessing codes); otherwise a
   * session opens with the factor's `amr`.
   */
  private async afterFirstFactor(proof: FirstFactorProof, meta: RequestMeta, method?: string): Promise<AttemptResult<AuthResult>> {
    const { user } = proof;
    const now = this.deps.clock.now();
    if (!proof.multiFactor && (await this.deps.secondFactor.isEnrolled(this.deps.db, user.id))) {
      const mfaToken = await startSecondStep(this.deps.db, user.id, proof.amr, now);
      this.metrics.login('mfa_required');
      this.audit('auth.mfa_required', meta, { userId: user.id });
      await this.deps.sessions.record({ type: 'mfa.required', userId: user.id, meta, details: { amr: proof.amr } });
      return {
        outcome: 'deferred',
        error: mfaRequired(mfaToken),
      };
    }
    const auth = await this.deps.sessions.open(
      async (tx) => {
        const opened = await this.deps.tokens.startSession(tx, { user, meta, amr: proof.amr }, now);
        await tx.audit({ type: 'login.success', userId: user.id, sessionId: opened.sessionId, details: { ...(method !== undefined ? { method } : {}), amr: proof.amr } });
        return opened;
      },
      { by: { meta } },
    );
    this.metrics.login('success');
    this.audit('auth.login', meta, { userId: user.id, sessionId: auth.sessionId });
    return { outcome: 'succeeded', value: auth };
  }

  /**
   * The pipeline for a first factor proven elsewhere (social sign-in): the
   * factor's writes, then either the second step (MFA_REQUIRED with an
   * mfaToken, for a user with a second factor, after a proof that is not
   * multi-factor) or a new fresh session with the factor's `amr`, all in
   * one transaction through the door. The factor's writes commit in both
   * cases (a linked identity stays linked while the code is pending).
   */
  async signInFederated(factor: FederatedFirstFactor, meta: RequestMeta): Promise<AuthResult> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.sessions.open(async (tx): Promise<{ auth: AuthResult } | { mfaToken: string; userId: string }> => {
      const proof = await factor.prove(tx);
      const { user } = proof;
      if (!proof.multiFactor && (await this.deps.secondFactor.isEnrolled(tx.db, user.id))) {
        const mfaToken = await startSecondStep(tx.db, user.id, proof.amr, now);
        await tx.audit({ type: 'mfa.required', userId: user.id, details: { ...factor.details, amr: proof.amr } });
        return { mfaToken, userId: user.id };
      }
      const auth = await this.deps.tokens.startSession(tx, { user, meta, amr: proof.amr }, now);
      await tx.audit({ type: 'login.success', userId: user.id, sessionId: auth.sessionId, details: { ...factor.details, amr: proof.amr } });
      return { auth };
    }, { by: { meta } });
    if ('mfaToken' in outcome) {
      this.metrics.login('mfa_required');
      this.audit('auth.mfa_required', meta, { userId: outcome.userId, ...factor.details });
      throw mfaRequired(outcome.mfaToken);
    }
    this.metrics.login('success');
    this.audit('auth.login', meta, { userId: outcome.auth.user.id, sessionId: outcome.auth.sessionId, ...factor.details });
    return outcome.auth;
  }

  private audit(event: string, meta: RequestMeta, fields: Record<string, unknown>, level: 'info' | 'warn' = 'info'): void {
    this.deps.logger[level]({ event, ...fields, clientAddress: meta.clientAddress, requestId: meta.requestId }, event);
  }
}

/** Opens the second step of a sign-in: a new mfaToken (stored by hash only, 5 minutes) that remembers the first factor's `amr`. */
async function startSecondStep(db: Db, userId: string, amr: readonly string[], now: number): Promise<string> {
  const mfaToken = generateMfaToken();
  await mfaTokens.insertMfaToken(db, { hash: hashMfaToken(mfaToken), userId, now, expiresAt: now + MFA_TOKEN_TTL_SECONDS * 1000, amr });
  return mfaToken;
}

function mfaRequired(mfaToken: string): AppError {
  return new AppError(ErrorCode.MFA_REQUIRED, 'Two-factor authentication is on: send verifyMfa with the mfaToken and a code.', { mfaToken });
}

function invalidMfaCode(): AppError {
  return new AppError(ErrorCode.INVALID_MFA_CODE, INVALID_MFA_MESSAGE);
}
