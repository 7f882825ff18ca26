import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { AuthEventBus, BusStatus } from './event-bus.js';
import type { AuthEvent } from './auth-events.js';
import type { SessionService } from './session.service.js';
import type { SessionCheck } from './session.js';
import { apiKeySessionId } from './viewer.js';

/** A credential held open past the request that checked it (a WebSocket's token and session). */
export interface WatchedCredential {
  readonly userId: string;
  readonly sessionId: string;
  /** The user's roles when the credential was accepted; a change to the set invalidates it. */
  readonly roles: readonly string[];
  /** The access token's `exp`, in milliseconds; the credential lives the clock tolerance longer. */
  readonly tokenExpiresAt: number;
  /** How the credential is checked again, when not by its session: an API key (its sessionId is `apiKeySessionId(id)`, which `api_keys_revoked` names) gets the same check as its requests. */
  readonly check?: () => Promise<SessionCheck>;
}

/** Why a watched credential stopped being good; `UNVERIFIABLE`: neither the bus nor the session guard can vouch for it. */
export type InvalidReason = 'TOKEN_EXPIRED' | 'TOKEN_REVOKED' | 'ROLES_CHANGED' | 'UNVERIFIABLE';

/** Stops watching one credential (idempotent). */
export type Unwatch = () => void;

/** One credential being watched. */
export interface Watch {
  readonly unwatch: Unwatch;
  /**
   * Settles once the credential was checked again right after it was listed
   * (a verdict against it has gone to onInvalid by then). A revocation
   * announced between the caller's own check and watch() found nothing to
   * invalidate; the door bumps before it announces, so this check sees it.
   */
  readonly confirmed: Promise<void>;
}

/** What the watcher needs. */
export interface LiveCredentialsDeps {
  /** The door's events from every instance, and whether they can be trusted to arrive. */
  readonly bus: AuthEventBus;
  readonly sessions: Pick<SessionService, 'checkSession'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** JWT_CLOCK_TOLERANCE in seconds: a token is accepted this long after `exp`, so it is watched as good that long too. */
  readonly clockToleranceSeconds: number;
  /** Every watched credential is checked against the session guard this often (belt and braces to the bus). */
  readonly recheckIntervalMs: number;
  /** While the bus is down, this often instead. */
  readonly degradedRecheckIntervalMs: number;
}

interface Entry {
  readonly credential: WatchedCredential;
  readonly roles: ReadonlySet<string>;
  readonly onInvalid: (reason: InvalidReason) => void;
  expiry: NodeJS.Timeout | null;
  watched: boolean;
}

/** setTimeout's limit; a longer wait is re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
const RECHECK_CONCURRENCY = 32;

/**
 * Watches credentials that outlive their request. Each one is invalidated at
 * its token's `exp` (plus the clock tolerance), and as soon as the auth event
 * bus says its session ended or its user's roles changed, on whichever
 * instance the write happened. When the bus cannot vouch for that (its
 * connection is lost), every credential is re-checked against the session
 * guard until it is back, and once more after; and periodically anyway. A
 * credential that cannot be checked while the bus is down is invalidated
 * (fail safe). The holder only acts on what it is told.
 */
export class LiveCredentials {
  private readonly entries = new Set<Entry>();
  private readonly bySession = new Map<string, Set<Entry>>();
  private readonly byUser = new Map<string, Set<Entry>>();
  private readonly periodic: NodeJS.Timeout;
  private degradedTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: readonly (() => void)[];
  private rechecking: Promise<void> | null = null;
  private recheckAgain = false;

  /** Starts listening to the bus and the periodic re-check. */
  constructor(private readonly deps: LiveCredentialsDeps) {
    this.unsubscribe = [deps.bus.subscribe((event) => this.onAuthEvent(event)), deps.bus.onStatus((status) => this.onBusStatus(status))];
    if (deps.bus.status === 'down') this.onBusStatus('down');
    this.periodic = setInterval(() => this.recheckAll(), deps.recheckIntervalMs);
    this.periodic.unref();
  }

  /** Watches `credential` until unwatched; calls onInvalid at most once, and stops watching when it does. */
  watch(credential: WatchedCredential, onInvalid: (reason: InvalidReason) => void): Watch {
    const entry: Entry = { credential, roles: new Set(credential.roles), onInvalid, expiry: null, watched: true };
    this.entries.add(entry);
    addTo(this.bySession, credential.sessionId, entry);
    addTo(this.byUser, credential.userId, entry);
    this.armExpiry(entry, credential.tokenExpiresAt + this.deps.clockToleranceSeconds * 1000);
    // A failed check here proves nothing new: the caller's own check just passed, and the periodic ones follow.
    const confirmed = entry.watched
      ? this.verdict(entry).then(
          (reason) => (reason === null ? undefined : this.invalidate(entry, reason)),
          () => undefined,
        )
      : Promise.resolve();
    return { unwatch: () => this.remove(entry), confirmed };
  }

