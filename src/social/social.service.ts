import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import type { SocialConfig } from '../config/config.js';
import { countWaysIn, lockWaysIn } from '../credentials/credential.repository.js';
import type { Db } from '../db/database.js';
import { isUniqueViolationOf } from '../db/errors.js';
import { AppError, ErrorCode, badInput, lastCredential, unauthenticated, type AuthFailureReason } from '../errors.js';
import type { RequestCookies } from '../platform/request-cookies.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { RequestMeta } from '../platform/request-meta.js';
import type { AuthResult, SessionOpening, SessionService, Viewer } from '../sessions/index.js';
import type { FirstFactorProof, SignInFeature } from '../sign-in/index.js';
import * as users from '../users/user.repository.js';
import { isValidUsername, normalizeEmail, type User } from '../users/user.js';
import * as identities from './identity.repository.js';
import type { Identity } from './identity.repository.js';
import * as flows from './oauth-flow.repository.js';
import type { ProvenIdentity, StoredFlow } from './oauth-flow.repository.js';
import type { OAuthRateLimit } from './oauth-rate-limit.js';
import type { OidcProviders } from './oidc-providers.js';

/** Why a social sign-in failed (`extensions.reason` of OAUTH_FAILED, and `tg_reason` in the redirect). */
export type OAuthFailureReason = 'STATE' | 'PROVIDER' | 'ID_TOKEN' | 'CODE';

/** The cookie that binds a flow to the browser that started it. */
export const BINDING_COOKIE = 'tg_oauth';
/** Where the binding cookie is sent: only to the callback. */
export const CALLBACK_PREFIX = '/oauth/callback/';
/** How long a flow (state, nonce, PKCE verifier) lives: 10 minutes (docs/api.md). */
export const FLOW_TTL_SECONDS = 600;
/** How long the one-time code handed to the app lives: 60 seconds. */
export const CODE_TTL_SECONDS = 60;
/** The `amr` of a social sign-in (RFC 8176: federated). */
const FED = ['fed'] as const;

/** What the callback answers: a redirect back to the app, or a page of its own when there is nowhere safe to go. */
export type CallbackOutcome =
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'page'; readonly status: number; readonly reason: OAuthFailureReason | 'UNKNOWN_PROVIDER' };

/** Dependencies of SocialService. */
export interface SocialServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: SocialConfig;
  readonly signupEnabled: boolean;
  readonly providers: OidcProviders;
  /** The door: sessions open (through the sign-in pipeline) and identities are unlinked through it. */
  readonly sessions: SessionService;
  /** The sign-in pipeline (its federated first factor). */
  readonly signIn: SignInFeature['signIn'];
  /** HMAC key from which each flow's PKCE verifier and nonce are derived (never stored). */
  readonly flowKey: Buffer;
  /** startOAuth calls per client address. */
  readonly rateLimit: OAuthRateLimit;
}

/** An identity as the API shows it (`Identity`). */
export interface IdentityView {
  readonly provider: string;
  readonly subject: string;
  readonly email: string | null;
  readonly linkedAt: Date;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');
/** 32 random bytes, base64url: state, binding and one-time codes. */
const randomToken = () => randomBytes(32).toString('base64url');
const WELL_FORMED = /^[A-Za-z0-9_-]{43}$/;

/** OAUTH_FAILED with its reason. Messages say what to do, never which secret failed how. */
export function oauthFailed(reason: OAuthFailureReason): AppError {
  const messages: Record<OAuthFailureReason, string> = {
    STATE: 'This sign-in is not valid here (expired, used, or started in another browser); start again.',
    PROVIDER: 'The identity provider did not complete the sign-in; try again later.',
    ID_TOKEN: "The identity provider's answer could not be verified; start again.",
    CODE: 'This sign-in code is not valid (expired or used); start again.',
  };
  return new AppError(ErrorCode.OAUTH_FAILED, messages[reason], { reason });
}

/**
 * Social sign-in over OpenID Connect (docs/api.md, "Social sign-in"): the
 * authorization code flow with PKCE S256, state and nonce, bound to the
 * browser that started it; the callback that checks the answer and the ID
 * token; the one-time code that the app redeems for a session; and the
 * linking rules, which never trust an address the provider or the local
 * account has not verified.
 */
export class SocialService {
  constructor(private readonly deps: SocialServiceDeps) {}

  /** The configured providers (buttons), discovered or not. */
  listProviders(): { name: string; label: string }[] {
    return this.deps.providers.list().map(({ settings }) => ({ name: settings.name, label: settings.label }));
  }

