import { z } from 'zod';
import type { ConfigSection } from '../section.js';

/** Shared state for several instances (session revocation, rate limits, the event bus). */
export interface RedisConfig {
  readonly url: string;
  readonly prefix: string;
}

const fields = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//i, { message: 'REDIS_URL must look like redis://host:port (or rediss:// for TLS)' })
    .optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, { message: 'REDIS_PREFIX must be 1–64 of letters, digits, ":", "_", ".", "-"' }).default('tokengate:'),
};

/** REDIS_URL and REDIS_PREFIX; `redis` is null for a single instance. */
export const redisSection: ConfigSection<typeof fields, { readonly redis: RedisConfig | null }> = {
  title: 'Redis',
  notes: 'Optional, for several instances; see [Running many instances](../operations/instances.md).',
  fields,
  docs: {
    REDIS_URL:
      '`redis://…` (or `rediss://`): shares the session check between instances. Without it, PostgreSQL is read on every request; SQLite uses an in-process cache.',
    REDIS_PREFIX: 'Prefix of every Redis key tokengate writes (1–64 letters, digits, `:`, `_`, `.`, `-`), for a Redis shared with other apps.',
  },
  build: (e) => ({ redis: e.REDIS_URL === undefined ? null : Object.freeze({ url: e.REDIS_URL, prefix: e.REDIS_PREFIX }) }),
};
