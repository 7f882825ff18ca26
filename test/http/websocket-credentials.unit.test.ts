import { describe, expect, it } from 'vitest';
import { credentialOf } from '../../src/http/websocket.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

describe('the connection_init credential', () => {
  it('is anonymous without a payload or without an authorization key', () => {
    expect(credentialOf(undefined)).toBeNull();
    expect(credentialOf({})).toBeNull();
    expect(credentialOf({ token: `Bearer ${JWT}` })).toBeNull();
  });

  it('reads the authorization key whatever its case, as HTTP reads the header', () => {
    expect(credentialOf({ authorization: `Bearer ${JWT}` })).toBe(JWT);
    expect(credentialOf({ Authorization: `bearer ${JWT}` })).toBe(JWT);
    expect(credentialOf({ AUTHORIZATION: `BEARER ${JWT}` })).toBe(JWT);
  });

  it('is malformed when the value is not a Bearer JWT, or not a string', () => {
    expect(credentialOf({ authorization: JWT })).toBe('malformed');
    expect(credentialOf({ authorization: 'Basic abc' })).toBe('malformed');
    expect(credentialOf({ authorization: '' })).toBe('malformed');
    expect(credentialOf({ authorization: 42 })).toBe('malformed');
    expect(credentialOf({ authorization: null })).toBe('malformed');
  });
});
