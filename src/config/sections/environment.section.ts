import { z } from 'zod';
import type { ConfigSection } from '../section.js';

/** The deployment kind: production tightens several defaults. */
export type NodeEnv = 'development' | 'production' | 'test';

/** The pino log levels, plus `silent`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The environment part of Config. */
export interface EnvironmentConfig {
  readonly env: NodeEnv;
  readonly logLevel: LogLevel;
}

const fields = {
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'NODE_ENV must be development, production or test' }).default('development'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent' })
    .optional(),
};

/** NODE_ENV and LOG_LEVEL. */
export const environmentSection: ConfigSection<typeof fields, EnvironmentConfig> = {
  title: 'Environment and logging',
  fields,
  docs: {
    NODE_ENV:
      '`development`, `production` or `test`. `production` requires a strong `JWT_SECRET`, turns off the explorer (unless `EXPLORER` says otherwise), makes introspection default to off, and allows no cross-origin browser access unless `CORS_ORIGINS` is set. `test` makes logging default to `silent`.',
    LOG_LEVEL: {
      default: '`info` (`silent` when `NODE_ENV=test`)',
      description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
    },
  },
  build: (e) => ({ env: e.NODE_ENV, logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info') }),
};
