// The external tools the disk harness drives (losetup, mkfs.ext4, mount, umount, cp): found
// before anything is changed, run with a time bound, and failing with an error that names the
// command, its exit status and its stderr.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';

export const DISK_TOOLS = ['losetup', 'mkfs.ext4', 'mount', 'umount', 'cp'] as const;
export type DiskTool = (typeof DISK_TOOLS)[number];

/** sbin directories are often missing from a non-login root shell's PATH. */
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];

const resolved = new Map<string, string>();

/** The absolute path of `tool`, or null when it is on neither PATH nor the sbin directories. */
export function findTool(tool: string): string | null {
  const cached = resolved.get(tool);
  if (cached) return cached;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, tool);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      resolved.set(tool, candidate);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Throws DISK_NOT_ROOT / DISK_TOOL_MISSING / DISK_NO_LOOP naming what is missing, so a run
 * fails before it creates an image rather than half-way through.
 */
export function requireLoopSupport(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new FlushbenchError('DISK_NOT_ROOT', 'loop-device power cuts need root (losetup, mount and /proc/sys/vm writes); run the command as root or with sudo');
  }
  const missing = DISK_TOOLS.filter((tool) => findTool(tool) === null);
  if (missing.length > 0) {
    throw new FlushbenchError('DISK_TOOL_MISSING', `missing ${missing.join(', ')}: install util-linux (losetup, mount, umount), e2fsprogs (mkfs.ext4) and coreutils (cp)`);
  }
  if (!fs.existsSync('/dev/loop-control') && !fs.existsSync('/dev/loop0')) {
    throw new FlushbenchError('DISK_NO_LOOP', 'no loop device (/dev/loop-control and /dev/loop0 are absent): load the loop module (modprobe loop) or run on a host/container that exposes loop devices');
  }
}

/** A readable reason why loop-device tests cannot run here, or null when they can. */
export function loopSupportMissing(): string | null {
  try {
    requireLoopSupport();
    return null;
  } catch (error) {
    return error instanceof FlushbenchError ? `${error.code}: ${error.message}` : String(error);
  }
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs `tool args…` (no shell), killed after timeoutMs; DISK_COMMAND_FAILED says what failed. */
export function runTool(tool: DiskTool | 'blockdev', args: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
  const file = findTool(tool);
  if (!file) return Promise.reject(new FlushbenchError('DISK_TOOL_MISSING', `${tool} is not installed (not on PATH nor in /usr/sbin, /sbin)`));
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const status = error.killed ? `timed out after ${timeoutMs} ms` : `exit ${String(error.code ?? error.signal)}`;
        reject(new FlushbenchError('DISK_COMMAND_FAILED', `${tool} ${args.join(' ')}: ${status}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, { cause: error }));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}
