import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { WebAuthnConfig } from '../config/config.js';
import type { AuthRateLimits } from '../core/rate-limits.js';
import { countWaysIn, lockWaysIn } from '../credentials/credential.repository.js';
import { rateLimitedError } from '../core/rate-limits.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import { AppError, ErrorCode, badInput, lastCredential } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { RequestMeta } from '../platform/request-meta.js';
import type { AuthResult, SessionService, Viewer } from '../sessions/index.js';
import type { FirstFactorCheck, SignInFeature } from '../sign-in/index.js';
import * as users from '../users/user.repository.js';
import { isValidUsername, type User } from '../users/user.js';
import * as challenges from './challenge.repository.js';
import * as passkeys from './passkey.repository.js';
import type { StoredPasskey } from './passkey.repository.js';
import type { Passkey } from './passkey.js';

/** Dependencies of PasskeyService. */
export interface PasskeyServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly webauthn: WebAuthnConfig;
  /** The door: passkeys are added, renamed and removed through it, with their audit events. */
  readonly sessions: SessionService;
  /** The sign-in pipeline: a passkey is a first factor of it. */
  readonly signIn: SignInFeature['signIn'];
  readonly rateLimits: AuthRateLimits;
  /** Ceremonies started per client address (startPasskeyLogin is public and writes a row). */
  readonly startLimiter: RateLimiterAbstract;
  /** Keys the stand-in credential ids answered for usernames without passkeys. */
  readonly decoyKey: Buffer;
  readonly logger: Logger;
}

/** A challenge lives 5 minutes (docs/api.md), and the browser's `timeout` says the same. */
export const CHALLENGE_TTL_SECONDS = 300;
/** ES256 and RS256 (COSE algorithm ids): what every platform authenticator and security key offers. */
const ALGORITHMS = [-7, -257];
const MAX_NAME_LENGTH = 64;
const INVALID_PASSKEY_MESSAGE = 'The passkey could not be verified.';

/**
 * Passkeys (WebAuthn): registering one for the signed-in user, listing,
 * renaming and removing them, and signing in with one. The ceremonies are
 * checked by @simplewebauthn/server; around it, this service owns what the
 * library leaves to the relying party: challenges that are random, single use
 * and short-lived, found again from the response itself (so any number of
 * visitors, on any instance, can be half-way through at once); that a
 * credential id belongs to one account; the signature counter; and one error
 * for every failure, so a caller learns nothing of which check failed.
 */
export class PasskeyService {
  constructor(private readonly deps: PasskeyServiceDeps) {}

  /** A user's passkeys, oldest first. */
  async list(userId: string): Promise<Passkey[]> {
    return (await passkeys.listPasskeys(this.deps.db, userId)).map(toPasskey);
  }

  /**
   * Starts registering a passkey for the caller (a fresh token, checked by the
   * permission layer): PublicKeyCredentialCreationOptionsJSON asking for a
   * discoverable credential, user verification preferred, and excluding the
   * caller's existing passkeys (an authenticator holds one per account).
   */
  async startRegistration(viewer: Viewer, meta: RequestMeta): Promise<Record<string, unknown>> {
    await this.chargeStart(meta);
    const existing = await passkeys.listPasskeys(this.deps.db, viewer.user.id);
    const challenge = await this.newChallenge('registration', viewer.user.id);
    const options = await (await webauthn()).generateRegistrationOptions({
      rpName: this.deps.webauthn.rpName,
      rpID: this.deps.webauthn.rpId,
      userName: viewer.user.username,
      userDisplayName: viewer.user.username,
      // The user handle: the account id, never the username (it travels to the authenticator and back on every sign-in).
      userID: userHandleOf(viewer.user.id),
      challenge,
      timeout: CHALLENGE_TTL_SECONDS * 1000,
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: [...p.transports] })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    return options as unknown as Record<string, unknown>;
  }

