import path from 'node:path';
import { z } from 'zod';
import { budget, type Budget } from '../fields.js';
import type { ConfigSection, RawSettings } from '../section.js';
import type { NodeEnv } from './environment.section.js';

/** One OpenID provider users may sign in with (docs/api.md, "Social sign-in (OpenID Connect)"). */
export interface OidcProviderConfig {
  /** The name in OIDC_PROVIDERS, lower-case: the callback is `/oauth/callback/<name>`. */
  readonly name: string;
  /** Shown on the sign-in button. */
  readonly label: string;
  /** The issuer identifier; its discovery document is `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clientId: string;
  /** The client secret from OIDC_<NAME>_CLIENT_SECRET; null when it comes from a file, or for a public client (PKCE only). */
  readonly clientSecret: string | null;
  /** OIDC_<NAME>_CLIENT_SECRET_FILE, resolved; read once at start-up. */
  readonly clientSecretFile: string | null;
  readonly scopes: readonly string[];
  /** The redirect URI registered at the provider: `<PUBLIC_URL>/oauth/callback/<name>`. */
  readonly redirectUri: string;
}

/** The social sign-in part of Config. */
export interface SocialConfig {
  /** In the order of OIDC_PROVIDERS; empty when social sign-in is off. */
  readonly providers: readonly OidcProviderConfig[];
  /** Exact origins (`scheme://host[:port]`) a browser may be sent back to after sign-in. */
  readonly redirectOrigins: readonly string[];
  /** startOAuth calls per client address (beyond: RATE_LIMITED). */
  readonly startPerAddress: Budget;
}

const fields = {
  OIDC_PROVIDERS: z.string().default(''),
  OAUTH_REDIRECT_ORIGINS: z.string().optional(),
  RATE_LIMIT_OAUTH_ADDRESS: budget('RATE_LIMIT_OAUTH_ADDRESS').prefault('60/1m'),
};

/** A provider name: lower-case letters, digits and `_` (it becomes part of environment names and of a URL path). */
const NAME = /^[a-z][a-z0-9_]{0,31}$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

const namesOf = (raw: RawSettings): string[] =>
  (raw.OIDC_PROVIDERS ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');

const setting = (name: string, what: string) => `OIDC_${name.toUpperCase()}_${what}`;

/** Why an issuer is unusable, or null. Plain http only on a loopback host: anything else would let the network forge ID tokens' keys. */
export function issuerProblem(issuer: string): string | null {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'must be a URL';
  }
  if (url.search !== '' || url.hash !== '') return 'must have no query or fragment';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return 'must be https (http only on 127.0.0.1, [::1] or localhost)';
}

/** The origin a redirect-origins entry names, or null when it is not exactly an origin. */
function exactOrigin(text: string): string | null {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.origin !== text.replace(/\/$/, '')) return null;
    return url.origin;
  } catch {
    return null;
  }
}

const listOrigins = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');

