import { z } from 'zod';
import type { ConfigSection } from '../section.js';
import type { NodeEnv } from './environment.section.js';

/** What `GET /graphql` shows a browser (docs/api.md, "Explorer"). */
export type ExplorerMode = 'graphiql' | 'sandbox' | 'off';

/** The explorer section of Config. */
export interface ExplorerConfig {
  /**
   * `graphiql`: the self-hosted GraphiQL with a sign-in panel, built into
   * dist/explorer (no request leaves the origin); `sandbox`: Apollo's hosted
   * Sandbox (needs internet); `off`: no page, as Apollo Server without a
   * landing page.
   */
  readonly mode: ExplorerMode;
}

const fields = {
  EXPLORER: z.enum(['graphiql', 'sandbox', 'off'], { message: 'EXPLORER must be graphiql, sandbox or off' }).optional(),
};

/** The explorer: GraphiQL by default outside production, nothing in production unless asked for. */
export const explorerSection: ConfigSection<typeof fields, { readonly explorer: ExplorerConfig }, { NODE_ENV: NodeEnv }> = {
  title: 'Explorer',
  fields,
  docs: {
    EXPLORER: {
      default: '`graphiql`, but `off` in production',
      description:
        'What `GET /graphql` shows a browser: `graphiql`, the self-hosted explorer with its sign-in panel (see [Playground walkthrough](../guides/playground.md); served from `dist/explorer/`, a 503 saying so when it was not built); `sandbox`, Apollo\'s hosted Sandbox (needs internet in the browser); `off`, no page.',
    },
  },
  build: (e) => ({ explorer: Object.freeze({ mode: e.EXPLORER ?? (e.NODE_ENV === 'production' ? 'off' : 'graphiql') }) }),
};
