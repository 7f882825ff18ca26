import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { developmentKeyFile, loadSigningKeys } from '../../src/tokens/signing-key-files.js';
import { parseSigningKey } from '../../src/tokens/signing-keys.js';
import { capturingLogger } from '../helpers/logs.js';

/*
 * Start-up refusals for the signing-key settings (docs/api.md, "Signing
 * keys"): every message names the setting (and the file), so an operator
 * knows what to fix.
 */

const STRONG_SECRET = 'k7Qp2vXz9LmN4rTb8WcY1dHs6FgJ0aEu3iOy5nPqRtSvBxZj';
const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes text to a new file in the test folder and returns its path. */
function file(text: string | Buffer, name = `key-${counter++}.pem`): string {
  const at = path.join(dir, name);
  writeFileSync(at, text, { mode: 0o600 });
  return at;
}
const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const spki = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString();

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** Config of a production deployment on its own SQLite folder, with these settings. */
function production(env: Record<string, string>) {
  return loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET, DATABASE_URL: path.join(dir, 'db.sqlite'), ...env });
}

/** The problems of the ConfigError `fn` throws. */
function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

const load = (env: Record<string, string>) => loadSigningKeys(production(env), capturingLogger().logger);

describe('loadConfig: signing-key settings', () => {
  it('defaults to HS256 without keys or Hasura claims', () => {
    expect(loadConfig({}).jwtKeys).toEqual({ algorithm: 'HS256', privateKeyFile: null, verifyKeyFiles: [], hasuraClaims: false });
  });

  it('reads the settings, resolving paths and splitting the list', () => {
    const config = loadConfig({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: 'keys/new.pem', JWT_VERIFY_KEY_FILES: ' keys/a.pem, ,/etc/b.pem ', JWT_HASURA_CLAIMS: 'true' });
    expect(config.jwtKeys).toEqual({
      algorithm: 'ES256',
      privateKeyFile: path.resolve('keys/new.pem'),
      verifyKeyFiles: [path.resolve('keys/a.pem'), '/etc/b.pem'],
      hasuraClaims: true,
    });
  });

  it('refuses an unknown algorithm', () => {
    for (const alg of ['HS512', 'none', 'es256', 'PS256']) {
      expect(problemsOf(() => loadConfig({ JWT_ALGORITHM: alg }))).toContain('JWT_ALGORITHM must be one of HS256, RS256, ES256');
    }
  });

  it('refuses key files with HS256 (a half-done switch)', () => {
    expect(problemsOf(() => loadConfig({ JWT_PRIVATE_KEY_FILE: 'k.pem', JWT_VERIFY_KEY_FILES: 'o.pem' }))).toEqual([
      'JWT_PRIVATE_KEY_FILE is set but JWT_ALGORITHM is HS256: set JWT_ALGORITHM=RS256 or ES256 to sign with keys',
      'JWT_VERIFY_KEY_FILES is set but JWT_ALGORITHM is HS256: set JWT_ALGORITHM=RS256 or ES256 to sign with keys',
    ]);
  });

  it('requires JWT_PRIVATE_KEY_FILE in production with RS256/ES256, and not outside it', () => {
    for (const alg of ['RS256', 'ES256']) {
      expect(problemsOf(() => production({ JWT_ALGORITHM: alg }))).toEqual([
        `JWT_PRIVATE_KEY_FILE is required when JWT_ALGORITHM=${alg} and NODE_ENV=production (make one with npm run keys:generate -- --alg ${alg} --out FILE)`,
      ]);
      expect(loadConfig({ JWT_ALGORITHM: alg }).jwtKeys.privateKeyFile).toBeNull();
    }
  });

  it('still requires a strong JWT_SECRET in production with a key pair (it keys the server\'s own HMACs)', () => {
    const keyFile = file(pkcs8(ec.privateKey));
    expect(problemsOf(() => loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: keyFile }))).toEqual([
      'JWT_SECRET is required when NODE_ENV=production',
    ]);
    expect(problemsOf(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'secret', JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: keyFile }))).toEqual([
      'JWT_SECRET is a well-known example secret',
    ]);
  });

  it('refuses JWT_HASURA_CLAIMS that is not a boolean', () => {
    expect(problemsOf(() => loadConfig({ JWT_HASURA_CLAIMS: 'maybe' }))).toEqual(['JWT_HASURA_CLAIMS must be true or false (got "maybe")']);
  });
});

