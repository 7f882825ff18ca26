#!/usr/bin/env node
// @ts-check
/**
 * Where tokengate's time goes under one scenario's load: runs the compiled
 * server with `node --cpu-prof` (pinned like in the bench), drives it with wrk,
 * stops it, and prints self time by package and the top functions.
 *
 *   node scripts/build.mjs --packages=external && node bench/profile.mjs [--scenario=protected] [--duration=15] [--out=/tmp/dir]
 *   (npm run build bundles every package into dist/, which would charge all their time to tokengate)
 *   node bench/profile.mjs --summarize=/tmp/dir/file.cpuprofile [--from=µs --to=µs]
 *
 * The profile is written outside the repository (a folder under the system
 * temporary folder unless --out says otherwise).
 */
import console from 'node:console';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { BENCH_RATE_LIMITS, randomSecret, tokengateServer } from './lib/servers.mjs';
import { killAll } from './lib/util.mjs';
import { runWrk } from './lib/wrk.mjs';

/**
 * @typedef {object} ProfileNode
 * @property {number} id
 * @property {{ functionName: string, url: string, lineNumber: number, columnNumber: number }} callFrame
 * @property {number[]} [children]
 */

/**
 * Who a frame belongs to: an npm package, tokengate's own code, Node's
 * internals, or one of V8's pseudo-frames.
 * @param {ProfileNode['callFrame']} frame
 * @returns {string}
 */
function ownerOf(frame) {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return '(program: native, not attributed)';
    if (functionName === '(root)') return '(root)';
    return '(V8/native builtins)';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
  }
  if (url.startsWith('node:')) return 'node (core)';
  if (url.includes('/dist/')) return 'tokengate';
  return url;
}

/** Owners that are not code anyone chose to call: Node's core, V8's builtins and pseudo-frames. */
const PLATFORM = /^(node \(core\)|\(.*\))$/;

/**
 * Prints self time by owner and the top functions of a .cpuprofile. "By
 * caller" charges time spent in Node's core and V8's builtins (writing to
 * sockets, HMAC, microtasks) to the nearest package or tokengate frame above it.
 * @param {string} file
 * @param {{ top?: number, fromUs?: number, toUs?: number }} [options] a window in the profile's clock (µs, monotonic)
 */
export function summarize(file, options = {}) {
  const { top = 30, fromUs = -Infinity, toUs = Infinity } = options;
  /** @type {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} */
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** @type {Map<number, number>} */
  const self = new Map();
  let t = profile.startTime;
  let windowUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) return;
    windowUs += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
  });

  /** @param {number} id @returns {string} the nearest owner up the stack that is not the platform */
  const callerOf = (id) => {
    for (let at = /** @type {number | undefined} */ (id); at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node) break;
      const owner = ownerOf(node.callFrame);
      if (!PLATFORM.test(owner)) return owner;
    }
    return ownerOf(byId.get(id)?.callFrame ?? { functionName: '(root)', url: '', lineNumber: 0, columnNumber: 0 });
  };

  /** @type {Map<string, number>} */
  const owners = new Map();
  /** @type {Map<string, number>} */
  const callers = new Map();
  /** @type {Map<string, { owner: string, us: number }>} */
  const functions = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const owner = ownerOf(node.callFrame);
    if (owner === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const caller = callerOf(id);
    callers.set(caller, (callers.get(caller) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    const f = functions.get(key) ?? { owner, us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  const pct = (/** @type {number} */ us) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const list = (/** @type {Map<string, number>} */ map) =>
    [...map].sort((a, b) => b[1] - a[1]).filter(([, us]) => us / total >= 0.002).map(([name, us]) => `  ${pct(us)}  ${name}`).join('\n');
  console.log(`profile ${file}`);
  console.log(`window ${(windowUs / 1e6).toFixed(2)} s: busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s\n`);
  console.log(`self time by owner (share of busy time; ≥ 0.2 %):\n${list(owners)}\n`);
  console.log(`self time by caller (Node core and V8 builtins charged to the package or tokengate code that called them):\n${list(callers)}\n`);
  console.log(`top ${top} functions by self time:`);
  for (const [name, f] of [...functions].sort((a, b) => b[1].us - a[1].us).slice(0, top)) console.log(`  ${pct(f.us)}  [${f.owner}] ${name}`);
}

async function main() {
  const args = Object.fromEntries(process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, '').split('=');
    return [k, v.join('=')];
  }));
  if (args.summarize) return summarize(args.summarize, { fromUs: Number(args.from || -Infinity), toUs: Number(args.to || Infinity) });

  const scenario = args.scenario || 'protected';
  const duration = Number(args.duration || 15);
  const out = args.out || mkdtempSync(path.join(os.tmpdir(), 'tokengate-profile-'));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokengate-profile-db-'));
  const server = tokengateServer({
    id: 'tokengate',
    label: `tokengate (${process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}${process.env.BENCH_REDIS_URL ? ' + Redis' : ''}, --cpu-prof)`,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? tmp,
      NODE_ENV: 'production',
      JWT_SECRET: randomSecret(),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...BENCH_RATE_LIMITS,
      // BENCH_DATABASE_URL / BENCH_REDIS_URL profile that deployment instead, as in bench/run.mjs.
      DATABASE_URL: process.env.BENCH_DATABASE_URL || path.join(tmp, 'bench.sqlite'),
      ...(process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL } : {}),
    },
    sqlite: !process.env.BENCH_DATABASE_URL,
    tmp,
    cpu: os.availableParallelism() >= 2 ? '0' : null,
    user: { username: 'bench-profile', password: 'correct horse battery staple' },
    poolSize: 200,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`],
  });
  // The measured run's window, in the monotonic clock the profile uses (µs), so start-up and warm-up are left out.
  let fromUs = -Infinity;
  let toUs = Infinity;
  try {
    await server.start();
    for (const [phase, seconds] of /** @type {const} */ ([['warm-up', 3], ['measured', duration]])) {
      const spec = await server.prepare(scenario);
      const t0 = process.hrtime.bigint() / 1000n;
      const r = await runWrk({ port: server.port(), spec, seconds, connections: 50, cpu: os.availableParallelism() >= 2 ? '1' : null });
      if (phase === 'measured') [fromUs, toUs] = [Number(t0), Number(process.hrtime.bigint() / 1000n)];
      await server.after(scenario);
      console.log(`${phase} ${scenario}: ${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.non2xx} non-2xx, ${r.gqlErrors} with errors`);
    }
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  const files = readdirSync(out).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile was written to ${out}`);
  const file = path.join(out, files.sort().at(-1) ?? '');
  summarize(file, { fromUs, toUs });
  console.log(`\nagain: node bench/profile.mjs --summarize=${file} --from=${fromUs} --to=${toUs}`);
}

main().catch((error) => {
  console.error(`profile: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  killAll();
  process.exit(1);
});
