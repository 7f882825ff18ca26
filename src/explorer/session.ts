/*
 * The explorer's sign-in state: who is signed in, the access token (in memory
 * only: a reload signs out), and the refresh token, which stays in this
 * module's closure and never reaches the page's DOM or storage. With
 * REFRESH_TOKEN_COOKIE=true the server keeps the refresh token in an HttpOnly
 * cookie instead, and this store refreshes with the `tg_csrf` cookie's value
 * in `X-CSRF-Token` (../shared/API.md, "Cookie transport for browsers").
 *
 * Framework-free on purpose: the sign-in panel renders it, the fetcher reads
 * the token from it, and the graphql-ws client asks it for connectionParams.
 */

/** The user as AuthPayload.user gives it. */
export interface SignedInUser {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
}

/** What the access token says about itself (its claims are public, only its signature matters). */
export interface TokenClaims {
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly issuedAt: number;
  readonly sessionId: string | null;
  /** True straight after a password login or signup: sensitive mutations need it. */
  readonly fresh: boolean;
}

/** A message for the person at the panel. */
export interface Notice {
  readonly kind: 'info' | 'error';
  readonly text: string;
}

/** Everything the panel renders. */
export type SessionState =
  | { readonly status: 'signed-out'; readonly busy: boolean; readonly notice: Notice | null }
  | { readonly status: 'mfa'; readonly busy: boolean; readonly notice: Notice | null; readonly username: string }
  | {
      readonly status: 'signed-in';
      readonly busy: boolean;
      readonly notice: Notice | null;
      readonly user: SignedInUser;
      readonly claims: TokenClaims;
      /** Where the refresh token lives: in this page's memory, or in the HttpOnly cookie. */
      readonly refreshMode: 'memory' | 'cookie';
      /** How many times the token was refreshed in this page. */
      readonly refreshes: number;
    };

/** A GraphQL error as the server sends it. */
export interface GraphQLErrorShape {
  readonly message: string;
  readonly extensions?: { readonly code?: string; readonly reason?: string; readonly [key: string]: unknown };
}

interface GraphQLResponse<T> {
  readonly data?: T | null;
  readonly errors?: readonly GraphQLErrorShape[];
}

interface AuthPayload {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly user: SignedInUser;
}

const PAYLOAD = 'accessToken refreshToken expiresIn user { id username roles }';
const LOGIN = `mutation ExplorerLogin($username: String!, $password: String!) { login(username: $username, password: $password) { ${PAYLOAD} } }`;
const SIGNUP = `mutation ExplorerSignup($username: String!, $password: String!) { signup(username: $username, password: $password) { ${PAYLOAD} } }`;
const VERIFY_MFA = `mutation ExplorerVerifyMfa($mfaToken: String!, $code: String!) { verifyMfa(mfaToken: $mfaToken, code: $code) { ${PAYLOAD} } }`;
const REFRESH = `mutation ExplorerRefresh($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) { ${PAYLOAD} } }`;
const REFRESH_FROM_COOKIE = `mutation ExplorerRefreshFromCookie { refreshToken { ${PAYLOAD} } }`;
const LOGOUT = 'mutation ExplorerLogout { logout }';
const LOGOUT_ALL = 'mutation ExplorerLogoutAll { logoutAll }';

/** The codes after which a token is of no further use: the client is signed out (../shared/API.md, client advice). */
const SIGNED_OUT_REASONS = new Set(['TOKEN_REVOKED', 'INVALID_TOKEN']);

/** The contract's error for an expired access token, the one case that warrants a refresh. */
export function isTokenExpired(errors: readonly GraphQLErrorShape[] | undefined): boolean {
  return errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED' && e.extensions.reason === 'TOKEN_EXPIRED') ?? false;
}

