import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { DatabaseSessionGuard, LocalEventBus, SessionService } from '../sessions/index.js';
import { PasswordHasher } from '../credentials/password.js';
import { systemClock } from '../platform/clock.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { migrateToLatest, openDatabase } from '../db/database.js';
import { allMigrations } from '../migrations.js';
import { AppError } from '../errors.js';
import { createLogger } from '../platform/logger.js';
import { ROLES, type Role } from '../users/user.js';
import { UserService } from '../users/user.service.js';

const USAGE = `Usage: npm run user:create -- --username NAME [--role ADMIN] [--role USER]

Creates a user in the configured database (DATABASE_URL, default ./data/tokengate.sqlite).
The password is read from standard input (one line), or asked for when run in a terminal:
  printf '%s\\n' "$ADMIN_PASSWORD" | npm run user:create -- --username admin --role ADMIN`;

/** Reads the password: a hidden prompt on a terminal, else the first line of stdin. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  process.stderr.write('Password: ');
  // Hide what is typed: readline echoes through _writeToOutput.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  const answer = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

async function run(): Promise<number> {
  const { values } = parseArgs({
    options: { username: { type: 'string' }, role: { type: 'string', multiple: true }, help: { type: 'boolean' } },
  });
  if (values.help || values.username === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 64;
  }
  const roles = (values.role ?? ['USER']).map((r) => r.toUpperCase());
  const unknown = roles.filter((r) => !ROLES.includes(r as Role));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown role(s): ${unknown.join(', ')}. Roles: ${ROLES.join(', ')}\n`);
    return 64;
  }
  const config = loadConfig(process.env);
  const logger = createLogger('warn');
  const db = openDatabase(config.database);
  try {
    await migrateToLatest(db, allMigrations(config.database.dialect));
    const users = new UserService({ db, clock: systemClock, hasher: new PasswordHasher(config.argon2), userChanges: new SessionService({ db, clock: systemClock, guard: new DatabaseSessionGuard(db), bus: new LocalEventBus(logger), logger }), logger });
    const password = await readPassword();
    const allRoles: Role[] = roles.includes('USER') ? (roles as Role[]) : ['USER', ...(roles as Role[])];
    const user = await users.createUser({ username: values.username, password, roles: allRoles });
    process.stdout.write(`Created user ${user.username} (${user.id}) with roles ${user.roles.join(', ')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof AppError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      return 65;
    }
    throw error;
  } finally {
    await db.destroy();
  }
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`tokengate: ${error.message}\n`);
      process.exit(78); // EX_CONFIG, as the server
    }
    process.stderr.write(`user:create failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
