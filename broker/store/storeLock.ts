// One broker per store path: a lock file holding the owner's pid (stale locks are taken over).
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { processAlive } from '../processAlive.js';

/** Store paths opened by this process. */
export const lockedPaths = new Set<string>();

/** One broker per store path: a lock file holding the owner's pid (stale locks are taken over). */
export function takeLock(lockPath: string): void {
  if (lockedPaths.has(lockPath)) {
    throw new FlushbenchError('STORE_LOCKED', `store ${path.dirname(lockPath)} is already open in this process`);
  }
  try {
    const owner = Number(fs.readFileSync(lockPath, 'utf8').trim());
    if (owner && owner !== process.pid && processAlive(owner)) {
      throw new FlushbenchError('STORE_LOCKED', `store ${path.dirname(lockPath)} is in use by process ${owner}; stop it or use another storePathRootDir`);
    }
  } catch (error) {
    if (error instanceof FlushbenchError) throw error;
  }
  fs.writeFileSync(lockPath, String(process.pid));
  lockedPaths.add(lockPath);
}

