import { describe, expect, it } from 'vitest';
import { createStorage } from '../helpers/backend.js';
import { AUTH_FIELDS, signup, startServer, type AuthPayload } from '../helpers/server.js';

describe('a restart', () => {
  it('keeps users, sessions, ended sessions and refresh-token state', async () => {
    const storage = await createStorage();
    try {
      const before = await startServer({}, { storage });
      const kept = await signup(before, 'tara');
      const ended = await signup(before, 'uma');
      const used = await before.gql<{ refreshToken: AuthPayload }>(`mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t: kept.refreshToken });
      const current = used.body.data!.refreshToken;
      await before.gql('mutation { logout }', {}, { token: ended.accessToken });
      await before.app.stop();

      const after = await startServer({}, { storage });
      try {
        // The access token of a live session still works (same secret, same session).
        const me = await after.gql('{ me { username } }', {}, { token: current.accessToken });
        expect(me.body.data).toEqual({ me: { username: 'tara' } });
        // An ended session stays ended.
        const gone = await after.gql('{ me { username } }', {}, { token: ended.accessToken });
        expect(gone.body.errors?.[0]?.extensions?.reason).toBe('TOKEN_REVOKED');
        // The live refresh token rotates; login with the stored hash works.
        const rotated = await after.gql(`mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: current.refreshToken });
        expect(rotated.body.errors).toBeUndefined();
        const login = await after.gql(`mutation { login(username: "uma", password: "correct horse battery") { accessToken } }`);
        expect(login.body.errors).toBeUndefined();
      } finally {
        await after.app.stop();
      }
    } finally {
      await storage.dispose();
    }
  });
});
