import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const BASE = { NODE_ENV: 'test', JWT_SECRET: 'k7Qp2vXz9LmN4rTb8WcY1dHs6FgJ0aEu3iOy5nPqRtSvBxZj' } as const;
const GOOGLE = { OIDC_PROVIDERS: 'google', OIDC_GOOGLE_ISSUER: 'https://accounts.google.com', OIDC_GOOGLE_CLIENT_ID: 'id-1', OIDC_GOOGLE_CLIENT_SECRET: 's3cret' } as const;

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('social sign-in settings', () => {
  it('are off by default, with the explorer\'s origin as the one redirect origin', () => {
    const config = loadConfig({ ...BASE, PORT: '4100' });
    expect(config.social).toEqual({ providers: [], redirectOrigins: ['http://localhost:4100'], startPerAddress: { points: 60, duration: 60 } });
    expect(loadConfig({ ...BASE, PUBLIC_URL: 'https://auth.example.com/' }).social.redirectOrigins).toEqual(['https://auth.example.com']);
  });

  it('read each provider from OIDC_<NAME>_*, with the redirect URI made from PUBLIC_URL', () => {
    const config = loadConfig({ ...BASE, ...GOOGLE, OIDC_PROVIDERS: 'Google, corp', PUBLIC_URL: 'https://auth.example.com', OIDC_CORP_ISSUER: 'http://127.0.0.1:9000/realms/x', OIDC_CORP_CLIENT_ID: 'c', OIDC_CORP_CLIENT_SECRET_FILE: 'secret.txt', OIDC_CORP_SCOPES: 'openid email', OIDC_CORP_LABEL: 'Corp SSO', OAUTH_REDIRECT_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    expect(config.social.providers).toEqual([
      { name: 'google', label: 'google', issuer: 'https://accounts.google.com', clientId: 'id-1', clientSecret: 's3cret', clientSecretFile: null, scopes: ['openid', 'email', 'profile'], redirectUri: 'https://auth.example.com/oauth/callback/google' },
      { name: 'corp', label: 'Corp SSO', issuer: 'http://127.0.0.1:9000/realms/x', clientId: 'c', clientSecret: null, clientSecretFile: path.resolve('secret.txt'), scopes: ['openid', 'email'], redirectUri: 'https://auth.example.com/oauth/callback/corp' },
    ]);
    expect(config.social.redirectOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });

  it.each([
    ['http on a non-loopback host', { OIDC_GOOGLE_ISSUER: 'http://accounts.example.com' }, 'OIDC_GOOGLE_ISSUER must be https'],
    ['an issuer with a query', { OIDC_GOOGLE_ISSUER: 'https://id.example.com/?x=1' }, 'OIDC_GOOGLE_ISSUER must have no query'],
    ['no client id', { OIDC_GOOGLE_CLIENT_ID: '' }, 'OIDC_GOOGLE_CLIENT_ID is required'],
    ['a secret and a secret file', { OIDC_GOOGLE_CLIENT_SECRET_FILE: '/run/secrets/google' }, 'are both set'],
    ['scopes without openid', { OIDC_GOOGLE_SCOPES: 'email profile' }, 'must include openid'],
    ['a bad provider name', { OIDC_PROVIDERS: 'google,corp-sso' }, 'is not a provider name'],
    ['"*" as a redirect origin', { OAUTH_REDIRECT_ORIGINS: 'https://app.example.com,*' }, '"*" is refused'],
    ['a redirect origin with a path', { OAUTH_REDIRECT_ORIGINS: 'https://app.example.com/cb' }, 'is not an origin'],
  ])('refuse %s', (_what, env, problem) => {
    expect(problemsOf({ ...GOOGLE, ...env }).some((p) => p.includes(problem))).toBe(true);
  });

  it('allow http issuers on loopback hosts, in production too, but need PUBLIC_URL there', () => {
    for (const host of ['127.0.0.1:8080', '[::1]:8080', 'localhost:8080']) {
      expect(loadConfig({ ...BASE, ...GOOGLE, OIDC_GOOGLE_ISSUER: `http://${host}` }).social.providers[0]?.issuer).toBe(`http://${host}`);
    }
    expect(problemsOf({ ...GOOGLE, NODE_ENV: 'production', OIDC_GOOGLE_ISSUER: 'http://127.0.0.1:8080' })).toContain(
      'PUBLIC_URL is required with OIDC_PROVIDERS when NODE_ENV=production (the redirect URI is made from it)',
    );
  });
});
