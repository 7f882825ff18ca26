import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FIELDS, errorCode } from '../helpers/server.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../helpers/soft-authenticator.js';
import { UNLINK, auditEvents, socialSignIn, startSocialWorld, type SocialWorld } from './social-helpers.js';

/*
 * Two wave-3 credentials on one user, each through its real ceremony: a user
 * who signed up with a provider (no password) adds a passkey, unlinks the
 * provider, and is then refused the removal of the passkey, the last way in
 * (LAST_CREDENTIAL); the passkey still signs them in, a password does not.
 * Runs on SQLite and on PostgreSQL + Redis.
 */

const ORIGIN = 'http://localhost:5173';

describe('a social-only user with a passkey', () => {
  let world: SocialWorld;

  beforeAll(async () => {
    world = await startSocialWorld({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: ORIGIN });
  });
  afterAll(() => world?.stop());

  it('keeps a way in: unlinking the provider leaves the passkey, which cannot then be deleted', async () => {
    const { server } = world;
    const nora = await socialSignIn(world, 'alpha', 'nora');
    const token = nora.accessToken;
    const authenticator = new SoftAuthenticator({ origin: ORIGIN });

    const options = (await server.gql<{ startPasskeyRegistration: CreationOptions }>('mutation { startPasskeyRegistration }', {}, { token })).body.data!.startPasskeyRegistration;
    const registered = await server.gql<{ finishPasskeyRegistration: { id: string } }>(
      'mutation ($r: JSONObject!) { finishPasskeyRegistration(response: $r, name: "Phone") { id } }',
      { r: authenticator.register(options) },
      { token },
    );
    const passkeyId = registered.body.data!.finishPasskeyRegistration.id;

    // The provider was one of two ways in: unlinking it is allowed.
    expect((await server.gql(UNLINK, { p: 'alpha' }, { token })).body).toEqual({ data: { unlinkIdentity: true } });
    // The passkey is now the only one: refused, and still there.
    const refused = await server.gql('mutation ($id: ID!) { deletePasskey(id: $id) }', { id: passkeyId }, { token });
    expect(errorCode(refused)).toBe('LAST_CREDENTIAL');
    const me = await server.gql<{ me: { passkeys: Array<{ id: string }>; identities: unknown[] } }>('{ me { passkeys { id } identities { provider } } }', {}, { token });
    expect(me.body.data!.me).toEqual({ passkeys: [{ id: passkeyId }], identities: [] });

    // No password was ever set: a password login fails like a wrong one.
    expect(errorCode(await server.gql('mutation { login(username: "nora", password: "any password at all") { accessToken } }'))).toBe('INVALID_CREDENTIALS');
    const request = (await server.gql<{ startPasskeyLogin: RequestOptions }>('mutation { startPasskeyLogin }')).body.data!.startPasskeyLogin;
    const signedIn = await server.gql<{ finishPasskeyLogin: { user: { id: string } } }>(`mutation ($r: JSONObject!) { finishPasskeyLogin(response: $r) { ${AUTH_FIELDS} } }`, {
      r: authenticator.authenticate(request),
    });
    expect(signedIn.body.data?.finishPasskeyLogin.user.id).toBe(nora.user.id);

    const types = (await server.app.db.selectFrom('audit_events').select('type').where('user_id', '=', nora.user.id).orderBy('seq').execute()).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user.created', 'passkey.registered', 'identity.unlinked', 'login.success']));
    expect(await auditEvents(server, 'passkey.deleted')).toEqual([]);
  });
});
