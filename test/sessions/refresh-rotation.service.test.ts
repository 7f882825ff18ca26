import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthResult } from '../../src/sessions/token.service.js';
import { BACKEND } from '../helpers/backend.js';
import { decodeClaims } from '../helpers/jwt.js';
import { META, PASSWORD, startServices, type ServiceHarness } from '../helpers/services.js';

/*
 * Two rotations of one refresh token (two tabs refreshing at once), stopped
 * after each query of the first one in turn while the second runs. Whatever
 * the interleaving, the contract holds: both get a working pair of the same
 * session, the pair is the same (one chain), and the session advanced once.
 */

/** The queries one rotation makes, in order (read from a rotation run alone). */
const ROTATION_STEPS = ['select:refresh_tokens', 'select:sessions', 'update:sessions', 'update:refresh_tokens', 'insert:refresh_tokens'];

let h: ServiceHarness;
beforeEach(async () => {
  // The general path, query by query (on SQLite the common case otherwise runs in one synchronous step: refresh-fast.test.ts).
  h = await startServices({}, { fastRotations: false });
});
afterEach(async () => {
  await h.stop();
});

/**
 * Waits until `racer` has finished or is blocked. On PostgreSQL "blocked"
 * means waiting for a row lock the paused actor holds (seen in
 * pg_stat_activity); on SQLite every statement waits for the one connection
 * the paused transaction holds, so the racer cannot get further than its
 * first query: a few turns of the event loop let it reach that point.
 */
async function untilFinishedOrBlocked(racer: Promise<unknown>): Promise<void> {
  let done = false;
  void racer.then(
    () => (done = true),
    () => (done = true),
  );
  if (BACKEND === 'sqlite') {
    for (let i = 0; i < 20 && !done; i++) await new Promise((r) => setImmediate(r));
    return;
  }
  const client = new pg.Client({ connectionString: h.storage.env.DATABASE_URL });
  await client.connect();
  try {
    for (let i = 0; i < 500 && !done; i++) {
      const { rows } = await client.query<{ n: string }>(
        "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
      );
      if (Number(rows[0]!.n) > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await client.end();
  }
}

async function generation(sessionId: string): Promise<number> {
  const row = await h.core.db.selectFrom('sessions').select('refresh_generation').where('id', '=', sessionId).executeTakeFirstOrThrow();
  return row.refresh_generation;
}

describe(`two rotations of one refresh token, interleaved step by step (${BACKEND})`, () => {
  it('a rotation alone makes the queries this test steps through', async () => {
    const first = await h.services.signIn.signup('alice', PASSWORD, META);
    h.gate.log.length = 0;
    await h.gate.as('A', () => h.services.tokens.refresh(first.refreshToken, META));
    const steps = h.gate.log.filter((q) => q.actor === 'A').map((q) => q.label);
    expect(steps.slice(0, ROTATION_STEPS.length)).toEqual(ROTATION_STEPS);
  });

  for (const [index, step] of ROTATION_STEPS.entries()) {
    it(`A paused after ${step} (step ${index + 1}) while B rotates the same token`, async () => {
      const first = await h.services.signIn.signup('alice', PASSWORD, META);
      const sessionId = decodeClaims(first.accessToken).sid;
      const paused = h.gate.pauseAfter('A', step);
      const a = h.gate.as('A', () => h.services.tokens.refresh(first.refreshToken, META));
      await paused.reached;
      const b = h.gate.as('B', () => h.services.tokens.refresh(first.refreshToken, META));
      await untilFinishedOrBlocked(b);
      paused.release();
      const [ra, rb] = (await Promise.all([a, b])) as [AuthResult, AuthResult];

      // Both tabs stay signed in, on the same session and the same chain.
      expect(decodeClaims(ra.accessToken).sid).toBe(sessionId);
      expect(decodeClaims(rb.accessToken).sid).toBe(sessionId);
      expect(ra.refreshToken).toBe(rb.refreshToken);
      expect(await generation(sessionId)).toBe(1);
      // That one chain is alive: its token rotates again.
      const next = await h.services.tokens.refresh(ra.refreshToken, META);
      expect(decodeClaims(next.accessToken).sid).toBe(sessionId);
      expect(await generation(sessionId)).toBe(2);
    });
  }

  it('outside the grace window a reused token ends the session, through the door', async () => {
    const first = await h.services.signIn.signup('alice', PASSWORD, META);
    const sessionId = decodeClaims(first.accessToken).sid;
    const events: string[] = [];
    h.core.bus.subscribe((e) => events.push(e.type === 'sessions_ended' ? `${e.type}:${e.reason}:${e.sessionIds.join()}` : e.type));
    const second = await h.services.tokens.refresh(first.refreshToken, META);
    h.clock.advance(11);
    await expect(h.services.tokens.refresh(first.refreshToken, META)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    expect(events).toEqual([`sessions_ended:refresh_reuse:${sessionId}`]);
    expect(await h.services.sessions.checkSession(sessionId, decodeClaims(first.accessToken).sub)).toEqual({ active: false });
    await expect(h.services.tokens.refresh(second.refreshToken, META)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
  });
});
