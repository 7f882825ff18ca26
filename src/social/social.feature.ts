import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import type { SignInFeature } from '../sign-in/index.js';
import { callbackRoute } from './callback.route.js';
import { pruneFlows } from './oauth-flow.repository.js';
import { OAuthRateLimit } from './oauth-rate-limit.js';
import { OidcProviders } from './oidc-providers.js';
import { socialMigrations } from './social.migrations.js';
import { socialResolvers } from './social.resolvers.js';
import { SocialService } from './social.service.js';

/** What the social feature offers the app. */
export interface SocialFeature extends Feature {
  readonly social: SocialService;
}

/** The HKDF label of the key from which each flow's PKCE verifier and nonce are derived. */
const FLOW_KEY_LABEL = 'oauth flow v1';
/** Flows are kept a little past their 10 minutes, then pruned. */
const PRUNE_AFTER_MS = 10 * 60 * 1000;

/**
 * Social sign-in over OpenID Connect (docs/api.md, "Social sign-in"): the
 * providers (discovered in the background), the flow and its callback
 * route, linked identities, and the federated first factor of the sign-in
 * pipeline (its port). With no OIDC_PROVIDERS the schema is still there;
 * `oauthProviders` answers `[]`.
 */
export function createSocialFeature(core: Core, ports: { readonly signIn: SignInFeature['signIn'] }): SocialFeature {
  const { config, db } = core;
  const providers = new OidcProviders(config.social.providers, core.logger);
  const social = new SocialService({
    db,
    clock: core.clock,
    logger: core.logger,
    config: config.social,
    signupEnabled: config.signupEnabled,
    providers,
    sessions: core.sessions,
    signIn: ports.signIn,
    flowKey: core.deriveKey(FLOW_KEY_LABEL),
    rateLimit: new OAuthRateLimit(config.social.startPerAddress, core.logger, core.redis && config.redis ? { client: core.redis, prefix: config.redis.prefix } : null),
  });
  return {
    name: 'social',
    schema: ['social.graphql'],
    resolvers: socialResolvers(social),
    migrations: socialMigrations,
    routes: [callbackRoute(social)],
    pruneTasks: [{ name: 'oauth_flows', prune: (now, limit) => pruneFlows(db, now - PRUNE_AFTER_MS, limit) }],
    // An identity provider being down must not make every instance unready: password and passkey sign-in still work.
    externalChecks: async () => providers.readiness(),
    social,
    start: () => providers.start(),
    async stop() {
      providers.stop();
    },
  };
}
