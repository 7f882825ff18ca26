/**
 * @tokengate/apollo-auth: tokengate's auth for Apollo Client 4 apps.
 *
 *   const auth = createAuth({ uri, mode: 'cookie' });
 *   const client = new ApolloClient({ link: ApolloLink.from([createAuthLink(auth), new HttpLink({ uri, credentials: auth.credentials })]), cache });
 *   await auth.restore();
 *
 * Everything but the link is the framework-free core, also published alone
 * as `@tokengate/apollo-auth/core` (no Apollo Client in the bundle).
 */
export * from './core/index.js';
export { createAuthLink } from './link.js';
