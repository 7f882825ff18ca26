// @ts-check
/**
 * The servers under test: tokengate itself (one or more variants), the bare
 * node:http + jsonwebtoken floor, the Apollo floor (Apollo Server 5 on
 * node:http, the same verification), and the Flask seed under gunicorn. Each
 * knows how to start pinned to the server core, how to time a cold start,
 * and how to prepare each of its scenarios (fresh tokens, refresh pools).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import jwt from 'jsonwebtoken';
import { childrenOf, freePort, graphql, request, spawnPinned, waitForOk } from './util.mjs';

/** The repository root (bench/lib/../..). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASELINE_DIR = path.join(ROOT, 'bench', 'baseline');

/** @typedef {import('./wrk.mjs').ScenarioSpec} ScenarioSpec */
/** @typedef {import('./wrk.mjs').WrkResult} WrkResult */
/** @typedef {import('./util.mjs').Managed} Managed */

/**
 * @typedef {object} BenchServer
 * @property {string} id
 * @property {string} label
 * @property {'tokengate' | 'bare' | 'apollo' | 'flask'} kind
 * @property {'HS256' | 'RS256' | 'ES256'} [algorithm] how a tokengate variant signs its access tokens
 * @property {readonly string[]} scenarios what this server can be measured on
 * @property {() => Promise<void>} start spawn, wait until it serves, create the bench user
 * @property {(scenario: string) => Promise<ScenarioSpec>} prepare a fresh spec (fresh tokens) for one measurement
 * @property {(scenario: string) => Promise<void>} after bookkeeping after a measurement (the refresh pool)
 * @property {(index: number) => Promise<number>} coldStart spawns a separate fresh instance; ms from spawn to the first 200 on /healthz
 * @property {() => number[]} pids the long-running instance's processes (for memory figures)
 * @property {() => Promise<void>} stop
 * @property {() => number} port
 * @property {() => Managed | null} process
 */

/** Queries and mutations the scenarios send. */
export const QUERIES = {
  protected: '{ protected { loggedInAs } }',
  me: '{ me { id username roles } }',
  login: 'mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { accessToken refreshToken expiresIn } }',
  signup: 'mutation Signup($username: String!, $password: String!) { signup(username: $username, password: $password) { accessToken } }',
};

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * The brute-force limits stay on (their counting runs on every login, signup
 * and refresh, so its cost is measured), with budgets no single load
 * generator on 127.0.0.1 can spend: with the defaults, 50 parallel logins of
 * one user from one address are refused by design, and refreshToken allows
 * 120 a minute per address. Older builds ignore these names.
 * @type {Readonly<Record<string, string>>}
 */
export const BENCH_RATE_LIMITS = Object.freeze({
  RATE_LIMIT_LOGIN_PAIR: '1000000',
  RATE_LIMIT_LOGIN_USERNAME: '1000000/1s',
  RATE_LIMIT_LOGIN_ADDRESS: '1000000/1s',
  RATE_LIMIT_SIGNUP_ADDRESS: '1000000/1s',
  RATE_LIMIT_REFRESH_ADDRESS: '1000000/1s',
  // One key under load: its own budget (default 600/1m) would refuse almost every request.
  API_KEY_RATE_LIMIT: '1000000/1s',
});

/** @returns {string} a random secret of 48 URL-safe characters */
export function randomSecret() {
  return randomBytes(36).toString('base64url');
}

/**
 * How many distinct tokens the `fresh` scenario cycles through: more than
 * AccessTokens' verdict cache holds (10,000 by default, src/tokens/access-token.ts),
 * so under round-robin every request is a cache miss and runs full signature verification.
 */
export const FRESH_TOKENS = 12_000;

/**
 * A key pair for an RS256/ES256 variant: the PEM file the server reads, and
 * the private key the bench signs `fresh` tokens with.
 * @param {string} tmp
 * @param {'RS256' | 'ES256'} algorithm
 * @returns {{ file: string, pem: string }}
 */
export function writeBenchKey(tmp, algorithm) {
  const { privateKey } =
    algorithm === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const file = path.join(tmp, `bench-${algorithm.toLowerCase()}.pem`);
  writeFileSync(file, pem, { mode: 0o600 });
  return { file, pem };
}

/**
 * The same access token re-signed with another key: well-formed, right
 * algorithm, right claims, wrong signature. Every server must refuse it, and
 * must compute an HMAC to find out.
 * @param {string} token
 * @returns {string}
 */
export function forgeToken(token) {
  const decoded = jwt.decode(token, { complete: true });
  if (decoded === null || typeof decoded.payload === 'string') throw new Error('cannot decode the access token to forge');
  return jwt.sign(decoded.payload, randomSecret(), { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } });
}

