#!/usr/bin/env node
// @ts-check
/**
 * The subscriptions part of `npm run bench` (or `node bench/websockets.mjs`
 * after npm run build): one tokengate on SQLite with N idle authenticated
 * sockets (default 1,000, each its own session with its expiry timer).
 * Measures the server's resident memory per socket, its CPU at idle with the
 * sockets open, and the time from a `logout` answered over HTTP to that
 * session's socket being closed, with all of them open. Writes a section of
 * docs/benchmarks.md between its own markers (kept by bench/run.mjs).
 *
 *   --sockets=N   sockets to open (default 1000)
 *   --runs=N      logouts timed (default 20)
 *   --idle=N      seconds of idle CPU measured (default 10)
 *   --no-write    print only
 */
import console from 'node:console';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ROOT } from './lib/servers.mjs';
import { freePort, graphql, memoryOf, median, sleep, waitForOk } from './lib/util.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')).map(([k, v]) => [k, v ?? 'true']));
const SOCKETS = Number(args.sockets ?? 1000);
const RUNS = Number(args.runs ?? 20);
const IDLE_SECONDS = Number(args.idle ?? 10);
const USERS = Math.ceil(SOCKETS / 100);
const PASSWORD = 'bench password 1234';
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const BEGIN = '<!-- bench:websockets begin -->';
const END = '<!-- bench:websockets end -->';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) a process has used, from /proc. @param {number} pid */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokengate-bench-ws-'));
const port = await freePort();
const child = spawn(process.execPath, ['--max-semi-space-size=4', path.join(ROOT, 'dist', 'main.js')], {
  env: {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-for-websockets-only-0123456789-abcdefghijkl',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DATABASE_URL: path.join(tmp, 'bench.sqlite'),
    ARGON2_MEMORY_KIB: '8192',
    ARGON2_TIME_COST: '1',
    RATE_LIMIT_SIGNUP_ADDRESS: '100000/1m',
    RATE_LIMIT_WS_ADDRESS: '100000/1m',
    SUBSCRIPTIONS_MAX_PER_USER: '100',
    MALLOC_ARENA_MAX: '2',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
/** @type {Array<{ client: import('graphql-ws').Client, token: string, closed: Promise<{ code: number, reason: string, at: number }> }>} */
const sockets = [];
try {
  await waitForOk(port);
  const signup = 'mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { accessToken } }';
  const login = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
  for (let u = 0; u < USERS; u++) await graphql(port, signup, { u: `bench${u}`, p: PASSWORD });
  /** @type {string[]} */
  const tokens = [];
  while (tokens.length < SOCKETS) {
    const batch = Math.min(4, SOCKETS - tokens.length);
    const pairs = await Promise.all(
      Array.from({ length: batch }, (_, i) => graphql(port, login, { u: `bench${(tokens.length + i) % USERS}`, p: PASSWORD })),
    );
    for (const { json } of pairs) {
      if (!json.data?.login) throw new Error(`login failed: ${JSON.stringify(json)}`);
      tokens.push(json.data.login.accessToken);
    }
  }
  await sleep(2_000);
  const before = memoryOf(child.pid ?? 0);
  for (let i = 0; i < SOCKETS; i += 50) {
    await Promise.all(
      tokens.slice(i, i + 50).map(async (token) => {
        /** @type {(c: { code: number, reason: string, at: number }) => void} */
        let onClosed = () => {};
        const closed = new Promise((resolve) => (onClosed = resolve));
        await new Promise((resolve, reject) => {
          const client = createClient({
            url: `ws://127.0.0.1:${port}/graphql`,
            webSocketImpl: WebSocket,
            lazy: false,
            retryAttempts: 0,
            connectionParams: { authorization: `Bearer ${token}` },
            onNonLazyError: reject,
            on: {
              connected: () => resolve(undefined),
              closed: (event) => {
                const e = /** @type {{ code: number, reason: string }} */ (event);
                onClosed({ code: e.code, reason: String(e.reason), at: performance.now() });
                reject(new Error(`closed ${e.code}`));
              },
            },
          });
          sockets.push({ client, token, closed: /** @type {Promise<{ code: number, reason: string, at: number }>} */ (closed) });
        });
      }),
    );
  }
  await sleep(3_000);
  const after = memoryOf(child.pid ?? 0);
  const cpuBefore = cpuSeconds(child.pid ?? 0);
  await sleep(IDLE_SECONDS * 1_000);
  const idleCpu = (cpuSeconds(child.pid ?? 0) - cpuBefore) / IDLE_SECONDS;

  /** @type {number[]} */
  const latencies = [];
  for (let r = 0; r < RUNS; r++) {
    const socket = sockets[Math.floor((r * sockets.length) / RUNS)];
    const { json } = await graphql(port, 'mutation { logout }', {}, socket.token);
    const answered = performance.now();
    if (json.data?.logout !== true) throw new Error(`logout failed: ${JSON.stringify(json)}`);
    const closed = await Promise.race([socket.closed, sleep(5_000).then(() => null)]);
    if (closed === null || closed.code !== 4403 || closed.reason !== 'TOKEN_REVOKED') throw new Error(`socket not closed 4403 TOKEN_REVOKED: ${JSON.stringify(closed)}`);
    latencies.push(Math.max(0, closed.at - answered));
  }
  const perSocket = before && after ? (after.current - before.current) / SOCKETS : NaN;
  const lines = [
    BEGIN,
    '## Subscriptions (bench/websockets.mjs)',
    '',
    `One instance on SQLite, ${SOCKETS.toLocaleString('en-US')} idle authenticated sockets (${USERS} users, one session per socket, each with its expiry timer; ` +
      `measured ${new Date().toISOString().slice(0, 10)} on a shared ${os.cpus().length}-core machine, so treat the figures as orders of magnitude):`,
    '',
    '| measure | value |',
    '|---|---|',
    `| server RSS before the sockets | ${((before?.current ?? NaN) / 1_048_576).toFixed(1)} MB |`,
    `| server RSS with ${SOCKETS.toLocaleString('en-US')} sockets open | ${((after?.current ?? NaN) / 1_048_576).toFixed(1)} MB |`,
    `| memory per socket | ${(perSocket / 1024).toFixed(1)} KB |`,
    `| CPU at idle with the sockets open (${IDLE_SECONDS} s) | ${(idleCpu * 100).toFixed(2)} % of one core |`,
    `| logout answered over HTTP → that socket closed (4403 TOKEN_REVOKED), ${RUNS} runs | median ${median(latencies).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms |`,
    '',
    'Memory per socket is the RSS difference divided by the sockets (ws, graphql-ws state, the expiry timer, the indexes by session and user); idle CPU is mostly the keep-alive pings (every 12 s per socket).',
    END,
  ];
  const section = lines.join('\n');
  console.log(section);
  if (args['no-write'] !== 'true' && existsSync(DOC)) {
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    const next = start >= 0 && end > start ? doc.slice(0, start) + section + doc.slice(end + END.length) : `${doc.trimEnd()}\n\n${section}\n`;
    writeFileSync(DOC, next);
  }
} finally {
  await Promise.all(sockets.map((s) => s.client.dispose()));
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(tmp, { recursive: true, force: true });
}
