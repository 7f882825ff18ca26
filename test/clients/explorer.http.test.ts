import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

/*
 * The HTTP side of EXPLORER (docs/api.md, "Explorer"): which page GET
 * /graphql shows a browser in each mode, and how the explorer's files are
 * served. A small stand-in build keeps this about HTTP; the real Vite build
 * is driven in Chromium by test/clients/explorer.browser.test.ts.
 */

const PAGE = '<!doctype html><html><head><script type="module" src="/explorer/assets/app-abc123.js"></script></head><body><div id="explorer"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;

function fakeBuild(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-explorer-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), PAGE);
  writeFileSync(path.join(dir, 'index.html.gz'), gzipSync(PAGE));
  writeFileSync(path.join(dir, 'assets/app-abc123.js'), SCRIPT);
  writeFileSync(path.join(dir, 'assets/app-abc123.js.gz'), gzipSync(SCRIPT));
  writeFileSync(path.join(dir, 'secret.txt'), 'not an asset');
  return dir;
}

/** A raw GET that keeps the path exactly as written (fetch would normalize `..`) and does not decompress. */
function rawGet(url: string, pathname: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: pathname, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('EXPLORER=graphiql (the default outside production)', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = fakeBuild();
    server = await startServer({}, { deps: { explorerDir: dir } });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the default outside production', () => {
    expect(server.config.explorer.mode).toBe('graphiql');
  });

  it('serves the page to a browser, with a same-origin-only CSP and no caching of the page itself', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe(PAGE);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(directives['worker-src']).toEqual(["'self'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(csp).not.toMatch(/https?:|\*|unsafe-eval/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('still answers GraphQL to clients that do not prefer HTML', async () => {
    const query = `?query=${encodeURIComponent('{ __typename }')}`;
    for (const accept of ['application/json', '*/*', 'application/json, text/html', 'text/html;q=0.5, application/graphql-response+json']) {
      const res = await fetch(`${server.url}/graphql${query}`, { headers: { accept, 'apollo-require-preflight': 'true' } });
      expect(res.status, accept).toBe(200);
      expect(await res.json(), accept).toEqual({ data: { __typename: 'Query' } });
    }
    const post = await server.gql('{ __typename }', undefined, { headers: { accept: BROWSER_ACCEPT } });
    expect(post.body.data).toEqual({ __typename: 'Query' });
  });

  it('serves hashed assets for a year, gzipped when the client accepts it', async () => {
    const plain = await rawGet(server.url, '/explorer/assets/app-abc123.js');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(SCRIPT);
    // Workers take their CSP from their own response: the assets carry it too.
    expect(plain.headers['content-security-policy']).toContain("default-src 'self'");

    const gz = await rawGet(server.url, '/explorer/assets/app-abc123.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toContain('accept-encoding');
    expect(gunzipSync(gz.body).toString()).toBe(SCRIPT);
    expect(gz.body.length).toBeLessThan(plain.body.length);

    const refused = await rawGet(server.url, '/explorer/assets/app-abc123.js', { 'accept-encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();

    const head = await rawGet(server.url, '/explorer/assets/app-abc123.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(SCRIPT));
  });

  it('serves nothing but the files the build wrote under assets/', async () => {
    for (const pathname of [
      '/explorer/assets/missing.js',
      '/explorer/assets/app-abc123.js.gz',
      '/explorer/assets/../secret.txt',
      '/explorer/assets/..%2fsecret.txt',
      '/explorer/assets/',
      '/explorer/index.html',
      '/explorer/secret.txt',
    ]) {
      const res = await rawGet(server.url, pathname);
      expect(res.status, pathname).toBe(404);
      expect(res.body.toString(), pathname).not.toContain('not an asset');
    }
  });
});

describe('EXPLORER=graphiql without a build', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tokengate-explorer-none-'));
    server = await startServer({}, { deps: { explorerDir: dir } });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 saying how to build it, and GraphQL keeps working', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
    expect((await server.gql('{ __typename }')).body.data).toEqual({ __typename: 'Query' });
  });
});

describe('EXPLORER=off (the default in production)', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = fakeBuild();
    server = await startServer({ EXPLORER: 'off' }, { deps: { explorerDir: dir } });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows no page: GET /graphql for a browser is what Apollo Server answers without a landing page', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).not.toContain('text/html');
    expect(await res.text()).not.toContain('<html');
    expect((await rawGet(server.url, '/explorer/assets/app-abc123.js')).status).toBe(404);
  });
});

describe('EXPLORER=sandbox', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ EXPLORER: 'sandbox' });
  });
  afterAll(() => server.stop());

  it('keeps Apollo’s landing page, which loads Sandbox from Apollo’s CDN', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html');
    expect(html).toMatch(/embeddable-sandbox|apollo/i);
    expect(html).not.toContain('/explorer/assets/');
  });
});
