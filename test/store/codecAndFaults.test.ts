// The record format byte for byte, round trips, and faults: oversize input, ENOSPC (injected
// and real), unusable store path, double open, read statuses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  checkRecord, decodeMessage, encodeMessage, encodeSocketAddress, javaStringHashCode, measureMessage, type MessageToStore, offsetMessageId, parseProperties,
  SysFlag,
} from '../../broker/store/messageCodec.js';
import { HOST, InstrumentedIo, message, openStore, tempRoot } from './storeHarness.js';

test('a known message encodes byte for byte as RocketMQ 4.x writes it', () => {
  const body = Buffer.from('hello');
  const properties = 'TAGS\u0001TagA\u0002KEYS\u0001k1';
  const m: MessageToStore = {
    topic: 'T1', queueId: 3, flag: 7, body, properties, sysFlag: 0, bornTimestamp: 0x0102030405, bornHost: encodeSocketAddress('10.0.0.2', 5555),
    storeHost: encodeSocketAddress('10.0.0.1', 10911), reconsumeTimes: 2, preparedTransactionOffset: 0,
  };
  const lengths = measureMessage(m);
  const out = Buffer.alloc(lengths.totalBytes);
  encodeMessage(out, 0, m, lengths, 42, 0x1_0000_0010, 0x0a0b0c0d0e);
  const expected = Buffer.concat([
    int32(91 + 5 + 2 + 17), int32(0xdaa320a7), int32(crc32(body) & 0x7fffffff), int32(3), int32(7),
    int64(42), int64(0x1_0000_0010), int32(0), int64(0x0102030405), Buffer.from([10, 0, 0, 2]), int32(5555),
    int64(0x0a0b0c0d0e), Buffer.from([10, 0, 0, 1]), int32(10911), int32(2), int64(0),
    int32(5), body, Buffer.from([2]), Buffer.from('T1'), Buffer.from([0, 17]), Buffer.from(properties),
  ]);
  assert.equal(lengths.totalBytes, 91 + 5 + 2 + 17, '91 bytes of fixed fields for IPv4 hosts');
  assert.ok(out.equals(expected), `\n${out.toString('hex')}\n${expected.toString('hex')}`);
  assert.equal(checkRecord(out, 0, out.length, true).kind, 'message');
  const flipped = Buffer.from(out);
  flipped[88] ^= 1; // the first body byte (84 bytes of fields + int32 body length)
  assert.deepEqual(checkRecord(flipped, 0, flipped.length, true), { kind: 'invalid', reason: 'body CRC mismatch' });
  const badMagic = Buffer.from(out);
  badMagic.writeInt32BE(1, 4);
  assert.equal(checkRecord(badMagic, 0, badMagic.length, true).kind, 'invalid');
  const badSize = Buffer.from(out);
  badSize.writeInt32BE(out.length + 4, 0);
  assert.equal(checkRecord(badSize, 0, badSize.length, true).kind, 'invalid');
});

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value | 0);
  return b;
}

function int64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(value));
  return b;
}

test('decode(encode(x)) = x for random messages, IPv4 and IPv6 hosts', () => {
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 1000; i++) {
    const v6 = random(2) === 1;
    const host = v6 ? encodeSocketAddress('fe80::1:2', 1 + random(60000)) : encodeSocketAddress(`10.${random(255)}.0.${random(255)}`, random(65535));
    const m: MessageToStore = {
      topic: 'topic-'.repeat(1 + random(20)).slice(0, 1 + random(127)), queueId: random(1024), flag: random(1000), body: Buffer.alloc(random(4096), random(256)),
      properties: random(2) ? '' : `UNIQ_KEY\u0001${random(1e9)}\u0002TAGS\u0001t${random(9)}`, sysFlag: v6 ? SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6 : 0,
      bornTimestamp: 1_700_000_000_000 + random(1e9), bornHost: host, storeHost: host, reconsumeTimes: random(16), preparedTransactionOffset: random(1e6),
    };
    const lengths = measureMessage(m);
    const out = Buffer.alloc(lengths.totalBytes + 3);
    const end = encodeMessage(out, 3, m, lengths, random(1e6), random(2 ** 40), 1_700_000_000_123);
    assert.equal(end, out.length);
    const back = decodeMessage(out, 3);
    for (const key of ['topic', 'queueId', 'flag', 'properties', 'sysFlag', 'bornTimestamp', 'reconsumeTimes', 'preparedTransactionOffset'] as const) {
      assert.equal(back[key], m[key], `${key} of message ${i}`);
    }
    assert.ok(back.body.equals(m.body) && back.bornHost.equals(m.bornHost) && back.storeHost.equals(m.storeHost));
    assert.equal(back.storeTimestamp, 1_700_000_000_123);
  }
});

test('properties, tag hash and msgId follow RocketMQ', () => {
  assert.deepEqual([...parseProperties('A\u0001x\u0002B\u0001y\u0002')], [['A', 'x'], ['B', 'y']], '≤ 4.9.2 trailing separator');
  assert.deepEqual([...parseProperties('A\u0001x\u0002B\u0001y')], [['A', 'x'], ['B', 'y']], '≥ 4.9.3 form');
  assert.equal(javaStringHashCode('TagA'), 2598919);
  assert.equal(javaStringHashCode(''), 0);
  assert.equal(javaStringHashCode('hello world'), 1794106052);
  assert.equal(offsetMessageId(encodeSocketAddress('127.0.0.1', 10911), 690), '7F00000100002A9F00000000000002B2');
});

