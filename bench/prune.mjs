#!/usr/bin/env node
// @ts-check
/**
 * The background pruner on a big table, under load: seeds ROWS ended
 * sessions (each with a used refresh token) long past their retention plus
 * a few thousand open ones, starts tokengate from dist/ as `npm start` does,
 * keeps logins and `{ me }` queries flowing, and reports the pruner's time
 * per batch (from its log lines) and the latency of those requests before,
 * during and after pruning.
 *
 *   npm run build && node bench/prune.mjs [--rows=1000000] [--db=sqlite|postgres] [--batch=1000]
 *
 * --db=postgres needs BENCH_DATABASE_URL or TOKENGATE_TEST_DATABASE_URL (a
 * server where a database may be created; it is dropped afterwards).
 */
import console from 'node:console';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, URL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { freePort, graphql, killAll, sleep, spawnPinned, waitForOk } from './lib/util.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const ROWS = Number(args.rows ?? 1_000_000);
const DIALECT = args.db === 'postgres' ? 'postgres' : 'sqlite';
const BATCH = Number(args.batch ?? 1000);
const OPEN_SESSIONS = 5_000;
const USER = { username: 'prune-bench', password: 'correct horse battery staple' };
const { config: PKG_CONFIG } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});

/** SQL that seeds `ROWS` prunable sessions (ended a year ago, token used a year ago) and OPEN_SESSIONS open ones. */
function seedStatements(/** @type {'sqlite' | 'postgres'} */ dialect, /** @type {string} */ userId) {
  const old = new Date(Date.now() - 365 * 86_400_000).toISOString();
  const now = new Date().toISOString();
  const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const series = (/** @type {number} */ n) =>
    dialect === 'postgres'
      ? `from generate_series(1, ${n}) as g(i)`
      : `from (with recursive c(i) as (select 1 union all select i + 1 from c where i < ${n}) select i from c) as g`;
  const id = (/** @type {string} */ prefix) => (dialect === 'postgres' ? `'${prefix}' || g.i` : `'${prefix}' || g.i`);
  return [
    `insert into sessions (id, user_id, created_at, last_used_at, expires_at, ended_at, end_reason, user_agent, refresh_generation)
       select ${id('old-')}, '${userId}', '${old}', '${old}', '${future}', '${old}', 'logout', 'bench', 1 ${series(ROWS)}`,
    `insert into refresh_tokens (token_hash, session_id, generation, created_at, used_at)
       select ${id('old-hash-')}, ${id('old-')}, 0, '${old}', '${old}' ${series(ROWS)}`,
    `insert into sessions (id, user_id, created_at, last_used_at, expires_at, ended_at, end_reason, user_agent, refresh_generation)
       select ${id('open-')}, '${userId}', '${now}', '${now}', '${future}', null, null, 'bench', 0 ${series(OPEN_SESSIONS)}`,
    `insert into refresh_tokens (token_hash, session_id, generation, created_at, used_at)
       select ${id('open-hash-')}, ${id('open-')}, 0, '${now}', null ${series(OPEN_SESSIONS)}`,
  ];
}