/** The reason of the first UNAUTHENTICATED error that means "this token is dead", if any. */
export function deadTokenReason(errors: readonly GraphQLErrorShape[] | undefined): string | null {
  const error = errors?.find((e) => e.extensions?.code === 'UNAUTHENTICATED' && SIGNED_OUT_REASONS.has(String(e.extensions.reason)));
  return error ? String(error.extensions!.reason) : null;
}

/** Reads the claims of a JWT without verifying it (the server verifies; the panel only displays). */
export function readClaims(token: string): TokenClaims | null {
  try {
    const part = token.split('.')[1];
    if (part === undefined) return null;
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims = JSON.parse(json) as { exp?: unknown; iat?: unknown; sid?: unknown; fresh?: unknown };
    if (typeof claims.exp !== 'number') return null;
    return {
      expiresAt: claims.exp * 1000,
      issuedAt: typeof claims.iat === 'number' ? claims.iat * 1000 : 0,
      sessionId: typeof claims.sid === 'string' ? claims.sid : null,
      fresh: claims.fresh === true,
    };
  } catch {
    return null;
  }
}

/** Reads one cookie from a `document.cookie` string. */
export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(';')) {
    const at = part.indexOf('=');
    if (at === -1 || part.slice(0, at).trim() !== name) continue;
    const value = part.slice(at + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value; // not percent-encoded after all: use it as it is
    }
  }
  return null;
}

/** What the store needs from the page. */
export interface SessionDeps {
  /** The GraphQL endpoint, e.g. `/graphql`. */
  readonly endpoint: string;
  readonly fetch: typeof fetch;
  /** `document.cookie`, read when needed (the CSRF cookie can change). */
  readonly cookies: () => string;
}

/** The sign-in state of one page, with the operations that change it. */
export class AuthSession {
  private state: SessionState = { status: 'signed-out', busy: false, notice: null };
  private readonly listeners = new Set<() => void>();
  private accessToken: string | null = null;
  /** The refresh token in header mode; null in cookie mode (the server holds it in an HttpOnly cookie). */
  private refreshToken: string | null = null;
  private mfaToken: string | null = null;
  /** The refresh in progress, shared by every request that met TOKEN_EXPIRED meanwhile. */
  private refreshing: Promise<string | null> | null = null;

  constructor(private readonly deps: SessionDeps) {}

  getState = (): SessionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The access token to send now, or null when signed out. */
  currentToken(): string | null {
    return this.accessToken;
  }

  /** True when a `tg_csrf` cookie says the server may hold a cookie session for this browser. */
  hasCookieSession(): boolean {
    return readCookie(this.deps.cookies(), 'tg_csrf') !== null;
  }

  async login(username: string, password: string): Promise<void> {
    await this.signIn(LOGIN, 'login', { username, password }, username);
  }

  async signup(username: string, password: string): Promise<void> {
    await this.signIn(SIGNUP, 'signup', { username, password }, username);
  }

  /** The second step of a login for a user with TOTP on: a current code or a recovery code. */
  async verifyMfa(code: string): Promise<void> {
    if (this.state.status !== 'mfa' || this.mfaToken === null) return;
    const username = this.state.username;
    this.update({ ...this.state, busy: true, notice: null });
    const result = await this.post<{ verifyMfa: AuthPayload }>(VERIFY_MFA, { mfaToken: this.mfaToken, code: code.trim() });
    if (result.data?.verifyMfa) return this.adopt(result.data.verifyMfa, null);
    const error = result.errors?.[0];
    if (error?.extensions?.code === 'INVALID_MFA_CODE') {
      // After too many wrong codes the mfaToken is dead and every code is refused: say how to get out.
      this.update({ status: 'mfa', username, busy: false, notice: { kind: 'error', text: `${error.message} (INVALID_MFA_CODE). After 5 wrong codes the step expires: Cancel and log in again.` } });
      return;
    }
    this.update({ status: 'mfa', username, busy: false, notice: describe(error) });
  }

  /** Leaves the TOTP step and returns to the login form. */
  cancelMfa(): void {
    this.mfaToken = null;
    this.update({ status: 'signed-out', busy: false, notice: null });
  }

