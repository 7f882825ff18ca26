import { z } from 'zod';
import type { Parsed, SectionContext } from './section.js';
import { accountsSection, type AccountsConfig } from './sections/accounts.section.js';
import { apiKeysSection, type ApiKeysConfig } from './sections/api-keys.section.js';
import { authTraceSection, type AuthTraceConfig } from './sections/auth-trace.section.js';
import { argon2Section, type Argon2Config } from './sections/argon2.section.js';
import { cookiesSection, type CookiesConfig } from './sections/cookies.section.js';
import { databaseSection, dataDirOf, type DatabaseConfig } from './sections/database.section.js';
import { environmentSection, type EnvironmentConfig } from './sections/environment.section.js';
import { explorerSection, type ExplorerConfig } from './sections/explorer.section.js';
import { httpSection, type HttpConfig } from './sections/http.section.js';
import { jwtKeysSection, type JwtKeysConfig } from './sections/jwt-keys.section.js';
import { jwtSection, type JwtConfig } from './sections/jwt.section.js';
import { mailSection, type MailConfig } from './sections/mail.section.js';
import { operationsSection, type OperationsConfig } from './sections/operations.section.js';
import { queryLimitsSection, type QueryLimitsConfig } from './sections/query-limits.section.js';
import { rateLimitsSection, type RateLimitConfig } from './sections/rate-limits.section.js';
import { redisSection, type RedisConfig } from './sections/redis.section.js';
import { sessionsSection, type SessionsConfig } from './sections/sessions.section.js';
import { socialSection, type SocialConfig } from './sections/social.section.js';
import { subscriptionsSection, type SubscriptionsConfig } from './sections/subscriptions.section.js';
import { totpSection, type TotpConfig } from './sections/totp.section.js';
import { tracingSection, type TracingConfig } from './sections/tracing.section.js';
import { webauthnSection, type WebAuthnConfig } from './sections/webauthn.section.js';

export type { Budget } from './fields.js';
export type { AccountsConfig, Argon2Config, CookiesConfig, DatabaseConfig, EnvironmentConfig, ExplorerConfig, HttpConfig };
export type { JwtConfig, JwtKeysConfig, MailConfig, OperationsConfig, QueryLimitsConfig, RateLimitConfig, RedisConfig };
export type { SessionsConfig, SocialConfig, SubscriptionsConfig, TotpConfig, TracingConfig, WebAuthnConfig };
export type { OidcProviderConfig } from './sections/social.section.js';
export { checkSecretStrength } from './sections/jwt.section.js';

/**
 * Every section, in order: their settings are parsed together, their checks
 * run in this order (so problems are listed in it), and each builds its part
 * of Config. The configuration reference (npm run docs:config) follows it too.
 */
export const CONFIG_SECTIONS = [
  environmentSection,
  httpSection,
  databaseSection,
  redisSection,
  jwtSection,
  jwtKeysSection,
  accountsSection,
  cookiesSection,
  sessionsSection,
  argon2Section,
  rateLimitsSection,
  queryLimitsSection,
  operationsSection,
  explorerSection,
  mailSection,
  subscriptionsSection,
  totpSection,
  tracingSection,
  socialSection,
  apiKeysSection,
  authTraceSection,
  webauthnSection,
] as const;

/** The validated, frozen configuration; built once by loadConfig and passed down. */
export interface Config extends EnvironmentConfig, HttpConfig, AccountsConfig, SessionsConfig, AuthTraceConfig {
  readonly database: DatabaseConfig;
  /** Folder for local state: the SQLite file's folder, or ./data. */
  readonly dataDir: string;
  /** Shared state for several instances (session revocation, rate limits); null for a single instance. */
  readonly redis: RedisConfig | null;
  readonly jwt: JwtConfig;
  /** Signing keys: HS256 with the secret, or RS256/ES256 key files. */
  readonly jwtKeys: JwtKeysConfig;
  readonly cookies: CookiesConfig;
  readonly argon2: Argon2Config;
  readonly rateLimits: RateLimitConfig;
  /** Limits on one GraphQL document, checked before it runs. */
  readonly queryLimits: QueryLimitsConfig;
  readonly operations: OperationsConfig;
  readonly explorer: ExplorerConfig;
  readonly mail: MailConfig;
  readonly subscriptions: SubscriptionsConfig;
  readonly totp: TotpConfig;
  /** OpenTelemetry tracing (off unless an endpoint or exporter is set). */
  readonly tracing: TracingConfig;
  /** Social sign-in: the OpenID providers and where browsers may be sent back. */
  readonly social: SocialConfig;
  readonly apiKeys: ApiKeysConfig;
  /** The passkeys' relying party: RP ID, name and allowed origins. */
  readonly webauthn: WebAuthnConfig;
}

/** Thrown by loadConfig with every problem found, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Section = (typeof CONFIG_SECTIONS)[number];
/** The members of a union, intersected: `{ a } | { b }` becomes `{ a } & { b }`. */
type Intersection<U> = (U extends unknown ? (part: U) => void : never) extends (part: infer I) => void ? I : never;
/** Every section's fields in one shape. */
type AllFields = Intersection<Section['fields']>;
/** What the sections build together; loadConfig checks that it is a Config. */
type Built = Intersection<ReturnType<Section['build']>>;

const schema = z.object(Object.assign({}, ...CONFIG_SECTIONS.map((section) => section.fields)) as AllFields);

/**
 * Reads and validates the environment once. Throws a ConfigError listing every
 * problem, so an operator fixes them all in one go. Pure: reads only `env`.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty variables count as unset, as in most shells' `VAR= cmd` habits.
  const raw: Record<string, string> = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const result = schema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map((issue) => issue.message);
  const parsed: Parsed<AllFields> | undefined = result.success ? result.data : undefined;
  for (const section of CONFIG_SECTIONS) {
    const check = section.check;
    if (check !== undefined) problems.push(...check({ raw, parsed }));
  }
  if (parsed === undefined || problems.length > 0) throw new ConfigError(problems);

  const context: SectionContext = { dataDir: dataDirOf(parsed.DATABASE_URL), raw };
  // Object.assign loses the parts' types; Built names them, and assigning it to Config checks that none is missing.
  const config: Config = Object.assign({}, ...CONFIG_SECTIONS.map((section) => section.build(parsed, context))) as Built;
  return Object.freeze(config);
}
