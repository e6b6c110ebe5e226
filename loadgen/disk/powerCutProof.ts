// The self-check that proves the loop-device power cut works on this host before any result
// that depends on it is trusted: 8 KiB written and fdatasync'ed, 8 KiB appended without a
// sync, and a second file never synced; power cut; what survived is reported byte by byte.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiskRegistry, defaultDiskStateDir } from './diskRegistry.js';
import { createLoopDisk, type LoopDisk, powerCutCopy, releaseLoopDisk } from './loopDisk.js';
import { acquireStrictWriteback, STRICT_MOUNT_OPTIONS, type StrictWriteback } from './writebackControl.js';

export const TRIAL_CHUNK_BYTES = 8192;
// Distinct non-zero patterns: a hole or a zeroed block can never pass for data.
const SYNCED_BYTE = 0x41;
const APPENDED_BYTE = 0x42;
const UNSYNCED_FILE_BYTE = 0x43;

export interface PowerCutTrialOptions {
  /** Directory on the disk under test (not tmpfs); the trial works in a fresh subdirectory and removes it. */
  dir: string;
  /** Strict: no background writeback, commit=600 (worst case). Realistic: the host as it is. */
  strict: boolean;
  /** Wait this long between the writes and the power cut (lets writeback act in realistic mode). */
  settleMs?: number;
  directIo?: boolean;
  imageSizeMiB?: number;
  /** Registry state directory; defaultDiskStateDir() unless given. */
  stateDir?: string;
  /** Strict mode's sysctl state file and /proc/sys root (tests). */
  writebackStateFile?: string;
  procSys?: string;
  /** How long to wait while another process holds strict mode (60 s unless told). */
  strictWaitMs?: number;
}

export interface PowerCutTrialResult {
  strict: boolean;
  directIo: boolean;
  settleMs: number;
  /** Bytes of the fdatasync'ed 8 KiB found intact after the power cut. */
  syncedBytesSurvived: number;
  /** Bytes of the unsynced 8 KiB append found after the power cut. */
  appendedBytesSurvived: number;
  unsyncedFileExists: boolean;
  unsyncedFileBytesSurvived: number;
  copyAttempts: number;
  copyMs: number;
  /** The simulation drops unsynced data and keeps synced data: it can be trusted for loss claims. */
  dropsUnsynced: boolean;
  keepsSynced: boolean;
}

/** How many bytes from `offset` on equal `byte` (stops at the first difference). */
function matchingRun(data: Buffer, offset: number, byte: number, lengthMax: number): number {
  let count = 0;
  while (count < lengthMax && offset + count < data.length && data[offset + count] === byte) count++;
  return count;
}

function writeTrialFiles(mountPoint: string): void {
  const fd = fs.openSync(path.join(mountPoint, 'synced.bin'), 'wx');
  try {
    fs.writeSync(fd, Buffer.alloc(TRIAL_CHUNK_BYTES, SYNCED_BYTE));
    fs.fdatasyncSync(fd);
    fs.writeSync(fd, Buffer.alloc(TRIAL_CHUNK_BYTES, APPENDED_BYTE));
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(path.join(mountPoint, 'unsynced.bin'), Buffer.alloc(TRIAL_CHUNK_BYTES, UNSYNCED_FILE_BYTE), { flag: 'wx' });
}

function readSurvivors(mountPoint: string): Pick<PowerCutTrialResult, 'syncedBytesSurvived' | 'appendedBytesSurvived' | 'unsyncedFileExists' | 'unsyncedFileBytesSurvived'> {
  const syncedPath = path.join(mountPoint, 'synced.bin');
  const synced = fs.existsSync(syncedPath) ? fs.readFileSync(syncedPath) : Buffer.alloc(0);
  const syncedBytesSurvived = matchingRun(synced, 0, SYNCED_BYTE, TRIAL_CHUNK_BYTES);
  const appendedBytesSurvived = syncedBytesSurvived === TRIAL_CHUNK_BYTES ? matchingRun(synced, TRIAL_CHUNK_BYTES, APPENDED_BYTE, TRIAL_CHUNK_BYTES) : 0;
  const unsyncedPath = path.join(mountPoint, 'unsynced.bin');
  const unsyncedFileExists = fs.existsSync(unsyncedPath);
  const unsynced = unsyncedFileExists ? fs.readFileSync(unsyncedPath) : Buffer.alloc(0);
  return { syncedBytesSurvived, appendedBytesSurvived, unsyncedFileExists, unsyncedFileBytesSurvived: matchingRun(unsynced, 0, UNSYNCED_FILE_BYTE, TRIAL_CHUNK_BYTES) };
}

/**
 * Runs the trial on a small loop image under `dir` and reports what survived. Everything it
 * set up (mounts, loop devices, sysctls, images) is undone before it returns or throws.
 */
export async function provePowerCutDropsUnsynced(options: PowerCutTrialOptions): Promise<PowerCutTrialResult> {
  fs.mkdirSync(options.dir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(options.dir, 'powercut-'));
  const registry = new DiskRegistry(options.stateDir ?? defaultDiskStateDir());
  const settleMs = options.settleMs ?? 0;
  let strict: StrictWriteback | null = null;
  const disks: LoopDisk[] = [];
  try {
    if (options.strict) strict = await acquireStrictWriteback({ stateFile: options.writebackStateFile, procSys: options.procSys, waitMs: options.strictWaitMs });
    const disk = await createLoopDisk({
      dir: workDir, imageName: 'disk.img', sizeMiB: options.imageSizeMiB ?? 64, mountPoint: path.join(workDir, 'mnt'),
      mountOptions: options.strict ? STRICT_MOUNT_OPTIONS : [], directIo: options.directIo,
    }, registry);
    disks.push(disk);
    writeTrialFiles(disk.mountPoint);
    if (settleMs > 0) await sleep(settleMs);
    const cut = await powerCutCopy(disk, registry, { crashImagePath: path.join(workDir, 'crash.img'), mountPoint: path.join(workDir, 'crash-mnt') });
    disks.push(cut.disk);
    const survivors = readSurvivors(cut.disk.mountPoint);
    const dropsUnsynced = survivors.appendedBytesSurvived === 0 && !survivors.unsyncedFileExists;
    return {
      strict: options.strict, directIo: disk.directIo, settleMs, ...survivors, copyAttempts: cut.copyAttempts, copyMs: cut.copyMs,
      dropsUnsynced, keepsSynced: survivors.syncedBytesSurvived === TRIAL_CHUNK_BYTES,
    };
  } finally {
    // Crash copy first, then the original (whose unmount writes its dirty pages, harmlessly, to disk.img).
    for (const disk of disks.reverse()) await releaseLoopDisk(disk, registry).catch(() => undefined);
    registry.cleanup();
    strict?.restore();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}