/**
 * Starts a long-running process and waits for its first 200 on /healthz.
 * @param {() => Promise<{ managed: Managed, port: number }>} launch
 * @param {string} label
 * @returns {Promise<{ managed: Managed, port: number, ms: number }>}
 */
async function launchAndWait(launch, label) {
  const t0 = performance.now();
  const { managed, port } = await launch();
  try {
    await waitForOk(port, { isAlive: managed.alive });
  } catch (error) {
    await managed.stop(1_000);
    throw new Error(`${label} did not start: ${error instanceof Error ? error.message : String(error)}\n${managed.output().slice(-4_000)}`);
  }
  return { managed, port, ms: performance.now() - t0 };
}

/**
 * One cold start: a fresh process, timed from spawn to its first 200, then stopped.
 * @param {() => Promise<{ managed: Managed, port: number }>} launch
 * @param {string} label
 * @returns {Promise<number>}
 */
async function timeColdStart(launch, label) {
  const started = await launchAndWait(launch, `${label} (cold start)`);
  await started.managed.stop();
  return started.ms;
}

/** @param {Managed | null} managed @param {string} label */
function assertAlive(managed, label) {
  if (managed === null || !managed.alive()) {
    throw new Error(`${label} is not running (it exited${managed ? `: ${managed.output().slice(-4_000)}` : ''})`);
  }
}

/**
 * @typedef {object} Credentials
 * @property {string} username
 * @property {string} password
 */

/**
 * How `npm start` runs the server (package.json "config"): the same node
 * flags and allocator setting, so the bench measures what operators run.
 */
export const START = (() => {
  const { config } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return {
    nodeFlags: String(config.node_flags).split(/\s+/).filter(Boolean),
    env: { MALLOC_ARENA_MAX: String(config.malloc_arena_max), MALLOC_MMAP_THRESHOLD_: String(config.malloc_mmap_threshold) },
  };
})();

/**
 * tokengate from dist/, NODE_ENV=production, started as `npm start` starts it.
 * @param {object} options
 * @param {string} options.id
 * @param {string} options.label
 * @param {Record<string, string>} options.env the server's whole environment, without PORT
 * @param {boolean} options.sqlite whether DATABASE_URL is a SQLite file (cold starts then use a fresh file each)
 * @param {string} options.tmp a private temporary folder
 * @param {string | null} options.cpu
 * @param {Credentials} options.user
 * @param {number} options.poolSize refresh tokens kept in the pool
 * @param {string[]} [options.nodeArgs] extra node flags (e.g. --cpu-prof)
 * @param {readonly string[]} [options.scenarios] what to measure (default: all of tokengate's)
 * @param {{ algorithm: 'HS256' | 'RS256' | 'ES256', key: string }} [options.signing] the algorithm and the key
 *   (JWT_SECRET, or the private key PEM) the bench signs `fresh` tokens with, as the server would
 * @param {string} [options.dist] the build to run (default: this checkout's dist/)
 * @returns {BenchServer & { login: () => Promise<{ accessToken: string, refreshToken: string }> }}
 */
