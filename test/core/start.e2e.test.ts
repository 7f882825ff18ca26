import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/own-services.js';

/*
 * What `npm start` and `npm install` do with the build: start serves dist/
 * and never rebuilds; no build means one line saying what to run; a build
 * older than src/ is named in a warning; the prepare script never fails a
 * production install that has no esbuild.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const temps: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-start-'));
  temps.push(dir);
  return dir;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): { exited: Promise<number | null>; output: () => string; kill: () => void } {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ARGON2_MEMORY_KIB: '8192', ARGON2_TIME_COST: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: () => out, kill: () => child.kill('SIGTERM') };
}

async function waitForHealth(port: number, exited: Promise<number | null>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300 && !gone; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing served on ${port}`);
}

/** A copy of the project as a deployment sees it: dist/, schema/, package.json, scripts/, node_modules linked. */
function projectCopy(options: { withDist: boolean }): string {
  const dir = tempDir();
  for (const entry of ['package.json', 'scripts', 'schema']) cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  if (options.withDist) cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm test does it for you)');
});
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves the existing build without rebuilding it', async () => {
    const builtAt = statSync(path.join(ROOT, 'dist/main.js')).mtimeMs;
    const data = tempDir();
    const port = await freePort();
    const server = run('npm', ['start', '--silent'], ROOT, { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: path.join(data, 'db.sqlite'), LOG_LEVEL: 'warn' });
    try {
      await waitForHealth(port, server.exited);
    } finally {
      server.kill();
    }
    await server.exited; // npm itself dies of the SIGTERM it forwards: its exit code says nothing about the server's
    expect(statSync(path.join(ROOT, 'dist/main.js')).mtimeMs).toBe(builtAt);
    expect(server.output()).not.toContain('esbuild');
  });

  it('passes a SIGTERM sent to npm on to the server, which shuts down gracefully and leaves nothing running', async () => {
    // What a container runtime or a process manager does to `npm start`: signal npm, not the whole group.
    const data = tempDir();
    const port = await freePort();
    const server = run('npm', ['start', '--silent'], ROOT, { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: path.join(data, 'db.sqlite'), LOG_LEVEL: 'info' });
    await waitForHealth(port, server.exited);
    server.kill();
    await server.exited;
    expect(server.output()).toContain('shutting down');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('without a build exits non-zero with one line saying what to run', async () => {
    const dir = projectCopy({ withDist: false });
    const start = run('npm', ['start', '--silent'], dir);
    expect(await start.exited).not.toBe(0);
    const lines = start.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('npm run build');
  });

  it('names a source file newer than the build in a warning line, and is silent about a current build', async () => {
    const dir = projectCopy({ withDist: true });
    mkdirSync(path.join(dir, 'src/sessions'), { recursive: true });
    const source = path.join(dir, 'src/sessions/token.service.ts');
    writeFileSync(source, '// changed after the build\n');
    const builtAt = statSync(path.join(dir, 'dist/main.js')).mtime;
    const env = { HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: path.join(dir, 'db.sqlite') };

    utimesSync(source, builtAt, new Date(builtAt.getTime() - 60_000)); // older than the build
    const current = await freePort();
    const quiet = run('npm', ['start', '--silent'], dir, { ...env, PORT: String(current) });
    await waitForHealth(current, quiet.exited);
    quiet.kill();
    await quiet.exited;
    expect(quiet.output()).not.toContain('older than');

    utimesSync(source, builtAt, new Date(builtAt.getTime() + 60_000)); // edited after the build
    const stale = await freePort();
    const warned = run('npm', ['start', '--silent'], dir, { ...env, PORT: String(stale) });
    await waitForHealth(stale, warned.exited);
    warned.kill();
    await warned.exited;
    const warning = warned.output().split('\n').find((line) => line.includes('older than'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, changed: path.join('src', 'sessions', 'token.service.ts') });
    expect(warning).toContain('npm run build');
  });
});

describe('the prepare script (npm install, npm ci)', () => {
  it('without esbuild (npm ci --omit=dev) keeps an existing build and never fails the install', async () => {
    for (const withDist of [true, false]) {
      const dir = tempDir();
      cpSync(path.join(ROOT, 'scripts'), path.join(dir, 'scripts'), { recursive: true });
      if (withDist) {
        mkdirSync(path.join(dir, 'dist'));
        writeFileSync(path.join(dir, 'dist/main.js'), '// built earlier\n');
      }
      const prepare = run(process.execPath, ['scripts/prepare.mjs'], dir); // no node_modules here: no esbuild
      expect(await prepare.exited, prepare.output()).toBe(0);
      expect(prepare.output()).toContain(withDist ? 'keeping the existing dist/' : 'npm run build');
      if (withDist) expect(existsSync(path.join(dir, 'dist/main.js'))).toBe(true);
    }
  });
});
