import { expiresAtOf } from './jwt.js';
import { readCookie, sessionStorageStore, type RefreshTokenStore } from './stores.js';
import { createTabCoordinator, type AuthUser, type TabCoordinator, type TabMessage } from './tabs.js';
import { createSocialSignIn, type CompleteSocialSignInOptions, type SocialSignInOptions } from './social.js';

/** Where the refresh token lives: `header` mode (in a store, sent as an argument) or `cookie` mode (HttpOnly cookie; no JS access). */
export type AuthMode = 'header' | 'cookie';

/**
 * `auto`: whichever the server chose, for a page served from the API's own
 * origin that does not know the server's REFRESH_TOKEN_COOKIE setting (the
 * explorer). A sign-in that answers a refresh token keeps it in the store
 * (header mode); one that answers `""` leaves it in the cookie (cookie mode).
 * A page load with nothing in the store tries the cookie.
 */
export type AuthModeOption = AuthMode | 'auto';

/** Why the kit considers the user signed out. */
export type SignOutReason =
  /** logOut / logOutEverywhere / signOut() in this tab. */
  | 'logout'
  /** Another tab of this browser signed out. */
  | 'other-tab'
  /** The server answered TOKEN_REVOKED: the session ended (logout elsewhere, revoked, password changed). */
  | 'TOKEN_REVOKED'
  /** The server answered INVALID_TOKEN for the token this tab holds. */
  | 'INVALID_TOKEN'
  /** The refresh token (or cookie) is unknown, used, expired or revoked. */
  | 'INVALID_REFRESH_TOKEN'
  /** Cookie mode: no session cookie, or the CSRF check failed. */
  | 'NO_SESSION';

/** What the app sees of the sign-in. */
export interface AuthState {
  /** `restoring` while a page load looks for an earlier session. */
  readonly status: 'restoring' | 'signedIn' | 'signedOut';
  readonly user: AuthUser | null;
  readonly accessToken: string | null;
  /** When the access token expires (ms since epoch), from its `exp`. */
  readonly expiresAt: number | null;
}

/** The fields of tokengate's AuthPayload the kit reads. */
export interface AuthPayloadLike {
  readonly accessToken: string;
  /** `""` in cookie mode. */
  readonly refreshToken: string;
  readonly user?: AuthUser | null;
}

