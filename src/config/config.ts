import path from 'node:path';
import { z } from 'zod';
import { boolean, budget, duration, int, type Budget } from './fields.js';
import { checkOperations, operationsConfig, operationsSchema, type OperationsConfig } from './operations.config.js';
import { explorerConfig, explorerSettings, type ExplorerConfig } from './explorer.config.js';
import { checkCookies, cookiesFields, cookiesSection, type CookiesConfig } from './cookies.config.js';
import { mailConfig, mailProblems, mailSettings, type MailConfig } from './mail.config.js';
import { subscriptionsFields, subscriptionsSection, type SubscriptionsConfig } from './subscriptions.config.js';
import { checkJwtKeys, jwtKeysConfig, jwtKeysSettings, type JwtKeysConfig } from './jwt-keys.config.js';
import { totpConfig, totpSettings, type TotpConfig } from './totp.config.js';

/** Where the data lives: an embedded SQLite file, or a PostgreSQL server. */
export type DatabaseConfig =
  | { readonly dialect: 'sqlite'; readonly file: string }
  | { readonly dialect: 'postgres'; readonly url: string; readonly poolSize: number };

export type { Budget } from './fields.js';

/** The brute-force limits (../shared/API.md, "Brute-force limits"); every one configurable. */
export interface RateLimitConfig {
  /** Consecutive failed logins for one username from one address before that pair is locked. */
  readonly loginPair: number;
  /** The first lock of a pair, in seconds; each further lock within a day doubles it, up to an hour. */
  readonly loginPairLock: number;
  readonly loginPerUsername: Budget;
  readonly loginPerAddress: Budget;
  readonly signupPerAddress: Budget;
  readonly refreshPerAddress: Budget;
}

/** Argon2id cost parameters. */
export interface Argon2Config {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** The validated, frozen configuration; built once by loadConfig and passed down. */
export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseConfig;
  /** Shared state for several instances (session revocation, rate limits); null for a single instance. */
  readonly redis: { readonly url: string; readonly prefix: string } | null;
  /** Folder for local state: the SQLite file's folder, or ./data. */
  readonly dataDir: string;
  readonly jwt: {
    /** Null only outside production: main.ts then supplies a generated development secret. */
    readonly secret: string | null;
    readonly issuer: string;
    readonly audience: string;
    readonly accessTokenTtl: number;
    readonly clockTolerance: number;
  };
  /** Signing keys: HS256 with the secret, or RS256/ES256 key files. */
  readonly jwtKeys: JwtKeysConfig;
  readonly refreshTokenTtl: number;
  readonly refreshReuseGrace: number;
  readonly signupEnabled: boolean;
  readonly trustProxy: boolean;
  readonly corsOrigins: readonly string[];
  readonly cookies: CookiesConfig;
  readonly introspection: boolean;
  readonly bodyLimitBytes: number;
  readonly argon2: Argon2Config;
  readonly rateLimits: RateLimitConfig;
  /** Limits on one GraphQL document, checked before it runs. */
  readonly queryLimits: { readonly maxDepth: number; readonly maxAliases: number; readonly maxTokens: number; readonly maxCost: number };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Create this admin at start-up when no user of that name exists. */
  readonly bootstrapAdmin: { readonly username: string; readonly password: string } | null;
  readonly operations: OperationsConfig;
  readonly explorer: ExplorerConfig;
  readonly mail: MailConfig;
  readonly subscriptions: SubscriptionsConfig;
  readonly totp: TotpConfig;
}

