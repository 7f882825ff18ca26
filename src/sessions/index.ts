/** The sessions feature's port: what other features and the app may use of it. */
export { createSessionsFeature, type SessionsFeature } from './sessions.feature.js';
export type { AuthResult, CookieCredential, SessionStart, TokenService } from './token.service.js';
export type { SessionChange, SessionOpening, SessionService } from './session.service.js';
export type { Viewer } from './viewer.js';