export function tokengateServer({ id, label, env, sqlite, tmp, cpu, user, poolSize, nodeArgs = [], scenarios, signing, dist = path.join(ROOT, 'dist') }) {
  /** @type {Managed | null} */
  let managed = null;
  let port = 0;
  const poolFile = path.join(tmp, `${id}-refresh-pool.txt`);
  const poolOut = path.join(tmp, `${id}-refresh-left.txt`);
  const freshFile = path.join(tmp, `${id}-fresh-tokens.txt`);
  let freshMadeAt = 0;

  /** @param {Record<string, string>} extra */
  const launch = (extra) => async () => {
    const p = await freePort();
    const m = spawnPinned(cpu, process.execPath, [...START.nodeFlags, ...nodeArgs, path.join(dist, 'main.js')], {
      env: { ...START.env, ...env, ...extra, PORT: String(p) },
      cwd: tmp,
    });
    return { managed: m, port: p };
  };

  const login = async () => {
    assertAlive(managed, label);
    const { json } = await graphql(port, QUERIES.login, { username: user.username, password: user.password });
    if (!json.data?.login) throw new Error(`${label}: login failed: ${JSON.stringify(json).slice(0, 500)}`);
    return /** @type {{ accessToken: string, refreshToken: string }} */ (json.data.login);
  };

  /** Tops the refresh pool up to poolSize with fresh sessions (one login each). */
  const fillPool = async () => {
    const tokens = existsSync(poolFile) ? readFileSync(poolFile, 'utf8').split('\n').filter(Boolean) : [];
    const missing = Math.max(0, poolSize - tokens.length);
    for (let done = 0; done < missing; ) {
      const batch = Math.min(4, missing - done);
      const pairs = await Promise.all(Array.from({ length: batch }, login));
      tokens.push(...pairs.map((p) => p.refreshToken));
      done += batch;
    }
    writeFileSync(poolFile, `${tokens.join('\n')}\n`);
  };

  /**
   * FRESH_TOKENS access tokens of one real session, each with its own jti,
   * signed with the server's own key and header as tokengate signs them:
   * every one valid, no two alike. Remade when older than 10 minutes
   * (access tokens live 15).
   */
  const makeFreshTokens = async () => {
    if (!signing) throw new Error(`${label}: no signing key for the fresh scenario`);
    if (Date.now() - freshMadeAt < 10 * 60_000 && existsSync(freshFile)) return;
    const decoded = jwt.decode((await login()).accessToken, { complete: true });
    if (decoded === null || typeof decoded.payload === 'string') throw new Error(`${label}: cannot decode the access token`);
    const { header, payload } = decoded;
    const iat = Math.floor(Date.now() / 1000);
    const lines = [];
    for (let i = 0; i < FRESH_TOKENS; i++) {
      const claims = { ...payload, jti: randomUUID(), iat, exp: iat + 15 * 60 };
      lines.push(jwt.sign(claims, signing.key, { algorithm: signing.algorithm, header: /** @type {jwt.JwtHeader} */ (header) }));
    }
    writeFileSync(freshFile, `${lines.join('\n')}\n`);
    freshMadeAt = Date.now();
  };

  /** @param {string} body @param {string} expectBody @param {'success' | 'reject'} mode @param {string} [token] @returns {ScenarioSpec} */
  const graphqlSpec = (body, expectBody, mode, token) => ({
    path: '/graphql',
    method: 'POST',
    headers: token ? { ...JSON_HEADERS, authorization: `Bearer ${token}` } : { ...JSON_HEADERS },
    body,
    mode,
    expectStatus: [200],
    expectBody,
  });

  return {
    id,
    label,
    kind: 'tokengate',
    algorithm: signing?.algorithm ?? 'HS256',
    scenarios: scenarios ?? ['protected', 'apikey', ...(signing ? ['fresh'] : []), 'invalid', 'me', 'refresh', 'login'],
    login,
    async start() {
      const started = await launchAndWait(launch({}), label);
      managed = started.managed;
      port = started.port;
      const { json } = await graphql(port, QUERIES.signup, { username: user.username, password: user.password });
      // A PostgreSQL database may outlive a run; the bench user is then simply logged in.
      if (!json.data?.signup && !JSON.stringify(json).includes('USERNAME_TAKEN')) {
        throw new Error(`${label}: signup failed: ${JSON.stringify(json).slice(0, 500)}`);
      }
    },
    async prepare(scenario) {
      assertAlive(managed, label);
      switch (scenario) {
        case 'protected': {
          const { accessToken } = await login();
          return graphqlSpec(JSON.stringify({ query: QUERIES.protected }), `"loggedInAs":"${user.username}"`, 'success', accessToken);
        }
        case 'apikey': {
          // createApiKey needs a fresh token: the one a login just issued.
          const { accessToken } = await login();
          const { json } = await graphql(port, 'mutation { createApiKey(name: "bench", scopes: [PROFILE]) { key } }', {}, accessToken);
          const key = /** @type {{ createApiKey?: { key: string } } | undefined} */ (json.data)?.createApiKey?.key;
          if (!key) throw new Error(`${label}: createApiKey failed: ${JSON.stringify(json).slice(0, 500)}`);
          return graphqlSpec(JSON.stringify({ query: QUERIES.protected }), `"loggedInAs":"${user.username}"`, 'success', key);
        }
        case 'fresh': {
          await makeFreshTokens();
          // The first token also goes in the static headers, for the one-request check before the load (wrk replaces it per request).
          const first = readFileSync(freshFile, 'utf8').slice(0, readFileSync(freshFile, 'utf8').indexOf('\n'));
          return { ...graphqlSpec(JSON.stringify({ query: QUERIES.protected }), `"loggedInAs":"${user.username}"`, 'success', first), authTokensIn: freshFile };
        }
        case 'me': {
          const { accessToken } = await login();
          return graphqlSpec(JSON.stringify({ query: QUERIES.me }), `"username":"${user.username}"`, 'success', accessToken);
        }
        case 'invalid': {
          const { accessToken } = await login();
          return graphqlSpec(JSON.stringify({ query: QUERIES.protected }), '"INVALID_TOKEN"', 'reject', forgeToken(accessToken));
        }
        case 'login':
          return graphqlSpec(
            JSON.stringify({ query: QUERIES.login, variables: { username: user.username, password: user.password } }),
            '"accessToken":"',
            'success',
          );
        case 'refresh':
          await fillPool();
          return { ...graphqlSpec('', '"refreshToken":"', 'success'), body: undefined, tokensIn: poolFile, tokensOut: poolOut };
        default:
          throw new Error(`${label} has no scenario ${scenario}`);
      }
    },
    async after(scenario) {
      if (scenario === 'refresh' && existsSync(poolOut)) renameSync(poolOut, poolFile);
    },
    async coldStart(index) {
      /** @type {Record<string, string>} */
      const extra = sqlite ? { DATABASE_URL: path.join(tmp, `${id}-cold-${index}.sqlite`) } : {};
      return timeColdStart(launch(extra), label);
    },
    pids: () => (managed ? [managed.pid] : []),
    async stop() {
      await managed?.stop(10_000);
    },
    port: () => port,
    process: () => managed,
  };
}