  /** How many credentials of this user are watched. */
  countOf(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  /** Stops the timers and leaves the bus; watched credentials are left as they are. */
  stop(): void {
    clearInterval(this.periodic);
    if (this.degradedTimer) clearInterval(this.degradedTimer);
    this.degradedTimer = null;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  private remove(entry: Entry): void {
    if (!entry.watched) return;
    entry.watched = false;
    if (entry.expiry) clearTimeout(entry.expiry);
    entry.expiry = null;
    this.entries.delete(entry);
    removeFrom(this.bySession, entry.credential.sessionId, entry);
    removeFrom(this.byUser, entry.credential.userId, entry);
  }

  private invalidate(entry: Entry, reason: InvalidReason): void {
    if (!entry.watched) return;
    this.remove(entry);
    entry.onInvalid(reason);
  }

  private armExpiry(entry: Entry, expiresAt: number): void {
    const wait = expiresAt - this.deps.clock.now();
    if (wait <= 0) return this.invalidate(entry, 'TOKEN_EXPIRED');
    entry.expiry = setTimeout(() => this.armExpiry(entry, expiresAt), Math.min(wait, MAX_TIMER_MS));
    entry.expiry.unref();
  }

  /** What the session guard says of the credential now; null: still good. */
  private async verdict(entry: Entry): Promise<InvalidReason | null> {
    const { credential } = entry;
    const check = credential.check ? await credential.check() : await this.deps.sessions.checkSession(credential.sessionId, credential.userId);
    if (!check.active) return 'TOKEN_REVOKED';
    return sameRoles(check.user.roles, entry.roles) ? null : 'ROLES_CHANGED';
  }

  private async recheck(entry: Entry): Promise<void> {
    try {
      const reason = await this.verdict(entry);
      if (reason !== null) this.invalidate(entry, reason);
    } catch (error) {
      // Neither the bus nor the guard can vouch for this credential now: fail safe.
      if (entry.watched && this.deps.bus.status === 'down') {
        this.deps.logger.warn({ err: error, sessionId: entry.credential.sessionId }, 'cannot check a socket while the auth event bus is down; closing it');
        this.invalidate(entry, 'UNVERIFIABLE');
      }
    }
  }

  /** Invalidates what an event from any instance makes stale. */
  private onAuthEvent(event: AuthEvent): void {
    switch (event.type) {
      case 'sessions_ended':
        for (const id of event.sessionIds) for (const entry of [...(this.bySession.get(id) ?? [])]) this.invalidate(entry, 'TOKEN_REVOKED');
        return;
      case 'roles_changed':
        for (const entry of [...(this.byUser.get(event.userId) ?? [])]) if (!sameRoles(event.user.roles, entry.roles)) this.invalidate(entry, 'ROLES_CHANGED');
        return;
      case 'api_keys_revoked':
        for (const id of event.keyIds) for (const entry of [...(this.bySession.get(apiKeySessionId(id)) ?? [])]) this.invalidate(entry, 'TOKEN_REVOKED');
        return;
      case 'session_started':
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  private onBusStatus(status: BusStatus): void {
    if (status === 'down') {
      this.degradedTimer ??= setInterval(() => this.recheckAll(), this.deps.degradedRecheckIntervalMs);
      this.degradedTimer.unref();
      return;
    }
    if (this.degradedTimer) clearInterval(this.degradedTimer);
    this.degradedTimer = null;
    // Events published while the bus was down are lost: check everything once more.
    this.recheckAll();
  }

  /**
   * Checks every watched credential against the session guard. A request made
   * while a pass runs gets a pass of its own afterwards: the pass that follows
   * the bus's return must start after it, or it could miss a write announced
   * while the bus was down.
   */
  private recheckAll(): void {
    if (this.rechecking) {
      this.recheckAgain = true;
      return;
    }
    this.rechecking = (async () => {
      const all = [...this.entries];
      for (let i = 0; i < all.length; i += RECHECK_CONCURRENCY) {
        await Promise.all(all.slice(i, i + RECHECK_CONCURRENCY).map((entry) => this.recheck(entry)));
      }
    })().finally(() => {
      this.rechecking = null;
      if (this.recheckAgain) {
        this.recheckAgain = false;
        this.recheckAll();
      }
    });
  }
}

/** Whether two role lists grant the same roles, whatever their order. */
function sameRoles(roles: readonly string[], held: ReadonlySet<string>): boolean {
  const now = new Set(roles);
  return now.size === held.size && [...now].every((role) => held.has(role));
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
