import { AuthError, type GraphQLErrorLike, type LogInResult } from './auth.js';

/** Options of startSocialSignIn. */
export interface SocialSignInOptions {
  /** Where the provider's answer comes back to: a page of the app on one of the server's OAUTH_REDIRECT_ORIGINS. Default: this page, without its fragment. */
  readonly redirectTo?: string;
  /** Link the identity to the signed-in user (needs a fresh token) instead of signing in with it. */
  readonly link?: boolean;
  /** How the browser is sent to the provider. Default: `location.assign(url)`. */
  readonly navigate?: (url: string) => void;
}

/** Options of completeSocialSignIn. */
export interface CompleteSocialSignInOptions {
  /** The fragment to read (default `location.hash`); the kit removes it from the address bar when it holds a code or an error. */
  readonly hash?: string;
}

/** What social.ts needs of the auth core. */
export interface SocialDeps {
  readonly uri: string;
  readonly fetch: typeof fetch;
  readonly accessToken: () => string | null;
  readonly ready: () => Promise<void>;
  /** Sends completeOAuth (the core's own transport: cookie mode's credentials) and takes the pair, or the TOTP step. */
  readonly complete: (code: string, token: string | null) => Promise<LogInResult>;
}

/** What each OAUTH_FAILED reason means to a person (docs/guides/social-sign-in.md). */
const REASONS: Readonly<Record<string, string>> = {
  STATE: 'it expired, was used already, or was started in another browser',
  PROVIDER: 'the identity provider did not complete it',
  ID_TOKEN: "the identity provider's answer could not be verified",
  CODE: 'its code expired or was used already',
};

const START = 'mutation StartOAuth($provider: String!, $redirectTo: String!, $link: Boolean) { startOAuth(provider: $provider, redirectTo: $redirectTo, link: $link) }';

function currentPageWithoutFragment(): string {
  const url = new URL(globalThis.location.href);
  url.hash = '';
  return url.href;
}

/**
 * Social sign-in for the kit (docs/api.md, "Social sign-in"): start sends
 * the browser to the provider; complete, on the page it comes back to,
 * trades `#tg_code` for a session. startOAuth is sent with credentials: its
 * answer sets the HttpOnly tg_oauth cookie that binds the flow to this
 * browser, and only a callback that brings it back may finish.
 */
export function createSocialSignIn(deps: SocialDeps) {
  return {
    async start(provider: string, options: SocialSignInOptions = {}): Promise<void> {
      await deps.ready();
      const token = options.link ? deps.accessToken() : null;
      const response = await deps.fetch(deps.uri, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ operationName: 'StartOAuth', query: START, variables: { provider, redirectTo: options.redirectTo ?? currentPageWithoutFragment(), link: options.link ?? false } }),
      });
      const body = (await response.json().catch(() => null)) as { data?: { startOAuth?: string } | null; errors?: readonly GraphQLErrorLike[] } | null;
      const url = body?.data?.startOAuth;
      if (typeof url !== 'string') {
        const error = body?.errors?.[0];
        throw new AuthError(error?.message ?? `tokengate answered ${response.status}`, String(error?.extensions?.code ?? 'BAD_RESPONSE'), error?.extensions ?? {});
      }
      (options.navigate ?? ((to: string) => globalThis.location.assign(to)))(url);
    },

    async complete(options: CompleteSocialSignInOptions = {}): Promise<LogInResult | null> {
      const fragment = new URLSearchParams((options.hash ?? globalThis.location?.hash ?? '').replace(/^#/, ''));
      const code = fragment.get('tg_code');
      const error = fragment.get('tg_error');
      if (code === null && error === null) return null;
      // The code works once: off the address bar (and out of history and bookmarks) before it is sent.
      if (options.hash === undefined && typeof history !== 'undefined') history.replaceState(history.state, '', currentPageWithoutFragment());
      if (error !== null) {
        const reason = fragment.get('tg_reason');
        const why = reason !== null ? REASONS[reason] : undefined;
        throw new AuthError(`Social sign-in failed${why ? `: ${why}` : ''}. Start again`, error, reason ? { reason } : {});
      }
      await deps.ready();
      return deps.complete(code!, deps.accessToken());
    },
  };
}
