import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp, type AppDeps } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createStorage } from '../helpers/backend.js';
import { gql as postGql, type GqlResponse } from '../helpers/gql-client.js';
import { browse, CookieJar, signInAtProvider, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { AUTH_FIELDS, GENEROUS_LIMITS, testEnv, type TestServer } from '../helpers/server.js';

/** The AuthPayload fields the social tests read. */
export const SOCIAL_AUTH_FIELDS = `${AUTH_FIELDS} user { email emailVerified identities { provider subject email linkedAt } }`;
export const START = 'mutation ($p: String!, $r: String!, $l: Boolean) { startOAuth(provider: $p, redirectTo: $r, link: $l) }';
export const COMPLETE = `mutation ($c: String!) { completeOAuth(code: $c) { ${SOCIAL_AUTH_FIELDS} } }`;
export const UNLINK = 'mutation ($p: String!) { unlinkIdentity(provider: $p) }';
export const ME = '{ me { id username email emailVerified identities { provider subject email } } }';
/** Where the app lives that the tests send browsers back to. */
export const APP_ORIGIN = 'http://app.test:5173';
export const APP_URL = `${APP_ORIGIN}/signed-in`;

/** A free loopback port (the redirect URI must be known before the server and the providers start). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** tokengate with two providers, `alpha` (claims in the ID token, like Google) and `beta` (claims from userinfo). */
export interface SocialWorld {
  readonly server: TestServer;
  readonly alpha: TestProvider;
  readonly beta: TestProvider;
  stop(): Promise<void>;
}

/** Starts two test providers and tokengate configured for both, and waits until both are discovered. */
export async function startSocialWorld(env: Record<string, string> = {}, deps: AppDeps = {}): Promise<SocialWorld> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const alpha = await startTestProvider({ clientId: 'tokengate-alpha', clientSecret: 'alpha-client-secret-0123456789', redirectUris: [`${base}/oauth/callback/alpha`], idTokenClaims: true });
  const beta = await startTestProvider({ clientId: 'tokengate-beta', clientSecret: 'beta-client-secret-0123456789', redirectUris: [`${base}/oauth/callback/beta`] });
  const storage = await createStorage();
  // beta's secret comes from a file, as OIDC_<NAME>_CLIENT_SECRET_FILE allows.
  const betaSecretFile = path.join(storage.dir, 'beta-client-secret');
  writeFileSync(betaSecretFile, `${beta.clientSecret}\n`, { mode: 0o600 });
  const config = loadConfig(
    testEnv(storage, {
      PUBLIC_URL: base,
      OIDC_PROVIDERS: 'alpha,beta',
      OIDC_ALPHA_ISSUER: alpha.issuer,
      OIDC_ALPHA_CLIENT_ID: alpha.clientId,
      OIDC_ALPHA_CLIENT_SECRET: alpha.clientSecret,
      OIDC_ALPHA_LABEL: 'Alpha ID',
      OIDC_BETA_ISSUER: beta.issuer,
      OIDC_BETA_CLIENT_ID: beta.clientId,
      OIDC_BETA_CLIENT_SECRET_FILE: betaSecretFile,
      OAUTH_REDIRECT_ORIGINS: `${APP_ORIGIN},${base}`,
      ...GENEROUS_LIMITS,
      RATE_LIMIT_OAUTH_ADDRESS: '100000/1m',
      ...env,
    }),
  );
  const app = buildApp(config, deps);
  await app.start();
  await app.listen(port, '127.0.0.1');
  const server: TestServer = {
    url: base,
    app,
    config,
    storage,
    gql: (query, variables, opts) => postGql(base, query, variables, opts),
    async stop() {
      await app.stop();
      await storage.dispose();
    },
  };
  await waitUntilDiscovered(base);
  // Mail stays queued, its body readable by linkTokenFor: no worker sends (and so erases) it under a test's feet.
  await app.outbox?.stop();
  return {
    server,
    alpha,
    beta,
    async stop() {
      await server.stop();
      await alpha.stop();
      await beta.stop();
    },
  };
}

