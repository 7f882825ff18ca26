import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import { SECRET_BOX_KEY_LABEL } from '../credentials/secret-box.js';
import { mfaMigrations } from './mfa.migrations.js';
import { mfaResolvers } from './mfa.resolvers.js';
import { TotpService } from './totp.service.js';

/** What the mfa feature offers the others: TOTP, which is the sign-in pipeline's second factor. */
export interface MfaFeature extends Feature {
  readonly totp: TotpService;
}

/**
 * Two-factor authentication with TOTP and recovery codes (docs/api.md,
 * "Two-factor authentication"): enrollment, confirmation, disabling, an
 * admin's reset, and the second factor of a sign-in.
 */
export function createMfaFeature(core: Core): MfaFeature {
  const totp = new TotpService({
    db: core.db,
    clock: core.clock,
    // TOTP secrets at rest: AES-256-GCM under their own derived key (credentials/secret-box.ts).
    secretKey: core.deriveKey(SECRET_BOX_KEY_LABEL),
    issuer: core.config.totp.issuer,
    sessions: core.sessions,
    rateLimits: core.rateLimits,
    logger: core.logger,
  });
  return { name: 'mfa', schema: ['totp.graphql'], resolvers: mfaResolvers(totp), migrations: mfaMigrations, totp };
}
