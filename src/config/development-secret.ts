import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import type { Logger } from '../platform/logger.js';

const SECRET_FILE = 'jwt-secret';

/**
 * Outside production, a missing JWT_SECRET is replaced by a random one made
 * once and kept (mode 0600) in the data folder, so tokens survive restarts
 * without anyone choosing a guessable secret. Production never gets here:
 * loadConfig refuses to start without a strong JWT_SECRET.
 */
export function withDevelopmentSecret(config: Config, logger: Logger): Config {
  if (config.jwt.secret !== null) return config;
  const file = path.join(config.dataDir, SECRET_FILE);
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch {
    secret = randomBytes(48).toString('base64url');
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  }
  logger.warn({ file }, 'JWT_SECRET is not set: using the development secret kept in the data folder (set JWT_SECRET in production)');
  return Object.freeze({ ...config, jwt: Object.freeze({ ...config.jwt, secret }) });
}