/** A GraphQL error as tokengate answers it. */
export interface GraphQLErrorLike {
  readonly message: string;
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/** A failed auth operation, with the contract's code (`INVALID_CREDENTIALS`, `RATE_LIMITED`, `INVALID_MFA_CODE`, …). */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    message: string,
    readonly code: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** The outcome of logIn: signed in, or the second (TOTP) step the app answers with `verify(code)`. */
export type LogInResult =
  | { readonly status: 'signedIn'; readonly user: AuthUser | null }
  | {
      readonly status: 'mfaRequired';
      /** Opaque, single use, 5 minutes (extensions.mfaToken of MFA_REQUIRED). */
      readonly mfaToken: string;
      /** Sends verifyMfa(mfaToken, code); throws AuthError INVALID_MFA_CODE on a wrong code (try again while the mfaToken lives). */
      verify(code: string): Promise<LogInResult>;
    };

/** Options of createAuth. */
export interface AuthOptions {
  /** The GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  readonly uri: string;
  /** Default `header`. Cookie mode needs the server's REFRESH_TOKEN_COOKIE=true and an app on the API's host (any port), or behind the same origin. */
  readonly mode?: AuthModeOption;
  /** Header mode: where the refresh token is kept (default sessionStorage). */
  readonly refreshTokenStore?: RefreshTokenStore;
  /** Called once each time the user becomes signed out (not at start-up when nobody was signed in). */
  readonly onSignedOut?: (reason: SignOutReason) => void;
  /** Cookie mode: reads the tg_csrf value (default: `document.cookie`). */
  readonly readCsrfToken?: () => string | null;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** Cross-tab coordination; default createTabCoordinator() (Web Locks, else BroadcastChannel). `null`: this tab alone. */
  readonly tabs?: TabCoordinator | null;
  /** How long restore() waits for another tab to answer with its tokens before refreshing itself. Default 150 ms. */
  readonly peerTimeoutMs?: number;
}

const USER_FIELDS = 'user { id username roles }';
const PAIR_FIELDS = `accessToken refreshToken expiresIn ${USER_FIELDS}`;
const OPERATIONS = {
  refreshWithArgument: `mutation RefreshToken($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) { ${PAIR_FIELDS} } }`,
  refreshWithCookie: `mutation RefreshToken { refreshToken { ${PAIR_FIELDS} } }`,
  logIn: `mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { ${PAIR_FIELDS} } }`,
  signUp: `mutation Signup($username: String!, $password: String!) { signup(username: $username, password: $password) { ${PAIR_FIELDS} } }`,
  verifyMfa: `mutation VerifyMfa($mfaToken: String!, $code: String!) { verifyMfa(mfaToken: $mfaToken, code: $code) { ${PAIR_FIELDS} } }`,
  completeOAuth: `mutation CompleteOAuth($code: String!) { completeOAuth(code: $code) { ${PAIR_FIELDS} } }`,
  logOut: 'mutation Logout { logout }',
  logOutEverywhere: 'mutation LogoutAll { logoutAll }',
} as const;

/** A GraphQL answer as the kit reads it. */
export interface GraphQLResponse {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly GraphQLErrorLike[];
}

/** The `UNAUTHENTICATED` reason of a result's errors, if any. */
export function authFailureOf(errors: readonly GraphQLErrorLike[] | undefined): string | null {
  for (const error of errors ?? []) {
    if (error.extensions?.code === 'UNAUTHENTICATED' && typeof error.extensions.reason === 'string') return error.extensions.reason;
  }
  return null;
}

/** tokengate's auth for one page: state, refresh, sign-in and sign-out, shared with the other tabs. */
export interface Auth {
  /** The refresh token's transport: options.mode, or in `auto` mode the one of the current session (`cookie` until a sign-in says otherwise). */
  readonly mode: AuthMode;
  /** The current state (a new object on each change). */
  getState(): AuthState;
  /** Calls `listener` on each change; returns the unsubscribe function. */
  subscribe(listener: (state: AuthState) => void): () => void;
  getAccessToken(): string | null;
  /** Resolves once a restore in progress is over (the link waits for it, so the first queries carry the token). */
  ready(): Promise<void>;
  /**
   * Looks for an earlier session on page load: another tab's tokens, else a
   * refresh (header mode: the stored refresh token; cookie mode: the cookie).
   * Resolves to whether the user is signed in.
   */
  restore(): Promise<boolean>;
  /**
   * Refreshes once for everyone: calls made while one is in flight (in this
   * tab, or in another tab of this browser) share it. `staleToken` is the
   * access token that failed; if the current one differs, nothing is sent.
   * Resolves to whether a usable access token is there afterwards.
   */
  refresh(staleToken?: string | null): Promise<boolean>;
  /** Takes the pair of any mutation answering AuthPayload (e.g. changePassword sent through Apollo). */
  signIn(payload: AuthPayloadLike): void;
  /** Forgets the session here and in every tab (no request; see logOut). */
  signOut(reason?: SignOutReason): void;
  logIn(username: string, password: string): Promise<LogInResult>;
  signUp(username: string, password: string): Promise<LogInResult>;
  /**
   * Social sign-in: asks startOAuth for the provider's URL (with credentials,
   * for the cookie that binds the flow to this browser) and sends the
   * browser there. `link: true` links the identity to the signed-in user.
   */
  startSocialSignIn(provider: string, options?: SocialSignInOptions): Promise<void>;
  /**
   * On the page the provider sent the browser back to: trades `#tg_code`
   * for a session (completeOAuth) and removes it from the address bar.
   * Null when the fragment holds neither a code nor an error; AuthError
   * `OAUTH_FAILED` (with `reason`) for `#tg_error`. Call restore() first
   * when finishing a `link` flow, so the call carries the user's token.
   */
  completeSocialSignIn(options?: CompleteSocialSignInOptions): Promise<LogInResult | null>;
  /** Ends this session on the server (`logout`), then signs out every tab; resolves to whether the server confirmed (false: it answered an error, or nobody was signed in). */
  logOut(): Promise<boolean>;
  /** Ends every session of the user (`logoutAll`), then signs out every tab; resolves to how many ended. */
  logOutEverywhere(): Promise<number>;
  /**
   * Sends one operation with this page's credentials (the bearer token when
   * signed in, refreshed once on TOKEN_EXPIRED): what the kit's helpers
   * (registerPasskey, signInWithPasskey) build on.
   */
  request(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse>;
  /** Takes the answer of a mutation that signs in (`field` answers AuthPayload): signed in, the TOTP step, or throws its AuthError. */
  completeSignIn(response: GraphQLResponse, field: string): LogInResult;
  /** Headers and credentials for a fetch the app makes itself. */
  readonly credentials: RequestCredentials;
  /** Called by the link with each result: signs out on TOKEN_REVOKED / INVALID_TOKEN for the token in use. */
  noteResult(errors: readonly GraphQLErrorLike[] | undefined, sentToken: string | null): void;
  /** Stops listening to other tabs. */
  close(): void;
}

/** Creates the auth state of this page. */
export function createAuth(options: AuthOptions): Auth {
  const auto = options.mode === 'auto';
  const store = options.refreshTokenStore ?? sessionStorageStore();
  // Fixed unless `auto`, where each sign-in tells (a refresh token in the answer, or "").
  let mode: AuthMode = options.mode === 'cookie' || (auto && !store.get()) ? 'cookie' : 'header';
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const readCsrf = options.readCsrfToken ?? (() => readCookie('tg_csrf'));
  const tabs = options.tabs !== undefined ? options.tabs : createTabCoordinator();
  const peerTimeoutMs = options.peerTimeoutMs ?? 150;
  // `auto` serves a page on the API's origin, where same-origin requests carry the cookies.
  const credentials: RequestCredentials = options.mode === 'cookie' ? 'include' : 'same-origin';
  const tabId = Math.random().toString(36).slice(2);

  let state: AuthState = { status: 'signedOut', user: null, accessToken: null, expiresAt: null };
  let restoring: Promise<boolean> | null = null;
  let refreshing: Promise<boolean> | null = null;
  let peerAnswer: ((message: Extract<TabMessage, { type: 'state' }>) => void) | null = null;
  const listeners = new Set<(state: AuthState) => void>();

  const setState = (next: AuthState) => {
    state = next;
    for (const listener of listeners) listener(state);
  };

  const take = (accessToken: string, refreshToken: string | null, user: AuthUser | null) => {
    if (auto) {
      mode = refreshToken ? 'header' : 'cookie';
      store.set(refreshToken || null);
    } else if (mode === 'header' && refreshToken) store.set(refreshToken);
    setState({ status: 'signedIn', user: user ?? state.user, accessToken, expiresAt: expiresAtOf(accessToken) });
  };

  const forget = (reason: SignOutReason, announce: boolean) => {
    // A tab that held no session (a fresh page finding nothing to restore) has nothing to announce.
    const wasSignedIn = state.status === 'signedIn' || state.accessToken !== null;
    if (mode === 'header') store.set(null);
    if (auto) mode = 'cookie';
    setState({ status: 'signedOut', user: null, accessToken: null, expiresAt: null });
    if (announce && wasSignedIn) tabs?.publish({ type: 'signedOut', reason });
    if (wasSignedIn) options.onSignedOut?.(reason);
  };

  const unsubscribeTabs = tabs?.subscribe((message) => {
    switch (message.type) {
      case 'tokens':
        take(message.accessToken, message.refreshToken, message.user);
        return;
      case 'signedOut':
        forget('other-tab', false);
        return;
      case 'hello':
        if (state.status === 'signedIn' && state.accessToken) {
          tabs.publish({ type: 'state', to: message.from, accessToken: state.accessToken, refreshToken: mode === 'header' ? store.get() : null, user: state.user });
        }
        return;
      case 'state':
        if (message.to === tabId) peerAnswer?.(message);
        return;
      default: {
        const unknown: never = message;
        return unknown;
      }
    }
  });

  async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
    const operationName = /^(?:query|mutation)\s+(\w+)/.exec(query)?.[1];
    const response = await doFetch(options.uri, {
      method: 'POST',
      credentials,
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      body: JSON.stringify({ operationName, query, variables }),
    });
    const text = await response.text();
    try {
      return JSON.parse(text) as GraphQLResponse;
    } catch {
      throw new AuthError(`tokengate answered ${response.status} without JSON`, 'BAD_RESPONSE');
    }
  }

