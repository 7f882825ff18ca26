import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKEND } from '../helpers/backend.js';
import { startCore, type CoreHarness } from '../helpers/core.js';
import { META, PASSWORD } from '../helpers/services.js';

/*
 * The door's audit trail on the core alone: an event commits with the change
 * it records or not at all, failures record on their own, and ending sessions
 * records `session.ended` with its reason and the write's context.
 */
let h: CoreHarness;
let userId: string;
beforeEach(async () => {
  h = await startCore();
  userId = (await h.core.users.createUser({ username: 'alice', password: PASSWORD, roles: ['USER'] })).id;
});
afterEach(() => h.stop());

const rows = () => h.core.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
const openSession = () =>
  h.core.sessions.open((tx) =>
    tx.startSession({ userId, userAgent: null, now: h.clock.now(), expiresAt: h.clock.now() + 86_400_000, refreshTokenHash: randomBytes(32).toString('base64url'), amr: ['pwd'] }),
  );

describe(`the door's audit trail (${BACKEND})`, () => {
  it('an event recorded by a write that then fails is rolled back with it', async () => {
    await expect(
      h.core.sessions.change(userId, async (tx) => {
        await tx.audit({ type: 'test.changed' });
        throw new Error('the write failed after recording');
      }),
    ).rejects.toThrow('the write failed after recording');
    expect(await rows()).toEqual([]);
  });

  it("fills in the door's user and the write's context; the event's own fields win", async () => {
    await h.core.sessions.change(
      userId,
      async (tx) => {
        await tx.audit({ type: 'test.plain', details: { n: 1 } });
        await tx.audit({ type: 'test.other', userId: null, actorId: 'someone', sessionId: 's-2', meta: null });
      },
      { by: { actorId: 'admin-1', sessionId: 's-1', meta: { clientAddress: '192.0.2.7', userAgent: 'agent' } } },
    );
    const [plain, other] = await rows();
    expect(plain).toMatchObject({ type: 'test.plain', user_id: userId, actor_id: 'admin-1', session_id: 's-1', ip: '192.0.2.7', user_agent: 'agent', details: '{"n":1}' });
    expect(other).toMatchObject({ type: 'test.other', user_id: null, actor_id: 'someone', session_id: 's-2', ip: null, user_agent: null, details: null });
  });

  it('record() commits on its own; ending sessions records session.ended with the reason and the ids', async () => {
    await h.core.sessions.record({ type: 'login.failure', userId, meta: META, details: { method: 'password' } });
    const a = await openSession();
    const b = await openSession();
    h.clock.advance(1);
    await h.core.sessions.endSessions(userId, {}, 'logout_all', { sessionId: a.id, meta: META });
    // Nothing to end: no event.
    await h.core.sessions.endSessions(userId, {}, 'logout_all');
    const events = await rows();
    expect(events.map((e) => e.type)).toEqual(['login.failure', 'session.ended']);
    const ended = events[1]!;
    expect(ended).toMatchObject({ user_id: userId, actor_id: userId, session_id: a.id, ip: META.clientAddress });
    expect(JSON.parse(ended.details!)).toEqual({ reason: 'logout_all', sessionIds: expect.arrayContaining([a.id, b.id]) });
  });
});
