/**
 * @tokengate/apollo-auth/core: the kit without Apollo Client, for any
 * browser client (the server's explorer uses it with GraphiQL): the session
 * state, sign-in and sign-out, one shared refresh on TOKEN_EXPIRED, sign-out
 * on revoked tokens, header, cookie or auto mode, coordination between tabs,
 * an authenticated fetch, the graphql-ws helper and passkey ceremonies
 * (registerPasskey, signInWithPasskey; @simplewebauthn/browser). Nothing here imports
 * `@apollo/client`, `graphql` or `rxjs`.
 *
 *   const auth = createAuth({ uri: '/graphql', mode: 'auto' });
 *   const authFetch = createAuthFetch(auth);
 */
export { AuthError, authFailureOf, createAuth } from './auth.js';
export type { Auth, AuthMode, AuthModeOption, AuthOptions, AuthPayloadLike, AuthState, GraphQLErrorLike, GraphQLResponse, LogInResult, SignOutReason } from './auth.js';
export { abortPasskeyAutofill, passkeyAutofillSupported, passkeysSupported, registerPasskey, signInWithPasskey, type PasskeyInfo } from './passkeys.js';
export { createAuthFetch } from './fetch.js';
export type { CompleteSocialSignInOptions, SocialSignInOptions } from './social.js';
export { expiresAtOf, readClaims, type TokenClaims } from './jwt.js';
export { memoryStore, readCookie, sessionStorageStore, type RefreshTokenStore } from './stores.js';
export { createTabCoordinator, type AuthUser, type TabCoordinator, type TabCoordinatorOptions, type TabMessage } from './tabs.js';
export { graphqlWsOptions, type GraphqlWsAuthOptions } from './ws.js';
