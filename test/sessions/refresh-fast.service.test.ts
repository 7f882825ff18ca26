import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/database.js';
import { allMigrations } from '../../src/migrations.js';
import { createFastRotations } from '../../src/sessions/refresh-rotation.repository.js';
import { insertSession } from '../../src/sessions/session.repository.js';
import { insertUser } from '../../src/users/user.repository.js';
import { BACKEND, createDatabase } from '../helpers/backend.js';
import { decodeClaims } from '../helpers/jwt.js';
import { META, PASSWORD, startServices, type ServiceHarness } from '../helpers/services.js';

/*
 * Refresh as the server runs it: on SQLite the common case (the live token
 * of an open session) rotates in one synchronous step, and the rotations of
 * one event-loop turn share a commit (sessions/refresh-rotation.repository.ts);
 * on PostgreSQL every refresh takes the general path. The contract is the
 * same either way; refresh-rotation.test.ts steps through the general path.
 */

const MANY_LOGINS = {
  RATE_LIMIT_LOGIN_PAIR: '1000',
  RATE_LIMIT_LOGIN_USERNAME: '1000/1m',
  RATE_LIMIT_LOGIN_ADDRESS: '1000/1m',
};

let h: ServiceHarness;
beforeEach(async () => {
  h = await startServices(MANY_LOGINS);
});
afterEach(async () => {
  await h.stop();
});

async function generation(sessionId: string): Promise<number> {
  const row = await h.core.db.selectFrom('sessions').select('refresh_generation').where('id', '=', sessionId).executeTakeFirstOrThrow();
  return row.refresh_generation;
}