  /**
   * Finishes a registration with the browser's RegistrationResponseJSON. Every
   * failure (a dead challenge, a wrong origin or RP ID, a credential id already
   * registered by anyone) is INVALID_PASSKEY and spends the login budgets.
   */
  async finishRegistration(viewer: Viewer, response: Record<string, unknown>, name: string | null, meta: RequestMeta): Promise<Passkey> {
    const label = name === null ? null : checkName(name);
    const user = viewer.user;
    return this.deps.rateLimits.guardLogin(user.username, meta, async () => {
      const refused = async (reason: string, details: Record<string, unknown> = {}) => {
        await this.deps.sessions.record({ type: 'passkey.registration_failed', userId: user.id, sessionId: viewer.sessionId, meta, details: { reason, ...details } });
        return { outcome: 'failed' as const, error: invalidPasskey() };
      };
      const challenge = challengeOf(response);
      if (challenge === null) return refused('malformed');
      // Taken before anything is checked: a challenge is spent by its first use, whatever the outcome.
      const taken = await challenges.takeChallenge(this.deps.db, hashChallenge(challenge), ['registration'], this.deps.clock.now());
      if (taken === null || taken.userId !== user.id) return refused('challenge');

      let info;
      try {
        const verified = await (await webauthn()).verifyRegistrationResponse({
          response: response as unknown as RegistrationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: [...this.deps.webauthn.origins],
          expectedRPID: this.deps.webauthn.rpId,
          requireUserPresence: true,
          // Options say "preferred": a security key without a PIN is welcome, and its sign-ins are simply not multi-factor.
          requireUserVerification: false,
          supportedAlgorithmIDs: ALGORITHMS,
        });
        if (!verified.verified) return refused('verification');
        info = verified.registrationInfo;
      } catch (error) {
        // The library's messages name the expected origin and RP ID: for the log, never for the caller.
        this.deps.logger.info({ event: 'passkey.registration_refused', userId: user.id, cause: messageOf(error), requestId: meta.requestId }, 'passkey.registration_refused');
        return refused('verification');
      }

      const credentialId = info.credential.id;
      // Checked here for a clear audit reason; the unique index on (kind, lookup) settles a race.
      if ((await passkeys.findPasskeyByCredentialId(this.deps.db, credentialId)) !== null) return refused('duplicate');
      const now = this.deps.clock.now();
      const id = randomUUID();
      const transports = (info.credential.transports ?? []).filter((t): t is string => typeof t === 'string');
      const passkeyName = label ?? defaultName(info.credentialDeviceType === 'multiDevice', await passkeys.listPasskeys(this.deps.db, user.id));
      try {
        await this.deps.sessions.change(user.id, async (tx) => {
          await passkeys.insertPasskey(tx.db, {
            id,
            userId: user.id,
            credentialId,
            publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
            transports,
            backedUp: info.credentialBackedUp,
            counter: info.credential.counter,
            name: passkeyName,
            now,
          });
          await tx.audit({
            type: 'passkey.registered',
            userId: user.id,
            sessionId: viewer.sessionId,
            meta,
            details: { passkeyId: id, name: passkeyName, userVerified: info.userVerified, backedUp: info.credentialBackedUp, aaguid: info.aaguid },
          });
        });
      } catch (error) {
        if (isUniqueViolation(error)) return refused('duplicate');
        throw error;
      }
      return {
        outcome: 'succeeded',
        value: { id, name: passkeyName, createdAt: new Date(now), lastUsedAt: null, backedUp: info.credentialBackedUp, transports },
      };
    });
  }

