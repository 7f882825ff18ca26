import { useEffect, useState, type ReactElement } from 'react';
import type { AuthSession } from './session.js';

/*
 * Social sign-in in the explorer's panel: one button per provider the
 * server lists (`oauthProviders`). A click sends the browser to the
 * provider; it comes back to this page with #tg_code, which the session
 * redeems on load (AuthSession.completeSocial).
 */

interface Provider {
  readonly name: string;
  readonly label: string;
}

/** The providers' buttons; nothing when the server has none configured. */
export function SocialButtons({ session, busy }: { session: AuthSession; busy: boolean }): ReactElement | null {
  const [providers, setProviders] = useState<readonly Provider[]>([]);
  useEffect(() => {
    let live = true;
    void session.listProviders().then((list) => {
      if (live) setProviders(list);
    });
    return () => {
      live = false;
    };
  }, [session]);
  if (providers.length === 0) return null;
  return (
    <div className="tg-social" aria-label="Social sign-in">
      <p className="tg-divider">
        <span>or</span>
      </p>
      {providers.map((provider) => (
        <button key={provider.name} type="button" className="tg-social-button" data-provider={provider.name} disabled={busy} onClick={() => void session.startSocial(provider.name)}>
          Continue with {provider.label}
        </button>
      ))}
    </div>
  );
}
