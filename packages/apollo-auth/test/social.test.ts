import { describe, expect, it } from 'vitest';
import { AuthError, createAuth, memoryStore } from '../src/core/index.js';
import { fakeJwt } from './fake-server.js';

/*
 * The kit's social sign-in against a fake fetch: what it sends and what it
 * does with the answers. The real flow (a real OpenID provider, the
 * redirects, the cookie) is proven in test/social/*.browser.test.ts.
 */

const URI = 'http://tokengate.test/graphql';

function fakeServer() {
  const sent: Array<{ operationName: string; variables: Record<string, unknown>; credentials: RequestCredentials | undefined; authorization: string | null }> = [];
  const fetch: typeof globalThis.fetch = async (_input, init) => {
    const body = JSON.parse(String(init?.body)) as { operationName: string; variables: Record<string, unknown> };
    sent.push({ operationName: body.operationName, variables: body.variables, credentials: init?.credentials, authorization: new Headers(init?.headers).get('authorization') });
    const answer =
      body.operationName === 'StartOAuth'
        ? body.variables.provider === 'google'
          ? { data: { startOAuth: 'https://accounts.example/authorize?state=s' } }
          : { data: null, errors: [{ message: 'No identity provider is configured by that name.', extensions: { code: 'BAD_USER_INPUT', field: 'provider' } }] }
        : body.variables.code === 'good-code'
          ? { data: { completeOAuth: { accessToken: fakeJwt(1), refreshToken: 'rt-1', expiresIn: 900, user: { id: 'u1', username: 'ann', roles: ['USER'] } } } }
          : { data: null, errors: [{ message: 'This sign-in code is not valid.', extensions: { code: 'OAUTH_FAILED', reason: 'CODE' } }] };
    return new Response(JSON.stringify(answer), { headers: { 'content-type': 'application/json' } });
  };
  return { sent, fetch };
}

describe('social sign-in in the kit', () => {
  it('startSocialSignIn asks startOAuth with credentials (for the binding cookie) and navigates to the provider', async () => {
    const server = fakeServer();
    const auth = createAuth({ uri: URI, fetch: server.fetch, refreshTokenStore: memoryStore(), tabs: null });
    const went: string[] = [];
    await auth.startSocialSignIn('google', { redirectTo: 'http://app.test/back', navigate: (url) => went.push(url) });
    expect(went).toEqual(['https://accounts.example/authorize?state=s']);
    expect(server.sent[0]).toMatchObject({ operationName: 'StartOAuth', credentials: 'include', authorization: null, variables: { provider: 'google', redirectTo: 'http://app.test/back', link: false } });
    await expect(auth.startSocialSignIn('nope', { redirectTo: 'http://app.test/back', navigate: (url) => went.push(url) })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(went).toHaveLength(1);
  });

  it('completeSocialSignIn trades #tg_code for a session, says OAUTH_FAILED for #tg_error, and does nothing without either', async () => {
    const server = fakeServer();
    const auth = createAuth({ uri: URI, fetch: server.fetch, refreshTokenStore: memoryStore(), tabs: null });
    expect(await auth.completeSocialSignIn({ hash: '#section-2' })).toBeNull();
    expect(server.sent).toHaveLength(0);
    const error = await auth.completeSocialSignIn({ hash: '#tg_error=OAUTH_FAILED&tg_reason=STATE' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'OAUTH_FAILED', extensions: { reason: 'STATE' } });
    await expect(auth.completeSocialSignIn({ hash: '#tg_code=used-code' })).rejects.toMatchObject({ code: 'OAUTH_FAILED', extensions: { reason: 'CODE' } });
    expect(await auth.completeSocialSignIn({ hash: '#tg_code=good-code' })).toMatchObject({ status: 'signedIn', user: { username: 'ann' } });
    expect(auth.getState()).toMatchObject({ status: 'signedIn', accessToken: fakeJwt(1) });
  });

  it('a link flow sends the signed-in user’s token with both calls', async () => {
    const server = fakeServer();
    const auth = createAuth({ uri: URI, fetch: server.fetch, refreshTokenStore: memoryStore(), tabs: null });
    auth.signIn({ accessToken: fakeJwt(7), refreshToken: 'rt-7', user: { id: 'u1', username: 'ann', roles: ['USER'] } });
    await auth.startSocialSignIn('google', { redirectTo: 'http://app.test/back', link: true, navigate: () => {} });
    await auth.completeSocialSignIn({ hash: '#tg_code=good-code' });
    expect(server.sent.map((r) => r.authorization)).toEqual([`Bearer ${fakeJwt(7)}`, `Bearer ${fakeJwt(7)}`]);
    expect(server.sent[0]?.variables.link).toBe(true);
  });
});
