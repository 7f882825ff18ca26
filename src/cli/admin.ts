import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { PasswordHasher } from '../credentials/password.js';
import { migrateToLatest, openDatabase, type Db } from '../db/database.js';
import { allMigrations } from '../migrations.js';
import { AppError } from '../errors.js';
import { systemClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { openRedis, type Redis } from '../platform/redis.js';
import { createEventBus, createSessionGuard, SessionService, type Viewer } from '../sessions/index.js';
import { ROLES, type Role } from '../users/user.js';
import { UserService } from '../users/user.service.js';
import { TotpService } from '../mfa/index.js';
import { AuthRateLimits } from '../core/rate-limits.js';

const USAGE = `Usage (same environment as the server: DATABASE_URL, REDIS_URL, …):
  npm run user:list [-- --json]              every user: username, roles, id, created
  npm run user:roles USERNAME ROLES          replace a user's roles, e.g. USER,ADMIN
  npm run sessions:revoke USERNAME           end every session of a user, on every instance
  npm run mfa:reset USERNAME                 turn a user's TOTP off (lost phone) and end their sessions

Exit codes: 0 done, 64 usage error, 65 refused (unknown user, last ADMIN, …),
69 Redis unreachable (nothing was changed), 78 bad configuration, 1 anything else.`;

/** The actor recorded in audit lines for changes made here. */
const CLI_ACTOR = { userId: 'cli', sessionId: 'cli' };
const CLI_VIEWER: Viewer = { user: { id: 'cli', username: 'cli', roles: ['ADMIN'], createdAt: new Date(0), email: null, emailVerified: false }, sessionId: 'cli', fresh: false, tokenExpiresAt: 0 };

class UsageError extends Error {}
/** Redis is configured but does not answer: the door refuses writes, so nothing is changed. */
class RedisDownError extends Error {}

interface Services {
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly totp: TotpService;
}

/** Builds the services as the server does, with the same door (Redis epochs when REDIS_URL is set). */
async function withServices<T>(config: Config, writes: boolean, run: (services: Services, db: Db) => Promise<T>): Promise<T> {
  const logger = createLogger('warn');
  const db = openDatabase(config.database);
  let redis: Redis | null = null;
  try {
    await migrateToLatest(db, allMigrations(config.database.dialect));
    if (config.redis) {
      redis = openRedis(config.redis.url);
      await redis.connect().catch(() => {});
      // Without Redis other instances would keep trusting cached sessions; the door refuses such writes.
      if (writes && redis.status !== 'ready') throw new RedisDownError(`Redis (${new URL(config.redis.url).host}) is not reachable: nothing was changed`);
    }
    const guard = createSessionGuard(config, db, redis, logger);
    // The server's own bus: sessions the CLI ends close their sockets on every running instance at once.
    const sessions = new SessionService({ db, clock: systemClock, guard, bus: createEventBus(config, db, redis, logger), logger });
    const users = new UserService({ db, clock: systemClock, hasher: new PasswordHasher(config.argon2), userChanges: sessions, logger });
    const totp = new TotpService({
      db,
      clock: systemClock,
      // reset() never opens a TOTP secret, so the CLI needs no key (nor JWT_SECRET) for it.
      secretKey: Buffer.alloc(32),
      issuer: config.totp.issuer,
      sessions,
      rateLimits: new AuthRateLimits(config.rateLimits, logger, null),
      logger,
    });
    try {
      return await run({ users, sessions, totp }, db);
    } finally {
      await guard.close();
    }
  } finally {
    redis?.disconnect();
    await db.destroy();
  }
}

async function findUser(users: UserService, username: string) {
  const user = await users.findByUsername(username);
  if (user === null) throw new AppError('BAD_USER_INPUT', `No user is named ${username}.`);
  return user;
}

async function listUsers(services: Services, json: boolean): Promise<void> {
  let after: string | null = null;
  let count = 0;
  if (!json) process.stdout.write(`${'USERNAME'.padEnd(24)} ${'ROLES'.padEnd(12)} ${'CREATED'.padEnd(24)} ID\n`);
  for (;;) {
    const page = await services.users.listUsers(100, after);
    for (const user of page.nodes) {
      count++;
      const line = json
        ? JSON.stringify({ id: user.id, username: user.username, roles: user.roles, createdAt: user.createdAt.toISOString() })
        : `${user.username.padEnd(24)} ${user.roles.join(',').padEnd(12)} ${user.createdAt.toISOString().padEnd(24)} ${user.id}`;
      process.stdout.write(`${line}\n`);
    }
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  if (!json) process.stderr.write(`${count} user${count === 1 ? '' : 's'}\n`);
}

async function setRoles(services: Services, username: string, rolesText: string): Promise<void> {
  const roles = rolesText.split(',').map((r) => r.trim().toUpperCase()).filter((r) => r !== '');
  const unknown = roles.filter((r) => !ROLES.includes(r as Role));
  if (roles.length === 0 || unknown.length > 0) throw new UsageError(`Unknown role(s): ${unknown.join(', ') || '(none given)'}. Roles: ${ROLES.join(', ')}`);
  const user = await findUser(services.users, username);
  const updated = await services.users.setRoles(CLI_ACTOR, user.id, roles as Role[], { clientAddress: 'cli', requestId: randomUUID() });
  process.stdout.write(`Roles of ${updated.username} are now ${updated.roles.join(', ')}; their tokens carry them from the next request\n`);
}

async function revokeSessions(services: Services, username: string): Promise<void> {
  const user = await findUser(services.users, username);
  const ended = await services.sessions.endSessions(user.id, {}, 'admin_revoked', { actorId: CLI_ACTOR.userId, meta: { clientAddress: 'cli', userAgent: null } });
  process.stdout.write(`Ended ${ended.length} session${ended.length === 1 ? '' : 's'} of ${user.username}\n`);
}

async function resetMfa(services: Services, username: string): Promise<void> {
  const user = await findUser(services.users, username);
  await services.totp.reset(CLI_VIEWER, user.id, { userAgent: null, clientAddress: 'cli', requestId: randomUUID() });
  process.stdout.write(`Two-factor authentication of ${user.username} is off and their sessions have ended; they sign in with the password alone and may enroll again\n`);
}

async function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean' } } });
  const [command, ...args] = positionals;
  if (values.help || command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 64;
  }
  const expect = (n: number) => {
    if (args.length !== n) throw new UsageError(`${command} takes ${n} argument${n === 1 ? '' : 's'}`);
  };
  switch (command) {
    case 'user:list':
      expect(0);
      break;
    case 'user:roles':
      expect(2);
      break;
    case 'sessions:revoke':
    case 'mfa:reset':
      expect(1);
      break;
    default:
      throw new UsageError(`Unknown command ${command}`);
  }
  const config = loadConfig(process.env);
  await withServices(config, command !== 'user:list', (services) => {
    if (command === 'user:list') return listUsers(services, values.json === true);
    if (command === 'user:roles') return setRoles(services, args[0]!, args[1]!);
    if (command === 'mfa:reset') return resetMfa(services, args[0]!);
    return revokeSessions(services, args[0]!);
  });
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      process.exit(64);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`tokengate: ${error.message}\n`);
      process.exit(78); // EX_CONFIG, as the server
    }
    if (error instanceof AppError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      process.exit(65);
    }
    if (error instanceof RedisDownError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(69); // EX_UNAVAILABLE
    }
    process.stderr.write(`admin command failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
