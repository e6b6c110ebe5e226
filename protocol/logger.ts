// One pino logger per process, written to stderr so stdout stays free for results.
import { pino, type Logger } from 'pino';

const level = process.env.FLUSHBENCH_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info');

export const rootLogger: Logger = pino({ level, base: undefined }, pino.destination(2));

export function childLogger(module: string): Logger {
  return rootLogger.child({ module });
}

export type { Logger };
