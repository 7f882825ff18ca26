import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { createAuth, createAuthLink, type AuthMode, type SignOutReason } from '@tokengate/apollo-auth';

/** Where tokengate runs and which mode to use: built-in defaults, or ?api= and ?mode= on the page's URL. */
const params = new URLSearchParams(window.location.search);
export const API_URL = params.get('api') ?? __TOKENGATE_URL__;
export const MODE: AuthMode = (params.get('mode') ?? __AUTH_MODE__) === 'cookie' ? 'cookie' : 'header';

/** The kit: tokens in memory; header mode keeps the refresh token in sessionStorage, cookie mode in an HttpOnly cookie. */
export const auth = createAuth({ uri: API_URL, mode: MODE, onSignedOut: (reason) => (signOut.reason = reason) });

/** Why the user was last signed out, for the sign-in screen's notice. */
export const signOut: { reason: SignOutReason | null } = { reason: null };

export const client = new ApolloClient({
  // The kit's link first: it adds the bearer header and refreshes on TOKEN_EXPIRED.
  // credentials: cookie mode needs the cookies on API calls (changePassword sets them, logout clears them).
  link: ApolloLink.from([createAuthLink(auth), new HttpLink({ uri: API_URL, credentials: auth.credentials })]),
  cache: new InMemoryCache(),
});

// Whatever signed us out (this tab, another tab, a revoked session), drop what the cache holds of the user.
auth.subscribe((state) => {
  if (state.status === 'signedOut') void client.clearStore();
});
