// Bounded work and durability bookkeeping: the filter scan per pull, the gap fill, size
// checks, the checkpoint written while running (atomically), directory fsyncs, the whole
// torn tail zeroed, position invariants, and one place that resolves store settings.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';
import { ConsumeQueue } from '../../broker/store/consumeQueue.js';
import { nodeFileIo } from '../../broker/store/fileIo.js';
import { javaStringHashCode, readInt64 } from '../../broker/store/messageCodec.js';
import { assertPositions, type Segment } from '../../broker/store/segment.js';
import { resolveStoreSettings } from '../../broker/store/storeSettings.js';
import { waitFor } from '../support/waitFor.js';
import { config, InstrumentedIo, message, openStore, tempRoot } from './storeHarness.js';

test('a pull whose tag filter matches nothing scans a bounded number of entries and says where to go on', async () => {
  const root = tempRoot('filter-bound');
  const store = await openStore(root, { mappedFileSizeCommitLog: 1024 * 1024 });
  try {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => store.appendMessage(message(i, { queueId: 0 })).settled));
    const nothing = (code: number) => code === javaStringHashCode('no-such-tag');
    const first = store.getMessages('T', 0, 0, 32, nothing);
    assert.equal(first.status, 'NO_MATCHED_MESSAGE');
    assert.equal(first.nextBeginOffset, 800, 'RocketMQ scans max(16000, maxMsgNums × 20) bytes = 800 entries');
    const second = store.getMessages('T', 0, first.nextBeginOffset, 32, nothing);
    assert.equal(second.nextBeginOffset, 1600, 'the client continues from nextBeginOffset');
    assert.equal(store.getMessages('T', 0, 0, 1000, nothing).nextBeginOffset, 1000, 'a larger maxMsgNums scans that many');
    const matching = store.getMessages('T', 0, 1990, 32, (code) => code === javaStringHashCode('tag0'));
    assert.equal(matching.status, 'FOUND');
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a queue offset far past the queue end is refused, not filled with millions of gap entries', () => {
  const root = tempRoot('gap-bound');
  const queue = new ConsumeQueue(nodeFileIo, 'T', 0, path.join(root, 'T', '0'), 20 * 1000);
  assert.equal(queue.putEntry(0, 100, 0, 0), true);
  assert.equal(queue.putEntry(100, 100, 0, 5000), false, 'a jump larger than one file (1000 entries) is corrupt');
  assert.equal(queue.maxOffset, 1, 'nothing was filled');
  assert.equal(queue.putEntry(100, 100, 0, 10), true, 'a small gap is still filled');
  assert.equal(queue.maxOffset, 11);
  fs.rmSync(root, { recursive: true, force: true });
});

test('nonsense sizes are refused when the store config is loaded, naming the key', async () => {
  const root = tempRoot('sizes');
  const cases: Array<[string, Record<string, number>]> = [
    ['mappedFileSizeConsumeQueue', { mappedFileSizeConsumeQueue: 0 }],
    ['mappedFileSizeConsumeQueue', { mappedFileSizeConsumeQueue: 30 }],
    ['mappedFileSizeConsumeQueue', { mappedFileSizeConsumeQueue: -20 }],
    ['mappedFileSizeCommitLog', { mappedFileSizeCommitLog: 4096 }],
    ['accessMessageInMemoryMaxRatio', { accessMessageInMemoryMaxRatio: 150 }],
  ];
  for (const [key, overrides] of cases) {
    assert.throws(() => resolveStoreSettings(config(root, overrides)), (error: Error & { code?: string }) => error.code === 'BAD_CONFIG' && error.message.startsWith(`${key}=`), key);
    await assert.rejects(openStore(root, overrides), (error: Error & { code?: string }) => error.code === 'BAD_CONFIG', key);
  }
  assert.throws(() => brokerConfigFrom({ mappedFileSizeConsumeQueue: '0', storePathRootDir: root }), /mappedFileSizeConsumeQueue=0/);
  const store = await openStore(root);
  await store.shutdown();
  fs.rmSync(root, { recursive: true, force: true });
});

test('one resolver: pool rule and its warning, in-memory limit from accessMessageInMemoryMaxRatio × RAM, effective settings', () => {
  const root = '/nonexistent-store-root';
  const resolved = resolveStoreSettings(config(root, { accessMessageInMemoryMaxRatio: 10 }), 1000);
  assert.equal(resolved.inMemoryLimitBytes, 100);
  const pool = resolveStoreSettings(config(root, { transientStorePoolEnable: true, flushDiskType: 'SYNC_FLUSH' }));
  assert.equal(pool.transientStorePoolActive, false);
  assert.equal(pool.warnings.filter((w) => w.includes('transientStorePoolEnable')).length, 1);
  const broker = brokerConfigFrom({ transientStorePoolEnable: 'true', flushDiskType: 'SYNC_FLUSH', storePathRootDir: root, accessMessageInMemoryMaxRatio: '30' });
  assert.equal(broker.warnings.filter((w) => w.includes('transientStorePoolEnable')).length, 1);
  assert.ok(pool.warnings.filter((w) => w.includes('transientStorePoolEnable')).every((w) => broker.warnings.includes(w)), 'the store and the config say it in the same words (printed once)');
  assert.equal(broker.store.accessMessageInMemoryMaxRatio, 30, 'the ratio reaches the store');
  const effective = broker.effectiveSettings();
  assert.equal(effective.transientStorePoolActive, 'false');
  assert.match(effective.fsyncErrorPolicy, /^fail-store/);
});

