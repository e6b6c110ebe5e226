// SYNC_FLUSH, ASYNC_FLUSH and transientStorePool semantics, observed through the file layer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { nodeFileIo } from '../../broker/store/fileIo.js';
import type { PutStatus } from '../../broker/store/putStatus.js';
import { InstrumentedIo, message, openStore, tempRoot } from './storeHarness.js';
import { waitFor } from '../support/waitFor.js';

test('SYNC_FLUSH: no append settles before the fdatasync that covers it; concurrent appends share fsyncs', async () => {
  const root = tempRoot('sync');
  const io = new InstrumentedIo();
  const store = await openStore(root, { flushDiskType: 'SYNC_FLUSH' }, io);
  try {
    io.holdFdatasync = true;
    const settled: PutStatus[] = [];
    const appends = Array.from({ length: 500 }, (_, i) => store.appendMessage(message(i)));
    const all = appends.map((a) => a.settled.then((s) => settled.push(s)));
    await waitFor(() => io.fdatasyncCalls > 0, 'the first fdatasync to start', 5000);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(settled.length, 0, 'nothing is acked while the covering fdatasync is held');
    io.releaseFdatasync();
    await Promise.all(all);
    assert.ok(settled.every((s) => s === 'PUT_OK'));
    assert.ok(io.fdatasyncDone >= 1);
    assert.ok(io.fdatasyncCalls <= 20, `500 appends shared ${io.fdatasyncCalls} fsyncs (group commit)`);
    const end = appends[499].physicalOffset + appends[499].sizeBytes;
    assert.ok(store.commitLog.flushedOffset >= end, 'flushed offset covers every acked message');
  } finally {
    io.releaseFdatasync();
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('SYNC_FLUSH: a flush held past syncFlushTimeout answers FLUSH_DISK_TIMEOUT; WAIT=false is acked at once', async () => {
  const root = tempRoot('sync-timeout');
  const io = new InstrumentedIo();
  const store = await openStore(root, { flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 150 }, io);
  try {
    io.holdFdatasync = true;
    const started = Date.now();
    const status = await store.appendMessage(message(1)).settled;
    assert.equal(status, 'FLUSH_DISK_TIMEOUT');
    assert.ok(Date.now() - started < 2000, 'answered near the deadline');
    const noWait = store.appendMessage(message(2, { properties: 'WAIT\u0001false' }));
    assert.equal(await noWait.settled, 'PUT_OK', 'WAIT=false does not wait for the disk');
  } finally {
    io.releaseFdatasync();
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('ASYNC_FLUSH: acks never wait for fdatasync; leastPages skips small flushes; the thorough interval forces one', async () => {
  const root = tempRoot('async');
  const io = new InstrumentedIo();
  io.holdFdatasync = true;
  const store = await openStore(root, { flushDiskType: 'ASYNC_FLUSH', flushIntervalCommitLog: 20, flushCommitLogLeastPages: 4, flushCommitLogThoroughInterval: 600_000, flushCommitLogTimed: true }, io);
  try {
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => store.appendMessage(message(i)).settled));
    assert.ok(statuses.every((s) => s === 'PUT_OK'), 'acked from the page cache while fdatasync is held');
    io.releaseFdatasync();
    // 50 × ~150 B < 4 pages: several flush intervals pass without a flush.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(io.fdatasyncCalls, 0, 'fewer than flushCommitLogLeastPages dirty pages: no fsync');
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendMessage(message(i, { body: Buffer.alloc(200) })).settled));
    await waitFor(() => io.fdatasyncDone > 0, 'a flush once ≥ 4 pages are dirty', 3000);
  } finally {
    io.releaseFdatasync();
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
  const root2 = tempRoot('async-thorough');
  const io2 = new InstrumentedIo();
  const store2 = await openStore(root2, { flushDiskType: 'ASYNC_FLUSH', flushIntervalCommitLog: 20, flushCommitLogLeastPages: 4, flushCommitLogThoroughInterval: 100 }, io2);
  try {
    await store2.appendMessage(message(1)).settled;
    await waitFor(() => io2.fdatasyncDone > 0, 'the thorough interval to flush a single small message', 3000);
    assert.ok(store2.commitLog.flushedOffset === store2.commitLog.maxCommittedOffset);
  } finally {
    await store2.shutdown();
    fs.rmSync(root2, { recursive: true, force: true });
  }
});

test('transientStorePool: after a kill, exactly the uncommitted messages are gone', async () => {
  const root = tempRoot('pool');
  const io = new InstrumentedIo();
  const store = await openStore(root, {
    flushDiskType: 'ASYNC_FLUSH', transientStorePoolEnable: true, commitIntervalCommitLog: 30, commitCommitLogThoroughInterval: 30, commitCommitLogLeastPages: 0,
  }, io);
  assert.equal(store.transientStorePoolActive, true);
  const first = Array.from({ length: 100 }, (_, i) => store.appendMessage(message(i)));
  assert.ok((await Promise.all(first.map((a) => a.settled))).every((s) => s === 'PUT_OK'));
  const committedEnd = first[99].physicalOffset + first[99].sizeBytes;
  await waitFor(() => store.commitLog.maxCommittedOffset >= committedEnd, 'the commit service to write the first batch', 5000);
  io.dead = true; // from here on nothing reaches the file: a killed process
  const second = Array.from({ length: 40 }, (_, i) => store.appendMessage(message(100 + i)));
  assert.ok((await Promise.all(second.map((a) => a.settled))).every((s) => s === 'PUT_OK'), 'pool mode acks before the file sees the data');
  const committedAtKill = store.commitLog.maxCommittedOffset;
  store.halt();
  const reopened = await openStore(root, { flushDiskType: 'ASYNC_FLUSH' }, nodeFileIo);
  try {
    assert.equal(reopened.commitLog.maxCommittedOffset, committedAtKill, 'recovery ends exactly at the committed data');
    const survivors = reopened.getMaxOffsetInQueue('T', 0) + reopened.getMaxOffsetInQueue('T', 1);
    assert.equal(survivors, 100, 'the 100 committed messages survive, the 40 uncommitted are gone');
  } finally {
    await reopened.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('transientStorePoolEnable is ignored (with a warning) for SYNC_FLUSH and for a SLAVE', async () => {
  for (const overrides of [{ flushDiskType: 'SYNC_FLUSH' as const }, { brokerRole: 'SLAVE' as const }]) {
    const root = tempRoot('pool-ignored');
    const store = await openStore(root, { ...overrides, transientStorePoolEnable: true });
    try {
      assert.equal(store.transientStorePoolActive, false);
      assert.ok(store.warnings.some((w) => w.includes('transientStorePoolEnable=true has no effect')));
      assert.equal(store.stats().transientStorePoolActive, false);
    } finally {
      await store.shutdown();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
});
