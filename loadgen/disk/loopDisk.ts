// An ext4 file system in an image file on a loop device, and the power cut: copying the image
// file holds exactly what reached the loop device (fdatasync'ed data plus whatever writeback
// happened to write), never the inner file system's dirty page cache. See README.md.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, FlushbenchError } from '../../protocol/errors.js';
import { requireLoopSupport, runTool } from './diskCommands.js';
import { type DiskEntry, type DiskRegistry, loopBackingFile } from './diskRegistry.js';

export interface LoopDisk {
  imagePath: string;
  /** /dev/loopN */
  device: string;
  mountPoint: string;
  mountOptions: readonly string[];
  /** What the kernel reports (/sys/block/loopN/loop/dio), not what was asked for. */
  directIo: boolean;
}

export interface CreateLoopDiskOptions {
  /** Directory for the image; must be on a real disk (not tmpfs/ramfs). */
  dir: string;
  /** Image file name inside dir; never replaces an existing file. */
  imageName: string;
  sizeMiB: number;
  mountPoint: string;
  /** ext4 mount options, e.g. ['commit=600']. */
  mountOptions?: readonly string[];
  /** losetup --direct-io=on: the loop driver writes its backing file with O_DIRECT. */
  directIo?: boolean;
}

/** statfs f_type of file systems that live in RAM: an image there would never reach a disk. */
const RAM_FILE_SYSTEMS = new Map<number, string>([[0x01021994, 'tmpfs'], [0x858458f6, 'ramfs']]);

/** Throws DISK_NOT_A_DISK when `dir` is on tmpfs/ramfs (its "disk" is RAM). */
export function requireRealDisk(dir: string): void {
  const type = Number(fs.statfsSync(dir).type);
  const name = RAM_FILE_SYSTEMS.get(type);
  if (name) {
    throw new FlushbenchError('DISK_NOT_A_DISK', `${dir} is on ${name}: a loop image there lives in RAM, so a power cut test would measure nothing; put the images on the disk under test (e.g. a directory in the project)`);
  }
}

/** Creates a sparse image of sizeMiB and an ext4 file system on it, attaches and mounts it. */
export async function createLoopDisk(options: CreateLoopDiskOptions, registry: DiskRegistry): Promise<LoopDisk> {
  requireLoopSupport();
  if (!Number.isInteger(options.sizeMiB) || options.sizeMiB < 16) {
    throw new FlushbenchError('DISK_BAD_SIZE', `image size ${options.sizeMiB} MiB: give a whole number of MiB ≥ 16 (ext4 with a journal needs room)`);
  }
  fs.mkdirSync(options.dir, { recursive: true });
  requireRealDisk(options.dir);
  const imagePath = path.resolve(options.dir, options.imageName);
  let fd: number;
  try {
    fd = fs.openSync(imagePath, 'wx', 0o600);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') throw new FlushbenchError('DISK_IMAGE_EXISTS', `${imagePath} exists; remove it or choose another name (an image is never overwritten)`);
    throw error;
  }
  try {
    fs.ftruncateSync(fd, options.sizeMiB * 1024 * 1024);
  } finally {
    fs.closeSync(fd);
  }
  try {
    // Inode tables and journal are written now: otherwise the kernel's ext4lazyinit thread
    // writes them during the test, and the loop device is never quiet when it is copied.
    await runTool('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', imagePath], 120_000);
    return await attachAndMount(imagePath, options.mountPoint, options.mountOptions ?? [], options.directIo ?? false, registry);
  } catch (error) {
    fs.rmSync(imagePath, { force: true });
    throw error;
  }
}

/** losetup + mount, each registered as soon as it exists; a failed mount detaches again. */
export async function attachAndMount(imagePath: string, mountPoint: string, mountOptions: readonly string[], directIo: boolean, registry: DiskRegistry): Promise<LoopDisk> {
  const { stdout } = await runTool('losetup', ['--find', '--show', `--direct-io=${directIo ? 'on' : 'off'}`, imagePath]);
  const device = stdout.trim();
  if (!/^\/dev\/loop\d+$/.test(device)) throw new FlushbenchError('DISK_COMMAND_FAILED', `losetup printed ${JSON.stringify(device)}, not a loop device`);
  const loop: DiskEntry = { kind: 'loop', device, backingFile: imagePath };
  registry.add(loop);
  try {
    fs.mkdirSync(mountPoint, { recursive: true });
    const args = ['-t', 'ext4', ...(mountOptions.length > 0 ? ['-o', mountOptions.join(',')] : []), device, mountPoint];
    try {
      await runTool('mount', args, 120_000);
    } catch (error) {
      throw new FlushbenchError('DISK_MOUNT_FAILED', `cannot mount ${device} (${imagePath}) on ${mountPoint}; the kernel log (dmesg) says why`, { cause: error });
    }
    registry.add({ kind: 'mount', target: path.resolve(mountPoint), source: device });
  } catch (error) {
    await runTool('losetup', ['--detach', device]).catch(() => undefined);
    registry.forget(loop);
    throw error;
  }
  return { imagePath, device, mountPoint: path.resolve(mountPoint), mountOptions: [...mountOptions], directIo: readDirectIo(device) };
}

