import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Builds the process logger: JSON lines on stdout. Redaction is a second line
 * of defence: code never passes passwords or tokens to the logger, and these
 * paths make sure a mistake would still not print them.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'accessToken', 'refreshToken', '*.refreshToken', 'authorization', '*.authorization', 'secret', '*.secret', 'passwordHash', '*.passwordHash', 'mfaToken', '*.mfaToken'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
