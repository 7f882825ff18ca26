import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';
import type { Db } from '../db/database.js';
import { AppError, ErrorCode, badInput } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { RequestMeta } from '../platform/request-meta.js';
import { API_SCOPES, apiKeySessionId, type ApiScope, type SessionService, type Viewer } from '../sessions/ports.js';
import { EXPIRES_IN_MAX, EXPIRES_IN_MIN, NAME_MAX, type ApiKey, type ApiKeyState, type ApiKeyVerdict, type NewApiKey } from './api-key.js';
import { generateApiKey, hashApiKey, isWellFormedApiKey, prefixOf } from './api-key-format.js';
import * as repository from './api-key.repository.js';
import type { KeyRateLimit } from './key-rate-limit.js';

/** Every `outcome` of `tokengate_api_key_requests_total`. */
export const API_KEY_OUTCOMES = ['ok', 'invalid', 'revoked', 'expired', 'rate_limited'] as const;
export type ApiKeyOutcome = (typeof API_KEY_OUTCOMES)[number];

/** The actor the admin CLI is recorded as (as for its other commands). */
export const CLI_ACTOR = 'cli';

/** Who revokes a user's keys: an admin (with the session they act from) or the CLI (`{ id: CLI_ACTOR, sessionId: null }`). */
export interface Actor {
  readonly id: string;
  readonly sessionId: string | null;
}

/** Dependencies of ApiKeyService. */
export interface ApiKeyServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  /** The door: a revocation is a change of what the owner's credentials may do. */
  readonly sessions: SessionService;
  /** API_KEY_RATE_LIMIT, one budget per key. */
  readonly rateLimit: KeyRateLimit;
  readonly requests: Counter<'outcome'>;
  readonly logger: Logger;
  /** How often the minutes keys were used in are written (ms). */
  readonly flushIntervalMs?: number;
}

