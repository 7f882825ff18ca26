/**
 * The sessions feature's declared port, without its constructor: what other
 * features, the transports and the CLI may use of it. (index.ts adds the
 * constructor; code the feature itself imports, such as graphql/, comes here
 * so no circle forms.)
 */
export type { AuthResult, CookieCredential, SessionStart, TokenService } from './token.service.js';
export { SessionService, type SessionChange, type SessionOpening } from './session.service.js';
export { API_SCOPES, apiKeySessionId, type ApiKeyGrant, type ApiScope, type Viewer } from './viewer.js';
export type { AuditEntry } from './audit-trail.js';
export { createEventBus, LocalEventBus, type AuthEventBus } from './event-bus.js';
export { createSessionGuard } from './guards/create-session-guard.js';
export { DatabaseSessionGuard } from './guards/database-session-guard.js';
/** The watching of live credentials (open sockets) for the WebSocket transport. */
export { LiveCredentials, type InvalidReason } from './live-credentials.js';
