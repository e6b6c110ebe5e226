// Loop disks for power-cut cycles: one ext4 template image made once per run (mkfs is the slow
// part), copied for every node of every cycle, attached and mounted; after a SIGKILL the image
// FILE is copied (loopDisk.powerCutCopy) and the copy is what the node restarts on.
import fs from 'node:fs';
import path from 'node:path';
import { runTool } from '../disk/diskCommands.js';
import type { DiskRegistry } from '../disk/diskRegistry.js';
import { attachAndMount, type LoopDisk, powerCutCopy, releaseLoopDisk, requireRealDisk } from '../disk/loopDisk.js';

/** A fresh, unmounted ext4 image of sizeMiB at `imagePath` (inode tables and journal written now). */
export async function makeTemplateImage(imagePath: string, sizeMiB: number): Promise<void> {
  fs.mkdirSync(path.dirname(imagePath), { recursive: true });
  requireRealDisk(path.dirname(imagePath));
  const fd = fs.openSync(imagePath, 'wx', 0o600);
  try {
    fs.ftruncateSync(fd, sizeMiB * 1024 * 1024);
  } finally {
    fs.closeSync(fd);
  }
  await runTool('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', imagePath], 120_000);
}

/** A node's disk for one cycle: a sparse copy of the template, attached and mounted. */
export async function nodeDisk(template: string, dir: string, name: string, mountOptions: readonly string[], registry: DiskRegistry): Promise<LoopDisk> {
  fs.mkdirSync(dir, { recursive: true });
  const imagePath = path.join(dir, `${name}.img`);
  await runTool('cp', ['--sparse=always', '--', template, imagePath], 120_000);
  try {
    return await attachAndMount(imagePath, path.join(dir, `${name}-mnt`), mountOptions, false, registry);
  } catch (error) {
    fs.rmSync(imagePath, { force: true });
    throw error;
  }
}

export interface CutResult {
  disk: LoopDisk;
  copyAttempts: number;
  copyMs: number;
}

/** The power cut of a node whose broker is already dead: copy, mount the copy, drop the original. */
export async function cutPower(disk: LoopDisk, registry: DiskRegistry, mountOptions: readonly string[]): Promise<CutResult> {
  const base = disk.imagePath.replace(/\.img$/, '');
  const cut = await powerCutCopy(disk, registry, { crashImagePath: `${base}-crash.img`, mountPoint: `${base}-crash-mnt`, mountOptions });
  await releaseLoopDisk(disk, registry, { removeImage: true });
  return cut;
}

export async function dropDisk(disk: LoopDisk, registry: DiskRegistry): Promise<void> {
  await releaseLoopDisk(disk, registry, { removeImage: true });
}
