import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PasswordHasher } from '../../src/credentials/password.js';
import { createLogger } from '../../src/platform/logger.js';
import { openRedis, type Redis } from '../../src/platform/redis.js';
import { LocalSessionGuard } from '../../src/sessions/guards/local-session-guard.js';
import { RedisSessionGuard } from '../../src/sessions/guards/redis-session-guard.js';
import { findSessionState, findSessionById } from '../../src/sessions/session.repository.js';
import { SessionService } from '../../src/sessions/session.service.js';
import type { SessionGuard } from '../../src/sessions/session-guard.js';
import { UserService } from '../../src/users/user.service.js';
import { BACKEND, serviceUrls } from '../helpers/backend.js';
import { decodeClaims } from '../helpers/jwt.js';
import { META, PASSWORD, startServices, type ServiceHarness } from '../helpers/services.js';

/*
 * The races the one door (SessionService.change) and the guards exist for,
 * driven step by step: a check that read the database just before a logout
 * or role change must not leave the old state cached, on one instance or on
 * several. Each test names the mutation of the code it catches.
 */

const logger = createLogger('silent');

/** A gate: `wait()` blocks until `open()`; `waiting` resolves once something waits. */
function barrier() {
  let open!: () => void;
  let arrived!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const waiting = new Promise<void>((r) => (arrived = r));
  return {
    waiting,
    open,
    async wait() {
      arrived();
      await opened;
    },
  };
}

let h: ServiceHarness;
let alice: { userId: string; sessionId: string };
beforeEach(async () => {
  h = await startServices();
  const pair = await h.services.signIn.signup('alice', PASSWORD, META);
  const claims = decodeClaims(pair.accessToken);
  alice = { userId: claims.sub, sessionId: claims.sid };
  // A second admin, so alice's roles can change freely.
  await h.services.users.createUser({ username: 'root', password: PASSWORD, roles: ['USER', 'ADMIN'] });
});
afterEach(async () => {
  await h.stop();
});

function door(guard: SessionGuard): { sessions: SessionService; users: UserService } {
  const sessions = new SessionService({ db: h.core.db, clock: h.clock, guard, bus: h.core.bus, logger });
  const users = new UserService({ db: h.core.db, clock: h.clock, hasher: new PasswordHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }), userChanges: sessions, logger });
  return { sessions, users };
}

if (BACKEND === 'sqlite') describe('one instance: the in-process guard (SQLite)', () => {
  /** A guard whose database read stops at a barrier after reading, before the guard caches what it read. */
  function slowGuard() {
    let gate: ReturnType<typeof barrier> | null = null;
    const guard = new LocalSessionGuard(h.core.db, {
      readState: async (db, id) => {
        const state = await findSessionState(db, id);
        if (gate) await gate.wait();
        return state;
      },
    });
    return { guard, pauseNextRead: () => (gate = barrier()) };
  }

  // Catches: LocalSessionGuard.load caching what it read unconditionally (no "only if no entry appeared meanwhile").
  it('a logout between a check’s read and its cache write leaves the session ended', async () => {
    const { guard, pauseNextRead } = slowGuard();
    const { sessions } = door(guard);
    const read = pauseNextRead();
    const check = guard.checkSession(alice.sessionId, alice.userId);
    await read.waiting; // the check has read "open" and not cached it yet
    expect(await sessions.endSessions(alice.userId, { sessionId: alice.sessionId }, 'logout')).toEqual([alice.sessionId]);
    read.open();
    await check; // answered a request that started before the logout did
    expect(await guard.checkSession(alice.sessionId, alice.userId)).toEqual({ active: false });
  });

  // Catches: the same unconditional cache write, for the user entry.
  it('a role change during a check’s read leaves the new roles cached', async () => {
    const { guard, pauseNextRead } = slowGuard();
    const { users } = door(guard);
    const read = pauseNextRead();
    const check = guard.checkSession(alice.sessionId, alice.userId);
    await read.waiting;
    await users.setRoles({ userId: 'root', sessionId: 'root' }, alice.userId, ['USER', 'ADMIN'], META);
    read.open();
    await check;
    expect(await guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true, user: { roles: ['USER', 'ADMIN'] } });
  });

  // Catches: the door skipping afterChange (the in-process guard learns of writes only there).
  it('the door writes the ended session through to the cache of the instance', async () => {
    const guard = new LocalSessionGuard(h.core.db);
    const { sessions } = door(guard);
    expect(await guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true });
    await sessions.endSessions(alice.userId, {}, 'logout_all');
    expect(await guard.checkSession(alice.sessionId, alice.userId)).toEqual({ active: false });
  });
});

