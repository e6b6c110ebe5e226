// An emulated HDD: the store on ext4 in an image on a loop device, and a blkio cgroup that
// throttles the loop device's writes (cgroup v1 blkio.throttle.*, v2 io.max). Whoever joins the
// cgroup (here: the harness itself, so every broker it launches inherits it) is throttled.
// Defaults are a 7200 rpm disk with its write cache off: ~150 write IOPS, 150 MB/s.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, FlushbenchError } from '../../protocol/errors.js';
import { type DiskRegistry, releaseCgroup } from './diskRegistry.js';
import { requireLoopSupport } from './diskCommands.js';
import { createLoopDisk, type LoopDisk, releaseLoopDisk } from './loopDisk.js';

export interface HddLimits {
  writeIops: number;
  writeBytesPerSec: number;
  /**
   * cgroup v1 only. 'device' (default): the limits are also set in the root blkio group for the
   * loop device, so the kernel's writeback threads and jbd2 (charged to the root group in v1)
   * are throttled too — the device is ours alone. 'cgroup': only the harness's cgroup is
   * throttled (kept to measure what unthrottled writeback does to ASYNC_FLUSH).
   */
  scope: 'device' | 'cgroup';
}

export const HDD_DEFAULTS: HddLimits = { writeIops: 150, writeBytesPerSec: 150_000_000, scope: 'device' };

export type DiskSpec = { kind: 'ssd' } | ({ kind: 'hdd' } & HddLimits);

const SUFFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/** `ssd`, `hdd`, or `hdd:iops=N,bps=M[,scope=cgroup]` (bps in bytes/s; k/m/g suffixes are ×1000ⁿ). */
export function parseDiskSpec(text: string): DiskSpec {
  const bad: (why: string) => never = (why) => {
    throw new FlushbenchError('BAD_DISK_SPEC', `--disk ${JSON.stringify(text)}: ${why}; use ssd, hdd or hdd:iops=N,bps=M (e.g. hdd:iops=100,bps=80m)`);
  };
  const [kind, params, ...rest] = text.trim().toLowerCase().split(':');
  if (rest.length > 0) bad('too many ":"');
  if (kind === 'ssd') return params === undefined ? { kind: 'ssd' } : bad('ssd takes no parameters (it is the real disk)');
  if (kind !== 'hdd') bad(`unknown disk kind ${JSON.stringify(kind)}`);
  const limits = { ...HDD_DEFAULTS };
  for (const pair of (params ?? '').split(',').filter(Boolean)) {
    if (pair === 'scope=cgroup' || pair === 'scope=device') {
      limits.scope = pair === 'scope=cgroup' ? 'cgroup' : 'device';
      continue;
    }
    const match = /^(iops|bps)=(\d+)([kmg]?)$/.exec(pair);
    if (!match) bad(`${JSON.stringify(pair)} is not iops=N or bps=M`);
    const value = Number(match[2]) * SUFFIX[match[3]];
    if (!Number.isSafeInteger(value) || value < 1) bad(`${pair} must be a positive whole number`);
    if (match[1] === 'iops') limits.writeIops = value;
    else limits.writeBytesPerSec = value;
  }
  return { kind: 'hdd', ...limits };
}

export type CgroupVersion = 'v1' | 'v2';

export interface BlkioHierarchy {
  version: CgroupVersion;
  /** Where our cgroup is created (the hierarchy's root). */
  root: string;
}

