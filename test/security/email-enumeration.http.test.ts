import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSmtpServer } from '../helpers/smtp.js';
import { startServer, type GqlResponse, type TestServer } from '../helpers/server.js';
import { EMAIL_TEST_LIMITS, signupWithEmail } from '../email/email-helpers.js';
import { median } from './security-helpers.js';

/*
 * Address enumeration through requestPasswordReset: the contract says it
 * answers true "whether or not the address is known, in the same time". The
 * two arms do the same work by construction (see EmailService.requestPasswordReset);
 * this test measures them over interleaved rounds, with a real SMTP server
 * receiving the known arm's mails, and reports the medians. Wall-clock
 * numbers are printed, never asserted: the answers are.
 */
const ROUNDS = 40;
const WARM_UP = 3;
const REQUEST = 'mutation ($e: String!) { requestPasswordReset(email: $e) }';

describe('address enumeration through requestPasswordReset', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    server = await startServer({ ...EMAIL_TEST_LIMITS, SMTP_URL: smtp.url });
    await signupWithEmail(server, 'known-owner', 'known@example.test');
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.stop();
  });

  it('a known and an unknown address get one answer; the medians are reported', { timeout: 90_000 }, async () => {
    type Arm = 'known' | 'unknown';
    const arms: Record<Arm, (i: number) => Promise<GqlResponse>> = {
      known: (i) => server.gql(REQUEST, { e: i % 2 === 0 ? 'known@example.test' : 'KNOWN@example.test' }),
      unknown: (i) => server.gql(REQUEST, { e: `unknown-${i}@example.test` }),
    };
    const times: Record<Arm, number[]> = { known: [], unknown: [] };
    const answers = new Set<string>();
    for (let i = 0; i < WARM_UP + ROUNDS; i++) {
      const order: Arm[] = Math.random() < 0.5 ? ['known', 'unknown'] : ['unknown', 'known'];
      for (const arm of order) {
        const start = performance.now();
        const res = await arms[arm](i);
        const ms = performance.now() - start;
        answers.add(JSON.stringify({ status: res.status, body: res.body }));
        if (i >= WARM_UP) times[arm].push(ms);
      }
    }
    // One answer for both: status 200, { requestPasswordReset: true }, nothing else.
    expect([...answers]).toEqual([JSON.stringify({ status: 200, body: { data: { requestPasswordReset: true } } })]);
    // Only the known address got mail: one per request.
    await smtp.waitFor('known@example.test', 1 + WARM_UP + ROUNDS);
    expect(smtp.received.filter((m) => m.to.startsWith('unknown-'))).toHaveLength(0);

    const known = median(times.known);
    const unknown = median(times.unknown);
    console.log(
      `[enumeration] requestPasswordReset medians over ${ROUNDS} interleaved rounds: known address ${known.toFixed(2)} ms, ` +
        `unknown address ${unknown.toFixed(2)} ms (ratio unknown/known ${(unknown / known).toFixed(2)})`,
    );
  });
});
