// The seed's OS advice (vm.dirty_ratio=40, dirty_background_ratio=10, swappiness=10,
// overcommit_memory=1): show, apply (saving the originals first) and restore. The /proc/sys
// root is a parameter so tests use a fake directory.
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../protocol/errors.js';

export const SEED_ADVICE: Record<string, string> = {
  'vm/dirty_ratio': '40',
  'vm/dirty_background_ratio': '10',
  'vm/swappiness': '10',
  'vm/overcommit_memory': '1',
};

export const STATE_FILE = '.flushbench-tune-state.json';

export function readSettings(keys: string[], procSys = '/proc/sys'): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const key of keys) {
    try {
      out[key] = fs.readFileSync(path.join(procSys, key), 'utf8').trim();
    } catch {
      out[key] = null;
    }
  }
  return out;
}

export function writeSettings(settings: Record<string, string>, procSys = '/proc/sys'): void {
  for (const [key, value] of Object.entries(settings)) {
    try {
      fs.writeFileSync(path.join(procSys, key), `${value}\n`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new FlushbenchError('TUNE_FAILED', `cannot write ${path.join(procSys, key)} (${code}); run as root${code === 'EROFS' ? ' on a host where /proc/sys is writable' : ''}`);
    }
  }
}

/** Saves the current values to the state file (never overwriting one), then writes the advice. */
export function applyAdvice(stateFile: string, advice = SEED_ADVICE, procSys = '/proc/sys'): Record<string, string | null> {
  if (fs.existsSync(stateFile)) {
    throw new FlushbenchError('TUNE_STATE_EXISTS', `${stateFile} already holds saved settings; run \`bench tune --restore\` first so the originals are not lost`);
  }
  const original = readSettings(Object.keys(advice), procSys);
  fs.writeFileSync(stateFile, JSON.stringify({ savedAt: new Date().toISOString(), procSys, original }, null, 2));
  try {
    writeSettings(advice, procSys);
  } catch (error) {
    restoreSaved(stateFile, procSys);
    throw error;
  }
  return original;
}

/** Writes the saved originals back and removes the state file. */
export function restoreSaved(stateFile: string, procSys = '/proc/sys'): Record<string, string> {
  if (!fs.existsSync(stateFile)) throw new FlushbenchError('TUNE_NO_STATE', `no ${stateFile}: nothing to restore`);
  const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { original: Record<string, string | null> };
  const original = Object.fromEntries(Object.entries(saved.original).filter((e): e is [string, string] => e[1] !== null));
  writeSettings(original, procSys);
  fs.rmSync(stateFile);
  return original;
}

/** Applies `settings`, runs fn, and always puts the previous values back. */
export async function withVmSettings<T>(settings: Record<string, string>, fn: () => Promise<T>, procSys = '/proc/sys'): Promise<T> {
  const previous = readSettings(Object.keys(settings), procSys);
  writeSettings(settings, procSys);
  try {
    return await fn();
  } finally {
    writeSettings(Object.fromEntries(Object.entries(previous).filter((e): e is [string, string] => e[1] !== null)), procSys);
  }
}
