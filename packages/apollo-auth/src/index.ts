/**
 * @tokengate/apollo-auth: tokengate's auth for Apollo Client 4 apps.
 *
 *   const auth = createAuth({ uri, mode: 'cookie' });
 *   const client = new ApolloClient({ link: ApolloLink.from([createAuthLink(auth), new HttpLink({ uri, credentials: auth.credentials })]), cache });
 *   await auth.restore();
 */
export { AuthError, authFailureOf, createAuth } from './auth.js';
export type { Auth, AuthMode, AuthOptions, AuthPayloadLike, AuthState, GraphQLErrorLike, LogInResult, SignOutReason } from './auth.js';
export { createAuthLink } from './link.js';
export { graphqlWsOptions, type GraphqlWsAuthOptions } from './ws.js';
export { expiresAtOf, memoryStore, readCookie, sessionStorageStore, type RefreshTokenStore } from './stores.js';
export { createTabCoordinator, type AuthUser, type TabCoordinator, type TabCoordinatorOptions, type TabMessage } from './tabs.js';
