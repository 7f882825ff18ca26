import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { AUTH_FIELDS, TEST_SECRET, errorCode, signup, startServer, type TestServer } from '../helpers/server.js';
import { decodeClaims } from '../helpers/jwt.js';

/** The `reason` of a `me` query made with this Authorization header (or none). */
async function meReason(server: TestServer, authorization?: string): Promise<unknown> {
  const res = await server.gql('{ me { id } }', {}, { headers: authorization === undefined ? {} : { authorization } });
  expect(res.status).toBe(200);
  expect(errorCode(res)).toBe('UNAUTHENTICATED');
  expect(res.body.data).toBeNull();
  return res.body.errors?.[0]?.extensions?.reason;
}

describe('the Authorization header, as the contract decides', () => {
  const clock = new ManualClock();
  let server: TestServer;
  let pair: Awaited<ReturnType<typeof signup>>;
  beforeAll(async () => {
    server = await startServer({}, { deps: { clock } });
    pair = await signup(server, 'dora');
  });
  afterAll(() => server.stop());

  it('no header is MISSING_TOKEN', async () => {
    expect(await meReason(server)).toBe('MISSING_TOKEN');
  });

  it('a present but malformed header is INVALID_TOKEN', async () => {
    for (const header of ['', 'Bearer', 'Bearer ', 'Basic ZG9yYTpwdw==', 'Bearer garbage', `Token ${pair.accessToken}`]) {
      expect(await meReason(server, header), JSON.stringify(header)).toBe(header === '' ? 'INVALID_TOKEN' : 'INVALID_TOKEN');
    }
  });

  it('accepts the scheme in any case', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await server.gql('{ me { username } }', {}, { headers: { authorization: `${scheme} ${pair.accessToken}` } });
      expect(res.body.data).toEqual({ me: { username: 'dora' } });
    }
  });

  it('a refresh token sent as an access token is INVALID_TOKEN', async () => {
    expect(await meReason(server, `Bearer ${pair.refreshToken}`)).toBe('INVALID_TOKEN');
  });

  it('an access token sent as a refresh token is INVALID_REFRESH_TOKEN', async () => {
    const res = await server.gql(`mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: pair.accessToken });
    expect(errorCode(res)).toBe('INVALID_REFRESH_TOKEN');
  });

  it('a token signed with another secret, or alg none, is INVALID_TOKEN', async () => {
    const claims = decodeClaims(pair.accessToken);
    const forged = jwt.sign(claims, 'my_secret_key', { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } });
    expect(await meReason(server, `Bearer ${forged}`)).toBe('INVALID_TOKEN');
    const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${pair.accessToken.split('.')[1]}.`;
    expect(await meReason(server, `Bearer ${none}`)).toBe('INVALID_TOKEN');
    const admin = { ...claims, roles: ['USER', 'ADMIN'] };
    const tampered = `${pair.accessToken.split('.')[0]}.${Buffer.from(JSON.stringify(admin)).toString('base64url')}.${pair.accessToken.split('.')[2]}`;
    expect(await meReason(server, `Bearer ${tampered}`)).toBe('INVALID_TOKEN');
  });

  it('a token without typ at+jwt is INVALID_TOKEN even when well signed', async () => {
    const claims = decodeClaims(pair.accessToken);
    const plain = jwt.sign(claims, TEST_SECRET, { algorithm: 'HS256' });
    expect(await meReason(server, `Bearer ${plain}`)).toBe('INVALID_TOKEN');
  });

  it('an expired token is TOKEN_EXPIRED, and public fields still work with it', async () => {
    clock.advance(15 * 60);
    expect(await meReason(server, `Bearer ${pair.accessToken}`)).toBe('TOKEN_EXPIRED');
    const res = await server.gql(
      `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`,
      { t: pair.refreshToken },
      { token: pair.accessToken },
    );
    expect(res.body.errors).toBeUndefined();
    const fresh = (res.body.data as { refreshToken: { accessToken: string } }).refreshToken.accessToken;
    const me = await server.gql('{ me { username } }', {}, { token: fresh });
    expect(me.body.data).toEqual({ me: { username: 'dora' } });
  });

  it('one bad field does not fail the rest of the operation', async () => {
    const res = await server.gql<{ login: { user: { username: string } } | null; me: null }>(
      `mutation { login(username: "dora", password: "correct horse battery") { user { username } } }`,
    );
    expect(res.body.data?.login?.user.username).toBe('dora');
  });
});

describe('access tokens', () => {
  it('carry the contract claims and header', async () => {
    const server = await startServer();
    try {
      const pair = await signup(server, 'erin');
      const decoded = jwt.decode(pair.accessToken, { complete: true });
      expect(decoded?.header).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
      const payload = decoded?.payload as Record<string, unknown>;
      expect(payload).toMatchObject({ sub: pair.user.id, username: 'erin', roles: ['USER'], iss: 'tokengate', aud: 'tokengate', fresh: true });
      expect(typeof payload.sid).toBe('string');
      expect(typeof payload.jti).toBe('string');
      expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    } finally {
      await server.stop();
    }
  });
});
