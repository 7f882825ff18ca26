import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/own-services.js';

/*
 * SIGTERM under load: the compiled server (as npm start runs it) is told to
 * stop while signups and logins keep arriving. It must exit 0 (not be
 * forced out by its 10 s timer, which exits 1), and every write it
 * acknowledged must be there after a restart.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'dist/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-shutdown-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startServer(port: number): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: path.join(dir, 'db.sqlite'),
      LOG_LEVEL: 'warn',
      ARGON2_MEMORY_KIB: '8192',
      ARGON2_TIME_COST: '1',
      PRUNE_INTERVAL: '1s',
      RATE_LIMIT_SIGNUP_ADDRESS: '100000/1h',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: () => out };
}

async function waitForHealth(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing served on ${port}`);
}

async function signup(port: number, username: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation ($u: String!) { signup(username: $u, password: "correct horse battery") { user { username } } }', variables: { u: username } }),
    });
    const body = (await res.json()) as { data?: { signup?: { user: { username: string } } } };
    return body.data?.signup?.user.username === username;
  } catch {
    return false; // refused or cut off: not acknowledged
  }
}

describe('SIGTERM under load', () => {
  it('exits 0 and loses no acknowledged write', async () => {
    const port = await freePort();
    const server = startServer(port);
    await waitForHealth(port);

    const acknowledged: string[] = [];
    let attempts = 0;
    let stopping = false;
    let refusedAfterStop = 0;
    const worker = async (w: number) => {
      for (let i = 0; refusedAfterStop < 20; i++) {
        const username = `load-${w}-${i}`;
        attempts++;
        if (await signup(port, username)) acknowledged.push(username);
        else if (stopping) refusedAfterStop++;
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    while (acknowledged.length < 40) await new Promise((r) => setTimeout(r, 20));
    stopping = true;
    server.child.kill('SIGTERM');
    const code = await server.exited;
    await Promise.all(workers);

    expect(code, server.output()).toBe(0);
    expect(server.output()).not.toMatch(/"level":(50|60)/); // no error logged while stopping
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);
    expect(attempts).toBeGreaterThan(acknowledged.length); // some requests did meet the stopped server

    // Every acknowledged signup is there after a restart: each one can log in.
    const again = startServer(port);
    await waitForHealth(port);
    const missing: string[] = [];
    for (const username of acknowledged) {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'mutation ($u: String!) { login(username: $u, password: "correct horse battery") { user { username } } }', variables: { u: username } }),
      });
      const body = (await res.json()) as { data?: { login?: unknown } };
      if (!body.data?.login) missing.push(username);
    }
    expect(missing).toEqual([]);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