  /** Renames one of the caller's passkeys; an unknown id or another user's passkey is BAD_USER_INPUT (`field: "id"`). */
  async rename(viewer: Viewer, id: string, name: string, meta: RequestMeta): Promise<Passkey> {
    const label = checkName(name);
    const renamed = await this.deps.sessions.change(viewer.user.id, async (tx) => {
      if (!(await passkeys.renamePasskey(tx.db, viewer.user.id, id, label))) return null;
      await tx.audit({ type: 'passkey.renamed', userId: viewer.user.id, sessionId: viewer.sessionId, meta, details: { passkeyId: id, name: label } });
      return passkeys.findOwnPasskey(tx.db, viewer.user.id, id);
    });
    if (renamed === null) throw badInput('id', 'No passkey of yours has this id.');
    return toPasskey(renamed);
  }

  /**
   * Removes one of the caller's passkeys (a fresh token): false for an unknown
   * id or another user's. Refused with LAST_CREDENTIAL when it is the last way
   * the caller can sign in; the count is taken after the delete, in its
   * transaction, so two parallel removals cannot both pass.
   */
  async remove(viewer: Viewer, id: string, meta: RequestMeta): Promise<boolean> {
    return this.deps.sessions.change(viewer.user.id, async (tx) => {
      await lockWaysIn(tx.db, viewer.user.id);
      if (!(await passkeys.deletePasskey(tx.db, viewer.user.id, id))) return false;
      if ((await countWaysIn(tx.db, viewer.user.id)) === 0) throw lastCredential(); // rolls the delete back
      await tx.audit({ type: 'passkey.deleted', userId: viewer.user.id, sessionId: viewer.sessionId, meta, details: { passkeyId: id } });
      return true;
    });
  }

  /**
   * Starts a passkey sign-in: PublicKeyCredentialRequestOptionsJSON. Without a
   * username any discoverable credential may answer (`allowCredentials`
   * empty). With one, only that user's passkeys count; a username that does
   * not exist, or has no passkey, gets a stand-in credential id derived from
   * it, so the answer has the same shape either way (no username oracle).
   */
  async startLogin(username: string | null, meta: RequestMeta): Promise<Record<string, unknown>> {
    await this.chargeStart(meta);
    let allowCredentials: { id: string; transports?: string[] }[] = [];
    let challenge: Uint8Array<ArrayBuffer>;
    if (username === null) {
      challenge = await this.newChallenge('login', null);
    } else {
      const user = isValidUsername(username) ? await users.findUserByUsername(this.deps.db, username) : null;
      const own = user ? await passkeys.listPasskeys(this.deps.db, user.id) : [];
      allowCredentials = own.length > 0 ? own.map((p) => ({ id: p.credentialId, transports: [...p.transports] })) : [{ id: this.decoyCredentialId(username), transports: ['internal', 'hybrid'] }];
      challenge = await this.newChallenge('login_named', user?.id ?? null);
    }
    const options = await (await webauthn()).generateAuthenticationOptions({
      rpID: this.deps.webauthn.rpId,
      allowCredentials,
      challenge,
      timeout: CHALLENGE_TTL_SECONDS * 1000,
      userVerification: 'preferred',
    });
    return options as unknown as Record<string, unknown>;
  }

  /**
   * Finishes a passkey sign-in with the browser's AuthenticationResponseJSON,
   * through the sign-in pipeline: `amr` `["pop","mfa"]` when the authenticator
   * verified the user (then a TOTP user is not asked for a code), else
   * `["pop"]` (a TOTP user gets MFA_REQUIRED). Every failure is INVALID_PASSKEY
   * and spends the login budgets of the credential's owner and the address.
   */
  async finishLogin(response: Record<string, unknown>, meta: RequestMeta): Promise<AuthResult> {
    const credentialId = credentialIdOf(response);
    const stored = credentialId === null ? null : await passkeys.findPasskeyByCredentialId(this.deps.db, credentialId);
    const owner = stored === null ? null : await users.findUserById(this.deps.db, stored.userId);
    return this.deps.signIn.signInWith(
      {
        // An unknown credential is charged to the address, and to a stand-in name that no username can be (usernames have no ':').
        budgetKey: owner?.username ?? `passkey:${credentialId ?? ''}`,
        method: 'passkey',
        check: () => this.checkAssertion(response, stored, owner, meta),
      },
      meta,
    );
  }

