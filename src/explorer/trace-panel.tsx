import { useSyncExternalStore, type ReactElement } from 'react';
import type { GraphiQLPlugin } from '@graphiql/react';

/*
 * The authorization trace panel, a GraphiQL plugin: the last answer's
 * `extensions.authTrace` (docs/api.md, "Authorization trace") as a table,
 * one row per field the permission layer decided. The server sends it
 * outside production (or with AUTH_TRACE=true); without it the panel says so.
 */

/** One decision, as the server sends it. */
export interface AuthTraceEntry {
  readonly path: string;
  readonly rule: string;
  readonly allowed: boolean;
  readonly reason: string | null;
}

/** The last answer's trace: null before any answer, or when the answer had none. */
export class AuthTraceStore {
  private entries: readonly AuthTraceEntry[] | null = null;
  private readonly listeners = new Set<() => void>();

  /** Records the trace of an answer (a plain result; streams are left alone). */
  readonly record = (result: unknown): void => {
    const trace = (result as { extensions?: { authTrace?: unknown } } | null)?.extensions?.authTrace;
    this.entries = Array.isArray(trace) ? (trace as AuthTraceEntry[]) : null;
    for (const listener of this.listeners) listener();
  };

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly get = (): readonly AuthTraceEntry[] | null => this.entries;
}

/** The panel's title, also the label of its sidebar button ("Show Authorization trace"). */
export const AUTH_TRACE_TITLE = 'Authorization trace';

/** The plugin over a store the fetcher fills. */
export function authTracePlugin(store: AuthTraceStore): GraphiQLPlugin {
  return { title: AUTH_TRACE_TITLE, icon: TraceIcon, content: () => <TracePanel store={store} /> };
}

function TraceIcon(): ReactElement {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.6" aria-hidden="true">
      <path d="M12 3l7 3v5c0 4.5-3 8.5-7 10-4-1.5-7-5.5-7-10V6l7-3z" />
      <path d="M9 12l2 2 4-4" />
    </svg>
  );
}

function TracePanel({ store }: { store: AuthTraceStore }): ReactElement {
  const entries = useSyncExternalStore(store.subscribe, store.get);
  return (
    <div className="tg-trace">
      <div className="graphiql-doc-explorer-title">{AUTH_TRACE_TITLE}</div>
      {entries === null ? (
        <p className="tg-trace-note">Run an operation: each field the permission layer decided is listed here, with the directives that decided it (the server sends this outside production, or with AUTH_TRACE=true).</p>
      ) : entries.length === 0 ? (
        <p className="tg-trace-note">The last answer had no field with a rule (only @public ones).</p>
      ) : (
        <table className="tg-trace-table">
          <thead>
            <tr>
              <th>field</th>
              <th>rule</th>
              <th>decision</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry, i) => (
              <tr key={i} className={entry.allowed ? 'tg-trace-allowed' : 'tg-trace-denied'}>
                <td>
                  <code>{entry.path}</code>
                </td>
                <td>
                  <code>{entry.rule}</code>
                </td>
                <td>{entry.allowed ? 'allowed' : `denied: ${entry.reason ?? ''}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
