#!/usr/bin/env node
// @ts-check
/**
 * Cold start as a new user meets it: from spawning `npm start` to the first
 * answered request, against `node dist/main.js` run directly, interleaved,
 * each on a fresh SQLite file. Prints medians and ranges.
 *
 *   npm run build && node bench/start.mjs [--runs=11]
 */
import console from 'node:console';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { freePort, killAll, median, range, spawnPinned, waitForOk } from './lib/util.mjs';
import { ROOT } from './lib/servers.mjs';

const runs = Number(/^--runs=(\d+)$/.exec(process.argv[2] ?? '')?.[1] ?? 11);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tokengate-start-bench-'));
const ways = /** @type {const} */ ({
  'npm start': ['npm', ['start', '--silent']],
  'node dist/main.js': [process.execPath, [path.join(ROOT, 'dist', 'main.js')]],
});
/** @type {Record<string, number[]>} */
const times = { 'npm start': [], 'node dist/main.js': [] };
try {
  for (let i = 0; i < runs; i++) {
    for (const [name, [command, args]] of Object.entries(ways)) {
      const port = await freePort();
      const started = performance.now();
      const server = spawnPinned(null, command, [...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: path.join(tmp, `${i}-${name.length}.sqlite`) },
      });
      await waitForOk(port, { path: '/healthz', intervalMs: 2, isAlive: server.alive });
      times[name]?.push(performance.now() - started);
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }
  for (const [name, ms] of Object.entries(times)) {
    const { min, max } = range(ms);
    console.log(`${name.padEnd(18)} median ${Math.round(median(ms))} ms (${Math.round(min)}–${Math.round(max)} ms over ${ms.length} starts)`);
  }
} finally {
  killAll();
  rmSync(tmp, { recursive: true, force: true });
}
