import { z } from 'zod';
import { duration } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Access tokens: who signs them, for whom, for how long. */
export interface JwtConfig {
  /** Null only outside production: main.ts then supplies a generated development secret. */
  readonly secret: string | null;
  readonly issuer: string;
  readonly audience: string;
  readonly accessTokenTtl: number;
  readonly clockTolerance: number;
}

/** Secrets that tutorials and examples use; a server signing with one is forgeable by anyone. */
const WELL_KNOWN_SECRETS = new Set([
  'secret', 'my_secret_key', 'super-secret', 'supersecret', 'super-secret-key', 'changeme', 'change-me',
  'changeit', 'your-256-bit-secret', 'your_jwt_secret', 'jwt_secret', 'jwt-secret', 'secretkey', 'secret_key',
  'mysecret', 'my-secret', 'password', 'test', 'dev', 'development', 'tokengate', 'shhhhh', 'keyboard cat',
]);

/** Returns why a secret is unfit to sign production tokens, or null when it is fine. */
export function checkSecretStrength(secret: string): string | null {
  if (WELL_KNOWN_SECRETS.has(secret.trim().toLowerCase())) return 'JWT_SECRET is a well-known example secret';
  if (Buffer.byteLength(secret, 'utf8') < 32) return 'JWT_SECRET must be at least 32 bytes';
  if (new Set(secret).size < 8) return 'JWT_SECRET has too few distinct characters';
  return null;
}

const fields = {
  JWT_SECRET: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default('tokengate'),
  JWT_AUDIENCE: z.string().min(1).default('tokengate'),
  JWT_CLOCK_TOLERANCE: duration('JWT_CLOCK_TOLERANCE', 60).prefault('0s'),
  ACCESS_TOKEN_TTL: duration('ACCESS_TOKEN_TTL', undefined, 1).prefault('15m'),
};

/** JWT_SECRET, the claims and the access-token lifetime. */
export const jwtSection: ConfigSection<typeof fields, { readonly jwt: JwtConfig }> = {
  title: 'Access tokens',
  notes:
    'With `NODE_ENV=production` tokengate refuses to start without a strong `JWT_SECRET`: it must be set, at least 32 bytes long, use at least 8 distinct characters, and not be a well-known example secret (`secret`, `my_secret_key`, `super-secret`, `changeme`, `your-256-bit-secret`, … compared case-insensitively). `openssl rand -base64 48` makes a suitable one.',
  fields,
  docs: {
    JWT_SECRET: {
      default: 'none; outside production a generated one, kept in the data folder',
      description:
        'HMAC key for HS256 access tokens; the key for refresh-token derivation is derived from it too, whatever `JWT_ALGORITHM` is, so it stays required in production with RS256/ES256 (see [Signing keys and rotation](../operations/signing-keys.md)). Checked in production only. With HS256, changing it makes every outstanding access token `INVALID_TOKEN`, which clients treat as signed out.',
    },
    JWT_ISSUER: '`iss` claim set and required.',
    JWT_AUDIENCE: '`aud` claim set and required.',
    JWT_CLOCK_TOLERANCE: 'Leeway for `exp`/`nbf`; at most `60s`.',
    ACCESS_TOKEN_TTL: 'Access-token lifetime (`expiresIn` in `AuthPayload`); shorter than `REFRESH_TOKEN_TTL`.',
  },
  check: ({ raw }) => {
    if (raw.NODE_ENV !== 'production') return [];
    if (raw.JWT_SECRET === undefined) return ['JWT_SECRET is required when NODE_ENV=production'];
    const weakness = checkSecretStrength(raw.JWT_SECRET);
    return weakness ? [weakness] : [];
  },
  build: (e) => ({
    jwt: Object.freeze({
      secret: e.JWT_SECRET ?? null,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTokenTtl: e.ACCESS_TOKEN_TTL,
      clockTolerance: e.JWT_CLOCK_TOLERANCE,
    }),
  }),
};
