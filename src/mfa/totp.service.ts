import type { Clock } from '../platform/clock.js';
import type { Db } from '../db/database.js';
import { AppError, ErrorCode, badInput } from '../errors.js';
import type { Logger } from '../platform/logger.js';
import type { RequestMeta } from '../platform/request-meta.js';
import * as users from '../users/user.repository.js';
import type { User } from '../users/user.js';
import type { SessionService, Viewer } from '../sessions/index.js';
import { deleteMfaTokensOfUser, type SecondFactor as SecondFactorPort } from '../sign-in/index.js';
import { acceptTotpCode, generateTotpSecret, looksLikeTotpCode, matchTotpStep, totpUrl } from './totp.js';
import { generateRecoveryCodes, hashRecoveryCode, looksLikeRecoveryCode } from './recovery-codes.js';
import { openSecret, sealSecret } from '../credentials/secret-box.js';
import * as totp from './totp.repository.js';
import type { AuthRateLimits } from '../core/rate-limits.js';

/** Dependencies of TotpService. */
export interface TotpServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  /** AES-256-GCM key for TOTP secrets at rest (credentials/secret-box.ts). */
  readonly secretKey: Buffer;
  readonly issuer: string;
  /** The door: an admin's reset ends the user's sessions through it. */
  readonly sessions: SessionService;
  readonly rateLimits: AuthRateLimits;
  readonly logger: Logger;
}

/** What enrollTotp answers. */
export interface TotpEnrollment {
  readonly secret: string;
  readonly otpauthUrl: string;
}

/** How a second factor was proven, as the `amr` claim names it. */
export type SecondFactor = 'otp' | 'recovery';

const WRONG_CODE = 'The code is not valid; codes work once, for 30 seconds.';
const NOT_PENDING = 'No TOTP enrollment is waiting for confirmation; call enrollTotp first.';
const NOT_ENABLED = 'Two-factor authentication is not on for this account.';

/**
 * TOTP for a user's own account (enroll, confirm, disable), the second-factor
 * check of a login, and an admin's reset. The permission layer has already
 * required a fresh token for the user's mutations. A wrong code spends the
 * same brute-force budget as a wrong password at login, for this user and
 * address, whichever mutation it was sent to.
 */
export class TotpService implements SecondFactorPort {
  constructor(private readonly deps: TotpServiceDeps) {}

  /** Whether TOTP is on for a user. */
  isEnabled(userId: string): Promise<boolean> {
    return totp.isTotpEnabled(this.deps.db, userId);
  }

  /** The sign-in pipeline's question: must this user pass TOTP after a first factor? */
  isEnrolled(db: Db, userId: string): Promise<boolean> {
    return totp.isTotpEnabled(db, userId);
  }

  /** The sign-in pipeline's second step: checks and spends a TOTP or recovery code in its transaction. */
  verify(db: Db, userId: string, code: string, now: number): Promise<SecondFactor | null> {
    return this.checkSecondFactor(db, userId, code, now);
  }

