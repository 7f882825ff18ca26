#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench`: tokengate against a bare node:http + jsonwebtoken floor,
 * an Apollo Server floor, and the Flask seed it grew from, under wrk, in one
 * run on one machine.
 * Writes docs/benchmarks.md. See the usage text below, or docs/benchmarks.md.
 *
 * Exits 1 when a correctness check fails (a success scenario answered with
 * errors, or a forged token was accepted), 2 when a prerequisite is missing;
 * a missed performance target is reported, never an error.
 */
import { spawn } from 'node:child_process';
import console from 'node:console';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { checkRun, checkTargets, fmtInt, fmtMB, fmtMs, renderResults, SCENARIOS, summarize } from './lib/report.mjs';
import { START, BENCH_RATE_LIMITS, apolloFloorServer, bareServer, flaskServer, forgeToken, randomSecret, ROOT, tokengateServer, writeBenchKey } from './lib/servers.mjs';
import { childrenOf, killAll, median, memoryOfAll, pinProcess, request, resetPeakMemory, runToEnd, waitUntilIdle } from './lib/util.mjs';
import { classify, runWrk } from './lib/wrk.mjs';

const USAGE = `Usage: npm run bench [-- options]     (or: node bench/run.mjs [options] after npm run build)

  --duration=N        seconds per measurement (default 10)
  --rounds=N          interleaved rounds; medians are over these (default 3)
  --warmup=N          seconds of warm-up per server and scenario before round 1 (default 3)
  --connections=N     wrk connections (default 50)
  --cold-starts=N     spawns timed per server for the cold start (default 5)
  --only=a,b          scenarios to run, of: ${Object.keys(SCENARIOS).join(', ')}
  --server-env=K=V    extra environment for tokengate (repeatable), e.g. a rate-limit setting
  --instances=2       also run two tokengate processes on one database (protected, me,
                      refresh), each under its own wrk with half the connections, at once;
                      twice a round: both on the server CPU, then one CPU each (wrk unpinned)
  --smoke             a quick check that the bench works: 1 s, 1 round, no warm-up,
                      1 cold start, and docs/benchmarks.md is left alone
  --websockets        then run bench/websockets.mjs (npm run bench passes this; with
                      --smoke a small run of 50 sockets, with --no-write it writes nothing)
  --write / --no-write  write docs/benchmarks.md or not (default: write, except with --smoke)

Env: BENCH_DATABASE_URL (postgres://…) and/or BENCH_REDIS_URL (redis://…) add a
second tokengate variant run with DATABASE_URL / REDIS_URL set to them.
BENCH_FLASK_JWT_EXTENDED=/path/to/checkout (a folder holding the flask_jwt_extended
package, e.g. a release's source) goes first on the Flask seed's PYTHONPATH, so the
seed runs that flask_jwt_extended instead of the system one.`;

const APT_LINE = 'sudo apt-get install wrk python3-flask python3-python-flask-jwt-extended gunicorn';
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const NOTES_MARKER = '<!-- bench: everything below this line is kept when the bench rewrites this file -->';

/**
 * @typedef {object} Options
 * @property {number} duration
 * @property {number} rounds
 * @property {number} warmup
 * @property {number} connections
 * @property {number} coldStarts
 * @property {string[]} only
 * @property {Record<string, string>} serverEnv
 * @property {1 | 2} instances
 * @property {boolean} smoke
 * @property {boolean} write
 * @property {boolean} websockets
 */

/**
 * @param {string[]} argv
 * @returns {Options}
 */
function parseArgs(argv) {
  const smoke = argv.includes('--smoke');
  /** @type {Options} */
  const o = {
    duration: smoke ? 1 : 10,
    rounds: smoke ? 1 : 3,
    warmup: smoke ? 0 : 3,
    connections: 50,
    coldStarts: smoke ? 1 : 5,
    only: Object.keys(SCENARIOS),
    serverEnv: {},
    instances: 1,
    smoke,
    write: !smoke,
    websockets: false,
  };
  for (const arg of argv) {
    const [name, ...rest] = arg.split('=');
    const value = rest.join('=');
    const int = (/** @type {number} */ min) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) usage(`${name} needs a whole number ≥ ${min}`);
      return n;
    };
    switch (name) {
      case '--duration': o.duration = int(1); break;
      case '--rounds': o.rounds = int(1); break;
      case '--warmup': o.warmup = int(0); break;
      case '--connections': o.connections = int(1); break;
      case '--cold-starts': o.coldStarts = int(0); break;
      case '--only':
        o.only = value.split(',').map((s) => s.trim()).filter(Boolean);
        for (const s of o.only) if (!(s in SCENARIOS)) usage(`unknown scenario "${s}"`);
        break;
      case '--server-env':
        if (!/^[A-Z_][A-Z0-9_]*=/.test(value)) usage('--server-env needs NAME=VALUE');
        o.serverEnv[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
        break;
      case '--instances': {
        const n = int(1);
        if (n > 2) usage('--instances is 1 or 2');
        o.instances = /** @type {1 | 2} */ (n);
        break;
      }
      case '--smoke': break;
      case '--websockets': o.websockets = true; break;
      case '--write': o.write = true; break;
      case '--no-write': o.write = false; break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: usage(`unknown option ${arg}`);
    }
  }
  return o;
}