/** OIDC_PROVIDERS with each provider's OIDC_<NAME>_* settings, and OAUTH_REDIRECT_ORIGINS. */
export const socialSection: ConfigSection<typeof fields, { readonly social: SocialConfig }, { NODE_ENV: NodeEnv; PORT: number; PUBLIC_URL?: string | undefined }> = {
  title: 'Social sign-in',
  notes: [
    'See [Social sign-in](../guides/social-sign-in.md) for Google, Microsoft Entra ID, GitHub and other providers. For each NAME in `OIDC_PROVIDERS`:',
    '',
    '- `OIDC_<NAME>_ISSUER` (required): the issuer; its metadata comes from `<issuer>/.well-known/openid-configuration`. `https`, except on a loopback host (`127.0.0.1`, `[::1]`, `localhost`), in production too.',
    '- `OIDC_<NAME>_CLIENT_ID` (required), and `OIDC_<NAME>_CLIENT_SECRET` or `OIDC_<NAME>_CLIENT_SECRET_FILE` (a file holding it, read at start-up; not both). Neither: a public client (PKCE only).',
    '- `OIDC_<NAME>_SCOPES` (default `openid email profile`; must include `openid`), `OIDC_<NAME>_LABEL` (default NAME: the button text).',
    '',
    'The redirect URI to register at the provider is `<PUBLIC_URL>/oauth/callback/<name>` (name in lower case).',
  ].join('\n'),
  fields,
  docs: {
    OIDC_PROVIDERS: { default: 'none (social sign-in off)', description: 'Comma-separated provider names, e.g. `google,corp`: lower-case letters, digits and `_`.' },
    OAUTH_REDIRECT_ORIGINS: {
      default: "the explorer's origin: `PUBLIC_URL`'s (`http://localhost:<PORT>` without it)",
      description:
        'Comma-separated exact origins (`https://app.example.com`) a browser may be sent back to after social sign-in (`startOAuth`\'s `redirectTo`). `*` is refused. These origins may also call `startOAuth` with credentials (for its browser-binding cookie).',
    },
    RATE_LIMIT_OAUTH_ADDRESS: '`startOAuth` calls from one client address, per window (each writes a flow row); beyond, `RATE_LIMITED`.',
  },
  check: ({ raw }) => {
    const problems: string[] = [];
    const names = namesOf(raw);
    const seen = new Set<string>();
    for (const name of names) {
      if (!NAME.test(name)) {
        problems.push(`OIDC_PROVIDERS: "${name}" is not a provider name (lower-case letters, digits and _, starting with a letter)`);
        continue;
      }
      if (seen.has(name)) problems.push(`OIDC_PROVIDERS names ${name} twice`);
      seen.add(name);
      const issuer = raw[setting(name, 'ISSUER')];
      if (issuer === undefined) problems.push(`${setting(name, 'ISSUER')} is required (OIDC_PROVIDERS names ${name})`);
      else {
        const problem = issuerProblem(issuer);
        if (problem !== null) problems.push(`${setting(name, 'ISSUER')} ${problem}`);
      }
      if (raw[setting(name, 'CLIENT_ID')] === undefined) problems.push(`${setting(name, 'CLIENT_ID')} is required (OIDC_PROVIDERS names ${name})`);
      if (raw[setting(name, 'CLIENT_SECRET')] !== undefined && raw[setting(name, 'CLIENT_SECRET_FILE')] !== undefined) {
        problems.push(`${setting(name, 'CLIENT_SECRET')} and ${setting(name, 'CLIENT_SECRET_FILE')} are both set: set one`);
      }
      const scopes = raw[setting(name, 'SCOPES')];
      if (scopes !== undefined && !scopes.split(/\s+/).includes('openid')) problems.push(`${setting(name, 'SCOPES')} must include openid`);
    }
    for (const origin of listOrigins(raw.OAUTH_REDIRECT_ORIGINS)) {
      // Any origin at all would make the one-time code a gift to every site on the web.
      if (origin === '*') problems.push('OAUTH_REDIRECT_ORIGINS must list exact origins ("*" is refused)');
      else if (exactOrigin(origin) === null) problems.push(`OAUTH_REDIRECT_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path)`);
    }
    if (names.length > 0 && raw.NODE_ENV === 'production' && raw.PUBLIC_URL === undefined) {
      problems.push('PUBLIC_URL is required with OIDC_PROVIDERS when NODE_ENV=production (the redirect URI is made from it)');
    }
    return problems;
  },
  build: (e, { raw }) => {
    const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
    const providers = namesOf(raw).map((name): OidcProviderConfig => {
      const secretFile = raw[setting(name, 'CLIENT_SECRET_FILE')];
      return Object.freeze({
        name,
        label: raw[setting(name, 'LABEL')] ?? name,
        issuer: raw[setting(name, 'ISSUER')]!,
        clientId: raw[setting(name, 'CLIENT_ID')]!,
        clientSecret: raw[setting(name, 'CLIENT_SECRET')] ?? null,
        clientSecretFile: secretFile === undefined ? null : path.resolve(secretFile),
        scopes: Object.freeze((raw[setting(name, 'SCOPES')] ?? 'openid email profile').split(/\s+/).filter((scope) => scope !== '')),
        redirectUri: `${publicUrl}/oauth/callback/${name}`,
      });
    });
    const configured = listOrigins(e.OAUTH_REDIRECT_ORIGINS).map((origin) => exactOrigin(origin)!);
    return {
      social: Object.freeze({
        providers: Object.freeze(providers),
        redirectOrigins: Object.freeze(configured.length > 0 ? configured : [new URL(publicUrl).origin]),
        startPerAddress: Object.freeze(e.RATE_LIMIT_OAUTH_ADDRESS),
      }),
    };
  },
};
