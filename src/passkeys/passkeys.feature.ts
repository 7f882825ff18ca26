import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import { makeLimiter } from '../core/rate-limits.js';
import type { SignInFeature } from '../sign-in/index.js';
import { passkeysMigrations } from './passkeys.migrations.js';
import { passkeyResolvers } from './passkeys.resolvers.js';
import { PasskeyService } from './passkey.service.js';

/** What the passkeys feature offers the others. */
export interface PasskeysFeature extends Feature {
  readonly passkeys: PasskeyService;
}

/** The HKDF label of the key behind the stand-in credential ids (passkey.service.ts, startLogin). */
const DECOY_KEY_LABEL = 'tokengate passkey decoy ids v1';

/**
 * Passkeys (docs/api.md, "Passkeys (WebAuthn)"): registration for a signed-in
 * user, the list, rename and removal, and usernameless sign-in as a first
 * factor of the sign-in pipeline (its port). Passkeys are `credentials` rows;
 * ceremonies in flight are rows of `passkey_challenges`, pruned when expired.
 */
export function createPasskeysFeature(core: Core, ports: { readonly signIn: SignInFeature['signIn'] }): PasskeysFeature {
  const { config } = core;
  const passkeys = new PasskeyService({
    db: core.db,
    clock: core.clock,
    webauthn: config.webauthn,
    sessions: core.sessions,
    signIn: ports.signIn,
    rateLimits: core.rateLimits,
    // Each start writes a row, so starts are limited per address: ten times the failed logins an address may
    // make, since conditional UI starts one on every visit of a sign-in page (many people behind one NAT).
    startLimiter: makeLimiter(
      core.redis && config.redis ? { client: core.redis, prefix: config.redis.prefix } : null,
      'passkey-start-address',
      config.rateLimits.loginPerAddress.points * 10,
      config.rateLimits.loginPerAddress.duration,
    ),
    decoyKey: core.deriveKey(DECOY_KEY_LABEL),
    logger: core.logger,
  });
  return {
    name: 'passkeys',
    schema: ['passkeys.graphql'],
    resolvers: passkeyResolvers(passkeys),
    migrations: passkeysMigrations,
    pruneTasks: [{ name: 'passkey_challenges', prune: (now, limit) => passkeys.pruneChallenges(now, limit) }],
    async start() {
      if (config.webauthn.origins.length === 0) {
        core.logger.warn({ event: 'passkeys.no_origins' }, 'WEBAUTHN_ORIGINS is empty (and PUBLIC_URL unset): every passkey ceremony will be refused; see docs/guides/passkeys.md');
      }
    },
    passkeys,
  };
}