/**
 * A baseline server from bench/baseline/ run by Node: spawned pinned with
 * tokengate's JWT_SECRET, measured on `protected` and `invalid` with specs
 * from `specFor` (a fresh tokengate access token each time).
 * @param {object} options
 * @param {'bare' | 'apollo'} options.id
 * @param {string} options.label
 * @param {string} options.script the file in bench/baseline/
 * @param {Record<string, string>} options.env extra environment
 * @param {string} options.secret
 * @param {string | null} options.cpu
 * @param {() => Promise<string>} options.accessToken
 * @param {(scenario: 'protected' | 'invalid', token: string) => ScenarioSpec} options.specFor
 * @returns {BenchServer}
 */
function nodeBaseline({ id, label, script, env, secret, cpu, accessToken, specFor }) {
  /** @type {Managed | null} */
  let managed = null;
  let port = 0;
  const launch = async () => {
    const p = await freePort();
    const m = spawnPinned(cpu, process.execPath, [path.join(BASELINE_DIR, script)], {
      env: { PATH: process.env.PATH ?? '', ...env, JWT_SECRET: secret, HOST: '127.0.0.1', PORT: String(p) },
      cwd: ROOT,
    });
    return { managed: m, port: p };
  };
  return {
    id,
    label,
    kind: id,
    scenarios: ['protected', 'invalid'],
    async start() {
      ({ managed, port } = await launchAndWait(launch, label));
    },
    async prepare(scenario) {
      assertAlive(managed, label);
      if (scenario !== 'protected' && scenario !== 'invalid') throw new Error(`${label} has no scenario ${scenario}`);
      return specFor(scenario, await accessToken());
    },
    async after() {},
    coldStart: () => timeColdStart(launch, label),
    pids: () => (managed ? [managed.pid] : []),
    async stop() {
      await managed?.stop();
    },
    port: () => port,
    process: () => managed,
  };
}

/**
 * The bare node:http + jsonwebtoken floor; verifies tokengate's tokens.
 * @param {object} options
 * @param {string} options.secret tokengate's JWT_SECRET
 * @param {string | null} options.cpu
 * @param {string} options.username
 * @param {() => Promise<string>} options.accessToken a fresh tokengate access token
 * @returns {BenchServer}
 */
export function bareServer({ secret, cpu, username, accessToken }) {
  return nodeBaseline({
    id: 'bare',
    label: 'bare node:http + jsonwebtoken',
    script: 'bare-server.mjs',
    env: {},
    secret,
    cpu,
    accessToken,
    specFor: (scenario, token) =>
      scenario === 'protected'
        ? { path: '/protected', method: 'GET', headers: { authorization: `Bearer ${token}` }, mode: 'success', expectStatus: [200], expectBody: `"loggedInAs":"${username}"` }
        : { path: '/protected', method: 'GET', headers: { authorization: `Bearer ${forgeToken(token)}` }, mode: 'reject', expectStatus: [401], expectBody: '' },
  });
}

/**
 * The Apollo floor (bench/baseline/apollo-floor.mjs): Apollo Server 5 on
 * node:http with tokengate's `protected` query alone, verifying tokengate's
 * tokens as the bare floor does. Between the bare floor and tokengate, it
 * shows how much of the gap is Apollo Server's own pipeline.
 * @param {object} options
 * @param {string} options.secret tokengate's JWT_SECRET
 * @param {string | null} options.cpu
 * @param {string} options.username
 * @param {() => Promise<string>} options.accessToken a fresh tokengate access token
 * @returns {BenchServer}
 */