test('bad input is refused and the store keeps working', async () => {
  const root = tempRoot('bad-input');
  const store = await openStore(root, { maxMessageSize: 1024 });
  try {
    const big = store.appendMessage(message(1, { body: Buffer.alloc(2048) }));
    assert.equal(big.status, 'MESSAGE_ILLEGAL');
    assert.match(big.reason ?? '', /maxMessageSize is 1024/);
    assert.equal(store.appendMessage(message(2, { topic: 'x'.repeat(128) })).status, 'MESSAGE_ILLEGAL');
    const ok = store.appendMessage(message(3));
    assert.equal(await ok.settled, 'PUT_OK');
    assert.equal(ok.queueOffset, 0, 'refused messages took no queue offset');
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('ENOSPC on write: the affected appends fail, offsets roll back, later appends work', async () => {
  const root = tempRoot('enospc');
  const io = new InstrumentedIo();
  const store = await openStore(root, {}, io);
  try {
    assert.equal(await store.appendMessage(message(0)).settled, 'PUT_OK');
    io.failWritesWith = 'ENOSPC';
    const failed = [store.appendMessage(message(2)), store.appendMessage(message(4))];
    assert.deepEqual(await Promise.all(failed.map((a) => a.settled)), ['IO_ERROR', 'IO_ERROR']);
    assert.match(store.stats().lastWriteError ?? '', /ENOSPC/);
    assert.equal(store.getMessages('T', 0, 0, 32).records.length, 1, 'the stored message is still readable');
    io.failWritesWith = null;
    const next = store.appendMessage(message(6));
    assert.equal(await next.settled, 'PUT_OK');
    assert.equal(next.queueOffset, 1, 'queue offsets of failed appends were given back');
    assert.equal(next.physicalOffset, failed[0].physicalOffset, 'the failed bytes are overwritten');
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('ENOSPC on a real, full file system (tmpfs of 1 MiB)', async (t) => {
  const mountPoint = tempRoot('tmpfs');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    fs.rmSync(mountPoint, { recursive: true, force: true });
    t.skip(`needs root and mount to create a small file system: ${(error as Error).message.split('\n')[0]}`);
    return;
  }
  try {
    const root = path.join(mountPoint, 'store');
    const filler = path.join(mountPoint, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(256 * 1024, 1)); // space to give back later
    const store = await openStore(root, { mappedFileSizeCommitLog: 4 * 1024 * 1024, flushDiskType: 'SYNC_FLUSH' });
    try {
      const statuses: string[] = [];
      for (let i = 0; i < 2000 && !statuses.includes('IO_ERROR'); i++) statuses.push(await store.appendMessage(message(i, { body: Buffer.alloc(2000) })).settled);
      assert.ok(statuses.includes('IO_ERROR'), 'the disk filled up');
      const stored = statuses.filter((s) => s === 'PUT_OK').length;
      assert.equal(store.getMaxOffsetInQueue('T', 0) + store.getMaxOffsetInQueue('T', 1), stored, 'exactly the acked messages are in the queues');
      fs.rmSync(filler); // space returns
      assert.equal(await store.appendMessage(message(9999, { body: Buffer.alloc(100) })).settled, 'PUT_OK', 'appends work again once space returns');
    } finally {
      await store.shutdown();
    }
  } finally {
    execFileSync('umount', ['-l', mountPoint]);
    fs.rmSync(mountPoint, { recursive: true, force: true });
  }
});

test('an unusable store path and a second open fail with clear errors', async () => {
  const root = tempRoot('paths');
  try {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, '');
    await assert.rejects(openStore(path.join(file, 'store')), (error: Error & { code?: string }) => error.code === 'STORE_PATH_UNUSABLE' && error.message.includes(file));
    const store = await openStore(path.join(root, 'ok'));
    try {
      await assert.rejects(openStore(path.join(root, 'ok')), (error: Error & { code?: string }) => error.code === 'STORE_LOCKED');
    } finally {
      await store.shutdown();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('getMessages statuses follow RocketMQ; tag filters; lookup by time', async () => {
  const root = tempRoot('get');
  const store = await openStore(root);
  try {
    assert.equal(store.getMessages('T', 0, 0, 32).status, 'NO_MATCHED_LOGIC_QUEUE');
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.appendMessage(message(i)).settled));
    const found = store.getMessages('T', 0, 0, 64);
    assert.equal(found.status, 'FOUND');
    assert.equal(found.records.length, 32, 'at most 32 messages per pull');
    assert.equal(found.nextBeginOffset, 32);
    assert.equal(store.getMessages('T', 0, 50, 32).status, 'OFFSET_OVERFLOW_ONE');
    assert.equal(store.getMessages('T', 0, 70, 32).status, 'OFFSET_OVERFLOW_BADLY');
    const none = store.getMessages('T', 0, 0, 32, (code) => code === javaStringHashCode('no-such-tag'));
    assert.equal(none.status, 'NO_MATCHED_MESSAGE');
    const tagged = store.getMessages('T', 0, 0, 32, (code) => code === javaStringHashCode('tag0'));
    assert.ok(tagged.records.every((r) => decodeMessage(r).properties.includes('TAGS\u0001tag0')));
    assert.equal(store.getOffsetInQueueByTime('T', 0, 0), 0);
    assert.equal(store.getOffsetInQueueByTime('T', 0, Date.now() + 60_000), 50);
    assert.equal(decodeMessage(found.records[0]).storeHost.equals(HOST), true);
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