/** @returns {Promise<{ env: Record<string, string>, exec: (sql: string) => Promise<unknown>, count: (table: string) => Promise<number>, dispose: () => Promise<void> }>} */
async function openStore(/** @type {string} */ tmp) {
  if (DIALECT === 'sqlite') {
    const file = path.join(tmp, 'prune.sqlite');
    return {
      env: { DATABASE_URL: file },
      exec: async (sql) => {
        const db = new Database(file);
        db.pragma('journal_mode = WAL');
        db.exec(sql);
        db.close();
      },
      count: async (table) => {
        const db = new Database(file, { readonly: true });
        const n = /** @type {{ n: number }} */ (db.prepare(`select count(*) as n from ${table}`).get()).n;
        db.close();
        return n;
      },
      dispose: async () => {},
    };
  }
  const base = process.env.BENCH_DATABASE_URL ?? process.env.TOKENGATE_TEST_DATABASE_URL;
  if (!base) throw new Error('--db=postgres needs BENCH_DATABASE_URL or TOKENGATE_TEST_DATABASE_URL');
  const name = `tg_prune_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    env: { DATABASE_URL: url.toString() },
    exec: (sql) => client.query(sql),
    count: async (table) => Number((await client.query(`select count(*) as n from ${table}`)).rows[0].n),
    dispose: async () => {
      await client.end();
      const drop = new pg.Client({ connectionString: base });
      await drop.connect();
      await drop.query(`drop database if exists ${name} with (force)`);
      await drop.end();
    },
  };
}

/** Starts tokengate as `npm start` does; resolves once it is ready. */
async function startServer(/** @type {Record<string, string>} */ env) {
  const port = await freePort();
  const server = spawnPinned(os.cpus().length > 1 ? '0' : null, process.execPath, [...String(PKG_CONFIG.node_flags).split(/\s+/), path.join(ROOT, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', MALLOC_ARENA_MAX: String(PKG_CONFIG.malloc_arena_max), MALLOC_MMAP_THRESHOLD_: String(PKG_CONFIG.malloc_mmap_threshold), ...env, PORT: String(port), HOST: '127.0.0.1' },
  });
  await waitForOk(port, { path: '/readyz', isAlive: server.alive });
  return { server, port };
}

/** @param {number[]} values @param {number} q */
const quantile = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokengate-prune-bench-'));
  const store = await openStore(tmp);
  const baseEnv = {
    ...store.env,
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'info',
    RATE_LIMIT_LOGIN_USERNAME: '1000000/1h',
    RATE_LIMIT_LOGIN_ADDRESS: '1000000/1h',
    RATE_LIMIT_SIGNUP_ADDRESS: '1000000/1h',
    PRUNE_BATCH_SIZE: String(BATCH),
  };
  try {
    // 1. Migrate and create the user, with pruning off.
    const first = await startServer({ ...baseEnv, PRUNE_INTERVAL: '0s' });
    const signup = await graphql(first.port, 'mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { user { id } } }', { u: USER.username, p: USER.password });
    const userId = signup.json.data.signup.user.id;
    await first.server.stop();

    // 2. Seed.
    const seedStarted = Date.now();
    for (const sql of seedStatements(DIALECT, userId)) await store.exec(sql);
    if (DIALECT === 'postgres') await store.exec('analyze');
    console.log(`${DIALECT}: seeded ${ROWS.toLocaleString('en-US')} ended sessions + ${ROWS.toLocaleString('en-US')} used refresh tokens (+${OPEN_SESSIONS} open) in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);

    // 3. Serve with the pruner's first run 8 s after start, under load.
    const { server, port } = await startServer({ ...baseEnv, PRUNE_INTERVAL: '8s' });
    // The pruner's lines, caught as they come (the login audit lines would push them out of the kept output).
    /** @type {Array<{ task: string, rows: number, batches: number, ms: number, maxBatchMs: number, time: number }>} */
    const runs = [];
    let pending = '';
    server.child.stdout?.on('data', (/** @type {Buffer} */ chunk) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.includes('"pruned old rows"')) runs.push(JSON.parse(line));
    });
    const login = await graphql(port, 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: USER.username, p: USER.password });
    const token = login.json.data.login.accessToken;
    /** @type {Array<{ at: number, ms: number, kind: string, ok: boolean }>} */
    const samples = [];
    let running = true;
    const loop = async (/** @type {string} */ kind, /** @type {() => Promise<boolean>} */ call) => {
      while (running) {
        const t = performance.now();
        let ok = false;
        try {
          ok = await call();
        } catch {
          ok = false;
        }
        samples.push({ at: Date.now(), ms: performance.now() - t, kind, ok });
      }
    };
    const loginCall = async () => Boolean((await graphql(port, 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: USER.username, p: USER.password })).json.data?.login);
    const meCall = async () => Boolean((await graphql(port, '{ me { id } }', undefined, token)).json.data?.me);
    const loops = [loop('login', loginCall), loop('login', loginCall), loop('me', meCall), loop('me', meCall)];

    // Wait until the last task's log line, at most 10 minutes.
    const deadline = Date.now() + 600_000;
    while (!runs.some((r) => r.task === 'ended_sessions')) {
      if (Date.now() > deadline) throw new Error(`pruning did not finish: ${server.output().slice(-2000)}`);
      await sleep(250);
    }
    await sleep(3_000);
    running = false;
    await Promise.all(loops);
    await server.stop();

    const pruneStart = Math.min(...runs.map((r) => r.time - r.ms));
    const pruneEnd = Math.max(...runs.map((r) => r.time));
    console.log(`pruner (batch ${BATCH}):`);
    for (const r of runs) {
      console.log(`  ${r.task.padEnd(20)} ${r.rows.toLocaleString('en-US').padStart(10)} rows in ${r.batches} batches, ${(r.ms / 1000).toFixed(1)} s: ${(r.ms / r.batches).toFixed(1)} ms per batch on average, ${r.maxBatchMs} ms at most`);
    }
    const window = (/** @type {string} */ kind, /** @type {(at: number) => boolean} */ when) => {
      const chosen = samples.filter((s) => s.kind === kind && when(s.at));
      const ms = chosen.map((s) => s.ms);
      return { n: chosen.length, failed: chosen.filter((s) => !s.ok).length, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), max: Math.max(...ms) };
    };
    for (const kind of ['login', 'me']) {
      for (const [label, when] of /** @type {const} */ ([
        ['before', (/** @type {number} */ at) => at < pruneStart],
        ['during', (/** @type {number} */ at) => at >= pruneStart && at <= pruneEnd],
        ['after', (/** @type {number} */ at) => at > pruneEnd],
      ])) {
        const w = window(kind, when);
        const seconds = label === 'during' ? (pruneEnd - pruneStart) / 1000 : NaN;
        console.log(`  ${kind.padEnd(5)} ${label.padEnd(6)} n=${String(w.n).padStart(6)} failed=${w.failed} p50=${w.p50.toFixed(1)} ms p99=${w.p99.toFixed(1)} ms max=${w.max.toFixed(1)} ms${Number.isFinite(seconds) ? ` (${(w.n / seconds).toFixed(1)}/s)` : ''}`);
      }
    }
    console.log(`left: ${await store.count('sessions')} sessions, ${await store.count('refresh_tokens')} refresh tokens`);
  } finally {
    killAll();
    await store.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  killAll();
  process.exit(1);
});
