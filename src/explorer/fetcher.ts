import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';
import { createAuthFetch, graphqlWsOptions, type Auth } from '@tokengate/apollo-auth/core';
import { createClient, type Client } from 'graphql-ws';
import { annotateIntrospection } from './requirements.js';

/*
 * GraphiQL's fetcher with the sign-in panel's token, through the auth kit's
 * core: every HTTP request carries `Authorization: Bearer …` (unless the
 * person typed their own Authorization header in the Headers tab, which then
 * wins, as GraphiQL's headers always do); a TOKEN_EXPIRED answer is refreshed
 * once, shared by all requests in flight, and the request retried;
 * TOKEN_REVOKED / INVALID_TOKEN sign the panel out. Subscriptions go over
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
 * The graphql-ws client for subscriptions, created lazily (no socket until a
 * subscription runs). The kit's graphqlWsOptions answer connectionParams
 * before every (re)connect: the server closes with 4403 when the token
 * expires, is revoked or the roles change, which graphql-ws retries, so a
 * reconnect refreshes first when the token has expired; TOKEN_REVOKED signs out.
 */
export function createSubscriptionClient(auth: Auth, url: string): Client {
  return createClient({ url, lazy: true, retryAttempts: 3, ...graphqlWsOptions(auth) });
}

/** GraphiQL's fetcher: HTTP through the auth fetch, subscriptions through graphql-ws, introspection annotated with each field's requirement. */
export function createExplorerFetcher(auth: Auth, endpoints: Endpoints, wsClient: Client, onResult: (result: unknown) => void = () => {}): Fetcher {
  const authFetch = createAuthFetch(auth);
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
    if (params.operationName !== 'IntrospectionQuery') onResult(result);
    return params.operationName === 'IntrospectionQuery' ? annotateIntrospection(result) : result;
  };
}
