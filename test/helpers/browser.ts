import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { startInstance, type Instance } from './instances.js';

/*
 * Real Chromium for browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core (which never downloads a browser). Every page records the
 * requests it makes to any origin but the allowed ones, and every console
 * error, uncaught exception and CSP violation, so a test can assert "nothing
 * left the origin, nothing went wrong" in one line each.
 *
 *   const browser = await launchBrowser();                // once per file
 *   const tab = await browser.open(server.url, 'explorer'); // a fresh context (own cookies) and page
 *   await tab.page.goto(`${server.url}/graphql`);
 *   await tab.screenshot('01-loaded');                    // test-results/explorer/01-loaded.png
 *   expect(tab.foreignRequests).toEqual([]);
 *   expect(tab.consoleErrors).toEqual([]);
 *   await browser.close();
 *
 * Use `describeBrowser` instead of `describe`: without Chromium it skips with
 * a loud notice locally and fails under CI=true (.ci/run installs it).
 */

/** Where Debian puts Chromium; TOKENGATE_CHROMIUM overrides. */
export const CHROMIUM_PATH = process.env.TOKENGATE_CHROMIUM ?? '/usr/bin/chromium';

/** The flags the team runs Chromium with: headless, no sandbox (root in CI), no background traffic of its own. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Screenshots go here (git-ignored). */
export const RESULTS_DIR = path.join(ROOT, 'test-results');

const CI = process.env.CI === 'true' || process.env.CI === '1';

/** True when browser tests should run: Chromium is there, or we are in CI (where its absence must fail). */
export function browserTestsEnabled(): boolean {
  if (existsSync(CHROMIUM_PATH) || CI) return true;
  console.warn(`\n*** SKIPPING browser tests: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium). CI=true makes this a failure.\n`);
  return false;
}

/** `describe` for browser suites: skipped (loudly) without Chromium locally, run (and failing) under CI. */
export const describeBrowser = describe.skipIf(!browserTestsEnabled());

/** One browser context (own cookies and storage) with its page and its records. */
export interface BrowserTab {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every request (HTTP or WebSocket) to an origin not in `allowedOrigins`; such requests are also aborted. */
  readonly foreignRequests: string[];
  /** console.error messages, uncaught page errors and failed loads, as text. */
  readonly consoleErrors: string[];
  /** Every request the page makes to `/graphql` (method, headers, POST body), to count operations such as refreshToken. */
  readonly graphqlRequests: GraphQLRequestRecord[];
  /** Saves a full-page PNG of `page` (default: the tab's first page) under test-results/<group>/<name>.png and returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
  /** Another page in the same context (a second tab: same cookies, own memory). */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** One request to /graphql as the page sent it. */
export interface GraphQLRequestRecord {
  readonly method: string;
  /** Request headers, names in lower case. */
  readonly headers: Record<string, string>;
  readonly body: string | null;
  /** The operationName of a JSON POST body, when it has one. */
  readonly operationName: string | null;
}

/** A launched Chromium. */
export interface TestBrowser {
  readonly browser: Browser;
  /**
   * Opens a fresh context and page. Requests to origins other than `origin`
   * (and `extraOrigins`) are recorded and aborted; screenshots go under
   * test-results/<group>/.
   */
  open(origin: string, group: string, options?: { extraOrigins?: string[] }): Promise<BrowserTab>;
  close(): Promise<void>;
}

/** Launches Debian's Chromium headless with CHROMIUM_ARGS; fails with a clear message when it is missing. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: apt-get install chromium (.ci/run does)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  return {
    browser,
    async open(origin, group, options = {}) {
      const allowed = new Set([new URL(origin).origin, ...(options.extraOrigins ?? []).map((o) => new URL(o).origin)]);
      const isForeign = (url: string): boolean => {
        const parsed = new URL(url);
        if (parsed.protocol === 'data:' || parsed.protocol === 'blob:' || parsed.protocol === 'about:') return false;
        // A WebSocket to the page's own host and port is same-origin for our purposes.
        const asHttp = parsed.protocol === 'ws:' ? `http://${parsed.host}` : parsed.protocol === 'wss:' ? `https://${parsed.host}` : parsed.origin;
        return !allowed.has(new URL(asHttp).origin);
      };
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
      const foreignRequests: string[] = [];
      const consoleErrors: string[] = [];
      const graphqlRequests: GraphQLRequestRecord[] = [];
      await context.route(
        (url) => isForeign(url.href),
        async (route) => {
          foreignRequests.push(route.request().url());
          await route.abort('blockedbyclient');
        },
      );
      const watch = (page: Page): void => {
        page.on('request', (request) => {
          if (isForeign(request.url()) && !foreignRequests.includes(request.url())) foreignRequests.push(request.url());
          if (new URL(request.url()).pathname === '/graphql' && request.resourceType() !== 'document') {
            const body = request.postData();
            let operationName: string | null = null;
            try {
              operationName = body ? ((JSON.parse(body) as { operationName?: string }).operationName ?? null) : null;
            } catch {
              // not JSON
            }
            graphqlRequests.push({ method: request.method(), headers: request.headers(), body, operationName });
          }
        });
        page.on('websocket', (ws) => {
          if (isForeign(ws.url())) foreignRequests.push(ws.url());
        });
        page.on('console', (message) => {
          if (message.type() === 'error') consoleErrors.push(`console.error: ${message.text()}`);
        });
        page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
        page.on('requestfailed', (request) => {
          if (!isForeign(request.url())) consoleErrors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
        });
      };
      context.on('page', watch);
      const page = await context.newPage();
      const dir = path.join(RESULTS_DIR, group);
      mkdirSync(dir, { recursive: true });
      return {
        context,
        page,
        foreignRequests,
        consoleErrors,
        graphqlRequests,
        async screenshot(name, of = page) {
          const file = path.join(dir, `${name}.png`);
          await of.screenshot({ path: file, fullPage: true });
          return file;
        },
        newPage: () => context.newPage(),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

/** The compiled server (`node dist/main.js`, as `npm start` runs it) on a free port with its own SQLite file. */
export interface BuiltServer extends Instance {
  readonly port: number;
}

/**
 * Starts dist/main.js in production mode on SQLite, for browser tests: a
 * strong test secret, cheap Argon2 (test/helpers/instances.ts), a fresh
 * SQLite file, and `env` on top (e.g. ACCESS_TOKEN_TTL, EXPLORER,
 * REFRESH_TOKEN_COOKIE). Resolves once it is ready; `stop` removes its files.
 */
export async function startBuiltServer(env: Record<string, string> = {}, options: { port?: number } = {}): Promise<BuiltServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-browser-'));
  let instance: Instance;
  try {
    instance = await startInstance('tokengate', { HOME: process.env.HOME ?? '/tmp', DATABASE_URL: path.join(dir, 'tokengate.sqlite'), ...env }, { cwd: dir, ...(options.port !== undefined ? { port: options.port } : {}) });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...instance,
    port: Number(new URL(instance.url).port),
    async stop() {
      await instance.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