test('the checkpoint is written while the store runs (every ConsumeQueue round), atomically', async () => {
  const root = tempRoot('checkpoint');
  const file = path.join(root, 'checkpoint');
  const store = await openStore(root, { flushDiskType: 'SYNC_FLUSH', flushIntervalConsumeQueue: 30, flushConsumeQueueLeastPages: 0 });
  let values = { physic: 0, logics: 0 };
  try {
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.appendMessage(message(i)).settled));
    const read = () => {
      const content = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
      values = content.length >= 24 ? { physic: readInt64(content, 0), logics: readInt64(content, 8) } : { physic: 0, logics: 0 };
      return values.physic > 0 && values.logics > 0;
    };
    await waitFor(read, 'a checkpoint with both timestamps on disk before shutdown', 3000);
    assert.equal(fs.statSync(file).size, 4096);
    assert.ok(!fs.existsSync(`${file}.tmp`));
  } finally {
    await store.shutdown();
  }
  // A crash in the middle of a write leaves checkpoint.tmp behind: it is ignored.
  fs.writeFileSync(`${file}.tmp`, Buffer.alloc(10, 0xff));
  const reopened = await openStore(root);
  try {
    assert.ok(!fs.existsSync(`${file}.tmp`));
    assert.ok(readInt64(fs.readFileSync(file), 0) >= values.physic);
  } finally {
    await reopened.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('creating a CommitLog segment or a ConsumeQueue file fsyncs its directory (and new topic/queue directories)', async () => {
  const root = tempRoot('dir-fsync');
  const io = new InstrumentedIo();
  const synced: string[] = [];
  (io as InstrumentedIo & { fsyncDirectorySync: (dir: string) => void }).fsyncDirectorySync = (dir) => {
    synced.push(path.relative(root, dir) || '.');
    nodeFileIo.fsyncDirectorySync?.(dir);
  };
  const store = await openStore(root, {}, io);
  try {
    assert.equal(await store.appendMessage(message(0, { topic: 'Fresh', queueId: 3 })).settled, 'PUT_OK');
    for (const dir of ['commitlog', path.join('consumequeue', 'Fresh', '3'), path.join('consumequeue', 'Fresh'), 'consumequeue']) {
      assert.ok(synced.includes(dir), `${dir} fsynced (saw ${synced.join(', ')})`);
    }
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('recovery zeroes the whole invalid tail, so a stale record behind a torn one cannot come back', async () => {
  const root = tempRoot('tail-zero');
  const store = await openStore(root);
  const appended = await Promise.all(Array.from({ length: 3 }, async (_, i) => {
    const a = store.appendMessage(message(i));
    await a.settled;
    return a;
  }));
  await store.shutdown();
  const segment = path.join(root, 'commitlog', '00000000000000000000');
  const end = appended[2].physicalOffset + appended[2].sizeBytes;
  // Torn: the first 8 bytes after the end are zero, a stale copy of a record sits behind them.
  const fd = fs.openSync(segment, 'r+');
  const stale = Buffer.alloc(appended[0].sizeBytes);
  fs.readSync(fd, stale, 0, stale.length, 0);
  fs.writeSync(fd, stale, 0, stale.length, end + 4096);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(root, 'abort'), '');
  const reopened = await openStore(root);
  try {
    assert.equal(reopened.recoveryReport?.validEndOffset, end);
    const after = fs.readFileSync(segment).subarray(end);
    assert.ok(after.every((b) => b === 0), 'every byte after the valid end is zero');
    assert.ok(fs.readdirSync(path.join(root, 'recovery-trash')).length > 0, 'the stale bytes were kept in recovery-trash/');
  } finally {
    await reopened.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('position invariant wrote ≥ committed ≥ flushed throws a typed error', () => {
  const at = (wrotePosition: number, committedPosition: number, flushedPosition: number) =>
    ({ wrotePosition, committedPosition, flushedPosition, sizeBytes: 100, filePath: 'seg' }) as unknown as Segment;
  assertPositions(at(10, 10, 5));
  for (const bad of [at(10, 20, 0), at(10, 5, 6), at(200, 0, 0), at(10, 5, -1)]) {
    assert.throws(() => assertPositions(bad), (error: Error & { code?: string }) => error.code === 'STORE_INVARIANT');
  }
});
