import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

/*
 * The passkey settings (docs/api.md, "Passkeys (WebAuthn)"): their defaults
 * follow PUBLIC_URL, and start-up refuses an RP ID that cannot serve every
 * origin, with a message naming both.
 */

const BASE = { NODE_ENV: 'test', JWT_SECRET: 'test-secret-for-tokengate-integration-tests-only-0123456789', DATABASE_URL: ':memory:' };

/** A secret production accepts (test only). */
const PROD_SECRET = 'Kq8zP2wL9mX4vB7nR1tY6cF3hJ5gD0sAeU8iO2pW4qE6rT';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...BASE, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

describe('WEBAUTHN_* settings', () => {
  it('take no defaults from a PUBLIC_URL browsers cannot run passkeys on (an IP address, plain http), and still start', () => {
    for (const url of ['http://127.0.0.1:4000', 'https://10.0.0.7', 'http://auth.example.com']) {
      expect(problems({ PUBLIC_URL: url, PORT: '4000' }), url).toEqual([]);
      expect(loadConfig({ ...BASE, PUBLIC_URL: url, PORT: '4000' }).webauthn, url).toEqual({ rpId: 'localhost', rpName: 'tokengate', origins: ['http://localhost:4000'] });
    }
    // Set explicitly, the same address is refused with the reason.
    expect(problems({ WEBAUTHN_RP_ID: '127.0.0.1' }).join()).toContain('must be a domain name');
  });

  it('default to localhost and the server\'s own origin outside production', () => {
    const config = loadConfig({ ...BASE, PORT: '4000' });
    expect(config.webauthn).toEqual({ rpId: 'localhost', rpName: 'tokengate', origins: ['http://localhost:4000'] });
  });

  it('follow PUBLIC_URL: its host is the RP ID and its origin the allowed one (plus localhost outside production, for a localhost RP ID)', () => {
    // localhost is added only where the RP ID can serve it.
    expect(loadConfig({ ...BASE, PORT: '4000', PUBLIC_URL: 'https://auth.example.com/base/' }).webauthn).toEqual({
      rpId: 'auth.example.com',
      rpName: 'tokengate',
      origins: ['https://auth.example.com'],
    });
    expect(loadConfig({ ...BASE, PORT: '4000', PUBLIC_URL: 'http://localhost:8080' }).webauthn.origins).toEqual(['http://localhost:8080', 'http://localhost:4000']);
    expect(loadConfig({ ...BASE, NODE_ENV: 'production', JWT_SECRET: PROD_SECRET, PUBLIC_URL: 'https://auth.example.com' }).webauthn.origins).toEqual(['https://auth.example.com']);
  });

  it('take a parent domain as RP ID for several subdomain origins', () => {
    const config = loadConfig({ ...BASE, WEBAUTHN_RP_ID: 'Example.com', WEBAUTHN_RP_NAME: 'Example', WEBAUTHN_ORIGINS: 'https://app.example.com, https://auth.example.com:8443' });
    expect(config.webauthn).toEqual({ rpId: 'example.com', rpName: 'Example', origins: ['https://app.example.com', 'https://auth.example.com:8443'] });
  });

  it('refuse an RP ID that is not the host or a registrable suffix of every origin\'s host', () => {
    expect(problems({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://app.example.com,https://app.other.org' })).toEqual([
      'WEBAUTHN_RP_ID "example.com" is not the host nor a registrable suffix of the host of origin https://app.other.org: browsers would refuse every passkey there',
    ]);
    // A suffix must end at a dot: "ample.com" does not serve "example.com".
    expect(problems({ WEBAUTHN_RP_ID: 'ample.com', WEBAUTHN_ORIGINS: 'https://example.com' })).toHaveLength(1);
    // A subdomain cannot serve its parent.
    expect(problems({ WEBAUTHN_RP_ID: 'auth.example.com', WEBAUTHN_ORIGINS: 'https://example.com' })).toHaveLength(1);
  });

  it('refuse malformed RP IDs and origins, each with a clear line', () => {
    expect(problems({ WEBAUTHN_RP_ID: 'https://example.com', WEBAUTHN_ORIGINS: 'https://example.com' })[0]).toMatch(/^WEBAUTHN_RP_ID must be a domain name/);
    expect(problems({ WEBAUTHN_RP_ID: '127.0.0.1', WEBAUTHN_ORIGINS: 'https://127.0.0.1' })[0]).toMatch(/^WEBAUTHN_RP_ID must be a domain name .*IP address/);
    expect(problems({ WEBAUTHN_RP_ID: 'com', WEBAUTHN_ORIGINS: 'https://example.com' })[0]).toMatch(/single label/);
    expect(problems({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://app.example.com/login' })[0]).toMatch(/must be an exact origin/);
    expect(problems({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://*.example.com' })[0]).toMatch(/must be an exact origin/);
    expect(problems({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'http://app.example.com' })[0]).toMatch(/must use https/);
    expect(problems({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: 'http://localhost:5173' })).toEqual([]);
    // Production without PUBLIC_URL or WEBAUTHN_ORIGINS starts (passkeys are simply refused; the feature warns at start-up).
    expect(problems({ NODE_ENV: 'production', JWT_SECRET: PROD_SECRET })).toEqual([]);
    expect(loadConfig({ ...BASE, NODE_ENV: 'production', JWT_SECRET: PROD_SECRET }).webauthn.origins).toEqual([]);
  });
});
