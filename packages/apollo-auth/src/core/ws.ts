import type { Auth } from './auth.js';

/** The close event graphql-ws hands to `on.closed`. */
interface CloseEventLike {
  readonly code?: number;
  readonly reason?: string;
}

/** Options for graphql-ws's createClient: spread them in (`createClient({ url, ...graphqlWsOptions(auth) })`). */
export interface GraphqlWsAuthOptions {
  connectionParams: () => Promise<Record<string, string>>;
  on: { closed: (event: unknown) => void };
}

/**
 * Authentication for subscriptions over graphql-ws. tokengate closes a socket
 * with 4403 and the reason TOKEN_EXPIRED / TOKEN_REVOKED / ROLES_CHANGED
 * (docs/api.md, "Subscriptions"); graphql-ws then reconnects and calls
 * `connectionParams` again, which refreshes first when the token expired (or
 * is about to), so the new socket starts with a working token. TOKEN_REVOKED
 * signs out. `skewMs`: refresh when the token has less than this left.
 */
export function graphqlWsOptions(auth: Auth, skewMs = 1_000): GraphqlWsAuthOptions {
  let stale: string | null = null;
  return {
    async connectionParams(): Promise<Record<string, string>> {
      await auth.ready();
      const token = auth.getAccessToken();
      const expiresAt = auth.getState().expiresAt;
      if (token !== null && (token === stale || (expiresAt !== null && expiresAt - Date.now() < skewMs))) await auth.refresh(token);
      stale = null;
      const current = auth.getAccessToken();
      return current ? { authorization: `Bearer ${current}` } : {};
    },
    on: {
      closed(event) {
        const { code, reason } = (event ?? {}) as CloseEventLike;
        if (code !== 4403) return;
        if (reason === 'TOKEN_REVOKED') auth.signOut('TOKEN_REVOKED');
        else if (reason === 'TOKEN_EXPIRED' || reason === 'INVALID_TOKEN') stale = auth.getAccessToken();
      },
    },
  };
}
