// Facts about the host and the disk behind the store directory, for the report: block device,
// model, rotational, scheduler, write cache, file system and mount options, vm.dirty_* and a
// quick fdatasync probe. A missing /sys or /proc file gives null, never an error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostFactsData } from '../reports/runData.js';
import { measureFsyncRate } from './fsyncProbe.js';

const VM_KEYS = ['dirty_ratio', 'dirty_background_ratio', 'dirty_bytes', 'dirty_background_bytes', 'dirty_expire_centisecs', 'dirty_writeback_centisecs', 'swappiness', 'overcommit_memory'];
const NOT_A_DISK = new Set(['tmpfs', 'ramfs', 'overlay', 'overlayfs', 'squashfs', 'devtmpfs', 'proc', 'sysfs', 'fuse.lxcfs']);

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

interface Mount {
  mountPoint: string;
  fileSystem: string;
  options: string;
  source: string;
}

/** The mount holding `dir`: the longest mount point that prefixes its real path. */
export function mountOf(dir: string, mountinfo = read('/proc/self/mountinfo') ?? ''): Mount | null {
  let best: Mount | null = null;
  const real = fs.realpathSync(dir);
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const mountPoint = fields[4]?.replace(/\\040/g, ' ');
    const [fileSystem, source, superOptions] = right.split(' ');
    if (!mountPoint || !(real === mountPoint || real.startsWith(mountPoint === '/' ? '/' : `${mountPoint}/`))) continue;
    if (!best || mountPoint.length >= best.mountPoint.length) best = { mountPoint, fileSystem, options: `${fields[5]},${superOptions ?? ''}`, source };
  }
  return best;
}

/** /sys/block/<disk> for the device holding `dir` (partitions resolve to their disk). */
function blockDeviceOf(dir: string): { name: string; sysDir: string } | null {
  const dev = fs.statSync(dir).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const link = `/sys/dev/block/${major}:${minor}`;
  let sysDir: string;
  try {
    sysDir = fs.realpathSync(link);
  } catch {
    return null;
  }
  if (fs.existsSync(path.join(sysDir, 'partition'))) sysDir = path.dirname(sysDir);
  return { name: path.basename(sysDir), sysDir };
}

/** One writer's 4 KiB append + fdatasync rate (the probe's fsync4kPerSec), for the report's host facts. */
export async function probeFdatasync(dir: string, durationMs = 1000): Promise<HostFactsData['fsyncProbe']> {
  const { fdatasyncPerSecond, latencyMsP50, latencyMsP99 } = await measureFsyncRate(dir, 1, durationMs);
  return { fdatasyncPerSecond, latencyMsP50, latencyMsP99 };
}

export async function collectHostFacts(storeDir: string, options: { fsyncProbe?: boolean } = {}): Promise<HostFactsData> {
  fs.mkdirSync(storeDir, { recursive: true });
  const mount = mountOf(storeDir);
  const device = blockDeviceOf(storeDir);
  const queue = (file: string) => (device ? read(path.join(device.sysDir, 'queue', file)) : null);
  const rotational = queue('rotational');
  const scheduler = queue('scheduler');
  const model = device ? (read(path.join(device.sysDir, 'device', 'model')) ?? read(path.join(device.sysDir, 'device', 'vendor'))) : null;
  const vm: Record<string, number | null> = {};
  for (const key of VM_KEYS) {
    const value = read(`/proc/sys/vm/${key}`);
    vm[key] = value === null ? null : Number(value);
  }
  const fileSystem = mount?.fileSystem ?? null;
  let diskWarning: string | null = null;
  if (fileSystem && NOT_A_DISK.has(fileSystem)) diskWarning = `the store directory ${storeDir} is on ${fileSystem}, which is memory, not a disk`;
  else if (device?.name.startsWith('zram') || device?.name.startsWith('ram')) diskWarning = `the store directory is on ${device.name}, a RAM disk`;
  return {
    hostname: os.hostname(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpuCount: os.cpus().length,
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    storeDir: path.resolve(storeDir),
    fileSystem,
    mountPoint: mount?.mountPoint ?? null,
    mountOptions: mount?.options ?? null,
    device: device ? `/dev/${device.name}` : (mount?.source ?? null),
    // virtio-blk reports vendor 0x1af4 and rotational=1 whatever the backing device is.
    diskModel: model === '0x1af4' ? 'virtio block device (vendor 0x1af4; rotational flag not meaningful)' : model && model.length > 0 ? model : null,
    rotational: rotational === null ? null : rotational === '1',
    scheduler: scheduler ? (/\[(\S+)\]/.exec(scheduler)?.[1] ?? scheduler) : null,
    writeCache: queue('write_cache'),
    diskIsMeasured: diskWarning === null,
    diskWarning,
    vm,
    fsyncProbe: options.fsyncProbe ? await probeFdatasync(storeDir) : null,
  };
}
