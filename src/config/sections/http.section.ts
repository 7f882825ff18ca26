import { z } from 'zod';
import { boolean, int } from '../fields.js';
import type { ConfigSection } from '../section.js';
import type { NodeEnv } from './environment.section.js';

/** The HTTP part of Config: where to listen and what the transport allows. */
export interface HttpConfig {
  readonly port: number;
  readonly host: string;
  /** Take the client address from the last X-Forwarded-For entry. */
  readonly trustProxy: boolean;
  /** Exact origins allowed to call from browsers; empty: the default of app.ts (every origin outside production, none in it). */
  readonly corsOrigins: readonly string[];
  readonly introspection: boolean;
  readonly bodyLimitBytes: number;
}

const fields = {
  PORT: int('PORT', 0, 65_535).prefault('4000'),
  HOST: z.string().min(1).default('0.0.0.0'),
  TRUST_PROXY: boolean('TRUST_PROXY').prefault('false'),
  CORS_ORIGINS: z.string().default(''),
  INTROSPECTION: boolean('INTROSPECTION').optional(),
  BODY_LIMIT: int('BODY_LIMIT', 1024, 10 * 1024 * 1024).prefault(String(100 * 1024)),
};

/** The HTTP and WebSocket transport's settings. */
export const httpSection: ConfigSection<typeof fields, HttpConfig, { NODE_ENV: NodeEnv }> = {
  title: 'HTTP',
  fields,
  docs: {
    PORT: 'TCP port, 0–65535 (`0` picks a free port).',
    HOST: 'Address to listen on.',
    TRUST_PROXY:
      'When `true`, the client address is the last `X-Forwarded-For` entry (the one your proxy appended) instead of the socket address. The address goes into the audit logs. Only set it behind a proxy you run.',
    CORS_ORIGINS: {
      default: 'none',
      description:
        'Comma-separated exact origins allowed to call from browsers, e.g. `https://app.example.com,https://admin.example.com`. When unset: every origin outside production, none in production (and none with `REFRESH_TOKEN_COOKIE=true`).',
    },
    INTROSPECTION: {
      default: '`true`, but `false` in production',
      description: 'Whether schema introspection is allowed. Field suggestions ("Did you mean …") in error messages follow the same setting.',
    },
    BODY_LIMIT: 'Largest request body in bytes, 1024–10485760; larger bodies get HTTP 413.',
  },
  build: (e) => ({
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.TRUST_PROXY,
    corsOrigins: Object.freeze(e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter((o) => o !== '')),
    introspection: e.INTROSPECTION ?? e.NODE_ENV !== 'production',
    bodyLimitBytes: e.BODY_LIMIT,
  }),
};
