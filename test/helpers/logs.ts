import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/platform/logger.js';

/** A logger that keeps its JSON lines, to check what reaches the logs (at `level`, `info` unless told). */
export function capturingLogger(level: Parameters<typeof createLogger>[0] = 'info'): { logger: Logger; lines: string[]; entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger(level, stream), lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
