// Wire-level pieces: frame parser under random splits, the master's ack reader, the
// GroupTransferService FIFO, and HAMaster start-up errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { HAMaster } from '../../broker/ha/haMaster.js';
import { MessageStore } from '../../broker/store/messageStore.js';
import { GroupTransferService } from '../../broker/ha/groupTransfer.js';
import { encodeAck, encodeFrameHeader, HAFrameParser, readOffset, SlaveAckReader } from '../../broker/ha/haProtocol.js';
import { message, storeConfig } from './haHarness.js';
import { scratchDir } from '../support/scratch.js';
import { seededRandom } from '../../broker/seededRandom.js';

test('frame header and ack are big-endian int64/int32 exactly as RocketMQ writes them', () => {
  assert.equal(encodeFrameHeader(0x0102030405, 0x0a0b).toString('hex'), '0000000102030405' + '00000a0b');
  assert.equal(encodeAck(2 ** 40 + 7).toString('hex'), '0000010000000007');
  assert.equal(readOffset(encodeAck(Number.MAX_SAFE_INTEGER), 0), Number.MAX_SAFE_INTEGER);
  assert.throws(() => readOffset(Buffer.from('ffffffffffffffff', 'hex'), 0), /negative or beyond/);
});

test('frame parser reproduces the same frames and bytes under random splits of a valid stream', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rand = seededRandom(seed);
    const frames: Array<{ phyOffset: number; data: Buffer }> = [];
    let offset = Math.floor(rand() * 2 ** 40);
    for (let i = 0; i < 60; i++) {
      const heartbeat = rand() < 0.15;
      const size = heartbeat ? 0 : 1 + Math.floor(rand() * (rand() < 0.2 ? 40_000 : 300));
      const data = Buffer.alloc(size);
      for (let j = 0; j < size; j++) data[j] = Math.floor(rand() * 256);
      frames.push({ phyOffset: offset, data });
      offset += size;
    }
    const stream = Buffer.concat(frames.flatMap((f) => [encodeFrameHeader(f.phyOffset, f.data.length), f.data]));
    const parser = new HAFrameParser();
    const parsed: Array<{ phyOffset: number; data: Buffer }> = [];
    for (let at = 0; at < stream.length;) {
      const kind = rand();
      const length = kind < 0.3 ? 1 + Math.floor(rand() * 13) : kind < 0.9 ? 1 + Math.floor(rand() * 2000) : 1 + Math.floor(rand() * 70_000);
      parser.push(stream.subarray(at, at + length));
      at += length;
      for (let frame = parser.next(); frame; frame = parser.next()) parsed.push({ phyOffset: frame.phyOffset, data: Buffer.from(frame.data) });
    }
    assert.equal(parser.bufferedBytes, 0, `seed ${seed}: nothing left over`);
    assert.equal(parsed.length, frames.length, `seed ${seed}: frame count`);
    parsed.forEach((frame, i) => {
      assert.equal(frame.phyOffset, frames[i].phyOffset, `seed ${seed} frame ${i} offset`);
      assert.ok(frame.data.equals(frames[i].data), `seed ${seed} frame ${i} bytes`);
    });
  }
});

test('frame parser rejects a negative or oversized body length', () => {
  const parser = new HAFrameParser(1024);
  const header = encodeFrameHeader(0, 0);
  header.writeInt32BE(-5, 8);
  parser.push(header);
  assert.throws(() => parser.next(), /expected 0\.\.1024/);
  const big = new HAFrameParser(1024);
  big.push(encodeFrameHeader(0, 4096));
  assert.throws(() => big.next(), /4096 bytes/);
});

test('ack reader uses the last complete 8-byte value and carries partial bytes', () => {
  const reader = new SlaveAckReader();
  const stream = Buffer.concat([encodeAck(100), encodeAck(200), encodeAck(300)]);
  assert.equal(reader.push(stream.subarray(0, 5)), null);
  assert.equal(reader.push(stream.subarray(5, 19)), 200); // completes 100 and 200, 3 bytes of 300 pending
  assert.equal(reader.push(stream.subarray(19, 23)), null);
  assert.equal(reader.push(stream.subarray(23, 24)), 300);
  for (let seed = 1; seed <= 20; seed++) {
    const rand = seededRandom(seed);
    const values = Array.from({ length: 50 }, (_, i) => i * 1000 + Math.floor(rand() * 999));
    const bytes = Buffer.concat(values.map(encodeAck));
    const fresh = new SlaveAckReader();
    let last: number | null = null;
    for (let at = 0; at < bytes.length;) {
      const length = 1 + Math.floor(rand() * 20);
      const value = fresh.push(bytes.subarray(at, at + length));
      at += length;
      if (value !== null) {
        const complete = Math.floor(Math.min(at, bytes.length) / 8);
        assert.equal(value, values[complete - 1], `seed ${seed}: value after ${at} bytes`);
        last = value;
      }
    }
    assert.equal(last, values.at(-1));
  }
});

test('group transfer settles the acked prefix in order and times out the rest at the deadline', async () => {
  const transfer = new GroupTransferService(80, 'deadline-grid', 20);
  const settled: Array<[number, string, number]> = [];
  const started = performance.now();
  const track = (end: number): Promise<void> => transfer.waitForSlave(end).then((status) => void settled.push([end, status, performance.now() - started]));
  const all = [100, 200, 300, 400].map(track);
  transfer.onAck(250);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(settled.map(([end, status]) => [end, status]), [[100, 'PUT_OK'], [200, 'PUT_OK']]);
  assert.equal(transfer.waiting, 2);
  transfer.onAck(150); // acks never go backwards
  assert.equal(transfer.push2SlaveMaxOffset, 250);
  await Promise.all(all);
  assert.deepEqual(settled.slice(2).map(([end, status]) => [end, status]), [[300, 'FLUSH_SLAVE_TIMEOUT'], [400, 'FLUSH_SLAVE_TIMEOUT']]);
  for (const [, , elapsedMs] of settled.slice(2)) assert.ok(elapsedMs >= 79 && elapsedMs < 400, `timed out after ${elapsedMs} ms`);
  assert.equal(await transfer.waitForSlave(250), 'PUT_OK', 'already acked: at once');
  assert.equal(transfer.timeouts, 2);
  assert.equal(transfer.replicationLatency.count, 3);
  const pending = transfer.waitForSlave(1000);
  transfer.close();
  assert.equal(await pending, 'FLUSH_SLAVE_TIMEOUT');
});

test('HAMaster.start() on a port in use fails with HA_LISTEN_FAILED and leaves the store without a gate', async () => {
  const dir = scratchDir('ha-listen');
  const store = await MessageStore.open(storeConfig(dir, 'SYNC_MASTER', 'ASYNC_FLUSH'));
  const first = new HAMaster(store, { haListenPort: 0 });
  try {
    const port = await first.start();
    await first.close();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const second = new HAMaster(store, { haListenPort: port });
    await assert.rejects(second.start(), (error: unknown) => error instanceof FlushbenchError && error.code === 'HA_LISTEN_FAILED');
    await second.close();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    assert.equal((await store.putMessage(message('T', 0, 10, 0))).status, 'SLAVE_NOT_AVAILABLE');
  } finally {
    await store.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