function readDirectIo(device: string): boolean {
  try {
    return fs.readFileSync(`/sys/block/${path.basename(device)}/loop/dio`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** Unmounts and detaches the disk (an unmount writes its dirty pages to the image). */
export async function releaseLoopDisk(disk: LoopDisk, registry: DiskRegistry, options: { removeImage?: boolean } = {}): Promise<void> {
  const mount: DiskEntry = { kind: 'mount', target: disk.mountPoint, source: disk.device };
  await runTool('umount', [disk.mountPoint], 60_000);
  registry.forget(mount);
  if (loopBackingFile(disk.device) !== null) await runTool('losetup', ['--detach', disk.device]);
  registry.forget({ kind: 'loop', device: disk.device, backingFile: disk.imagePath });
  if (options.removeImage) fs.rmSync(disk.imagePath, { force: true });
}

/**
 * The loop device's write-side counters (/sys/block/loopN/stat): writes, sectors written,
 * in flight, discards, flushes. Equal before and after a copy with nothing in flight means no
 * write reached the image while cp read it, so the copy is one point in time.
 */
export function loopWriteCounters(device: string): string {
  const fields = fs.readFileSync(`/sys/block/${path.basename(device)}/stat`, 'utf8').trim().split(/\s+/);
  return [4, 6, 8, 11, 15].map((i) => fields[i] ?? '-').join(' ');
}

function inFlight(counters: string): boolean {
  return counters.split(' ')[2] !== '0';
}

export interface PowerCutOptions {
  /** Where the crash image goes (must not exist). */
  crashImagePath: string;
  mountPoint: string;
  mountOptions?: readonly string[];
  /** Copies retried when a write raced the copy; 3 unless told. */
  copyAttemptsMax?: number;
}

export interface PowerCutResult {
  disk: LoopDisk;
  copyAttempts: number;
  copyMs: number;
}

/**
 * The power cut. Call after the writer is dead (SIGKILL). Copies the image FILE — never
 * /dev/loopN, whose buffered reads show the inner file system's dirty metadata — without any
 * sync, flush or freeze first (each of those would write the inner dirty pages). Then attaches
 * and mounts the copy, where ext4 replays its journal. The original stays mounted: release it.
 */
export async function powerCutCopy(disk: LoopDisk, registry: DiskRegistry, options: PowerCutOptions): Promise<PowerCutResult> {
  const crashImagePath = path.resolve(options.crashImagePath);
  if (fs.existsSync(crashImagePath)) throw new FlushbenchError('DISK_IMAGE_EXISTS', `${crashImagePath} exists; a crash image is never overwritten`);
  const attemptsMax = options.copyAttemptsMax ?? 3;
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const before = loopWriteCounters(disk.device);
    await runTool('cp', ['--sparse=always', '--', disk.imagePath, crashImagePath], 600_000);
    const after = loopWriteCounters(disk.device);
    if (before === after && !inFlight(before)) break;
    fs.rmSync(crashImagePath, { force: true });
    if (attempts >= attemptsMax) {
      throw new FlushbenchError('DISK_COPY_TORN', `the loop device ${disk.device} kept writing while its image was copied (${attempts} attempts; counters ${before} → ${after}); stop the writers first, or use strict mode (no background writeback)`);
    }
  }
  const copyMs = Date.now() - started;
  try {
    const crashDisk = await attachAndMount(crashImagePath, options.mountPoint, options.mountOptions ?? [], false, registry);
    return { disk: crashDisk, copyAttempts: attempts, copyMs };
  } catch (error) {
    fs.rmSync(crashImagePath, { force: true });
    throw error;
  }
}
