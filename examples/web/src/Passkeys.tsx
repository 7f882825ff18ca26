import { gql, type TypedDocumentNode } from '@apollo/client';
import { useMutation, useQuery } from '@apollo/client/react';
import { AuthError, abortPasskeyAutofill, passkeyAutofillSupported, passkeysSupported, registerPasskey, signInWithPasskey, type LogInResult, type PasskeyInfo } from '@tokengate/apollo-auth';
import { useEffect, useState, type FormEvent } from 'react';
import { auth } from './client.js';

/*
 * Passkeys in the example app: sign-in with a passkey (a button, and
 * conditional UI: the browser offers passkeys in the username field's
 * autofill, `autocomplete="username webauthn"`), and for the signed-in user
 * a card that lists, adds, renames and deletes them.
 */

const PASSKEY_FIELDS = 'id name createdAt lastUsedAt backedUp transports';
export const MY_PASSKEYS: TypedDocumentNode<{ me: { id: string; passkeys: PasskeyInfo[] } }> = gql`
  query MyPasskeys { me { id passkeys { ${PASSKEY_FIELDS} } } }
`;
const RENAME_PASSKEY: TypedDocumentNode<{ renamePasskey: PasskeyInfo }, { id: string; name: string }> = gql`
  mutation RenamePasskey($id: ID!, $name: String!) { renamePasskey(id: $id, name: $name) { ${PASSKEY_FIELDS} } }
`;
const DELETE_PASSKEY: TypedDocumentNode<{ deletePasskey: boolean }, { id: string }> = gql`
  mutation DeletePasskey($id: ID!) { deletePasskey(id: $id) }
`;

function codeOf(error: unknown): string | null {
  if (error instanceof AuthError) return error.code;
  const graphQLErrors = (error as { errors?: Array<{ extensions?: Record<string, unknown> }> } | null)?.errors;
  return typeof graphQLErrors?.[0]?.extensions?.code === 'string' ? graphQLErrors[0].extensions.code : null;
}