if (BACKEND === 'postgres') describe('several instances: the Redis guard (PostgreSQL + Redis)', () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });

  /** One "instance": its own Redis connection and cache, the shared database and prefix. */
  async function instance(): Promise<{ guard: RedisSessionGuard; redis: Redis } & ReturnType<typeof door>> {
    const redis = openRedis(serviceUrls().redisUrl);
    clients.push(redis);
    await redis.connect();
    const guard = new RedisSessionGuard(h.core.db, redis, { prefix: h.storage.env.REDIS_PREFIX!, epochTtlSeconds: 3600, logger });
    return { guard, redis, ...door(guard) };
  }

  // Catches: the door not replacing the epoch after the commit (or doing it before the write).
  it('a check that read the database during a logout on another instance is not trusted afterwards', async () => {
    const a = await instance();
    const b = await instance();
    expect(await b.guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true });
    const write = barrier();
    const logout = a.sessions.change(alice.userId, async (tx) => {
      await write.wait(); // after the epoch moved, before the write
      return (await tx.endSessions({ sessionId: alice.sessionId }, 'logout')).length;
    });
    await write.waiting;
    // B reads the new epoch and the not-yet-ended session, and caches "open" under that epoch.
    expect(await b.guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true });
    write.open();
    expect(await logout).toBe(1);
    expect(await b.guard.checkSession(alice.sessionId, alice.userId)).toEqual({ active: false });
  });

  // Catches: the same, for setUserRoles (the role change commits inside UserService's own transaction).
  it('a role change on one instance during a check on another is seen on the next check', async () => {
    const a = await instance();
    const b = await instance();
    expect(await b.guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true, user: { roles: ['USER'] } });
    const paused = h.gate.pauseAfter('admin', 'select:users'); // inside the transaction, before the update
    const change = h.gate.as('admin', () => a.users.setRoles({ userId: 'root', sessionId: 'root' }, alice.userId, ['USER', 'ADMIN'], META));
    await paused.reached;
    expect(await b.guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true, user: { roles: ['USER'] } });
    paused.release();
    await change;
    expect(await b.guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true, user: { roles: ['USER', 'ADMIN'] } });
  });

  // Catches: the door writing before it has told Redis (or ignoring that it could not).
  it('with Redis unreachable the door refuses a logout and writes nothing', async () => {
    const a = await instance();
    a.redis.disconnect();
    await expect(a.sessions.endSessions(alice.userId, { sessionId: alice.sessionId }, 'logout')).rejects.toThrow();
    expect((await findSessionById(h.core.db, alice.sessionId))?.endedAt).toBeNull();
  });

  // Catches: a theft revocation lost because Redis was away (unannounced: 'proceed').
  it('with Redis unreachable a theft revocation still commits', async () => {
    const a = await instance();
    a.redis.disconnect();
    await a.sessions.change(alice.userId, async () => null, { unannounced: 'proceed' });
    await expect(a.sessions.change(alice.userId, async () => null)).rejects.toThrow();
  });
});

describe('every session-ending write announces itself once, after it committed', () => {
  it('logout, logoutAll, revokeSession, changePassword and setUserRoles emit their events', async () => {
    const events: string[] = [];
    h.core.bus.subscribe((e) => events.push(e.type === 'sessions_ended' ? `ended:${e.reason}:${e.sessionIds.length}` : e.type === 'roles_changed' ? `roles:${e.user.roles.join('+')}` : 'started'));
    const viewer = async (username: string) => {
      const pair = await h.services.signIn.login(username, PASSWORD, META);
      const c = decodeClaims(pair.accessToken);
      const user = (await h.services.users.getUser(c.sub))!;
      return { user, sessionId: c.sid, fresh: true, tokenExpiresAt: c.exp * 1000 };
    };
    const v1 = await viewer('alice');
    await h.services.tokens.logout(v1, META);
    const v2 = await viewer('alice');
    await h.services.tokens.revokeSession(v2, alice.sessionId, META);
    await h.services.signIn.changePassword(v2, PASSWORD, `${PASSWORD}!`, META);
    await h.services.tokens.logoutAll(v2, META);
    await h.services.users.setRoles({ userId: 'root', sessionId: 'root' }, alice.userId, ['USER', 'ADMIN'], META);
    expect(events).toEqual(['started', 'ended:logout:1', 'started', 'ended:revoked:1', 'ended:logout_all:1', 'roles:USER+ADMIN']);
  });
});

describe('the door owns the write: its transaction and what it reports', () => {
  // Catches: announcing (or caching) sessions a write ended before it committed, or after it rolled back.
  it('a write that ends sessions and then fails rolls them back and announces nothing', async () => {
    const events: string[] = [];
    h.core.bus.subscribe((e) => events.push(e.type));
    const failing = h.services.sessions.change(alice.userId, async (tx) => {
      expect(await tx.endSessions({}, 'logout_all')).toEqual([alice.sessionId]);
      throw new Error('the rest of the write failed');
    });
    await expect(failing).rejects.toThrow('the rest of the write failed');
    expect((await findSessionById(h.core.db, alice.sessionId))?.endedAt).toBeNull();
    expect(await h.services.sessions.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true });
    expect(events).toEqual([]);
  });

  // Catches: a write that ends sessions for two reasons reporting only one of them.
  it('refuses one write ending sessions for two reasons', async () => {
    await expect(
      h.services.sessions.change(alice.userId, async (tx) => {
        await tx.endSessions({ sessionId: 'none' }, 'logout');
        await tx.endSessions({}, 'revoked');
      }),
    ).rejects.toThrow('one reason');
    expect((await findSessionById(h.core.db, alice.sessionId))?.endedAt).toBeNull();
  });

  // Catches: a session opened through the door announced before its transaction committed.
  it('announces a session it opened only once the transaction committed', async () => {
    const events: string[] = [];
    h.core.bus.subscribe((e) => events.push(e.type));
    await expect(
      h.services.sessions.open(async (tx) => {
        await tx.startSession({ userId: alice.userId, userAgent: null, now: h.clock.now(), expiresAt: h.clock.now() + 60_000, refreshTokenHash: 'h'.repeat(43), amr: ['pwd'] });
        expect(events).toEqual([]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(events).toEqual([]);
    await h.services.signIn.login('alice', PASSWORD, META);
    expect(events).toEqual(['session_started']);
  });
});
