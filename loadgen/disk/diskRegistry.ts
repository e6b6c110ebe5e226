// What this process attached (loop devices) and mounted, written to a per-process state file
// on every change, so everything is undone in reverse order: by the owner, by the SIGINT/SIGTERM
// and exit hooks, or — after the harness itself crashed — by cleanupLeftovers() at the next start.
// Teardown is synchronous (it must run inside 'exit' handlers) and bounded by a time budget;
// before touching a device it checks that the device still is ours (same backing file / source).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errnoCode, errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { findTool } from './diskCommands.js';
import { processAlive } from '../../broker/processAlive.js';

export type DiskEntry =
  | { kind: 'loop'; device: string; backingFile: string }
  | { kind: 'mount'; target: string; source: string }
  /** A blkio/io cgroup of an emulated disk (emulatedHdd.ts): its processes go back to `parent`, then it is removed. */
  | { kind: 'cgroup'; path: string; parent: string; rootRuleDevice?: string };

export interface CleanupReport {
  released: string[];
  /** Entries that were no longer ours (device reused, already unmounted): forgotten, untouched. */
  skipped: string[];
  /** Entries that could not be released within the budget; kept in the state file. */
  failed: string[];
}

interface StateFile {
  pid: number;
  entries: DiskEntry[];
}

/**
 * Where state files go: /run lives exactly as long as loop devices, mounts and sysctl values
 * (until the next boot), so a state file there never outlives what it describes.
 */
export function defaultDiskStateDir(): string {
  return fs.existsSync('/run') ? '/run/flushbench' : path.join(os.tmpdir(), 'flushbench-run');
}

const STATE_PREFIX = 'disk-';
const STEP_TIMEOUT_MS = 20_000;

export function describeEntry(entry: DiskEntry): string {
  if (entry.kind === 'cgroup') return `cgroup ${entry.path}`;
  return entry.kind === 'loop' ? `loop ${entry.device} (${entry.backingFile})` : `mount ${entry.target} (${entry.source})`;
}

/** Only cgroups this tool creates: a flushbench-* directory directly below its parent under /sys/fs/cgroup. */
export function isOurCgroup(cgroupPath: string, parent: string): boolean {
  return path.isAbsolute(cgroupPath) && parent.startsWith('/sys/fs/cgroup') && path.dirname(cgroupPath) === parent
    && /^flushbench-[\w.-]+$/.test(path.basename(cgroupPath));
}

/**
 * Moves every process of the cgroup to its parent (the harness itself runs inside it), then
 * removes it. False when it no longer exists. rmdir of a cgroup needs it empty, and a killed
 * broker may take a moment to leave, hence the short bounded retry.
 */
