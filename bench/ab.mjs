#!/usr/bin/env node
// @ts-check
/**
 * A quick A/B of tokengate builds or settings on one scenario: starts each
 * variant pinned to the server core, then measures them interleaved
 * (A B A B …) and prints per-variant medians and the median of the paired
 * ratios against the first, in req/s and in server CPU time per request
 * (from /proc: less disturbed by other load on the machine than req/s). For deciding whether a change is worth keeping;
 * `npm run bench` is the report.
 *
 *   node bench/ab.mjs --scenario=protected --rounds=5 --duration=5 [--warmup=3] \
 *     --variant='base' --variant='semi16:--max-semi-space-size=16' \
 *     --variant='dist2:@/tmp/other-dist' --variant='pg:DATABASE_URL=postgres://…'
 *
 * A variant is NAME[:PART,PART…]; a PART is a node flag (starts with --),
 * NAME=VALUE for the server's environment, @DIR for another build's dist/,
 * or #SCENARIO for a scenario of its own (--variant='jwt' --variant='key:#apikey').
 */
import console from 'node:console';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { BENCH_RATE_LIMITS, bareServer, randomSecret, tokengateServer } from './lib/servers.mjs';
import { cpuTicks, killAll, median } from './lib/util.mjs';
import { runWrk } from './lib/wrk.mjs';

const args = process.argv.slice(2);
const opt = (/** @type {string} */ name, /** @type {string} */ dflt) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const scenario = opt('scenario', 'protected');
const rounds = Number(opt('rounds', '5'));
const duration = Number(opt('duration', '5'));
const connections = Number(opt('connections', '50'));
const warmup = Number(opt('warmup', '3'));
const withBare = args.includes('--bare');
const variants = args.filter((a) => a.startsWith('--variant=')).map((a) => a.slice('--variant='.length));
if (variants.length === 0) variants.push('base');
/** A variant's own scenario (a PART `#apikey`), else --scenario: compares two paths of one build, e.g. `protected` and `apikey`. */
/** @type {Record<number, string>} */ const scenarioOf = {};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokengate-ab-'));
const secret = randomSecret();
const user = { username: 'bench', password: 'correct horse battery staple' };
const baseEnv = {
  PATH: process.env.PATH ?? '', HOME: tmp, NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
  JWT_SECRET: secret, ...BENCH_RATE_LIMITS,
};
const servers = variants.map((spec, i) => {
  const [name, rest = ''] = spec.split(/:(.*)/s);
  const parts = rest ? rest.split(',') : [];
  /** @type {Record<string, string>} */ const env = { ...baseEnv, DATABASE_URL: path.join(tmp, `v${i}.sqlite`) };
  const nodeArgs = [];
  let dist;
  for (const p of parts) {
    if (p.startsWith('#')) scenarioOf[i] = p.slice(1);
    else if (p.startsWith('--')) nodeArgs.push(p);
    else if (p.startsWith('@')) dist = p.slice(1);
    else env[p.slice(0, p.indexOf('='))] = p.slice(p.indexOf('=') + 1);
  }
  return tokengateServer({
    id: `v${i}`, label: name ?? `v${i}`, env, sqlite: !String(env.DATABASE_URL).startsWith('postgres'), tmp, cpu: '0', user,
    poolSize: (scenarioOf[i] ?? scenario) === 'refresh' ? connections * 4 : 0, nodeArgs, signing: { algorithm: 'HS256', key: secret }, dist,
  });
});
try {
  for (const s of servers) await s.start();
  const all = [...servers];
  if (withBare) {
    const bare = bareServer({ secret, cpu: '0', username: user.username, accessToken: async () => (await servers[0].login()).accessToken });
    await bare.start();
    all.push(bare);
  }
  // JIT warm-up: a fresh server runs at a fraction of its speed for its first seconds.
  for (const s of all) {
    if (warmup === 0) break;
    const sc = s.kind === 'bare' ? 'protected' : (scenarioOf[all.indexOf(s)] ?? scenario);
    await runWrk({ port: s.port(), spec: await s.prepare(sc), seconds: warmup, connections, cpu: '1' });
    await s.after(sc);
  }
  /** @type {number[][]} */ const rps = all.map(() => []);
  /** @type {number[][]} */ const p99 = all.map(() => []);
  /** @type {number[][]} */ const cpu = all.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < all.length; k++) {
      const i = (k + r) % all.length;
      const s = all[i];
      const sc = s.kind === 'bare' ? 'protected' : (scenarioOf[i] ?? scenario);
      const spec = await s.prepare(sc);
      const pid = s.pids()[0] ?? 0;
      const before = cpuTicks(pid);
      const res = await runWrk({ port: s.port(), spec, seconds: duration, connections, cpu: '1' });
      cpu[i].push(((cpuTicks(pid) - before) / 100 / res.requests) * 1e6); // ticks are 1/100 s
      await s.after(sc);
      if (res.good !== res.responses && spec.mode === 'success') console.error(`${s.label}: ${res.responses - res.good} unexpected answers: ${res.sample}`);
      rps[i].push(res.rps);
      p99[i].push(res.p99Ms);
      console.error(`round ${r + 1} ${s.label}: ${Math.round(res.rps)} req/s p99 ${res.p99Ms} ms, ${cpu[i].at(-1)?.toFixed(1)} µs CPU a request`);
    }
  }
  for (let i = 0; i < all.length; i++) {
    const ratio = median(rps[i].map((v, r) => v / rps[0][r]));
    const cpuRatio = median(cpu[i].map((v, r) => v / cpu[0][r]));
    console.log(
      `${all[i].label.padEnd(28)} ${String(Math.round(median(rps[i]))).padStart(7)} req/s  p99 ${median(p99[i]).toFixed(1).padStart(6)} ms  vs first ${(ratio * 100).toFixed(0)} %` +
        `  | CPU ${median(cpu[i]).toFixed(1)} µs/req, vs first ${(cpuRatio * 100).toFixed(0)} %  [${rps[i].map(Math.round).join(' ')}]`,
    );
  }
} finally {
  for (const s of servers) await s.stop().catch(() => {});
  killAll();
  rmSync(tmp, { recursive: true, force: true });
}
