import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, startServer, type GqlResponse, type TestServer } from '../helpers/server.js';
import { GENEROUS_LIMITS, LOGIN, SIGNUP, median } from './security-helpers.js';

/*
 * Username enumeration. The contract: a failed login says the same thing for
 * an unknown username and a wrong password, "and the same timing"; a taken
 * username at signup must not answer faster than a free one (it must still
 * pay for the hash). With the production Argon2 parameters the hash is tens
 * of milliseconds, so a path that skips it shows up in the medians of many
 * tries. Only generous bounds are asserted; the medians are printed.
 */

const ROUNDS = 40;
const WARM_UP = 3;

/** Runs one request and returns its answer and wall time in milliseconds. */
async function timed(run: () => Promise<GqlResponse>): Promise<{ res: GqlResponse; ms: number }> {
  const start = performance.now();
  const res = await run();
  return { res, ms: performance.now() - start };
}

/** The arms of one round in random order, so neither always runs first. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

describe('username enumeration, with the production Argon2 parameters', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ ...GENEROUS_LIMITS, ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2' });
    await signup(server, 'existing', 'the real password of existing');
  });
  afterAll(() => server.stop());

  it('login: an unknown username and a wrong password get the same answer in about the same time', { timeout: 90_000 }, async () => {
    type Arm = 'unknown' | 'wrongPassword' | 'invalidName';
    const arms: Record<Arm, (i: number) => Promise<GqlResponse>> = {
      unknown: (i) => server.gql(LOGIN, { u: `ghost-${i}`, p: `some password ${i}` }),
      wrongPassword: (i) => server.gql(LOGIN, { u: 'existing', p: `some password ${i}` }),
      // A name that breaks the username rules (never looked up) must cost the same too.
      invalidName: (i) => server.gql(LOGIN, { u: `ex!sting ${i}`, p: `some password ${i}` }),
    };
    const times: Record<Arm, number[]> = { unknown: [], wrongPassword: [], invalidName: [] };
    const answers = new Set<string>();
    for (let i = 0; i < WARM_UP + ROUNDS; i++) {
      for (const arm of shuffled(Object.keys(arms) as Arm[])) {
        const { res, ms } = await timed(() => arms[arm](i));
        expect(res.status).toBe(200);
        expect(res.body.data).toBeNull();
        expect(res.body.errors).toHaveLength(1);
        const { message, extensions } = res.body.errors![0]!;
        expect(extensions).toEqual({ code: 'INVALID_CREDENTIALS' });
        answers.add(JSON.stringify({ message, extensions }));
        if (i >= WARM_UP) times[arm].push(ms);
      }
    }
    // One message and one code for every kind of failure.
    expect(answers.size).toBe(1);

    const unknown = median(times.unknown);
    const wrongPassword = median(times.wrongPassword);
    const invalidName = median(times.invalidName);
    console.log(
      `[enumeration] login medians over ${ROUNDS} rounds: unknown username ${fmt(unknown)}, ` +
        `existing username + wrong password ${fmt(wrongPassword)}, rule-breaking username ${fmt(invalidName)} ` +
        `(ratios ${(unknown / wrongPassword).toFixed(2)}, ${(invalidName / wrongPassword).toFixed(2)})`,
    );
    expect(unknown / wrongPassword).toBeGreaterThanOrEqual(0.5);
    expect(unknown / wrongPassword).toBeLessThanOrEqual(2);
    expect(invalidName / wrongPassword).toBeGreaterThanOrEqual(0.5);
    expect(invalidName / wrongPassword).toBeLessThanOrEqual(2);
  });

  it('signup: a taken username answers no faster than a free one (it still hashes)', { timeout: 90_000 }, async () => {
    type Arm = 'taken' | 'free';
    const arms: Record<Arm, (i: number) => Promise<GqlResponse>> = {
      taken: (i) => server.gql(SIGNUP, { u: i % 2 === 0 ? 'existing' : 'EXISTING', p: `a new password ${i}` }),
      free: (i) => server.gql(SIGNUP, { u: `newcomer-${i}`, p: `a new password ${i}` }),
    };
    const times: Record<Arm, number[]> = { taken: [], free: [] };
    for (let i = 0; i < WARM_UP + ROUNDS; i++) {
      for (const arm of shuffled(Object.keys(arms) as Arm[])) {
        const { res, ms } = await timed(() => arms[arm](i));
        expect(res.status).toBe(200);
        if (arm === 'taken') {
          expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'USERNAME_TAKEN' });
        } else {
          expect(res.body.errors).toBeUndefined();
        }
        if (i >= WARM_UP) times[arm].push(ms);
      }
    }
    const taken = median(times.taken);
    const free = median(times.free);
    console.log(`[enumeration] signup medians over ${ROUNDS} rounds: taken ${fmt(taken)}, free ${fmt(free)} (ratio ${(taken / free).toFixed(2)})`);
    expect(taken).toBeGreaterThanOrEqual(0.5 * free);
  });
});
