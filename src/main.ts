import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './platform/logger.js';
import { withDevelopmentSecret } from './config/development-secret.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceNewerThanBuild } from './platform/build-freshness.js';
import { loadSigningKeys } from './tokens/signing-key-files.js';

/** The only reader of process.env: load config, build, listen, and shut down gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  let logger;
  let signingKeys;
  try {
    config = loadConfig(process.env);
    logger = createLogger(config.logLevel);
    config = withDevelopmentSecret(config, logger);
    signingKeys = loadSigningKeys(config, logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tokengate: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  warnIfStale(logger);
  // Tracing first, when configured: its hooks must be in place before the app
  // loads graphql, pg and ioredis. Off, OpenTelemetry is never loaded.
  const tracing = config.tracing.enabled ? await (await import('./platform/tracing.js')).startTracing(config.tracing, logger) : null;
  // Loaded only once the configuration is known to be good: a bad setting is
  // reported at once, without first loading the GraphQL stack.
  const { buildApp } = await import('./app.js');
  const app = buildApp(config, { logger, signingKeys });
  await app.start();
  const port = await app.listen(config.port, config.host);
  logger.info(
    { port, database: config.database.dialect, env: config.env },
    `tokengate listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}/graphql`,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    // The spans of the last requests are sent before exit (tracing on).
    app
      .stop()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** Names a source file newer than the build being served (npm start does not rebuild). */
function warnIfStale(logger: ReturnType<typeof createLogger>): void {
  const self = fileURLToPath(import.meta.url);
  const root = path.resolve(path.dirname(self), '..');
  if (path.basename(path.dirname(self)) !== 'dist') return; // run from src/ (tests): nothing to compare
  const newer = sourceNewerThanBuild(self, path.join(root, 'src'));
  if (newer !== null) {
    logger.warn({ changed: path.relative(root, newer) }, `the build in dist/ is older than ${path.relative(root, newer)}: run \`npm run build\` to serve your changes`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`tokengate: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