  /** One refresh request; assumes the caller holds the cross-tab lock. */
  async function refreshNow(): Promise<boolean> {
    let response: GraphQLResponse;
    if (mode === 'header') {
      const refreshToken = store.get();
      if (!refreshToken) {
        forget('INVALID_REFRESH_TOKEN', true);
        return false;
      }
      response = await post(OPERATIONS.refreshWithArgument, { refreshToken });
    } else {
      const csrf = readCsrf();
      // No tg_csrf cookie: there is no session to restore, so nothing is sent.
      if (!csrf) {
        forget('NO_SESSION', true);
        return false;
      }
      response = await post(OPERATIONS.refreshWithCookie, {}, { 'x-csrf-token': csrf });
    }
    const pair = response.data?.refreshToken as (AuthPayloadLike & { user: AuthUser }) | undefined;
    if (pair) {
      take(pair.accessToken, pair.refreshToken || null, pair.user);
      tabs?.publish({ type: 'tokens', accessToken: pair.accessToken, refreshToken: mode === 'header' ? pair.refreshToken : null, user: pair.user });
      return true;
    }
    const error = response.errors?.[0];
    const code = error?.extensions?.code;
    if (code === 'INVALID_REFRESH_TOKEN') forget('INVALID_REFRESH_TOKEN', true);
    else if (code === 'FORBIDDEN' && error?.extensions?.reason === 'CSRF') forget('NO_SESSION', true);
    // Anything else (RATE_LIMITED, an outage) leaves the session alone: the next call may refresh again.
    return false;
  }

