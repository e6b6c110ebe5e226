// --disk hdd: the spec parser (no root), and a real throttled loop device (root, loop, blkio):
// the 1-writer fdatasync probe must drop to the IOPS limit, and every cgroup, root-group rule
// and loop device must be gone afterwards — also when a crashed owner left them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { loopSupportMissing } from '../../loadgen/disk/diskCommands.js';
import { cleanupLeftovers, DiskRegistry, isOurCgroup, loopBackingFile } from '../../loadgen/disk/diskRegistry.js';
import { createEmulatedHdd, findBlkioHierarchy, HDD_DEFAULTS, joinCgroup, parseDiskSpec } from '../../loadgen/disk/emulatedHdd.js';
import { measureFsyncRate } from '../../loadgen/fsyncProbe.js';
import { diskScratchDir, removeScratch, scratchDir } from '../support/scratch.js';

test('parseDiskSpec: ssd, hdd with the 7200 rpm defaults, and hdd:iops=N,bps=M with suffixes', () => {
  assert.deepEqual(parseDiskSpec('ssd'), { kind: 'ssd' });
  assert.deepEqual(parseDiskSpec('hdd'), { kind: 'hdd', writeIops: 150, writeBytesPerSec: 150_000_000, scope: 'device' });
  assert.deepEqual(parseDiskSpec('hdd:iops=100,bps=80m'), { kind: 'hdd', writeIops: 100, writeBytesPerSec: 80_000_000, scope: 'device' });
  assert.deepEqual(parseDiskSpec('HDD:bps=1000,scope=cgroup'), { kind: 'hdd', writeIops: HDD_DEFAULTS.writeIops, writeBytesPerSec: 1000, scope: 'cgroup' });
  for (const bad of ['nvme', 'hdd:iops=0', 'hdd:iops=-1', 'hdd:rpm=7200', 'ssd:iops=5', 'hdd:iops=1:2']) {
    assert.throws(() => parseDiskSpec(bad), (e: unknown) => e instanceof FlushbenchError && e.code === 'BAD_DISK_SPEC', bad);
  }
});

test('only flushbench-* cgroups directly below their /sys/fs/cgroup parent are ever released', () => {
  assert.equal(isOurCgroup('/sys/fs/cgroup/blkio/flushbench-12-x', '/sys/fs/cgroup/blkio'), true);
  assert.equal(isOurCgroup('/sys/fs/cgroup/blkio/system.slice', '/sys/fs/cgroup/blkio'), false);
  assert.equal(isOurCgroup('/sys/fs/cgroup/blkio/a/flushbench-1', '/sys/fs/cgroup/blkio'), false);
  assert.equal(isOurCgroup('/tmp/flushbench-1', '/tmp'), false);
});

test('findBlkioHierarchy: v2 with io, v1 blkio, or null (a clear error instead of an unthrottled run)', (t) => {
  const dir = scratchDir('cgroupfs');
  t.after(() => removeScratch(dir));
  assert.equal(findBlkioHierarchy(dir), null);
  fs.mkdirSync(path.join(dir, 'blkio'));
  fs.writeFileSync(path.join(dir, 'blkio', 'blkio.throttle.write_iops_device'), '');
  assert.deepEqual(findBlkioHierarchy(dir), { version: 'v1', root: path.join(dir, 'blkio') });
  fs.writeFileSync(path.join(dir, 'cgroup.controllers'), 'cpu memory pids');
  assert.equal(findBlkioHierarchy(dir), null, 'a v2 hierarchy without io cannot throttle');
  fs.writeFileSync(path.join(dir, 'cgroup.controllers'), 'cpu io memory');
  assert.deepEqual(findBlkioHierarchy(dir), { version: 'v2', root: dir });
});

const missing = loopSupportMissing() ?? (findBlkioHierarchy() ? null : 'no blkio cgroup (v1 blkio or v2 io) on this host');
if (missing) process.stderr.write(`# skipping the throttled loop device tests: ${missing}\n`);

const ROOT_V1 = '/sys/fs/cgroup/blkio';
const rootRules = () => (fs.existsSync(ROOT_V1) ? fs.readFileSync(path.join(ROOT_V1, 'blkio.throttle.write_iops_device'), 'utf8') : '');

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8', timeout: 10_000 }).stdout);
}

