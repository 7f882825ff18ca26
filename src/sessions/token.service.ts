import { AppError, ErrorCode, badInput } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../platform/logger.js';
import { noAuthMetrics, type AuthMetrics } from '../platform/metrics.js';
import type { RequestMeta } from '../platform/request-meta.js';
import type { User } from '../users/user.js';
import type { AccessTokens } from '../tokens/access-token.js';
import { csrfTokenFor, sameCsrfToken } from '../tokens/csrf-token.js';
import { deriveRefreshToken, generateRefreshToken, hashRefreshToken, isWellFormedRefreshToken, sameHash } from '../tokens/refresh-token.js';
import type { Viewer } from './viewer.js';
import type { AuthRateLimits } from '../core/rate-limits.js';
import * as sessions from './session.repository.js';
import type { FastRotations } from './refresh-rotation.repository.js';
import type { SessionOpening, SessionService } from './session.service.js';
import { isSessionActive, type Session } from './session.js';

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

/** What a cookie refresh presents (docs/api.md, "Cookie transport for browsers"). */
export interface CookieCredential {
  /** The tg_refresh cookie. */
  readonly refreshToken: string | undefined;
  /** The tg_csrf cookie and the X-CSRF-Token header: both must be present and equal. */
  readonly csrfCookie: string | undefined;
  readonly csrfHeader: string | undefined;
}

/** Dependencies of TokenService. */
export interface TokenServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly accessTokens: AccessTokens;
  /** HMAC key for deriving each rotated refresh token from the previous one. */
  readonly refreshChainKey: Buffer;
  /** HMAC key of the cookie mode's CSRF tokens (tokens/csrf-token.ts). */
  readonly csrfKey: Buffer;
  /** The door every session-ending write goes through. */
  readonly sessions: SessionService;
  readonly rateLimits: AuthRateLimits;
  readonly logger: Logger;
  readonly refreshTokenTtl: number;
  readonly refreshReuseGrace: number;
  /**
   * The common case of a refresh in one step (SQLite: prepared statements,
   * rotations of one event-loop turn sharing a commit; PostgreSQL: one
   * statement); absent or null, every refresh takes the general path.
   */
  readonly fastRotations?: FastRotations | null;
  /** Where refresh outcomes are counted (Prometheus in the server); counts nothing when absent. */
  readonly metrics?: AuthMetrics;
}

/** A session about to be opened by a sign-in: whose, from where, and how they proved it. */
export interface SessionStart {
  readonly user: User;
  readonly meta: RequestMeta;
  /** RFC 8176 methods the sign-in proved; the session's tokens carry them. */
  readonly amr: readonly string[];
}

const USER_AGENT_MAX = 512;
const INVALID_REFRESH_MESSAGE = 'The refresh token is not valid; sign in again.';

/**
 * A session's tokens: opening a session with its first pair, refresh
 * rotation with theft detection, logout and the caller's session list.
 */
export class TokenService {
  private readonly metrics: AuthMetrics;

  constructor(private readonly deps: TokenServiceDeps) {
    this.metrics = deps.metrics ?? noAuthMetrics;
  }

  /** How long an access token lives, in seconds. */
  get accessTokenTtl(): number {
    return this.deps.accessTokens.ttl;
  }

  /**
   * Opens a session in the caller's transaction (through the door's
   * handle, which announces it once committed) and answers its first pair,
   * fresh: it was just proven.
   */
  async startSession(tx: SessionOpening, start: SessionStart, now: number): Promise<AuthResult> {
    const refreshToken = generateRefreshToken();
    const session = await tx.startSession({
      userId: start.user.id,
      userAgent: start.meta.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
      now,
      expiresAt: now + this.deps.refreshTokenTtl * 1000,
      refreshTokenHash: hashRefreshToken(refreshToken),
      amr: start.amr,
    });
    return this.issue(start.user, session.id, refreshToken, true, now, session.amr);
  }

  /**
   * Trades a refresh token for a new pair (see docs/api.md, "Tokens").
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

  /** Ends the caller's current session. */
  async logout(viewer: Viewer, meta: RequestMeta): Promise<boolean> {
    const ended = await this.deps.sessions.endSessions(viewer.user.id, { sessionId: viewer.sessionId }, 'logout', { sessionId: viewer.sessionId, meta });
    this.audit('auth.logout', meta, { userId: viewer.user.id, sessionId: viewer.sessionId });
    return ended.length > 0;
  }

  /** Ends every session of the caller, the current one included; returns how many. */
  async logoutAll(viewer: Viewer, meta: RequestMeta): Promise<number> {
    const ended = await this.deps.sessions.endSessions(viewer.user.id, {}, 'logout_all', { sessionId: viewer.sessionId, meta });
    this.audit('auth.logout_all', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, count: ended.length });
    return ended.length;
  }

  /** Ends one of the caller's sessions; false for an unknown, ended or foreign id alike. */
  async revokeSession(viewer: Viewer, sessionId: string, meta: RequestMeta): Promise<boolean> {
    const ended = await this.deps.sessions.endSessions(viewer.user.id, { sessionId }, 'revoked', { sessionId: viewer.sessionId, meta });
    if (ended.length > 0) this.audit('auth.session_revoked', meta, { userId: viewer.user.id, sessionId: viewer.sessionId, revokedSessionId: sessionId });
    return ended.length > 0;
  }

  /** The caller's open sessions, newest first. */
  listSessions(viewer: Viewer): Promise<Session[]> {
    return sessions.listActiveSessions(this.deps.db, viewer.user.id, this.deps.clock.now());
  }

  /**
   * Gives an open session a new refresh chain, in the caller's transaction
   * (changePassword: the calling session stays signed in, its old refresh
   * token stops working); its `amr`, or throws UNAUTHENTICATED when it has ended.
   */
  async restartChain(db: Db, sessionId: string, now: number): Promise<{ refreshToken: string; amr: readonly string[] | null }> {
    const session = await sessions.findSessionById(db, sessionId);
    if (session === null || !isSessionActive(session, now)) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The session has ended; sign in again.', { reason: 'TOKEN_REVOKED' });
    const refreshToken = generateRefreshToken();
    const restarted = await sessions.restartRefreshChain(db, {
      sessionId: session.id,
      fromGeneration: session.refreshGeneration,
      hash: hashRefreshToken(refreshToken),
      now,
      expiresAt: now + this.deps.refreshTokenTtl * 1000,
    });
    if (!restarted) throw new Error('session changed while its refresh chain restarted');
    return { refreshToken, amr: session.amr };
  }

  /** Signs a pair for a session; `sessionExpiresAt` defaults to a session (re)started now. */
  issue(
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
      await this.deps.sessions.change(session.userId, (tx) => tx.endSessions({ sessionId: session.id }, 'refresh_reuse'), {
        unannounced: 'proceed',
        by: { sessionId: session.id, meta },
      });
      this.metrics.refresh('reused');
      this.audit('auth.refresh_reuse', meta, { userId: session.userId, sessionId: session.id }, 'warn');
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

function invalidRefresh(): AppError {
  return new AppError(ErrorCode.INVALID_REFRESH_TOKEN, INVALID_REFRESH_MESSAGE);
}