  function refresh(staleToken: string | null = state.accessToken): Promise<boolean> {
    const renewed = () => state.accessToken !== null && state.accessToken !== staleToken;
    if (renewed()) return Promise.resolve(true);
    refreshing ??= (async () => {
      try {
        const run = async () => (renewed() ? true : refreshNow());
        return await (tabs ? tabs.runExclusive(run) : run());
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  /** Asks the other tabs for their tokens; null when none answers in time. */
  function askPeers(): Promise<Extract<TabMessage, { type: 'state' }> | null> {
    if (!tabs?.shared) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        peerAnswer = null;
        resolve(null);
      }, peerTimeoutMs);
      peerAnswer = (message) => {
        clearTimeout(timer);
        peerAnswer = null;
        resolve(message);
      };
      tabs.publish({ type: 'hello', from: tabId });
    });
  }

  function restore(): Promise<boolean> {
    restoring ??= (async () => {
      setState({ ...state, status: 'restoring' });
      try {
        const peer = await askPeers();
        if (peer) {
          take(peer.accessToken, peer.refreshToken, peer.user);
          return true;
        }
        const ok = await refresh(null);
        if (!ok && state.status === 'restoring') setState({ status: 'signedOut', user: null, accessToken: null, expiresAt: null });
        return ok;
      } finally {
        restoring = null;
      }
    })();
    return restoring;
  }

