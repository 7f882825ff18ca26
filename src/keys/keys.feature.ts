import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import { loadSigningKeys } from '../tokens/signing-key-files.js';
import { AccessTokens } from '../tokens/access-token.js';
import { publicJwks, type SigningKeySet } from '../tokens/signing-keys.js';

/** What the keys feature offers the others: how access tokens are signed and checked, and the public keys. */
export interface KeysFeature extends Feature {
  readonly accessTokens: AccessTokens;
  /** The JWK Set document, serialized once: the key set is fixed for the life of the process (`{"keys":[]}` for HS256). */
  readonly jwks: string;
}

/**
 * Signing keys (docs/api.md, "Signing keys"): HS256 with JWT_SECRET, or
 * ES256/RS256 keys read from files at start-up (main.ts reads them first to
 * fail fast; `signingKeys` passes them on), and the JWKS they publish.
 */
export function createKeysFeature(core: Core, options: { readonly signingKeys?: SigningKeySet | null } = {}): KeysFeature {
  const { config } = core;
  const signingKeys = options.signingKeys !== undefined ? options.signingKeys : loadSigningKeys(config, core.logger);
  const accessTokens = new AccessTokens({
    // createCore has already refused a missing secret.
    secret: config.jwt.secret!,
    keys: signingKeys,
    hasuraClaims: config.jwtKeys.hasuraClaims,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    ttl: config.jwt.accessTokenTtl,
    clockTolerance: config.jwt.clockTolerance,
  });
  return { name: 'keys', accessTokens, jwks: JSON.stringify(publicJwks(signingKeys)) };
}
