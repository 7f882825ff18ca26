import { randomUUID } from 'node:crypto';
import type { MailConfig } from '../config/config.js';
import { checkNewPassword, isOverlongPassword, type PasswordHasher } from '../credentials/password.js';
import type { Db } from '../db/database.js';
import { AppError, ErrorCode, badInput } from '../errors.js';
import type { MailKind } from './mail/mail.js';
import * as outbox from './mail/outbox.repository.js';
import { buildLink, renderMail } from './mail/templates.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { RequestMeta } from '../platform/request-meta.js';
import { replaceSingleCredential } from '../credentials/credential.repository.js';
import type { SessionService, Viewer } from '../sessions/index.js';
import { generateOneTimeToken, hashOneTimeToken, isOneTimeTokenUsable, isWellFormedOneTimeToken, oneTimeTokenExpiry, type OneTimeTokenKind } from '../tokens/one-time-token.js';
import * as users from '../users/user.repository.js';
import { normalizeEmail, type User } from '../users/user.js';
import { takenOr } from '../users/user.service.js';
import * as emailTokens from './email-token.repository.js';
import type { MailRateLimits } from './mail-rate-limits.js';

/** How mail leaves this server: over SMTP, as files (development), or not at all (production without SMTP_URL). */
export type MailDelivery = 'smtp' | 'files' | 'disabled';

/** Dependencies of EmailService. */
export interface EmailServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly hasher: PasswordHasher;
  /** The door every session-ending write goes through. */
  readonly sessions: SessionService;
  readonly rateLimits: MailRateLimits;
  readonly logger: Logger;
  readonly config: MailConfig;
  readonly delivery: MailDelivery;
  /** Wakes the outbox worker after a mail was committed; never waits for it. */
  readonly mailQueued: () => void;
}

/** An address as stored, and its key. */
export type NormalizedEmail = { readonly email: string; readonly key: string };

const INVALID_TOKEN_MESSAGE = 'This link is not valid: it may have been used already or have expired. Ask for a new one.';
const MAIL_KIND: Record<OneTimeTokenKind, MailKind> = { verify_email: 'verify_email', reset_password: 'reset_password' };

/**
 * Email addresses and the two link flows: verification and password reset.
 * Every link token is written in the same transaction as the mail that
 * carries it (the outbox), so a committed link is always delivered and a
 * rolled-back one never is.
 */
export class EmailService {
  constructor(private readonly deps: EmailServiceDeps) {}

  /** Whether mail can be sent at all. */
  get enabled(): boolean {
    return this.deps.delivery !== 'disabled';
  }

  /** Checks an address against the contract's rules; BAD_USER_INPUT (`field: "email"`) when it breaks them. */
  parseEmail(raw: string): NormalizedEmail {
    const parsed = normalizeEmail(raw);
    if (parsed === null) throw badInput('email', 'Email must be a valid address of at most 254 characters.');
    return parsed;
  }

  /**
   * Decides, before a transaction, whether a verification mail may go to
   * `email` (mail enabled, and the recipient's budget not spent).
   */
  async mayMail(email: NormalizedEmail): Promise<boolean> {
    return this.enabled && (await this.deps.rateLimits.tryChargeRecipient(email.key));
  }

  /** Writes a verification link and its mail for `user`'s address inside the caller's transaction (signup). */
  async queueVerification(trx: Db, user: User, email: NormalizedEmail, now: number): Promise<void> {
    await emailTokens.voidEmailTokens(trx, user.id, ['verify_email'], now);
    await this.queueLink(trx, 'verify_email', user, email, now);
  }