  /** Sends a signed-in mutation, refreshing once on TOKEN_EXPIRED. */
  async function authorized(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse> {
    await ready();
    for (let attempt = 0; ; attempt++) {
      const sent = state.accessToken;
      const response = await post(query, variables, sent ? { authorization: `Bearer ${sent}` } : {});
      if (attempt === 0 && authFailureOf(response.errors) === 'TOKEN_EXPIRED' && (await refresh(sent))) continue;
      return response;
    }
  }

  function signedInBy(response: GraphQLResponse, field: string): LogInResult {
    const pair = response.data?.[field] as (AuthPayloadLike & { user: AuthUser }) | undefined;
    if (pair) {
      take(pair.accessToken, pair.refreshToken || null, pair.user);
      tabs?.publish({ type: 'tokens', accessToken: pair.accessToken, refreshToken: mode === 'header' ? pair.refreshToken : null, user: pair.user });
      return { status: 'signedIn', user: pair.user };
    }
    const error = response.errors?.[0];
    const code = typeof error?.extensions?.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
    if (code === 'MFA_REQUIRED' && typeof error?.extensions?.mfaToken === 'string') {
      const mfaToken = error.extensions.mfaToken;
      return {
        status: 'mfaRequired',
        mfaToken,
        verify: async (code: string) => signedInBy(await post(OPERATIONS.verifyMfa, { mfaToken, code }), 'verifyMfa'),
      };
    }
    throw new AuthError(error?.message ?? 'tokengate answered no data', code, error?.extensions ?? {});
  }

  function ready(): Promise<void> {
    return restoring ? restoring.then(() => undefined) : Promise.resolve();
  }

  const social = createSocialSignIn({
    uri: options.uri,
    fetch: doFetch,
    accessToken: () => state.accessToken,
    ready,
    complete: async (code, token) => signedInBy(await post(OPERATIONS.completeOAuth, { code }, token ? { authorization: `Bearer ${token}` } : {}), 'completeOAuth'),
  });

  return {
    get mode() {
      return mode;
    },
    startSocialSignIn: social.start,
    completeSocialSignIn: social.complete,
    credentials,
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getAccessToken: () => state.accessToken,
    ready,
    restore,
    refresh,
    signIn(payload) {
      take(payload.accessToken, payload.refreshToken || null, payload.user ?? null);
      tabs?.publish({ type: 'tokens', accessToken: payload.accessToken, refreshToken: mode === 'header' ? payload.refreshToken : null, user: payload.user ?? state.user });
    },
    signOut(reason = 'logout') {
      // Asked for by the app: tell the other tabs even if this one had no token yet.
      if (state.accessToken === null) tabs?.publish({ type: 'signedOut', reason });
      forget(reason, true);
    },
    request: (query, variables) => authorized(query, variables),
    completeSignIn: (response, field) => signedInBy(response, field),
    async logIn(username, password) {
      return signedInBy(await post(OPERATIONS.logIn, { username, password }), 'login');
    },
    async signUp(username, password) {
      return signedInBy(await post(OPERATIONS.signUp, { username, password }), 'signup');
    },
    async logOut() {
      try {
        if (!state.accessToken) return false;
        const response = await authorized(OPERATIONS.logOut);
        return response.data?.logout === true;
      } finally {
        forget('logout', true);
      }
    },
    async logOutEverywhere() {
      try {
        const response = await authorized(OPERATIONS.logOutEverywhere);
        const error = response.errors?.[0];
        if (error) throw new AuthError(error.message, String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'), error.extensions ?? {});
        return Number(response.data?.logoutAll ?? 0);
      } finally {
        forget('logout', true);
      }
    },
    noteResult(errors, sentToken) {
      const reason = authFailureOf(errors);
      // Only the token this tab still holds: an answer about an older token says nothing about the session now.
      if ((reason === 'TOKEN_REVOKED' || reason === 'INVALID_TOKEN') && sentToken !== null && sentToken === state.accessToken) forget(reason, true);
    },
    close() {
      unsubscribeTabs?.();
      tabs?.close();
    },
  };
}
