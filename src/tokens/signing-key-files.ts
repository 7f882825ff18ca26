import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config/config.js';
import type { Logger } from '../platform/logger.js';
import {
  buildKeySet,
  generateSigningKeyPem,
  parseSigningKey,
  parseVerifyKey,
  SigningKeyError,
  type AsymmetricAlgorithm,
  type SignKey,
  type SigningKeySet,
  type VerifyKey,
} from './signing-keys.js';

/** The development key's file in the data folder, one per algorithm so a switch never meets a key of the wrong type. */
export function developmentKeyFile(dataDir: string, algorithm: AsymmetricAlgorithm): string {
  return path.join(dataDir, `jwt-signing-key-${algorithm.toLowerCase()}.pem`);
}

/** Reads a key file, turning every failure into a message that names the setting and the file. */
function readKey<T>(setting: string, file: string, parse: (pem: string) => T, problems: string[]): T | null {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'an error';
    problems.push(`${setting}: cannot read ${file} (${code})`);
    return null;
  }
  try {
    return parse(pem);
  } catch (error) {
    if (error instanceof SigningKeyError) {
      problems.push(`${setting}: ${file} ${error.message}`);
      return null;
    }
    throw error;
  }
}

/**
 * Outside production without JWT_PRIVATE_KEY_FILE: the key made once (mode
 * 0600) in the data folder and kept, so tokens survive restarts. Production
 * never gets here: loadConfig refuses to start without the setting.
 */
function developmentKey(config: Config, algorithm: AsymmetricAlgorithm, logger: Logger): { file: string; created: boolean } {
  const file = developmentKeyFile(config.dataDir, algorithm);
  try {
    readFileSync(file);
    return { file, created: false };
  } catch {
    mkdirSync(config.dataDir, { recursive: true });
    try {
      writeFileSync(file, generateSigningKeyPem(algorithm), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process of the same deployment made it first: use theirs.
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
      logger.debug({ file }, 'development signing key created concurrently');
    }
    return { file, created: true };
  }
}

/**
 * Reads and checks the signing keys at start-up: null for HS256, else the
 * active key and the earlier ones. Throws a ConfigError naming the setting
 * and file of every key that is unreadable, malformed, public where a
 * private key is needed, of the wrong type, or too weak.
 */
export function loadSigningKeys(config: Config, logger: Logger): SigningKeySet | null {
  const { algorithm, privateKeyFile, verifyKeyFiles } = config.jwtKeys;
  if (algorithm === 'HS256') return null;
  const problems: string[] = [];
  let activeFile = privateKeyFile;
  let generated = false;
  if (activeFile === null) {
    if (config.env === 'production') throw new ConfigError([`JWT_PRIVATE_KEY_FILE is required when JWT_ALGORITHM=${algorithm} and NODE_ENV=production`]);
    const dev = developmentKey(config, algorithm, logger);
    activeFile = dev.file;
    generated = dev.created;
  }
  const active: SignKey | null = readKey('JWT_PRIVATE_KEY_FILE', activeFile, (pem) => parseSigningKey(pem, algorithm), problems);
  const earlier = verifyKeyFiles
    .map((file) => readKey<VerifyKey>('JWT_VERIFY_KEY_FILES', file, parseVerifyKey, problems))
    .filter((key): key is VerifyKey => key !== null);
  if (active === null || problems.length > 0) throw new ConfigError(problems);
  const keys = buildKeySet(active, earlier);
  const fields = { algorithm, kid: active.kid, verifyKids: keys.verifyKeys.slice(1).map((key) => key.kid) };
  if (privateKeyFile === null) {
    logger.warn(
      { ...fields, file: activeFile },
      `JWT_PRIVATE_KEY_FILE is not set: ${generated ? 'generated' : 'using'} the development ${algorithm} key in the data folder (set JWT_PRIVATE_KEY_FILE in production)`,
    );
  } else {
    logger.info(fields, `access tokens are signed with ${algorithm}`);
  }
  return keys;
}
