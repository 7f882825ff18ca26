import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/platform/logger.js';
import type { AuthEventBus, AuthEventListener, BusStatus } from '../../src/sessions/event-bus.js';
import { LiveCredentials, type InvalidReason, type WatchedCredential } from '../../src/sessions/live-credentials.js';
import type { AuthEvent } from '../../src/sessions/auth-events.js';
import type { SessionCheck } from '../../src/sessions/session.js';
import type { Role, User } from '../../src/users/user.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';

/** A bus driven by hand: what it delivers, and its status. */
class FakeBus implements AuthEventBus {
  private readonly listeners = new Set<AuthEventListener>();
  private readonly statusListeners = new Set<(status: BusStatus) => void>();
  status: BusStatus = 'up';
  publish(event: AuthEvent): void {
    for (const listener of this.listeners) listener(event, 'local');
  }
  subscribe(listener: AuthEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onStatus(listener: (status: BusStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }
  setStatus(status: BusStatus): void {
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  listenerCount(): number {
    return this.listeners.size + this.statusListeners.size;
  }
}

/** The session guard's answers, by session id; `'fail'` throws as an unreachable database does. */
class FakeSessions {
  readonly state = new Map<string, { userId: string; roles: readonly Role[] } | 'ended' | 'fail'>();
  calls = 0;
  async checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    this.calls++;
    const entry = this.state.get(sessionId);
    if (entry === 'fail') throw new Error('database unavailable');
    if (entry === undefined || entry === 'ended' || entry.userId !== userId) return { active: false };
    return { active: true, user: user(userId, entry.roles) };
  }
}

function user(id: string, roles: readonly Role[]): User {
  return { id, username: id, roles, createdAt: new Date(0), email: null, emailVerified: false };
}

const TOLERANCE_SECONDS = 5;
const RECHECK_MS = 30_000;
const DEGRADED_MS = 1_000;

describe('live credentials', () => {
  let clock: ManualClock;
  let bus: FakeBus;
  let sessions: FakeSessions;
  let logger: Logger;
  let live: LiveCredentials;
  let invalid: Map<string, InvalidReason[]>;

  /** Watches a credential of `userId` on `sessionId`, valid for an hour; its verdicts are recorded under the session id. */
  const watch = (sessionId: string, userId: string, roles: readonly Role[] = ['USER'], overrides: Partial<WatchedCredential> = {}) => {
    sessions.state.set(sessionId, { userId, roles });
    const credential: WatchedCredential = { userId, sessionId, roles, tokenExpiresAt: clock.now() + 3_600_000, ...overrides };
    return live.watch(credential, (reason) => invalid.set(sessionId, [...(invalid.get(sessionId) ?? []), reason]));
  };

  beforeEach(() => {
    vi.useFakeTimers();
    clock = new ManualClock(1_700_000_000_000);
    bus = new FakeBus();
    sessions = new FakeSessions();
    logger = capturingLogger().logger;
    invalid = new Map();
    live = new LiveCredentials({
      bus,
      sessions,
      clock,
      logger,
      clockToleranceSeconds: TOLERANCE_SECONDS,
      recheckIntervalMs: RECHECK_MS,
      degradedRecheckIntervalMs: DEGRADED_MS,
    });
  });
  afterEach(() => {
    live.stop();
    vi.useRealTimers();
  });

  it('a session ended closes exactly its sockets', async () => {
    const watches = [watch('s1', 'u1'), watch('s2', 'u1'), watch('s3', 'u2'), watch('s4', 'u2')];
    await Promise.all(watches.map((w) => w.confirmed));
    bus.publish({ type: 'sessions_ended', userId: 'u1', sessionIds: ['s1', 's3'], reason: 'logout' });
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['TOKEN_REVOKED'], s3: ['TOKEN_REVOKED'] });
    // Told once: the same event again, or the periodic re-check, says nothing more.
    bus.publish({ type: 'sessions_ended', userId: 'u1', sessionIds: ['s1', 's3'], reason: 'logout' });
    sessions.state.set('s1', 'ended');
    await vi.advanceTimersByTimeAsync(RECHECK_MS);
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['TOKEN_REVOKED'], s3: ['TOKEN_REVOKED'] });
    expect(live.countOf('u1')).toBe(1);
    expect(live.countOf('u2')).toBe(1);
  });

  it('an unwatched credential is never reported, and no longer counts', async () => {
    const w = watch('s1', 'u1');
    await w.confirmed;
    expect(live.countOf('u1')).toBe(1);
    w.unwatch();
    w.unwatch();
    expect(live.countOf('u1')).toBe(0);
    bus.publish({ type: 'sessions_ended', userId: 'u1', sessionIds: ['s1'], reason: 'logout' });
    await vi.advanceTimersByTimeAsync(3_600_000 + TOLERANCE_SECONDS * 1000);
    expect(invalid.size).toBe(0);
  });

  it('a roles change with the same set of roles in another order does not close; another set closes that user’s sockets only', async () => {
    await Promise.all([watch('s1', 'u1', ['USER', 'ADMIN']).confirmed, watch('s2', 'u1', ['USER', 'ADMIN']).confirmed, watch('s3', 'u2', ['USER']).confirmed]);
    bus.publish({ type: 'roles_changed', userId: 'u1', user: user('u1', ['ADMIN', 'USER']) });
    bus.publish({ type: 'roles_changed', userId: 'u1', user: user('u1', ['USER', 'ADMIN', 'USER']) });
    expect(invalid.size).toBe(0);
    bus.publish({ type: 'roles_changed', userId: 'u1', user: user('u1', ['USER']) });
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['ROLES_CHANGED'], s2: ['ROLES_CHANGED'] });
  });

  it('expiry closes at exp + the clock tolerance, read from the injected clock', async () => {
    const exp = clock.now() + 60_000;
    await watch('s1', 'u1', ['USER'], { tokenExpiresAt: exp }).confirmed;
    const justBefore = exp + TOLERANCE_SECONDS * 1000 - 1 - clock.now();
    clock.advance(justBefore / 1000);
    await vi.advanceTimersByTimeAsync(justBefore);
    expect(invalid.size).toBe(0);
    clock.advance(0.001);
    await vi.advanceTimersByTimeAsync(1);
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['TOKEN_EXPIRED'] });
    expect(live.countOf('u1')).toBe(0);
  });

  it('a token already past exp + tolerance is invalidated at once', () => {
    watch('s1', 'u1', ['USER'], { tokenExpiresAt: clock.now() - TOLERANCE_SECONDS * 1000 - 1 });
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['TOKEN_EXPIRED'] });
  });

  it('checks once more right after listing: a revocation that raced the caller’s own check is caught', async () => {
    // The caller's own check passed; then the session was revoked and announced, before watch() listed it.
    sessions.state.set('s1', 'ended');
    const w = live.watch({ userId: 'u1', sessionId: 's1', roles: ['USER'], tokenExpiresAt: clock.now() + 3_600_000 }, (reason) => invalid.set('s1', [reason]));
    expect(invalid.size).toBe(0);
    await w.confirmed;
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['TOKEN_REVOKED'] });
  });

  it('the periodic re-check closes what the bus missed', async () => {
    await Promise.all([watch('s1', 'u1').confirmed, watch('s2', 'u2').confirmed]);
    sessions.state.set('s1', 'ended');
    sessions.state.set('s2', { userId: 'u2', roles: ['USER', 'ADMIN'] });
    await vi.advanceTimersByTimeAsync(RECHECK_MS - 1);
    expect(invalid.size).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['TOKEN_REVOKED'], s2: ['ROLES_CHANGED'] });
  });

  it('while the bus is down, re-checks at the degraded interval and fails safe when the guard cannot answer; once back up, checks once more', async () => {
    await Promise.all([watch('s1', 'u1').confirmed, watch('s2', 'u2').confirmed, watch('s3', 'u3').confirmed]);
    // Up: a failing guard proves nothing, the bus still vouches.
    sessions.state.set('s1', 'fail');
    await vi.advanceTimersByTimeAsync(RECHECK_MS);
    expect(invalid.size).toBe(0);

    bus.setStatus('down');
    await vi.advanceTimersByTimeAsync(DEGRADED_MS);
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['UNVERIFIABLE'] });
    sessions.state.set('s2', 'ended');
    await vi.advanceTimersByTimeAsync(DEGRADED_MS);
    expect(invalid.get('s2')).toEqual(['TOKEN_REVOKED']);

    sessions.state.set('s3', 'ended'); // announced while the bus was down: lost, but the pass after its return sees it
    const before = sessions.calls;
    bus.setStatus('up');
    await vi.advanceTimersByTimeAsync(0);
    expect(sessions.calls).toBe(before + 1);
    expect(invalid.get('s3')).toEqual(['TOKEN_REVOKED']);
    // Degraded re-checks stop with the bus back.
    await vi.advanceTimersByTimeAsync(DEGRADED_MS * 5);
    expect(sessions.calls).toBe(before + 1);
  });

  it('starts degraded when the bus is already down', async () => {
    live.stop();
    bus = new FakeBus();
    bus.status = 'down';
    live = new LiveCredentials({ bus, sessions, clock, logger, clockToleranceSeconds: 0, recheckIntervalMs: RECHECK_MS, degradedRecheckIntervalMs: DEGRADED_MS });
    await watch('s1', 'u1').confirmed;
    sessions.state.set('s1', 'ended');
    await vi.advanceTimersByTimeAsync(DEGRADED_MS);
    expect(Object.fromEntries(invalid)).toEqual({ s1: ['TOKEN_REVOKED'] });
  });

  it('stop() leaves the bus and stops re-checking', async () => {
    await watch('s1', 'u1').confirmed;
    const before = sessions.calls;
    live.stop();
    expect(bus.listenerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(RECHECK_MS * 3);
    expect(sessions.calls).toBe(before);
  });
});
