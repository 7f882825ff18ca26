import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, startServer, testEnv, type TestServer } from '../helpers/server.js';

/*
 * apikeys:list and apikeys:revoke of the admin CLI (dist/cli/admin.js)
 * against a running server's database: the revocation goes through the
 * door, so the running server refuses the keys on the very next request.
 */
const ADMIN_CLI = fileURLToPath(new URL('../../dist/cli/admin.js', import.meta.url));
const CREATE = 'mutation ($n: String!) { createApiKey(name: $n, scopes: [PROFILE]) { key apiKey { id prefix } } }';

function cli(server: TestServer, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ADMIN_CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...testEnv(server.storage) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('the admin CLI and API keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    if (!existsSync(ADMIN_CLI)) throw new Error('dist/cli/admin.js is missing: run `npm run build` (npm test does it for you)');
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('lists a user’s keys without the keys themselves, and revokes them all, seen by the server on the next request', async () => {
    const pair = await signup(server, 'cli-key-owner');
    const made = [];
    for (const name of ['ci', 'backup']) {
      const res = await server.gql<{ createApiKey: { key: string; apiKey: { id: string; prefix: string } } }>(CREATE, { n: name }, { token: pair.accessToken });
      made.push(res.body.data!.createApiKey);
    }
    for (const { key } of made) expect((await server.gql('{ me { id } }', {}, { token: key })).body.errors).toBeUndefined();

    const table = await cli(server, ['apikeys:list', 'cli-key-owner']);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^PREFIX\s+NAME\s+SCOPES/);
    for (const { key, apiKey } of made) {
      expect(table.out).toContain(apiKey.prefix);
      expect(table.out).not.toContain(key.slice(11));
    }
    const json = await cli(server, ['apikeys:list', 'cli-key-owner', '--json']);
    expect(json.out.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id).sort()).toEqual(made.map((m) => m.apiKey.id).sort());

    const revoked = await cli(server, ['apikeys:revoke', 'cli-key-owner']);
    expect(revoked.code, revoked.err).toBe(0);
    expect(revoked.out).toContain('Revoked 2 API keys of cli-key-owner');
    for (const { key } of made) {
      expect((await server.gql('{ me { id } }', {}, { token: key })).body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
    }
    expect((await cli(server, ['apikeys:list', 'cli-key-owner', '--json'])).out.trim()).toBe('');
    const audited = await server.app.db.selectFrom('audit_events').select(['actor_id', 'details']).where('type', '=', 'apikey.revoked').where('user_id', '=', pair.user.id).execute();
    expect(audited.map((e) => [e.actor_id, JSON.parse(e.details!).by])).toEqual([
      ['cli', 'cli'],
      ['cli', 'cli'],
    ]);
    const unknown = await cli(server, ['apikeys:revoke', 'nobody-here']);
    expect(unknown.code).toBe(65);
  });
});