/** @param {string} message @returns {never} */
function usage(message) {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(64);
}

/** @param {string} name @returns {string | null} the command's path on PATH */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = path.join(dir || '.', name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * BENCH_FLASK_JWT_EXTENDED: a folder holding a `flask_jwt_extended` package
 * (a source checkout) that goes first on the Flask seed's PYTHONPATH.
 * @returns {string | null} its absolute path, or null when unset
 */
function flaskJwtExtendedPath() {
  const value = process.env.BENCH_FLASK_JWT_EXTENDED;
  if (!value) return null;
  const dir = path.resolve(value);
  if (!existsSync(path.join(dir, 'flask_jwt_extended', '__init__.py'))) {
    console.error(`bench: BENCH_FLASK_JWT_EXTENDED=${value}: no flask_jwt_extended/__init__.py in that folder (it must hold the package, e.g. a source checkout's root)`);
    process.exit(2);
  }
  return dir;
}

/**
 * Checks what the bench needs and says what to install when something is missing.
 * @param {string | null} fjePath BENCH_FLASK_JWT_EXTENDED, resolved
 * @returns {Promise<{ gunicorn: string, python: string, cores: number, warnings: string[] }>}
 */
async function checkPrerequisites(fjePath) {
  const missing = [];
  const warnings = [];
  if (!which('wrk')) missing.push('wrk, the load generator (Debian package wrk)');
  if (!which('taskset')) missing.push('taskset, to pin processes to a core (Debian package util-linux)');
  const gunicorn = which('gunicorn') ?? which('gunicorn3');
  let python = '/usr/bin/python3';
  if (!gunicorn) {
    missing.push('gunicorn, which serves the Flask seed (Debian package gunicorn)');
  } else {
    // gunicorn runs the app with the interpreter of its #! line: Debian's, not a pyenv or venv one.
    const shebang = /^#!\s*(\S+)/.exec(readFileSync(gunicorn, 'utf8').split('\n')[0] ?? '');
    if (shebang) python = shebang[1];
    const probe = await runToEnd(python, ['-c', 'import flask, flask_jwt_extended'], { env: pythonEnv(fjePath) });
    if (probe.code !== 0) {
      missing.push(
        fjePath
          ? `flask_jwt_extended from ${fjePath} does not import with ${python}, which gunicorn uses: ${probe.stderr.trim().split('\n').pop()}`
          : `Flask and flask_jwt_extended for ${python}, which gunicorn uses (Debian packages python3-flask, python3-python-flask-jwt-extended)`,
      );
    }
  }
  for (const file of ['dist/main.js', 'dist/config/config.js']) {
    if (!existsSync(path.join(ROOT, file))) missing.push(`${file}: run \`npm run build\` (\`npm run bench\` builds first)`);
  }
  for (const mod of ['argon2', 'jsonwebtoken']) {
    if (!existsSync(path.join(ROOT, 'node_modules', mod))) missing.push(`node_modules/${mod}: run \`npm install\``);
  }
  if (missing.length > 0) {
    console.error(`bench: missing prerequisites:\n${missing.map((m) => `  - ${m}`).join('\n')}\n\nInstall the system ones with:\n  ${APT_LINE}\nthen run \`npm run bench\` again.`);
    process.exit(2);
  }
  const nproc = await runToEnd('nproc', []);
  const cores = Number(nproc.stdout.trim()) || os.availableParallelism();
  if (cores < 2) warnings.push(`only ${cores} CPU available: server and load generator share it, so the figures understate every server`);
  return { gunicorn: /** @type {string} */ (gunicorn), python, cores, warnings };
}

/**
 * The environment the Flask seed's interpreter runs with: the given
 * flask_jwt_extended checkout first on PYTHONPATH, nothing else inherited.
 * @param {string | null} fjePath
 * @returns {Record<string, string>}
 */
function pythonEnv(fjePath) {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', ...(fjePath ? { PYTHONPATH: fjePath } : {}) };
}

/**
 * @param {string} python
 * @param {string | null} fjePath BENCH_FLASK_JWT_EXTENDED, resolved
 * @returns {Promise<Record<string, string>>}
 */
async function describeMachine(python, fjePath) {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const nproc = (await runToEnd('nproc', [])).stdout.trim();
  const wrk = (await runToEnd('wrk', ['-v'])).stdout.split('\n')[0]?.replace(/\s+Copyright.*$/, '').trim() ?? '?';
  // The flask_jwt_extended the seed imports, asked of the same interpreter with the same PYTHONPATH:
  // a source checkout has no installed metadata (importlib.metadata would name the system copy), so __version__ first.
  const py = await runToEnd(
    python,
    [
      '-c',
      'import sys, importlib.metadata as m, flask_jwt_extended as f; ' +
        'print(sys.version.split()[0], m.version("flask"), getattr(f, "__version__", None) or m.version("flask-jwt-extended"), m.version("gunicorn"), m.version("pyjwt"))',
    ],
    { env: pythonEnv(fjePath) },
  );
  const [pyVersion, flask, fje, gunicorn, pyjwt] = py.stdout.trim().split(' ');
  const head = (await runToEnd('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })).stdout.trim();
  const dirty = (await runToEnd('git', ['status', '--porcelain', '--', 'src', 'package.json', 'package-lock.json'], { cwd: ROOT })).stdout.trim() !== '';
  return {
    nproc,
    'CPU model': model,
    memory: `${(os.totalmem() / 1_073_741_824).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrk,
    'Apollo floor': `@apollo/server ${packageVersion('@apollo/server')}, graphql ${packageVersion('graphql')}, jsonwebtoken ${packageVersion('jsonwebtoken')}`,
    'Flask seed': `Python ${pyVersion}, Flask ${flask}, flask-jwt-extended ${fje}${fjePath ? ` (from ${fjePath}, BENCH_FLASK_JWT_EXTENDED)` : ''}, PyJWT ${pyjwt}, gunicorn ${gunicorn}`,
    tokengate: head ? `commit ${head}${dirty ? ' plus uncommitted changes to src/' : ''}` : 'unknown',
  };
}

/** @param {string} name @returns {string} the version of an installed package, '?' when unknown */
function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version ?? '?';
  } catch {
    return '?';
  }
}

/** @returns {string} how this run was started, to print in the report */
function commandLine() {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') {
    // The script's own --websockets first, then what was given after `--`.
    const given = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--websockets')).join(' ');
    return `npm run bench${given ? ` -- ${given}` : ''}`;
  }
  return `node bench/run.mjs${args ? ` ${args}` : ''}`;
}

/**
 * The raw argon2 verify rate at tokengate's parameters, pinned like the servers.
 * @param {{ params: unknown, seconds: number, connections: number, cpu: string | null, env: Record<string, string> }} options
 * @returns {Promise<number>}
 */
async function argon2Rate({ params, seconds, connections, cpu, env }) {
  const script = path.join(ROOT, 'bench', 'argon2-rate.mjs');
  const args = [script, JSON.stringify(params), String(seconds), String(connections)];
  const [command, argv] = cpu === null ? [process.execPath, args] : ['taskset', ['-c', cpu, process.execPath, ...args]];
  const { code, stdout, stderr } = await runToEnd(command, argv, { env, cwd: ROOT });
  if (code !== 0) throw new Error(`argon2-rate failed (exit ${code}): ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}').rate;
}

/**
 * Writes docs/benchmarks.md: the how-to and method, this run's results, and
 * whatever was written below the notes marker (kept across runs).
 * @param {string} results
 */
function writeDoc(results) {
  const previous = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '';
  const at = previous.indexOf(NOTES_MARKER);
  const kept = at === -1 ? '\n## Observations\n\n(Notes written by people; the bench keeps this part.)\n' : previous.slice(at + NOTES_MARKER.length);
  const doc = `# Benchmarks

tokengate measured against the three programs it should be compared with, in one
run on one machine:

- **bare**: a bare \`node:http\` server (\`bench/baseline/bare-server.mjs\`) that
  verifies the same Bearer JWT with \`jsonwebtoken\` (key prepared once as a
  KeyObject, algorithm pinned to HS256; signature and \`exp\` only) and
  answers \`{"loggedInAs": …}\`: the simplest honest server, and the floor any
  GraphQL layer is measured against.
- **Apollo floor**: the simplest honest Apollo Server 5 server
  (\`bench/baseline/apollo-floor.mjs\`): \`node:http\`, the JSON body read whole,
  \`executeHTTPGraphQLRequest\` with a \`HeaderMap\`, a schema of tokengate's
  \`protected\` query alone, a context that verifies the token exactly as the
  bare floor does, no plugin but the disabled landing page (Apollo's defaults
  otherwise, so its cache-control plugin runs), \`NODE_ENV=production\`. It
  answers \`{"data":{"protected":{"loggedInAs":…}}}\`, and refuses a bad token as
  tokengate does (HTTP 200, \`UNAUTHENTICATED\` with reason \`INVALID_TOKEN\`).
  Measured on \`protected\` and \`invalid\`: between the bare floor and tokengate,
  it shows how much of the gap is Apollo Server's own pipeline and how much is
  tokengate's (sessions, permissions, query limits, request ids, logging).
- **Flask seed**: the classic flask_jwt_extended tutorial this project grew from
  (\`bench/baseline/flask_app.py\`: \`POST /login\`, \`GET /protected\`), from Debian's
  packages, under \`gunicorn -w 1 -k sync\`. Debian ships an older
  flask_jwt_extended than PyPI (bookworm: 4.4.4); \`BENCH_FLASK_JWT_EXTENDED\`
  (see How to run) runs the seed on another one, with Debian's Flask and PyJWT.
  The machine table names the flask_jwt_extended the seed actually imported
  (its \`__version__\`, asked of gunicorn's interpreter with the seed's
  \`PYTHONPATH\`).

## How to run

\`\`\`sh
${APT_LINE}
npm run bench                # 15–25 minutes; rewrites this file
npm run bench -- --smoke     # about two minutes: checks that it works, writes nothing
\`\`\`

Options: \`--duration=N\` (seconds per measurement, default 10), \`--rounds=N\`
(default 3), \`--warmup=N\` (default 3), \`--connections=N\` (default 50),
\`--cold-starts=N\` (default 5), \`--only=protected,me\`, \`--server-env=NAME=VALUE\`
(extra tokengate settings), \`--instances=2\` (see Method), \`--write\` / \`--no-write\`. With
\`BENCH_DATABASE_URL=postgres://…\` and/or \`BENCH_REDIS_URL=redis://…\` a second
tokengate variant runs with \`DATABASE_URL\` / \`REDIS_URL\` set to them
(\`eval "$(scripts/services.sh start)"\` starts local ones). The bench is not
part of \`npm test\`.

The Flask seed on a current flask_jwt_extended when PyPI is out of reach: point
\`BENCH_FLASK_JWT_EXTENDED\` at a folder that holds the \`flask_jwt_extended\`
package (a release's source tree) and the bench puts it first on the gunicorn
worker's \`PYTHONPATH\`; nothing is installed. For example, from a clone of
github.com/vimalloc/flask-jwt-extended:

\`\`\`sh
mkdir -p /tmp/fje-4.7.1 && git -C flask-jwt-extended archive 4.7.1 | tar -x -C /tmp/fje-4.7.1
PYTHONPATH=/tmp/fje-4.7.1 /usr/bin/python3 -c 'import flask_jwt_extended as f; print(f.__version__)'   # 4.7.1
BENCH_FLASK_JWT_EXTENDED=/tmp/fje-4.7.1 npm run bench
\`\`\`

Where tokengate's time goes under one scenario: \`node scripts/build.mjs --packages=external && node
bench/profile.mjs --scenario=protected\` (or \`invalid\`, \`me\`, \`refresh\`, \`login\`)
runs it under \`node --cpu-prof\` with the same load and prints self time by
package; the profile is written under the system's temporary folder.

Where the p99 comes from: \`sh bench/tail.sh\` runs one server under \`protected\`
with \`--trace-gc\` and prints the GC pauses beside the time the server spent
runnable but waiting for its core (\`/proc/<pid>/schedstat\`).

## Method

- tokengate runs as an operator runs it: \`NODE_ENV=production node dist/main.js\`,
  a random 48-character \`JWT_SECRET\`, a fresh SQLite file in a temporary folder,
  \`LOG_LEVEL=warn\`, every other setting at its default except the brute-force
  limits: they stay on (their counting runs on every \`login\`, \`signup\` and
  \`refreshToken\`), but with budgets of a million a second, because with the
  defaults 50 parallel logins of one user from one address are refused by
  design and \`refreshToken\` allows 120 a minute per address. The bench user is
  created with \`signup\`; tokens come from \`login\`.
- Every server is pinned to CPU 0 and wrk (\`-t1\`, a separate process) to CPU 1
  with \`taskset\`. Each scenario gets a warm-up, then 3 interleaved rounds
  (each round runs every scenario on every server once, the server order
  rotating); the tables show medians, because single runs on this kind of
  machine vary by 30 % and more. A ratio between two servers (or two
  scenarios) is the median of the per-round ratios: the two were measured
  minutes apart at most, so the machine's drift mostly cancels out.
- Before each measurement the bench waits until every server process is
  idle (at most 20 ms of CPU between them in 300 ms): a load generator that
  stops leaves work behind (50 logins still queued for hashing are seconds
  of Argon2 on the server core), which would otherwise run during the next
  measurement and show as its p99.
- Signing algorithms: \`protected\` and \`fresh\` also run on two more
  tokengate variants, the same deployment with \`JWT_ALGORITHM=ES256\` (P-256)
  and \`RS256\` (2048-bit RSA), each with a key made for the run. \`fresh\`
  tokens are signed by the bench with the server's own key and header (one
  real session, a new \`jti\` each), so every one is valid and none was seen before.
- Scenarios:
${Object.entries(SCENARIOS).map(([name, text]) => `  - \`${name}\`: ${text}`).join('\n')}
- What is counted is checked: \`bench/wrk/scenario.lua\` classifies every answer.
  Non-2xx answers and answers with GraphQL \`errors\` are counted separately; a
  success scenario must answer every request with the expected data, and the
  forged-token scenario must refuse every request (tokengate and the Apollo
  floor: \`UNAUTHENTICATED\` / \`INVALID_TOKEN\`; bare: 401; Flask: 422). Any other answer fails the bench
  (exit 1). For \`refreshToken\`, each request takes a refresh token that was
  never presented and the answer's new token goes back into the pool, so
  rotation really runs; an \`INVALID_REFRESH_TOKEN\` fails the bench.
- The raw argon2 verify rate is measured in the same run by a separate Node
  process on the server's core (\`bench/argon2-rate.mjs\`, 50 concurrent callers),
  at the parameters tokengate's own \`loadConfig\` yields and with the allocator
  settings \`npm start\` gives tokengate (\`MALLOC_ARENA_MAX\`, \`MALLOC_MMAP_THRESHOLD_\`
  from package.json "config": every 19 MiB Argon2 block is then mapped and
  unmapped, which keeps RSS bounded and costs about 15 % of the hash rate);
  \`login\` is compared with it.
- Two instances (\`--instances=2\`, off by default): a second tokengate process
  of the SQLite deployment opens the same file, and with
  \`BENCH_DATABASE_URL\` / \`BENCH_REDIS_URL\` a second process of that variant
  uses the same PostgreSQL and Redis. In each round, right after the
  one-instance runs of \`protected\`, \`me\` and \`refresh\` (not \`refresh\` on
  SQLite: see the notes of a run), both instances are loaded at once, each by
  its own wrk with half the connections, and their req/s are summed: once with
  both on CPU 0 and both wrk on CPU 1, once with one instance on each CPU and
  both wrk unpinned (\`taskset -a -p\` moves the second instance for that
  measurement), when wrk no longer has a core of its own. Each is compared,
  paired per round, with the one-instance figure on the same scenario.
- Where the gap to the bare floor goes: every server has one core, so
  1 / (req/s) is the core time a request costs. Of what tokengate costs per
  request beyond the bare floor, the part the Apollo floor costs too is
  Apollo Server's own pipeline; the rest is tokengate's.
- Peak RSS is the server's \`VmHWM\` (gunicorn: master plus worker), reset
  before each measurement (\`echo 5 > /proc/PID/clear_refs\`) and read after it,
  so each scenario has its own peak (the reset only brings it down to the
  current RSS, so memory the process kept from earlier scenarios counts in
  later ones). Cold start is
  spawn to the first 200 from \`/healthz\` (tokengate: on a fresh SQLite file, so
  it includes creating the schema), median of 5 spawns, before any load.
- Targets are ratios in one run on one machine; they are reported, never asserted.

## Results

${results}
${NOTES_MARKER}${kept}`;
  mkdirSync(path.dirname(DOC), { recursive: true });
  writeFileSync(DOC, doc);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const fjePath = flaskJwtExtendedPath();
  const prereq = { ...(await checkPrerequisites(fjePath)), fjePath };
  const serverCpu = prereq.cores >= 2 ? '0' : null;
  const loadCpu = prereq.cores >= 2 ? '1' : null;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokengate-bench-'));
  /** @type {import('./lib/servers.mjs').BenchServer[]} */
  let servers = [];
  const cleanup = async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.on(signal, () => {
      killAll();
      rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  }

  let code;
  try {
    code = await runBench(options, prereq, { serverCpu, loadCpu, tmp, setServers: (s) => (servers = s) });
  } finally {
    await cleanup();
  }
  if (options.websockets) {
    const ws = await runWebsockets(options);
    if (ws !== 0) console.error(`bench: bench/websockets.mjs failed (exit ${ws})`);
    if (ws !== 0 && code === 0) code = 1;
  }
  return code;
}

/**
 * The subscriptions bench, after this one has stopped its servers. `npm run
 * bench -- ARGS` hands ARGS to the last command of the script only, so the
 * script runs this file alone and this file runs the other.
 * @param {Options} options
 * @returns {Promise<number | null>} its exit code
 */
function runWebsockets(options) {
  const args = [
    path.join(ROOT, 'bench', 'websockets.mjs'),
    ...(options.smoke ? ['--sockets=50', '--runs=3', '--idle=1'] : []),
    ...(options.write ? [] : ['--no-write']),
  ];
  console.log(`\nnode bench/websockets.mjs ${args.slice(1).join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    child.on('error', () => resolve(-1));
    child.on('exit', (code) => resolve(code));
  });
}

/**
 * @param {Options} options
 * @param {{ gunicorn: string, python: string, cores: number, warnings: string[], fjePath: string | null }} prereq
 * @param {{ serverCpu: string | null, loadCpu: string | null, tmp: string, setServers: (s: import('./lib/servers.mjs').BenchServer[]) => void }} ctx
 * @returns {Promise<number>} the exit code
 */
async function runBench(options, prereq, { serverCpu, loadCpu, tmp, setServers }) {
  const started = Date.now();
  const log = (/** @type {string} */ line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  for (const w of prereq.warnings) console.warn(`bench: warning: ${w}`);
  const machine = await describeMachine(prereq.python, prereq.fjePath);
  const user = { username: `bench-${randomSecret().slice(0, 8).replace(/[^A-Za-z0-9]/g, 'x')}`, password: 'correct horse battery staple' };
  const secret = randomSecret();
  /** @type {Record<string, string>} */
  const baseEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmp,
    NODE_ENV: 'production',
    JWT_SECRET: secret,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...BENCH_RATE_LIMITS,
    ...options.serverEnv,
  };
  const poolSize = options.only.includes('refresh') ? (options.smoke ? options.connections + 20 : options.connections * 4) : 0;

  /** @type {Parameters<typeof tokengateServer>[0]} */
  const primaryOptions = {
    id: 'tokengate',
    label: 'tokengate (SQLite)',
    env: { ...baseEnv, DATABASE_URL: path.join(tmp, 'bench.sqlite') },
    sqlite: true,
    tmp,
    cpu: serverCpu,
    user,
    poolSize,
    signing: { algorithm: 'HS256', key: secret },
  };
  const primary = tokengateServer(primaryOptions);
  const tokengates = [primary];
  /** The HS256 deployments a second instance can join: SQLite, and PostgreSQL / Redis when given. */
  const shareable = [primaryOptions];
  const pgUrl = process.env.BENCH_DATABASE_URL;
  const redisUrl = process.env.BENCH_REDIS_URL;
  if (pgUrl || redisUrl) {
    const parts = [pgUrl ? 'PostgreSQL' : 'SQLite', ...(redisUrl ? ['Redis'] : [])];
    /** @type {Parameters<typeof tokengateServer>[0]} */
    const sharedOptions = {
      id: 'tokengate-shared',
      label: `tokengate (${parts.join(' + ')})`,
      env: { ...baseEnv, DATABASE_URL: pgUrl || path.join(tmp, 'bench-shared.sqlite'), ...(redisUrl ? { REDIS_URL: redisUrl } : {}) },
      sqlite: !pgUrl,
      tmp,
      cpu: serverCpu,
      user,
      poolSize,
      signing: { algorithm: 'HS256', key: secret },
    };
    tokengates.push(tokengateServer(sharedOptions));
    shareable.push(sharedOptions);
  }
  // The same deployment signing with a key pair: `protected` (memoized verdict) and `fresh` (full verification) only.
  const keyedScenarios = ['protected', 'fresh'].filter((s) => options.only.includes(s));
  if (keyedScenarios.length > 0) {
    for (const algorithm of /** @type {const} */ (['ES256', 'RS256'])) {
      const key = writeBenchKey(tmp, algorithm);
      tokengates.push(
        tokengateServer({
          id: `tokengate-${algorithm.toLowerCase()}`,
          label: `tokengate (SQLite, ${algorithm})`,
          env: { ...baseEnv, DATABASE_URL: path.join(tmp, `bench-${algorithm.toLowerCase()}.sqlite`), JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY_FILE: key.file },
          sqlite: true,
          tmp,
          cpu: serverCpu,
          user,
          poolSize: 0,
          scenarios: keyedScenarios,
          signing: { algorithm, key: key.pem },
        }),
      );
    }
  }
  const accessToken = async () => (await primary.login()).accessToken;
  const servers = [
    ...tokengates,
    bareServer({ secret, cpu: serverCpu, username: user.username, accessToken }),
    apolloFloorServer({ secret, cpu: serverCpu, username: user.username, accessToken }),
    flaskServer({ gunicorn: prereq.gunicorn, cpu: serverCpu, user, pythonPath: prereq.fjePath, invalidToken: async () => forgeToken(await accessToken()) }),
  ];

  // --instances=2: a second process of the same deployment (same DATABASE_URL, same REDIS_URL), started after
  // the first so the schema is there; measured only as a pair, never alone, and never cold-started.
  const pairScenarios = options.instances === 2 ? ['protected', 'me', 'refresh'].filter((s) => options.only.includes(s)) : [];
  /** @type {import('./lib/report.mjs').InstancePair[]} */
  const pairInfos = [];
  /** @type {Array<{ id: string, a: import('./lib/servers.mjs').BenchServer, b: import('./lib/servers.mjs').BenchServer, scenarios: string[] }>} */
  const pairs = [];
  /** @type {string[]} */
  const earlyNotes = [];
  if (pairScenarios.length > 0 && (serverCpu === null || loadCpu === null)) {
    earlyNotes.push('--instances=2 needs two CPUs (one each for the two-CPU line); the two-instance runs were skipped.');
  } else if (pairScenarios.length > 0) {
    for (const opts of shareable) {
      const a = /** @type {import('./lib/servers.mjs').BenchServer} */ (tokengates.find((t) => t.id === opts.id));
      // Since every transaction begins IMMEDIATE, two processes refreshing on one SQLite file wait for each other's write lock.
      const scenarios = pairScenarios;
      if (scenarios.length === 0) continue;
      const b = tokengateServer({ ...opts, id: `${opts.id}-2`, label: `${opts.label}, instance 2`, scenarios });
      pairs.push({ id: opts.id, a, b, scenarios });
      pairInfos.push({ id: opts.id, label: opts.label });
    }
  } else if (options.instances === 2) {
    earlyNotes.push('--instances=2: none of protected, me, refresh was among the scenarios, so no two-instance run.');
  }
  const half = Math.max(1, Math.floor(options.connections / 2));

  // argon2 parameters as tokengate itself resolves them from this environment.
  const { loadConfig } = await import(pathToFileURL(path.join(ROOT, 'dist', 'config', 'config.js')).href);
  const argon2Params = loadConfig({ ...baseEnv, DATABASE_URL: path.join(tmp, 'bench.sqlite') }).argon2;

  log(`machine: ${machine.nproc} CPUs, ${machine['CPU model']}; node ${machine.node}; ${machine.wrk}`);
  log(`${options.rounds} round(s) of ${options.duration} s at ${options.connections} connections; scenarios: ${options.only.join(', ')}`);

  // Cold starts first, on a quiet machine.
  /** @type {Map<string, number[]>} */
  const coldStart = new Map(servers.map((s) => [s.id, []]));
  for (let i = 0; i < options.coldStarts; i++) {
    for (const server of servers) coldStart.get(server.id)?.push(await server.coldStart(i));
  }
  if (options.coldStarts > 0) {
    log(`cold start (median of ${options.coldStarts}): ${servers.map((s) => `${s.label} ${fmtMs(median(coldStart.get(s.id) ?? []))}`).join('; ')}`);
  }

  for (const server of [...servers, ...pairs.map((p) => p.b)]) {
    await server.start();
    setServers([...servers, ...pairs.map((p) => p.b)].filter((s) => s.process() !== null));
  }
  /** @type {Map<string, { idle: number, end: number }>} */
  const memory = new Map(servers.map((s) => [s.id, { idle: memoryOfAll(s.pids())?.current ?? NaN, end: NaN }]));
  log(`servers up: ${[...servers, ...pairs.map((p) => p.b)].map((s) => `${s.label} on :${s.port()}`).join(', ')}`);

  /** @type {Map<string, { mode: 'success' | 'reject', runs: import('./lib/wrk.mjs').WrkResult[], peaks: number[] }>} */
  const measured = new Map();
  /** @type {string[]} */
  const failures = [];
  /** @type {string[]} */
  const notes = [...earlyNotes];

  // One request per scenario before any load, so a wrong expectation fails fast and clearly.
  for (const scenario of options.only) {
    for (const server of [...servers, ...pairs.map((p) => p.b)].filter((s) => s.scenarios.includes(scenario) && scenario !== 'refresh')) {
      const spec = await server.prepare(scenario);
      const res = await request(server.port(), { method: spec.method, path: spec.path, headers: spec.headers, body: spec.body });
      const verdict = classify(spec, res);
      if (verdict !== 'good') {
        throw new Error(`${server.label}, ${scenario}: the first request was answered ${res.status} ${res.body.slice(0, 400)} (${verdict})`);
      }
    }
  }

  /**
   * One wrk run, checked.
   * @param {import('./lib/servers.mjs').BenchServer} server
   * @param {string} scenario
   * @param {number} seconds
   * @param {string} phase
   */
  /**
   * Every process under test shares the server core: before a measurement,
   * wait until all of them have finished what the last one left behind.
   */
  const settle = () => waitUntilIdle([...servers, ...pairs.map((p) => p.b)].flatMap((s) => s.pids().flatMap((pid) => [pid, ...childrenOf(pid)])));

  const measure = async (server, scenario, seconds, phase) => {
    const spec = await server.prepare(scenario);
    await settle();
    // The peak RSS of this measurement alone: reset the high-water mark, read it after.
    const reset = resetPeakMemory(server.pids());
    const result = await runWrk({ port: server.port(), spec, seconds, connections: options.connections, cpu: loadCpu });
    const peak = reset ? (memoryOfAll(server.pids())?.peak ?? NaN) : NaN;
    await server.after(scenario);
    const problems = checkRun(spec.mode, result);
    for (const p of problems) failures.push(`${phase}, ${scenario} on ${server.label}: ${p}`);
    const sock = result.socketErrors;
    const socketTotal = sock.connect + sock.read + sock.write + sock.timeout;
    if (socketTotal > 0) notes.push(`${phase}, ${scenario} on ${server.label}: wrk socket errors ${JSON.stringify(sock)}`);
    log(
      `${phase.padEnd(9)} ${scenario.padEnd(9)} ${server.label.padEnd(38)} ${fmtInt(result.rps).padStart(7)} req/s  ` +
        `p50 ${fmtMs(result.p50Ms).padStart(9)}  p99 ${fmtMs(result.p99Ms).padStart(9)}  ` +
        `peak RSS ${fmtMB(peak).padStart(8)}  non-2xx ${result.non2xx}, errors ${result.gqlErrors}${problems.length ? `  FAILED: ${problems.join('; ')}` : ''}`,
    );
    return { spec, result, peak };
  };

  /**
   * Both instances of a pair under load at once, each from its own wrk with half the connections.
   * 'one-cpu': both on the server CPU, both wrk on the load CPU. 'two-cpus': instance 2 moved to
   * the load CPU for this measurement and both wrk unpinned, so they share the cores with the servers.
   * @param {{ id: string, a: import('./lib/servers.mjs').BenchServer, b: import('./lib/servers.mjs').BenchServer, scenarios: string[] }} pair
   * @param {string} scenario
   * @param {'one-cpu' | 'two-cpus'} where
   * @param {number} seconds
   * @param {string} phase
   * @returns {Promise<import('./lib/report.mjs').PairRun>}
   */
  const measurePair = async (pair, scenario, where, seconds, phase) => {
    const cpuA = /** @type {string} */ (serverCpu);
    const cpuB = where === 'two-cpus' ? /** @type {string} */ (loadCpu) : cpuA;
    const pidB = pair.b.pids()[0];
    await pinProcess(pidB, cpuB);
    try {
      const specA = await pair.a.prepare(scenario);
      const specB = await pair.b.prepare(scenario);
      await settle();
      const wrkCpu = where === 'two-cpus' ? null : loadCpu;
      const [ra, rb] = await Promise.all([
        runWrk({ port: pair.a.port(), spec: specA, seconds, connections: half, cpu: wrkCpu }),
        runWrk({ port: pair.b.port(), spec: specB, seconds, connections: half, cpu: wrkCpu }),
      ]);
      await pair.a.after(scenario);
      await pair.b.after(scenario);
      const problems = [...checkRun(specA.mode, ra).map((p) => `instance 1: ${p}`), ...checkRun(specB.mode, rb).map((p) => `instance 2: ${p}`)];
      const label = `${pair.a.label} ×2, ${where === 'one-cpu' ? `both on CPU ${cpuA}` : `CPUs ${cpuA} + ${cpuB}`}`;
      for (const p of problems) failures.push(`${phase}, ${scenario} on ${label}: ${p}`);
      for (const [n, r] of /** @type {const} */ ([[1, ra], [2, rb]])) {
        const sock = r.socketErrors;
        if (sock.connect + sock.read + sock.write + sock.timeout > 0) notes.push(`${phase}, ${scenario} on ${label}, instance ${n}: wrk socket errors ${JSON.stringify(sock)}`);
      }
      const run = {
        rps: ra.rps + rb.rps,
        rpsEach: /** @type {[number, number]} */ ([ra.rps, rb.rps]),
        p99Ms: Math.max(ra.p99Ms, rb.p99Ms),
        responses: ra.responses + rb.responses,
        errors: ra.non2xx + rb.non2xx + ra.gqlErrors + rb.gqlErrors,
        problems,
      };
      log(
        `${phase.padEnd(9)} ${scenario.padEnd(9)} ${label.padEnd(38)} ${fmtInt(run.rps).padStart(7)} req/s  ` +
          `(${fmtInt(ra.rps)} + ${fmtInt(rb.rps)})  worse p99 ${fmtMs(run.p99Ms).padStart(9)}${problems.length ? `  FAILED: ${problems.join('; ')}` : ''}`,
      );
      return run;
    } finally {
      await pinProcess(pidB, cpuA);
    }
  };
  /** @type {Map<string, import('./lib/report.mjs').PairRun[]>} keyed `${pairId}:${scenario}:${where}`, one entry a round */
  const pairMeasured = new Map();

  if (options.warmup > 0) {
    for (const scenario of options.only) {
      for (const server of servers.filter((s) => s.scenarios.includes(scenario))) await measure(server, scenario, options.warmup, 'warm-up');
      // Warms the second instances (the first ones were just warmed alone).
      for (const pair of pairs.filter((p) => p.scenarios.includes(scenario))) await measurePair(pair, scenario, 'one-cpu', options.warmup, 'warm-up');
    }
  }

  /** @type {number[]} */
  const argon2Rates = [];
  for (let round = 0; round < options.rounds; round++) {
    const phase = `round ${round + 1}/${options.rounds}`;
    for (const scenario of options.only) {
      const order = servers.filter((s) => s.scenarios.includes(scenario));
      // Rotate the server order each round, so no server always runs first after a pause.
      const rotated = order.map((_, i) => order[(i + round) % order.length]);
      if (scenario === 'login') {
        await settle();
        // With the allocator settings npm start gives tokengate (package.json "config"): the same conditions its hashes run in.
        const rate = await argon2Rate({ params: argon2Params, seconds: options.duration, connections: options.connections, cpu: serverCpu, env: { ...baseEnv, ...START.env } });
        argon2Rates.push(rate);
        log(`${phase.padEnd(9)} argon2    ${'raw argon2 verify'.padEnd(38)} ${rate.toFixed(1).padStart(7)} verifies/s`);
      }
      for (const server of rotated) {
        const { spec, result, peak } = await measure(server, scenario, options.duration, phase);
        const key = `${server.id}:${scenario}`;
        const entry = measured.get(key) ?? { mode: spec.mode, runs: [], peaks: [] };
        entry.runs.push(result);
        entry.peaks.push(peak);
        measured.set(key, entry);
      }
      // The pairs right after the single instances on the same scenario, in the same round, so the ratio pairs them.
      if (pairScenarios.includes(scenario)) {
        const wheres = /** @type {const} */ (['one-cpu', 'two-cpus']);
        for (const pair of pairs.filter((p) => p.scenarios.includes(scenario))) {
          for (const where of round % 2 === 0 ? wheres : [...wheres].reverse()) {
            const key = `${pair.id}:${scenario}:${where}`;
            pairMeasured.set(key, [...(pairMeasured.get(key) ?? []), await measurePair(pair, scenario, where, options.duration, phase)]);
          }
        }
      }
    }
  }

  for (const server of servers) {
    const m = memory.get(server.id);
    if (m) m.end = memoryOfAll(server.pids())?.current ?? NaN;
    await server.stop();
  }
  for (const pair of pairs) await pair.b.stop();

  const infos = servers.map(({ id, label, kind, algorithm }) => ({ id, label, kind, algorithm }));
  const rows = summarize(infos, measured);
  const argon2 = argon2Rates.length > 0 ? { rate: median(argon2Rates), rates: argon2Rates, params: argon2Params } : null;
  const targets = checkTargets(rows, infos, { argon2Rates, coldStart });
  if (prereq.warnings.length > 0) notes.push(...prereq.warnings);
  notes.push(
    'gunicorn\'s sync worker closes the connection after every response, so wrk reconnects for each Flask request; that is how the seed is served.',
    'Flask\'s `/login` compares the password in plain text; tokengate\'s `login` verifies an argon2id hash, so their ratio is not like for like.',
  );
  const results = renderResults({
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: commandLine(),
    machine,
    settings: { duration: options.duration, rounds: options.rounds, warmup: options.warmup, connections: options.connections, coldStarts: options.coldStarts, serverCpu, loadCpu },
    rows,
    argon2,
    servers: infos,
    memory,
    coldStart,
    targets,
    instances: pairs.length > 0 ? { pairs: pairInfos, scenarios: pairScenarios, runs: pairMeasured, connectionsEach: half, serverCpu: /** @type {string} */ (serverCpu), loadCpu: /** @type {string} */ (loadCpu) } : null,
    failures: [...new Set(failures)],
    notes: [...new Set(notes)],
  });
  console.log(`\n${results}`);
  if (options.write) {
    writeDoc(results);
    log(`wrote ${path.relative(process.cwd(), DOC) || DOC}`);
  }
  if (failures.length > 0) {
    console.error(`bench: ${failures.length} correctness check(s) failed (see above)`);
    return 1;
  }
  log('done');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    killAll();
    process.exit(1);
  },
);
