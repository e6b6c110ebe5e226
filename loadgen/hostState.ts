// Saved host settings (sysctls today; the power-cut check and the vm.dirty sweep reuse it): the
// originals go to a state file before anything is changed, so a crashed run can be undone.
// The file is created atomically and exclusively, read without following symlinks, and only
// keys and values the caller allows are ever written back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errnoCode, FlushbenchError } from '../protocol/errors.js';
import { processAlive } from '../broker/processAlive.js';

/** What may be saved and written back. */
export interface HostStateSpec {
  /** Who saves it ('bench tune'); shown in messages and stored in the file. */
  owner: string;
  allowedKeys: readonly string[];
  /** True for a value that may be written back to the host. */
  isValidValue(value: string): boolean;
  /** How to describe a valid value in an error ("an integer"). */
  valueDescription: string;
}

export interface SavedHostState {
  owner: string;
  savedAt: string;
  pid: number;
  hostname: string;
  values: Record<string, string>;
}

/** A state file is a few hundred bytes; anything much larger is not ours. */
const STATE_FILE_MAX_BYTES = 64 * 1024;

function refuse(stateFile: string, reason: string): never {
  throw new FlushbenchError('HOST_STATE_INVALID', `${stateFile}: ${reason}; nothing was written. Check the file, restore the settings by hand if needed, then remove it`);
}

/** Throws unless every key is allowed and every value valid (before anything is written). */
export function checkValues(values: Record<string, unknown>, spec: HostStateSpec, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (!spec.allowedKeys.includes(key)) refuse(where, `unknown key ${JSON.stringify(key)} (${spec.owner} only restores ${spec.allowedKeys.join(', ')})`);
    if (typeof value !== 'string' || !spec.isValidValue(value)) refuse(where, `${key}=${JSON.stringify(value)} is not ${spec.valueDescription}`);
    out[key] = value;
  }
  return out;
}

/**
 * Saves `values` to `stateFile`, never replacing an existing one. The content goes to a temp
 * file opened O_CREAT|O_EXCL|O_NOFOLLOW and fsynced; link() then gives it the final name, which
 * fails if that name exists (even as a symlink) — so a reader sees all of the file or none.
 */
export function saveHostState(stateFile: string, values: Record<string, string>, spec: HostStateSpec): SavedHostState {
  const state: SavedHostState = {
    owner: spec.owner, savedAt: new Date().toISOString(), pid: process.pid, hostname: os.hostname(), values: checkValues(values, spec, stateFile),
  };
  const tempFile = `${stateFile}.${process.pid}.tmp`;
  const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(tempFile, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY, 0o600);
  } catch (error) {
    throw new FlushbenchError('HOST_STATE_WRITE_FAILED', `cannot create ${tempFile} (${errnoCode(error) ?? String(error)}); remove it if a crashed run left it`);
  }
  try {
    try {
      fs.writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tempFile, stateFile);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') {
        throw new FlushbenchError('HOST_STATE_EXISTS', `${stateFile} already holds saved settings; restore them first (\`bench tune --restore\`) so the originals are not lost`);
      }
      throw new FlushbenchError('HOST_STATE_WRITE_FAILED', `cannot create ${stateFile} (${errnoCode(error) ?? String(error)})`);
    }
  } finally {
    fs.rmSync(tempFile, { force: true });
  }
  syncDirectory(path.dirname(stateFile));
  return state;
}

/** The saved state, or null when there is no state file. Refuses symlinks, odd files and unknown content. */
export function readHostState(stateFile: string, spec: HostStateSpec): SavedHostState | null {
  let fd: number;
  try {
    fd = fs.openSync(stateFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') refuse(stateFile, 'is a symbolic link, not a state file written by flushbench');
    throw new FlushbenchError('HOST_STATE_READ_FAILED', `cannot read ${stateFile} (${code ?? String(error)})`);
  }
  let text: string;
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) refuse(stateFile, 'is not a regular file');
    if (stat.size > STATE_FILE_MAX_BYTES) refuse(stateFile, `is ${stat.size} bytes, larger than any state file (${STATE_FILE_MAX_BYTES})`);
    const buffer = Buffer.alloc(stat.size);
    const read = fs.readSync(fd, buffer, 0, stat.size, 0);
    text = buffer.subarray(0, read).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    refuse(stateFile, 'is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) refuse(stateFile, 'does not hold a JSON object');
  const record = parsed as Partial<Record<keyof SavedHostState, unknown>>;
  if (record.owner !== spec.owner) refuse(stateFile, `was written by ${JSON.stringify(record.owner)}, not ${spec.owner}`);
  if (typeof record.values !== 'object' || record.values === null || Array.isArray(record.values)) refuse(stateFile, 'has no "values" object');
  return {
    owner: spec.owner,
    savedAt: typeof record.savedAt === 'string' ? record.savedAt : '?',
    pid: typeof record.pid === 'number' ? record.pid : 0,
    hostname: typeof record.hostname === 'string' ? record.hostname : '?',
    values: checkValues(record.values as Record<string, unknown>, spec, stateFile),
  };
}

/** Removes the state file once its values are back on the host. */
export function removeHostState(stateFile: string): void {
  fs.rmSync(stateFile, { force: true });
  syncDirectory(path.dirname(stateFile));
}

/**
 * Reads and checks the saved values, hands them to `writeBack`, and removes the file only when
 * that succeeded (so a failed restore can be retried). Null when there was nothing to restore.
 */
export function restoreHostState(stateFile: string, spec: HostStateSpec, writeBack: (values: Record<string, string>) => void): SavedHostState | null {
  const state = readHostState(stateFile, spec);
  if (!state) return null;
  writeBack(state.values);
  removeHostState(stateFile);
  return state;
}

/** For the start of a command: a sentence about a state file left by an earlier (maybe crashed) run, or null. */
export function leftoverHostStateNotice(stateFile: string, spec: HostStateSpec): string | null {
  const state = readHostState(stateFile, spec);
  if (!state) return null;
  const alive = state.pid > 0 && state.pid !== process.pid && processAlive(state.pid);
  return `${stateFile} holds settings saved by ${spec.owner} at ${state.savedAt} (pid ${state.pid}${alive ? ', still running' : ', no longer running: a crashed or unrestored run'}):`
    + ` ${Object.entries(state.values).map(([k, v]) => `${k}=${v}`).join(', ')}. The host may still carry the changed values.`;
}

/** Makes a create/link/unlink in `dir` durable (power cuts are what these files are for). */
function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY);
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename/link itself already happened.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * Writes `value` into an existing sysctl-like file: no O_CREAT (a missing key is never created)
 * and O_NOFOLLOW (a symlink is never followed). Throws the raw error; callers say what it means.
 */
export function writeExistingFile(file: string, value: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW);
  try {
    fs.writeSync(fd, `${value}\n`);
  } finally {
    fs.closeSync(fd);
  }
}
