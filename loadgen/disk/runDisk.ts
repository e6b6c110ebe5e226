// `bench run --disk ssd|hdd[:iops=N,bps=M]`: where the stores go. ssd is the real disk under
// --store-dir; hdd is an emulated HDD (emulatedHdd.ts) mounted there, with the harness inside
// its throttle cgroup so every broker it starts inherits the limit. Also measures, per profile,
// how many of the loop device's writes went through the throttle: in cgroup v1 the kernel's
// writeback threads and the ext4 journal thread are charged to the root group, not to ours.
import fs from 'node:fs';
import path from 'node:path';
import type { DiskEmulation } from '../../reports/runData.js';
import { probeFdatasync } from '../hostFacts.js';
import { cleanupLeftovers, defaultDiskStateDir, DiskRegistry } from './diskRegistry.js';
import {
  cgroupWriteCounters, createEmulatedHdd, deviceWriteCounters, type DiskSpec, type EmulatedHdd, joinCgroup, parseDiskSpec, type WriteCounters,
} from './emulatedHdd.js';

export interface RunDisk {
  /** The store directory for this run (on the emulated disk for hdd). */
  storeDir: string;
  emulation: DiskEmulation | null;
  /** Counters now; pass to notesSince after a profile. */
  mark(): DiskMark | null;
  notesSince(mark: DiskMark | null): string[];
  release(): Promise<void>;
}

export interface DiskMark {
  cgroup: WriteCounters;
  device: WriteCounters;
}

/** Probe seconds before joining the cgroup (what the loop device does without the throttle). */
const OUTSIDE_PROBE_MS = 1000;

export async function prepareRunDisk(specText: string, storeBase: string, stamp: string, tell: (line: string) => void): Promise<RunDisk> {
  const spec: DiskSpec = parseDiskSpec(specText);
  const storeDir = path.resolve(storeBase, stamp);
  if (spec.kind === 'ssd') {
    fs.mkdirSync(storeDir, { recursive: true });
    return { storeDir, emulation: null, mark: () => null, notesSince: () => [], release: async () => {} };
  }
  const stateDir = defaultDiskStateDir();
  const leftovers = cleanupLeftovers(stateDir);
  if (leftovers.released.length) tell(`released what an earlier (crashed) run left: ${leftovers.released.join('; ')}`);
  if (leftovers.failed.length) tell(`warning: could not release earlier leftovers: ${leftovers.failed.join('; ')}`);
  const registry = new DiskRegistry(stateDir);
  const disarm = registry.armSignals();
  let hdd: EmulatedHdd;
  const unthrottled: { probe: DiskEmulation['fsyncProbeOutsideThrottle'] } = { probe: null };
  try {
    hdd = await createEmulatedHdd({
      imageDir: path.resolve(storeBase), imageName: `hdd-${stamp}.img`, mountPoint: storeDir, limits: spec, name: `${process.pid}-${stamp}`,
      beforeThrottle: async (loop) => {
        unthrottled.probe = await probeFdatasync(loop.mountPoint, OUTSIDE_PROBE_MS);
      },
    }, registry);
  } catch (error) {
    registry.cleanup();
    disarm();
    throw error;
  }
  joinCgroup(hdd.cgroup, process.pid);
  tell(`emulated HDD: ${hdd.disk.device} (${hdd.disk.imagePath}) on ${storeDir}, ${spec.writeIops} write IOPS, ${spec.writeBytesPerSec / 1e6} MB/s, cgroup ${hdd.cgroup.version} ${hdd.cgroup.path}; fdatasync/s outside the throttle ${Math.round(unthrottled.probe?.fdatasyncPerSecond ?? 0)}`);
  const emulation: DiskEmulation = {
    kind: 'hdd', writeIops: spec.writeIops, writeBps: spec.writeBytesPerSec, cgroup: hdd.cgroup.version, method: hdd.method,
    loopDevice: hdd.disk.device, image: hdd.disk.imagePath, fsyncProbeOutsideThrottle: unthrottled.probe,
  };
  const mark = (): DiskMark => ({ cgroup: cgroupWriteCounters(hdd.cgroup), device: deviceWriteCounters(hdd.disk.device) });
  return {
    storeDir, emulation, mark,
    notesSince: (before) => (before ? [throttleShareNote(hdd, before, mark())] : []),
    release: async () => {
      try {
        await hdd.release();
      } finally {
        registry.cleanup();
        disarm();
      }
    },
  };
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((100 * part) / whole)} %` : 'n/a';
}

/** One note per profile: which share of the loop device's writes the throttle saw. */
export function throttleShareNote(hdd: Pick<EmulatedHdd, 'cgroup' | 'disk'>, before: DiskMark, after: DiskMark): string {
  const cgIos = after.cgroup.writeIos - before.cgroup.writeIos;
  const cgBytes = after.cgroup.writeBytes - before.cgroup.writeBytes;
  const devIos = after.device.writeIos - before.device.writeIos;
  const devBytes = after.device.writeBytes - before.device.writeBytes;
  const share = `Emulated HDD: the throttle (cgroup ${hdd.cgroup.version}) saw ${cgIos} of the ${devIos} write requests that reached ${hdd.disk.device} during this profile (${pct(cgIos, devIos)}; bytes ${pct(cgBytes, devBytes)}).`;
  if (hdd.cgroup.version === 'v2') return `${share} cgroup v2 charges writeback to the group that dirtied the pages.`;
  if (hdd.cgroup.rootRule) {
    return `${share} The rest (the kernel's writeback threads and the ext4 journal thread jbd2, which cgroup v1 charges to the root group) went through the same limits set in the root blkio group for ${hdd.disk.device}, so every write to the emulated disk was throttled (v1 gives each group its own budget: with the brokers and writeback both busy the device may take up to twice the limit).`;
  }
  return `${share} The rest was not throttled: in cgroup v1 the kernel's writeback threads (ASYNC_FLUSH pages written back before the broker's own flush) and the ext4 journal thread (jbd2) are charged to the root group. `
    + 'The brokers\' own fdatasync/msync writes are throttled; an ASYNC_FLUSH result under --disk hdd is therefore optimistic by at most the unthrottled share.';
}
