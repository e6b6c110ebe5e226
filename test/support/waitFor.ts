// The one polling wait for tests: condition first, then what is awaited (for the error), then an
// explicit timeout. The loop is bounded by a poll count as well as by the deadline.

/** Thrown when a condition did not hold in time; the message names what was awaited. */
export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
}

const POLL_INTERVAL_MS = 5;

/**
 * Polls `condition` every 5 ms until it returns true; rejects with a WaitTimeoutError naming
 * `what` after `timeoutMs`. An exception from `condition` rejects at once.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`waitFor(${what}): timeoutMs must be a positive number, got ${timeoutMs}`);
  const deadline = Date.now() + timeoutMs;
  // A slow condition uses up the deadline first; the poll count only stops a stalled clock.
  const maxPolls = Math.ceil(timeoutMs / POLL_INTERVAL_MS) + 2;
  for (let poll = 0; poll < maxPolls; poll++) {
    if (await condition()) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
