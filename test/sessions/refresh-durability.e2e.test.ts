import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startInstance, type Instance } from '../helpers/instances.js';

/*
 * An acknowledged rotation survives the process being killed: the answer
 * carrying a new refresh token is sent only after the commit that stored it
 * (on SQLite, WAL with synchronous=NORMAL, rotations of one event-loop turn
 * sharing that commit). Chains of refreshes run against the compiled server
 * until it is killed with SIGKILL mid-load; a new process on the same file
 * must take the last token each chain was given.
 */

const SIGNUP = 'mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { refreshToken } }';
const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { refreshToken } }';
const REFRESH = 'mutation ($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }';
const PASSWORD = 'correct horse battery staple';
const LIMITS = {
  RATE_LIMIT_REFRESH_ADDRESS: '1000000/1s',
  RATE_LIMIT_LOGIN_PAIR: '1000',
  RATE_LIMIT_LOGIN_USERNAME: '1000/1m',
  RATE_LIMIT_LOGIN_ADDRESS: '1000/1m',
};

const dirs: string[] = [];
const instances: Instance[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) if (i.process.exitCode === null && i.process.signalCode === null) i.process.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('refresh rotation on an SQLite file, as processes meet it', () => {
  it('every rotation answered before a SIGKILL is there after the restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-durability-'));
    dirs.push(dir);
    const env = { ...LIMITS, DATABASE_URL: path.join(dir, 'tokengate.sqlite') };
    const doomed = await startInstance('doomed', env);
    instances.push(doomed);
    const first = await doomed.gql<{ signup: { refreshToken: string } }>(SIGNUP, { u: 'grace', p: PASSWORD });
    const chains = [first.body.data!.signup.refreshToken];
    for (let i = 1; i < 16; i++)
      chains.push((await doomed.gql<{ login: { refreshToken: string } }>(LOGIN, { u: 'grace', p: PASSWORD })).body.data!.login.refreshToken);

    // Each chain refreshes in a loop; `chains[i]` is always the last token its answer carried.
    let killed = false;
    let acknowledged = 0;
    const loops = chains.map(async (_, i) => {
      while (!killed) {
        try {
          const res = await doomed.gql<{ refreshToken: { refreshToken: string } }>(REFRESH, { t: chains[i] });
          if (res.body.errors) throw new Error(`chain ${i}: ${JSON.stringify(res.body.errors)}`);
          chains[i] = res.body.data!.refreshToken.refreshToken;
          acknowledged++;
        } catch (error) {
          if (killed) return; // the connection died with the process: that answer never came
          throw error;
        }
      }
    });
    while (acknowledged < 400) await new Promise((r) => setTimeout(r, 5));
    const exited = new Promise((r) => doomed.process.once('exit', r));
    doomed.process.kill('SIGKILL');
    killed = true;
    await exited;
    await Promise.all(loops);

    const revived = await startInstance('revived', env);
    instances.push(revived);
    for (const [i, token] of chains.entries()) {
      const res = await revived.gql<{ refreshToken: { refreshToken: string } }>(REFRESH, { t: token });
      expect(res.body.errors, `chain ${i}`).toBeUndefined();
    }
    await revived.stop();
  });
  it('two processes on one SQLite file refresh at once without "database is locked"', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-two-processes-'));
    dirs.push(dir);
    const env = { ...LIMITS, DATABASE_URL: path.join(dir, 'tokengate.sqlite') };
    const a = await startInstance('A', env);
    instances.push(a);
    const b = await startInstance('B', env);
    instances.push(b);
    await a.gql(SIGNUP, { u: 'hana', p: PASSWORD });
    const chains: string[] = [];
    for (let i = 0; i < 8; i++)
      chains.push((await a.gql<{ login: { refreshToken: string } }>(LOGIN, { u: 'hana', p: PASSWORD })).body.data!.login.refreshToken);
    const errors: unknown[] = [];
    await Promise.all(
      chains.map(async (_, i) => {
        for (let n = 0; n < 30; n++) {
          const res = await (n % 2 === 0 ? a : b).gql<{ refreshToken: { refreshToken: string } }>(REFRESH, { t: chains[i] });
          if (res.body.errors) errors.push(res.body.errors);
          else chains[i] = res.body.data!.refreshToken.refreshToken;
        }
      }),
    );
    expect(errors).toEqual([]);
  });
});
