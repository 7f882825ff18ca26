import { useEffect, useState, useSyncExternalStore, type FormEvent, type ReactElement } from 'react';
import type { GraphiQLPlugin } from '@graphiql/react';
import { AddPasskey, PasskeySignIn } from './passkey-buttons.js';
import type { AuthSession, Notice, SessionState } from './session.js';
import { SocialButtons } from './social-buttons.js';

/*
 * The sign-in panel, a GraphiQL plugin: log in or sign up (with the TOTP step
 * when the server asks for it), then see who is signed in and when the
 * access token expires; sign out of this session or of all of them.
 */

/** The panel's title, also the label of its sidebar button ("Show Sign in"). */
export const SIGN_IN_TITLE = 'Sign in';

/** Builds the plugin for one session store. */
export function signInPlugin(session: AuthSession): GraphiQLPlugin {
  return {
    title: SIGN_IN_TITLE,
    icon: () => <SignInIcon session={session} />,
    content: () => <SignInPanel session={session} />,
  };
}

/** Re-renders on every change of the session store. */
export function useSession(session: AuthSession): SessionState {
  return useSyncExternalStore(session.subscribe, session.getState);
}

/** The current time, ticking every `ms` (for the expiry countdown). */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

function SignInIcon({ session }: { session: AuthSession }): ReactElement {
  const state = useSession(session);
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <circle cx="12" cy="8" r="4" />
      <path d="M4 21c0-4.4 3.6-8 8-8s8 3.6 8 8" />
      {state.status === 'signed-in' ? <circle cx="19" cy="5" r="3" fill="currentColor" stroke="none" className="tg-icon-dot" /> : null}
    </svg>
  );
}

function SignInPanel({ session }: { session: AuthSession }): ReactElement {
  const state = useSession(session);
  return (
    <section className="tg-panel" aria-label="tokengate sign-in">
      <div className="graphiql-doc-explorer-title">{state.status === 'signed-in' ? 'Session' : SIGN_IN_TITLE}</div>
      {state.status === 'signed-in' ? <SignedIn session={session} state={state} /> : null}
      {state.status === 'signed-out' ? <Credentials session={session} busy={state.busy} /> : null}
      {state.status === 'signed-out' ? <SocialButtons session={session} busy={state.busy} /> : null}
      {state.status === 'mfa' ? <MfaStep session={session} busy={state.busy} username={state.username} /> : null}
      <NoticeLine notice={state.notice} />
      <p className="tg-hint">
        {state.status === 'signed-in' && state.refreshMode === 'cookie'
          ? 'The refresh token is in an HttpOnly cookie: a reload restores this session.'
          : 'Tokens live only in this page’s memory: a reload signs you out.'}
      </p>
    </section>
  );
}

function Credentials({ session, busy }: { session: AuthSession; busy: boolean }): ReactElement {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void (mode === 'login' ? session.login(username, password) : session.signup(username, password));
  };
  return (
    <form className="tg-form" onSubmit={submit} aria-label={mode === 'login' ? 'Log in' : 'Sign up'}>
      <div className="tg-tabs" role="tablist">
        <button type="button" role="tab" aria-selected={mode === 'login'} onClick={() => setMode('login')}>
          Log in
        </button>
        <button type="button" role="tab" aria-selected={mode === 'signup'} onClick={() => setMode('signup')}>
          Sign up
        </button>
      </div>
      <label>
        Username
        <input name="username" autoComplete="username" required minLength={3} maxLength={64} value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          required
          minLength={mode === 'signup' ? 8 : 1}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <button type="submit" className="tg-primary" disabled={busy}>
        {mode === 'login' ? (busy ? 'Logging in…' : 'Log in') : busy ? 'Signing up…' : 'Create account'}
      </button>
      {mode === 'login' ? <PasskeySignIn session={session} busy={busy} /> : null}
    </form>
  );
}

function MfaStep({ session, busy, username }: { session: AuthSession; busy: boolean; username: string }): ReactElement {
  const [code, setCode] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void session.verifyMfa(code);
  };
  return (
    <form className="tg-form" onSubmit={submit} aria-label="Two-factor code">
      <p>
        Enter the 6-digit code from the authenticator app for <strong>{username}</strong>, or one of your recovery codes.
      </p>
      <label>
        Code
        <input name="code" autoComplete="one-time-code" inputMode="text" required value={code} onChange={(e) => setCode(e.target.value)} />
      </label>
      <div className="tg-row">
        <button type="submit" className="tg-primary" disabled={busy}>
          {busy ? 'Verifying…' : 'Verify'}
        </button>
        <button type="button" onClick={() => session.cancelMfa()} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function SignedIn({ session, state }: { session: AuthSession; state: Extract<SessionState, { status: 'signed-in' }> }): ReactElement {
  const now = useNow(1000);
  const left = Math.ceil((state.claims.expiresAt - now) / 1000);
  const at = new Date(state.claims.expiresAt).toLocaleTimeString();
  return (
    <div className="tg-signed-in">
      <p className="tg-who">
        Signed in as <strong data-testid="signed-in-user">{state.user.username}</strong>
        {state.user.roles.map((role) => (
          <span key={role} className="tg-badge">
            {role}
          </span>
        ))}
      </p>
      <dl className="tg-facts">
        <dt>Access token</dt>
        <dd data-testid="token-expiry" data-expires-at={state.claims.expiresAt}>
          {left > 0 ? `expires in ${formatSeconds(left)} (${at})` : `expired at ${at}: refreshed on the next request`}
        </dd>
        <dt>Fresh</dt>
        <dd>{state.claims.fresh ? 'yes: sensitive mutations allowed' : 'no: log in again for changePassword'}</dd>
        <dt>Session</dt>
        <dd className="tg-mono">{state.claims.sessionId ?? '—'}</dd>
        <dt>Refreshed</dt>
        <dd data-testid="refresh-count">{state.refreshes === 0 ? 'not yet' : state.refreshes === 1 ? 'once' : `${state.refreshes} times`}</dd>
      </dl>
      <p className="tg-hint">Every query from this page carries Authorization: Bearer &lt;access token&gt;.</p>
      <AddPasskey session={session} busy={state.busy} fresh={state.claims.fresh} />
      <div className="tg-row">
        <button type="button" className="tg-primary" disabled={state.busy} onClick={() => void session.signOut()}>
          Sign out
        </button>
        <button type="button" disabled={state.busy} onClick={() => void session.signOutEverywhere()}>
          Sign out everywhere
        </button>
      </div>
    </div>
  );
}

function NoticeLine({ notice }: { notice: Notice | null }): ReactElement | null {
  if (notice === null) return null;
  return (
    <p className={`tg-notice tg-notice-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
      {notice.text}
    </p>
  );
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.floor(minutes / 60)} h`;
}

/** A one-line status for the top bar: who queries run as. */
export function SessionBadge({ session }: { session: AuthSession }): ReactElement {
  const state = useSession(session);
  return (
    <span className={`tg-status ${state.status === 'signed-in' ? 'tg-status-on' : ''}`} data-testid="session-badge">
      {state.status === 'signed-in' ? `as ${state.user.username}` : 'anonymous'}
    </span>
  );
}
