// Process-level last line of defence for `bench broker`. Node 20 ends the process on an
// unhandled promise rejection or an uncaught exception; for a broker that means every reader
// and every unflushed byte goes too. Instead: log the error and fail the store, which then
// answers writes SERVICE_NOT_AVAILABLE and keeps serving reads until an operator restarts it.
// Every known fire-and-forget site catches its own errors; this is for the ones we missed.
import { childLogger, type Logger } from '../../protocol/logger.js';

/** What the guard fails (BrokerController, or a MessageStore directly). */
export interface FailableStore {
  failStore(error: Error): void;
}

/** The part of `process` the guard uses (an EventEmitter in tests). */
export interface ProcessEvents {
  on(event: 'unhandledRejection' | 'uncaughtException', listener: (error: unknown) => void): unknown;
  off(event: 'unhandledRejection' | 'uncaughtException', listener: (error: unknown) => void): unknown;
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(`non-Error rejection: ${String(reason)}`);
}

/** Installs the handlers; returns a function that removes them. */
export function installProcessGuard(target: FailableStore, proc: ProcessEvents = process, log: Logger = childLogger('process-guard')): () => void {
  const handle = (kind: string) => (reason: unknown) => {
    const error = asError(reason);
    log.error({ kind, err: error.message, stack: error.stack }, `${kind}: the store stops taking writes (reads go on); restart the broker`);
    try {
      target.failStore(error);
    } catch (failure) {
      log.error({ err: String(failure) }, 'failing the store failed too');
    }
  };
  const onRejection = handle('unhandledRejection');
  const onException = handle('uncaughtException');
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
