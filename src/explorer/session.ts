import {
  AuthError,
  createAuth,
  memoryStore,
  readClaims,
  readCookie,
  type Auth,
  type AuthState,
  type AuthUser,
  type LogInResult,
  type SignOutReason,
  type TokenClaims,
} from '@tokengate/apollo-auth/core';
import { registerPasskey, signInWithPasskey } from '@tokengate/apollo-auth/core';

/*
 * What the sign-in panel shows, over the auth kit's framework-free core
 * (@tokengate/apollo-auth/core), which owns the tokens, the shared refresh
 * and the sign-out rules; this file adds only the panel's own state: the TOTP
 * step, busy buttons, notices and a refresh counter.
 *
 * The core runs in `auto` mode: the explorer is served by the API itself and
 * does not know REFRESH_TOKEN_COOKIE. A refresh token in the answer stays in
 * memory (a reload signs out); an empty one means the server keeps it in an
 * HttpOnly cookie, refreshed with the `tg_csrf` cookie's value in
 * X-CSRF-Token (docs/api.md, "Cookie transport for browsers"), so a
 * reload restores the session. No tab coordination: two explorer tabs may
 * well be signed in as two different users on purpose.
 */

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
      readonly user: AuthUser;
      readonly claims: TokenClaims;
      /** Where the refresh token lives: in this page's memory, or in the HttpOnly cookie. */
      readonly refreshMode: 'memory' | 'cookie';
      /** How many times the token was refreshed in this page. */
      readonly refreshes: number;
    };

/** What the session needs from the page. */
export interface SessionDeps {
  /** The GraphQL endpoint, e.g. `/graphql`. */
  readonly endpoint: string;
  readonly fetch: typeof fetch;
  /** `document.cookie`, read when needed (the CSRF cookie can change). */
  readonly cookies: () => string;
}

type MfaStep = Extract<LogInResult, { status: 'mfaRequired' }>;

/** The notice for each way the core can sign the panel out; `logout` is the panel's own doing and says more itself. */
const SIGNED_OUT: Record<SignOutReason, string | null> = {
  logout: null,
  'other-tab': 'Signed out in another tab.',
  TOKEN_REVOKED: 'Your session was ended (TOKEN_REVOKED): sign in again.',
  INVALID_TOKEN: 'The server refused the token (INVALID_TOKEN): sign in again.',
  INVALID_REFRESH_TOKEN: 'The session could not be refreshed (INVALID_REFRESH_TOKEN): sign in again.',
  NO_SESSION: 'The session cookie is gone or was refused (NO_SESSION): sign in again.',
};

/** The sign-in state of one page, with the operations that change it. */
export class AuthSession {
  /** The kit's core: the fetcher and the graphql-ws client authenticate through it. */
  readonly auth: Auth;
  private readonly listeners = new Set<() => void>();
  private state: SessionState = { status: 'signed-out', busy: false, notice: null };
  private busy = false;
  private notice: Notice | null = null;
  private mfa: { readonly step: MfaStep; readonly username: string } | null = null;
  private refreshes = 0;
  /** The access token the panel last showed, to tell a refresh from a sign-in. */
  private shown: string | null = null;
  /** True while a sign-in of the panel's own is in flight: its new token is no refresh. */
  private signingIn = false;

  constructor(private readonly deps: SessionDeps) {
    this.auth = createAuth({
      uri: deps.endpoint,
      mode: 'auto',
      refreshTokenStore: memoryStore(),
      readCsrfToken: () => readCookie('tg_csrf', deps.cookies()),
      fetch: deps.fetch,
      tabs: null,
      onSignedOut: (reason) => {
        const text = SIGNED_OUT[reason];
        if (text !== null) this.notice = { kind: 'error', text };
        this.render();
      },
    });
    this.auth.subscribe((state) => this.follow(state));
  }

