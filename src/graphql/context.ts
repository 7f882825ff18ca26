import type { AccessTokens } from '../auth/access-token.js';
import { parseBearer } from '../auth/access-token.js';
import type { SessionGuard } from '../auth/session-guard.js';
import type { AuthService, RequestMeta, Viewer } from '../auth/auth.service.js';
import type { Clock } from '../clock.js';
import type { AuthFailureReason } from '../errors.js';
import type { UserService } from '../users/user.service.js';

/** The services resolvers call. */
export interface Services {
  readonly auth: AuthService;
  readonly users: UserService;
}

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
  readonly services: Services;
  readonly signupEnabled: boolean;
}

/** Dependencies of the context builder. */
export interface ContextBuilderDeps {
  readonly accessTokens: AccessTokens;
  readonly sessionGuard: SessionGuard;
  readonly clock: Clock;
  readonly services: Services;
  readonly signupEnabled: boolean;
}

/** What the HTTP layer knows of a request. */
export interface ContextInput {
  readonly authorization: string | undefined;
  readonly meta: RequestMeta;
}

/**
 * Returns the per-request context builder. It never throws: a bad token does
 * not fail the request (public fields still work), it leaves viewer null and
 * records why, and the permission rules turn that into the contract's error.
 */
export function createContextBuilder(deps: ContextBuilderDeps): (input: ContextInput) => Promise<GraphQLContext> {
  return async ({ authorization, meta }) => {
    try {
      const { viewer, authFailure } = await authenticate(deps, authorization);
      return { viewer, authFailure, authUnavailable: null, meta, services: deps.services, signupEnabled: deps.signupEnabled };
    } catch (error) {
      const authUnavailable = error instanceof Error ? error : new Error(String(error));
      return { viewer: null, authFailure: null, authUnavailable, meta, services: deps.services, signupEnabled: deps.signupEnabled };
    }
  };
}

async function authenticate(
  deps: ContextBuilderDeps,
  authorization: string | undefined,
): Promise<{ viewer: Viewer | null; authFailure: AuthFailureReason | null }> {
  const token = parseBearer(authorization);
  if (token === null) return { viewer: null, authFailure: 'MISSING_TOKEN' };
  if (token === 'malformed') return { viewer: null, authFailure: 'INVALID_TOKEN' };
  const verified = deps.accessTokens.verify(token, deps.clock.now());
  if (!verified.ok) return { viewer: null, authFailure: verified.reason };
  const { claims } = verified;
  const session = await deps.sessionGuard.checkSession(claims.sid, claims.sub);
  if (!session.active) return { viewer: null, authFailure: 'TOKEN_REVOKED' };
  // Roles come from the server's current state, not the token: setUserRoles
  // takes effect on the user's very next request.
  return { viewer: { user: session.user, sessionId: claims.sid, fresh: claims.fresh }, authFailure: null };
}