  /**
   * Starts an enrollment: a new secret, pending until confirmTotp; a new call
   * replaces a pending one. While TOTP is on, the current secret keeps working
   * until the new one is confirmed (that is how an authenticator is moved to a new phone).
   */
  async enroll(viewer: Viewer, meta: RequestMeta): Promise<TotpEnrollment> {
    const secret = generateTotpSecret();
    await this.deps.sessions.open(
      async (tx) => {
        await totp.setPendingSecret(tx.db, viewer.user.id, sealSecret(this.deps.secretKey, secret, secretContext(viewer.user.id)), this.deps.clock.now());
        await tx.audit({ type: 'mfa.enrollment_started', userId: viewer.user.id });
      },
      { by: { sessionId: viewer.sessionId, meta } },
    );
    this.audit('auth.totp_enrollment_started', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
    return { secret, otpauthUrl: totpUrl({ issuer: this.deps.issuer, username: viewer.user.username, secret }) };
  }

  /**
   * Turns TOTP on with the pending secret, given a current code of it, and
   * answers ten new recovery codes (any earlier ones stop working). The code
   * used here is spent: it cannot then complete a login.
   */
  async confirm(viewer: Viewer, code: string, meta: RequestMeta): Promise<string[]> {
    const codes = generateRecoveryCodes();
    await this.deps.rateLimits.guardLogin(viewer.user.username, meta, async () => {
      // Through the door: turning a factor on changes how this user signs in, and is recorded with it.
      const by = { sessionId: viewer.sessionId, meta };
      const confirmed = await this.deps.sessions.change(viewer.user.id, async (tx) => {
        const trx = tx.db;
        const state = await totp.findTotpState(trx, viewer.user.id);
        if (state.pendingSecret === null) throw new AppError(ErrorCode.INVALID_MFA_CODE, NOT_PENDING);
        const secret = this.open(state.pendingSecret, viewer.user.id);
        const now = this.deps.clock.now();
        const step = matchTotpStep(secret, code, now);
        if (step === null) return false;
        // A new secret starts its own replay record at the step just used.
        if (!(await totp.activatePendingSecret(trx, viewer.user.id, state.pendingSecret, step, now))) return false;
        await totp.replaceRecoveryCodes(trx, viewer.user.id, codes.map(hashRecoveryCode), now);
        await tx.audit({ type: 'mfa.enabled' });
        return true;
      }, { by });
      if (confirmed) return { outcome: 'succeeded', value: undefined };
      this.audit('auth.totp_confirm_failed', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
      await this.deps.sessions.record({ type: 'mfa.confirm_failed', userId: viewer.user.id, ...by });
      return { outcome: 'failed', error: new AppError(ErrorCode.INVALID_MFA_CODE, WRONG_CODE) };
    });
    this.audit('auth.totp_enabled', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
    return codes;
  }

  /** Turns TOTP off, given a current TOTP code or an unused recovery code. */
  async disable(viewer: Viewer, code: string, meta: RequestMeta): Promise<boolean> {
    const method = await this.deps.rateLimits.guardLogin(viewer.user.username, meta, async () => {
      const by = { sessionId: viewer.sessionId, meta };
      const proven = await this.deps.sessions.change(viewer.user.id, async (tx) => {
        const trx = tx.db;
        if (!(await totp.isTotpEnabled(trx, viewer.user.id))) throw new AppError(ErrorCode.INVALID_MFA_CODE, NOT_ENABLED);
        const now = this.deps.clock.now();
        const factor = await this.checkSecondFactor(trx, viewer.user.id, code, now);
        if (factor === null) return null;
        await totp.clearTotp(trx, viewer.user.id);
        await deleteMfaTokensOfUser(trx, viewer.user.id);
        await tx.audit({ type: 'mfa.disabled', details: { method: factor } });
        return factor;
      }, { by });
      if (proven !== null) return { outcome: 'succeeded', value: proven };
      this.audit('auth.totp_disable_failed', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
      await this.deps.sessions.record({ type: 'mfa.disable_failed', userId: viewer.user.id, ...by });
      return { outcome: 'failed', error: new AppError(ErrorCode.INVALID_MFA_CODE, WRONG_CODE) };
    });
    this.audit('auth.totp_disabled', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, method });
    return true;
  }

  /**
   * An admin turns a user's TOTP off (lost phone and codes) and every session
   * of that user ends, through the one door, on every instance.
   */
  async reset(actor: Viewer, userId: string, meta: RequestMeta): Promise<User> {
    const by = { actorId: actor.user.id, sessionId: actor.sessionId, meta };
    const { user, ended } = await this.deps.sessions.change(
      userId,
      async (tx) => {
        const found = await users.findUserById(tx.db, userId);
        if (found === null) throw badInput('userId', 'No user has that id.');
        await totp.clearTotp(tx.db, userId);
        await deleteMfaTokensOfUser(tx.db, userId);
        await tx.audit({ type: 'mfa.reset' });
        return { user: found, ended: await tx.endSessions({}, 'mfa_reset') };
      },
      { by },
    );
    this.audit('auth.mfa_reset', meta, { userId: actor.user.id, sessionId: actor.sessionId, targetUserId: userId, endedSessions: ended.length }, 'warn');
    return user;
  }

  /**
   * Checks a second factor inside the caller's transaction and spends it: a
   * TOTP code (its step recorded by compare-and-set, so it works once on any
   * instance) or an unused recovery code. Null when it is neither, or when
   * TOTP is off.
   */
  async checkSecondFactor(trx: Db, userId: string, code: string, now: number): Promise<SecondFactor | null> {
    const state = await totp.findTotpState(trx, userId);
    if (!state.enabled || state.secret === null) return null;
    if (looksLikeTotpCode(code)) {
      const step = acceptTotpCode(this.open(state.secret, userId), code, now, state.lastStep);
      return step !== null && (await totp.claimTotpStep(trx, userId, step, now)) ? 'otp' : null;
    }
    if (looksLikeRecoveryCode(code)) {
      return (await totp.useRecoveryCode(trx, userId, hashRecoveryCode(code), now)) ? 'recovery' : null;
    }
    return null;
  }

  private open(sealed: string, userId: string): string {
    const secret = openSecret(this.deps.secretKey, sealed, secretContext(userId));
    // Not the caller's mistake: the row was altered, or JWT_SECRET changed. An internal error, logged without the value.
    if (secret === null) throw new Error(`the TOTP secret of user ${userId} does not decrypt (was JWT_SECRET changed?)`);
    return secret;
  }

  private audit(event: string, meta: RequestMeta, fields: Record<string, unknown>, level: 'info' | 'warn' = 'info'): void {
    this.deps.logger[level]({ event, ...fields, clientAddress: meta.clientAddress, requestId: meta.requestId }, event);
  }
}

/** The associated data that binds a sealed secret to its user's row. */
function secretContext(userId: string): string {
  return `totp:${userId}`;
}
