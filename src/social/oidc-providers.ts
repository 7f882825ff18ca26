import { readFile } from 'node:fs/promises';
import * as oidc from 'openid-client';
import type { OidcProviderConfig } from '../config/config.js';
import type { Logger } from '../platform/logger.js';

/**
 * ID token signature algorithms accepted from any provider: asymmetric only.
 * `none` and the HMAC family are never accepted (an HMAC "signature" would
 * be made with our own client secret, which proves nothing about the issuer).
 */
export const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** Seconds one request to a provider may take (discovery, token, JWKS). */
const REQUEST_TIMEOUT_SECONDS = 10;
/** Discovery retries: the first after 1 s, doubling up to a minute, for as long as the server runs. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** One configured provider and, once its discovery document was read, its openid-client configuration. */
export interface OidcProvider {
  readonly settings: OidcProviderConfig;
  /** Null until discovery succeeded. */
  readonly client: oidc.Configuration | null;
}

/** Whether plain http may be used with this issuer: only on a loopback host (config refuses any other http issuer). */
function isLoopback(issuer: string): boolean {
  const { protocol, hostname } = new URL(issuer);
  return protocol === 'http:' && (hostname === '127.0.0.1' || hostname === '[::1]' || hostname === 'localhost');
}

/**
 * The configured OpenID providers, discovered in the background: start()
 * returns at once and each provider's discovery is retried with backoff
 * until it succeeds, so a provider that is down at start-up neither stops
 * nor delays the server (its button answers OAUTH_FAILED / PROVIDER until
 * it is reachable). readiness() tells which are discovered.
 */
export class OidcProviders {
  private readonly clients = new Map<string, oidc.Configuration>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly settings: readonly OidcProviderConfig[],
    private readonly logger: Logger,
  ) {}

  /** The providers in configuration order. */
  list(): readonly OidcProvider[] {
    return this.settings.map((settings) => ({ settings, client: this.clients.get(settings.name) ?? null }));
  }

  /** One provider by name, or null when none is configured by that name. */
  get(name: string): OidcProvider | null {
    const settings = this.settings.find((p) => p.name === name);
    return settings ? { settings, client: this.clients.get(name) ?? null } : null;
  }

  /** Reads each secret file (a missing file stops start-up), then starts each discovery without waiting for it. */
  async start(): Promise<void> {
    const secrets = new Map<string, string | null>();
    for (const provider of this.settings) {
      if (provider.clientSecretFile === null) {
        secrets.set(provider.name, provider.clientSecret);
        continue;
      }
      try {
        secrets.set(provider.name, (await readFile(provider.clientSecretFile, 'utf8')).trim());
      } catch (error) {
        throw new Error(`OIDC_${provider.name.toUpperCase()}_CLIENT_SECRET_FILE: cannot read ${provider.clientSecretFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
      }
    }
    for (const provider of this.settings) void this.discover(provider, secrets.get(provider.name) ?? null, RETRY_FIRST_MS);
  }

  /** Stops retrying. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** `oidc_<name>`: whether each provider's discovery document was read. */
  readiness(): Record<string, boolean> {
    return Object.fromEntries(this.settings.map((p) => [`oidc_${p.name}`, this.clients.has(p.name)]));
  }

  private async discover(provider: OidcProviderConfig, secret: string | null, delay: number): Promise<void> {
    if (this.stopped) return;
    try {
      const metadata: Partial<oidc.ClientMetadata> = {
        redirect_uris: [provider.redirectUri],
        response_types: ['code'],
        // oauth4webapi compares the header's alg with this list (a string or a list); typed as one string there.
        id_token_signed_response_alg: ID_TOKEN_ALGORITHMS as unknown as string,
        ...(secret !== null ? { client_secret: secret } : {}),
      };
      // client_secret_basic: the method every provider must support (RFC 6749, 2.3.1).
      const auth = secret !== null ? oidc.ClientSecretBasic(secret) : oidc.None();
      const client = await oidc.discovery(new URL(provider.issuer), provider.clientId, metadata, auth, {
        timeout: REQUEST_TIMEOUT_SECONDS,
        // The contract checks the ID token's signature with the provider's JWKS even though it came
        // over TLS from the token endpoint (openid-client skips that unless asked): a signature is
        // evidence that outlives the connection, and a compromised or misrouted TLS path proves nothing.
        execute: [oidc.enableNonRepudiationChecks, ...(isLoopback(provider.issuer) ? [oidc.allowInsecureRequests] : [])],
      });
      if (this.stopped) return;
      this.clients.set(provider.name, client);
      this.logger.info({ event: 'oidc.discovered', provider: provider.name, issuer: provider.issuer }, 'OpenID provider discovered');
    } catch (error) {
      if (this.stopped) return;
      // The message of a discovery failure names URLs and statuses, never the client secret.
      this.logger.warn(
        { event: 'oidc.discovery_failed', provider: provider.name, issuer: provider.issuer, error: (error as Error).message, retryInMs: delay },
        'OpenID provider discovery failed; retrying',
      );
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.discover(provider, secret, Math.min(delay * 2, RETRY_MAX_MS));
      }, delay);
      timer.unref();
      this.timers.add(timer);
    }
  }
}