describe(`refresh as the server runs it (${BACKEND})`, () => {
  it('two refreshes of one token at once: both stay signed in on one chain, and the session advanced once', async () => {
    const first = await h.services.signIn.signup('alice', PASSWORD, META);
    const sessionId = decodeClaims(first.accessToken).sid;
    const [a, b] = await Promise.all([h.services.tokens.refresh(first.refreshToken, META), h.services.tokens.refresh(first.refreshToken, META)]);
    expect(a.refreshToken).toBe(b.refreshToken);
    expect(decodeClaims(a.accessToken).sid).toBe(sessionId);
    expect(decodeClaims(b.accessToken).sid).toBe(sessionId);
    expect(await generation(sessionId)).toBe(1);
    const next = await h.services.tokens.refresh(a.refreshToken, META);
    expect(decodeClaims(next.accessToken).sid).toBe(sessionId);
    expect(await generation(sessionId)).toBe(2);
  });

  it('twenty sessions refreshed at once each advance once, and every new token works', async () => {
    await h.services.signIn.signup('bob', PASSWORD, META);
    const pairs = [];
    for (let i = 0; i < 20; i++) pairs.push(await h.services.signIn.login('bob', PASSWORD, META));
    const rotated = await Promise.all(pairs.map((p) => h.services.tokens.refresh(p.refreshToken, META)));
    for (const [i, r] of rotated.entries()) {
      expect(decodeClaims(r.accessToken).sid).toBe(decodeClaims(pairs[i]!.accessToken).sid);
      expect(await generation(decodeClaims(r.accessToken).sid)).toBe(1);
    }
    expect(new Set(rotated.map((r) => r.refreshToken)).size).toBe(20);
    const again = await Promise.all(rotated.map((r) => h.services.tokens.refresh(r.refreshToken, META)));
    expect(again.map((r) => decodeClaims(r.accessToken).sid)).toEqual(pairs.map((p) => decodeClaims(p.accessToken).sid));
  });

  it('the token of an ended or expired session does not rotate', async () => {
    const ended = await h.services.signIn.signup('carol', PASSWORD, META);
    const endedClaims = decodeClaims(ended.accessToken);
    await h.services.sessions.endSessions(endedClaims.sub, { sessionId: endedClaims.sid }, 'logout');
    await expect(h.services.tokens.refresh(ended.refreshToken, META)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });

    const expiring = await h.services.signIn.login('carol', PASSWORD, META);
    h.clock.advance(30 * 86_400 + 1); // REFRESH_TOKEN_TTL's default, 30 days
    await expect(h.services.tokens.refresh(expiring.refreshToken, META)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    expect(await generation(decodeClaims(expiring.accessToken).sid)).toBe(0);
  });

  it('a token reused after the grace window ends its session', async () => {
    const first = await h.services.signIn.signup('dave', PASSWORD, META);
    const claims = decodeClaims(first.accessToken);
    const second = await h.services.tokens.refresh(first.refreshToken, META);
    h.clock.advance(11);
    await expect(h.services.tokens.refresh(first.refreshToken, META)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    expect(await h.services.sessions.checkSession(claims.sid, claims.sub)).toEqual({ active: false });
    await expect(h.services.tokens.refresh(second.refreshToken, META)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
  });

  it('rotates the live token in one step, not through the general path', async () => {
    const first = await h.services.signIn.signup('frank', PASSWORD, META);
    h.gate.log.length = 0;
    await h.gate.as('A', () => h.services.tokens.refresh(first.refreshToken, META));
    const queries = h.gate.log.filter((q) => q.actor === 'A').map((q) => q.label);
    expect(queries).not.toContain('select:refresh_tokens');
    expect(queries).not.toContain('update:sessions');
  });
});

describe(`the one-step rotation (${BACKEND})`, () => {
  let dispose: () => Promise<void>;
  let db: Db;
  const NOW = Date.parse('2026-12-01T09:00:00Z');
  beforeEach(async () => {
    if (BACKEND === 'sqlite') {
      const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-rotation-'));
      db = openDatabase({
        dialect: 'sqlite',
        file: path.join(dir, 'db.sqlite'),
      });
      dispose = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const database = await createDatabase();
      db = openDatabase({
        dialect: 'postgres',
        url: database.url,
        poolSize: 4,
      });
      dispose = database.drop;
    }
    await migrateToLatest(db, allMigrations(BACKEND));
    await insertUser(db, {
      id: 'u1',
      username: 'erin',
      roles: ['USER'],
      now: NOW,
    });
    for (const n of [1, 2, 3]) {
      await insertSession(db, {
        id: `s${n}`,
        userId: 'u1',
        userAgent: null,
        now: NOW,
        expiresAt: NOW + 86_400_000,
        refreshTokenHash: `h${n}`,
        amr: ['pwd'],
      });
    }
  });
  afterEach(async () => {
    await db.destroy();
    await dispose();
  });

  const state = (id: string) =>
    db
      .selectFrom('sessions')
      .innerJoin('refresh_tokens', 'refresh_tokens.session_id', 'sessions.id')
      .where('sessions.id', '=', id)
      .select(['refresh_generation', 'token_hash', 'generation', 'used_at'])
      .orderBy('generation')
      .execute();

  it('of one token twice at once: one advances, the other declines', async () => {
    const fast = createFastRotations(db, BACKEND);
    const at = (nextHash: string) => ({
      hash: 'h1',
      nextHash,
      now: NOW + 1000,
      expiresAt: NOW + 86_400_000,
    });
    const results = await Promise.all([fast.rotate(at('a')), fast.rotate(at('b'))]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const rows = await state('s1');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      refresh_generation: 1,
      generation: 1,
      used_at: null,
    });
  });

  // SQLite: one transaction with a savepoint each; PostgreSQL: one statement each.
  it('rotations of one turn each succeed or fail alone', async () => {
    const fast = createFastRotations(db, BACKEND);
    const input = (n: number, nextHash: string) => ({
      hash: `h${n}`,
      nextHash,
      now: NOW + 1000,
      expiresAt: NOW + 2 * 86_400_000,
    });
    // The second one's successor collides with the third session's live token: its insert fails.
    const results = await Promise.allSettled([fast.rotate(input(1, 'n1')), fast.rotate(input(2, 'h3')), fast.rotate(input(3, 'n3'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[0]).toMatchObject({
      value: { id: 's1', userId: 'u1', refreshGeneration: 1, amr: ['pwd'] },
    });
    expect(await state('s1')).toMatchObject([
      { token_hash: 'h1', used_at: expect.anything() },
      { token_hash: 'n1', generation: 1, used_at: null, refresh_generation: 1 },
    ]);
    // Undone: the generation did not move and its token is still live.
    expect(await state('s2')).toEqual([{ refresh_generation: 0, token_hash: 'h2', generation: 0, used_at: null }]);
    expect(await state('s3')).toMatchObject([{ token_hash: 'h3' }, { token_hash: 'n3', refresh_generation: 1 }]);
  });

  it('declines what is not the common case, writing nothing', async () => {
    const fast = createFastRotations(db, BACKEND);
    const at = (hash: string, now = NOW + 1000) => ({
      hash,
      nextHash: `next-${hash}-${now}`,
      now,
      expiresAt: now + 86_400_000,
    });
    expect(await fast.rotate(at('unknown'))).toBeNull();
    expect(await fast.rotate(at('h1'))).not.toBeNull();
    expect(await fast.rotate(at('h1'))).toBeNull(); // used: the general path decides between grace and theft
    expect(await fast.rotate(at('h2', NOW + 86_400_000))).toBeNull(); // the session expired at that instant
    await db
      .updateTable('sessions')
      .set({ ended_at: new Date(NOW).toISOString() })
      .where('id', '=', 's3')
      .execute();
    expect(await fast.rotate(at('h3'))).toBeNull();
    expect(await fast.rotate({ ...at('h2'), belongs: (id) => id !== 's2' })).toBeNull(); // a CSRF value of another session
    expect(await state('s2')).toEqual([{ refresh_generation: 0, token_hash: 'h2', generation: 0, used_at: null }]);
    expect(await state('s3')).toEqual([{ refresh_generation: 0, token_hash: 'h3', generation: 0, used_at: null }]);
  });

  // One connection on SQLite: the rotation must wait for it (PostgreSQL's pool gives each its own).
  if (BACKEND === 'sqlite') {
    it('waits for a Kysely transaction holding the connection, and is not part of it', async () => {
      const fast = createFastRotations(db, BACKEND);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const inTransaction = db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ username: 'renamed' }).where('id', '=', 'u1').execute();
        await held;
        throw new Error('rolled back on purpose');
      });
      const rotation = fast.rotate({
        hash: 'h1',
        nextHash: 'n1',
        now: NOW + 1000,
        expiresAt: NOW + 86_400_000,
      });
      let rotated = false;
      void rotation.then(() => (rotated = true));
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(rotated).toBe(false);
      release();
      await expect(inTransaction).rejects.toThrow('rolled back on purpose');
      expect(await rotation).toMatchObject({ id: 's1', refreshGeneration: 1 });
      // The rollback took the rename and left the rotation.
      expect(await db.selectFrom('users').select('username').executeTakeFirstOrThrow()).toEqual({ username: 'erin' });
      expect(await state('s1')).toMatchObject([{ token_hash: 'h1' }, { token_hash: 'n1', refresh_generation: 1 }]);
    });
  }
});