  /**
   * Refreshes the pair once, however many callers ask at the same time: they
   * all get the one new access token (or null, signed out). The refresh token
   * is single use, so two parallel refreshes would burn the chain.
   */
  refresh(): Promise<string | null> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * Called by the fetcher when the server said TOKEN_EXPIRED for `failedToken`:
   * answers the token to retry with. When another request already refreshed
   * past that token, its result is reused instead of refreshing again.
   */
  tokenAfterExpiry(failedToken: string): Promise<string | null> {
    if (this.refreshing) return this.refreshing;
    if (this.accessToken !== null && this.accessToken !== failedToken) return Promise.resolve(this.accessToken);
    if (this.accessToken === null) return Promise.resolve(null);
    return this.refresh();
  }

  /** Called when the server called `token` revoked or invalid: the panel is signed out. */
  tokenRejected(token: string, reason: string): void {
    if (this.accessToken !== token) return;
    this.clear({ kind: 'error', text: reason === 'TOKEN_REVOKED' ? 'Your session was ended (TOKEN_REVOKED): sign in again.' : 'The server refused the token (INVALID_TOKEN): sign in again.' });
  }

  /** `logout`: ends this session on the server, then forgets the tokens. */
  async signOut(): Promise<void> {
    if (this.state.status !== 'signed-in') return;
    this.update({ ...this.state, busy: true, notice: null });
    const result = await this.authorized<{ logout: boolean }>(LOGOUT);
    this.clear(result.data?.logout ? { kind: 'info', text: 'Signed out: this session has ended.' } : describe(result.errors?.[0], 'Signed out here; the server did not confirm'));
  }

  /** `logoutAll`: ends every session of the user (other browsers and devices too). */
  async signOutEverywhere(): Promise<void> {
    if (this.state.status !== 'signed-in') return;
    this.update({ ...this.state, busy: true, notice: null });
    const result = await this.authorized<{ logoutAll: number }>(LOGOUT_ALL);
    const ended = result.data?.logoutAll;
    this.clear(
      typeof ended === 'number'
        ? { kind: 'info', text: `Signed out everywhere: ${ended} session${ended === 1 ? '' : 's'} ended.` }
        : describe(result.errors?.[0], 'Signed out here; the server did not confirm'),
    );
  }

  /**
   * Cookie mode: on page load, trades the HttpOnly refresh cookie for a new
   * pair, so a reload keeps the person signed in. Does nothing without a
   * `tg_csrf` cookie; a server without cookie sessions answers with an error,
   * which leaves the panel signed out.
   */
  async restoreFromCookie(): Promise<void> {
    if (this.state.status !== 'signed-out' || !this.hasCookieSession()) return;
    this.update({ ...this.state, busy: true, notice: { kind: 'info', text: 'Restoring your session…' } });
    const token = await this.refresh();
    if (token === null && this.state.status === 'signed-out') this.update({ status: 'signed-out', busy: false, notice: null });
  }

  private async signIn(query: string, field: 'login' | 'signup', variables: { username: string; password: string }, username: string): Promise<void> {
    this.update({ status: 'signed-out', busy: true, notice: null });
    const result = await this.post<Record<typeof field, AuthPayload>>(query, variables);
    const payload = result.data?.[field];
    if (payload) return this.adopt(payload, null);
    const error = result.errors?.[0];
    const mfaToken = error?.extensions?.code === 'MFA_REQUIRED' ? error.extensions.mfaToken : undefined;
    if (typeof mfaToken === 'string') {
      this.mfaToken = mfaToken;
      this.update({ status: 'mfa', username, busy: false, notice: { kind: 'info', text: 'Two-factor authentication is on for this account.' } });
      return;
    }
    this.update({ status: 'signed-out', busy: false, notice: describe(error) });
  }

