import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { decodeClaims } from '../helpers/jwt.js';
import { AUTH_FIELDS, type AuthPayload } from '../helpers/server.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../helpers/soft-authenticator.js';

/*
 * Passkey ceremonies across two real tokengate processes on one PostgreSQL
 * and one Redis: a ceremony started on one instance finishes on the other (a
 * load balancer without sticky sessions), and a challenge taken on one is
 * gone for both, even when both are asked at the same moment.
 */
const PASSWORD = 'correct horse battery';
const ORIGIN = 'https://app.example.test';
const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const FINISH_REG = 'mutation ($r: JSONObject!) { finishPasskeyRegistration(response: $r) { id name } }';
const FINISH_LOGIN = `mutation ($r: JSONObject!) { finishPasskeyLogin(response: $r) { ${AUTH_FIELDS} } }`;

describe('passkeys on two instances (PostgreSQL + Redis)', () => {
  let a: Instance;
  let b: Instance;
  let database: Awaited<ReturnType<typeof createDatabase>>;

  beforeAll(async () => {
    database = await createDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: serviceUrls().redisUrl,
      REDIS_PREFIX: `tg-passkeys-${randomBytes(4).toString('hex')}:`,
      WEBAUTHN_RP_ID: 'example.test',
      WEBAUTHN_ORIGINS: ORIGIN,
    };
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it('registration started on A finishes on B; sign-in started on B finishes on A, once: the replay on B is refused', async () => {
    const pair = (await a.gql<{ signup: AuthPayload }>(SIGNUP, { u: 'roaming', p: PASSWORD })).body.data!.signup;
    const authenticator = new SoftAuthenticator({ origin: ORIGIN });
    const creation = (await a.gql<{ startPasskeyRegistration: CreationOptions }>('mutation { startPasskeyRegistration }', {}, pair.accessToken)).body.data!.startPasskeyRegistration;
    const registered = await b.gql<{ finishPasskeyRegistration: { id: string; name: string } }>(FINISH_REG, { r: authenticator.register(creation) }, pair.accessToken);
    expect(registered.body.data?.finishPasskeyRegistration.name).toBe('Passkey');

    const request = (await b.gql<{ startPasskeyLogin: RequestOptions }>('mutation { startPasskeyLogin }')).body.data!.startPasskeyLogin;
    const response = authenticator.authenticate(request);
    // Both instances at once with the same assertion: one challenge, one winner.
    const [onA, onB] = await Promise.all([a.gql<{ finishPasskeyLogin: AuthPayload }>(FINISH_LOGIN, { r: response }), b.gql<{ finishPasskeyLogin: AuthPayload }>(FINISH_LOGIN, { r: response })]);
    const outcomes = [onA, onB].map((res) => (res.body.data?.finishPasskeyLogin ? 'OK' : res.body.errors?.[0]?.extensions?.code)).sort();
    expect(outcomes).toEqual(['INVALID_PASSKEY', 'OK']);
    const winner = (onA.body.data?.finishPasskeyLogin ?? onB.body.data?.finishPasskeyLogin)!;
    expect(decodeClaims(winner.accessToken).amr).toEqual(['pop', 'mfa']);
    // The token from one instance works on the other.
    const me = await (winner === onA.body.data?.finishPasskeyLogin ? b : a).gql<{ me: { username: string } }>('{ me { username } }', {}, winner.accessToken);
    expect(me.body.data?.me.username).toBe('roaming');
  });
});