  getState = (): SessionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  login(username: string, password: string): Promise<void> {
    return this.signIn(username, () => this.auth.logIn(username, password));
  }

  signup(username: string, password: string): Promise<void> {
    return this.signIn(username, () => this.auth.signUp(username, password));
  }

  /** Signs in with a passkey of this site (no username: the browser lists them); a passkey without UV leads to the TOTP step. */
  signInWithPasskey(): Promise<void> {
    return this.signIn('your account', () => signInWithPasskey(this.auth));
  }

  /** Registers a passkey for the signed-in user (needs a fresh token: right after a sign-in). */
  async addPasskey(name: string): Promise<void> {
    await this.act(async () => {
      const passkey = await registerPasskey(this.auth, name.trim() === '' ? {} : { name: name.trim() });
      return { kind: 'info', text: `Passkey “${passkey.name}” added: sign in with it next time.` };
    });
  }

  /** The second step of a login for a user with TOTP on: a current code or a recovery code. */
  async verifyMfa(code: string): Promise<void> {
    const mfa = this.mfa;
    if (mfa === null) return;
    await this.signIn(mfa.username, () => mfa.step.verify(code.trim()));
  }

  /** Leaves the TOTP step and returns to the login form. */
  cancelMfa(): void {
    this.mfa = null;
    this.notice = null;
    this.render();
  }

  /** `logout`: ends this session on the server, then forgets the tokens. */
  async signOut(): Promise<void> {
    if (this.state.status !== 'signed-in') return;
    await this.act(async () => {
      const ended = await this.auth.logOut();
      return ended ? { kind: 'info', text: 'Signed out: this session has ended.' } : { kind: 'error', text: 'Signed out here; the server did not confirm.' };
    }, 'Signed out here; the server did not confirm');
  }

  /** `logoutAll`: ends every session of the user (other browsers and devices too). */
  async signOutEverywhere(): Promise<void> {
    if (this.state.status !== 'signed-in') return;
    await this.act(async () => {
      const ended = await this.auth.logOutEverywhere();
      return { kind: 'info', text: `Signed out everywhere: ${ended} session${ended === 1 ? '' : 's'} ended.` };
    }, 'Signed out here; the server did not confirm');
  }