  /**
   * Starts a flow and answers the provider's authorization URL. `link`
   * attaches the identity to the signed-in caller, and so needs a fresh
   * token (checked here, before anything is written). The flow is bound to
   * this browser by the tg_oauth cookie: only a callback that brings it back
   * may finish (no login CSRF, no linking someone else's identity).
   */
  async startOAuth(
    input: { provider: string; redirectTo: string; link: boolean },
    caller: { viewer: Viewer | null; authFailure: AuthFailureReason | null; cookies: RequestCookies | null; meta: RequestMeta },
  ): Promise<string> {
    const provider = this.deps.providers.get(input.provider);
    if (provider === null) throw badInput('provider', 'No identity provider is configured by that name (see oauthProviders).');
    const redirectTo = this.checkRedirect(input.redirectTo);
    let linkUserId: string | null = null;
    if (input.link) {
      if (caller.viewer === null) throw unauthenticated(caller.authFailure ?? 'MISSING_TOKEN');
      if (!caller.viewer.fresh) throw new AppError(ErrorCode.FRESH_TOKEN_REQUIRED, 'Linking an identity needs a fresh token: sign in again.');
      linkUserId = caller.viewer.user.id;
    }
    if (provider.client === null) throw oauthFailed('PROVIDER');
    // Charged after the checks that write nothing, before the flow row is written.
    await this.deps.rateLimit.charge(caller.meta);
    // Over WebSocket there is no answer to set the binding cookie on.
    if (caller.cookies === null) throw oauthFailed('STATE');

    const existing = caller.cookies.get(BINDING_COOKIE);
    // One binding per browser, kept while it is well-formed: flows started in two tabs both finish.
    const binding = existing !== undefined && WELL_FORMED.test(existing) ? existing : randomToken();
    caller.cookies.set({ name: BINDING_COOKIE, value: binding, maxAge: FLOW_TTL_SECONDS, path: CALLBACK_PREFIX, httpOnly: true, sameSite: 'lax' });

    const state = randomToken();
    const { verifier, nonce } = this.secretsOf(state);
    const now = this.deps.clock.now();
    await flows.insertFlow(this.deps.db, {
      stateHash: sha256(state),
      provider: provider.settings.name,
      bindingHash: sha256(binding),
      redirectTo,
      linkUserId,
      now,
      expiresAt: now + FLOW_TTL_SECONDS * 1000,
    });
    const url = oidc.buildAuthorizationUrl(provider.client, {
      redirect_uri: provider.settings.redirectUri,
      response_type: 'code',
      scope: provider.settings.scopes.join(' '),
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    this.log('oauth.started', caller.meta, { provider: provider.settings.name, link: input.link, userId: linkUserId });
    return url.href;
  }

  /**
   * The provider's redirect back (`GET /oauth/callback/<name>`): checks the
   * state (known, unused, unexpired, this provider's, this browser's), the
   * `iss` parameter (RFC 9207), redeems the code with the PKCE verifier and
   * validates the ID token (signature from the provider's JWKS, `iss`,
   * `aud`, `exp`, `nonce`, algorithm). Success sends the browser back with
   * a one-time code in the fragment; failure with `tg_error`. The state is
   * spent before the provider is called, whatever follows.
   */
  async handleCallback(providerName: string, params: URLSearchParams, bindingCookie: string | undefined, meta: RequestMeta): Promise<CallbackOutcome> {
    const provider = this.deps.providers.get(providerName);
    if (provider === null) return { kind: 'page', status: 404, reason: 'UNKNOWN_PROVIDER' };
    const state = params.get('state');
    // Without a flow there is no redirectTo we may trust: a page of our own answers.
    if (state === null || !WELL_FORMED.test(state)) return this.noFlow(providerName, meta);
    const stateHash = sha256(state);
    const flow = await flows.findFlowByState(this.deps.db, stateHash);
    if (flow === null) return this.noFlow(providerName, meta);
    const fail = (reason: OAuthFailureReason, cause?: string) => this.failRedirect(flow, providerName, reason, meta, cause);

    const now = this.deps.clock.now();
    if (!(await flows.claimState(this.deps.db, stateHash, now))) return fail('STATE', flow.stateUsed ? 'state used' : 'state expired');
    if (bindingCookie === undefined || !sameHash(sha256(bindingCookie), flow.bindingHash)) return fail('STATE', 'another browser');
    // A state that comes back at another provider's callback is a mix-up (or a forgery): refused.
    if (flow.provider !== providerName) return fail('STATE', 'other provider');
    const client = provider.client;
    if (client === null) return fail('PROVIDER', 'not discovered');
    const server = client.serverMetadata();
    const iss = params.get('iss');
    // RFC 9207: the answer names the issuer that made it; another one's code must not be sent to this one's token endpoint.
    if (iss !== null ? iss !== server.issuer : server.authorization_response_iss_parameter_supported === true) return fail('PROVIDER', 'iss');
    if (params.has('error')) return fail('PROVIDER', 'provider error');

    const { verifier, nonce } = this.secretsOf(state);
    const currentUrl = new URL(provider.settings.redirectUri);
    currentUrl.search = params.toString();
    let identity: ProvenIdentity;
    try {
      const tokens = await oidc.authorizationCodeGrant(client, currentUrl, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
      const claims = tokens.claims();
      if (claims === undefined) return fail('ID_TOKEN', 'no id token');
      let facts: Record<string, unknown> = claims;
      // Providers that keep scope claims out of the ID token (the spec's default) give them at userinfo;
      // fetchUserInfo checks that its `sub` is the ID token's.
      if (claims.email === undefined && server.userinfo_endpoint !== undefined && tokens.access_token) {
        facts = { ...(await oidc.fetchUserInfo(client, tokens.access_token, claims.sub)), ...claims };
      }
      identity = {
        issuer: claims.iss,
        subject: claims.sub,
        email: typeof facts.email === 'string' ? facts.email : null,
        emailVerified: facts.email_verified === true,
        preferredUsername: typeof facts.preferred_username === 'string' ? facts.preferred_username : null,
      };
    } catch (error) {
      return fail(classify(error), errorName(error));
    }
    const code = randomToken();
    await flows.storeProof(this.deps.db, stateHash, { codeHash: sha256(code), codeExpiresAt: this.deps.clock.now() + CODE_TTL_SECONDS * 1000, identity });
    this.log('oauth.callback', meta, { provider: providerName, outcome: 'ok' });
    return { kind: 'redirect', location: `${flow.redirectTo}#tg_code=${code}` };
  }

  /**
   * Redeems the one-time code of a callback for a session (amr `["fed"]`,
   * fresh), through the sign-in pipeline: a user with TOTP on gets
   * MFA_REQUIRED as after a password. Who the identity is decides whose
   * session it is (see resolveUser for the linking rules). The code is
   * spent first, so it works once even when the sign-in then fails.
   */
  async completeOAuth(code: string, viewer: Viewer | null, meta: RequestMeta): Promise<AuthResult> {
    if (!WELL_FORMED.test(code)) throw oauthFailed('CODE');
    const codeHash = sha256(code);
    const flow = await flows.findFlowByCode(this.deps.db, codeHash);
    if (flow === null || flow.identity === null || !(await flows.claimCode(this.deps.db, codeHash, this.deps.clock.now()))) {
      await this.deps.sessions.record({ type: 'login.failure', userId: flow?.linkUserId ?? null, meta, details: { method: 'oidc', reason: 'CODE', ...(flow ? { provider: flow.provider } : {}) } });
      throw oauthFailed('CODE');
    }
    // A link flow finishes only for the account that started it.
    if (flow.linkUserId !== null && viewer?.user.id !== flow.linkUserId) {
      await flows.forgetIdentity(this.deps.db, codeHash);
      throw oauthFailed('CODE');
    }
    const identity = flow.identity;
    try {
      return await this.deps.signIn.signInFederated({ prove: (tx) => this.resolveUser(tx, flow, identity, meta), details: { method: 'oidc', provider: flow.provider } }, meta);
    } catch (error) {
      if (isUniqueViolationOf(error, 'lookup')) throw identityTaken(); // a parallel sign-in linked it first
      throw error;
    } finally {
      await flows.forgetIdentity(this.deps.db, codeHash);
    }
  }

  /** The caller's identities (User.identities). */
  async listIdentities(userId: string): Promise<IdentityView[]> {
    return (await identities.listIdentities(this.deps.db, userId)).map(view);
  }

  /**
   * Unlinks the caller's identities of `provider` (fresh token: the
   * permission layer checked it) through the door. LAST_CREDENTIAL when
   * that would leave no way to sign in; counted after the delete, in its
   * transaction, so two parallel removals cannot both pass. False when no
   * identity of that provider is linked.
   */
  async unlinkIdentity(viewer: Viewer, provider: string, meta: RequestMeta): Promise<boolean> {
    return this.deps.sessions.change(
      viewer.user.id,
      async (tx) => {
        // Locked first: two parallel removals of the last two ways in must not both see the other's row.
        await lockWaysIn(tx.db, viewer.user.id);
        const removed = await identities.deleteIdentitiesOf(tx.db, viewer.user.id, provider);
        if (removed === 0) return false;
        if ((await countWaysIn(tx.db, viewer.user.id)) === 0) throw lastCredential();
        await tx.audit({ type: 'identity.unlinked', details: { provider } });
        return true;
      },
      { by: { sessionId: viewer.sessionId, meta } },
    );
  }

  /**
   * Whose account a proven identity signs in, in the transaction that opens
   * the session. The rules (docs/api.md):
   * - An identity is found by (issuer, subject) only, never by address.
   * - A link flow attaches it to the user who started it; an identity that
   *   belongs to someone else is IDENTITY_TAKEN.
   * - A new identity joins an existing account only when the provider says
   *   `email_verified` and that account's address is verified too.
   * - An unverified local address reserves nothing: a verified sign-in for
   *   it makes a new account that takes the address, and the unverified
   *   account loses it (audit `email.taken_over`). So an attacker who signed
   *   up with a victim's address never receives the victim's sign-in.
   * - Otherwise a new account (no password) with a unique username from
   *   `preferred_username` or the address.
   */
  private async resolveUser(tx: SessionOpening, flow: StoredFlow, proven: ProvenIdentity, meta: RequestMeta): Promise<FirstFactorProof> {
    const now = this.deps.clock.now();
    const { db } = tx;
    const existing = await identities.findIdentity(db, proven.issuer, proven.subject);
    const email = proven.email === null ? null : normalizeEmail(proven.email);

    if (flow.linkUserId !== null) {
      if (existing !== null && existing.userId !== flow.linkUserId) throw identityTaken();
      const user = await users.findUserById(db, flow.linkUserId);
      if (user === null) throw oauthFailed('CODE');
      if (existing === null) await this.link(tx, user, flow.provider, proven, email?.email ?? null, 'explicit', meta);
      else await identities.touchIdentity(db, existing.id, now);
      return { user, amr: FED, multiFactor: false };
    }

    if (existing !== null) {
      const user = await users.findUserById(db, existing.userId);
      if (user === null) throw oauthFailed('CODE');
      await identities.touchIdentity(db, existing.id, now);
      return { user, amr: FED, multiFactor: false };
    }

    let takeAddress = false;
    if (email !== null) {
      const holder = await users.findUserByEmailKey(db, email.key);
      if (holder !== null && holder.emailVerified && proven.emailVerified) {
        // Both sides proved the address: the same person.
        await this.link(tx, holder, flow.provider, proven, email.email, 'verified_email', meta);
        return { user: holder, amr: FED, multiFactor: false };
      }
      if (holder === null) takeAddress = true;
      else if (!holder.emailVerified && proven.emailVerified) {
        const released = await identities.releaseUnverifiedEmail(db, email.key, now);
        if (released !== null) {
          await tx.audit({ type: 'email.taken_over', userId: released.id, meta, details: { provider: flow.provider, reason: 'verified_social_sign_in' } });
          takeAddress = true;
        }
      }
    }
    if (!this.deps.signupEnabled) throw new AppError(ErrorCode.FORBIDDEN, 'Signup is disabled on this server: an identity can only sign in to an account it is linked to.');
    const username = await uniqueUsername(db, proven.preferredUsername, email?.email ?? null);
    let user = await users.insertUser(db, { id: randomUUID(), username, roles: ['USER'], now, email: takeAddress ? email : null });
    if (takeAddress && email !== null && proven.emailVerified) user = (await users.markEmailVerified(db, user.id, email.key, now)) ?? user;
    await tx.audit({ type: 'user.created', userId: user.id, meta, details: { method: 'oidc', provider: flow.provider, email: takeAddress } });
    await this.link(tx, user, flow.provider, proven, email?.email ?? null, 'signup', meta);
    this.log('user.created', meta, { userId: user.id, via: 'oidc', provider: flow.provider });
    return { user, amr: FED, multiFactor: false };
  }

  private async link(tx: SessionOpening, user: User, provider: string, proven: ProvenIdentity, email: string | null, how: 'explicit' | 'verified_email' | 'signup', meta: RequestMeta): Promise<void> {
    await identities.insertIdentity(tx.db, { userId: user.id, provider, issuer: proven.issuer, subject: proven.subject, email, now: this.deps.clock.now() });
    await tx.audit({ type: 'identity.linked', userId: user.id, meta, details: { provider, how } });
  }

  /** redirectTo must be on one of OAUTH_REDIRECT_ORIGINS exactly; its fragment is dropped (the callback writes its own). */
  private checkRedirect(redirectTo: string): string {
    let url: URL;
    try {
      url = new URL(redirectTo);
    } catch {
      throw badInput('redirectTo', 'redirectTo must be an absolute URL.');
    }
    if (!this.deps.config.redirectOrigins.includes(url.origin) || url.username !== '' || url.password !== '') {
      throw badInput('redirectTo', 'redirectTo must be on one of the origins in OAUTH_REDIRECT_ORIGINS.');
    }
    url.hash = '';
    return url.href;
  }

  /** The PKCE verifier and the nonce of a flow: HMACs of its state, so neither is ever stored, and neither can be computed without the server key. */
  private secretsOf(state: string): { verifier: string; nonce: string } {
    const mac = (label: string) => createHmac('sha256', this.deps.flowKey).update(`${label}\0${state}`).digest('base64url');
    return { verifier: mac('pkce'), nonce: mac('nonce') };
  }

  private async failRedirect(flow: StoredFlow, provider: string, reason: OAuthFailureReason, meta: RequestMeta, cause?: string): Promise<CallbackOutcome> {
    await this.deps.sessions.record({ type: 'login.failure', userId: flow.linkUserId, meta, details: { method: 'oidc', provider, reason } });
    this.log('oauth.callback', meta, { provider, outcome: 'failed', reason, ...(cause ? { cause } : {}) }, 'warn');
    return { kind: 'redirect', location: `${flow.redirectTo}#tg_error=${ErrorCode.OAUTH_FAILED}&tg_reason=${reason}` };
  }

  private async noFlow(provider: string, meta: RequestMeta): Promise<CallbackOutcome> {
    await this.deps.sessions.record({ type: 'login.failure', meta, details: { method: 'oidc', provider, reason: 'STATE' } });
    this.log('oauth.callback', meta, { provider, outcome: 'failed', reason: 'STATE', cause: 'unknown state' }, 'warn');
    return { kind: 'page', status: 400, reason: 'STATE' };
  }

  /** A log line: names, outcomes and reasons only; never a code, state, nonce, token or secret. */
  private log(event: string, meta: RequestMeta, fields: Record<string, unknown>, level: 'info' | 'warn' = 'info'): void {
    this.deps.logger[level]({ event, ...fields, clientAddress: meta.clientAddress, requestId: meta.requestId }, event);
  }
}

function view(identity: Identity): IdentityView {
  return { provider: identity.provider, subject: identity.subject, email: identity.email, linkedAt: identity.linkedAt };
}

function identityTaken(): AppError {
  return new AppError(ErrorCode.IDENTITY_TAKEN, 'This identity is linked to another account.');
}

/** Constant-time comparison of two base64url SHA-256 digests. */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Which step of the code exchange failed: the token endpoint refused the
 * code (CODE), the provider answered an error or could not be reached
 * (PROVIDER), or the ID token failed a check (ID_TOKEN).
 */
function classify(error: unknown): OAuthFailureReason {
  if (error instanceof oidc.ResponseBodyError) return 'CODE';
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.WWWAuthenticateChallengeError) return 'PROVIDER';
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError' || (error.name === 'TypeError' && /fetch/i.test(error.message)))) return 'PROVIDER';
  return 'ID_TOKEN';
}

/** The class and code of an error, for the log: openid-client's messages may quote claims, so only these are kept. */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${error.name}:${code}` : error.name;
}

/** A free username made from `preferred_username`, else the address's local part, else `user`; `-2`, `-3`, … when taken. */
async function uniqueUsername(db: Db, preferred: string | null, email: string | null): Promise<string> {
  const base = [preferred, email?.split('@')[0] ?? null].map(cleanUsername).find((name) => name !== null) ?? 'user';
  for (let n = 1; n <= 50; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    if ((await users.findUserByUsername(db, candidate)) === null) return candidate;
  }
  return `${base}-${randomBytes(4).toString('hex')}`;
}

/** A username from free text: ASCII letters, digits, `.`, `_`, `-` only (accents dropped), 3–56 characters (room for a suffix), or null. */
function cleanUsername(text: string | null): string | null {
  if (text === null) return null;
  const cleaned = text
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]/g, '')
    .slice(0, 56);
  return isValidUsername(cleaned) ? cleaned : null;
}
