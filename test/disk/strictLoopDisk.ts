// A small loop disk mounted for strict power cuts (strict writeback held, commit=600), and the
// power cut itself; the test's after-hook releases every disk, the registry, strict mode and
// the scratch directory, in reverse order, even when an assertion failed.
import path from 'node:path';
import type { TestContext } from 'node:test';
import { DiskRegistry } from '../../loadgen/disk/diskRegistry.js';
import { createLoopDisk, type LoopDisk, powerCutCopy, releaseLoopDisk } from '../../loadgen/disk/loopDisk.js';
import { acquireStrictWriteback, STRICT_MOUNT_OPTIONS } from '../../loadgen/disk/writebackControl.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

const IMAGE_MIB = 64;

export interface StrictLoopDisk {
  disk: LoopDisk;
  /** Copies the image as it is (the power cut) and mounts the copy. */
  powerCut(): Promise<LoopDisk>;
}

/** `strictWaitMs`: how long to wait while a concurrent suite holds the host-wide strict mode. */
export async function strictLoopDisk(t: TestContext, label: string, strictWaitMs: number): Promise<StrictLoopDisk> {
  const dir = diskScratchDir(label);
  const registry = new DiskRegistry(path.join(dir, 'state'));
  const strict = await acquireStrictWriteback({ waitMs: strictWaitMs });
  const disks: LoopDisk[] = [];
  t.after(async () => {
    for (const disk of disks.reverse()) await releaseLoopDisk(disk, registry).catch(() => undefined);
    registry.cleanup();
    strict.restore();
    removeScratch(dir);
  });
  const disk = await createLoopDisk({ dir, imageName: 'disk.img', sizeMiB: IMAGE_MIB, mountPoint: path.join(dir, 'mnt'), mountOptions: STRICT_MOUNT_OPTIONS }, registry);
  disks.push(disk);
  return {
    disk,
    powerCut: async () => {
      const cut = await powerCutCopy(disk, registry, { crashImagePath: path.join(dir, 'crash.img'), mountPoint: path.join(dir, 'crash-mnt') });
      disks.push(cut.disk);
      return cut.disk;
    },
  };
}
