import { CombinedGraphQLErrors } from '@apollo/client';
import { useMutation, useQuery } from '@apollo/client/react';
import { AuthError, type LogInResult } from '@tokengate/apollo-auth';
import { useEffect, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';
import { API_URL, MODE, auth, client, signOut } from './client.js';
import { CHANGE_PASSWORD, ME, MY_SESSIONS, PROTECTED, REVOKE_SESSION } from './operations.js';
import { IdentitiesCard, SocialSignIn, useSocialOutcome } from './Social.js';
import { PasskeySignInButton, PasskeysCard, useConditionalPasskey } from './Passkeys.js';
import { abortPasskeyAutofill } from '@tokengate/apollo-auth';

/** The contract's code of an error, for the few the app answers itself. */
function codeOf(error: unknown): string | null {
  if (error instanceof AuthError) return error.code;
  if (CombinedGraphQLErrors.is(error)) return String(error.errors[0]?.extensions?.code ?? '') || null;
  return null;
}

function messageOf(error: unknown): string {
  if (CombinedGraphQLErrors.is(error)) return error.errors[0]?.message ?? error.message;
  return error instanceof Error ? error.message : String(error);
}

export function App() {
  const state = useSyncExternalStore(auth.subscribe, auth.getState);
  return (
    <div className="page">
      <header className="topbar">
        <span className="brand">tokengate</span>
        <span className="pill" data-testid="mode">{MODE} mode</span>
        <span className="muted api">{API_URL}</span>
      </header>
      {state.status === 'restoring' ? (
        <p className="muted center" data-testid="restoring">Looking for your session…</p>
      ) : state.status === 'signedIn' ? (
        <Dashboard />
      ) : (
        <SignIn />
      )}
    </div>
  );
}

const SIGN_OUT_NOTICES: Record<string, string> = {
  logout: 'You are signed out.',
  'other-tab': 'You signed out in another tab.',
  TOKEN_REVOKED: 'Your session was ended. Sign in again.',
  INVALID_TOKEN: 'Your session is no longer valid. Sign in again.',
  INVALID_REFRESH_TOKEN: 'Your session expired. Sign in again.',
  NO_SESSION: 'Your session expired. Sign in again.',
};

function SignIn() {
  const [tab, setTab] = useState<'login' | 'signup'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const social = useSocialOutcome();
  const [ownMfa, setMfa] = useState<Extract<LogInResult, { status: 'mfaRequired' }> | null>(null);
  const mfa = ownMfa ?? social.mfa;
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<LogInResult>) {
    setBusy(true);
    setError(null);
    try {
      const result = await action();
      if (result.status === 'mfaRequired') setMfa(result);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  useConditionalPasskey((result) => result.status === 'mfaRequired' && setMfa(result), setError);

  function submit(event: FormEvent) {
    event.preventDefault();
    abortPasskeyAutofill();
    if (mfa) void run(() => mfa.verify(code));
    else void run(() => (tab === 'login' ? auth.logIn(username, password) : auth.signUp(username, password)));
  }

  return (
    <main className="card narrow" data-testid="sign-in">
      {mfa ? (
        <h1>Two-factor code</h1>
      ) : (
        <div className="tabs">
          <button type="button" className={tab === 'login' ? 'active' : ''} onClick={() => setTab('login')}>Log in</button>
          <button type="button" className={tab === 'signup' ? 'active' : ''} onClick={() => setTab('signup')}>Sign up</button>
        </div>
      )}
      <form onSubmit={submit}>
        {signOut.reason && !mfa && (
          <p className="notice" data-testid="signed-out-notice">
            {SIGN_OUT_NOTICES[signOut.reason]}
          </p>
        )}
        {mfa ? (
          <label>
            Code from your authenticator app (or a recovery code)
            <input name="code" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} autoFocus />
          </label>
        ) : (
          <>
            <label>
              Username
              <input name="username" autoComplete="username webauthn" value={username} onChange={(e) => setUsername(e.target.value)} required />
            </label>
            <label>
              Password
              <input
                name="password"
                type="password"
                autoComplete={tab === 'login' ? 'current-password' : 'new-password'}
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </label>
          </>
        )}
        {(error ?? social.error) && <p className="error" role="alert">{error ?? social.error}</p>}
        <button type="submit" className="primary" disabled={busy} data-testid="submit">
          {mfa ? 'Verify' : tab === 'login' ? 'Log in' : 'Create account'}
        </button>
        {!mfa && tab === 'login' && <PasskeySignInButton run={run} busy={busy} />}
      </form>
      {!mfa && <SocialSignIn />}
    </main>
  );
}

function Dashboard() {
  const state = useSyncExternalStore(auth.subscribe, auth.getState);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="grid">
      <section className="card wide">
        <div className="row">
          <div>
            <h1 data-testid="signed-in-as">Signed in as {state.user?.username}</h1>
            <TokenClock expiresAt={state.expiresAt} />
          </div>
          <div className="actions">
            <button type="button" disabled={busy} onClick={() => void run(() => auth.logOut())} data-testid="logout">Log out</button>
            <button type="button" className="danger" disabled={busy} onClick={() => void run(() => auth.logOutEverywhere())} data-testid="logout-all">
              Log out everywhere
            </button>
          </div>
        </div>
        {error && <p className="error" role="alert">{error}</p>}
      </section>
      <MeCard />
      <ParallelCard />
      <SessionsCard />
      <PasskeysCard />
      <ChangePasswordCard />
      <IdentitiesCard />
    </main>
  );
}

