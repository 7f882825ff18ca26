// @ts-check
/**
 * Runs wrk as a separate process, pinned to the load generator's core, with
 * bench/wrk/scenario.lua classifying every response.
 */
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { runToEnd } from './util.mjs';

const SCRIPT = fileURLToPath(new URL('../wrk/scenario.lua', import.meta.url));

/**
 * What one scenario sends and what counts as the expected answer.
 * @typedef {object} ScenarioSpec
 * @property {string} path
 * @property {'GET' | 'POST'} method
 * @property {Record<string, string>} headers
 * @property {string} [body]
 * @property {'success' | 'reject'} mode success: every answer must be the expected one; reject: every answer must be a refusal
 * @property {number[]} expectStatus
 * @property {string} expectBody a plain substring of the expected answer
 * @property {string} [tokensIn] refresh rotation: file of refresh tokens, one a line
 * @property {string} [tokensOut] where wrk writes the tokens left unused
 * @property {string} [authTokensIn] file of access tokens, one a line: each request sends the next as its Bearer token, round-robin
 */

/**
 * The counts of one wrk run.
 * @typedef {object} WrkResult
 * @property {number} requests
 * @property {number} seconds
 * @property {number} rps
 * @property {number} p50Ms
 * @property {number} p90Ms
 * @property {number} p99Ms
 * @property {number} maxMs
 * @property {number} responses
 * @property {number} non2xx
 * @property {number} gqlErrors responses whose body has a top-level "errors"
 * @property {number} good responses that were exactly the expected answer
 * @property {number} accepted in a rejection scenario: answers that looked like a success
 * @property {number} unexpected answers that were neither expected nor (for rejections) an acceptance
 * @property {number} invalidRefresh answers naming INVALID_REFRESH_TOKEN
 * @property {number} rateLimited answers naming RATE_LIMITED
 * @property {number} exhausted refresh requests sent without a token left in the pool
 * @property {{ connect: number, read: number, write: number, timeout: number }} socketErrors
 * @property {number} tokensLeft
 * @property {string} sample the first unexpected answer, "status body…"
 * @property {string} raw wrk's whole output
 */

/**
 * @param {object} options
 * @param {number} options.port
 * @param {ScenarioSpec} options.spec
 * @param {number} options.seconds
 * @param {number} options.connections
 * @param {string | null} options.cpu taskset CPU list for wrk, or null
 * @returns {Promise<WrkResult>}
 */
export async function runWrk({ port, spec, seconds, connections, cpu }) {
  const headers = Object.entries(spec.headers).map(([name, value]) => `${name}: ${value}`).join('\n');
  /** @type {Record<string, string>} */
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    BENCH_METHOD: spec.method,
    BENCH_HEADERS: headers,
    BENCH_MODE: spec.mode,
    BENCH_EXPECT_STATUS: spec.expectStatus.join(','),
    BENCH_EXPECT_BODY: spec.expectBody,
    BENCH_THREADS: '1',
  };
  if (spec.body !== undefined) env.BENCH_BODY = spec.body;
  if (spec.tokensIn) env.BENCH_TOKENS_IN = spec.tokensIn;
  if (spec.tokensOut) env.BENCH_TOKENS_OUT = spec.tokensOut;
  if (spec.authTokensIn) env.BENCH_AUTH_TOKENS = spec.authTokensIn;
  const args = ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--timeout', '10s', '--latency', '-s', SCRIPT, `http://127.0.0.1:${port}${spec.path}`];
  const [command, argv] = cpu === null ? ['wrk', args] : ['taskset', ['-c', cpu, 'wrk', ...args]];
  const { code, stdout, stderr } = await runToEnd(command, argv, { env, cwd: path.dirname(SCRIPT) });
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (code !== 0 || line === undefined) {
    throw new Error(`wrk failed (exit ${code}) against 127.0.0.1:${port}${spec.path}:\n${stdout}\n${stderr}`);
  }
  const r = JSON.parse(line.slice('BENCH_RESULT '.length));
  const secondsRun = r.duration_us / 1e6;
  return {
    requests: r.requests,
    seconds: secondsRun,
    rps: r.requests / secondsRun,
    p50Ms: r.p50_us / 1000,
    p90Ms: r.p90_us / 1000,
    p99Ms: r.p99_us / 1000,
    maxMs: r.max_us / 1000,
    responses: r.responses,
    non2xx: r.non2xx,
    gqlErrors: r.gql_errors,
    good: r.good,
    accepted: r.accepted,
    unexpected: r.unexpected,
    invalidRefresh: r.invalid_refresh,
    rateLimited: r.rate_limited,
    exhausted: r.exhausted,
    socketErrors: r.socket_errors,
    tokensLeft: r.tokens_left,
    sample: r.sample,
    raw: stdout,
  };
}

/**
 * Classifies one answer the way scenario.lua does, for the one-request check
 * before a scenario is loaded.
 * @param {ScenarioSpec} spec
 * @param {{ status: number, body: string }} res
 * @returns {'good' | 'accepted' | 'unexpected'}
 */
export function classify(spec, res) {
  const ok2xx = res.status >= 200 && res.status < 300;
  const hasErrors = res.body.includes('"errors"');
  const expected = spec.expectStatus.includes(res.status) && res.body.includes(spec.expectBody);
  if (spec.mode === 'success') return expected && !hasErrors ? 'good' : 'unexpected';
  if (ok2xx && !hasErrors) return 'accepted';
  return expected ? 'good' : 'unexpected';
}