  /** The server's OpenID providers (`oauthProviders`), for the panel's buttons; none when the query fails. */
  async listProviders(): Promise<Array<{ name: string; label: string }>> {
    try {
      const response = await this.deps.fetch(this.deps.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ oauthProviders { name label } }' }),
      });
      const body = (await response.json()) as { data?: { oauthProviders?: Array<{ name: string; label: string }> } };
      return body.data?.oauthProviders ?? [];
    } catch {
      return [];
    }
  }

  /** Sends the browser to a provider; it comes back to this page (see completeSocial). */
  async startSocial(provider: string): Promise<void> {
    await this.act(async () => {
      await this.auth.startSocialSignIn(provider);
      return { kind: 'info', text: 'Going to the identity provider…' };
    });
  }

  /** On page load: a #tg_code from the provider's redirect becomes a session (#tg_error, a notice). */
  async completeSocial(): Promise<void> {
    if (!/[#&]tg_(code|error)=/.test(globalThis.location?.hash ?? '')) return;
    await this.signIn('your account', async () => {
      const result = await this.auth.completeSocialSignIn();
      return result ?? { status: 'signedIn', user: null };
    });
  }

  /**
   * On page load: trades the HttpOnly refresh cookie for a new pair, so a
   * reload keeps the person signed in. Does nothing without a `tg_csrf`
   * cookie; a server without cookie sessions answers with an error, which
   * leaves the panel signed out.
   */
  async restoreFromCookie(): Promise<void> {
    if (this.state.status !== 'signed-out' || readCookie('tg_csrf', this.deps.cookies()) === null) return;
    await this.auth.restore();
  }

  private async signIn(username: string, send: () => Promise<LogInResult>): Promise<void> {
    this.signingIn = true;
    try {
      await this.act(async () => {
        const result = await send();
        if (result.status === 'signedIn') {
          this.mfa = null;
          return null;
        }
        this.mfa = { step: result, username };
        return { kind: 'info', text: 'Two-factor authentication is on for this account.' };
      });
    } finally {
      this.signingIn = false;
    }
  }

  /** Runs one of the panel's actions with the buttons disabled, then shows its notice (or the error's); null keeps what the core said meanwhile. */
  private async act(action: () => Promise<Notice | null>, context?: string): Promise<void> {
    this.busy = true;
    this.notice = null;
    this.render();
    try {
      const notice = await action();
      if (notice !== null) this.notice = notice;
    } catch (error) {
      this.notice = describe(error, context);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  /** Follows the core: a new token while signed in is a refresh; one the panel did not ask for while signed out, a restored session. */
  private follow(state: AuthState): void {
    const token = state.status === 'signedIn' ? state.accessToken : null;
    if (token !== null && readClaims(token) === null) {
      // Not a tokengate access token: keeping it would send it with every query.
      this.notice = { kind: 'error', text: 'The server sent an access token the explorer cannot read.' };
      this.auth.signOut();
      return;
    }
    if (token !== null && token !== this.shown) {
      if (this.signingIn) {
        this.refreshes = 0;
      } else if (this.shown !== null) {
        this.refreshes += 1;
        this.notice = { kind: 'info', text: 'The access token expired and was refreshed.' };
      } else {
        this.notice = { kind: 'info', text: 'Session restored from the HttpOnly cookie.' };
      }
    }
    this.shown = token;
    this.render();
  }

  private render(): void {
    this.state = this.view();
    for (const listener of this.listeners) listener();
  }

  private view(): SessionState {
    const { busy, notice } = this;
    const core = this.auth.getState();
    if (core.status === 'restoring') return { status: 'signed-out', busy: true, notice: { kind: 'info', text: 'Restoring your session…' } };
    if (core.status === 'signedIn' && core.accessToken !== null && core.user !== null) {
      const claims = readClaims(core.accessToken);
      if (claims !== null) return { status: 'signed-in', busy, notice, user: core.user, claims, refreshMode: this.auth.mode === 'cookie' ? 'cookie' : 'memory', refreshes: this.refreshes };
    }
    if (this.mfa !== null) return { status: 'mfa', busy, notice, username: this.mfa.username };
    return { status: 'signed-out', busy, notice };
  }
}

/** An error as a notice: the server's message with its code (for people who look codes up), or why no answer came. */
function describe(error: unknown, context?: string): Notice {
  if (error instanceof AuthError) {
    // After too many wrong codes the mfaToken is dead and every code is refused: say how to get out.
    const mfa = error.code === 'INVALID_MFA_CODE' ? '. After 5 wrong codes the step expires: Cancel and log in again.' : '';
    const retry = error.extensions.retryAfter;
    const wait = error.code === 'RATE_LIMITED' && typeof retry === 'number' ? `. Try again in ${retry} s.` : '';
    return { kind: 'error', text: `${error.message.replace(/\.$/, '')} (${error.code})${mfa}${wait}` };
  }
  // The browser's WebAuthn refusal (cancelled, timed out, no passkey): not a server answer.
  if (error instanceof Error && (error.name === 'NotAllowedError' || error.name === 'InvalidStateError' || error.name === 'SecurityError' || error.name === 'NotSupportedError')) {
    return { kind: 'error', text: `The browser ended the passkey request (${error.name}): ${error.message}` };
  }
  // fetch itself failed (offline, server stopped): no answer at all.
  const reached = `the server could not be reached (${error instanceof Error ? error.message : String(error)}).`;
  return { kind: 'error', text: context ? `${context}; ${reached}` : reached.charAt(0).toUpperCase() + reached.slice(1) };
}