/** Polls /readyz (bounded) until every provider is discovered. */
async function waitUntilDiscovered(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const body = (await (await fetch(`${base}/readyz`)).json()) as { checks: Record<string, string> };
    if (body.checks.oidc_alpha === 'ok' && body.checks.oidc_beta === 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the providers were not discovered');
}

/** A GraphQL call from a browser: its cookie jar rides along, and cookies it gets back are kept. */
export async function gqlInBrowser<T = Record<string, unknown>>(
  jar: CookieJar,
  base: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GqlResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const cookie = jar.header(base);
  if (cookie !== undefined) headers.cookie = cookie;
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  jar.store(base, res);
  return { status: res.status, body: (await res.json()) as GqlResponse<T>['body'], headers: res.headers };
}

/** What a browser learns at the end of the redirects: the fragment tokengate put on redirectTo. */
export interface CallbackResult {
  readonly status: number;
  readonly location: string | null;
  readonly code: string | null;
  readonly error: string | null;
  readonly reason: string | null;
}

/** Sends the browser to the callback URL and reads where it is sent. */
export async function followCallback(jar: CookieJar, callbackUrl: string): Promise<CallbackResult> {
  const response = await browse(jar, callbackUrl);
  const location = response.headers.get('location');
  const fragment = new URLSearchParams(location?.split('#')[1] ?? '');
  await response.text();
  return { status: response.status, location, code: fragment.get('tg_code'), error: fragment.get('tg_error'), reason: fragment.get('tg_reason') };
}

/** startOAuth in this browser: the provider's authorization URL (fails the test on an error). */
export async function startOAuth(world: SocialWorld, jar: CookieJar, provider: 'alpha' | 'beta', options: { token?: string; link?: boolean; redirectTo?: string } = {}): Promise<string> {
  const res = await gqlInBrowser<{ startOAuth: string }>(jar, world.server.url, START, { p: provider, r: options.redirectTo ?? APP_URL, l: options.link ?? false }, options.token);
  if (!res.body.data?.startOAuth) throw new Error(`startOAuth failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.startOAuth;
}

/** A browser that starts a flow, signs in at the provider as `login`, and comes back: the callback's outcome. */
export async function runFlow(
  world: SocialWorld,
  provider: 'alpha' | 'beta',
  login: string,
  options: { jar?: CookieJar; token?: string; link?: boolean } = {},
): Promise<CallbackResult & { jar: CookieJar }> {
  const jar = options.jar ?? new CookieJar();
  const authorizationUrl = await startOAuth(world, jar, provider, options);
  const callbackUrl = await signInAtProvider(jar, authorizationUrl, login, `${world.server.url}/oauth/callback/`);
  return { ...(await followCallback(jar, callbackUrl)), jar };
}

/** The AuthPayload of completeOAuth, with the identity fields. */
export interface SocialPayload {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: { id: string; username: string; roles: string[]; email: string | null; emailVerified: boolean; identities: Array<{ provider: string; subject: string; email: string | null }> };
}

/** A full sign-in: the flow, then completeOAuth; fails the test on any error. */
export async function socialSignIn(world: SocialWorld, provider: 'alpha' | 'beta', login: string, options: { token?: string; link?: boolean } = {}): Promise<SocialPayload> {
  const result = await runFlow(world, provider, login, options);
  if (result.code === null) throw new Error(`the callback failed: ${result.error} ${result.reason} (${result.status})`);
  const res = await gqlInBrowser<{ completeOAuth: SocialPayload }>(result.jar, world.server.url, COMPLETE, { c: result.code }, options.token);
  if (!res.body.data?.completeOAuth) throw new Error(`completeOAuth failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.completeOAuth;
}

/** The link token of the latest mail to `address` (read before the worker erases the body). */
export async function linkTokenFor(server: TestServer, address: string): Promise<string> {
  const rows = await server.app.db.selectFrom('mail_outbox').select(['to_address', 'text_body']).where('to_address', '=', address).orderBy('created_at', 'desc').execute();
  const token = rows.map((row) => /token=([A-Za-z0-9_-]+)/.exec(row.text_body ?? '')?.[1]).find((t) => t !== undefined);
  if (token === undefined) throw new Error(`no link mailed to ${address}`);
  return token;
}

/** The audit events of a type, oldest first. */
export function auditEvents(server: TestServer, type: string) {
  return server.app.db.selectFrom('audit_events').selectAll().where('type', '=', type).orderBy('seq').execute();
}
