// A failed store: an error in background work or an fdatasync error stops writes (never the
// process), answers every waiter, keeps reads; numbers and topic names that cannot be stored
// are refused before any offset or path is made.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { nodeFileIo } from '../../broker/store/fileIo.js';
import { decodeMessage } from '../../broker/store/messageCodec.js';
import type { MessageStore } from '../../broker/store/messageStore.js';
import { InstrumentedIo, message, openStore, tempRoot } from './storeHarness.js';

/** Collects unhandled rejections while `run` executes (Node 20 would exit on one). */
async function withoutUnhandledRejections(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await run();
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))])
    .finally(() => clearTimeout(timer));
}

async function closeAndRemove(store: MessageStore, root: string): Promise<void> {
  await store.shutdown();
  fs.rmSync(root, { recursive: true, force: true });
}

test('a throw inside the batch commit (ConsumeQueue file creation EMFILE) fails the store, not the process', async () => {
  const root = tempRoot('fail-cq');
  const io = new InstrumentedIo();
  let failQueueFiles = false;
  io.openSync = (filePath, flags) => {
    if (failQueueFiles && filePath.includes(`${path.sep}consumequeue${path.sep}`)) throw Object.assign(new Error('EMFILE: too many open files (injected)'), { code: 'EMFILE' });
    return nodeFileIo.openSync(filePath, flags);
  };
  const store = await openStore(root, {}, io);
  try {
    assert.equal(await store.appendMessage(message(0)).settled, 'PUT_OK');
    failQueueFiles = true;
    let status = '';
    const unhandled = await withoutUnhandledRejections(async () => {
      status = await withTimeout(store.appendMessage(message(1, { topic: 'NewTopic' })).settled, 2000, 'the append whose dispatch threw');
    });
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    assert.equal(status, 'SERVICE_NOT_AVAILABLE', 'the waiting append is answered');
    assert.match(store.storeFailure?.message ?? '', /EMFILE/);
    const later = store.appendMessage(message(2));
    assert.equal(later.status, 'SERVICE_NOT_AVAILABLE');
    assert.match(later.reason ?? '', /store failed/);
    assert.equal(store.getMessages('T', 0, 0, 32).status, 'FOUND', 'reads go on');
    const first = store.storeFailure;
    store.failStore(new Error('second reason'));
    assert.equal(store.storeFailure, first, 'failStore is idempotent: the first reason stays');
    assert.equal(store.stats().storeFailure, first?.message);
  } finally {
    await closeAndRemove(store, root);
  }
});

test('failStore answers waiting SYNC_FLUSH sends FLUSH_DISK_TIMEOUT at once and refuses writes', async () => {
  const root = tempRoot('fail-api');
  const io = new InstrumentedIo();
  const store = await openStore(root, { flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 60_000 }, io);
  try {
    io.holdFdatasync = true;
    const waiting = store.appendMessage(message(0));
    await new Promise((r) => setTimeout(r, 30));
    store.failStore(new Error('unhandled rejection in the broker'));
    assert.equal(await withTimeout(waiting.settled, 1000, 'the waiting send'), 'FLUSH_DISK_TIMEOUT');
    assert.equal(store.appendMessage(message(1)).status, 'SERVICE_NOT_AVAILABLE');
  } finally {
    io.releaseFdatasync();
    await closeAndRemove(store, root);
  }
});

test('fsyncgate: a failed fdatasync is never retried into PUT_OK; the store fails and says why', async () => {
  const root = tempRoot('fsyncgate');
  const io = new InstrumentedIo();
  let failNext = false;
  const realFdatasync = io.fdatasync;
  io.fdatasync = async (fd) => {
    if (failNext) {
      failNext = false; // Linux reports the error once; the next fdatasync "succeeds"
      throw Object.assign(new Error('EIO: i/o error (injected)'), { code: 'EIO' });
    }
    return realFdatasync(fd);
  };
  const store = await openStore(root, { flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 5000 }, io);
  try {
    assert.equal(await store.appendMessage(message(0)).settled, 'PUT_OK');
    const flushedBefore = store.commitLog.flushedOffset;
    failNext = true;
    const started = Date.now();
    const statuses = await Promise.all([store.appendMessage(message(1)), store.appendMessage(message(2))].map((a) => a.settled));
    assert.deepEqual(statuses, ['FLUSH_DISK_TIMEOUT', 'FLUSH_DISK_TIMEOUT']);
    assert.ok(Date.now() - started < 2000, 'answered at the failure, not at syncFlushTimeout');
    assert.equal(store.storeFailure && (store.storeFailure as Error & { code?: string }).code, 'FSYNC_FAILED');
    assert.equal(store.commitLog.flushedOffset, flushedBefore, 'the flushed offset did not move over the failed range');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(store.commitLog.flushedOffset, flushedBefore, 'no later fdatasync marks it flushed');
    assert.equal(store.appendMessage(message(3)).status, 'SERVICE_NOT_AVAILABLE');
    assert.match(store.effectiveSettings.fsyncErrorPolicy, /^fail-store .*RocketMQ 4\.9\.7: logs and acks PUT_OK/);
  } finally {
    await closeAndRemove(store, root);
  }
});

