import path from 'node:path';
import { buildApp, type App, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createStorage, type Storage } from './backend.js';
import { gql, type GqlResponse } from './gql-client.js';

/** A 48-byte test secret; never used outside tests. */
export const TEST_SECRET = 'test-secret-for-tokengate-integration-tests-only-0123456789';

export type { GqlResponse };

/** A running tokengate on a free port, with its own storage (SQLite file, or PostgreSQL database and Redis prefix). */
export interface TestServer {
  readonly url: string;
  readonly app: App;
  readonly config: Config;
  readonly storage: Storage;
  /** POSTs a GraphQL operation; `token` becomes `Authorization: Bearer <token>`. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string; headers?: Record<string, string> },
  ): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
}

/** Limits high enough that a file's own calls never meet them (tests of the limits set their own). */
export const GENEROUS_LIMITS: Readonly<Record<string, string>> = {
  RATE_LIMIT_SIGNUP_ADDRESS: '100000/1h',
  RATE_LIMIT_LOGIN_ADDRESS: '100000/1h',
  RATE_LIMIT_LOGIN_USERNAME: '100000/1h',
  RATE_LIMIT_LOGIN_PAIR: '100000',
  RATE_LIMIT_MAIL_RECIPIENT: '100000/1h',
  RATE_LIMIT_RESET_ADDRESS: '100000/1h',
  // The mail worker is woken by each new mail; a long poll keeps retries under the test's control.
  MAIL_POLL_INTERVAL: '1h',
};

/** The environment every test server starts from; cheap Argon2 parameters keep the suite fast. */
export function testEnv(storage: Storage, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_SECRET,
    // Off unless a test turns it on: assertions on whole answers stay as they were (its default, on
    // outside production, is tested in test/graphql/auth-trace.http.test.ts and the process tests).
    AUTH_TRACE: 'false',
    ARGON2_MEMORY_KIB: '8192',
    ARGON2_TIME_COST: '1',
    // Without SMTP_URL mail becomes .eml files: in the test's own folder, never the repository's ./data.
    MAIL_OUTBOX_DIR: path.join(storage.dir, 'outbox'),
    ...storage.env,
    ...env,
  };
}

/**
 * Starts the real server (buildApp + listen on port 0) on fresh storage of the
 * backend under test, or on `options.storage` to reopen earlier storage
 * (restart tests); storage passed in is not disposed by stop().
 */
export async function startServer(
  env: Record<string, string> = {},
  options: { storage?: Storage; deps?: AppDeps } = {},
): Promise<TestServer> {
  const storage = options.storage ?? (await createStorage());
  const config = loadConfig(testEnv(storage, env));
  const app = buildApp(config, options.deps);
  await app.start();
  const port = await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    app,
    config,
    storage,
    gql: (query, variables, opts) => gql(url, query, variables, opts),
    async stop() {
      await app.stop();
      if (options.storage === undefined) await storage.dispose();
    },
  };
}

/** The fields of AuthPayload most tests want. */
export const AUTH_FIELDS = 'accessToken refreshToken tokenType expiresIn user { id username roles createdAt }';

/** The AuthPayload shape. */
export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: { id: string; username: string; roles: string[]; createdAt: string };
}

/** Signs up a user and returns the payload, failing the test on any error. */
export async function signup(server: TestServer, username: string, password = 'correct horse battery'): Promise<AuthPayload> {
  const res = await server.gql<{ signup: AuthPayload }>(
    `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`,
    { u: username, p: password },
  );
  if (!res.body.data?.signup) throw new Error(`signup failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.signup;
}

/** Logs a user in and returns the payload, failing the test on any error. */
export async function login(server: TestServer, username: string, password = 'correct horse battery'): Promise<AuthPayload> {
  const res = await server.gql<{ login: AuthPayload }>(
    `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`,
    { u: username, p: password },
  );
  if (!res.body.data?.login) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.login;
}

/** The first error's extensions.code, for terse assertions. */
export function errorCode(res: GqlResponse): unknown {
  return res.body.errors?.[0]?.extensions?.code;
}
