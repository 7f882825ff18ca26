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
  const pair = await h.services.auth.signup('alice', PASSWORD, META);
  const claims = decodeClaims(pair.accessToken);
  alice = { userId: claims.sub, sessionId: claims.sid };
  // A second admin, so alice's roles can change freely.
  await h.services.users.createUser({ username: 'root', password: PASSWORD, roles: ['USER', 'ADMIN'] });
});
afterEach(async () => {
  await h.stop();
});

function door(guard: SessionGuard): { sessions: SessionService; users: UserService } {
  const sessions = new SessionService({ db: h.app.db, clock: h.clock, guard, logger });
  const users = new UserService({ db: h.app.db, clock: h.clock, hasher: new PasswordHasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }), userChanges: sessions, logger });
  return { sessions, users };
}

if (BACKEND === 'sqlite') describe('one instance: the in-process guard (SQLite)', () => {
  /** A guard whose database read stops at a barrier after reading, before the guard caches what it read. */
  function slowGuard() {
    let gate: ReturnType<typeof barrier> | null = null;
    const guard = new LocalSessionGuard(h.app.db, {
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
    const guard = new LocalSessionGuard(h.app.db);
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
    const guard = new RedisSessionGuard(h.app.db, redis, { prefix: h.storage.env.REDIS_PREFIX!, epochTtlSeconds: 3600, logger });
    return { guard, redis, ...door(guard) };
  }

  // Catches: the door not replacing the epoch after the commit (or doing it before the write).
  it('a check that read the database during a logout on another instance is not trusted afterwards', async () => {
    const a = await instance();
    const b = await instance();
    expect(await b.guard.checkSession(alice.sessionId, alice.userId)).toMatchObject({ active: true });
    const write = barrier();
    const logout = a.sessions.change(alice.userId, async () => {
      await write.wait(); // after the epoch moved, before the write
      const ended = await h.app.db
        .updateTable('sessions')
        .set({ ended_at: new Date(h.clock.now()).toISOString(), end_reason: 'logout' })
        .where('id', '=', alice.sessionId)
        .returning('id')
        .execute();
      return { result: ended.length, change: { ended: { sessionIds: ended.map((r) => r.id), reason: 'logout' as const } } };
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
    expect((await findSessionById(h.app.db, alice.sessionId))?.endedAt).toBeNull();
  });

  // Catches: a theft revocation lost because Redis was away (unannounced: 'proceed').
  it('with Redis unreachable a theft revocation still commits', async () => {
    const a = await instance();
    a.redis.disconnect();
    await a.sessions.change(alice.userId, async () => ({ result: null, change: {} }), { unannounced: 'proceed' });
    await expect(a.sessions.change(alice.userId, async () => ({ result: null, change: {} }))).rejects.toThrow();
  });
});

describe('every session-ending write announces itself once, after it committed', () => {
  it('logout, logoutAll, revokeSession, changePassword and setUserRoles emit their events', async () => {
    const events: string[] = [];
    h.services.sessions.onEvent((e) => events.push(e.type === 'sessions_ended' ? `ended:${e.reason}:${e.sessionIds.length}` : e.type === 'roles_changed' ? `roles:${e.user.roles.join('+')}` : 'started'));
    const viewer = async (username: string) => {
      const pair = await h.services.auth.login(username, PASSWORD, META);
      const c = decodeClaims(pair.accessToken);
      const user = (await h.services.users.getUser(c.sub))!;
      return { user, sessionId: c.sid, fresh: true, tokenExpiresAt: c.exp * 1000 };
    };
    const v1 = await viewer('alice');
    await h.services.auth.logout(v1, META);
    const v2 = await viewer('alice');
    await h.services.auth.revokeSession(v2, alice.sessionId, META);
    await h.services.auth.changePassword(v2, PASSWORD, `${PASSWORD}!`, META);
    await h.services.auth.logoutAll(v2, META);
    await h.services.users.setRoles({ userId: 'root', sessionId: 'root' }, alice.userId, ['USER', 'ADMIN'], META);
    expect(events).toEqual(['started', 'ended:logout:1', 'started', 'ended:revoked:1', 'ended:logout_all:1', 'roles:USER+ADMIN']);
  });
});
