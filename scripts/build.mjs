// Builds dist/ for `npm start`: one bundled ES module graph per entry point.
//
// Why a bundle: a cold start was mostly module loading (about 600 ms for the
// thousands of files of Apollo Server, graphql-js, Kysely and graphql-shield);
// bundled, the server starts about a third faster. Native addons (argon2,
// better-sqlite3) and pino (which may load worker files by path) stay in
// node_modules. Type checking is `npm run typecheck`'s job, not this one's.
//
//   node scripts/build.mjs                      # dist/main.js, dist/cli/{user-create,keys-generate}.js, dist/config/config.js
//   node scripts/build.mjs --packages=external  # leave every package in node_modules (profiling by package)
import { rmSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const external = process.argv.includes('--packages=external');

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // config.ts is an entry of its own because the benchmark reads loadConfig's defaults.
  entryPoints: ['src/main.ts', 'src/cli/user-create.ts', 'src/cli/keys-generate.ts', 'src/config/config.ts'],
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Apollo's hash helper would fall back to a pure-JavaScript SHA-256 once bundled (see the shim).
  ...(external ? {} : { alias: { '@apollo/utils.createhash': './scripts/shims/apollo-createhash.mjs' } }),
  ...(external ? { packages: 'external' } : { external: ['argon2', 'better-sqlite3', 'pino'] }),
  // Bundled CommonJS packages call require(); give the ES module output one.
  banner: { js: "import { createRequire as __tokengateRequire } from 'node:module'; const require = __tokengateRequire(import.meta.url);" },
});
