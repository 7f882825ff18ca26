import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { BACKEND, createStorage, type Storage } from '../helpers/backend.js';
import { decodeClaims } from '../helpers/jwt.js';
import { AUTH_FIELDS, errorCode, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';

/*
 * The credentials migration (2026-12-06T00-00-credentials) on a database that
 * release 18a439f wrote, when passwords and TOTP secrets were columns of
 * `users`: every user still signs in afterwards, TOTP and recovery codes
 * included, and pending enrollments still confirm. The fixtures were made by
 * driving that release's server over GraphQL (test/fixtures/release-18a439f/make.mjs).
 */
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/release-18a439f');

interface FixtureUser {
  readonly username: string;
  readonly password: string;
  readonly totp: { readonly secret: string; readonly recoveryCodes: readonly string[]; readonly pendingSecret?: string } | null;
  readonly pendingSecret?: string;
}
const fixture = JSON.parse(readFileSync(path.join(FIXTURES, `${BACKEND}-users.json`), 'utf8')) as { jwtSecret: string; users: FixtureUser[] };
const user = (name: string) => fixture.users.find((u) => u.username === name)!;

const LOGIN = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const VERIFY = `mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ${AUTH_FIELDS} } }`;
const CONFIRM = 'mutation($c: String!) { confirmTotp(code: $c) }';

/** Puts the old release's database where `storage` points. */
async function restore(storage: Storage): Promise<void> {
  if (BACKEND === 'sqlite') {
    copyFileSync(path.join(FIXTURES, 'tokengate.sqlite'), storage.env.DATABASE_URL!);
    return;
  }
  // A plain pg_dump; its psql meta-commands (\restrict) are for psql, not for the server.
  const dump = readFileSync(path.join(FIXTURES, 'postgres.sql'), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('\\'))
    .join('\n');
  const client = new pg.Client({ connectionString: storage.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(dump);
  } finally {
    await client.end();
  }
}

describe(`upgrading a database of release 18a439f (${BACKEND})`, () => {
  let storage: Storage;
  let server: TestServer;
  beforeAll(async () => {
    storage = await createStorage();
    await restore(storage);
    // The old release sealed TOTP secrets under a key derived from its JWT_SECRET.
    server = await startServer({ JWT_SECRET: fixture.jwtSecret }, { storage });
  });
  afterAll(async () => {
    await server?.stop();
    await storage?.dispose();
  });

  const login = (u: FixtureUser) => server.gql<{ login: AuthPayload }>(LOGIN, { u: u.username, p: u.password });
  const now = () => Date.now();
  async function secondStep(u: FixtureUser, code: string): Promise<AuthPayload> {
    const first = await login(u);
    expect(errorCode(first)).toBe('MFA_REQUIRED');
    const mfaToken = (first.body.errors![0]!.extensions as { mfaToken: string }).mfaToken;
    const res = await server.gql<{ verifyMfa: AuthPayload }>(VERIFY, { t: mfaToken, c: code });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.verifyMfa;
  }

  it('moved every password, TOTP secret and pending enrollment to a credentials row, and the columns out of users', async () => {
    const rows = await server.app.db.selectFrom('credentials').innerJoin('users', 'users.id', 'credentials.user_id').select(['users.username', 'credentials.kind']).execute();
    const kinds = (kind: string) => rows.filter((r) => r.kind === kind).map((r) => r.username).sort();
    expect(kinds('password')).toEqual(['Carol', 'alice', 'bob', 'dave']);
    expect(kinds('totp')).toEqual(['Carol', 'bob']);
    expect(kinds('totp_pending')).toEqual(['Carol', 'dave']);
    const columns = (await server.app.db.introspection.getTables()).find((t) => t.name === 'users')!.columns.map((c) => c.name);
    expect(columns.filter((c) => c === 'password_hash' || c.startsWith('totp_'))).toEqual([]);
  });

  it('a user with a password only signs in with it, and the password records its last use', async () => {
    const lastUsed = () =>
      server.app.db
        .selectFrom('credentials')
        .innerJoin('users', 'users.id', 'credentials.user_id')
        .select('credentials.last_used_at')
        .where('users.username', '=', 'alice')
        .where('credentials.kind', '=', 'password')
        .executeTakeFirstOrThrow();
    expect((await lastUsed()).last_used_at).toBeNull();
    const res = await login(user('alice'));
    expect(res.body.errors).toBeUndefined();
    expect(decodeClaims(res.body.data!.login.accessToken).amr).toEqual(['pwd']);
    expect((await lastUsed()).last_used_at).not.toBeNull();
  });

  it('a user with TOTP signs in with a code, and with one of the recovery codes made before the upgrade', async () => {
    const bob = user('bob');
    const withCode = await secondStep(bob, generateTotpCode(bob.totp!.secret, now()));
    expect(decodeClaims(withCode.accessToken).amr).toEqual(['pwd', 'otp']);
    const withRecovery = await secondStep(bob, bob.totp!.recoveryCodes[0]!);
    expect(decodeClaims(withRecovery.accessToken).amr).toEqual(['pwd', 'recovery']);
    // The wrong password still fails, as before the upgrade.
    expect(errorCode(await server.gql(LOGIN, { u: 'bob', p: 'not the password at all' }))).toBe('INVALID_CREDENTIALS');
  });

  it('a pending re-enrollment survives: the old secret signs in, the new one confirms', async () => {
    const carol = user('Carol');
    const pair = await secondStep(carol, generateTotpCode(carol.totp!.secret, now()));
    const confirmed = await server.gql<{ confirmTotp: string[] }>(CONFIRM, { c: generateTotpCode(carol.totp!.pendingSecret!, now()) }, { token: pair.accessToken });
    expect(confirmed.body.errors).toBeUndefined();
    expect(confirmed.body.data!.confirmTotp).toHaveLength(10);
  });

  it('an enrollment never confirmed leaves TOTP off, and can still be confirmed', async () => {
    const dave = user('dave');
    const res = await login(dave);
    expect(res.body.errors).toBeUndefined();
    const confirmed = await server.gql<{ confirmTotp: string[] }>(CONFIRM, { c: generateTotpCode(dave.pendingSecret!, now()) }, { token: res.body.data!.login.accessToken });
    expect(confirmed.body.errors).toBeUndefined();
  });
});
