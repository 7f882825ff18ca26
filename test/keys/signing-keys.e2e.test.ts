import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSigningKey } from '../../src/tokens/signing-keys.js';
import { decodeHeader } from '../helpers/jwt.js';
import { writeTestKey } from '../helpers/keys.js';
import { freePort } from '../helpers/own-services.js';
import { TEST_SECRET } from '../helpers/server.js';

/*
 * Signing keys as an operator meets them: `node dist/main.js` refusing bad
 * key settings with exit 78, the development key made once, and
 * `npm run keys:generate` (dist/cli/keys-generate.js).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'dist/main.js');
const KEYS_CLI = path.join(ROOT, 'dist/cli/keys-generate.js');

const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-keys-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(file: string, args: string[], env: Record<string, string>): Run {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', HOST: '127.0.0.1' };
  const child = spawn(process.execPath, [file, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, output: () => out, exited };
}

/**
 * Waits until the process has written `text`: an HTTP answer can arrive
 * before the lines the server logged earlier have crossed its stdout pipe.
 */
async function waitForOutput(proc: Run, text: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!proc.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`never logged ${text}: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitForHealth(port: number, proc: Run): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`exited ${proc.child.exitCode}: ${proc.output()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server on ${port} did not become healthy: ${proc.output()}`);
}

async function signupToken(port: number, username: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation { signup(username: "${username}", password: "correct horse battery") { accessToken } }` }),
  });
  const body = (await res.json()) as { data: { signup: { accessToken: string } } };
  return body.data.signup.accessToken;
}

beforeAll(() => {
  for (const file of [MAIN, KEYS_CLI]) if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (npm test does it for you)`);
});

describe('signing keys at start-up', () => {
  const production = (env: Record<string, string>) => ({ NODE_ENV: 'production', JWT_SECRET: TEST_SECRET, DATABASE_URL: path.join(dir, 'prod.sqlite'), PORT: '0', ...env });

  it('refuses bad key settings with exit 78 and a message naming the setting, without a stack trace', async () => {
    const key = writeTestKey(dir, 'ES256', 'refusals');
    const garbage = path.join(dir, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ JWT_ALGORITHM: 'ES256' }, /JWT_PRIVATE_KEY_FILE is required when JWT_ALGORITHM=ES256 and NODE_ENV=production/],
      [{ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: key.publicFile }, /JWT_PRIVATE_KEY_FILE: .*refusals\.pub\.pem holds a public key/],
      [{ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: key.file }, /JWT_PRIVATE_KEY_FILE: .* is an EC key on P-256; JWT_ALGORITHM=RS256 needs an RSA key/],
      [{ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: garbage }, /JWT_PRIVATE_KEY_FILE: .*garbage\.pem is not a readable private key/],
      [{ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: key.file, JWT_VERIFY_KEY_FILES: path.join(dir, 'nope.pem') }, /JWT_VERIFY_KEY_FILES: cannot read .*nope\.pem \(ENOENT\)/],
      [{ JWT_ALGORITHM: 'ES512' }, /JWT_ALGORITHM must be one of HS256, RS256, ES256/],
      [{ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: key.file, JWT_SECRET: '' }, /JWT_SECRET is required when NODE_ENV=production/],
    ];
    for (const [env, message] of cases) {
      const proc = run(MAIN, [], production(env));
      expect(await proc.exited, proc.output()).toBe(78);
      expect(proc.output()).toMatch(message);
      expect(proc.output()).not.toMatch(/\n\s+at /);
      expect(proc.output()).not.toContain('BEGIN');
    }
  });

  it('in development without JWT_PRIVATE_KEY_FILE makes one key once (0600, one log line) and keeps it across restarts', async () => {
    const data = mkdtempSync(path.join(dir, 'dev-'));
    const env = { NODE_ENV: 'development', JWT_ALGORITHM: 'ES256', DATABASE_URL: path.join(data, 'db.sqlite'), LOG_LEVEL: 'info' };
    const port = await freePort();
    const first = run(MAIN, [], { ...env, PORT: String(port) });
    await waitForHealth(port, first);
    await waitForOutput(first, 'tokengate listening');
    const keyFile = path.join(data, 'jwt-signing-key-es256.pem');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.output().match(/JWT_PRIVATE_KEY_FILE is not set: generated the development ES256 key/g)).toHaveLength(1);
    const kid = parseSigningKey(readFileSync(keyFile, 'utf8'), 'ES256').kid;
    const token = await signupToken(port, 'devon');
    expect(decodeHeader(token).kid).toBe(kid);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = run(MAIN, [], { ...env, PORT: String(port) });
    await waitForHealth(port, second);
    await waitForOutput(second, 'tokengate listening');
    expect(second.output()).toMatch(/using the development ES256 key/);
    expect(second.output()).not.toMatch(/generated the development/);
    const me = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { username } }' }),
    });
    // Development: the answer carries the authorization trace too (docs/api.md, "Authorization trace").
    expect(await me.json()).toMatchObject({ data: { me: { username: 'devon' } }, extensions: { authTrace: [{ path: 'me', allowed: true }] } });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('keys:generate', () => {
  it.each(['ES256', 'RS256'] as const)('writes a %s PKCS#8 key (0600), prints its kid, and a production server signs with it', async (alg) => {
    const out = path.join(dir, `generated-${alg}.pem`);
    const gen = run(KEYS_CLI, ['--alg', alg, '--out', out], {});
    expect(await gen.exited, gen.output()).toBe(0);
    const pem = readFileSync(out, 'utf8');
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const kid = gen.stdout().trim();
    expect(kid).toBe(parseSigningKey(pem, alg).kid);

    const port = await freePort();
    const server = run(MAIN, [], { NODE_ENV: 'production', JWT_SECRET: TEST_SECRET, DATABASE_URL: path.join(dir, `gen-${alg}.sqlite`), PORT: String(port), JWT_ALGORITHM: alg, JWT_PRIVATE_KEY_FILE: out });
    await waitForHealth(port, server);
    const jwks = (await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
    expect(decodeHeader(await signupToken(port, `gen${alg.toLowerCase()}`))).toEqual({ alg, typ: 'at+jwt', kid });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses to overwrite a file, and refuses bad arguments', async () => {
    const existing = path.join(dir, 'existing.pem');
    writeFileSync(existing, 'the key in use\n');
    const again = run(KEYS_CLI, ['--alg', 'ES256', '--out', existing], {});
    expect(await again.exited).toBe(73);
    expect(again.output()).toContain('exists');
    expect(readFileSync(existing, 'utf8')).toBe('the key in use\n');
    for (const args of [['--alg', 'HS256', '--out', path.join(dir, 'x.pem')], ['--alg', 'ES256'], ['--bogus']]) {
      const bad = run(KEYS_CLI, args, {});
      expect(await bad.exited, args.join(' ')).toBe(64);
      expect(bad.output()).toContain('Usage: npm run keys:generate');
    }
    expect(existsSync(path.join(dir, 'x.pem'))).toBe(false);
  });
});
