import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

/*
 * A real OpenID provider in the test process: panva's oidc-provider (the
 * certified implementation) on loopback, with its development interactions
 * (a login form that accepts any login, then a consent form), and a cookie
 * jar that walks a browser's redirects through them. Tests may rewrite the
 * next ID token the token endpoint answers (re-signed with the provider's
 * own key, or another), to prove each check of the relying party.
 */

/** The claims an account at the test provider has. */
export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  name?: string;
}

/** How to rewrite the next ID token: its claims, and which key signs it. */
export interface IdTokenTamper {
  readonly claims?: (payload: JWTPayload) => JWTPayload;
  /** `own` (default): the provider's key, so only the rewritten claim is wrong; `other`: an unknown key under the same kid; `hs256`: an HMAC with the client secret. */
  readonly key?: 'own' | 'other' | 'hs256';
}

/** One running test provider. */
export interface TestProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Accounts by login (= `sub`); a login not listed has only `sub`. */
  readonly accounts: Map<string, TestAccount>;
  /** Rewrites the ID token of the next token response (once), or null. */
  tamperNextIdToken(tamper: IdTokenTamper | null): void;
  stop(): Promise<void>;
}

/**
 * Starts oidc-provider on 127.0.0.1 (a free port) with one confidential
 * client. `idTokenClaims`: whether scope claims (email, profile) go into
 * the ID token, as Google's do (true), or only to the userinfo endpoint, as
 * the spec's default (false).
 */
export async function startTestProvider(options: { clientId: string; clientSecret: string; redirectUris: readonly string[]; idTokenClaims?: boolean; port?: number }): Promise<TestProvider> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'test-key-1';
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const accounts = new Map<string, TestAccount>();
  let tamper: IdTokenTamper | null = null;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [...options.redirectUris],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
    conformIdTokenClaims: options.idTokenClaims !== true,
    pkce: { required: () => true },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, ...(accounts.get(sub) ?? {}) }),
    }),
  });
  // Rewrites the ID token on its way out of the token endpoint, signed as the test asks.
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: unknown } | undefined;
    if (ctx.path !== '/token' || tamper === null || typeof body?.id_token !== 'string') return;
    const { claims = (p) => p, key = 'own' } = tamper;
    tamper = null;
    const payload = claims(decodeJwt(body.id_token));
    const header = decodeProtectedHeader(body.id_token);
    let signed: string;
    if (key === 'hs256') {
      signed = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: header.kid ?? kid }).sign(new TextEncoder().encode(options.clientSecret));
    } else {
      const signer = key === 'other' ? (await generateKeyPair('RS256')).privateKey : privateKey;
      signed = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid }).sign(signer);
    }
    ctx.body = { ...body, id_token: signed };
  });
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);

  return {
    issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    accounts,
    tamperNextIdToken(next) {
      tamper = next;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Cookies by host, as a browser keeps them (enough for loopback servers: no domain, path or expiry rules beyond Max-Age=0). */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  /** The Cookie header for `url`, or undefined. */
  header(url: string): string | undefined {
    const jar = this.byHost.get(new URL(url).host);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Stores the Set-Cookie headers of an answer from `url`. */
  store(url: string, response: Response): void {
    const host = new URL(url).host;
    const jar = this.byHost.get(host) ?? new Map<string, string>();
    this.byHost.set(host, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** A cookie's value for `url`'s host. */
  get(url: string, name: string): string | undefined {
    return this.byHost.get(new URL(url).host)?.get(name);
  }

  /** Sets a cookie by hand (a test that plays another browser's cookie). */
  set(url: string, name: string, value: string): void {
    const host = new URL(url).host;
    const jar = this.byHost.get(host) ?? new Map<string, string>();
    this.byHost.set(host, jar);
    jar.set(name, value);
  }
}

/** One request as a browser sends it: the jar's cookies, no redirect followed; the answer's cookies stored. */
export async function browse(jar: CookieJar, url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  const cookie = jar.header(url);
  if (cookie !== undefined) headers.cookie = cookie;
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const response = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
  jar.store(url, response);
  return response;
}

/**
 * Walks a browser from the provider's authorization URL through its login
 * and consent forms, and stops at the redirect to `callbackPrefix` (the
 * relying party's callback), which it answers without following.
 */
export async function signInAtProvider(jar: CookieJar, authorizationUrl: string, login: string, callbackPrefix: string): Promise<string> {
  let url = authorizationUrl;
  for (let step = 0; step < 20; step++) {
    if (url.startsWith(callbackPrefix)) return url;
    const response = await browse(jar, url);
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url).href;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (response.status !== 200 || action === undefined) throw new Error(`the provider answered ${response.status} at ${url}: ${html.slice(0, 300)}`);
    const target = new URL(action.replace(/&amp;/g, '&'), url).href;
    const form: Record<string, string> = html.includes('name="login"') ? { prompt: 'login', login, password: 'any password' } : { prompt: 'consent' };
    const submitted = await browse(jar, target, { form });
    if (submitted.status < 300 || submitted.status >= 400) throw new Error(`the provider's form answered ${submitted.status}`);
    url = new URL(submitted.headers.get('location')!, target).href;
  }
  throw new Error('too many steps at the provider');
}
