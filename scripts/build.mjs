// Builds dist/ for `npm start`: one bundled ES module graph per entry point.
//
// Why a bundle: a cold start was mostly module loading (about 600 ms for the
// thousands of files of Apollo Server, graphql-js, Kysely and graphql-shield);
// bundled, the server starts about a third faster. Native addons (argon2,
// better-sqlite3) and pino (which may load worker files by path) stay in
// node_modules. Type checking is `npm run typecheck`'s job, not this one's.
//
// `npm install` runs it (the prepare script, scripts/prepare.mjs); `npm start`
// only runs what it made. Each step below is one esbuild call; add a step
// (e.g. a browser bundle) as another `await build(...)` after the server's.
//
//   node scripts/build.mjs                      # dist/main.js, dist/cli/{user-create,keys-generate}.js, dist/config/config.js, dist/explorer/
//   node scripts/build.mjs --no-explorer        # the server only (the explorer's Vite build is the slow part)
//   node scripts/build.mjs --packages=external  # leave every package in node_modules (profiling by package)
import { rmSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';
import { buildExplorer } from './build-explorer.mjs';

/** The packages OpenTelemetry instruments when tracing is on: left out of the bundle (see below). */
const TRACED_PACKAGES = ['graphql', 'pg', 'pg-pool', 'ioredis'];
const root = fileURLToPath(new URL('..', import.meta.url));
const external = process.argv.includes('--packages=external');
const explorer = !process.argv.includes('--no-explorer');

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

// Step 1: the server and the CLIs.
await build({
  absWorkingDir: root,
  // config.ts is an entry of its own because the benchmark reads loadConfig's defaults.
  entryPoints: ['src/main.ts', 'src/cli/user-create.ts', 'src/cli/keys-generate.ts', 'src/cli/admin.ts', 'src/config/config.ts'],
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
  // Apollo's hash helper would fall back to a pure-JavaScript SHA-256 once bundled (see the shim).
  ...(external ? {} : { alias: { '@apollo/utils.createhash': './scripts/shims/apollo-createhash.mjs' } }),
  // Tracing's instrumentations patch graphql, pg and ioredis as Node loads them
  // (require hooks): bundled, they would never be loaded, so they stay in
  // node_modules, as OpenTelemetry's own instrumentation stays (loaded only
  // when tracing is on, see src/platform/tracing.ts).
  ...(external ? { packages: 'external' } : { external: ['argon2', 'better-sqlite3', 'pino', ...TRACED_PACKAGES, '@opentelemetry/*'] }),
  // Bundled CommonJS packages call require(); give the ES module output one.
  banner: { js: "import { createRequire as __tokengateRequire } from 'node:module'; const require = __tokengateRequire(import.meta.url);" },
});
// The browser explorer (GraphiQL) that GET /graphql serves: dist/explorer/.
if (explorer) await buildExplorer();
