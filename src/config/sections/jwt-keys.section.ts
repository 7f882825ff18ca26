import path from 'node:path';
import { z } from 'zod';
import { boolean, JWT_ALGORITHMS, type JwtAlgorithm } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** How access tokens are signed (docs/api.md, "Signing keys"). Key files are read by tokens/signing-key-files.ts. */
export interface JwtKeysConfig {
  readonly algorithm: JwtAlgorithm;
  /** The PEM private key that signs new tokens; null outside production means "a development key in the data folder". */
  readonly privateKeyFile: string | null;
  /** PEM keys (public or private) of earlier signers: still verify, still published. */
  readonly verifyKeyFiles: readonly string[];
  /** Add Hasura's claims block to every access token. */
  readonly hasuraClaims: boolean;
}

const fields = {
  JWT_ALGORITHM: z.enum(JWT_ALGORITHMS, { message: `JWT_ALGORITHM must be one of ${JWT_ALGORITHMS.join(', ')}` }).default('HS256'),
  JWT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  JWT_VERIFY_KEY_FILES: z.string().optional(),
  JWT_HASURA_CLAIMS: boolean('JWT_HASURA_CLAIMS').prefault('false'),
};

const listFiles = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((file) => file.trim()).filter((file) => file !== '');

/**
 * JWT_ALGORITHM and the key files. The checks here read the raw values;
 * reading and checking the keys themselves happens at start-up, in
 * tokens/signing-key-files.ts.
 */
export const jwtKeysSection: ConfigSection<typeof fields, { readonly jwtKeys: JwtKeysConfig }> = {
  title: 'Signing keys',
  notes:
    'See [Signing keys and rotation](../operations/signing-keys.md) for making keys (`npm run keys:generate -- --alg ES256 --out FILE`) and rotating them. Key files are read and checked at start-up: a file that is unreadable, malformed, public where a private key is needed, of the wrong type or too weak stops start-up with a message naming the setting and the file. With several instances, mount the same key files on every one.',
  fields,
  docs: {
    JWT_ALGORITHM:
      '`HS256` (signed with `JWT_SECRET`), `RS256` or `ES256` (signed with a key pair, each token\'s header carrying the key\'s `kid`, public keys at `/.well-known/jwks.json`).',
    JWT_PRIVATE_KEY_FILE: {
      default: 'none; outside production a key generated once into the data folder',
      description:
        'With RS256/ES256: the PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted) that signs new tokens: RSA of at least 2048 bits for RS256, EC P-256 for ES256. Required in production. Refused with HS256.',
    },
    JWT_VERIFY_KEY_FILES: {
      default: 'none',
      description:
        'With RS256/ES256: comma-separated PEM files (public or private keys) of earlier signers; their tokens still verify and their public keys are still published. RSA and P-256 keys may be mixed (each key\'s algorithm follows from its type). Refused with HS256.',
    },
    JWT_HASURA_CLAIMS:
      'When `true`, access tokens also carry `"https://hasura.io/jwt/claims": {"x-hasura-user-id", "x-hasura-default-role": "user", "x-hasura-allowed-roles": [roles in lower case]}`.',
  },
  check: ({ raw }) => {
    const problems: string[] = [];
    const algorithm = raw.JWT_ALGORITHM ?? 'HS256';
    if (algorithm === 'HS256') {
      // A key file with HS256 is a half-done switch; signing with the secret anyway would hide it.
      for (const name of ['JWT_PRIVATE_KEY_FILE', 'JWT_VERIFY_KEY_FILES']) {
        if (raw[name] !== undefined) problems.push(`${name} is set but JWT_ALGORITHM is HS256: set JWT_ALGORITHM=RS256 or ES256 to sign with keys`);
      }
    } else if ((algorithm === 'RS256' || algorithm === 'ES256') && raw.NODE_ENV === 'production' && raw.JWT_PRIVATE_KEY_FILE === undefined) {
      problems.push(`JWT_PRIVATE_KEY_FILE is required when JWT_ALGORITHM=${algorithm} and NODE_ENV=production (make one with npm run keys:generate -- --alg ${algorithm} --out FILE)`);
    }
    return problems;
  },
  // File paths are resolved against the working directory.
  build: (e) => ({
    jwtKeys: Object.freeze({
      algorithm: e.JWT_ALGORITHM,
      privateKeyFile: e.JWT_PRIVATE_KEY_FILE === undefined ? null : path.resolve(e.JWT_PRIVATE_KEY_FILE),
      verifyKeyFiles: Object.freeze(listFiles(e.JWT_VERIFY_KEY_FILES).map((file) => path.resolve(file))),
      hasuraClaims: e.JWT_HASURA_CLAIMS,
    }),
  }),
};
