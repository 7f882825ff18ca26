import { describe, expect, it } from 'vitest';
import { parseConnectionParams } from '../../src/http/credentials.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

describe('the connection_init credential', () => {
  it('is none (anonymous) without a payload or without an authorization key', () => {
    expect(parseConnectionParams(undefined)).toEqual({ kind: 'none' });
    expect(parseConnectionParams(null)).toEqual({ kind: 'none' });
    expect(parseConnectionParams({})).toEqual({ kind: 'none' });
    expect(parseConnectionParams({ token: `Bearer ${JWT}` })).toEqual({ kind: 'none' });
  });

  it('reads the authorization key whatever its case, as HTTP reads the header', () => {
    expect(parseConnectionParams({ authorization: `Bearer ${JWT}` })).toEqual({ kind: 'bearer', token: JWT });
    expect(parseConnectionParams({ Authorization: `bearer ${JWT}` })).toEqual({ kind: 'bearer', token: JWT });
    expect(parseConnectionParams({ AUTHORIZATION: `BEARER ${JWT}` })).toEqual({ kind: 'bearer', token: JWT });
  });

  it('is malformed when the value is not a Bearer JWT, or not a string', () => {
    expect(parseConnectionParams({ authorization: JWT })).toEqual({ kind: 'malformed' });
    expect(parseConnectionParams({ authorization: 'Basic abc' })).toEqual({ kind: 'malformed' });
    expect(parseConnectionParams({ authorization: '' })).toEqual({ kind: 'malformed' });
    expect(parseConnectionParams({ authorization: 42 })).toEqual({ kind: 'malformed' });
    expect(parseConnectionParams({ authorization: null })).toEqual({ kind: 'malformed' });
  });
});
