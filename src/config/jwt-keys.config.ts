import path from 'node:path';
import { z } from 'zod';
import { boolean, JWT_ALGORITHMS, type JwtAlgorithm } from './fields.js';

/** How access tokens are signed (../shared/API.md, "Signing keys"). Key files are read by tokens/signing-key-files.ts. */
export interface JwtKeysConfig {
  readonly algorithm: JwtAlgorithm;
  /** The PEM private key that signs new tokens; null outside production means "a development key in the data folder". */
  readonly privateKeyFile: string | null;
  /** PEM keys (public or private) of earlier signers: still verify, still published. */
  readonly verifyKeyFiles: readonly string[];
  /** Add Hasura's claims block to every access token. */
  readonly hasuraClaims: boolean;
}

/** The settings of this section, merged into loadConfig's schema. */
export const jwtKeysSettings = {
  JWT_ALGORITHM: z.enum(JWT_ALGORITHMS, { message: `JWT_ALGORITHM must be one of ${JWT_ALGORITHMS.join(', ')}` }).default('HS256'),
  JWT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  JWT_VERIFY_KEY_FILES: z.string().optional(),
  JWT_HASURA_CLAIMS: boolean('JWT_HASURA_CLAIMS').default(false),
};

const listFiles = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((file) => file.trim()).filter((file) => file !== '');

/**
 * Checks across settings, on the raw values (so they are reported even when
 * another setting is malformed). Reading and checking the keys themselves
 * happens at start-up, in tokens/signing-key-files.ts.
 */
export function checkJwtKeys(present: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const algorithm = present.JWT_ALGORITHM ?? 'HS256';
  if (algorithm === 'HS256') {
    // A key file with HS256 is a half-done switch; signing with the secret anyway would hide it.
    for (const name of ['JWT_PRIVATE_KEY_FILE', 'JWT_VERIFY_KEY_FILES']) {
      if (present[name] !== undefined) problems.push(`${name} is set but JWT_ALGORITHM is HS256: set JWT_ALGORITHM=RS256 or ES256 to sign with keys`);
    }
  } else if ((algorithm === 'RS256' || algorithm === 'ES256') && present.NODE_ENV === 'production' && present.JWT_PRIVATE_KEY_FILE === undefined) {
    problems.push(`JWT_PRIVATE_KEY_FILE is required when JWT_ALGORITHM=${algorithm} and NODE_ENV=production (make one with npm run keys:generate -- --alg ${algorithm} --out FILE)`);
  }
  return problems;
}

/** The section from parsed settings; file paths resolved against the working directory. */
export function jwtKeysConfig(e: {
  JWT_ALGORITHM: JwtAlgorithm;
  JWT_PRIVATE_KEY_FILE?: string | undefined;
  JWT_VERIFY_KEY_FILES?: string | undefined;
  JWT_HASURA_CLAIMS: boolean;
}): JwtKeysConfig {
  return Object.freeze({
    algorithm: e.JWT_ALGORITHM,
    privateKeyFile: e.JWT_PRIVATE_KEY_FILE === undefined ? null : path.resolve(e.JWT_PRIVATE_KEY_FILE),
    verifyKeyFiles: Object.freeze(listFiles(e.JWT_VERIFY_KEY_FILES).map((file) => path.resolve(file))),
    hasuraClaims: e.JWT_HASURA_CLAIMS,
  });
}
