import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import type { EmailService } from '../email/index.js';
import type { TokenService } from '../sessions/index.js';
import type { SecondFactor } from './factor.js';
import { pruneExpiredMfaTokens } from './mfa-token.repository.js';
import { signInResolvers } from './sign-in.resolvers.js';
import { SignInService } from './sign-in.service.js';

/** What the sign-in feature offers the others. */
export interface SignInFeature extends Feature {
  readonly signIn: SignInService;
}

/**
 * Signing in (docs/api.md, "Authentication"): signup, the password factor,
 * the second step for users with a second factor, and password changes,
 * through one pipeline. Its ports: the session's tokens, the email feature
 * (signup's verification link) and the second factor (the mfa feature).
 */
export function createSignInFeature(
  core: Core,
  ports: { readonly tokens: TokenService; readonly email: EmailService; readonly secondFactor: SecondFactor },
): SignInFeature {
  const { db } = core;
  const signIn = new SignInService({
    db,
    clock: core.clock,
    hasher: core.hasher,
    sessions: core.sessions,
    tokens: ports.tokens,
    rateLimits: core.rateLimits,
    userService: core.users,
    email: ports.email,
    secondFactor: ports.secondFactor,
    logger: core.logger,
    metrics: core.metrics.auth,
  });
  return {
    name: 'sign-in',
    schema: ['auth.graphql'],
    resolvers: signInResolvers(signIn),
    pruneTasks: [{ name: 'mfa_tokens', prune: (now, limit) => pruneExpiredMfaTokens(db, now, limit) }],
    signIn,
  };
}
