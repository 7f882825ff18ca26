// The `prepare` script: `npm install` and `npm ci` run it, so a fresh clone
// has a build and `npm start` never rebuilds. A production install
// (`npm ci --omit=dev`) runs it too but has no esbuild: it then keeps the
// dist/ that is there (built before, e.g. in a build stage) and never fails
// the install; without any dist/ it says what to do, and `npm start` refuses
// to start with the same advice.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

let haveEsbuild = true;
try {
  await import('esbuild');
} catch {
  haveEsbuild = false;
}
if (haveEsbuild) {
  await import('./build.mjs');
} else if (existsSync(new URL('../dist/main.js', import.meta.url))) {
  process.stderr.write('tokengate: esbuild is not installed (production install): keeping the existing dist/ build\n');
} else {
  process.stderr.write('tokengate: esbuild is not installed and there is no dist/: build on a machine with dev dependencies (`npm ci && npm run build`), then `npm prune --omit=dev`\n');
}
