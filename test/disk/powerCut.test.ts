// Real power cuts on loop devices (root only): fdatasync'ed bytes survive the copy of the image,
// unsynced bytes do not (strict mode), a copy raced by writes is refused, and a crashed owner's
// mounts are undone at the next start.
// The tests run one after another (one file): strict mode is host-wide.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { loopSupportMissing } from '../../loadgen/disk/diskCommands.js';
import { cleanupLeftovers, currentMounts, defaultDiskStateDir, DiskRegistry, loopBackingFile } from '../../loadgen/disk/diskRegistry.js';
import { createLoopDisk, type LoopDisk, powerCutCopy, releaseLoopDisk } from '../../loadgen/disk/loopDisk.js';
import { provePowerCutDropsUnsynced, TRIAL_CHUNK_BYTES } from '../../loadgen/disk/powerCutProof.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';
import { encodeRecord, killChild, startChild } from './diskChild.js';
import { strictLoopDisk } from './strictLoopDisk.js';

const missing = loopSupportMissing();
const WRITEBACK_KEYS = ['vm/dirty_writeback_centisecs', 'vm/dirty_expire_centisecs'];

function writebackSysctls(): string[] {
  return WRITEBACK_KEYS.map((key) => fs.readFileSync(path.join('/proc/sys', key), 'utf8').trim());
}

/** Loop devices whose backing file lies under dir (what a test might leak). */
function loopsUnder(dir: string): string[] {
  return fs.readdirSync('/sys/block').filter((name) => name.startsWith('loop'))
    .filter((name) => (loopBackingFile(`/dev/${name}`) ?? '').startsWith(dir));
}

function mountsUnder(dir: string): string[] {
  return [...currentMounts().keys()].filter((target) => target.startsWith(dir));
}

test('power cut (strict): the fdatasync\'ed 8 KiB survives, the unsynced append and the unsynced file do not', { skip: missing ?? false, timeout: 60_000 }, async (t) => {
  const dir = diskScratchDir('powercut-trial');
  t.after(() => removeScratch(dir));
  // Another suite running at the same time may hold strict mode: compare only when no one did.
  const holderFile = path.join(defaultDiskStateDir(), 'writeback-state.json');
  const heldBefore = fs.existsSync(holderFile);
  const before = writebackSysctls();
  const result = await provePowerCutDropsUnsynced({ dir, strict: true, stateDir: path.join(dir, 'state') });
  t.diagnostic(JSON.stringify(result));
  assert.equal(result.syncedBytesSurvived, TRIAL_CHUNK_BYTES);
  assert.equal(result.appendedBytesSurvived, 0);
  assert.equal(result.unsyncedFileExists, false);
  assert.ok(result.keepsSynced && result.dropsUnsynced);
  if (!heldBefore && !fs.existsSync(holderFile)) assert.deepEqual(writebackSysctls(), before, 'the sysctls are back');
  assert.deepEqual(loopsUnder(dir), [], 'no loop device left attached');
  assert.deepEqual(mountsUnder(dir), [], 'nothing left mounted');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'state')), [], 'no registry state file left');
});

test('a SIGKILLed writer with N fdatasync\'ed and M unsynced records leaves exactly N after the power cut', { skip: missing ?? false, timeout: 60_000 }, async (t) => {
  const { disk, powerCut } = await strictLoopDisk(t, 'powercut-records', 30_000); // a concurrent suite may hold strict mode
  // 100-byte records: the last synced record shares a 4 KiB page with unsynced ones.
  const synced = 1000;
  const unsynced = 700;
  const recordBytes = 100;
  const file = path.join(disk.mountPoint, 'records.log');
  const { child } = await startChild(['records', file, String(synced), String(unsynced), String(recordBytes)]);
  await killChild(child);
  assert.equal(fs.statSync(file).size, (synced + unsynced) * recordBytes, 'before the cut the page cache holds all N+M records');

  const crashed = await powerCut();
  const survived = fs.readFileSync(path.join(crashed.mountPoint, 'records.log'));
  assert.equal(survived.length, synced * recordBytes, `exactly the ${synced} synced records (found ${survived.length / recordBytes})`);
  for (let i = 0; i < synced; i++) {
    assert.ok(survived.subarray(i * recordBytes, (i + 1) * recordBytes).equals(encodeRecord(i, recordBytes)), `record ${i} intact`);
  }
});