export function releaseCgroup(cgroupPath: string, parent: string, timeoutMs: number, rootRuleDevice?: string): boolean {
  if (!isOurCgroup(cgroupPath, parent)) return false;
  if (rootRuleDevice && /^\d+:\d+$/.test(rootRuleDevice)) {
    // "<major:minor> 0" removes the v1 rule this tool set in the parent (root) group.
    for (const file of ['blkio.throttle.write_iops_device', 'blkio.throttle.write_bps_device']) {
      try {
        fs.writeFileSync(path.join(parent, file), `${rootRuleDevice} 0`);
      } catch {
        // no such rule (already cleared)
      }
    }
  }
  if (!fs.existsSync(cgroupPath)) return false;
  const deadline = Date.now() + Math.max(1, timeoutMs);
  for (;;) {
    const pids = fs.readFileSync(path.join(cgroupPath, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        fs.writeFileSync(path.join(parent, 'cgroup.procs'), pid);
      } catch {
        // exited meanwhile
      }
    }
    try {
      fs.rmdirSync(cgroupPath);
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return true;
      if (errnoCode(error) !== 'EBUSY' || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** /proc/mounts escapes blanks as octal (\040). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount target → source device, from /proc/self/mounts. */
export function currentMounts(): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [source, target] = line.split(' ');
    if (source && target) mounts.set(unescapeMountField(target), unescapeMountField(source));
  }
  return mounts;
}

/** The backing file of /dev/loopN, or null when the device is not attached. */
export function loopBackingFile(device: string): string | null {
  try {
    return fs.readFileSync(`/sys/block/${path.basename(device)}/loop/backing_file`, 'utf8').trim();
  } catch {
    return null;
  }
}

function runSync(tool: string, args: string[], timeoutMs: number): void {
  const file = findTool(tool);
  if (!file) throw new FlushbenchError('DISK_TOOL_MISSING', `${tool} is not installed`);
  execFileSync(file, args, { timeout: Math.max(1, timeoutMs), killSignal: 'SIGKILL', stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Releases one entry if it still is ours; returns false when it was not (nothing done). */
function releaseEntry(entry: DiskEntry, timeoutMs: number): boolean {
  if (entry.kind === 'cgroup') return releaseCgroup(entry.path, entry.parent, Math.min(timeoutMs, 5000), entry.rootRuleDevice);
  if (entry.kind === 'mount') {
    if (currentMounts().get(entry.target) !== entry.source) return false;
    try {
      runSync('umount', [entry.target], timeoutMs);
    } catch (error) {
      // Busy (a straggler process holds a file): detach now, the kernel finishes when it lets go.
      runSync('umount', ['--lazy', entry.target], timeoutMs);
      process.stderr.write(`flushbench: ${entry.target} was busy (${errorMessage(error).split('\n')[0]}); unmounted lazily\n`);
    }
    return true;
  }
  const backing = loopBackingFile(entry.device);
  // The kernel may show the backing path with " (deleted)" after the image was removed.
  if (backing === null || backing.replace(/ \(deleted\)$/, '') !== entry.backingFile) return false;
  runSync('losetup', ['--detach', entry.device], timeoutMs);
  return true;
}

/** Releases `entries` last-first within budgetMs; returns what happened to each. */
function releaseAll(entries: DiskEntry[], budgetMs: number): { report: CleanupReport; left: DiskEntry[] } {
  const deadline = Date.now() + budgetMs;
  const report: CleanupReport = { released: [], skipped: [], failed: [] };
  const left: DiskEntry[] = [];
  for (const entry of [...entries].reverse()) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      report.failed.push(`${describeEntry(entry)}: cleanup time budget (${budgetMs} ms) used up`);
      left.unshift(entry);
      continue;
    }
    try {
      if (releaseEntry(entry, Math.min(STEP_TIMEOUT_MS, remainingMs))) report.released.push(describeEntry(entry));
      else report.skipped.push(describeEntry(entry));
    } catch (error) {
      report.failed.push(`${describeEntry(entry)}: ${errorMessage(error).split('\n')[0]}`);
      left.unshift(entry);
    }
  }
  return { report, left };
}

export class DiskRegistry {
  readonly stateFile: string;
  private entries: DiskEntry[] = [];
  private disarm: (() => void) | null = null;

  constructor(stateDir: string) {
    fs.mkdirSync(stateDir, { recursive: true });
    this.stateFile = path.join(stateDir, `${STATE_PREFIX}${process.pid}.json`);
  }

  get size(): number {
    return this.entries.length;
  }

  add(entry: DiskEntry): void {
    this.entries.push(entry);
    this.persist();
  }

  /** Forgets an entry its owner released itself. */
  forget(entry: DiskEntry): void {
    this.entries = this.entries.filter((e) => describeEntry(e) !== describeEntry(entry));
    this.persist();
  }

  /** Unmounts and detaches everything still registered, last-first, within budgetMs. */
  cleanup(budgetMs = 60_000): CleanupReport {
    const { report, left } = releaseAll(this.entries, budgetMs);
    this.entries = left;
    this.persist();
    return report;
  }

  /**
   * Cleans up on process exit, and on SIGINT/SIGTERM when no one else listens (then exits
   * 130/143). When another listener exists (childProcesses stops the brokers first), it owns
   * the exit, and the exit hook unmounts after it: a running broker would keep the mount busy.
   * Returns a function that removes the hooks.
   */
  armSignals(budgetMs = 60_000): () => void {
    if (this.disarm) return this.disarm;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (process.listenerCount(signal) > 0) return;
      const report = this.cleanup(budgetMs);
      process.stderr.write(`\nflushbench: ${signal}: released ${report.released.length} disk resource(s)${report.failed.length ? `; could not release: ${report.failed.join('; ')}` : ''}\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    const onExit = (): void => {
      if (this.entries.length > 0) this.cleanup(budgetMs);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.on('exit', onExit);
    this.disarm = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
      this.disarm = null;
    };
    return this.disarm;
  }

  private persist(): void {
    if (this.entries.length === 0) {
      fs.rmSync(this.stateFile, { force: true });
      return;
    }
    const state: StateFile = { pid: process.pid, entries: this.entries };
    const temp = `${this.stateFile}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(temp, this.stateFile);
  }
}

/** True while `pid` runs (EPERM: it runs as another user). */
export 
function isDiskEntry(value: unknown): value is DiskEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  if (e.kind === 'loop') return typeof e.device === 'string' && /^\/dev\/loop\d+$/.test(e.device) && typeof e.backingFile === 'string';
  if (e.kind === 'cgroup') {
    return typeof e.path === 'string' && typeof e.parent === 'string' && isOurCgroup(e.path, e.parent)
      && (e.rootRuleDevice === undefined || (typeof e.rootRuleDevice === 'string' && /^\d+:\d+$/.test(e.rootRuleDevice)));
  }
  return e.kind === 'mount' && typeof e.target === 'string' && path.isAbsolute(e.target) && typeof e.source === 'string';
}

/**
 * At start: releases what crashed earlier processes left in `stateDir` (state files whose pid
 * is gone). Files of live processes are left alone: they are another run's, still in use.
 */
export function cleanupLeftovers(stateDir: string, budgetMs = 60_000): CleanupReport {
  const total: CleanupReport = { released: [], skipped: [], failed: [] };
  let names: string[];
  try {
    names = fs.readdirSync(stateDir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return total;
    throw error;
  }
  for (const name of names) {
    const match = /^disk-(\d+)\.json$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const file = path.join(stateDir, name);
    let entries: DiskEntry[];
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StateFile>;
      if (!Array.isArray(parsed.entries) || !parsed.entries.every(isDiskEntry)) throw new Error('unexpected content');
      entries = parsed.entries;
    } catch (error) {
      total.failed.push(`${file}: not a disk state file (${errorMessage(error)}); remove it by hand`);
      continue;
    }
    const { report, left } = releaseAll(entries, budgetMs);
    total.released.push(...report.released);
    total.skipped.push(...report.skipped);
    total.failed.push(...report.failed);
    if (left.length === 0) fs.rmSync(file, { force: true });
    else fs.writeFileSync(file, `${JSON.stringify({ pid, entries: left }, null, 2)}\n`, { mode: 0o600 });
  }
  return total;
}