/** What the person reads when a passkey action fails. */
export function passkeyMessage(error: unknown): string {
  switch (codeOf(error)) {
    case 'INVALID_PASSKEY':
      return 'That passkey was not accepted. Try another one, or your password.';
    case 'FRESH_TOKEN_REQUIRED':
      return 'For your security, log out and in again before adding or deleting a passkey.';
    case 'LAST_CREDENTIAL':
      return 'This is your last way to sign in: add another passkey (or a password) first.';
    default:
      break;
  }
  if (error instanceof Error && error.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
  if (error instanceof Error && error.name === 'InvalidStateError') return 'This device already holds a passkey for your account.';
  return error instanceof Error ? error.message : String(error);
}

/**
 * Conditional UI: from page load the browser may offer passkeys in the
 * username field's autofill; picking one signs in (or leads to the TOTP step).
 * Cancelled when the sign-in screen goes away.
 */
export function useConditionalPasskey(onResult: (result: LogInResult) => void, onError: (message: string) => void): void {
  useEffect(() => {
    let live = true;
    void passkeyAutofillSupported().then((supported) => {
      if (!supported || !live) return;
      signInWithPasskey(auth, { conditional: true }).then(
        (result) => live && onResult(result),
        (error: unknown) => {
          // An offer in the background: aborted (a password login, the button), or not possible on this page
          // (e.g. opened on an address the RP ID does not cover) is no error to show. A passkey the server refused is.
          if (live && codeOf(error) === 'INVALID_PASSKEY') onError(passkeyMessage(error));
        },
      );
    });
    return () => {
      live = false;
      abortPasskeyAutofill();
    };
  }, []); // once per sign-in screen: the callbacks are its own setters
}

/** The sign-in screen's button: any passkey of this site, no username needed. */
export function PasskeySignInButton({ run, busy }: { run: (action: () => Promise<LogInResult>) => Promise<void>; busy: boolean }) {
  if (!passkeysSupported()) return null;
  return (
    <button type="button" disabled={busy} data-testid="passkey-sign-in" onClick={() => void run(() => signInWithPasskey(auth))}>
      Sign in with a passkey
    </button>
  );
}

/** The dashboard's card: the user's passkeys, and adding, renaming and deleting them. */
export function PasskeysCard() {
  const { data, error, refetch } = useQuery(MY_PASSKEYS, { fetchPolicy: 'network-only' });
  const [rename] = useMutation(RENAME_PASSKEY);
  const [remove] = useMutation(DELETE_PASSKEY);
  const [name, setName] = useState('');
  const [editing, setEditing] = useState<{ id: string; name: string } | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function act(action: () => Promise<string>) {
    setBusy(true);
    setMessage(null);
    try {
      setMessage({ kind: 'ok', text: await action() });
      await refetch();
    } catch (e) {
      setMessage({ kind: 'error', text: passkeyMessage(e) });
    } finally {
      setBusy(false);
    }
  }

  function add(event: FormEvent) {
    event.preventDefault();
    void act(async () => {
      const passkey = await registerPasskey(auth, name.trim() ? { name: name.trim() } : {});
      setName('');
      return `Passkey “${passkey.name}” added.`;
    });
  }

  function saveName(event: FormEvent) {
    event.preventDefault();
    if (!editing) return;
    const { id, name: newName } = editing;
    void act(async () => {
      await rename({ variables: { id, name: newName } });
      setEditing(null);
      return 'Passkey renamed.';
    });
  }

  return (
    <section className="card wide" data-testid="passkeys">
      <h2>Passkeys</h2>
      {error && <p className="error">{passkeyMessage(error)}</p>}
      {data && data.me.passkeys.length === 0 && <p className="muted">No passkey yet: add one to sign in without a password.</p>}
      <ul className="sessions">
        {data?.me.passkeys.map((p) => (
          <li key={p.id} data-testid="passkey">
            {editing?.id === p.id ? (
              <form onSubmit={saveName} className="inline">
                <input aria-label="New name" value={editing.name} maxLength={64} onChange={(e) => setEditing({ id: p.id, name: e.target.value })} autoFocus data-testid="passkey-name-input" />
                <button type="submit" className="primary" disabled={busy} data-testid="passkey-save">Save</button>
                <button type="button" onClick={() => setEditing(null)}>Cancel</button>
              </form>
            ) : (
              <>
                <div>
                  <strong data-testid="passkey-name">{p.name}</strong> {p.backedUp && <span className="pill">synced</span>}
                  <div className="muted small">
                    added {new Date(p.createdAt).toLocaleDateString()} · {p.lastUsedAt ? `last used ${new Date(p.lastUsedAt).toLocaleString()}` : 'never used'}
                  </div>
                </div>
                <div className="actions">
                  <button type="button" disabled={busy} onClick={() => setEditing({ id: p.id, name: p.name })} data-testid="passkey-rename">Rename</button>
                  <button
                    type="button"
                    className="danger"
                    disabled={busy}
                    data-testid="passkey-delete"
                    onClick={() => void act(async () => ((await remove({ variables: { id: p.id } })).data?.deletePasskey ? 'Passkey deleted.' : 'That passkey was already gone.'))}
                  >
                    Delete
                  </button>
                </div>
              </>
            )}
          </li>
        ))}
      </ul>
      {passkeysSupported() && (
        <form onSubmit={add}>
          <label>
            Name (optional)
            <input name="passkeyName" maxLength={64} placeholder="e.g. Work laptop" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={busy} data-testid="passkey-add">Add a passkey</button>
        </form>
      )}
      {message && (
        <p className={message.kind === 'ok' ? 'ok' : 'error'} role="status" data-testid="passkey-message">
          {message.text}
        </p>
      )}
    </section>
  );
}
