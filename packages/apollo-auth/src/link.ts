import { ApolloLink } from '@apollo/client';
import { defer, from, map, of, switchMap, type Observable } from 'rxjs';
import { authFailureOf, type Auth, type GraphQLErrorLike } from './core/auth.js';

/**
 * The Apollo link of the kit; put it before the HttpLink. It waits for a
 * restore in progress, adds `Authorization: Bearer <access token>`, and on
 * `TOKEN_EXPIRED` refreshes once for every request in flight (auth.refresh
 * is shared by all callers, in this tab and across tabs) and retries the
 * operation once with the new token. A retry that fails again is handed to
 * the app as it is: the link never loops. `TOKEN_REVOKED` and `INVALID_TOKEN`
 * for the token in use sign out (every tab), as INVALID_REFRESH_TOKEN does.
 */
export function createAuthLink(auth: Auth): ApolloLink {
  return new ApolloLink((operation, forward) => {
    const send = (): Observable<{ result: ApolloLink.Result; sent: string | null }> =>
      defer(() => {
        const sent = auth.getAccessToken();
        operation.setContext(({ headers }: { headers?: Record<string, string> }) => {
          const next: Record<string, string> = { ...headers };
          if (sent) next.authorization = `Bearer ${sent}`;
          else delete next.authorization;
          return { headers: next };
        });
        return forward(operation).pipe(map((result) => ({ result, sent })));
      });
    const errorsOf = (result: ApolloLink.Result) => (result as { errors?: readonly GraphQLErrorLike[] }).errors;

    return from(auth.ready()).pipe(
      switchMap(() => send()),
      switchMap(({ result, sent }) => {
        if (authFailureOf(errorsOf(result)) !== 'TOKEN_EXPIRED') {
          auth.noteResult(errorsOf(result), sent);
          return of(result);
        }
        return from(auth.refresh(sent)).pipe(
          switchMap((renewed) =>
            renewed
              ? send().pipe(
                  map((retried) => {
                    auth.noteResult(errorsOf(retried.result), retried.sent);
                    return retried.result;
                  }),
                )
              : of(result),
          ),
        );
      }),
    );
  });
}