  private async doRefresh(): Promise<string | null> {
    const cookieMode = this.refreshToken === null;
    const csrf = readCookie(this.deps.cookies(), 'tg_csrf');
    if (cookieMode && csrf === null) {
      this.clear(this.state.status === 'signed-in' ? { kind: 'error', text: 'The session cookie is gone: sign in again.' } : null);
      return null;
    }
    const result = cookieMode
      ? await this.post<{ refreshToken: AuthPayload }>(REFRESH_FROM_COOKIE, {}, { 'x-csrf-token': csrf! })
      : await this.post<{ refreshToken: AuthPayload }>(REFRESH, { refreshToken: this.refreshToken });
    const payload = result.data?.refreshToken;
    if (payload) {
      const signedIn = this.state.status === 'signed-in';
      const refreshes = this.state.status === 'signed-in' ? this.state.refreshes + 1 : 0;
      const notice: Notice = signedIn ? { kind: 'info', text: 'The access token expired and was refreshed.' } : { kind: 'info', text: 'Session restored from the HttpOnly cookie.' };
      this.adopt(payload, notice, refreshes);
      return payload.accessToken;
    }
    const error = result.errors?.[0];
    const wasSignedIn = this.state.status === 'signed-in';
    this.clear(wasSignedIn ? describe(error, 'The session could not be refreshed: sign in again') : null);
    return null;
  }

  private adopt(payload: AuthPayload, notice: Notice | null, refreshes = 0): void {
    const claims = readClaims(payload.accessToken);
    if (claims === null) {
      this.clear({ kind: 'error', text: 'The server sent an access token the explorer cannot read.' });
      return;
    }
    this.accessToken = payload.accessToken;
    // An empty refreshToken means cookie mode: the token exists only in the HttpOnly cookie.
    this.refreshToken = payload.refreshToken === '' ? null : payload.refreshToken;
    this.mfaToken = null;
    this.update({
      status: 'signed-in',
      busy: false,
      notice,
      user: payload.user,
      claims,
      refreshMode: this.refreshToken === null ? 'cookie' : 'memory',
      refreshes,
    });
  }

  /** Sends an operation with the access token, refreshing once on TOKEN_EXPIRED. */
  private async authorized<T>(query: string): Promise<GraphQLResponse<T>> {
    const token = this.accessToken;
    if (token === null) return { errors: [{ message: 'Not signed in.' }] };
    const first = await this.post<T>(query, {}, { authorization: `Bearer ${token}` });
    if (!isTokenExpired(first.errors)) return first;
    const fresh = await this.tokenAfterExpiry(token);
    if (fresh === null) return first;
    return this.post<T>(query, {}, { authorization: `Bearer ${fresh}` });
  }

  private async post<T>(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
    try {
      const response = await this.deps.fetch(this.deps.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
        body: JSON.stringify({ operationName: /^(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? null, query, variables }),
        credentials: 'same-origin',
      });
      return (await response.json()) as GraphQLResponse<T>;
    } catch (error) {
      return { errors: [{ message: `The server could not be reached (${error instanceof Error ? error.message : String(error)}).` }] };
    }
  }

  private clear(notice: Notice | null): void {
    this.accessToken = null;
    this.refreshToken = null;
    this.mfaToken = null;
    this.update({ status: 'signed-out', busy: false, notice });
  }

  private update(next: SessionState): void {
    this.state = next;
    for (const listener of this.listeners) listener();
  }
}

/** A server error as a notice: its message, with its code for people who look codes up. */
function describe(error: GraphQLErrorShape | undefined, fallback = 'Something went wrong'): Notice {
  if (!error) return { kind: 'error', text: `${fallback}.` };
  const code = error.extensions?.code;
  const retry = error.extensions?.retryAfter;
  const suffix = code === 'RATE_LIMITED' && typeof retry === 'number' ? ` Try again in ${retry} s.` : '';
  return { kind: 'error', text: `${error.message}${code ? ` (${code})` : ''}${suffix}` };
}
