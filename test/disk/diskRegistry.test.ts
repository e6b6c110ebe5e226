// The registry's state files and the tmpfs refusal, without root: leftovers of dead processes
// are released only when they still are ours, live processes' files are left alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { cleanupLeftovers, DiskRegistry } from '../../loadgen/disk/diskRegistry.js';
import { requireRealDisk } from '../../loadgen/disk/loopDisk.js';
import { diskScratchDir, removeScratch, scratchDir } from '../support/scratch.js';

function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8', timeout: 10_000 });
  return Number(result.stdout);
}

test('the registry writes its entries to a per-process state file and removes it when empty', (t) => {
  const dir = scratchDir('registry');
  t.after(() => removeScratch(dir));
  const registry = new DiskRegistry(dir);
  const loop = { kind: 'loop', device: '/dev/loop99', backingFile: path.join(dir, 'x.img') } as const;
  const mount = { kind: 'mount', target: path.join(dir, 'mnt'), source: '/dev/loop99' } as const;
  registry.add(loop);
  registry.add(mount);
  const saved = JSON.parse(fs.readFileSync(registry.stateFile, 'utf8')) as { pid: number; entries: unknown[] };
  assert.equal(path.basename(registry.stateFile), `disk-${process.pid}.json`);
  assert.deepEqual(saved, { pid: process.pid, entries: [loop, mount] });
  registry.forget(mount);
  registry.forget(loop);
  assert.equal(fs.existsSync(registry.stateFile), false);
});

test('cleanupLeftovers: a dead process\'s entries that are no longer attached/mounted are skipped and forgotten', (t) => {
  const dir = scratchDir('leftovers');
  t.after(() => removeScratch(dir));
  const pid = deadPid();
  const dead = path.join(dir, `disk-${pid}.json`);
  // /dev/loop99 is not attached and the target is not mounted: nothing of ours is left to undo.
  fs.writeFileSync(dead, JSON.stringify({ pid, entries: [
    { kind: 'loop', device: '/dev/loop99', backingFile: path.join(dir, 'gone.img') },
    { kind: 'mount', target: path.join(dir, 'never-mounted'), source: '/dev/loop99' },
  ] }));
  const live = path.join(dir, `disk-${process.ppid}.json`);
  fs.writeFileSync(live, JSON.stringify({ pid: process.ppid, entries: [{ kind: 'loop', device: '/dev/loop98', backingFile: '/x.img' }] }));
  const bad = path.join(dir, `disk-${pid + 1_000_000}.json`);
  fs.writeFileSync(bad, JSON.stringify({ entries: [{ kind: 'loop', device: '/dev/sda', backingFile: '/x' }] }));

  const report = cleanupLeftovers(dir);
  assert.deepEqual(report.released, []);
  assert.equal(report.skipped.length, 2, report.skipped.join('; '));
  assert.match(report.skipped[0], /^mount .*never-mounted/, 'released last-first: the mount before its loop device');
  assert.equal(fs.existsSync(dead), false, 'the dead process\'s file is gone');
  assert.equal(fs.existsSync(live), true, 'a live process\'s file is left alone');
  assert.equal(report.failed.length, 1);
  assert.match(report.failed[0], /not a disk state file/, 'a /dev/sda "loop" entry is refused, never detached');
  assert.equal(fs.existsSync(bad), true);
});

test('cleanupLeftovers on a missing state directory does nothing', () => {
  assert.deepEqual(cleanupLeftovers(path.join(scratchDir('none'), 'absent')), { released: [], skipped: [], failed: [] });
});

test('images are refused on tmpfs and accepted on the project disk', (t) => {
  const dir = diskScratchDir('realdisk');
  t.after(() => removeScratch(dir));
  if (Number(fs.statfsSync(dir).type) === 0x01021994) {
    t.skip('the project directory itself is on tmpfs');
    return;
  }
  requireRealDisk(dir);
  if (!fs.existsSync('/dev/shm') || Number(fs.statfsSync('/dev/shm').type) !== 0x01021994) {
    t.skip('/dev/shm is not tmpfs on this host: no tmpfs directory to refuse');
    return;
  }
  assert.throws(() => requireRealDisk('/dev/shm'), (error: unknown) => error instanceof FlushbenchError && error.code === 'DISK_NOT_A_DISK' && /tmpfs/.test(error.message));
});
