import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { ManualClock } from '../helpers/clock.js';
import { decodeClaims } from '../helpers/jwt.js';
import { capturingLogger } from '../helpers/logs.js';
import { AUTH_FIELDS, errorCode, signup, startServer, type AuthPayload, type GqlResponse, type TestServer } from '../helpers/server.js';
import { SoftAuthenticator, type AssertionOverrides, type CreationOptions, type RegistrationOverrides, type RequestOptions } from '../helpers/soft-authenticator.js';

/*
 * Passkeys over HTTP (docs/api.md, "Passkeys (WebAuthn)") with real
 * ceremonies: a software authenticator (test/helpers/soft-authenticator.ts)
 * makes real keys, CBOR attestation objects and signatures, and every call
 * goes through the GraphQL API. Runs on SQLite and on PostgreSQL + Redis.
 *
 * Each refusal test bends one thing of an otherwise valid ceremony, and says
 * in a comment which change of the server code it catches.
 */

const ORIGIN = 'http://localhost:5173';
const PASSKEY_FIELDS = 'id name createdAt lastUsedAt backedUp transports';
const START_REG = 'mutation { startPasskeyRegistration }';
const FINISH_REG = `mutation ($r: JSONObject!, $n: String) { finishPasskeyRegistration(response: $r, name: $n) { ${PASSKEY_FIELDS} } }`;
const START_LOGIN = 'mutation ($u: String) { startPasskeyLogin(username: $u) }';
const FINISH_LOGIN = `mutation ($r: JSONObject!) { finishPasskeyLogin(response: $r) { ${AUTH_FIELDS} } }`;
const RENAME = `mutation ($id: ID!, $n: String!) { renamePasskey(id: $id, name: $n) { ${PASSKEY_FIELDS} } }`;
const DELETE = 'mutation ($id: ID!) { deletePasskey(id: $id) }';
const MY_PASSKEYS = `{ me { id passkeys { ${PASSKEY_FIELDS} } } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const VERIFY_MFA = `mutation ($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ${AUTH_FIELDS} } }`;

interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  backedUp: boolean;
  transports: string[];
}

describe('passkeys (WebAuthn) over HTTP, with real ceremonies', () => {
  const { logger, lines, entries } = capturingLogger();
  const clock = new ManualClock(Date.UTC(2026, 11, 6, 9, 0, 0));
  let server: TestServer;
  /** Each test's failures come from its own address, so the login budgets of one never lock another. */
  let addressCounter = 0;
  const nextAddress = () => `198.51.100.${++addressCounter}`;

  beforeAll(async () => {
    server = await startServer(
      { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: `${ORIGIN},https://auth.localhost`, TRUST_PROXY: 'true', RATE_LIMIT_SIGNUP_ADDRESS: '1000/1m', ADMIN_USERNAME: 'pk-admin', ADMIN_PASSWORD: 'admin password 1' },
      { deps: { logger, clock } },
    );
  });
  afterAll(() => server.stop());

  const from = (address: string) => ({ 'x-forwarded-for': address });

  async function startRegistration(token: string): Promise<CreationOptions & Record<string, unknown>> {
    const res = await server.gql<{ startPasskeyRegistration: CreationOptions & Record<string, unknown> }>(START_REG, {}, { token });
    if (!res.body.data) throw new Error(`startPasskeyRegistration failed: ${JSON.stringify(res.body.errors)}`);
    return res.body.data.startPasskeyRegistration;
  }

  function finishRegistration(token: string, response: unknown, name?: string, address = nextAddress()) {
    return server.gql<{ finishPasskeyRegistration: PasskeyView }>(FINISH_REG, { r: response, n: name ?? null }, { token, headers: from(address) });
  }

  /** A full registration; answers the new passkey. */
  async function register(pair: AuthPayload, authenticator: SoftAuthenticator, name?: string, overrides: RegistrationOverrides = {}): Promise<PasskeyView> {
    const options = await startRegistration(pair.accessToken);
    const res = await finishRegistration(pair.accessToken, authenticator.register(options, overrides), name);
    if (!res.body.data) throw new Error(`finishPasskeyRegistration failed: ${JSON.stringify(res.body.errors)}`);
    return res.body.data.finishPasskeyRegistration;
  }

  async function startLogin(username?: string): Promise<RequestOptions & Record<string, unknown>> {
    const res = await server.gql<{ startPasskeyLogin: RequestOptions & Record<string, unknown> }>(START_LOGIN, { u: username ?? null });
    if (!res.body.data) throw new Error(`startPasskeyLogin failed: ${JSON.stringify(res.body.errors)}`);
    return res.body.data.startPasskeyLogin;
  }

  function finishLogin(response: unknown, address = nextAddress()): Promise<GqlResponse<{ finishPasskeyLogin: AuthPayload }>> {
    return server.gql<{ finishPasskeyLogin: AuthPayload }>(FINISH_LOGIN, { r: response }, { headers: from(address) });
  }

  /** A full sign-in; answers the response. */
  async function signInWith(authenticator: SoftAuthenticator, overrides: AssertionOverrides = {}, username?: string) {
    return finishLogin(authenticator.authenticate(await startLogin(username), overrides));
  }

  const auditEvents = async (userId: string | null, type: string) => {
    let query = server.app.db.selectFrom('audit_events').select(['type', 'user_id', 'details', 'session_id']).where('type', '=', type);
    query = userId === null ? query.where('user_id', 'is', null) : query.where('user_id', '=', userId);
    return (await query.execute()).map((row) => ({ ...row, details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>) }));
  };
  const sessionCount = async (userId: string) =>
    Number((await server.app.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n);

  /** Signs up a user and gives them one passkey on a new authenticator. */
  async function userWithPasskey(username: string, options: ConstructorParameters<typeof SoftAuthenticator>[0] = { origin: ORIGIN }) {
    const pair = await signup(server, username);
    const authenticator = new SoftAuthenticator(options);
    const passkey = await register(pair, authenticator);
    return { pair, authenticator, passkey };
  }

  /** Expects the one refusal every failed ceremony gets, with no detail of which check failed. */
  function expectRefused(res: GqlResponse): void {
    expect(res.status).toBe(200);
    expect(errorCode(res)).toBe('INVALID_PASSKEY');
    expect(res.body.errors?.[0]?.message).toBe('The passkey could not be verified.');
    expect(JSON.stringify(res.body)).not.toContain('localhost:5173');
  }

  describe('registration', () => {
    it('startPasskeyRegistration asks for a discoverable ES256/RS256 credential, UV preferred, with a fresh 32-byte challenge each time', async () => {
      const pair = await signup(server, 'reg.options');
      const options = await startRegistration(pair.accessToken);
      expect(options.rp).toEqual({ name: 'tokengate', id: 'localhost' });
      expect(options.user.name).toBe('reg.options');
      // The user handle is the account id, not the username.
      expect(Buffer.from(options.user.id, 'base64url').toString()).toBe(pair.user.id);
      expect(options.pubKeyCredParams).toEqual([{ alg: -7, type: 'public-key' }, { alg: -257, type: 'public-key' }]);
      expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' });
      expect(options.attestation).toBe('none');
      expect(options.timeout).toBe(300_000);
      expect(options.excludeCredentials).toEqual([]);
      expect(Buffer.from(options.challenge, 'base64url')).toHaveLength(32);
      const again = await startRegistration(pair.accessToken);
      expect(again.challenge).not.toBe(options.challenge);
    });

    it('registers ES256 and RS256 passkeys, lists them (self only) and excludes them from the next registration', async () => {
      const pair = await signup(server, 'reg.both');
      const es = new SoftAuthenticator({ origin: ORIGIN, alg: -7 });
      const rs = new SoftAuthenticator({ origin: ORIGIN, alg: -257, backedUp: true });
      const first = await register(pair, es, 'Laptop');
      expect(first).toMatchObject({ name: 'Laptop', lastUsedAt: null, backedUp: false, transports: ['internal', 'hybrid'] });
      clock.advance(1); // oldest first: the two must not share a millisecond
      const second = await register(pair, rs);
      expect(second).toMatchObject({ name: 'Synced passkey', backedUp: true });
      const me = await server.gql<{ me: { passkeys: PasskeyView[] } }>(MY_PASSKEYS, {}, { token: pair.accessToken });
      expect(me.body.data?.me.passkeys.map((p) => p.id)).toEqual([first.id, second.id]);
      const options = await startRegistration(pair.accessToken);
      expect(options.excludeCredentials?.map((c) => c.id)).toEqual([es.credentials[0]!.id, rs.credentials[0]!.id]);
      // Stored: the credential id in lookup, the public key in material, never a private part.
      const rows = await server.app.db.selectFrom('credentials').select(['kind', 'lookup', 'material', 'counter', 'name']).where('user_id', '=', pair.user.id).where('kind', '=', 'passkey').execute();
      expect(rows.map((r) => r.lookup)).toEqual([es.credentials[0]!.id, rs.credentials[0]!.id]);
      expect(Object.keys(JSON.parse(rows[0]!.material) as object).sort()).toEqual(['backedUp', 'publicKey', 'transports']);
      // Audit: passkey.registered, with the passkey's id, never its key.
      const events = await auditEvents(pair.user.id, 'passkey.registered');
      expect(events.map((e) => e.details?.passkeyId)).toEqual([first.id, second.id]);
      expect(JSON.stringify(events)).not.toContain(JSON.parse(rows[0]!.material).publicKey);
    });

    it('User.passkeys is self or ADMIN: another user gets FORBIDDEN, an admin sees them', async () => {
      const { pair } = await userWithPasskey('reg.owner');
      const other = await signup(server, 'reg.nosy');
      const query = `query ($id: ID!) { user(id: $id) { passkeys { id } } }`;
      const denied = await server.gql(query, { id: pair.user.id }, { token: other.accessToken });
      expect(errorCode(denied)).toBe('FORBIDDEN');
      const admin = (await server.gql<{ login: AuthPayload }>(`mutation { login(username: "pk-admin", password: "admin password 1") { ${AUTH_FIELDS} } }`)).body.data!.login;
      const seen = await server.gql<{ user: { passkeys: { id: string }[] } }>(query, { id: pair.user.id }, { token: admin.accessToken });
      expect(seen.body.data?.user.passkeys).toHaveLength(1);
    });

    it('needs a fresh token: a refreshed one gets FRESH_TOKEN_REQUIRED, anonymous UNAUTHENTICATED', async () => {
      const pair = await signup(server, 'reg.stale');
      const refreshed = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: pair.refreshToken })).body.data!.refreshToken;
      expect(errorCode(await server.gql(START_REG, {}, { token: refreshed.accessToken }))).toBe('FRESH_TOKEN_REQUIRED');
      expect(errorCode(await server.gql(START_REG))).toBe('UNAUTHENTICATED');
    });

    it('refuses a wrong origin [catches: expectedOrigin dropped, or taken from the response]', async () => {
      const pair = await signup(server, 'reg.origin');
      const options = await startRegistration(pair.accessToken);
      const res = await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(options, { origin: 'https://evil.example' }));
      expectRefused(res);
      expect(JSON.stringify(res.body)).not.toContain('auth.localhost');
    });

    it('refuses a wrong RP ID hash [catches: expectedRPID dropped or set from the response]', async () => {
      const pair = await signup(server, 'reg.rpid');
      const options = await startRegistration(pair.accessToken);
      expectRefused(await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(options, { rpIdForHash: 'evil.example' })));
    });

    it('refuses a missing user-present flag [catches: requireUserPresence turned off]', async () => {
      const pair = await signup(server, 'reg.noup');
      const options = await startRegistration(pair.accessToken);
      expectRefused(await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(options, { up: false, uv: false })));
    });

    it('accepts a registration without user verification [catches: requireUserVerification left at the library default, true]', async () => {
      const pair = await signup(server, 'reg.nouv');
      const passkey = await register(pair, new SoftAuthenticator({ origin: ORIGIN, uv: false }));
      expect(passkey.name).toBe('Passkey');
    });

    it('refuses a replayed challenge, and one spent by a failed attempt [catches: the challenge read instead of taken, or taken after verification]', async () => {
      const pair = await signup(server, 'reg.replay');
      const authenticator = new SoftAuthenticator({ origin: ORIGIN });
      const options = await startRegistration(pair.accessToken);
      const response = authenticator.register(options);
      expect((await finishRegistration(pair.accessToken, response)).body.data?.finishPasskeyRegistration).toBeTruthy();
      expectRefused(await finishRegistration(pair.accessToken, authenticator.register(options)));
      // A failed attempt spends its challenge too: the right response afterwards is refused.
      const next = await startRegistration(pair.accessToken);
      expectRefused(await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(next, { origin: 'https://evil.example' })));
      expectRefused(await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(next)));
    });

    it("refuses another user's registration challenge [catches: the challenge's user not compared with the caller]", async () => {
      const alice = await signup(server, 'reg.alice');
      const mallory = await signup(server, 'reg.mallory');
      const options = await startRegistration(alice.accessToken);
      expectRefused(await finishRegistration(mallory.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(options)));
    });

    it('refuses an expired challenge: valid at 4:59, refused at 5:01 [catches: no expiry, or a longer lifetime]', async () => {
      const pair = await signup(server, 'reg.expiry');
      const early = await startRegistration(pair.accessToken);
      clock.advance(299);
      expect((await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(early))).body.data?.finishPasskeyRegistration).toBeTruthy();
      const late = await startRegistration(pair.accessToken);
      clock.advance(301);
      const fresh = (await server.gql<{ login: AuthPayload }>(`mutation { login(username: "reg.expiry", password: "correct horse battery") { ${AUTH_FIELDS} } }`)).body.data!.login;
      expectRefused(await finishRegistration(fresh.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(late)));
    });

    it('refuses a credential id already registered, by anyone [catches: no duplicate check, nor the unique index]', async () => {
      const { pair, authenticator } = await userWithPasskey('reg.dup.one');
      const taken = authenticator.credentials[0]!.id;
      const other = await signup(server, 'reg.dup.two');
      expectRefused(await finishRegistration(other.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(await startRegistration(other.accessToken), { credentialId: taken })));
      // The owner cannot register the same id twice either.
      expectRefused(await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(await startRegistration(pair.accessToken), { credentialId: taken })));
      const owners = await server.app.db.selectFrom('credentials').select('user_id').where('kind', '=', 'passkey').where('lookup', '=', taken).execute();
      expect(owners).toEqual([{ user_id: pair.user.id }]);
    });

    it('refuses a challenge made for sign-in [catches: takeChallenge not checking the purpose]', async () => {
      const pair = await signup(server, 'reg.purpose');
      const login = await startLogin();
      const options = await startRegistration(pair.accessToken);
      expectRefused(await finishRegistration(pair.accessToken, new SoftAuthenticator({ origin: ORIGIN }).register(options, { challenge: login.challenge })));
    });

    it('refuses garbage without a 500: no clientDataJSON, a non-JSON one, a challenge that is not base64url', async () => {
      const pair = await signup(server, 'reg.garbage');
      for (const response of [{}, { response: {} }, { response: { clientDataJSON: 'not-json' } }, { id: 'x', response: { clientDataJSON: Buffer.from('{"challenge":"<script>"}').toString('base64url') } }]) {
        expectRefused(await finishRegistration(pair.accessToken, response));
      }
      const options = await startRegistration(pair.accessToken);
      const valid = new SoftAuthenticator({ origin: ORIGIN }).register(options);
      // A live challenge but a mangled attestation object: the library throws; the caller still gets INVALID_PASSKEY.
      expectRefused(await finishRegistration(pair.accessToken, { ...valid, response: { ...valid.response, attestationObject: 'AAAA' } }));
      expect(entries().some((l) => l.event === 'passkey.registration_refused')).toBe(true);
    });
  });

  describe('sign-in', () => {
    it('signs in without a username: a fresh pair with amr ["pop","mfa"] after UV; lastUsedAt and the counter move; a refresh keeps amr', async () => {
      const { pair, authenticator, passkey } = await userWithPasskey('login.uv');
      const options = await startLogin();
      expect(options.allowCredentials).toEqual([]);
      expect(options.userVerification).toBe('preferred');
      expect(options.rpId).toBe('localhost');
      const res = await finishLogin(authenticator.authenticate(options));
      const auth = res.body.data!.finishPasskeyLogin;
      expect(auth.user.id).toBe(pair.user.id);
      const claims = decodeClaims(auth.accessToken);
      expect(claims.amr).toEqual(['pop', 'mfa']);
      expect(claims.fresh).toBe(true);
      const me = await server.gql<{ me: { passkeys: PasskeyView[] } }>(MY_PASSKEYS, {}, { token: auth.accessToken });
      expect(me.body.data?.me.passkeys[0]).toMatchObject({ id: passkey.id, lastUsedAt: new Date(clock.now()).toISOString() });
      const row = await server.app.db.selectFrom('credentials').select('counter').where('id', '=', passkey.id).executeTakeFirstOrThrow();
      expect(Number(row.counter)).toBe(1);
      const refreshed = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: auth.refreshToken })).body.data!.refreshToken;
      expect(decodeClaims(refreshed.accessToken).amr).toEqual(['pop', 'mfa']);
      const events = await auditEvents(pair.user.id, 'login.success');
      expect(events.at(-1)?.details).toEqual({ method: 'passkey', amr: ['pop', 'mfa'] });
    });

    it('signs in with a username: allowCredentials lists the user\'s passkeys; RS256 works', async () => {
      const { pair, authenticator } = await userWithPasskey('login.named', { origin: ORIGIN, alg: -257 });
      const options = await startLogin('login.named');
      expect(options.allowCredentials?.map((c) => c.id)).toEqual([authenticator.credentials[0]!.id]);
      const res = await finishLogin(authenticator.authenticate(options));
      expect(res.body.data?.finishPasskeyLogin.user.id).toBe(pair.user.id);
    });

    it('a username with no passkey, or none at all, gets the same shape: one stand-in credential id, stable per name', async () => {
      await signup(server, 'login.nopasskey');
      const known = await startLogin('login.nopasskey');
      const unknown = await startLogin('login.nobody');
      const again = await startLogin('login.nobody');
      expect(known.allowCredentials).toHaveLength(1);
      expect(unknown.allowCredentials).toHaveLength(1);
      expect(Object.keys(unknown).sort()).toEqual(Object.keys(known).sort());
      expect(again.allowCredentials).toEqual(unknown.allowCredentials);
      expect(unknown.allowCredentials).not.toEqual(known.allowCredentials);
    });

    it('a synced passkey that keeps its counter at 0 signs in again and again [catches: a counter of 0 treated as not growing]', async () => {
      const { authenticator } = await userWithPasskey('login.synced', { origin: ORIGIN, counterStep: 0, backedUp: true });
      for (let i = 0; i < 3; i++) expect((await signInWith(authenticator)).body.data?.finishPasskeyLogin).toBeTruthy();
    });

    it('without UV: amr ["pop"], not multi-factor [catches: amr ["pop","mfa"] whatever the UV flag]', async () => {
      const { authenticator } = await userWithPasskey('login.nouv', { origin: ORIGIN, uv: false });
      const res = await signInWith(authenticator);
      expect(decodeClaims(res.body.data!.finishPasskeyLogin.accessToken).amr).toEqual(['pop']);
    });

    describe('with TOTP on', () => {
      async function withTotp(username: string, uv: boolean) {
        const made = await userWithPasskey(username, { origin: ORIGIN, uv });
        const enrolled = await server.gql<{ enrollTotp: { secret: string } }>('mutation { enrollTotp { secret } }', {}, { token: made.pair.accessToken });
        const secret = enrolled.body.data!.enrollTotp.secret;
        await server.gql('mutation ($c: String!) { confirmTotp(code: $c) }', { c: generateTotpCode(secret, clock.now()) }, { token: made.pair.accessToken });
        clock.advance(30);
        return { ...made, secret };
      }

      it('a UV passkey skips the code step [catches: multiFactor ignored by the pipeline]', async () => {
        const { authenticator, pair } = await withTotp('totp.uv', true);
        const res = await signInWith(authenticator);
        expect(res.body.errors).toBeUndefined();
        expect(decodeClaims(res.body.data!.finishPasskeyLogin.accessToken).amr).toEqual(['pop', 'mfa']);
        expect(res.body.data!.finishPasskeyLogin.user.id).toBe(pair.user.id);
      });

      it('a passkey without UV gets MFA_REQUIRED, and verifyMfa completes with amr ["pop","otp"] [catches: multiFactor true without UV]', async () => {
        const { authenticator, secret, pair } = await withTotp('totp.nouv', false);
        const before = await sessionCount(pair.user.id);
        const res = await signInWith(authenticator);
        expect(errorCode(res)).toBe('MFA_REQUIRED');
        expect(await sessionCount(pair.user.id)).toBe(before);
        const mfaToken = res.body.errors![0]!.extensions!.mfaToken as string;
        const done = await server.gql<{ verifyMfa: AuthPayload }>(VERIFY_MFA, { t: mfaToken, c: generateTotpCode(secret, clock.now()) });
        expect(decodeClaims(done.body.data!.verifyMfa.accessToken).amr).toEqual(['pop', 'otp']);
        clock.advance(30);
      });
    });

    describe('refusals (each one INVALID_PASSKEY, no session, a login.failure event)', () => {
      it('a wrong origin [catches: expectedOrigin dropped or taken from clientDataJSON]', async () => {
        const { authenticator, pair } = await userWithPasskey('bad.origin');
        const before = await sessionCount(pair.user.id);
        expectRefused(await signInWith(authenticator, { origin: 'https://evil.example' }));
        expect(await sessionCount(pair.user.id)).toBe(before);
        expect((await auditEvents(pair.user.id, 'login.failure')).map((e) => e.details)).toEqual([{ method: 'passkey', reason: 'verification' }]);
      });

      it('a wrong RP ID hash [catches: expectedRPID dropped]', async () => {
        const { authenticator } = await userWithPasskey('bad.rpid');
        expectRefused(await signInWith(authenticator, { rpIdForHash: 'evil.example' }));
      });

      it('a clientDataJSON of the wrong type (webauthn.create) [catches: the type check turned off]', async () => {
        const { authenticator } = await userWithPasskey('bad.type');
        expectRefused(await signInWith(authenticator, { type: 'webauthn.create' }));
      });

      it('a replayed assertion, and a challenge spent by a failed attempt [catches: the challenge read and not taken, or taken only on success]', async () => {
        const { authenticator } = await userWithPasskey('bad.replay');
        const options = await startLogin();
        const response = authenticator.authenticate(options);
        expect((await finishLogin(response)).body.data?.finishPasskeyLogin).toBeTruthy();
        expectRefused(await finishLogin(response));
        // Same challenge, a new (higher-counter) signature: still refused, the challenge is gone.
        expectRefused(await finishLogin(authenticator.authenticate(options)));
        const next = await startLogin();
        expectRefused(await finishLogin(authenticator.authenticate(next, { corruptSignature: true })));
        expectRefused(await finishLogin(authenticator.authenticate(next)));
      });

      it('an expired challenge: valid at 4:59, refused at 5:01 [catches: no expiry, or a longer lifetime]', async () => {
        const { authenticator } = await userWithPasskey('bad.expired');
        const early = await startLogin();
        clock.advance(299);
        expect((await finishLogin(authenticator.authenticate(early))).body.data?.finishPasskeyLogin).toBeTruthy();
        const late = await startLogin();
        clock.advance(301);
        expectRefused(await finishLogin(authenticator.authenticate(late)));
      });

      it('a bad signature [catches: verified:false ignored]', async () => {
        const { authenticator, pair } = await userWithPasskey('bad.signature');
        expectRefused(await signInWith(authenticator, { corruptSignature: true }));
        expect((await auditEvents(pair.user.id, 'login.failure')).map((e) => e.details?.reason)).toEqual(['signature']);
      });

      it('a signature by another key naming this credential [catches: the stored public key not the one checked]', async () => {
        const { authenticator } = await userWithPasskey('bad.otherkey');
        const stranger = new SoftAuthenticator({ origin: ORIGIN });
        stranger.register({ challenge: 'AAAAAAAAAAAAAAAAAAAAAA', rp: { id: 'localhost', name: 'x' }, user: { id: 'eA', name: 'x' }, pubKeyCredParams: [{ alg: -7 }] });
        expectRefused(await signInWith(authenticator, { signWith: stranger.credentials[0]! }));
      });

      it('an unknown credential, with no user known: the event names nobody [catches: a sign-in for a credential not stored]', async () => {
        const stranger = new SoftAuthenticator({ origin: ORIGIN });
        const options = await startRegistration((await signup(server, 'bad.unknown.helper')).accessToken);
        stranger.register(options); // made, never sent: the server does not know it
        const before = (await auditEvents(null, 'login.failure')).length;
        expectRefused(await signInWith(stranger));
        const after = await auditEvents(null, 'login.failure');
        expect(after).toHaveLength(before + 1);
        expect(after.at(-1)?.details).toEqual({ method: 'passkey', reason: 'unknown_credential' });
      });

      it('a missing user-present flag [catches: the UP check turned off]', async () => {
        const { authenticator } = await userWithPasskey('bad.noup');
        expectRefused(await signInWith(authenticator, { up: false, uv: false }));
      });

      it('a counter that went back: refused and recorded as passkey.clone_warning; the stored counter stays [catches: the counter rule dropped, or the clone not recorded]', async () => {
        const { authenticator, pair, passkey } = await userWithPasskey('bad.counter');
        expect((await signInWith(authenticator, { counter: 5 })).body.data?.finishPasskeyLogin).toBeTruthy();
        // Equal is not growing, lower went back, 0 after non-zero went back.
        for (const counter of [5, 3, 0]) expectRefused(await signInWith(authenticator, { counter }));
        const warnings = await auditEvents(pair.user.id, 'passkey.clone_warning');
        expect(warnings.map((w) => w.details)).toEqual([
          { passkeyId: passkey.id, storedCounter: 5, receivedCounter: 5 },
          { passkeyId: passkey.id, storedCounter: 5, receivedCounter: 3 },
          { passkeyId: passkey.id, storedCounter: 5, receivedCounter: 0 },
        ]);
        const row = await server.app.db.selectFrom('credentials').select('counter').where('id', '=', passkey.id).executeTakeFirstOrThrow();
        expect(Number(row.counter)).toBe(5);
        expect((await signInWith(authenticator, { counter: 6 })).body.data?.finishPasskeyLogin).toBeTruthy();
      });

      it("another user's credential for a sign-in started with a username [catches: the challenge's user not compared with the owner]", async () => {
        const alice = await userWithPasskey('bad.alice');
        await userWithPasskey('bad.bob');
        const options = await startLogin('bad.bob');
        expectRefused(await finishLogin(alice.authenticator.authenticate({ ...options, allowCredentials: [] })));
      });

      it("a user handle naming another user [catches: userHandle not compared with the credential's owner]", async () => {
        const alice = await userWithPasskey('bad.handle.alice');
        const bob = await signup(server, 'bad.handle.bob');
        expectRefused(await signInWith(alice.authenticator, { userHandle: Buffer.from(bob.user.id).toString('base64url') }));
        // Without a user handle (non-discoverable use) the credential's owner signs in.
        expect((await signInWith(alice.authenticator, { userHandle: null })).body.data?.finishPasskeyLogin.user.id).toBe(alice.pair.user.id);
      });

      it('a registration challenge used to sign in [catches: takeChallenge not checking the purpose]', async () => {
        const { authenticator, pair } = await userWithPasskey('bad.purpose');
        const reg = await startRegistration(pair.accessToken);
        expectRefused(await signInWith(authenticator, { challenge: reg.challenge }));
      });

      it('garbage answers INVALID_PASSKEY, never a 500', async () => {
        for (const response of [{}, { id: 'abc' }, { id: 'abc', response: { clientDataJSON: 'e30' } }, { id: '!!', rawId: '!!', response: 'x' }]) expectRefused(await finishLogin(response));
        const { authenticator } = await userWithPasskey('bad.garbage');
        const valid = authenticator.authenticate(await startLogin());
        expectRefused(await finishLogin({ ...valid, response: { ...valid.response, authenticatorData: 'AA' } }));
      });

      it('failures spend the login budgets: after 5 from one address, even a valid passkey gets RATE_LIMITED [catches: the ceremony outside guardLogin]', async () => {
        const { authenticator } = await userWithPasskey('bad.budget');
        const address = nextAddress();
        for (let i = 0; i < 5; i++) expectRefused(await finishLogin(authenticator.authenticate(await startLogin(), { corruptSignature: true }), address));
        const res = await finishLogin(authenticator.authenticate(await startLogin()), address);
        expect(errorCode(res)).toBe('RATE_LIMITED');
        // From another address the owner still signs in.
        expect((await finishLogin(authenticator.authenticate(await startLogin()), nextAddress())).body.data?.finishPasskeyLogin).toBeTruthy();
      });
    });
  });

  describe('rename and delete', () => {
    it('renamePasskey renames your own (audit passkey.renamed); another user\'s or unknown id is BAD_USER_INPUT; a bad name too', async () => {
      const { pair, passkey } = await userWithPasskey('manage.rename');
      const other = await signup(server, 'manage.rename.other');
      const renamed = await server.gql<{ renamePasskey: PasskeyView }>(RENAME, { id: passkey.id, n: '  Work phone ' }, { token: pair.accessToken });
      expect(renamed.body.data?.renamePasskey).toMatchObject({ id: passkey.id, name: 'Work phone' });
      const foreign = await server.gql(RENAME, { id: passkey.id, n: 'Mine now' }, { token: other.accessToken });
      expect(errorCode(foreign)).toBe('BAD_USER_INPUT');
      expect(foreign.body.errors?.[0]?.extensions?.field).toBe('id');
      expect(errorCode(await server.gql(RENAME, { id: passkey.id, n: '' }, { token: pair.accessToken }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await server.gql(RENAME, { id: passkey.id, n: 'x'.repeat(65) }, { token: pair.accessToken }))).toBe('BAD_USER_INPUT');
      const me = await server.gql<{ me: { passkeys: PasskeyView[] } }>(MY_PASSKEYS, {}, { token: pair.accessToken });
      expect(me.body.data?.me.passkeys[0]?.name).toBe('Work phone');
      expect((await auditEvents(pair.user.id, 'passkey.renamed')).map((e) => e.details)).toEqual([{ passkeyId: passkey.id, name: 'Work phone' }]);
    });

    it("deletePasskey removes your own (audit passkey.deleted), and answers false for another user's or an unknown id [catches: delete not scoped to the owner]", async () => {
      const { pair, passkey, authenticator } = await userWithPasskey('manage.delete');
      const other = await signup(server, 'manage.delete.other');
      expect((await server.gql<{ deletePasskey: boolean }>(DELETE, { id: passkey.id }, { token: other.accessToken })).body.data?.deletePasskey).toBe(false);
      expect((await server.gql<{ deletePasskey: boolean }>(DELETE, { id: 'no-such-id' }, { token: pair.accessToken })).body.data?.deletePasskey).toBe(false);
      expect((await server.gql<{ deletePasskey: boolean }>(DELETE, { id: passkey.id }, { token: pair.accessToken })).body.data?.deletePasskey).toBe(true);
      expect((await auditEvents(pair.user.id, 'passkey.deleted')).map((e) => e.details)).toEqual([{ passkeyId: passkey.id }]);
      // Gone: it no longer signs in.
      expectRefused(await signInWith(authenticator));
    });

    it('deletePasskey needs a fresh token', async () => {
      const { pair, passkey } = await userWithPasskey('manage.stale');
      const refreshed = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: pair.refreshToken })).body.data!.refreshToken;
      expect(errorCode(await server.gql(DELETE, { id: passkey.id }, { token: refreshed.accessToken }))).toBe('FRESH_TOKEN_REQUIRED');
    });
  });

  it('no challenge, key, signature or token reaches a log line', () => {
    const text = lines.join('\n');
    expect(text).not.toMatch(/"challenge"/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // a JWT
  });
});

describe('starting passkey ceremonies is limited per address', () => {
  let server: TestServer;
  beforeAll(async () => {
    // 2 failed logins per address per hour: 20 ceremony starts.
    server = await startServer({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: ORIGIN, TRUST_PROXY: 'true', RATE_LIMIT_LOGIN_ADDRESS: '2/1h' });
  });
  afterAll(() => server.stop());

  it('ten times the login budget of an address, then RATE_LIMITED with retryAfter; another address is unaffected [catches: startPasskeyLogin writing rows unlimited]', async () => {
    const start = (address: string) => server.gql(START_LOGIN, { u: null }, { headers: { 'x-forwarded-for': address } });
    for (let i = 0; i < 20; i++) expect((await start('203.0.113.7')).body.errors).toBeUndefined();
    const refused = await start('203.0.113.7');
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(refused.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    expect((await start('203.0.113.8')).body.errors).toBeUndefined();
    const rows = await server.app.db.selectFrom('passkey_challenges').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(21);
  });
});
