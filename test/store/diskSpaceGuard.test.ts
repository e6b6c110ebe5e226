// RocketMQ 4.9.7's disk-full guard: the used ratio as UtilAll computes it, the flag set above
// 0.90 and cleared below, and a store that refuses puts SERVICE_NOT_AVAILABLE while it is set
// (and takes them again after), with the CL/CQ/INDEX figures in the reason.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DiskSpaceGuard, diskUsedRatio, type SpaceStats } from '../../broker/store/diskSpaceGuard.js';
import { nodeFileIo, type FileIo } from '../../broker/store/fileIo.js';
import { message, openStore, tempRoot } from './storeHarness.js';

const blocks = (total: number, free: number, usable: number): SpaceStats => ({ blocks: total, bfree: free, bavail: usable, bsize: 4096 });

test('diskUsedRatio is UtilAll.getDiskPartitionSpaceUsedPercent: used over used + usable, rounded up to a percent', () => {
  assert.equal(diskUsedRatio(blocks(1000, 100, 100)), 0.9, 'exactly 90 %');
  assert.equal(diskUsedRatio(blocks(1000, 100, 50)), 0.95, '900 / 950 = 94.7 % rounds up to 95 % (root-reserved blocks are neither)');
  assert.equal(diskUsedRatio(blocks(1000, 99, 99)), 0.91, '901 / 1000 = 90.1 % rounds up to 91 %');
  assert.equal(diskUsedRatio(blocks(1000, 1000, 1000)), 0);
  assert.equal(diskUsedRatio({ blocks: 2n ** 40n, bfree: 2n ** 39n, bavail: 2n ** 39n, bsize: 4096n }), 0.5, 'bigint stats of a large file system');
  assert.equal(diskUsedRatio(blocks(0, 0, 0)), -1);
  assert.equal(diskUsedRatio(null), -1);
});

test('the guard marks the disk full above 0.90 and OK again at or below it, telling each change once', () => {
  let stats = blocks(1000, 500, 500);
  const changes: Array<[boolean, number]> = [];
  const guard = new DiskSpaceGuard('/store/commitlog', { stats: () => stats, onChange: (full, ratio) => changes.push([full, ratio]) });
  assert.equal(guard.check(), false);
  stats = blocks(1000, 99, 99);
  assert.equal(guard.check(), true);
  assert.equal(guard.check(), true);
  stats = blocks(1000, 100, 100);
  assert.equal(guard.check(), false, '0.90 is not above the warning level');
  assert.deepEqual(changes, [[true, 0.91], [false, 0.9]]);
  assert.equal(guard.describe('/store/consumequeue', '/store/index'), 'CL:  0.90 CQ:  0.90 INDEX:  0.90');
});

test('a store marked disk full refuses puts SERVICE_NOT_AVAILABLE, and takes them again once space is back', async () => {
  const root = tempRoot('disk-full-guard');
  let usedPercent = 50;
  const io: FileIo = { ...nodeFileIo, statfsSync: () => blocks(100, 100 - usedPercent, 100 - usedPercent) };
  const store = await openStore(root, {}, io);
  try {
    const before = store.appendMessage(message(1));
    assert.equal(before.status, 'PUT_OK');
    usedPercent = 95;
    assert.equal(store.diskSpace.check(), true);
    const refused = store.appendMessage(message(2));
    assert.equal(refused.status, 'SERVICE_NOT_AVAILABLE');
    assert.match(refused.reason ?? '', /^the broker's disk is full \[CL: {2}0\.95 CQ: {2}0\.95 INDEX: {2}0\.95\]$/);
    usedPercent = 80;
    assert.equal(store.diskSpace.check(), false);
    const after = store.appendMessage(message(3));
    assert.equal(after.status, 'PUT_OK');
    assert.equal(after.queueOffset, before.queueOffset + 1, 'the refused put took no queue offset');
    assert.equal(await after.settled, 'PUT_OK');
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the guard checks on its own: 1 s after start in RocketMQ, here after firstCheckMs', async () => {
  let checks = 0;
  const guard = new DiskSpaceGuard('/x', { stats: () => (checks++, blocks(100, 1, 1)), firstCheckMs: 5, checkIntervalMs: 5 });
  guard.start();
  try {
    for (let i = 0; i < 200 && checks < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(checks >= 3, `checked ${checks} times`);
    assert.equal(guard.full, true);
  } finally {
    guard.stop();
  }
  const stopped = checks;
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(checks <= stopped + 1, 'no checks after stop()');
});

test('a ConsumeQueue write refused with ENOSPC is retried by the next round; the store does not fail', async () => {
  const root = tempRoot('cq-enospc');
  let refuseQueueWrites = 0;
  let refused = 0;
  const io: FileIo = {
    ...nodeFileIo,
    write: (fd, buffer, offset, length, position) => {
      if (refuseQueueWrites > 0 && cqFds.has(fd)) {
        refuseQueueWrites--;
        refused++;
        return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }));
      }
      return nodeFileIo.write(fd, buffer, offset, length, position);
    },
    openSync: (filePath, flags) => {
      const fd = nodeFileIo.openSync(filePath, flags);
      if (filePath.includes(`${path.sep}consumequeue${path.sep}`)) cqFds.add(fd);
      return fd;
    },
  };
  const cqFds = new Set<number>();
  const store = await openStore(root, { flushIntervalConsumeQueue: 20 }, io);
  try {
    refuseQueueWrites = 3;
    for (let i = 0; i < 4; i++) assert.equal(await store.appendMessage(message(i)).settled, 'PUT_OK');
    for (let i = 0; i < 200 && (refused < 3 || store.queues.spaceRefusals < 3); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(refused, 3, 'the ConsumeQueue writes were refused');
    assert.equal(store.storeFailure, null, 'ENOSPC on a write does not fail the store');
    assert.equal(store.appendMessage(message(9)).status, 'PUT_OK');
  } finally {
    await store.shutdown();
  }
  // The entries refused three times reached the files: a reopened store serves all five.
  const reopened = await openStore(root);
  try {
    assert.equal(reopened.getMaxOffsetInQueue('T', 0) + reopened.getMaxOffsetInQueue('T', 1), 5);
    assert.equal(reopened.getMessages('T', 0, 0, 32).status, 'FOUND');
  } finally {
    await reopened.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