function TokenClock({ expiresAt }: { expiresAt: number | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, []);
  if (expiresAt === null) return null;
  // The server counts `exp` with no leeway: expired from that very millisecond on.
  const left = Math.ceil((expiresAt - now) / 1000);
  return (
    <p className="muted" data-testid="token-clock">
      {now < expiresAt ? `Access token expires in ${left}s` : 'Access token expired: the next request refreshes it'}
    </p>
  );
}

function Card({ title, children, testId }: { title: string; children: ReactNode; testId: string }) {
  return (
    <section className="card" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function MeCard() {
  const { data, error, loading, refetch } = useQuery(ME, { fetchPolicy: 'network-only' });
  return (
    <Card title="Me" testId="me">
      {loading && <p className="muted">Loading…</p>}
      {error && <p className="error">{messageOf(error)}</p>}
      {data && (
        <dl>
          <dt>Username</dt>
          <dd data-testid="me-username">{data.me.username}</dd>
          <dt>Roles</dt>
          <dd>{data.me.roles.join(', ')}</dd>
          <dt>Member since</dt>
          <dd>{new Date(data.me.createdAt).toLocaleString()}</dd>
        </dl>
      )}
      <button type="button" onClick={() => void refetch()} data-testid="me-reload">Reload</button>
    </Card>
  );
}

/** Ten queries at once: after the token expired, they share a single refresh. */
function ParallelCard() {
  const [result, setResult] = useState<string | null>(null);
  async function fire() {
    setResult('Running…');
    const answers = await Promise.allSettled(
      Array.from({ length: 10 }, () => client.query({ query: PROTECTED, fetchPolicy: 'network-only', context: { queryDeduplication: false } })),
    );
    const ok = answers.filter((a) => a.status === 'fulfilled' && a.value.data?.protected.loggedInAs);
    setResult(`${ok.length} of 10 answered`);
  }
  return (
    <Card title="Ten at once" testId="parallel">
      <p className="muted">Ten queries in parallel; when the access token has expired they share one refresh.</p>
      <button type="button" onClick={() => void fire()} data-testid="parallel-run">Run 10 queries</button>
      {result && <p data-testid="parallel-result">{result}</p>}
    </Card>
  );
}

function SessionsCard() {
  const { data, error, refetch } = useQuery(MY_SESSIONS, { fetchPolicy: 'network-only' });
  const [revoke] = useMutation(REVOKE_SESSION);
  return (
    <Card title="My sessions" testId="sessions">
      {error && <p className="error">{messageOf(error)}</p>}
      <ul className="sessions">
        {data?.mySessions.map((s) => (
          <li key={s.id} data-testid="session">
            <div>
              <strong>{describeAgent(s.userAgent)}</strong> {s.current && <span className="pill">this session</span>}
              <div className="muted small">
                since {new Date(s.createdAt).toLocaleString()} · last used {new Date(s.lastUsedAt).toLocaleTimeString()}
              </div>
            </div>
            {!s.current && (
              <button
                type="button"
                data-testid="revoke"
                onClick={() => void revoke({ variables: { id: s.id } }).then(() => refetch())}
              >
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => void refetch()} data-testid="sessions-reload">Reload</button>
    </Card>
  );
}

function describeAgent(userAgent: string | null): string {
  if (!userAgent) return 'Unknown client';
  const browser = /(Edg|Firefox|Chrome|Safari|HeadlessChrome)\/[\d.]+/.exec(userAgent)?.[0] ?? userAgent.slice(0, 40);
  return browser.replace('HeadlessChrome', 'Headless Chrome');
}

function ChangePasswordCard() {
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [again, setAgain] = useState('');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [changePassword, { loading }] = useMutation(CHANGE_PASSWORD);

  async function change() {
    const { data } = await changePassword({ variables: { currentPassword, newPassword }, fetchPolicy: 'no-cache' });
    if (!data) throw new Error('no answer');
    // A new fresh pair for this session (in cookie mode the refresh token came as a cookie).
    auth.signIn(data.changePassword);
    setMessage({ kind: 'ok', text: 'Password changed. Your other sessions were signed out.' });
    setCurrent('');
    setNew('');
    await client.refetchQueries({ include: [MY_SESSIONS] });
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setMessage(null);
    try {
      await change();
    } catch (e) {
      // A refreshed token is not fresh: prove it is you with the password again, then retry.
      if (codeOf(e) === 'FRESH_TOKEN_REQUIRED') setConfirming(true);
      else setMessage({ kind: 'error', text: messageOf(e) });
    }
  }

  async function confirm(event: FormEvent) {
    event.preventDefault();
    setMessage(null);
    try {
      const username = auth.getState().user?.username ?? '';
      const result = await auth.logIn(username, again);
      if (result.status !== 'signedIn') throw new Error('This account needs its two-factor code: log out and in again.');
      setConfirming(false);
      setAgain('');
      await change();
    } catch (e) {
      setMessage({ kind: 'error', text: messageOf(e) });
    }
  }

  return (
    <Card title="Change password" testId="change-password">
      {confirming ? (
        <form onSubmit={confirm} data-testid="confirm-password">
          <p>For your security, enter your password again: this session was not signed in with it recently.</p>
          <label>
            Password
            <input name="again" type="password" autoComplete="current-password" value={again} onChange={(e) => setAgain(e.target.value)} autoFocus required />
          </label>
          <div className="actions">
            <button type="submit" className="primary" data-testid="confirm-submit">Confirm</button>
            <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <form onSubmit={submit}>
          <label>
            Current password
            <input name="current" type="password" autoComplete="current-password" value={currentPassword} onChange={(e) => setCurrent(e.target.value)} required />
          </label>
          <label>
            New password
            <input name="new" type="password" autoComplete="new-password" value={newPassword} onChange={(e) => setNew(e.target.value)} required minLength={8} />
          </label>
          <button type="submit" className="primary" disabled={loading} data-testid="change-submit">Change password</button>
        </form>
      )}
      {message && (
        <p className={message.kind === 'ok' ? 'ok' : 'error'} role="status" data-testid="change-message">
          {message.text}
        </p>
      )}
    </Card>
  );
}