test('numbers that cannot be encoded are refused before a queue offset is assigned', async () => {
  const root = tempRoot('bad-numbers');
  const store = await openStore(root);
  try {
    const bad = [
      { flag: 2 ** 31 }, { flag: 1.5 }, { sysFlag: -(2 ** 31) - 1 }, { queueId: -1 }, { queueId: 2 ** 31 }, { reconsumeTimes: -1 },
      { bornTimestamp: Number.NaN }, { bornTimestamp: 2 ** 64 }, { preparedTransactionOffset: 0.5 },
    ];
    for (const overrides of bad) {
      const result = store.appendMessage(message(0, overrides));
      assert.equal(result.status, 'MESSAGE_ILLEGAL', JSON.stringify(overrides));
      assert.match(result.reason ?? '', new RegExp(Object.keys(overrides)[0]));
    }
    const ok = store.appendMessage(message(0));
    assert.equal(await ok.settled, 'PUT_OK');
    assert.equal(ok.queueOffset, 0, 'no hole: refused messages took no queue offset');
    const read = store.getMessages('T', 0, 0, 32);
    assert.equal(read.records.length, 1);
  } finally {
    await closeAndRemove(store, root);
  }
});

test('a topic that would escape consumequeue/ is refused with a typed error; nothing is created outside', async () => {
  const root = tempRoot('traversal');
  const store = await openStore(root);
  try {
    for (const topic of ['..', '.', '', '../../x', 'a/b']) {
      assert.throws(() => store.queues.findOrCreate(topic, 0), (error: Error & { code?: string }) => error.code === 'STORE_PATH_ESCAPE', topic);
      const result = store.appendMessage(message(0, { topic }));
      assert.equal(result.status, 'MESSAGE_ILLEGAL', topic);
    }
    const known = new Set(['abort', 'checkpoint', 'checkpoint.tmp', 'commitlog', 'consumequeue', 'lock']);
    assert.deepEqual(fs.readdirSync(root).filter((name) => !known.has(name)), [], 'nothing outside consumequeue/');
    assert.deepEqual(fs.readdirSync(path.join(root, 'consumequeue')), []);
    assert.equal(await store.appendMessage(message(1)).settled, 'PUT_OK', 'the store keeps working');
  } finally {
    await closeAndRemove(store, root);
  }
});

test('recovery leaves a record with an invalid topic out of the ConsumeQueues instead of failing every start', async () => {
  const root = tempRoot('bad-topic-record');
  const store = await openStore(root);
  const appended = [store.appendMessage(message(0)), store.appendMessage(message(1, { topic: 'ab', queueId: 0 })), store.appendMessage(message(2))];
  await Promise.all(appended.map((a) => a.settled));
  await store.shutdown();
  // The body CRC does not cover the topic: turn "ab" into ".." in place (a record another writer could have left).
  const segment = path.join(root, 'commitlog', '00000000000000000000');
  const bytes = fs.readFileSync(segment);
  const at = appended[1].physicalOffset;
  const record = bytes.subarray(at, at + appended[1].sizeBytes);
  const topicAt = record.indexOf(Buffer.from([2, 0x61, 0x62]));
  assert.ok(topicAt > 0);
  record.write('..', topicAt + 1);
  fs.writeFileSync(segment, bytes);
  fs.rmSync(path.join(root, 'consumequeue'), { recursive: true });
  const reopened = await openStore(root);
  try {
    assert.equal(reopened.recoveryReport?.skippedRecords, 1);
    assert.equal(reopened.recoveryReport?.redispatchedRecords, 2);
    assert.equal(decodeMessage(reopened.getMessages('T', 0, 0, 32).records[0]).body.toString(), message(0).body.toString());
    assert.ok(!fs.existsSync(path.join(root, '0')), 'no queue directory outside consumequeue/');
  } finally {
    await closeAndRemove(reopened, root);
  }
});
