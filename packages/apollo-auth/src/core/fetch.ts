import { authFailureOf, type Auth, type GraphQLErrorLike } from './auth.js';

/**
 * A `fetch` for GraphQL over HTTP without Apollo (GraphiQL's fetcher, urql,
 * graphql-request, plain calls): what the Apollo link does, on responses.
 * It waits for a restore in progress, adds `Authorization: Bearer <access
 * token>` unless the request already has an Authorization header (that one
 * wins, and its answers are the caller's business), and on `TOKEN_EXPIRED`
 * refreshes once for every request in flight (auth.refresh is shared) and
 * sends the request once more with the new token; a retry that fails again
 * is handed back as it is, never looped. `TOKEN_REVOKED` / `INVALID_TOKEN`
 * for the token in use sign out. The body is read from a clone, so the
 * caller still gets an unread response.
 */
export function createAuthFetch(auth: Auth, baseFetch: typeof fetch = (input, init) => fetch(input, init)): typeof fetch {
  return async (input, init = {}) => {
    const request = typeof Request !== 'undefined' && input instanceof Request ? input : null;
    // init's headers replace a Request's own (as fetch does), so both are merged here.
    const headers = new Headers(request?.headers);
    new Headers(init.headers).forEach((value, name) => headers.set(name, value));
    const send = (token: string | null) => {
      if (token !== null) headers.set('authorization', `Bearer ${token}`);
      // A Request's body can be read once: each send gets a copy.
      return baseFetch(request ? request.clone() : input, { ...init, headers, credentials: init.credentials ?? request?.credentials ?? auth.credentials });
    };
    if (headers.has('authorization')) return send(null);
    await auth.ready();
    const sent = auth.getAccessToken();
    const response = await send(sent);
    if (sent === null) return response;
    const errors = await errorsOf(response);
    if (authFailureOf(errors) !== 'TOKEN_EXPIRED') {
      auth.noteResult(errors, sent);
      return response;
    }
    const renewed = (await auth.refresh(sent)) ? auth.getAccessToken() : null;
    if (renewed === null) return response;
    const retried = await send(renewed);
    auth.noteResult(await errorsOf(retried), renewed);
    return retried;
  };
}

/** The errors of a JSON GraphQL answer, read from a copy so the caller can still read the body. */
async function errorsOf(response: Response): Promise<readonly GraphQLErrorLike[] | undefined> {
  if (!/json/i.test(response.headers.get('content-type') ?? '')) return undefined;
  try {
    const body = (await response.clone().json()) as { errors?: unknown } | null;
    return Array.isArray(body?.errors) ? (body.errors as GraphQLErrorLike[]) : undefined;
  } catch {
    return undefined;
  }
}
