// Strict power-cut mode: the kernel's periodic writeback is switched off
// (vm.dirty_writeback_centisecs=0) and dirty pages never expire during a test
// (vm.dirty_expire_centisecs high), so nothing unsynced reaches the disk by luck. The originals
// go to a state file (loadgen/hostState.ts) before anything changes and come back at the end,
// on Ctrl-C/SIGTERM, at process exit, or — after a crash — at the next start.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { type HostStateSpec, readHostState, removeHostState, restoreHostState, saveHostState, writeExistingFile } from '../hostState.js';
import { processAlive } from '../../broker/processAlive.js';
import { defaultDiskStateDir } from './diskRegistry.js';

/** One hour: far longer than any power-cut test, short enough to be harmless if left behind. */
export const STRICT_WRITEBACK: Readonly<Record<string, string>> = {
  'vm.dirty_writeback_centisecs': '0',
  'vm.dirty_expire_centisecs': '360000',
};

/**
 * Mount options of the inner ext4 in strict mode: the journal commits only when asked
 * (fsync/fdatasync) or after 600 s, and a file rewritten in place (O_TRUNC) is not flushed on
 * close (auto_da_alloc would start its writeback, a lucky save a power cut does not grant).
 */
export const STRICT_MOUNT_OPTIONS: readonly string[] = ['commit=600', 'noauto_da_alloc'];

export const WRITEBACK_STATE: HostStateSpec = {
  owner: 'power-cut strict mode',
  allowedKeys: Object.keys(STRICT_WRITEBACK),
  isValidValue: (value) => /^\d{1,12}$/.test(value),
  valueDescription: 'a non-negative integer',
};

export interface WritebackOptions {
  /** Host-wide by default (<defaultDiskStateDir>/writeback-state.json): sysctls are host-wide. */
  stateFile?: string;
  /** /proc/sys unless a test gives a fake directory. */
  procSys?: string;
  /** When the host booted (ms since epoch); from /proc/stat btime unless a test gives one. */
  bootTimeMs?: () => number;
}

function stateFileOf(options: WritebackOptions): string {
  const file = options.stateFile ?? path.join(defaultDiskStateDir(), 'writeback-state.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

function sysctlPath(procSys: string, key: string): string {
  return path.join(procSys, ...key.split('.'));
}

function readSysctl(procSys: string, key: string): string {
  try {
    return fs.readFileSync(sysctlPath(procSys, key), 'utf8').trim();
  } catch (error) {
    throw new FlushbenchError('DISK_SYSCTL_FAILED', `cannot read ${sysctlPath(procSys, key)} (${errnoCode(error) ?? String(error)})`);
  }
}

/** Writes existing sysctl files only (no O_CREAT, no symlinks). */
function writeSysctls(procSys: string, values: Record<string, string>): void {
  for (const [key, value] of Object.entries(values)) {
    const file = sysctlPath(procSys, key);
    try {
      writeExistingFile(file, value);
    } catch (error) {
      throw new FlushbenchError('DISK_SYSCTL_FAILED', `cannot write ${file} (${errnoCode(error) ?? String(error)}); strict power-cut mode needs root and a writable /proc/sys`);
    }
  }
}

function hostBootTimeMs(): number {
  const match = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
  return match ? Number(match[1]) * 1000 : 0;
}

export type LeftoverOutcome =
  | { action: 'none' }
  | { action: 'restored'; values: Record<string, string>; pid: number }
  /** Saved before the last boot: the reboot already reset the sysctls; the file was removed. */
  | { action: 'discarded-stale'; pid: number }
  | { action: 'held'; pid: number };

/**
 * At start (and before strict mode is turned on): undoes what a crashed run left. A state file
 * of a live process is another run in strict mode right now: reported as 'held', untouched.
 */
export function restoreLeftoverWriteback(options: WritebackOptions): LeftoverOutcome {
  const procSys = options.procSys ?? '/proc/sys';
  const stateFile = stateFileOf(options);
  const state = readHostState(stateFile, WRITEBACK_STATE);
  if (!state) return { action: 'none' };
  if (state.pid !== process.pid && state.pid > 0 && processAlive(state.pid)) return { action: 'held', pid: state.pid };
  const savedAtMs = Date.parse(state.savedAt);
  if (Number.isFinite(savedAtMs) && savedAtMs < (options.bootTimeMs ?? hostBootTimeMs)()) {
    removeHostState(stateFile);
    return { action: 'discarded-stale', pid: state.pid };
  }
  restoreHostState(stateFile, WRITEBACK_STATE, (values) => writeSysctls(procSys, values));
  return { action: 'restored', values: state.values, pid: state.pid };
}

export interface StrictWriteback {
  /** The values before strict mode. */
  original: Record<string, string>;
  /** Puts the originals back and removes the state file; later calls do nothing. */
  restore(): void;
}

/**
 * Saves the current values, then sets STRICT_WRITEBACK. Throws DISK_STRICT_BUSY while another
 * live process holds strict mode (two holders would save each other's strict values as
 * "originals"). Restores on process exit and on SIGINT/SIGTERM.
 */
export function enableStrictWriteback(options: WritebackOptions): StrictWriteback {
  const procSys = options.procSys ?? '/proc/sys';
  const stateFile = stateFileOf(options);
  const leftover = restoreLeftoverWriteback({ ...options, stateFile });
  if (leftover.action === 'held') {
    throw new FlushbenchError('DISK_STRICT_BUSY', `process ${leftover.pid} holds strict writeback mode (${stateFile}); wait for it to end, or if that pid is not a flushbench run, restore the values in the file by hand and remove it`);
  }
  const original = Object.fromEntries(Object.keys(STRICT_WRITEBACK).map((key) => [key, readSysctl(procSys, key)]));
  try {
    saveHostState(stateFile, original, WRITEBACK_STATE);
  } catch (error) {
    // Another process saved its state between our look and our save.
    if (error instanceof FlushbenchError && error.code === 'HOST_STATE_EXISTS') throw new FlushbenchError('DISK_STRICT_BUSY', `another process just took strict writeback mode (${stateFile})`, { cause: error });
    throw error;
  }
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restoreHostState(stateFile, WRITEBACK_STATE, (values) => writeSysctls(procSys, values));
    restored = true;
    process.off('exit', restore);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    restore();
    // Alone, we own the exit; with other listeners (child process stoppers), they exit.
    if (process.listenerCount(signal) === 0) process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  try {
    writeSysctls(procSys, { ...STRICT_WRITEBACK });
  } catch (error) {
    try {
      restore();
    } catch (restoreError) {
      throw new FlushbenchError('DISK_SYSCTL_FAILED', `${errorMessage(error)}; putting the originals back also failed (${errorMessage(restoreError)}): they are saved in ${stateFile}`, { cause: error });
    }
    throw error;
  }
  process.on('exit', restore);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { original, restore };
}

/**
 * enableStrictWriteback, waiting up to waitMs while another live process holds strict mode
 * (a concurrent test run, another bench): strict mode is host-wide, so runs take turns.
 */
export async function acquireStrictWriteback(options: WritebackOptions & { waitMs?: number }): Promise<StrictWriteback> {
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return enableStrictWriteback(options);
    } catch (error) {
      const busy = error instanceof FlushbenchError && error.code === 'DISK_STRICT_BUSY';
      if (!busy || Date.now() >= deadline) throw error;
    }
    await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
  }
}
