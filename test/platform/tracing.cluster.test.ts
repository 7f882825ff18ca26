import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { tracingSuite } from './tracing-checks.js';

// OpenTelemetry on PostgreSQL + Redis: HTTP, GraphQL, SQL and Redis spans, no secret exported (see tracing-checks.ts).
describe('tracing (OpenTelemetry) on PostgreSQL + Redis', () => {
  tracingSuite({
    storage: async () => {
      const database = await createDatabase();
      return { env: { DATABASE_URL: database.url, REDIS_URL: serviceUrls().redisUrl, REDIS_PREFIX: `tg-trace-${randomBytes(4).toString('hex')}:` }, dispose: database.drop };
    },
    sql: true,
    redis: true,
  });
});
