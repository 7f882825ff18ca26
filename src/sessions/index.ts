/** The sessions feature's port: its constructor, and everything ports.ts declares. */
export { createSessionsFeature, type SessionsFeature } from './sessions.feature.js';
export * from './ports.js';
