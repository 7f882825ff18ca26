import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/own-services.js';

/*
 * These tests run the compiled server as `npm start` does (node dist/main.js),
 * so they check what an operator gets: env validation, the development secret,
 * graceful shutdown and the user:create CLI. `npm test` builds dist first.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'dist/main.js');
const CLI = path.join(ROOT, 'dist/cli/user-create.js');

function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-process-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(file: string, args: string[], env: Record<string, string>, stdin?: string): Run {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1' };
  const child = spawn(process.execPath, [file, ...args], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  if (stdin !== undefined) child.stdin!.end(stdin);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitForHealth(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server on ${port} did not become healthy`);
}

async function gql(port: number, query: string, token?: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` (npm test does it for you)');
});

describe('the compiled server', () => {
  it('refuses to start in production without a strong JWT_SECRET, listing every problem', async () => {
    for (const secret of [undefined, 'secret', 'my_secret_key', 'changeme', 'short-but-not-known']) {
      const env: Record<string, string> = { NODE_ENV: 'production', PORT: '0' };
      if (secret !== undefined) env.JWT_SECRET = secret;
      const proc = run(MAIN, [], env);
      children.push(proc.child);
      expect(await proc.exited, proc.output()).toBe(78);
      expect(proc.output()).toContain('JWT_SECRET');
      expect(proc.output()).not.toMatch(/\n\s+at /); // no stack trace
    }
    const many = run(MAIN, [], { NODE_ENV: 'production', ACCESS_TOKEN_TTL: '15', PORT: 'x' });
    children.push(many.child);
    expect(await many.exited).toBe(78);
    expect(many.output()).toContain('ACCESS_TOKEN_TTL');
    expect(many.output()).toContain('PORT');
  });

  it('in development generates a secret once, keeps it (0600), and tokens survive a restart; SIGTERM stops it cleanly', async () => {
    const temp = tempDir();
    try {
      const env = { NODE_ENV: 'development', DATABASE_URL: path.join(temp.dir, 'db.sqlite'), HOST: '127.0.0.1' };
      const port = await freePort();
      const first = run(MAIN, [], { ...env, PORT: String(port) });
      children.push(first.child);
      await waitForHealth(port);
      const secretFile = path.join(temp.dir, 'jwt-secret');
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      const secret = readFileSync(secretFile, 'utf8');
      expect(first.output().match(/development secret/g)).toHaveLength(1);
      expect(first.output()).not.toContain(secret.trim());

      const signup = await gql(port, 'mutation { signup(username: "vera", password: "correct horse battery") { accessToken } }');
      const token = (signup.data?.signup as { accessToken: string }).accessToken;
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      const second = run(MAIN, [], { ...env, PORT: String(port) });
      children.push(second.child);
      await waitForHealth(port);
      expect(readFileSync(secretFile, 'utf8')).toBe(secret);
      const me = await gql(port, '{ me { username } }', token);
      // Outside production every answer carries the authorization trace (docs/api.md, "Authorization trace").
      expect(me).toEqual({ data: { me: { username: 'vera' } }, extensions: { authTrace: [{ path: 'me', rule: '@signedIn @apiKey(scope: PROFILE)', allowed: true, reason: null }] } });
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      temp.remove();
    }
  });

  it('on SIGTERM finishes the request in flight, refuses new connections, and exits 0', async () => {
    const temp = tempDir();
    try {
      const port = await freePort();
      const env = { NODE_ENV: 'development', DATABASE_URL: path.join(temp.dir, 'db.sqlite'), HOST: '127.0.0.1', PORT: String(port) };
      // Slow hashing makes a login take long enough to be in flight when the signal arrives.
      const server = run(MAIN, [], { ...env, ARGON2_TIME_COST: '12', ARGON2_MEMORY_KIB: '65536' });
      children.push(server.child);
      await waitForHealth(port);
      const started = Date.now();
      const inFlight = gql(port, 'mutation { signup(username: "walt", password: "correct horse battery") { user { username } } }');
      await new Promise((r) => setTimeout(r, 100));
      server.child.kill('SIGTERM');
      const answer = await inFlight;
      expect(Date.now() - started).toBeGreaterThan(100);
      expect(answer).toMatchObject({ data: { signup: { user: { username: 'walt' } } } });
      expect(answer).not.toHaveProperty('errors');
      expect(await server.exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      temp.remove();
    }
  });

  it('user:create makes an admin from a password on stdin, never a default one', async () => {
    const temp = tempDir();
    try {
      const env = { DATABASE_URL: path.join(temp.dir, 'db.sqlite') };
      const created = run(CLI, ['--username', 'boss', '--role', 'ADMIN'], env, 'a strong admin pass\n');
      children.push(created.child);
      expect(await created.exited, created.output()).toBe(0);
      expect(created.output()).toMatch(/Created user boss .* USER, ADMIN/);
      expect(created.output()).not.toContain('a strong admin pass');

      const again = run(CLI, ['--username', 'BOSS'], env, 'a strong admin pass\n');
      children.push(again.child);
      expect(await again.exited).toBe(65);
      expect(again.output()).toContain('USERNAME_TAKEN');

      const weak = run(CLI, ['--username', 'weakling'], env, 'password\n');
      children.push(weak.child);
      expect(await weak.exited).toBe(65);
      expect(weak.output()).toContain('BAD_USER_INPUT');

      const port = await freePort();
      const server = run(MAIN, [], { ...env, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development' });
      children.push(server.child);
      await waitForHealth(port);
      const login = await gql(port, 'mutation { login(username: "boss", password: "a strong admin pass") { user { roles } } }');
      expect(login).toMatchObject({ data: { login: { user: { roles: ['USER', 'ADMIN'] } } } });
      expect(login).not.toHaveProperty('errors');
      const users = await gql(port, '{ users { totalCount } }');
      expect(JSON.stringify(users)).toContain('UNAUTHENTICATED');
      server.child.kill('SIGTERM');
      await server.exited;
    } finally {
      temp.remove();
    }
  });
});
