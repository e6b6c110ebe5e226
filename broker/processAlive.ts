// Whether a pid still runs: the owner check behind every lock and state file a crashed process
// may leave (the store lock, host-state files, the disk registry, the RocketMQ fetch lock).
import { errnoCode } from '../protocol/errors.js';

/** True while `pid` runs (EPERM: it runs as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}