/** Thrown by loadConfig with every problem found, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
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

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'NODE_ENV must be development, production or test' }).default('development'),
  PORT: int('PORT', 0, 65_535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.string().min(1).optional(),
  DATABASE_POOL_SIZE: int('DATABASE_POOL_SIZE', 1, 500).default(10),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//i, { message: 'REDIS_URL must look like redis://host:port (or rediss:// for TLS)' })
    .optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, { message: 'REDIS_PREFIX must be 1–64 of letters, digits, ":", "_", ".", "-"' }).default('tokengate:'),
  JWT_SECRET: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default('tokengate'),
  JWT_AUDIENCE: z.string().min(1).default('tokengate'),
  JWT_CLOCK_TOLERANCE: duration('JWT_CLOCK_TOLERANCE', 60).default(0),
  ACCESS_TOKEN_TTL: duration('ACCESS_TOKEN_TTL', undefined, 1).default(15 * 60),
  REFRESH_TOKEN_TTL: duration('REFRESH_TOKEN_TTL', undefined, 1).default(30 * 86_400),
  REFRESH_REUSE_GRACE: duration('REFRESH_REUSE_GRACE', 300).default(10),
  SIGNUP_ENABLED: boolean('SIGNUP_ENABLED').default(true),
  TRUST_PROXY: boolean('TRUST_PROXY').default(false),
  CORS_ORIGINS: z.string().default(''),
  INTROSPECTION: boolean('INTROSPECTION').optional(),
  BODY_LIMIT: int('BODY_LIMIT', 1024, 10 * 1024 * 1024).default(100 * 1024),
  // OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
  ARGON2_MEMORY_KIB: int('ARGON2_MEMORY_KIB', 8 * 1024, 4 * 1024 * 1024).default(19_456),
  ARGON2_TIME_COST: int('ARGON2_TIME_COST', 1, 20).default(2),
  ARGON2_PARALLELISM: int('ARGON2_PARALLELISM', 1, 16).default(1),
  RATE_LIMIT_LOGIN_PAIR: int('RATE_LIMIT_LOGIN_PAIR', 1, 1_000_000).default(5),
  RATE_LIMIT_LOGIN_LOCK: duration('RATE_LIMIT_LOGIN_LOCK', 3_600, 1).default(60),
  RATE_LIMIT_LOGIN_USERNAME: budget('RATE_LIMIT_LOGIN_USERNAME').default({ points: 50, duration: 3_600 }),
  RATE_LIMIT_LOGIN_ADDRESS: budget('RATE_LIMIT_LOGIN_ADDRESS').default({ points: 100, duration: 3_600 }),
  RATE_LIMIT_SIGNUP_ADDRESS: budget('RATE_LIMIT_SIGNUP_ADDRESS').default({ points: 30, duration: 600 }),
  RATE_LIMIT_REFRESH_ADDRESS: budget('RATE_LIMIT_REFRESH_ADDRESS').default({ points: 120, duration: 60 }),
  GRAPHQL_MAX_DEPTH: int('GRAPHQL_MAX_DEPTH', 2, 100).default(10),
  GRAPHQL_MAX_ALIASES: int('GRAPHQL_MAX_ALIASES', 0, 1_000).default(15),
  GRAPHQL_MAX_TOKENS: int('GRAPHQL_MAX_TOKENS', 50, 100_000).default(1_000),
  GRAPHQL_MAX_COST: int('GRAPHQL_MAX_COST', 10, 1_000_000).default(5_000),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent' })
    .optional(),
  ADMIN_USERNAME: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  ...operationsSchema,
  ...explorerSettings,
  ...cookiesFields,
  ...mailSettings,
  ...subscriptionsFields,
  ...jwtKeysSettings,
  ...totpSettings,
});

function parseDatabaseUrl(url: string | undefined): DatabaseConfig | string {
  if (url === undefined) return { dialect: 'sqlite', file: path.resolve('data', 'tokengate.sqlite') };
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: 'postgres', url, poolSize: 10 };
  // Any other scheme is a mistake (a typo in "postgres", another engine), not a file name.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(sqlite|file):/i.test(url)) {
    return `DATABASE_URL must be postgres://…, postgresql://…, sqlite:PATH or a file path (got scheme "${url.split(':')[0]}")`;
  }
  const file = url.replace(/^(sqlite|file):(\/\/)?/i, '');
  if (file === '') return 'DATABASE_URL names no SQLite file';
  return { dialect: 'sqlite', file: file === ':memory:' ? file : path.resolve(file) };
}

/**
 * Reads and validates the environment once. Throws a ConfigError listing every
 * problem, so an operator fixes them all in one go. Pure: reads only `env`.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty variables count as unset, as in most shells' `VAR= cmd` habits.
  const present: Record<string, string> = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const parsed = schema.safeParse(present);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);

  // Checks across variables read the raw values, so they are reported even
  // when another variable is malformed: every problem in one go.
  const database = parseDatabaseUrl(present.DATABASE_URL);
  if (typeof database === 'string') problems.push(database);
  if (present.NODE_ENV === 'production') {
    if (present.JWT_SECRET === undefined) problems.push('JWT_SECRET is required when NODE_ENV=production');
    else {
      const weakness = checkSecretStrength(present.JWT_SECRET);
      if (weakness) problems.push(weakness);
    }
  }
  problems.push(...checkJwtKeys(present));
  if ((present.ADMIN_USERNAME === undefined) !== (present.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_USERNAME and ADMIN_PASSWORD go together: set both or neither');
  }
  problems.push(...checkCookies(present));
  if (parsed.success && parsed.data.REFRESH_TOKEN_TTL <= parsed.data.ACCESS_TOKEN_TTL) {
    // The per-request check relies on an access token never outliving its session's refresh lifetime.
    problems.push('REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL');
  }
  if (parsed.success) problems.push(...checkOperations(parsed.data, parsed.data.REFRESH_REUSE_GRACE));
  problems.push(...mailProblems(present));
  if (!parsed.success || typeof database === 'string' || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;

  const corsOrigins = e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter((o) => o !== '');
  const dataDir =
    database.dialect === 'sqlite' && database.file !== ':memory:' ? path.dirname(database.file) : path.resolve('data');

  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    database: Object.freeze(database.dialect === 'postgres' ? { ...database, poolSize: e.DATABASE_POOL_SIZE } : database),
    redis: e.REDIS_URL === undefined ? null : Object.freeze({ url: e.REDIS_URL, prefix: e.REDIS_PREFIX }),
    dataDir,
    jwt: Object.freeze({
      secret: e.JWT_SECRET ?? null,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTokenTtl: e.ACCESS_TOKEN_TTL,
      clockTolerance: e.JWT_CLOCK_TOLERANCE,
    }),
    jwtKeys: jwtKeysConfig(e),
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    refreshReuseGrace: e.REFRESH_REUSE_GRACE,
    signupEnabled: e.SIGNUP_ENABLED,
    trustProxy: e.TRUST_PROXY,
    corsOrigins: Object.freeze(corsOrigins),
    cookies: cookiesSection(e),
    introspection: e.INTROSPECTION ?? e.NODE_ENV !== 'production',
    bodyLimitBytes: e.BODY_LIMIT,
    rateLimits: Object.freeze({
      loginPair: e.RATE_LIMIT_LOGIN_PAIR,
      loginPairLock: e.RATE_LIMIT_LOGIN_LOCK,
      loginPerUsername: Object.freeze(e.RATE_LIMIT_LOGIN_USERNAME),
      loginPerAddress: Object.freeze(e.RATE_LIMIT_LOGIN_ADDRESS),
      signupPerAddress: Object.freeze(e.RATE_LIMIT_SIGNUP_ADDRESS),
      refreshPerAddress: Object.freeze(e.RATE_LIMIT_REFRESH_ADDRESS),
    }),
    queryLimits: Object.freeze({ maxDepth: e.GRAPHQL_MAX_DEPTH, maxAliases: e.GRAPHQL_MAX_ALIASES, maxTokens: e.GRAPHQL_MAX_TOKENS, maxCost: e.GRAPHQL_MAX_COST }),
    argon2: Object.freeze({ memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_TIME_COST, parallelism: e.ARGON2_PARALLELISM }),
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    bootstrapAdmin:
      e.ADMIN_USERNAME !== undefined && e.ADMIN_PASSWORD !== undefined
        ? Object.freeze({ username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD })
        : null,
    operations: operationsConfig(e),
    explorer: explorerConfig(e),
    mail: mailConfig(e, dataDir),
    subscriptions: subscriptionsSection(e),
    totp: totpConfig(e),
  });
}
