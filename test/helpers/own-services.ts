import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/*
 * A PostgreSQL and a Redis of a test's own, on free loopback ports, that the
 * test may stop and start (fault tests) without disturbing the shared ones.
 */

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  return path.join('/usr/lib/postgresql', versions[0]!, 'bin', name);
}

const run = promisify(execFile);

/** PostgreSQL refuses to run as root: run its tools as the postgres account then. Async, so servers in this process keep serving. */
async function asPostgres(file: string, args: string[]): Promise<void> {
  const root = process.getuid?.() === 0;
  try {
    await (root ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args));
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string };
    throw new Error(`${path.basename(file)} failed: ${e.stderr || e.stdout || String(error)}`);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A private PostgreSQL cluster. */
export class OwnPostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<OwnPostgres> {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-pg-'));
    chmodSync(dir, 0o777);
    const pg = new OwnPostgres(path.join(dir, 'data'), await freePort());
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
    await asPostgres(pgBin('initdb'), ['-D', pg.dir, '-U', 'tokengate', '--auth=trust', '-E', 'UTF8', '--no-locale']);
    await pg.start();
    execFileSync(pgBin('createdb'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'tokengate', 'tokengate']);
    return pg;
  }

  get url(): string {
    return `postgres://tokengate@127.0.0.1:${this.port}/tokengate`;
  }

  start(): Promise<void> {
    return asPostgres(pgBin('pg_ctl'), [
      '-D', this.dir, '-l', path.join(this.dir, 'server.log'), '-w', '-t', '30', 'start',
      '-o', `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off`,
    ]);
  }

  stop(): Promise<void> {
    return asPostgres(pgBin('pg_ctl'), ['-D', this.dir, '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined); // already stopped
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}

/** A private Redis server. */
export class OwnRedis {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<OwnRedis> {
    const redis = new OwnRedis(mkdtempSync(path.join(tmpdir(), 'tokengate-redis-')), await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await run('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--daemonize', 'yes', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--logfile', path.join(this.dir, 'redis.log'),
    ]);
    for (let i = 0; i < 100; i++) {
      const pong = await run('redis-cli', ['-p', String(this.port), 'ping']).then((r) => r.stdout.trim(), () => '');
      if (pong === 'PONG') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis-server did not start');
  }

  async stop(): Promise<void> {
    await run('redis-cli', ['-p', String(this.port), 'shutdown', 'nosave']).catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
