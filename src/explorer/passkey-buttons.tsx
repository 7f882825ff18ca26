import { useState, type FormEvent, type ReactElement } from 'react';
import type { AuthSession } from './session.js';

/*
 * The sign-in panel's passkey controls: "Sign in with a passkey" on the
 * signed-out form (any passkey of this site: no username needed), and
 * "Add a passkey" for the signed-in user (the server asks for a fresh token,
 * so right after a sign-in). Hidden where the browser has no WebAuthn.
 */

const supported = typeof window !== 'undefined' && typeof window.PublicKeyCredential === 'function';

/** The signed-out panel's passkey button. */
export function PasskeySignIn({ session, busy }: { session: AuthSession; busy: boolean }): ReactElement | null {
  if (!supported) return null;
  return (
    <div className="tg-passkey">
      <span className="tg-or">or</span>
      <button type="button" className="tg-secondary" disabled={busy} onClick={() => void session.signInWithPasskey()}>
        Sign in with a passkey
      </button>
    </div>
  );
}

/** The signed-in panel's "Add a passkey" form; `fresh` says whether the token can register one now. */
export function AddPasskey({ session, busy, fresh }: { session: AuthSession; busy: boolean; fresh: boolean }): ReactElement | null {
  const [name, setName] = useState('');
  if (!supported) return null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void session.addPasskey(name).then(() => setName(''));
  };
  return (
    <form className="tg-form tg-passkey-add" onSubmit={submit} aria-label="Add a passkey">
      <label>
        Passkey name (optional)
        <input name="passkeyName" maxLength={64} placeholder="e.g. Laptop" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <button type="submit" disabled={busy || !fresh} title={fresh ? undefined : 'Needs a fresh token: sign in again first'}>
        Add a passkey
      </button>
      {fresh ? null : <p className="tg-hint">Adding a passkey needs a fresh token: sign out and in again.</p>}
    </form>
  );
}