describe('loadSigningKeys: start-up refusals name the setting and the file', () => {
  it('loads a good ES256 and RS256 deployment (control for the refusals)', () => {
    const es = load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: file(pkcs8(ec.privateKey)), JWT_VERIFY_KEY_FILES: file(spki(rsa.publicKey)) });
    expect(es?.active.algorithm).toBe('ES256');
    expect(es?.verifyKeys.map((k) => k.algorithm)).toEqual(['ES256', 'RS256']);
    const rs = load({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: file(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' })) });
    expect(rs?.active.kid).toBe(parseSigningKey(pkcs8(rsa.privateKey), 'RS256').kid);
  });

  it('returns null for HS256', () => {
    expect(load({})).toBeNull();
  });

  it('refuses an unreadable file', () => {
    const missing = path.join(dir, 'missing.pem');
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: missing }))).toEqual([`JWT_PRIVATE_KEY_FILE: cannot read ${missing} (ENOENT)`]);
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: dir }))).toEqual([`JWT_PRIVATE_KEY_FILE: cannot read ${dir} (EISDIR)`]);
    if (process.getuid?.() !== 0) {
      // root reads any file, so the mode test only means something for other users.
      const locked = file(pkcs8(ec.privateKey));
      chmodSync(locked, 0o000);
      expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: locked }))).toEqual([`JWT_PRIVATE_KEY_FILE: cannot read ${locked} (EACCES)`]);
    }
  });

  it('refuses a malformed PEM, and a file that is no PEM at all', () => {
    const broken = file(pkcs8(ec.privateKey).slice(0, 80) + '\n-----END PRIVATE KEY-----\n');
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: broken }))).toEqual([
      `JWT_PRIVATE_KEY_FILE: ${broken} is not a readable private key (a malformed "PRIVATE KEY" PEM block)`,
    ]);
    const der = file(ec.privateKey.export({ type: 'pkcs8', format: 'der' }));
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: der }))[0]).toMatch(/^JWT_PRIVATE_KEY_FILE: .* is not a PEM file/);
  });

  it('refuses a public key as JWT_PRIVATE_KEY_FILE', () => {
    const pub = file(spki(ec.publicKey));
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: pub }))).toEqual([
      `JWT_PRIVATE_KEY_FILE: ${pub} holds a public key, not a private key: it cannot sign (list public keys in JWT_VERIFY_KEY_FILES)`,
    ]);
  });

  it('refuses a key of the wrong type for the algorithm', () => {
    const ecFile = file(pkcs8(ec.privateKey));
    const rsaFile = file(pkcs8(rsa.privateKey));
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: ecFile }))).toEqual([
      `JWT_PRIVATE_KEY_FILE: ${ecFile} is an EC key on P-256; JWT_ALGORITHM=RS256 needs an RSA key`,
    ]);
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: rsaFile }))).toEqual([
      `JWT_PRIVATE_KEY_FILE: ${rsaFile} is an RSA key; JWT_ALGORITHM=ES256 needs an EC P-256 key`,
    ]);
  });

  it('refuses RSA under 2048 bits and EC off P-256, as signer or as earlier key', () => {
    const weak = file(pkcs8(generateKeyPairSync('rsa', { modulusLength: 1536 }).privateKey));
    const p384 = file(spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey));
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: weak }))).toEqual([
      `JWT_PRIVATE_KEY_FILE: ${weak} is a 1536-bit RSA key; RS256 needs at least 2048 bits`,
    ]);
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: file(pkcs8(ec.privateKey)), JWT_VERIFY_KEY_FILES: `${p384},${weak}` }))).toEqual([
      `JWT_VERIFY_KEY_FILES: ${p384} is an EC key on secp384r1; ES256 needs a key on P-256`,
      `JWT_VERIFY_KEY_FILES: ${weak} is a 1536-bit RSA key; RS256 needs at least 2048 bits`,
    ]);
  });

  it('reports every bad file at once', () => {
    const missing = path.join(dir, 'gone.pem');
    const pub = file(spki(ec.publicKey));
    expect(problemsOf(() => load({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: pub, JWT_VERIFY_KEY_FILES: missing }))).toHaveLength(2);
  });
});

describe('loadSigningKeys: the development key', () => {
  it('outside production, generates a key into the data folder once (mode 0600), with one log line, and reuses it', () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    const config = loadConfig({ NODE_ENV: 'development', JWT_ALGORITHM: 'ES256', DATABASE_URL: path.join(dataDir, 'tokengate.sqlite') });
    const first = capturingLogger();
    const keys = loadSigningKeys(config, first.logger);
    const keyFile = developmentKeyFile(dataDir, 'ES256');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(first.entries()).toHaveLength(1);
    expect(first.entries()[0]).toMatchObject({ level: 40, kid: keys?.active.kid, file: keyFile });
    expect(String(first.entries()[0]!.msg)).toMatch(/JWT_PRIVATE_KEY_FILE is not set: generated the development ES256 key/);

    const second = capturingLogger();
    expect(loadSigningKeys(config, second.logger)?.active.kid).toBe(keys?.active.kid);
    expect(second.entries()).toHaveLength(1);
    expect(String(second.entries()[0]!.msg)).toMatch(/using the development ES256 key/);
    // A switch to RS256 gets a key of its own rather than tripping over the EC one.
    const rs = loadSigningKeys(loadConfig({ JWT_ALGORITHM: 'RS256', DATABASE_URL: path.join(dataDir, 'tokengate.sqlite') }), capturingLogger().logger);
    expect(rs?.active.algorithm).toBe('RS256');
  });

  it('never generates one in production', () => {
    const config = { ...production({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: 'x' }), jwtKeys: { algorithm: 'ES256' as const, privateKeyFile: null, verifyKeyFiles: [], hasuraClaims: false } };
    expect(problemsOf(() => loadSigningKeys(config, capturingLogger().logger))).toEqual([
      'JWT_PRIVATE_KEY_FILE is required when JWT_ALGORITHM=ES256 and NODE_ENV=production',
    ]);
  });
});
