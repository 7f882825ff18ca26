// Builds the explorer (src/explorer: GraphiQL 5 + React 19 + the sign-in
// panel) into dist/explorer/ with Vite, for the server to serve at
// GET /graphql (src/http/explorer.ts). Monaco's workers become files of their
// own (no blob: or CDN workers), every asset is content-hashed and gets a
// .gz twin, so the server sends precompressed bytes without compressing at
// request time.
//
// The explorer's sign-in runs on the auth kit's core
// (`@tokengate/apollo-auth/core`, packages/apollo-auth), which Vite takes
// from the kit's build like any npm package; a clean clone has no such build
// yet, so the kit is compiled first (tsc, about a second).
//
//   node scripts/build-explorer.mjs      # alone; scripts/build.mjs calls buildExplorer() too
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Builds packages/apollo-auth/dist (what `npm run build -w @tokengate/apollo-auth` does), from scratch so no file of an older layout stays behind. */
export function buildAuthKit() {
  const kit = path.join(root, 'packages/apollo-auth');
  rmSync(path.join(kit, 'dist'), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(kit, 'tsconfig.json')], { cwd: kit, stdio: 'inherit' });
}

/** Builds dist/explorer (and first the auth kit it imports) and returns its size: { files, bytes, gzipBytes }. */
export async function buildExplorer({ outDir = path.join(root, 'dist/explorer'), quiet = false } = {}) {
  buildAuthKit();
  const { build } = await import('vite');
  // Vite follows NODE_ENV over `mode`: under NODE_ENV=test (vitest's globalSetup
  // rebuilding dist/) it would compile JSX for React's development runtime,
  // which the production bundle lacks. The explorer is always a production build.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root: path.join(root, 'src/explorer'),
      base: '/explorer/',
      configFile: false,
      envDir: false,
      publicDir: false,
      logLevel: 'warn',
      mode: 'production',
      define: { 'process.env.NODE_ENV': JSON.stringify('production') },
      worker: { format: 'es' },
      build: {
        outDir,
        emptyOutDir: true,
        assetsDir: 'assets',
        target: 'es2022',
        sourcemap: false,
        reportCompressedSize: false,
        // Monaco is big by nature; the size is reported below instead.
        chunkSizeWarningLimit: 10_000,
        // Inlined assets would become data: URLs; files keep the CSP simple.
        assetsInlineLimit: 0,
        modulePreload: { polyfill: false },
        rolldownOptions: {
          // React libraries mark their modules "use client" (for server components); meaningless in a plain bundle.
          onLog(level, log, handler) {
            if (log.code === 'MODULE_LEVEL_DIRECTIVE') return;
            handler(level, log);
          },
        },
      },
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  let bytes = 0;
  let gzipBytes = 0;
  let files = 0;
  for (const file of walk(outDir)) {
    const body = readFileSync(file);
    const gz = gzipSync(body, { level: 9 });
    writeFileSync(`${file}.gz`, gz);
    bytes += body.length;
    gzipBytes += gz.length;
    files += 1;
  }
  const size = { files, bytes, gzipBytes };
  if (!quiet) process.stdout.write(`explorer: ${files} files, ${(bytes / 1024 / 1024).toFixed(2)} MiB (${(gzipBytes / 1024 / 1024).toFixed(2)} MiB gzipped) in ${path.relative(root, outDir)}/\n`);
  return size;
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) yield* walk(file);
    else if (!name.endsWith('.gz')) yield file;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await buildExplorer();
}