/** v2 when /sys/fs/cgroup is the unified hierarchy with the io controller; v1 when a blkio hierarchy is mounted. */
export function findBlkioHierarchy(cgroupFs = '/sys/fs/cgroup'): BlkioHierarchy | null {
  const controllers = readOrNull(path.join(cgroupFs, 'cgroup.controllers'));
  if (controllers !== null) return controllers.split(/\s+/).includes('io') ? { version: 'v2', root: cgroupFs } : null;
  const v1 = path.join(cgroupFs, 'blkio');
  return fs.existsSync(path.join(v1, 'blkio.throttle.write_iops_device')) ? { version: 'v1', root: v1 } : null;
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** "7:0" for /dev/loop0, from sysfs. */
export function deviceNumber(device: string): string {
  const dev = readOrNull(`/sys/block/${path.basename(device)}/dev`);
  if (!dev || !/^\d+:\d+$/.test(dev)) throw new FlushbenchError('DISK_NO_DEVICE', `cannot read the major:minor of ${device} from /sys/block`);
  return dev;
}

export interface ThrottleCgroup {
  version: CgroupVersion;
  path: string;
  parent: string;
  /** major:minor of the throttled device. */
  deviceNumber: string;
  /** v1 with scope 'device': the same limits are set in the root group for this device. */
  rootRule: boolean;
}

function writeControl(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch (error) {
    throw new FlushbenchError('DISK_CGROUP_FAILED', `cannot write ${JSON.stringify(value)} to ${file} (${errnoCode(error) ?? String(error)})`);
  }
}

/** Creates flushbench-<name> in the hierarchy, registered for cleanup, with the write limits on `majorMinor`. */
export function createThrottleCgroup(hierarchy: BlkioHierarchy, name: string, majorMinor: string, limits: HddLimits, registry: DiskRegistry): ThrottleCgroup {
  const cgroupPath = path.join(hierarchy.root, `flushbench-${name}`);
  try {
    fs.mkdirSync(cgroupPath);
  } catch (error) {
    throw new FlushbenchError('DISK_CGROUP_FAILED', `cannot create ${cgroupPath} (${errnoCode(error) ?? String(error)})`);
  }
  const rootRule = hierarchy.version === 'v1' && limits.scope === 'device';
  // Registered before the root rule is written: a crash in between still clears it at next start.
  registry.add({ kind: 'cgroup', path: cgroupPath, parent: hierarchy.root, ...(rootRule ? { rootRuleDevice: majorMinor } : {}) });
  if (hierarchy.version === 'v1') {
    for (const dir of rootRule ? [cgroupPath, hierarchy.root] : [cgroupPath]) {
      writeControl(path.join(dir, 'blkio.throttle.write_iops_device'), `${majorMinor} ${limits.writeIops}`);
      writeControl(path.join(dir, 'blkio.throttle.write_bps_device'), `${majorMinor} ${limits.writeBytesPerSec}`);
    }
  } else {
    const subtree = readOrNull(path.join(hierarchy.root, 'cgroup.subtree_control')) ?? '';
    if (!subtree.split(/\s+/).includes('io')) writeControl(path.join(hierarchy.root, 'cgroup.subtree_control'), '+io');
    writeControl(path.join(cgroupPath, 'io.max'), `${majorMinor} wiops=${limits.writeIops} wbps=${limits.writeBytesPerSec}`);
  }
  return { version: hierarchy.version, path: cgroupPath, parent: hierarchy.root, deviceNumber: majorMinor, rootRule };
}

/** Moves a process (all its threads) into the cgroup. */
export function joinCgroup(cgroup: ThrottleCgroup, pid: number): void {
  writeControl(path.join(cgroup.path, 'cgroup.procs'), String(pid));
}

export function cgroupPids(cgroup: ThrottleCgroup): number[] {
  return (readOrNull(path.join(cgroup.path, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
}

export interface WriteCounters {
  writeIos: number;
  writeBytes: number;
}

/** Writes the cgroup issued to its device (the throttled ones): v1 io_serviced/io_service_bytes, v2 io.stat. */
export function cgroupWriteCounters(cgroup: ThrottleCgroup): WriteCounters {
  if (cgroup.version === 'v2') {
    const line = (readOrNull(path.join(cgroup.path, 'io.stat')) ?? '').split('\n').find((l) => l.startsWith(`${cgroup.deviceNumber} `)) ?? '';
    return { writeIos: Number(/wios=(\d+)/.exec(line)?.[1] ?? 0), writeBytes: Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0) };
  }
  const field = (file: string) => {
    const text = readOrNull(path.join(cgroup.path, file)) ?? '';
    return Number(new RegExp(`^${cgroup.deviceNumber} Write (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  return { writeIos: field('blkio.throttle.io_serviced'), writeBytes: field('blkio.throttle.io_service_bytes') };
}

/** Every write the device completed, whoever issued it (/sys/block/loopN/stat: writes, sectors). */
export function deviceWriteCounters(device: string): WriteCounters {
  const fields = (readOrNull(`/sys/block/${path.basename(device)}/stat`) ?? '').split(/\s+/);
  return { writeIos: Number(fields[4] ?? 0), writeBytes: Number(fields[6] ?? 0) * 512 };
}

export interface EmulatedHdd {
  disk: LoopDisk;
  cgroup: ThrottleCgroup;
  limits: HddLimits;
  /** How the throttle reaches the brokers, for the report. */
  method: string;
  release(): Promise<void>;
}

export interface EmulatedHddOptions {
  /** Directory for the image (on the real disk). */
  imageDir: string;
  imageName: string;
  mountPoint: string;
  limits: HddLimits;
  sizeMiB?: number;
  /** Name of the cgroup (flushbench-<name>); unique per run. */
  name: string;
  cgroupFs?: string;
  /** Runs once the disk is mounted, before any limit is set (e.g. the unthrottled probe). */
  beforeThrottle?: (disk: LoopDisk) => Promise<void>;
}

/**
 * Checks root, loop and blkio before creating anything (a clear error otherwise), then image →
 * ext4 → loop → mount → cgroup with the limits. Everything is registered for cleanup at once.
 */
export async function createEmulatedHdd(options: EmulatedHddOptions, registry: DiskRegistry): Promise<EmulatedHdd> {
  requireLoopSupport();
  const hierarchy = findBlkioHierarchy(options.cgroupFs);
  if (!hierarchy) {
    throw new FlushbenchError('DISK_NO_BLKIO', `no blkio cgroup here (neither ${options.cgroupFs ?? '/sys/fs/cgroup'}/blkio/blkio.throttle.write_iops_device nor a cgroup v2 hierarchy with the io controller): --disk hdd cannot throttle the loop device; mount the blkio controller or use --disk ssd`);
  }
  const disk = await createLoopDisk({ dir: options.imageDir, imageName: options.imageName, sizeMiB: options.sizeMiB ?? 8192, mountPoint: options.mountPoint }, registry);
  let cgroup: ThrottleCgroup;
  try {
    await options.beforeThrottle?.(disk);
    cgroup = createThrottleCgroup(hierarchy, options.name, deviceNumber(disk.device), options.limits, registry);
  } catch (error) {
    await releaseLoopDisk(disk, registry, { removeImage: true }).catch(() => undefined);
    throw error;
  }
  const where = cgroup.rootRule ? ` and in the root blkio group (kernel writeback and jbd2 throttled too)` : hierarchy.version === 'v1' ? ' only (kernel writeback and jbd2 NOT throttled)' : '';
  const method = `${hierarchy.version === 'v1' ? 'blkio.throttle.write_iops_device/write_bps_device' : 'io.max wiops/wbps'} on ${disk.device} (${cgroup.deviceNumber}) in ${cgroup.path}${where}; the harness joins the cgroup so every broker it starts runs inside`;
  return {
    disk, cgroup, limits: options.limits, method,
    release: async () => {
      releaseCgroup(cgroup.path, cgroup.parent, 5000, cgroup.rootRule ? cgroup.deviceNumber : undefined);
      registry.forget({ kind: 'cgroup', path: cgroup.path, parent: cgroup.parent });
      await releaseLoopDisk(disk, registry, { removeImage: true });
    },
  };
}
