import { int } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Argon2id cost parameters. */
export interface Argon2Config {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
const fields = {
  ARGON2_MEMORY_KIB: int('ARGON2_MEMORY_KIB', 8 * 1024, 4 * 1024 * 1024).prefault('19456'),
  ARGON2_TIME_COST: int('ARGON2_TIME_COST', 1, 20).prefault('2'),
  ARGON2_PARALLELISM: int('ARGON2_PARALLELISM', 1, 16).prefault('1'),
};

/** The password hash's cost. */
export const argon2Section: ConfigSection<typeof fields, { readonly argon2: Argon2Config }> = {
  title: 'Password hashing',
  notes:
    'Each hash holds `ARGON2_MEMORY_KIB` while it runs; `HASH_CONCURRENCY` (under Operations) bounds how many run at once. See [Memory](../operations/process.md).',
  fields,
  docs: {
    ARGON2_MEMORY_KIB: 'Argon2id memory cost in KiB (19 MiB, OWASP\'s recommendation); 8192–4194304.',
    ARGON2_TIME_COST: 'Argon2id iterations, 1–20.',
    ARGON2_PARALLELISM: 'Argon2id lanes, 1–16.',
  },
  build: (e) => ({ argon2: Object.freeze({ memoryCost: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_TIME_COST, parallelism: e.ARGON2_PARALLELISM }) }),
};
