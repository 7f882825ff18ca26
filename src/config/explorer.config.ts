import { z } from 'zod';

/** What `GET /graphql` shows a browser (../shared/API.md, "Explorer"). */
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

/** The environment settings of this section, merged into loadConfig's schema. */
export const explorerSettings = {
  EXPLORER: z.enum(['graphiql', 'sandbox', 'off'], { message: 'EXPLORER must be graphiql, sandbox or off' }).optional(),
};

/** Builds the section: GraphiQL by default outside production, nothing in production unless asked for. */
export function explorerConfig(e: { EXPLORER?: ExplorerMode | undefined; NODE_ENV: string }): ExplorerConfig {
  return Object.freeze({ mode: e.EXPLORER ?? (e.NODE_ENV === 'production' ? 'off' : 'graphiql') });
}