test('iops=100 on a real loop device: the fdatasync probe falls to ≤ 130/s; a crashed owner\'s cgroup and root rule go at the next start', { skip: missing ?? false, timeout: 60_000 }, async (t) => {
  const dir = diskScratchDir('hdd');
  const stateDir = path.join(dir, 'state');
  const registry = new DiskRegistry(stateDir);
  t.after(() => {
    registry.cleanup();
    removeScratch(dir);
  });
  const hdd = await createEmulatedHdd({
    imageDir: dir, imageName: 'hdd.img', mountPoint: path.join(dir, 'mnt'), sizeMiB: 256, name: `test-${process.pid}`,
    limits: { writeIops: 100, writeBytesPerSec: 100_000_000, scope: 'device' },
  }, registry);
  // Not joined: with scope 'device' (v1) writers outside the cgroup (kernel writeback, jbd2) are throttled too.
  const outside = await measureFsyncRate(hdd.disk.mountPoint, 1, 1000);
  assert.ok(outside.fdatasyncPerSecond <= 130, `outside the cgroup, 100 IOPS on the device, but ${outside.fdatasyncPerSecond.toFixed(0)} fdatasync/s`);
  if (hdd.cgroup.rootRule) assert.match(rootRules(), new RegExp(`^${hdd.cgroup.deviceNumber} 100$`, 'm'));
  // Joined, like the brokers: one fdatasync is one throttled write (the journal has the root group's budget).
  joinCgroup(hdd.cgroup, process.pid);
  const inside = await measureFsyncRate(hdd.disk.mountPoint, 1, 1500);
  assert.ok(inside.fdatasyncPerSecond <= 130, `inside the cgroup: 100 IOPS but ${inside.fdatasyncPerSecond.toFixed(0)} fdatasync/s`);
  assert.ok(inside.fdatasyncPerSecond >= 30, `inside the cgroup a 100 IOPS limit allows well over 30 fdatasync/s, measured ${inside.fdatasyncPerSecond.toFixed(0)}`);

  // A crashed owner: its state file names the cgroup (with the root rule); the next start removes both.
  const pid = deadPid();
  fs.writeFileSync(path.join(stateDir, `disk-${pid}.json`), JSON.stringify({ pid, entries: [{ kind: 'cgroup', path: hdd.cgroup.path, parent: hdd.cgroup.parent, rootRuleDevice: hdd.cgroup.deviceNumber }] }));
  const report = cleanupLeftovers(stateDir);
  assert.deepEqual(report.failed, []);
  assert.equal(report.released.length, 1, JSON.stringify(report));
  assert.equal(fs.existsSync(hdd.cgroup.path), false, 'the leftover cgroup is removed');
  assert.doesNotMatch(rootRules(), new RegExp(`^${hdd.cgroup.deviceNumber} `, 'm'), 'the root-group rule for the loop device is cleared');

  await hdd.release();
  assert.equal(loopBackingFile(hdd.disk.device), null, 'the loop device is detached');
  assert.equal(fs.existsSync(hdd.disk.imagePath), false, 'the image is removed');
  assert.equal(registry.size, 0);
});

test('scope=cgroup: only processes inside the cgroup are throttled, and release moves the joined process back out', { skip: missing ?? false, timeout: 60_000 }, async (t) => {
  const dir = diskScratchDir('hdd-cgroup');
  const registry = new DiskRegistry(path.join(dir, 'state'));
  t.after(() => {
    registry.cleanup();
    removeScratch(dir);
  });
  const hdd = await createEmulatedHdd({
    imageDir: dir, imageName: 'hdd.img', mountPoint: path.join(dir, 'mnt'), sizeMiB: 256, name: `test-c-${process.pid}`,
    limits: { writeIops: 100, writeBytesPerSec: 100_000_000, scope: 'cgroup' },
  }, registry);
  joinCgroup(hdd.cgroup, process.pid);
  assert.match(fs.readFileSync('/proc/self/cgroup', 'utf8'), new RegExp(path.basename(hdd.cgroup.path)));
  const inside = await measureFsyncRate(hdd.disk.mountPoint, 1, 1500);
  assert.ok(inside.fdatasyncPerSecond <= 130, `inside the cgroup: ${inside.fdatasyncPerSecond.toFixed(0)} fdatasync/s with a 100 IOPS limit`);
  await hdd.release();
  assert.doesNotMatch(fs.readFileSync('/proc/self/cgroup', 'utf8'), new RegExp(path.basename(hdd.cgroup.path)), 'the process left the cgroup before it was removed');
  assert.equal(fs.existsSync(hdd.cgroup.path), false);
});
