// The seed's OS advice (vm.dirty_ratio=40, dirty_background_ratio=10, swappiness=10,
// overcommit_memory=1): show, apply (saving the originals first) and restore. The /proc/sys
// root is a parameter so tests use a fake directory and need no root.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, FlushbenchError } from '../protocol/errors.js';
import { type HostStateSpec, leftoverHostStateNotice, restoreHostState, saveHostState, checkValues, writeExistingFile } from './hostState.js';

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
      writeExistingFile(file, value);
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

/** One item of the seed's OS advice, as `bench tune check` shows it. */
export interface AdviceCheck {
  name: string;
  current: string | null;
  recommended: string;
  /** true when current follows the advice, null when it could not be read. */
  follows: boolean | null;
  source: string;
}

export interface CheckInputs {
  procSys?: string;
  /** /proc (for self/limits and swaps). */
  procRoot?: string;
  /** The store disk's queue facts (hostFacts: scheduler and write_cache of its /sys/block device). */
  disk: { device: string | null; scheduler: string | null; writeCache: string | null };
}

const SEED_SOURCE = 'seed, 优化建议 (OS优化 / 磁盘优化)';
const SEED_OPEN_FILES = 655350;
const SEED_SCHEDULERS = ['deadline', 'mq-deadline', 'noop', 'none'];

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Every advice item of the seed with this host's value. */
export function checkSeedAdvice(inputs: CheckInputs): AdviceCheck[] {
  const procSys = inputs.procSys ?? PROC_SYS;
  const procRoot = inputs.procRoot ?? '/proc';
  const current = readSettings(Object.keys(SEED_ADVICE), procSys);
  const out: AdviceCheck[] = Object.entries(SEED_ADVICE).map(([key, value]) => ({
    name: key, current: current[key], recommended: value, follows: current[key] === null ? null : current[key] === value, source: `${SEED_SOURCE}: ${key}=${value}`,
  }));
  const limits = readText(path.join(procRoot, 'self', 'limits'));
  const openFiles = limits ? (/^Max open files\s+(\S+)\s+(\S+)/m.exec(limits)?.[1] ?? null) : null;
  out.push({
    name: 'open files (ulimit -n)', current: openFiles, recommended: String(SEED_OPEN_FILES),
    follows: openFiles === null ? null : openFiles === 'unlimited' || Number(openFiles) >= SEED_OPEN_FILES, source: `${SEED_SOURCE}: ulimit -n 655350`,
  });
  const swaps = readText(path.join(procRoot, 'swaps'));
  const swapDevices = swaps === null ? null : swaps.trim().split('\n').slice(1).filter(Boolean).length;
  out.push({
    name: 'swap', current: swapDevices === null ? null : swapDevices === 0 ? 'off' : `on (${swapDevices} device(s) in /proc/swaps)`, recommended: 'off',
    follows: swapDevices === null ? null : swapDevices === 0, source: `${SEED_SOURCE}: swapoff -a`,
  });
  const where = inputs.disk.device ? ` (${inputs.disk.device})` : '';
  out.push({
    name: `I/O scheduler of the store disk${where}`, current: inputs.disk.scheduler, recommended: 'deadline or noop (mq-deadline / none on blk-mq)',
    follows: inputs.disk.scheduler === null ? null : SEED_SCHEDULERS.includes(inputs.disk.scheduler), source: `${SEED_SOURCE}: 调整磁盘调度算法 deadline或noop`,
  });
  out.push({
    name: `disk write cache of the store disk${where}`, current: inputs.disk.writeCache, recommended: 'write through (write-back cache off)',
    follows: inputs.disk.writeCache === null ? null : inputs.disk.writeCache === 'write through', source: `${SEED_SOURCE}: 禁用磁盘缓存的write-back`,
  });
  return out;
}

/** What makes the advice permanent: /etc/sysctl.d lines, the nofile limit and swap. */
export function permanentAdviceLines(advice: Record<string, string> = SEED_ADVICE): string[] {
  return [
    '# /etc/sysctl.d/99-rocketmq-seed.conf (then: sysctl --system)',
    ...Object.entries(advice).map(([key, value]) => `${key} = ${value}`),
    '# /etc/security/limits.d/99-rocketmq-seed.conf (new login sessions; systemd units need LimitNOFILE=655350)',
    `*  soft  nofile  ${SEED_OPEN_FILES}`,
    `*  hard  nofile  ${SEED_OPEN_FILES}`,
    '# swap: swapoff -a, and comment out the swap lines in /etc/fstab',
  ];
}