export function apolloFloorServer({ secret, cpu, username, accessToken }) {
  /** @param {string} token @param {string} expectBody @param {'success' | 'reject'} mode @returns {ScenarioSpec} */
  const spec = (token, expectBody, mode) => ({
    path: '/graphql',
    method: 'POST',
    headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERIES.protected }),
    mode,
    expectStatus: [200],
    expectBody,
  });
  return nodeBaseline({
    id: 'apollo',
    label: 'Apollo floor (Apollo Server 5, node:http, jsonwebtoken)',
    script: 'apollo-floor.mjs',
    // NODE_ENV=production as tokengate runs: Apollo then leaves stack traces out of errors.
    env: { NODE_ENV: 'production' },
    secret,
    cpu,
    accessToken,
    // Refused as tokengate refuses: HTTP 200, a GraphQL error UNAUTHENTICATED with reason INVALID_TOKEN.
    specFor: (scenario, token) =>
      scenario === 'protected' ? spec(token, `"loggedInAs":"${username}"`, 'success') : spec(forgeToken(token), '"INVALID_TOKEN"', 'reject'),
  });
}

/**
 * The Flask seed under gunicorn with one sync worker.
 * @param {object} options
 * @param {string} options.gunicorn path of the gunicorn script
 * @param {string | null} options.cpu
 * @param {Credentials} options.user
 * @param {() => Promise<string>} options.invalidToken a forged tokengate token (same shape for every server)
 * @param {string | null} [options.pythonPath] a folder holding a flask_jwt_extended package, put first on
 *   PYTHONPATH so the seed imports it instead of the system's (BENCH_FLASK_JWT_EXTENDED)
 * @returns {BenchServer}
 */
export function flaskServer({ gunicorn, cpu, user, invalidToken, pythonPath = null }) {
  const label = 'Flask seed (gunicorn, 1 sync worker)';
  const secret = randomSecret();
  /** @type {Managed | null} */
  let managed = null;
  let port = 0;
  const launch = async () => {
    const p = await freePort();
    const m = spawnPinned(
      cpu,
      gunicorn,
      ['-w', '1', '-k', 'sync', '-b', `127.0.0.1:${p}`, '--graceful-timeout', '5', '--log-level', 'warning', 'flask_app:app'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          PYTHONDONTWRITEBYTECODE: '1',
          ...(pythonPath ? { PYTHONPATH: pythonPath } : {}),
          JWT_SECRET_KEY: secret,
          BENCH_USERNAME: user.username,
          BENCH_PASSWORD: user.password,
        },
        cwd: BASELINE_DIR,
      },
    );
    return { managed: m, port: p };
  };
  const login = async () => {
    assertAlive(managed, label);
    const res = await request(port, {
      method: 'POST',
      path: '/login',
      headers: JSON_HEADERS,
      body: JSON.stringify({ username: user.username, password: user.password }),
    });
    const token = res.status === 200 ? JSON.parse(res.body).access_token : undefined;
    if (typeof token !== 'string') throw new Error(`${label}: /login answered ${res.status} ${res.body.slice(0, 300)}`);
    return token;
  };
  return {
    id: 'flask',
    label,
    kind: 'flask',
    scenarios: ['protected', 'invalid', 'login'],
    async start() {
      ({ managed, port } = await launchAndWait(launch, label));
    },
    async prepare(scenario) {
      assertAlive(managed, label);
      switch (scenario) {
        case 'protected':
          return { path: '/protected', method: 'GET', headers: { authorization: `Bearer ${await login()}` }, mode: 'success', expectStatus: [200], expectBody: `"logged_in_as":"${user.username}"` };
        case 'invalid':
          // flask_jwt_extended answers a bad signature with 422 by default (401 for a missing header).
          return { path: '/protected', method: 'GET', headers: { authorization: `Bearer ${await invalidToken()}` }, mode: 'reject', expectStatus: [401, 422], expectBody: '' };
        case 'login':
          return {
            path: '/login',
            method: 'POST',
            headers: JSON_HEADERS,
            body: JSON.stringify({ username: user.username, password: user.password }),
            mode: 'success',
            expectStatus: [200],
            expectBody: '"access_token":"',
          };
        default:
          throw new Error(`${label} has no scenario ${scenario}`);
      }
    },
    async after() {},
    coldStart: () => timeColdStart(launch, label),
    // The gunicorn master and its worker.
    pids: () => (managed ? [managed.pid, ...childrenOf(managed.pid)] : []),
    async stop() {
      await managed?.stop(10_000);
    },
    port: () => port,
    process: () => managed,
  };
}
