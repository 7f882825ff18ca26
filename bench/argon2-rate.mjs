// @ts-check
/**
 * The raw argon2 verify rate: what `login` would reach if the password hash
 * were its only cost. Hashes one password once with the given parameters,
 * then keeps `concurrency` verify calls in flight for `seconds` and prints one
 * JSON line `{ "verifies": n, "seconds": s, "rate": n/s }`.
 *
 * Run by bench/run.mjs pinned to the server's core, with the same libuv
 * thread pool as tokengate (the default four threads):
 *   node bench/argon2-rate.mjs '{"memoryCost":19456,"timeCost":2,"parallelism":1}' 10 50
 */
import process from 'node:process';
import argon2 from 'argon2';

/** @type {{ memoryCost?: number, timeCost?: number, parallelism?: number }} */
const params = JSON.parse(process.argv[2] ?? '{}');
const seconds = Number(process.argv[3] ?? 10);
const concurrency = Number(process.argv[4] ?? 50);
const password = 'correct horse battery staple'.normalize('NFKC');

const hash = await argon2.hash(password, { type: argon2.argon2id, ...params });
// One untimed call, so the first timed one does not pay for loading anything.
await argon2.verify(hash, password);

let verifies = 0;
const start = process.hrtime.bigint();
const deadline = start + BigInt(Math.round(seconds * 1e9));

async function caller() {
  while (process.hrtime.bigint() < deadline) {
    if (!(await argon2.verify(hash, password))) throw new Error('argon2.verify returned false for the right password');
    verifies++;
  }
}

await Promise.all(Array.from({ length: concurrency }, caller));
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(`${JSON.stringify({ verifies, seconds: elapsed, rate: verifies / elapsed, params, concurrency })}\n`);
