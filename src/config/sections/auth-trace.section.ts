import { boolean } from '../fields.js';
import type { ConfigSection } from '../section.js';
import type { NodeEnv } from './environment.section.js';

/** The authorization trace (docs/api.md, "Authorization trace"). */
export interface AuthTraceConfig {
  /** Whether every response carries `extensions.authTrace`; when false no tracing code is installed at all. */
  readonly authTrace: boolean;
}

const fields = {
  AUTH_TRACE: boolean('AUTH_TRACE').optional(),
};

/** AUTH_TRACE: on outside production, off in production unless asked for. */
export const authTraceSection: ConfigSection<typeof fields, AuthTraceConfig, { NODE_ENV: NodeEnv }> = {
  title: 'Authorization trace',
  notes: 'See [API keys](../guides/api-keys.md#authorization-trace).',
  fields,
  docs: {
    AUTH_TRACE: {
      default: '`true`, but `false` in production',
      description:
        'Adds `extensions.authTrace` to every response: one `{ path, rule, allowed, reason }` entry per field the permission layer decided, naming the SDL directives. It tells a caller why a field was refused, so production keeps it off unless asked for; when off, nothing of it runs.',
    },
  },
  build: (e) => ({ authTrace: e.AUTH_TRACE ?? e.NODE_ENV !== 'production' }),
};
