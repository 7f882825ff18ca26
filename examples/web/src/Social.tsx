import { gql, type TypedDocumentNode } from '@apollo/client';
import { useMutation, useQuery } from '@apollo/client/react';
import { AuthError, type LogInResult } from '@tokengate/apollo-auth';
import { useState, useSyncExternalStore } from 'react';
import { auth } from './client.js';

/*
 * Social sign-in in the example app: a button per provider the server
 * lists, the return from the provider (#tg_code → completeOAuth), and the
 * linked identities with link and unlink. All through the kit
 * (auth.startSocialSignIn / auth.completeSocialSignIn).
 */

interface Provider {
  name: string;
  label: string;
}
interface Identity {
  provider: string;
  subject: string;
  email: string | null;
  linkedAt: string;
}

const PROVIDERS: TypedDocumentNode<{ oauthProviders: Provider[] }> = gql`
  query OAuthProviders {
    oauthProviders {
      name
      label
    }
  }
`;
const IDENTITIES: TypedDocumentNode<{ me: { id: string; identities: Identity[] }; oauthProviders: Provider[] }> = gql`
  query MyIdentities {
    me {
      id
      identities {
        provider
        subject
        email
        linkedAt
      }
    }
    oauthProviders {
      name
      label
    }
  }
`;
const UNLINK: TypedDocumentNode<{ unlinkIdentity: boolean }, { provider: string }> = gql`
  mutation UnlinkIdentity($provider: String!) {
    unlinkIdentity(provider: $provider)
  }
`;

/** What the return from a provider left for the sign-in screen: an error to show, or the TOTP step. */
interface SocialOutcome {
  readonly error: string | null;
  readonly mfa: Extract<LogInResult, { status: 'mfaRequired' }> | null;
}
let outcome: SocialOutcome = { error: null, mfa: null };
const listeners = new Set<() => void>();
function setOutcome(next: SocialOutcome): void {
  outcome = next;
  for (const listener of listeners) listener();
}
/** The outcome of the last return from a provider. */
export function useSocialOutcome(): SocialOutcome {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => outcome,
  );
}

const REASONS: Record<string, string> = {
  STATE: 'the sign-in expired or was started in another browser',
  PROVIDER: 'the provider did not complete it',
  ID_TOKEN: "the provider's answer could not be verified",
  CODE: 'the sign-in code expired or was used',
};

function describe(error: unknown): string {
  if (error instanceof AuthError) {
    const reason = typeof error.extensions.reason === 'string' ? REASONS[error.extensions.reason] : undefined;
    if (error.code === 'OAUTH_FAILED') return `Social sign-in failed: ${reason ?? 'try again'}.`;
    if (error.code === 'IDENTITY_TAKEN') return 'That identity is already linked to another account.';
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** On page load, after restore(): finishes a return from a provider (#tg_code or #tg_error). */
export async function finishSocialSignIn(): Promise<void> {
  try {
    const result = await auth.completeSocialSignIn();
    if (result?.status === 'mfaRequired') setOutcome({ error: null, mfa: result });
  } catch (error) {
    setOutcome({ error: describe(error), mfa: null });
  }
}

/** The sign-in screen's buttons, one per provider. */
export function SocialSignIn() {
  const { data } = useQuery(PROVIDERS, { fetchPolicy: 'cache-first' });
  const [error, setError] = useState<string | null>(null);
  const providers = data?.oauthProviders ?? [];
  if (providers.length === 0) return null;
  return (
    <div className="social" data-testid="social-sign-in">
      <p className="divider">or</p>
      {providers.map((p) => (
        <button
          key={p.name}
          type="button"
          className="social-button"
          data-testid={`social-${p.name}`}
          onClick={() => void auth.startSocialSignIn(p.name).catch((e: unknown) => setError(describe(e)))}
        >
          Continue with {p.label}
        </button>
      ))}
      {error && <p className="error" role="alert">{error}</p>}
    </div>
  );
}

/** The signed-in user's identities: link another provider, or unlink one. */
export function IdentitiesCard() {
  const { data, refetch } = useQuery(IDENTITIES, { fetchPolicy: 'network-only' });
  const [unlink] = useMutation(UNLINK);
  const { error: returned } = useSocialOutcome();
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const identities = data?.me.identities ?? [];
  const providers = data?.oauthProviders ?? [];
  if (providers.length === 0) return null;

  async function remove(provider: string) {
    setError(null);
    setNote(null);
    try {
      await unlink({ variables: { provider } });
      setNote(`Unlinked ${provider}.`);
      await refetch();
    } catch (e) {
      const code = (e as { errors?: Array<{ extensions?: { code?: string } }> }).errors?.[0]?.extensions?.code;
      setError(
        code === 'LAST_CREDENTIAL'
          ? 'This is your last way to sign in: set a password (reset it by email) or link another provider first.'
          : code === 'FRESH_TOKEN_REQUIRED'
            ? 'For this, sign in again first (your session is not fresh).'
            : e instanceof Error
              ? e.message
              : String(e),
      );
    }
  }

  return (
    <section className="card" data-testid="identities">
      <h2>Linked identities</h2>
      <ul className="sessions">
        {providers.map((p) => {
          const linked = identities.find((i) => i.provider === p.name);
          return (
            <li key={p.name} data-testid={`identity-${p.name}`}>
              <span>
                <strong>{p.label}</strong>
                <br />
                <span className="muted small">{linked ? `${linked.email ?? linked.subject} · linked ${new Date(linked.linkedAt).toLocaleDateString()}` : 'not linked'}</span>
              </span>
              {linked ? (
                <button type="button" className="danger" data-testid={`unlink-${p.name}`} onClick={() => void remove(p.name)}>
                  Unlink
                </button>
              ) : (
                <button
                  type="button"
                  data-testid={`link-${p.name}`}
                  onClick={() => void auth.startSocialSignIn(p.name, { link: true }).catch((e: unknown) => setError(describe(e)))}
                >
                  Link
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {note && <p className="ok">{note}</p>}
      {(error ?? returned) && (
        <p className="error" role="alert">
          {error ?? returned}
        </p>
      )}
    </section>
  );
}
