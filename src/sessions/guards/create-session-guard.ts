import type { Config } from '../../config/config.js';
import { externalChangeCounter, type Db } from '../../db/database.js';
import type { Logger } from '../../platform/logger.js';
import type { Redis } from '../../platform/redis.js';
import type { SessionGuard } from '../session-guard.js';
import { DatabaseSessionGuard } from './database-session-guard.js';
import { LocalSessionGuard } from './local-session-guard.js';
import { RedisSessionGuard } from './redis-session-guard.js';

/**
 * Picks how the per-request session check learns about logouts and role
 * changes: through Redis when configured (several instances, cached), from
 * PostgreSQL on every request when not (several instances, no cache), or
 * from an in-process cache on embedded SQLite, which drops what it holds
 * whenever another process (the admin CLI) commits to the file. The server
 * and the admin CLI both build theirs here, so a CLI write goes through the
 * same door the server's own writes do.
 */
export function createSessionGuard(config: Config, db: Db, redis: Redis | null, logger: Logger): SessionGuard {
  if (config.redis && redis) {
    return new RedisSessionGuard(db, redis, {
      prefix: config.redis.prefix,
      epochTtlSeconds: config.refreshTokenTtl + config.jwt.accessTokenTtl,
      logger,
    });
  }
  if (config.database.dialect === 'postgres') return new DatabaseSessionGuard(db);
  const externalChanges = externalChangeCounter(db);
  return new LocalSessionGuard(db, externalChanges ? { externalChanges } : {});
}
