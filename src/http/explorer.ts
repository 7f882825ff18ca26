import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Serves the self-hosted explorer that scripts/build-explorer.mjs built into
 * dist/explorer: the page at GET /graphql (for browsers that prefer HTML) and
 * its content-hashed assets under /explorer/assets/. The assets live outside
 * /graphql so that the tg_refresh cookie (Path=/graphql) is never sent along
 * with them.
 */

/**
 * The page's Content-Security-Policy: nothing but this origin. Monaco starts
 * its web workers from our own files (worker-src 'self'); it and GraphiQL's
 * components set inline styles, hence style-src 'unsafe-inline' (styles
 * cannot run code); GraphiQL's CSS uses a few data: images. No script, font,
 * frame or connection may come from elsewhere, so the page provably works
 * offline and cannot leak to a third party.
 */
export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "worker-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': EXPLORER_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

/** The URL prefix of the explorer's assets (the Vite build's `base`). */
export const EXPLORER_ASSET_PREFIX = '/explorer/assets/';

/** A file read once, with its precompressed twin when the build made one. */
interface StaticFile {
  readonly body: Buffer;
  readonly gzip: Buffer | null;
  readonly type: string;
}

/** The built explorer, read lazily from disk and kept in memory once asked for. */
export class ExplorerAssets {
  private readonly cache = new Map<string, StaticFile>();
  private readonly names: ReadonlySet<string>;

  /** `dir` is the build's output folder (dist/explorer); it may be missing (not built). */
  constructor(readonly dir: string) {
    const assets = path.join(dir, 'assets');
    this.names = new Set(existsSync(assets) ? readdirSync(assets).filter((name) => !name.endsWith('.gz')) : []);
  }

  /** True when the build's page is there. */
  get built(): boolean {
    return existsSync(path.join(this.dir, 'index.html'));
  }

  /** Answers GET/HEAD /graphql for a browser with the explorer page. */
  servePage(req: IncomingMessage, res: ServerResponse): void {
    if (!this.built) {
      res.statusCode = 503;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('The explorer is not built: run `npm run build` (EXPLORER=off turns this page off).\n');
      return;
    }
    // The page names hashed assets: revalidate it every time, cache them forever.
    this.send(req, res, this.load('index.html'), 'no-cache');
  }

  /** Answers GET/HEAD /explorer/assets/<name>; false when the path is not one of ours (the caller sends 404). */
  serveAsset(pathname: string, req: IncomingMessage, res: ServerResponse): boolean {
    const name = pathname.slice(EXPLORER_ASSET_PREFIX.length);
    // Only names the build wrote: no traversal, no dotfiles, nothing outside assets/.
    if (!pathname.startsWith(EXPLORER_ASSET_PREFIX) || !this.names.has(name)) return false;
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('allow', 'GET, HEAD');
      res.end();
      return true;
    }
    this.send(req, res, this.load(path.join('assets', name)), 'public, max-age=31536000, immutable');
    return true;
  }

  private load(relative: string): StaticFile {
    let file = this.cache.get(relative);
    if (file === undefined) {
      const full = path.join(this.dir, relative);
      file = {
        body: readFileSync(full),
        gzip: existsSync(`${full}.gz`) ? readFileSync(`${full}.gz`) : null,
        type: CONTENT_TYPES[path.extname(relative)] ?? 'application/octet-stream',
      };
      this.cache.set(relative, file);
    }
    return file;
  }

  private send(req: IncomingMessage, res: ServerResponse, file: StaticFile, cacheControl: string): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('content-type', file.type);
    res.setHeader('cache-control', cacheControl);
    res.setHeader('vary', 'accept-encoding');
    const gzip = file.gzip !== null && acceptsGzip(req.headers['accept-encoding']);
    const body = gzip ? file.gzip! : file.body;
    if (gzip) res.setHeader('content-encoding', 'gzip');
    res.setHeader('content-length', body.length);
    res.statusCode = 200;
    if ((req.method ?? 'GET').toUpperCase() === 'HEAD') res.end();
    else res.end(body);
  }
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * True when a GET request would rather have HTML than a GraphQL answer, as
 * Apollo Server decides for its landing page: text/html ranks above every
 * JSON type and multipart/mixed in the Accept header (ties go to JSON, so
 * `Accept: *\/*` gets GraphQL).
 */
export function prefersHtml(method: string | undefined, accept: string | undefined): boolean {
  const m = (method ?? 'GET').toUpperCase();
  if ((m !== 'GET' && m !== 'HEAD') || accept === undefined) return false;
  const ranges = accept.split(',').map((part) => {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    return { range: range.trim(), quality: Number.isFinite(quality) ? quality : 0 };
  });
  const quality = (type: string): number => {
    // The most specific matching range decides (RFC 9110 §12.5.1).
    const [major] = type.split('/');
    const exact = ranges.find((r) => r.range === type);
    if (exact) return exact.quality;
    const partial = ranges.find((r) => r.range === `${major}/*`);
    if (partial) return partial.quality;
    return ranges.find((r) => r.range === '*/*')?.quality ?? 0;
  };
  const html = quality('text/html');
  const graphql = Math.max(quality('application/json'), quality('application/graphql-response+json'), quality('multipart/mixed'));
  return html > 0 && html > graphql;
}

/**
 * Where the build put the explorer: next to the bundled server (dist/explorer
 * beside dist/main.js), or dist/explorer of the checkout when running from
 * source (tests).
 */
export function defaultExplorerDir(): string {
  const candidates = ['./explorer/', '../../dist/explorer/'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? candidates.at(-1)!;
}
