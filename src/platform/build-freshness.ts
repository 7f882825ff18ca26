import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The newest source file changed after the build, or null when the build is
 * current (or there is no src/ beside it, as in a deployment of dist/ only).
 * `npm start` never rebuilds, so a build older than src/ must be said out
 * loud rather than served silently. Costs a stat per source file (~1 ms).
 */
export function sourceNewerThanBuild(builtFile: string, sourceDir: string): string | null {
  let builtAt: number;
  try {
    builtAt = statSync(builtFile).mtimeMs;
  } catch {
    return null;
  }
  let newest: { file: string; mtime: number } | null = null;
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile() && /\.(ts|mts|js|mjs)$/.test(entry.name)) {
        const mtime = statSync(file).mtimeMs;
        if (mtime > builtAt && (newest === null || mtime > newest.mtime)) newest = { file, mtime };
      }
    }
  };
  walk(sourceDir);
  return newest === null ? null : (newest as { file: string }).file;
}