  /**
   * Sets the caller's address (the permission layer has required a fresh
   * token). A new address starts unverified, voids the links of the old one,
   * and gets a verification link (unless its mail budget is spent, or mail
   * is disabled: then it stays unverified until requestEmailVerification).
   */
  async setEmail(viewer: Viewer, raw: string, meta: RequestMeta): Promise<User> {
    const email = this.parseEmail(raw);
    const current = await users.findUserById(this.deps.db, viewer.user.id);
    if (current === null) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The session has ended; sign in again.', { reason: 'TOKEN_REVOKED' });
    const sameAddress = current.email !== null && normalizeEmail(current.email)?.key === email.key;
    if (sameAddress && current.emailVerified && current.email === email.email) return current;
    const send = !(sameAddress && current.emailVerified) && (await this.mayMail(email));
    const now = this.deps.clock.now();
    let user: User;
    try {
      const by = { sessionId: viewer.sessionId, meta };
      user = await this.deps.sessions.change(viewer.user.id, async (tx) => {
        const updated = await users.updateEmail(tx.db, viewer.user.id, email, sameAddress && current.emailVerified, now);
        if (updated === null) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The session has ended; sign in again.', { reason: 'TOKEN_REVOKED' });
        // Links sent to the old address stop working: it is no longer the user's.
        if (!sameAddress) await emailTokens.voidEmailTokens(tx.db, updated.id, ['verify_email', 'reset_password'], now);
        if (send) await this.queueVerification(tx.db, updated, email, now);
        await tx.audit({ type: 'email.changed', details: { sameAddress, verified: updated.emailVerified } });
        tx.profileChanged(updated);
        return updated;
      }, { by });
    } catch (error) {
      throw takenOr(error);
    }
    this.afterQueue(send);
    this.audit('email.set', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, mailQueued: send });
    return user;
  }

  /**
   * Sends a new verification link to the caller's address (voiding older
   * ones). False when the address is verified already; true when a link was
   * queued, or silently not, when the address's mail budget is spent.
   */
  async requestVerification(viewer: Viewer, meta: RequestMeta): Promise<boolean> {
    this.requireEnabled();
    const user = await users.findUserById(this.deps.db, viewer.user.id);
    if (user?.email == null) throw badInput('email', 'Set an email address first (setEmail).');
    if (user.emailVerified) return false;
    const email = this.parseEmail(user.email);
    const send = await this.deps.rateLimits.tryChargeRecipient(email.key);
    if (send) {
      const now = this.deps.clock.now();
      const by = { sessionId: viewer.sessionId, meta };
      await this.deps.sessions.open(async (tx) => {
        await this.queueVerification(tx.db, user, email, now);
        await tx.audit({ type: 'email.verification_requested', userId: user.id });
      }, { by });
    }
    this.afterQueue(send);
    this.audit(send ? 'email.verification_requested' : 'email.verification_silenced', meta, { userId: user.id, sessionId: viewer.sessionId });
    return true;
  }

  /** Completes a verification link: the address it was sent to becomes verified, if it still is the user's. */
  async verifyEmail(token: string, meta: RequestMeta): Promise<boolean> {
    const { hash, stored } = await this.findUsable(token, 'verify_email');
    await this.deps.sessions.change(stored.userId, async (tx) => {
      if (!(await emailTokens.consumeEmailToken(tx.db, hash, 'verify_email', this.deps.clock.now()))) throw invalidToken();
      const user = await users.markEmailVerified(tx.db, stored.userId, stored.emailKey, this.deps.clock.now());
      if (user === null) throw invalidToken(); // the address changed since the link was sent; rolls the use back too
      await tx.audit({ type: 'email.verified' });
      tx.profileChanged(user);
    }, { by: { meta } });
    this.audit('email.verified', meta, { userId: stored.userId });
    return true;
  }

  /**
   * Sends a reset link when the address belongs to a user, and answers true
   * either way. Known and unknown addresses do the same work (one user
   * lookup, one budget charge, one token hashed, one mail rendered, one
   * transaction of three statements), so neither the answer nor its time
   * tells whether an account has the address.
   */
  async requestPasswordReset(raw: string, meta: RequestMeta): Promise<boolean> {
    this.requireEnabled();
    await this.deps.rateLimits.chargeResetRequest(meta);
    const email = this.parseEmail(raw);
    const user = await users.findUserByEmailKey(this.deps.db, email.key);
    const withinBudget = await this.deps.rateLimits.tryChargeRecipient(email.key);
    const now = this.deps.clock.now();
    const send = user !== null && withinBudget;
    if (send) {
      await this.deps.sessions.open(async (tx) => {
        // A new link voids the older ones.
        await emailTokens.voidEmailTokens(tx.db, user.id, ['reset_password'], now);
        await this.queueLink(tx.db, 'reset_password', user, email, now);
        await tx.audit({ type: 'email.reset_requested', userId: user.id });
      }, { by: { meta } });
    } else {
      await this.decoyWrite(email, now);
    }
    this.afterQueue(send);
    const outcome = user === null ? 'email.reset_unknown_address' : withinBudget ? 'email.reset_requested' : 'email.reset_silenced';
    this.audit(outcome, meta, { userId: user?.id ?? null });
    return true;
  }

  /**
   * Sets a new password from a reset link, ends every session of the user
   * (through the door), and marks the address verified: the link proved it.
   * The token is checked before the password is hashed, so garbage tokens
   * cost no Argon2 work.
   */
  async resetPassword(token: string, newPassword: string, meta: RequestMeta): Promise<boolean> {
    if (isOverlongPassword(newPassword)) throw badInput('newPassword', 'Password must be at most 256 characters.');
    const { hash, stored } = await this.findUsable(token, 'reset_password');
    const weakness = checkNewPassword(newPassword, stored.username);
    if (weakness) throw badInput('newPassword', weakness);
    const passwordHash = await this.deps.hasher.hash(newPassword);
    const ended = await this.deps.sessions.change(stored.userId, async (tx) => {
      const now = this.deps.clock.now();
      if (!(await emailTokens.consumeEmailToken(tx.db, hash, 'reset_password', now))) throw invalidToken();
      // A user without a password (social sign-in only) gets one here.
      await replaceSingleCredential(tx.db, { id: randomUUID(), userId: stored.userId, kind: 'password', material: passwordHash, now });
      await emailTokens.voidEmailTokens(tx.db, stored.userId, ['reset_password'], now);
      const user = (await users.markEmailVerified(tx.db, stored.userId, stored.emailKey, now)) ?? (await users.findUserById(tx.db, stored.userId));
      if (user) tx.profileChanged(user);
      const ended = await tx.endSessions({}, 'password_reset');
      await tx.audit({ type: 'password.reset', details: { endedSessions: ended.length } });
      return ended;
    }, { by: { meta } });
    this.audit('auth.password_reset', meta, { userId: stored.userId, endedSessions: ended.length });
    return true;
  }

  private async findUsable(token: string, kind: OneTimeTokenKind): Promise<{ hash: string; stored: emailTokens.StoredEmailToken }> {
    if (!isWellFormedOneTimeToken(token)) throw invalidToken();
    const hash = hashOneTimeToken(token);
    const stored = await emailTokens.findEmailToken(this.deps.db, hash);
    if (stored === null || stored.kind !== kind || !isOneTimeTokenUsable(stored, this.deps.clock.now())) throw invalidToken();
    return { hash, stored };
  }

  /** Writes a new link token and the mail that carries it. */
  private async queueLink(trx: Db, kind: OneTimeTokenKind, user: User, email: NormalizedEmail, now: number): Promise<void> {
    const token = generateOneTimeToken();
    const ttl = kind === 'verify_email' ? this.deps.config.verifyTtl : this.deps.config.resetTtl;
    await emailTokens.insertEmailToken(trx, { hash: hashOneTimeToken(token), userId: user.id, kind, emailKey: email.key, now, expiresAt: oneTimeTokenExpiry(now, ttl) });
    const mail = this.render(kind, user.username, token);
    await outbox.enqueueMail(trx, { id: randomUUID(), kind: MAIL_KIND[kind], userId: user.id, to: email.email, ...mail, now });
  }

  /**
   * The unknown-address arm of requestPasswordReset: the same token and mail
   * work and a transaction of as many statements, which leaves nothing behind.
   */
  private async decoyWrite(email: NormalizedEmail, now: number): Promise<void> {
    const token = generateOneTimeToken();
    hashOneTimeToken(token);
    const mail = this.render('reset_password', 'decoy', token);
    const id = randomUUID();
    await this.deps.db.transaction().execute(async (trx) => {
      await emailTokens.voidEmailTokens(trx, id, ['reset_password'], now);
      await outbox.enqueueMail(trx, { id, kind: 'reset_password', userId: null, to: email.email, ...mail, now });
      await outbox.deleteMail(trx, id);
    });
  }

  private render(kind: OneTimeTokenKind, username: string, token: string) {
    const template = kind === 'verify_email' ? this.deps.config.verifyUrl : this.deps.config.resetUrl;
    const ttlSeconds = kind === 'verify_email' ? this.deps.config.verifyTtl : this.deps.config.resetTtl;
    return renderMail(MAIL_KIND[kind], { username, link: buildLink(template, token), ttlSeconds });
  }

  /** Called once a transaction that may have queued mail committed. */
  afterQueue(queued: boolean): void {
    if (queued) this.deps.mailQueued();
  }

  private requireEnabled(): void {
    if (!this.enabled) throw new AppError(ErrorCode.FORBIDDEN, 'Email is not configured on this server.', { reason: 'EMAIL_DISABLED' });
  }

  private audit(event: string, meta: RequestMeta, fields: Record<string, unknown>): void {
    this.deps.logger.info({ event, ...fields, clientAddress: meta.clientAddress, requestId: meta.requestId }, event);
  }
}

function invalidToken(): AppError {
  return new AppError(ErrorCode.INVALID_EMAIL_TOKEN, INVALID_TOKEN_MESSAGE);
}
