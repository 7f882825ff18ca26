import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { AUTH_FIELDS, errorCode, signup, startServer, type AuthPayload, type GqlResponse, type TestServer } from '../helpers/server.js';
import { decodeClaims } from '../helpers/jwt.js';

const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;

function sidOf(accessToken: string): string {
  return decodeClaims(accessToken).sid;
}
function freshOf(accessToken: string): boolean {
  return decodeClaims(accessToken).fresh;
}

describe('refresh token rotation', () => {
  const clock = new ManualClock();
  let server: TestServer;
  const refresh = (t: string): Promise<GqlResponse<{ refreshToken: AuthPayload }>> => server.gql(REFRESH, { t });

  beforeAll(async () => {
    server = await startServer({ REFRESH_REUSE_GRACE: '10s' }, { deps: { clock } });
  });
  afterAll(() => server.stop());

  it('rotates: a new pair of the same session, not fresh, and the old token is used up', async () => {
    const first = await signup(server, 'frank');
    clock.advance(1);
    const res = await refresh(first.refreshToken);
    expect(res.body.errors).toBeUndefined();
    const second = res.body.data!.refreshToken;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(sidOf(second.accessToken)).toBe(sidOf(first.accessToken));
    expect(freshOf(second.accessToken)).toBe(false);
    const sessions = await server.gql<{ mySessions: Array<{ lastUsedAt: string; createdAt: string; expiresAt: string }> }>(
      '{ mySessions { createdAt lastUsedAt expiresAt } }',
      {},
      { token: second.accessToken },
    );
    const [session] = sessions.body.data!.mySessions;
    expect(Date.parse(session!.lastUsedAt)).toBeGreaterThan(Date.parse(session!.createdAt));
    expect(Date.parse(session!.expiresAt) - Date.parse(session!.lastUsedAt)).toBe(30 * 86_400 * 1000);
  });

  it('refuses unknown and malformed tokens with INVALID_REFRESH_TOKEN', async () => {
    for (const t of ['', 'nope', 'A'.repeat(43), 'x'.repeat(10_000)]) {
      expect(errorCode(await refresh(t))).toBe('INVALID_REFRESH_TOKEN');
    }
  });

  it('lets parallel refreshes of one token inside the grace window all succeed on one chain', async () => {
    const start = await signup(server, 'grace');
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(start.refreshToken)));
    for (const r of results) expect(r.body.errors).toBeUndefined();
    const pairs = results.map((r) => r.body.data!.refreshToken);
    expect(new Set(pairs.map((p) => sidOf(p.accessToken)))).toEqual(new Set([sidOf(start.accessToken)]));
    // Every racer got the same successor: one live chain, not ten.
    expect(new Set(pairs.map((p) => p.refreshToken)).size).toBe(1);
    for (const p of pairs) {
      const me = await server.gql('{ me { username } }', {}, { token: p.accessToken });
      expect(me.body.data).toEqual({ me: { username: 'grace' } });
    }
    // The chain goes on from that successor.
    clock.advance(30);
    const next = await refresh(pairs[0]!.refreshToken);
    expect(next.body.errors).toBeUndefined();
  });

  it('a late racer inside the window gets the current token even after another rotation', async () => {
    const t0 = await signup(server, 'late-racer');
    const t1 = (await refresh(t0.refreshToken)).body.data!.refreshToken;
    clock.advance(2);
    const t2 = (await refresh(t1.refreshToken)).body.data!.refreshToken;
    clock.advance(2);
    const racer = await refresh(t0.refreshToken); // 4 s after t0's first use
    expect(racer.body.errors).toBeUndefined();
    expect(racer.body.data!.refreshToken.refreshToken).toBe(t2.refreshToken);
  });

  it('reuse after the grace window revokes the whole session, access and refresh alike', async () => {
    const start = await signup(server, 'thief-victim');
    const rotated = (await refresh(start.refreshToken)).body.data!.refreshToken;
    clock.advance(11);
    const stolen = await refresh(start.refreshToken);
    expect(errorCode(stolen)).toBe('INVALID_REFRESH_TOKEN');
    const me = await server.gql('{ me { id } }', {}, { token: rotated.accessToken });
    expect(me.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
    expect(errorCode(await refresh(rotated.refreshToken))).toBe('INVALID_REFRESH_TOKEN');
    // Other sessions of the user are untouched.
    const other = await server.gql(`mutation { login(username: "thief-victim", password: "correct horse battery") { accessToken } }`);
    expect(other.body.errors).toBeUndefined();
  });

  it('a refresh token past its lifetime is refused', async () => {
    const start = await signup(server, 'sleepy');
    clock.advance(30 * 86_400 + 1);
    expect(errorCode(await refresh(start.refreshToken))).toBe('INVALID_REFRESH_TOKEN');
  });
});