test('a SIGKILLed owner\'s loop device and mount are released by cleanupLeftovers at the next start', { skip: missing ?? false, timeout: 60_000 }, async (t) => {
  const dir = diskScratchDir('powercut-leftover');
  const stateDir = path.join(dir, 'state');
  t.after(() => {
    cleanupLeftovers(stateDir);
    removeScratch(dir);
  });
  const { child, info } = await startChild(['disk', stateDir, dir]);
  await killChild(child);
  assert.equal(currentMounts().get(String(info.mountPoint)), info.device, 'the crashed owner left its mount');
  assert.equal(loopBackingFile(String(info.device)), info.imagePath);

  const report = cleanupLeftovers(stateDir);
  assert.deepEqual(report.failed, []);
  assert.deepEqual(report.released, [`mount ${String(info.mountPoint)} (${String(info.device)})`, `loop ${String(info.device)} (${String(info.imagePath)})`]);
  assert.equal(currentMounts().has(String(info.mountPoint)), false);
  assert.notEqual(loopBackingFile(String(info.device)), info.imagePath);
  assert.deepEqual(fs.readdirSync(stateDir), [], 'the state file is gone');
});

test('a copy raced by writes to the loop device is refused (DISK_COPY_TORN), never returned', { skip: missing ?? false, timeout: 60_000 }, async (t) => {
  const dir = diskScratchDir('powercut-torn');
  const registry = new DiskRegistry(path.join(dir, 'state'));
  const disks: LoopDisk[] = [];
  let child: ChildProcess | null = null;
  t.after(async () => {
    if (child) await killChild(child);
    for (const disk of disks.reverse()) await releaseLoopDisk(disk, registry).catch(() => undefined);
    registry.cleanup();
    removeScratch(dir);
  });
  const disk = await createLoopDisk({ dir, imageName: 'disk.img', sizeMiB: 64, mountPoint: path.join(dir, 'mnt') }, registry);
  disks.push(disk);
  // 16 MiB of synced data makes each copy take long enough to overlap several fdatasyncs.
  const filler = fs.openSync(path.join(disk.mountPoint, 'filler.bin'), 'w');
  fs.writeSync(filler, Buffer.alloc(16 * 1024 * 1024, 1));
  fs.fdatasyncSync(filler);
  fs.closeSync(filler);
  child = (await startChild(['churn', path.join(disk.mountPoint, 'churn.bin')])).child; // the writer is NOT dead
  const crashImagePath = path.join(dir, 'crash.img');
  await assert.rejects(powerCutCopy(disk, registry, { crashImagePath, mountPoint: path.join(dir, 'crash-mnt') }), (error: unknown) => error instanceof FlushbenchError && error.code === 'DISK_COPY_TORN');
  assert.equal(fs.existsSync(crashImagePath), false, 'the torn copy was removed');
  assert.deepEqual(mountsUnder(dir), [disk.mountPoint], 'no crash copy was mounted');
});

test('Ctrl-C: an owner that gets SIGINT unmounts and detaches before it exits', { skip: missing ?? false, timeout: 60_000 }, async (t) => {
  const dir = diskScratchDir('powercut-sigint');
  const stateDir = path.join(dir, 'state');
  t.after(() => {
    cleanupLeftovers(stateDir);
    removeScratch(dir);
  });
  const { child, info } = await startChild(['disk', stateDir, dir]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.equal(currentMounts().has(String(info.mountPoint)), false, 'unmounted');
  assert.notEqual(loopBackingFile(String(info.device)), info.imagePath, 'detached');
  assert.deepEqual(fs.readdirSync(stateDir), [], 'nothing left for the next start');
});
