import type { AccessTokens } from '../tokens/access-token.js';
import type { CookieCredential, SessionService, Viewer } from '../sessions/ports.js';
import type { RequestMeta } from '../platform/request-meta.js';
import type { Clock } from '../platform/clock.js';
import type { AuthFailureReason } from '../errors.js';
import type { RequestCookies } from '../platform/request-cookies.js';

export type { RequestCookies } from '../platform/request-cookies.js';

/** What every resolver and rule receives. */
export interface GraphQLContext {
  /** The signed-in caller, or null. */
  readonly viewer: Viewer | null;
  /** Why viewer is null; null when it is not. */
  readonly authFailure: AuthFailureReason | null;
  /**
   * Set when the session could not be checked (the database is away): guarded
   * fields then fail as internal errors, never as a silent pass or a false
   * "signed out".
   */
  readonly authUnavailable: Error | null;
  readonly meta: RequestMeta;
  readonly signupEnabled: boolean;
  /** The cookie transport of this request; null unless REFRESH_TOKEN_COOKIE=true. */
  readonly cookies: CookieTransport | null;
  /** The HTTP request's own cookies and a way to set one on its answer, whatever REFRESH_TOKEN_COOKIE says; absent or null on WebSocket. */
  readonly requestCookies?: RequestCookies | null;
  /** With AUTH_TRACE on: each decision of the permission layer, in the order made (returned as `extensions.authTrace`). */
  readonly authTrace?: AuthTraceEntry[];
}

/** One decision of the permission layer (docs/api.md, "Authorization trace"). */
export interface AuthTraceEntry {
  /** The field's response path, e.g. `users.nodes.0.email`. */
  readonly path: string;
  /** The SDL directives that decided it, as written (e.g. `@hasRole(role: ADMIN) @apiKey(scope: ADMIN_READ)`). */
  readonly rule: string;
  readonly allowed: boolean;
  /** The refusal's `reason` (or its code when it has none); null when allowed. */
  readonly reason: string | null;
}

/** How an API key became a viewer, or why it did not. */
export type ApiKeyVerdict = { readonly ok: true; readonly viewer: Viewer } | { readonly ok: false; readonly reason: AuthFailureReason };

/**
 * The API keys feature, as the context builder uses it: a key in, a viewer
 * (with its grant) or the reason out. Throws only when the check could not be
 * made (the database is away). `charge: false` re-checks a key without
 * counting a request against its rate limit (a socket's periodic check).
 */
export interface ApiKeyVerifier {
  verify(key: string, options: { readonly charge: boolean }): Promise<ApiKeyVerdict>;
}


/** A session's cookies to set: its refresh token, and until when the session lives. */
export interface SessionCookies {
  readonly refreshToken: string;
  readonly sessionId: string;
  /** Session.expiresAt, in milliseconds. */
  readonly expiresAt: number;
}

/** The cookies of one request and its answer, as the transport (http/cookies.ts) offers them. */
export interface CookieTransport {
  /** What the request brought for a cookie refresh. */
  readonly credential: CookieCredential;
  /** Sets tg_refresh and tg_csrf on the answer. */
  issue(cookies: SessionCookies): void;
  /** Clears both cookies on the answer (Max-Age=0). */
  clear(): void;
}

/** Dependencies of the context builder. */
export interface ContextBuilderDeps {
  readonly accessTokens: AccessTokens;
  readonly sessions: SessionService;
  readonly clock: Clock;
  readonly signupEnabled: boolean;
  /** Requests with `Bearer tg_pat_…`; without it every key is refused as INVALID_TOKEN. */
  readonly apiKeys?: ApiKeyVerifier;
  /** AUTH_TRACE: give each context an `authTrace` to fill. */
  readonly authTrace?: boolean;
}

/**
 * The access credential a transport read from a request, parsed once
 * (http/credentials.ts): none sent, something sent that is no credential we
 * know, or a bearer JWT still to be verified. Declared here, beside the
 * builder that consumes it, so graphql/ imports nothing from http/.
 */
export type Credential =
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'bearer'; readonly token: string }
  /** `Bearer tg_pat_…` of the right length; its checksum is the API keys feature's to check. */
  | { readonly kind: 'api_key'; readonly key: string };

/** What the transport (HTTP request or WebSocket connection) knows of a request. */
export interface ContextInput {
  /** The access credential, as the transport parsed it: the only way one reaches the builder. */
  readonly credential: Credential;
  readonly meta: RequestMeta;
  /** The HTTP request's cookie transport; absent or null where cookies do not apply (cookie mode off, WebSocket). */
  readonly cookies?: CookieTransport | null;
  /** The HTTP request's own cookies (absent on WebSocket). */
  readonly requestCookies?: RequestCookies | null;
  /** A socket's periodic re-check of its credential, not a request: an API key is not charged for it. */
  readonly recheck?: boolean;
}

/**
 * Returns the per-request context builder. It never throws: a bad token does
 * not fail the request (public fields still work), it leaves viewer null and
 * records why, and the permission rules turn that into the contract's error.
 */
export function createContextBuilder(deps: ContextBuilderDeps): (input: ContextInput) => Promise<GraphQLContext> {
  return async ({ credential, meta, cookies, requestCookies, recheck }) => {
    const base = { meta, cookies: cookies ?? null, requestCookies: requestCookies ?? null, signupEnabled: deps.signupEnabled };
    const rest = deps.authTrace ? { ...base, authTrace: [] } : base;
    try {
      const { viewer, authFailure } = await authenticate(deps, credential, recheck === true);
      return { viewer, authFailure, authUnavailable: null, ...rest };
    } catch (error) {
      const authUnavailable = error instanceof Error ? error : new Error(String(error));
      return { viewer: null, authFailure: null, authUnavailable, ...rest };
    }
  };
}

async function authenticate(deps: ContextBuilderDeps, credential: Credential, recheck: boolean): Promise<{ viewer: Viewer | null; authFailure: AuthFailureReason | null }> {
  switch (credential.kind) {
    case 'none':
      return { viewer: null, authFailure: 'MISSING_TOKEN' };
    case 'malformed':
      return { viewer: null, authFailure: 'INVALID_TOKEN' };
    case 'bearer':
      return authenticateBearer(deps, credential.token);
    case 'api_key': {
      if (deps.apiKeys === undefined) return { viewer: null, authFailure: 'INVALID_TOKEN' };
      const verdict = await deps.apiKeys.verify(credential.key, { charge: !recheck });
      return verdict.ok ? { viewer: verdict.viewer, authFailure: null } : { viewer: null, authFailure: verdict.reason };
    }
    default: {
      const never: never = credential;
      return never;
    }
  }
}

async function authenticateBearer(deps: ContextBuilderDeps, token: string): Promise<{ viewer: Viewer | null; authFailure: AuthFailureReason | null }> {
  const verified = deps.accessTokens.verify(token, deps.clock.now());
  if (!verified.ok) return { viewer: null, authFailure: verified.reason };
  const { claims } = verified;
  const session = await deps.sessions.checkSession(claims.sid, claims.sub);
  if (!session.active) return { viewer: null, authFailure: 'TOKEN_REVOKED' };
  // Roles come from the server's current state, not the token: setUserRoles
  // takes effect on the user's very next request.
  return { viewer: { user: session.user, sessionId: claims.sid, fresh: claims.fresh, tokenExpiresAt: claims.exp * 1000 }, authFailure: null };
}
