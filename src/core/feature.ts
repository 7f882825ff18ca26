import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Migration } from 'kysely';
import type { RequestMeta } from '../platform/request-meta.js';
import type { PruneTask } from '../platform/pruner.js';

/** Resolvers as a feature hands them over: by type, then field (typed against the generated types where they are written). */
export type ResolverMap = Readonly<Record<string, object>>;

/** A feature's dated migrations for one dialect, by name; names sort in the order they run. */
export type MigrationSet = (dialect: 'sqlite' | 'postgres') => Record<string, Migration>;

/** An HTTP route a feature serves beside /graphql (e.g. social sign-in's `GET /oauth/callback/<name>`). */
export interface FeatureRoute {
  readonly method: 'GET';
  /** Requests whose path starts with this are the route's. */
  readonly prefix: string;
  /** Answers the request; `path` is the request's path, `search` its query string (with the `?`). */
  handle(req: IncomingMessage, res: ServerResponse, request: { readonly path: string; readonly search: string; readonly meta: RequestMeta }): Promise<void>;
}

/**
 * What one feature brings to the app: a folder of its own (src/<feature>/)
 * exports one constructor, `create<Name>Feature(core, ports)`, that answers
 * this. `buildApp` composes the list, in order, and stops it in reverse.
 * A compile-time convention, not a plugin system: the list is fixed in
 * app.ts, and features reach each other only through a declared port
 * (the other feature's index.ts).
 */
export interface Feature {
  /** A short stable name (logs, the layering check). */
  readonly name: string;
  /** The SDL files of schema/ the feature owns (each `extend type`s the base). */
  readonly schema?: readonly string[];
  /** Its resolvers; each reads its arguments and calls one of the feature's services. */
  readonly resolvers?: ResolverMap;
  /** Its dated migrations (also listed in src/migrations.ts, which the CLI uses without building features). */
  readonly migrations?: MigrationSet;
  /** Background deletions of its finished rows, run by the core's pruner. */
  readonly pruneTasks?: readonly PruneTask[];
  /** Readiness of what the feature depends on beyond the core, e.g. `{ smtp: true }`. */
  readonly readiness?: () => Promise<Record<string, boolean>>;
  /**
   * Services outside the deployment (an OpenID provider) that `/readyz`
   * shows but does not fail on: every instance shares them, so failing
   * readiness would take all instances out of the balancer at once, and
   * password sign-in with them. `/readyz` then answers 200 `degraded`.
   */
  readonly externalChecks?: () => Promise<Record<string, boolean>>;
  /** HTTP routes of its own, outside GraphQL. */
  readonly routes?: readonly FeatureRoute[];
  /** Starts background work, once the database is migrated. */
  start?(): Promise<void>;
  /** Stops it: in-flight work finishes; called in reverse order, before the core stops. */
  stop?(): Promise<void>;
}