  /** Deletes challenges that expired (the pruner's task). */
  pruneChallenges(now: number, limit: number): Promise<number> {
    return challenges.pruneExpiredChallenges(this.deps.db, now, limit);
  }

  private async checkAssertion(response: Record<string, unknown>, stored: StoredPasskey | null, owner: User | null, meta: RequestMeta): Promise<FirstFactorCheck> {
    const refused = (reason: string): FirstFactorCheck => ({ proof: null, user: owner, error: invalidPasskey(), reason });
    const challenge = challengeOf(response);
    if (challenge === null) return refused('malformed');
    const now = this.deps.clock.now();
    // Spent by its first use, before anything else is checked, whatever the outcome.
    const taken = await challenges.takeChallenge(this.deps.db, hashChallenge(challenge), ['login', 'login_named'], now);
    if (taken === null) return refused('challenge');
    if (stored === null || owner === null) return refused('unknown_credential');
    // A sign-in started for a username finishes only with that user's passkey.
    if (taken.purpose === 'login_named' && taken.userId !== owner.id) return refused('wrong_user');
    // The user handle the authenticator returns must name the credential's owner.
    const userHandle = (response.response as Record<string, unknown> | undefined)?.userHandle;
    if (userHandle !== undefined && userHandle !== null && userHandle !== Buffer.from(userHandleOf(owner.id)).toString('base64url')) return refused('user_handle');

    let info;
    try {
      const verified = await (await webauthn()).verifyAuthenticationResponse({
        response: response as unknown as AuthenticationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: [...this.deps.webauthn.origins],
        expectedRPID: this.deps.webauthn.rpId,
        // Counter 0 here: the counter rule (and its clone warning) is ours, after the signature is known good.
        credential: { id: stored.credentialId, publicKey: bytesOf(Buffer.from(stored.publicKey, 'base64url')), counter: 0, transports: [...stored.transports] },
        // Options asked for "preferred": a sign-in without UV is valid, it just is not multi-factor.
        requireUserVerification: false,
      });
      if (!verified.verified) return refused('signature');
      info = verified.authenticationInfo;
    } catch (error) {
      // The library's messages name the expected origin and RP ID: for the log, never for the caller.
      this.deps.logger.info({ event: 'passkey.login_refused', userId: owner.id, cause: messageOf(error), requestId: meta.requestId }, 'passkey.login_refused');
      return refused('verification');
    }

    // WebAuthn §7.2 step 21: a counter must grow unless both are 0 (synced passkeys never count); else it may be a clone.
    const received = info.newCounter;
    const cloneWarning = async () => {
      await this.deps.sessions.record({ type: 'passkey.clone_warning', userId: owner.id, meta, details: { passkeyId: stored.id, storedCounter: stored.counter, receivedCounter: received } });
      this.deps.logger.warn({ event: 'passkey.clone_warning', userId: owner.id, passkeyId: stored.id, requestId: meta.requestId }, 'passkey.clone_warning');
      return refused('counter');
    };
    if ((received > 0 || stored.counter > 0) && received <= stored.counter) return cloneWarning();
    const recorded = await passkeys.recordPasskeyUse(this.deps.db, {
      id: stored.id,
      expectedCounter: stored.counter,
      newCounter: received,
      backedUp: info.credentialBackedUp,
      material: { publicKey: stored.publicKey, transports: stored.transports },
      now,
    });
    // Another sign-in moved the counter since it was read: two assertions with one counter, the same signal.
    if (!recorded) return cloneWarning();
    const uv = info.userVerified;
    return { proof: { user: owner, amr: uv ? ['pop', 'mfa'] : ['pop'], multiFactor: uv } };
  }

