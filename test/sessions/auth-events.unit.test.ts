import { describe, expect, it } from 'vitest';
import { decodeWireMessage, encodeWireMessage, type AuthEvent } from '../../src/sessions/auth-events.js';

const user = { id: 'u1', username: 'alice', roles: ['USER', 'ADMIN'] as const, createdAt: new Date('2026-12-01T09:00:00Z'), email: null, emailVerified: false };
const session = {
  id: 's1',
  userId: 'u1',
  createdAt: new Date('2026-12-01T09:00:00Z'),
  lastUsedAt: new Date('2026-12-01T09:01:00Z'),
  expiresAt: new Date('2026-12-31T09:00:00Z'),
  endedAt: null,
  userAgent: 'test',
  refreshGeneration: 3,
  amr: ['pwd', 'otp'],
};

describe('the AuthEvent codec (sessions/auth-events.ts)', () => {
  it.each<AuthEvent>([
    { type: 'session_started', userId: 'u1', session },
    { type: 'sessions_ended', userId: 'u1', sessionIds: ['s1', 's2'], reason: 'password_changed' },
    { type: 'roles_changed', userId: 'u1', user: { ...user, roles: [...user.roles] } },
  ])('round-trips $type with its dates', (event) => {
    expect(decodeWireMessage(encodeWireMessage({ origin: 'o', event }))).toEqual({ origin: 'o', event });
  });

  it.each([
    ['not JSON', 'nope'],
    ['an unknown type', JSON.stringify({ origin: 'o', event: { type: 'user_deleted', userId: 'u1' } })],
    ['a role no one has', JSON.stringify({ origin: 'o', event: { type: 'roles_changed', userId: 'u1', user: { ...user, roles: ['ROOT'] } } })],
    ['an unknown end reason', JSON.stringify({ origin: 'o', event: { type: 'sessions_ended', userId: 'u1', sessionIds: [], reason: 'bored' } })],
    ['a session without dates', JSON.stringify({ origin: 'o', event: { type: 'session_started', userId: 'u1', session: { ...session, createdAt: undefined } } })],
    ['no origin', JSON.stringify({ event: { type: 'sessions_ended', userId: 'u1', sessionIds: [], reason: 'logout' } })],
  ])('refuses %s', (_name, text) => {
    expect(decodeWireMessage(text)).toBeNull();
  });
});