const MINUTE = 60_000;
/** A key that never expires is watched as good this long (a socket's expiry timer re-arms). */
const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Personal access tokens (docs/api.md, "API keys"): creation, listing,
 * revocation through the door, and the per-request check (`verify`, the
 * context builder's ApiKeyVerifier port).
 *
 * The per-request check costs no database read in the steady state: which
 * key a hash names (id and owner) never changes and is cached for good; what
 * the key may do now (revoked? scopes, expiry, the owner's roles) is read
 * through the session guard's cache, which every write through the door for
 * the owner invalidates on every instance, exactly as for sessions. A revoked
 * key's row is kept (marked), so it is refused as TOKEN_REVOKED, not as unknown.
 */
export class ApiKeyService {
  /** Hash → id and owner: immutable facts, so a cache entry is never stale (what may change is read through the guard). */
  private readonly owners = new LRUCache<string, { readonly id: string; readonly userId: string }>({ max: 50_000 });
  /** Key id → the last minute recorded for it (queued or written). */
  private readonly recorded = new LRUCache<string, number>({ max: 50_000 });
  /** Key id → the minute to write at the next flush. */
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ApiKeyServiceDeps) {}

  /** Creates a key for the viewer (a fresh token: the field says so); the key is in the answer only. */
  async create(viewer: Viewer, input: { name: string; scopes: readonly ApiScope[]; expiresIn?: number | null }, meta: RequestMeta): Promise<NewApiKey> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > NAME_MAX) throw badInput('name', `The name must be 1 to ${NAME_MAX} characters.`);
    const scopes = API_SCOPES.filter((scope) => input.scopes.includes(scope));
    if (scopes.length === 0) throw badInput('scopes', 'A key needs at least one scope.');
    if (scopes.some((scope) => scope.startsWith('ADMIN_')) && !viewer.user.roles.includes('ADMIN')) {
      throw new AppError(ErrorCode.FORBIDDEN, 'The ADMIN scopes need the ADMIN role.');
    }
    const expiresIn = input.expiresIn ?? null;
    if (expiresIn !== null && (!Number.isInteger(expiresIn) || expiresIn < EXPIRES_IN_MIN || expiresIn > EXPIRES_IN_MAX)) {
      throw badInput('expiresIn', `expiresIn is in seconds, from ${EXPIRES_IN_MIN} (1 hour) to ${EXPIRES_IN_MAX} (1 year).`);
    }
    const now = this.deps.clock.now();
    const key = generateApiKey();
    const userId = viewer.user.id;
    const apiKey = await this.deps.sessions.open(async (tx) => {
      const created = await repository.insertApiKey(tx.db, {
        id: randomUUID(),
        userId,
        name,
        hash: hashApiKey(key),
        prefix: prefixOf(key),
        scopes,
        expiresAt: expiresIn === null ? null : now + expiresIn * 1000,
        now,
      });
      await tx.audit({
        type: 'apikey.created',
        userId,
        sessionId: viewer.sessionId,
        meta,
        details: { keyId: created.id, name, scopes: [...scopes], expiresAt: created.expiresAt?.toISOString() ?? null },
      });
      return created;
    });
    this.deps.logger.info({ event: 'apikey.created', userId, keyId: apiKey.id, requestId: meta.requestId }, 'apikey.created');
    return { key, apiKey };
  }

  /** The user's keys that are not revoked, oldest first. */
  list(userId: string): Promise<ApiKey[]> {
    return repository.listApiKeys(this.deps.db, userId);
  }

  /** Revokes one of the viewer's own keys; false for an unknown key, someone else's, or one already revoked. */
  async revoke(viewer: Viewer, keyId: string, meta: RequestMeta): Promise<boolean> {
    const userId = viewer.user.id;
    const revoked = await this.revokeThrough(userId, keyId, {
      userId,
      actorId: userId,
      sessionId: viewer.sessionId,
      meta,
    });
    return revoked.length > 0;
  }

  /** Revokes every key of `userId` (an admin, or the CLI as actor `cli`); returns how many. */
  async revokeAllOf(actor: Actor, userId: string, meta: RequestMeta | null): Promise<number> {
    const revoked = await this.revokeThrough(userId, null, { userId, actorId: actor.id, sessionId: actor.sessionId, meta });
    return revoked.length;
  }

  /**
   * The request check (graphql/context.ts): the checksum first, with no I/O at
   * all, then the cached lookups. Unknown or malformed: INVALID_TOKEN; revoked:
   * TOKEN_REVOKED; expired: TOKEN_EXPIRED. A key over its rate limit still
   * yields its viewer, with `retryAfter` set: the permission layer answers
   * RATE_LIMITED, never UNAUTHENTICATED. `charge: false` (a socket's re-check)
   * neither counts against the rate limit nor in the requests metric.
   */
  async verify(key: string, options: { readonly charge: boolean }): Promise<ApiKeyVerdict> {
    if (!isWellFormedApiKey(key)) return this.refused('invalid', 'INVALID_TOKEN', options.charge);
    const hash = hashApiKey(key);
    let owner = this.owners.get(hash);
    if (owner === undefined) {
      const found = await repository.findApiKeyOwner(this.deps.db, hash);
      // Unknown hashes are not cached: anyone can make up well-formed keys, and they must not evict real ones.
      if (found === null) return this.refused('invalid', 'INVALID_TOKEN', options.charge);
      owner = found;
      this.owners.set(hash, owner);
    }
    const { id, userId } = owner;
    const state: ApiKeyState | null = await this.deps.sessions.checkUserState(apiKeySessionId(id), userId, () => repository.readApiKeyState(this.deps.db, id));
    if (state === null) return this.refused('invalid', 'INVALID_TOKEN', options.charge);
    if (state.revoked) return this.refused('revoked', 'TOKEN_REVOKED', options.charge);
    const now = this.deps.clock.now();
    if (state.expiresAt !== null && state.expiresAt <= now) return this.refused('expired', 'TOKEN_EXPIRED', options.charge);
    let retryAfter: number | null = null;
    if (options.charge) {
      retryAfter = this.deps.rateLimit.charge(id);
      this.recordUse(id, now);
      this.deps.requests.inc({ outcome: retryAfter === null ? 'ok' : 'rate_limited' });
    }
    return {
      ok: true,
      viewer: {
        user: state.user,
        sessionId: apiKeySessionId(id),
        fresh: false,
        tokenExpiresAt: state.expiresAt ?? NEVER,
        apiKey: { id, scopes: state.scopes, retryAfter },
      },
    };
  }

  /** Starts writing the minutes keys were used in, in batches. */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.deps.flushIntervalMs ?? 15_000);
    this.timer.unref();
  }

  /** Stops the batches, after writing what is pending. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([this.flush(), this.deps.rateLimit.stop()]);
  }

  /** Writes the pending `lastUsedAt` minutes now: one UPDATE per minute, for every key used in it. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const pending = this.pending;
      if (pending.size === 0) return;
      this.pending = new Map();
      const byMinute = new Map<number, string[]>();
      for (const [id, minute] of pending) byMinute.set(minute, [...(byMinute.get(minute) ?? []), id]);
      try {
        for (const [minute, ids] of byMinute) await repository.touchApiKeys(this.deps.db, ids, minute);
      } catch (error) {
        // Lost minutes are harmless (lastUsedAt is a hint); the next use queues its minute again.
        for (const id of pending.keys()) this.recorded.delete(id);
        this.deps.logger.warn({ err: error }, 'could not record when API keys were used');
      }
    });
    return this.flushing;
  }

  private async revokeThrough(userId: string, keyId: string | null, audit: { userId: string; actorId: string; sessionId: string | null; meta: RequestMeta | null }): Promise<string[]> {
    const revoked = await this.deps.sessions.change(userId, async (tx) => {
      const ids = await repository.revokeApiKeys(tx.db, userId, keyId, this.deps.clock.now());
      if (ids.length === 0) return ids;
      // Announced after the commit: every instance closes the keys' sockets; the guard's epoch already moved.
      tx.apiKeysRevoked(ids);
      for (const id of ids) {
        await tx.audit({
          type: 'apikey.revoked',
          userId,
          actorId: audit.actorId,
          sessionId: audit.sessionId,
          meta: audit.meta,
          details: { keyId: id, by: audit.actorId === userId ? 'owner' : audit.actorId === CLI_ACTOR ? 'cli' : 'admin' },
        });
      }
      return ids;
    });
    if (revoked.length > 0) this.deps.logger.info({ event: 'apikey.revoked', userId, keyIds: revoked, actorId: audit.actorId }, 'apikey.revoked');
    return revoked;
  }

  /** Queues the minute of this use, once per key and minute: no write per request. */
  private recordUse(id: string, now: number): void {
    const minute = Math.floor(now / MINUTE) * MINUTE;
    if (this.recorded.get(id) === minute) return;
    this.recorded.set(id, minute);
    this.pending.set(id, minute);
  }

  private refused(outcome: ApiKeyOutcome, reason: 'INVALID_TOKEN' | 'TOKEN_REVOKED' | 'TOKEN_EXPIRED', counted = true): ApiKeyVerdict {
    if (counted) this.deps.requests.inc({ outcome });
    return { ok: false, reason };
  }
}
