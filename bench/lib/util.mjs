// @ts-check
/**
 * Small helpers shared by the benchmark harness: free ports, HTTP requests to
 * 127.0.0.1, process spawning pinned to a CPU, and statistics.
 */
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** @returns {Promise<number>} a TCP port that was free on 127.0.0.1 a moment ago */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * @typedef {object} HttpResponse
 * @property {number} status
 * @property {string} body
 */

/**
 * One HTTP request to 127.0.0.1 (the harness never talks to anything else).
 * A fresh connection each time, so no keep-alive socket outlives a server.
 * @param {number} port
 * @param {{ method?: string, path?: string, headers?: Record<string, string>, body?: string, timeoutMs?: number }} [options]
 * @returns {Promise<HttpResponse>}
 */
export function request(port, options = {}) {
  const { method = 'GET', path = '/', headers = {}, body, timeoutMs = 30_000 } = options;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, agent: false, timeout: timeoutMs },
      (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to 127.0.0.1:${port}${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * POSTs a GraphQL operation to tokengate and returns the parsed JSON.
 * @param {number} port
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @param {string} [accessToken]
 * @returns {Promise<{ status: number, json: { data?: any, errors?: any[] } }>}
 */
export async function graphql(port, query, variables, accessToken) {
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const res = await request(port, { method: 'POST', path: '/graphql', headers, body: JSON.stringify({ query, variables }) });
  let json;
  try {
    json = JSON.parse(res.body);
  } catch {
    throw new Error(`tokengate answered HTTP ${res.status} with a non-JSON body: ${res.body.slice(0, 300)}`);
  }
  return { status: res.status, json };
}

/**
 * Polls GET `path` until it answers 200.
 * @param {number} port
 * @param {{ path?: string, timeoutMs?: number, intervalMs?: number, isAlive?: () => boolean }} [options]
 * @returns {Promise<void>}
 */
export async function waitForOk(port, options = {}) {
  const { path = '/healthz', timeoutMs = 20_000, intervalMs = 5, isAlive = () => true } = options;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('the process exited before it answered');
    try {
      const res = await request(port, { path, timeoutMs: 2_000 });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(intervalMs);
  }
  throw new Error(`nothing answered 200 on 127.0.0.1:${port}${path} within ${timeoutMs} ms`);
}

/**
 * @typedef {object} Managed
 * @property {import('node:child_process').ChildProcess} child
 * @property {number} pid
 * @property {() => string} output the last 64 KB of stdout and stderr
 * @property {() => boolean} alive
 * @property {Promise<number | null>} exited
 * @property {(timeoutMs?: number) => Promise<void>} stop SIGTERM, then SIGKILL after timeoutMs
 */

/** Every process the harness started and has not yet seen exit, so an interrupted run leaves nothing behind. */
const running = new Set();

/**
 * Spawns `command` pinned to `cpu` with taskset (taskset execs the command, so
 * the pid is the command's own).
 * @param {string | null} cpu CPU list for `taskset -c`, or null for no pinning
 * @param {string} command
 * @param {string[]} args
 * @param {{ env: Record<string, string>, cwd?: string }} options
 * @returns {Managed}
 */
export function spawnPinned(cpu, command, args, options) {
  const [file, argv] = cpu === null ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];
  const child = spawn(file, argv, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  /** @param {Buffer} chunk */
  const keep = (chunk) => {
    out += chunk.toString('utf8');
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitCode = /** @type {number | null | undefined} */ (undefined);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? 128 : null);
      running.delete(managed);
      resolve(exitCode);
    });
    child.on('error', (error) => {
      keep(Buffer.from(String(error)));
      exitCode = -1;
      running.delete(managed);
      resolve(-1);
    });
  });
  /** @type {Managed} */
  const managed = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    alive: () => exitCode === undefined,
    exited,
    stop: async (timeoutMs = 5_000) => {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(managed);
  return managed;
}

/**
 * Moves a running process, every thread of it, to another CPU list
 * (`taskset -a -p -c`); threads it starts later inherit the new list.
 * @param {number} pid
 * @param {string} cpu
 * @returns {Promise<void>}
 */
export async function pinProcess(pid, cpu) {
  const { code, stderr } = await runToEnd('taskset', ['-a', '-p', '-c', cpu, String(pid)]);
  if (code !== 0) throw new Error(`taskset -a -p -c ${cpu} ${pid} failed (exit ${code}): ${stderr.trim()}`);
}

/** Kills (SIGKILL) every process the harness started that is still running; for interrupts. */
export function killAll() {
  for (const managed of running) managed.child.kill('SIGKILL');
}

/**
 * Runs a command to completion and returns its output.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: Record<string, string | undefined>, cwd?: string }} [options]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
export function runToEnd(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d) => (stderr += d.toString('utf8')));
    child.on('error', (error) => resolve({ code: -1, stdout, stderr: stderr + String(error) }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Peak and current resident set size of a process, in bytes, from /proc.
 * @param {number} pid
 * @returns {{ peak: number, current: number } | null}
 */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (/** @type {string} */ field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { peak: kib('VmHWM'), current: kib('VmRSS') };
  } catch {
    return null;
  }
}

/**
 * Resident memory of a group of processes (e.g. gunicorn's master and worker): the sum of each one's figures.
 * @param {number[]} pids
 * @returns {{ peak: number, current: number } | null} null when a process cannot be read
 */
export function memoryOfAll(pids) {
  if (pids.length === 0) return null;
  let peak = 0;
  let current = 0;
  for (const pid of pids) {
    const m = memoryOf(pid);
    if (m === null) return null;
    peak += m.peak;
    current += m.current;
  }
  return { peak, current };
}

/**
 * Resets the peak RSS (VmHWM) of processes to their current RSS, so the next
 * reading is the peak of what follows (Linux: `echo 5 > /proc/PID/clear_refs`).
 * @param {number[]} pids
 * @returns {boolean} whether every reset worked
 */
export function resetPeakMemory(pids) {
  let ok = pids.length > 0;
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
}

/**
 * The pids of a process's direct children (Linux /proc).
 * @param {number} pid
 * @returns {number[]}
 */
export function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * @param {number[]} values
 * @returns {number} the median (NaN for none)
 */
export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * @param {number[]} values
 * @returns {{ min: number, max: number }}
 */
export function range(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return { min: Math.min(...finite), max: Math.max(...finite) };
}

/** CPU time (user + system) a process has used, in clock ticks (USER_HZ, 100 a second); 0 when it is gone. */
export function cpuTicks(/** @type {number} */ pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * Waits until the given processes are idle: at most `maxTicks` of CPU between
 * them over a window of `windowMs`, or `timeoutMs` at most. A load generator
 * that stops leaves work behind in the server (50 logins in the hashing
 * queue are seconds of Argon2 on the server core); without this, that work
 * runs during the next measurement, on the same core, and shows as its p99.
 * @param {number[]} pids
 * @param {{ windowMs?: number, maxTicks?: number, timeoutMs?: number }} [options]
 * @returns {Promise<number>} how long it waited, in ms
 */
export async function waitUntilIdle(pids, { windowMs = 300, maxTicks = 2, timeoutMs = 20_000 } = {}) {
  const started = Date.now();
  const total = () => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  let before = total();
  for (;;) {
    await sleep(windowMs);
    const now = total();
    if (now - before <= maxTicks || Date.now() - started > timeoutMs) return Date.now() - started;
    before = now;
  }
}
