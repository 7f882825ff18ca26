import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * vitest globalSetup: the process and cluster tests run dist/ as `npm start`
 * does, so dist/ must be built from the sources under test. Rebuilds when
 * dist/main.js is missing or older than anything under src/, schema/, the
 * auth kit's source (the explorer bundles its core, and the build makes the
 * kit's dist/ that tests importing `@tokengate/apollo-auth/core` load) or the
 * build scripts, whichever command started the tests (npm test builds first;
 * a bare `npx vitest run --project cluster` does not).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newest(target: string): number {
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(target)) latest = Math.max(latest, newest(path.join(target, entry)));
  return latest;
}

export default function setup(): void {
  const built = path.join(ROOT, 'dist', 'main.js');
  const sources = Math.max(...['src', 'schema', 'scripts/build.mjs', 'scripts/build-explorer.mjs', 'package.json', 'packages/apollo-auth/src', 'packages/apollo-auth/package.json'].map((p) => newest(path.join(ROOT, p))));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
}
