import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { decodeClaims } from '../helpers/jwt.js';
import { AUTH_FIELDS, type AuthPayload, type GqlResponse } from '../helpers/server.js';

/*
 * TOTP across two real tokengate processes sharing one PostgreSQL (and, in
 * the first mode, one Redis): a code accepted on one instance is refused on
 * the other, even when both see it at the same moment, because the last used
 * step lives in the database and is claimed by compare-and-set. The real
 * clock is used: codes are computed for the next step, which the servers'
 * one step of skew accepts.
 */
const PASSWORD = 'correct horse battery';
const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const VERIFY = `mutation ($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ${AUTH_FIELDS} } }`;

describe.each([
  { mode: 'PostgreSQL + Redis', redis: true },
  { mode: 'PostgreSQL only', redis: false },
])('TOTP on two instances on $mode', ({ redis }) => {
  let a: Instance;
  let b: Instance;
  let database: Awaited<ReturnType<typeof createDatabase>>;

  beforeAll(async () => {
    database = await createDatabase();
    const env: Record<string, string> = { DATABASE_URL: database.url, ADMIN_USERNAME: 'cluster-admin', ADMIN_PASSWORD: 'admin password 1' };
    if (redis) Object.assign(env, { REDIS_URL: serviceUrls().redisUrl, REDIS_PREFIX: `tg-totp-${randomBytes(4).toString('hex')}:` });
    a = await startInstance('A', env);
    b = await startInstance('B', env);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  /** Signs up on A and turns TOTP on with the current code; answers the secret and the first pair. */
  async function withTotp(username: string): Promise<{ secret: string; pair: AuthPayload }> {
    const pair = (await a.gql<{ signup: AuthPayload }>(SIGNUP, { u: username, p: PASSWORD })).body.data!.signup;
    const enrolled = await a.gql<{ enrollTotp: { secret: string } }>('mutation { enrollTotp { secret } }', {}, pair.accessToken);
    const { secret } = enrolled.body.data!.enrollTotp;
    const confirmed = await a.gql<{ confirmTotp: string[] }>('mutation ($c: String!) { confirmTotp(code: $c) }', { c: generateTotpCode(secret, Date.now()) }, pair.accessToken);
    expect(confirmed.body.data?.confirmTotp).toHaveLength(10);
    return { secret, pair };
  }

  async function mfaTokenFrom(on: Instance, username: string): Promise<string> {
    const res = await on.gql(LOGIN, { u: username, p: PASSWORD });
    const token = res.body.errors?.[0]?.extensions?.mfaToken;
    expect(res.body.errors?.[0]?.extensions?.code).toBe('MFA_REQUIRED');
    return token as string;
  }

  const outcome = (res: GqlResponse<{ verifyMfa?: AuthPayload }>) => (res.body.data?.verifyMfa ? 'OK' : res.body.errors?.[0]?.extensions?.code);

  it('a code accepted on A is refused on B (replay across instances)', async () => {
    const { secret } = await withTotp('replay.across');
    // The confirming code spent the current step; the next step's code is new (and within the skew).
    const code = generateTotpCode(secret, Date.now() + 30_000);
    const onA = await a.gql<{ verifyMfa: AuthPayload }>(VERIFY, { t: await mfaTokenFrom(a, 'replay.across'), c: code });
    expect(outcome(onA)).toBe('OK');
    expect(decodeClaims(onA.body.data!.verifyMfa.accessToken).amr).toEqual(['pwd', 'otp']);
    const onB = await b.gql<{ verifyMfa: AuthPayload }>(VERIFY, { t: await mfaTokenFrom(b, 'replay.across'), c: code });
    expect(outcome(onB)).toBe('INVALID_MFA_CODE');
  });

  it('the same code sent to A and B at the same moment is accepted exactly once', async () => {
    const { secret } = await withTotp('race.across');
    const code = generateTotpCode(secret, Date.now() + 30_000);
    const [tokenA, tokenB] = await Promise.all([mfaTokenFrom(a, 'race.across'), mfaTokenFrom(b, 'race.across')]);
    const answers = await Promise.all([a.gql(VERIFY, { t: tokenA, c: code }), b.gql(VERIFY, { t: tokenB, c: code })]);
    expect(answers.map(outcome).sort()).toEqual(['INVALID_MFA_CODE', 'OK']);
  });

  it('an mfaToken from A works on B, once', async () => {
    const { secret } = await withTotp('token.across');
    const token = await mfaTokenFrom(a, 'token.across');
    const code = generateTotpCode(secret, Date.now() + 30_000);
    expect(outcome(await b.gql(VERIFY, { t: token, c: code }))).toBe('OK');
    expect(outcome(await a.gql(VERIFY, { t: token, c: code }))).toBe('INVALID_MFA_CODE');
  });

  it("an admin's resetUserMfa on A ends the user's sessions on B at once", async () => {
    const { pair } = await withTotp('reset.across');
    expect((await b.gql('{ me { id } }', {}, pair.accessToken)).body.errors).toBeUndefined();
    const adminPair = (await a.gql<{ login: AuthPayload }>(LOGIN, { u: 'cluster-admin', p: 'admin password 1' })).body.data!.login;
    const reset = await a.gql<{ resetUserMfa: { mfaEnabled: boolean } }>('mutation ($id: ID!) { resetUserMfa(userId: $id) { mfaEnabled } }', { id: pair.user.id }, adminPair.accessToken);
    expect(reset.body.data?.resetUserMfa.mfaEnabled).toBe(false);
    expect((await b.gql('{ me { id } }', {}, pair.accessToken)).body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
    // And the password alone signs in again, on either instance.
    expect((await b.gql<{ login: AuthPayload }>(LOGIN, { u: 'reset.across', p: PASSWORD })).body.data?.login.accessToken).toBeTruthy();
  });
});
