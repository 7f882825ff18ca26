// Checks every relative link and image in README.md and docs/**/*.md: the
// file it names must exist, and a `#fragment` must name a heading (GitHub's
// anchor for it) or an explicit `<a id>` in that file. Links inside code are
// not links. Exits 1 with one line per broken link, 0 when all resolve.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** @param {string} dir @returns {string[]} */
function markdownFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

/** The lines of a Markdown file outside fenced code blocks. @param {string} text */
function proseLines(text) {
  /** @type {string[]} */
  const lines = [];
  let fence = null;
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = null;
      lines.push('');
      continue;
    }
    lines.push(fence === null ? line : '');
  }
  return lines;
}

/** GitHub's anchor for a heading's text. @param {string} heading */
function slug(heading) {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** @type {Map<string, Set<string>>} */
const anchorCache = new Map();
/** @param {string} file */
function anchorsOf(file) {
  const cached = anchorCache.get(file);
  if (cached) return cached;
  const anchors = new Set();
  /** @type {Map<string, number>} */
  const seen = new Map();
  for (const line of proseLines(readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

const files = [path.join(ROOT, 'README.md'), ...markdownFiles(path.join(ROOT, 'docs'))];
/** @type {string[]} */
const broken = [];
let checked = 0;
for (const file of files) {
  const lines = proseLines(readFileSync(file, 'utf8'));
  lines.forEach((line, index) => {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      checked += 1;
      const [pathPart, fragment] = target.split('#', 2);
      const resolved = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURI(pathPart));
      const where = `${path.relative(ROOT, file)}:${index + 1}`;
      if (!existsSync(resolved)) {
        broken.push(`${where}: ${target}: no such file`);
        continue;
      }
      if (fragment === undefined || fragment === '') continue;
      if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
        broken.push(`${where}: ${target}: a #fragment on a file that is not Markdown`);
      } else if (!anchorsOf(resolved).has(fragment)) {
        broken.push(`${where}: ${target}: no heading with that anchor`);
      }
    }
  });
}

if (broken.length > 0) {
  for (const line of broken) process.stderr.write(`check-doc-links: ${line}\n`);
  process.stderr.write(`check-doc-links: ${broken.length} of ${checked} relative links are broken\n`);
  process.exit(1);
}
process.stdout.write(`check-doc-links: ${checked} relative links in ${files.length} files resolve\n`);
