import './workers.js';
import '@graphiql/react/style.css';
import '@graphiql/plugin-doc-explorer/style.css';
import '@graphiql/plugin-history/style.css';
import 'graphiql/graphiql.css';
import './explorer.css';
import './social.css';
import { StrictMode, useEffect, useMemo, type ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
import { createExplorerFetcher, createSubscriptionClient, endpointsFor } from './fetcher.js';
import { AuthSession } from './session.js';
import { AuthTraceStore, authTracePlugin } from './trace-panel.js';
import { SessionBadge, signInPlugin, useSession } from './sign-in-panel.js';

/*
 * tokengate's explorer: GraphiQL with the sign-in panel, served by the
 * server itself at GET /graphql (src/http/explorer.ts). Everything it loads
 * comes from the same origin; the page's CSP forbids anything else.
 */

const endpoints = endpointsFor(window.location);
const session = new AuthSession({ endpoint: endpoints.http, fetch: window.fetch.bind(window), cookies: () => document.cookie });
const plugin = signInPlugin(session);
const traces = new AuthTraceStore();
// After GraphiQL's docs: the sign-in panel, the history, the authorization trace.
const PLUGINS = [plugin, HISTORY_PLUGIN, authTracePlugin(traces)];

const DEFAULT_QUERY = `# tokengate explorer
#
# 1. Sign in: the panel at left.
# 2. Run (Ctrl-Enter). Requests
#    carry your access token,
#    refreshed when it expires.
# Docs: who may call each field.

query Me {
  me {
    id
    username
    roles
  }
}
`;

/** `?query=…` in the page's URL opens with that operation (handy for links in docs). */
const initialQuery = new URLSearchParams(window.location.search).get('query') ?? undefined;

function Explorer(): ReactElement {
  const state = useSession(session);
  // One socket per signed-in session: signing in as someone else (or out)
  // must not keep subscriptions running under the previous identity.
  const sessionKey = state.status === 'signed-in' ? (state.claims.sessionId ?? state.user.id) : 'anonymous';
  const wsClient = useMemo(() => createSubscriptionClient(session.auth, endpoints.ws), [sessionKey]);
  useEffect(() => () => void wsClient.dispose(), [wsClient]);
  const fetcher = useMemo(() => createExplorerFetcher(session.auth, endpoints, wsClient, traces.record), [wsClient]);
  useEffect(() => {
    // Back from an identity provider (#tg_code), else an earlier session in the cookie.
    void session.completeSocial().then(() => session.restoreFromCookie());
  }, []);
  return (
    <GraphiQL fetcher={fetcher} plugins={PLUGINS} visiblePlugin={plugin} defaultQuery={DEFAULT_QUERY} initialQuery={initialQuery} defaultEditorToolsVisibility={false}>
      <GraphiQL.Logo>
        <span className="tg-logo">tokengate</span> <SessionBadge session={session} />
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

createRoot(document.getElementById('explorer')!).render(
  <StrictMode>
    <Explorer />
  </StrictMode>,
);
