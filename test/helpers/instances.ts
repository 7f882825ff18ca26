import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gql, type GqlResponse } from './gql-client.js';
import { TEST_SECRET } from './server.js';
import { freePort } from './own-services.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A tokengate process (dist/main.js, as npm start runs it) on its own port. */
export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly process: ChildProcess;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
  output(): string;
  stop(): Promise<void>;
}

/** Starts one instance with the given environment (and working directory) on a free port and waits until it serves. */
export async function startInstance(name: string, env: Record<string, string>, options: { cwd?: string; port?: number } = {}): Promise<Instance> {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` (npm test does it for you)');
  // A port chosen by the caller when the configuration must name it beforehand (PUBLIC_URL for a redirect URI).
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      JWT_SECRET: TEST_SECRET,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ARGON2_MEMORY_KIB: '8192',
      ARGON2_TIME_COST: '1',
      ...env,
      // Last: the port polled below is the one it listens on.
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd ?? path.dirname(MAIN),
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000; // a loaded two-core machine
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${out}`);
    try {
      // Everything up, external checks too (an OpenID provider discovered): 'degraded' answers 200 but is not ready for a test.
      const ready = await fetch(`${url}/readyz`);
      if (ready.ok && ((await ready.json()) as { status?: string }).status === 'ok') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become ready: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name,
    url,
    process: child,
    output: () => out,
    gql: (query, variables, token) => gql(url, query, variables, token === undefined ? {} : { token }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