  private async newChallenge(purpose: challenges.ChallengePurpose, userId: string | null): Promise<Uint8Array<ArrayBuffer>> {
    // 32 random bytes (WebAuthn asks for at least 16); stored only as a hash.
    const challenge = randomBytes(32);
    const now = this.deps.clock.now();
    await challenges.insertChallenge(this.deps.db, {
      hash: hashChallenge(challenge.toString('base64url')),
      purpose,
      userId,
      now,
      expiresAt: now + CHALLENGE_TTL_SECONDS * 1000,
    });
    return bytesOf(challenge);
  }

  /** A stable credential id for a username without passkeys: the same on every call, unguessable without the server's key. */
  private decoyCredentialId(username: string): string {
    return createHmac('sha256', this.deps.decoyKey).update(username.toLowerCase()).digest().subarray(0, 16).toString('base64url');
  }

  private async chargeStart(meta: RequestMeta): Promise<void> {
    try {
      await this.deps.startLimiter.consume(meta.clientAddress);
    } catch (rejection) {
      throw rateLimitedError(this.deps.logger, 'passkeyCeremony', rejection, meta);
    }
  }
}

let library: Promise<typeof SimpleWebAuthn> | null = null;
/**
 * @simplewebauthn/server, loaded on the first ceremony: with its ASN.1 and
 * X.509 parsers it is about a megabyte of code that a server whose users never
 * touch a passkey should not parse at start-up.
 */
function webauthn(): Promise<typeof SimpleWebAuthn> {
  library ??= import('@simplewebauthn/server');
  return library;
}

function invalidPasskey(): AppError {
  return new AppError(ErrorCode.INVALID_PASSKEY, INVALID_PASSKEY_MESSAGE);
}

function toPasskey(p: StoredPasskey): Passkey {
  return { id: p.id, name: p.name, createdAt: p.createdAt, lastUsedAt: p.lastUsedAt, backedUp: p.backedUp, transports: p.transports };
}

/** The WebAuthn user handle of an account: its id's bytes. */
function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return bytesOf(Buffer.from(userId, 'utf8'));
}

/** A copy in a plain ArrayBuffer (the library's types refuse a Buffer's possibly shared one). */
function bytesOf(buffer: Buffer): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(buffer.length);
  out.set(buffer);
  return out;
}

/** How a challenge is stored and found: SHA-256 of its base64url form. */
function hashChallenge(challenge: string): string {
  return createHash('sha256').update(challenge).digest('base64url');
}

/** The challenge a response answers, read from its clientDataJSON (base64url JSON); null when malformed. */
export function challengeOf(response: Record<string, unknown>): string | null {
  const inner = response.response;
  if (typeof inner !== 'object' || inner === null) return null;
  const clientDataJSON = (inner as Record<string, unknown>).clientDataJSON;
  if (typeof clientDataJSON !== 'string' || clientDataJSON.length > 4096) return null;
  try {
    const clientData = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as unknown;
    const challenge = typeof clientData === 'object' && clientData !== null ? (clientData as Record<string, unknown>).challenge : undefined;
    return typeof challenge === 'string' && /^[A-Za-z0-9_-]{22,128}$/.test(challenge) ? challenge : null;
  } catch {
    return null;
  }
}

/** The credential id a response names (base64url), or null. */
function credentialIdOf(response: Record<string, unknown>): string | null {
  const id = response.id;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,1366}$/.test(id) ? id : null;
}

/** A passkey's name as given: trimmed, 1–64 characters, no control characters. */
function checkName(name: string): string {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw badInput('name', `A passkey's name is 1 to ${MAX_NAME_LENGTH} characters, without control characters.`);
  }
  return trimmed;
}

/** The name of a passkey registered without one: "Passkey", "Passkey 2", … ("Synced passkey" for one backed up). */
function defaultName(synced: boolean, existing: readonly StoredPasskey[]): string {
  const base = synced ? 'Synced passkey' : 'Passkey';
  const taken = new Set(existing.map((p) => p.name));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base} ${n}`)) return `${base} ${n}`;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}
