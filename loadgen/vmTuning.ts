// The seed's OS advice (vm.dirty_ratio=40, dirty_background_ratio=10, swappiness=10,
// overcommit_memory=1): show, apply (saving the originals first) and restore. The /proc/sys
// root is a parameter so tests use a fake directory and need no root.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, FlushbenchError } from '../protocol/errors.js';
import { type HostStateSpec, leftoverHostStateNotice, restoreHostState, saveHostState, checkValues } from './hostState.js';

export const PROC_SYS = '/proc/sys';

/** sysctl name → the seed's value. These four are the only keys tune writes or restores. */
export const SEED_ADVICE: Readonly<Record<string, string>> = {
  'vm.dirty_ratio': '40',
  'vm.dirty_background_ratio': '10',
  'vm.swappiness': '10',
  'vm.overcommit_memory': '1',
};

export const STATE_FILE = '.flushbench-tune-state.json';

export const SYSCTL_STATE: HostStateSpec = {
  owner: 'bench tune',
  allowedKeys: Object.keys(SEED_ADVICE),
  isValidValue: (value) => /^-?\d{1,18}$/.test(value),
  valueDescription: 'an integer',
};

/** /proc/sys/vm/dirty_ratio for vm.dirty_ratio. */
function sysctlPath(procSys: string, key: string): string {
  return path.join(procSys, ...key.split('.'));
}

/** Current values; null where a key cannot be read. */
export function readSettings(keys: readonly string[], procSys = PROC_SYS): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const key of keys) {
    try {
      out[key] = fs.readFileSync(sysctlPath(procSys, key), 'utf8').trim();
    } catch {
      out[key] = null;
    }
  }
  return out;
}

/** Writes each value; never creates a key (no O_CREAT) and never follows a symlink. */
export function writeSettings(settings: Record<string, string>, procSys = PROC_SYS): void {
  const values = checkValues(settings, SYSCTL_STATE, 'the settings to write');
  for (const [key, value] of Object.entries(values)) {
    const file = sysctlPath(procSys, key);
    try {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW);
      try {
        fs.writeSync(fd, `${value}\n`);
      } finally {
        fs.closeSync(fd);
      }
    } catch (error) {
      const code = errnoCode(error);
      throw new FlushbenchError('TUNE_FAILED', `cannot write ${file} (${code ?? String(error)}); run as root${code === 'EROFS' ? ' on a host where /proc/sys is writable' : ''}`);
    }
  }
}

/** Throws unless every key can be read (as an integer) and opened for writing, so a doomed apply saves nothing. */
function readAllWritable(keys: readonly string[], procSys: string): Record<string, string> {
  const current = readSettings(keys, procSys);
  for (const key of keys) {
    const file = sysctlPath(procSys, key);
    if (current[key] === null) throw new FlushbenchError('TUNE_FAILED', `cannot read ${file}; nothing was changed`);
    try {
      fs.accessSync(file, fs.constants.W_OK);
    } catch (error) {
      throw new FlushbenchError('TUNE_FAILED', `cannot write ${file} (${errnoCode(error) ?? String(error)}); run as root. Nothing was changed and no state file was written`);
    }
  }
  return checkValues(current, SYSCTL_STATE, procSys);
}

/**
 * Saves the current values to the state file (created exclusively: an existing one is never
 * replaced), then writes the advice. If a write fails, the keys already written are put back
 * and the state file is removed, so a failed apply leaves the host and the directory as they were.
 */
export function applyAdvice(stateFile: string, advice: Record<string, string> = SEED_ADVICE, procSys = PROC_SYS): Record<string, string> {
  checkValues(advice, SYSCTL_STATE, 'the advice');
  const original = readAllWritable(Object.keys(advice), procSys);
  saveHostState(stateFile, original, SYSCTL_STATE);
  const written: string[] = [];
  try {
    for (const [key, value] of Object.entries(advice)) {
      writeSettings({ [key]: value }, procSys);
      written.push(key);
    }
  } catch (error) {
    try {
      writeSettings(Object.fromEntries(written.map((key) => [key, original[key]])), procSys);
    } catch (rollbackError) {
      throw new FlushbenchError('TUNE_FAILED', `${(error as Error).message}; putting back ${written.join(', ')} failed too (${(rollbackError as Error).message}): the originals stay in ${stateFile} for \`bench tune --restore\``);
    }
    fs.rmSync(stateFile, { force: true });
    throw error;
  }
  return original;
}

/** Writes the saved originals back and removes the state file; null (a no-op) when there is none. */
export function restoreSaved(stateFile: string, procSys = PROC_SYS): Record<string, string> | null {
  return restoreHostState(stateFile, SYSCTL_STATE, (values) => writeSettings(values, procSys))?.values ?? null;
}

/** A sentence about a state file left by an earlier run, or null. */
export function leftoverTuneNotice(stateFile: string): string | null {
  return leftoverHostStateNotice(stateFile, SYSCTL_STATE);
}

/** Applies `settings`, runs fn, and always puts the previous values back. */
export async function withVmSettings<T>(settings: Record<string, string>, fn: () => Promise<T>, procSys = PROC_SYS): Promise<T> {
  const previous = readAllWritable(Object.keys(settings), procSys);
  writeSettings(settings, procSys);
  try {
    return await fn();
  } finally {
    writeSettings(previous, procSys);
  }
}
