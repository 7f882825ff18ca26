import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';
import { createClient, type Client } from 'graphql-ws';
import { annotateIntrospection } from './requirements.js';
import { deadTokenReason, isTokenExpired, type AuthSession, type GraphQLErrorShape } from './session.js';

/*
 * GraphiQL's fetcher with the sign-in panel's token: every HTTP request
 * carries `Authorization: Bearer …` (unless the person typed their own
 * Authorization header in the Headers tab, which then wins, as GraphiQL's
 * headers always do); a TOKEN_EXPIRED answer is refreshed once, shared by all
 * requests in flight, and the request retried. Subscriptions go over
 * graphql-ws on the same URL, authenticated in connection_init.
 */

/** Where the explorer talks to: the page's own origin (the CSP allows nothing else). */
export interface Endpoints {
  readonly http: string;
  readonly ws: string;
}

/** The endpoints for a page served at `location`. */
export function endpointsFor(location: { readonly href: string; readonly protocol: string }): Endpoints {
  const ws = new URL('/graphql', location.href);
  ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return { http: new URL('/graphql', location.href).href, ws: ws.href };
}

/**
 * A fetch that signs requests with the session's access token and refreshes
 * once on TOKEN_EXPIRED. A TOKEN_REVOKED / INVALID_TOKEN answer to our token
 * signs the panel out (the client advice in ../shared/API.md).
 */
export function createAuthFetch(session: AuthSession, baseFetch: typeof fetch = fetch.bind(globalThis)): typeof fetch {
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    const own = headers.has('authorization');
    const token = own ? null : session.currentToken();
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    const response = await baseFetch(input, { ...init, headers, credentials: 'same-origin' });
    if (token === null) return response;
    const errors = await errorsOf(response);
    if (isTokenExpired(errors)) {
      const fresh = await session.tokenAfterExpiry(token);
      if (fresh === null) return response;
      headers.set('authorization', `Bearer ${fresh}`);
      return baseFetch(input, { ...init, headers, credentials: 'same-origin' });
    }
    const dead = deadTokenReason(errors);
    if (dead !== null) session.tokenRejected(token, dead);
    return response;
  };
}

/** The errors of a JSON GraphQL answer, read from a copy so the caller can still read the body. */
async function errorsOf(response: Response): Promise<readonly GraphQLErrorShape[] | undefined> {
  if (!/json/i.test(response.headers.get('content-type') ?? '')) return undefined;
  try {
    const body = (await response.clone().json()) as { errors?: readonly GraphQLErrorShape[] };
    return Array.isArray(body.errors) ? body.errors : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The graphql-ws client for subscriptions, created lazily (no socket until a
 * subscription runs). connectionParams is asked again before every
 * (re)connect: the server closes with 4403 when the token expires, is
 * revoked or the roles change, which graphql-ws retries, so a reconnect
 * refreshes first when the token has expired.
 */
export function createSubscriptionClient(session: AuthSession, url: string): Client {
  return createClient({
    url,
    lazy: true,
    retryAttempts: 3,
    connectionParams: async () => {
      let token = session.currentToken();
      const state = session.getState();
      if (token !== null && state.status === 'signed-in' && state.claims.expiresAt <= Date.now()) token = await session.tokenAfterExpiry(token);
      return token === null ? {} : { authorization: `Bearer ${token}` };
    },
  });
}

/** GraphiQL's fetcher: HTTP through the auth fetch, subscriptions through graphql-ws, introspection annotated with each field's requirement. */
export function createExplorerFetcher(session: AuthSession, endpoints: Endpoints, wsClient: Client): Fetcher {
  const authFetch = createAuthFetch(session);
  const fetcher = createGraphiQLFetcher({
    url: endpoints.http,
    subscriptionUrl: endpoints.ws,
    wsClient,
    fetch: authFetch,
    // tokengate answers plain JSON; the multipart reader would only add a dependency on the path.
    enableIncrementalDelivery: false,
  });
  return async (params, options) => {
    const result = await fetcher(params, options);
    return params.operationName === 'IntrospectionQuery' ? annotateIntrospection(result) : result;
  };
}
