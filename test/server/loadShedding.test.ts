// Load shedding as RocketMQ 4.9.7 does it, over the wire: SYSTEM_BUSY (2) with
// [TIMEOUT_CLEAN_QUEUE] for sends that waited ≥ waitTimeMillsInSendQueue behind a slow
// CommitLog write, [REJECTREQUEST] once that write has run longer than
// osPageCacheBusyTimeOutMills or while no transient pool buffer is free; rejected sends are
// not stored. Plus rocketmqVersion's defaults. A slow disk is injected through FileIo.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import type { RemotingCommand } from '../../protocol/remotingCommand.js';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';
import { type FileIo, nodeFileIo } from '../../broker/store/fileIo.js';
import { sendV2, startTestBroker } from './brokerHarness.js';
import { scratchDir } from '../support/scratch.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A disk whose writes can be made slow (sync: blocks the loop briefly; async: waits) or held. */
function slowDisk() {
  const state = { syncDelayMs: 0, asyncDelayMs: 0, hold: null as Promise<void> | null };
  const blocker = new Int32Array(new SharedArrayBuffer(4));
  const io: FileIo = {
    ...nodeFileIo,
    writeSync(fd, buffer, offset, length, position) {
      if (state.syncDelayMs > 0) Atomics.wait(blocker, 0, 0, state.syncDelayMs);
      return nodeFileIo.writeSync(fd, buffer, offset, length, position);
    },
    async write(fd, buffer, offset, length, position) {
      if (state.hold) await state.hold;
      if (state.asyncDelayMs > 0) await sleep(state.asyncDelayMs);
      return nodeFileIo.write(fd, buffer, offset, length, position);
    },
  };
  return { state, io };
}

function send(client: RemotingClient, seq: number, bodyBytes = 100): Promise<RemotingCommand> {
  return client.invoke(sendV2({ topic: 'ShedTopic', body: Buffer.alloc(bodyBytes, seq % 256) }), 10_000);
}

test('a slow CommitLog write: queued sends answer SYSTEM_BUSY [TIMEOUT_CLEAN_QUEUE] after 200 ms, then [REJECTREQUEST] once the write passed osPageCacheBusyTimeOutMills', async () => {
  const disk = slowDisk();
  const broker = await startTestBroker({}, scratchDir('shed'), { fileIo: disk.io });
  const client = new RemotingClient(broker.address);
  try {
    assert.equal((await send(client, 0)).code, ResponseCode.SUCCESS);
    disk.state.syncDelayMs = 30; // one slow page-cache write: later writes leave the event loop
    assert.equal((await send(client, 1)).code, ResponseCode.SUCCESS);
    disk.state.syncDelayMs = 0;
    disk.state.asyncDelayMs = 1600;
    const slow = send(client, 2); // its write now takes 1.6 s
    await sleep(20);
    const queued = Array.from({ length: 20 }, (_, i) => send(client, 10 + i));
    await sleep(1200); // the write in flight passed osPageCacheBusyTimeOutMills (1000)
    const late = await send(client, 50);
    const early = await Promise.all(queued);
    assert.equal((await slow).code, ResponseCode.SUCCESS);
    for (const response of early) {
      assert.equal(response.code, ResponseCode.SYSTEM_BUSY, response.remark ?? '');
      assert.match(response.remark ?? '', /^\[TIMEOUT_CLEAN_QUEUE\]broker busy, start flow control for a while, period in queue: (\d+)ms, size of queue: \d+$/);
      const waitedMs = Number(/period in queue: (\d+)ms/.exec(response.remark ?? '')?.[1]);
      assert.ok(waitedMs >= 200 && waitedMs < 400, `answered after ${waitedMs} ms in the queue`);
    }
    assert.equal(late.code, ResponseCode.SYSTEM_BUSY);
    assert.equal(late.remark, '[REJECTREQUEST]system busy, start flow control for a while');
    disk.state.asyncDelayMs = 0;
    await sleep(1100); // back to synchronous writes
    assert.equal((await send(client, 60)).code, ResponseCode.SUCCESS);
    assert.equal(broker.broker.store.commitLog.metrics.messagesAppended, 4, 'only the four answered SUCCESS were stored');
  } finally {
    disk.state.asyncDelayMs = 0;
    client.close();
    await broker.stop();
    fs.rmSync(broker.storeDir, { recursive: true, force: true });
  }
});

test('transient store pool with no free buffer: sends answer SYSTEM_BUSY [REJECTREQUEST] until a buffer is back', async () => {
  const disk = slowDisk();
  let release!: () => void;
  disk.state.hold = new Promise((resolve) => (release = resolve)); // the commit service cannot write: buffers stay in use
  const broker = await startTestBroker({
    transientStorePoolEnable: 'true', transientStorePoolSize: '2', mappedFileSizeCommitLog: '65536', maxMessageSize: '4096',
  }, scratchDir('pool'), { fileIo: disk.io });
  const client = new RemotingClient(broker.address);
  try {
    assert.equal(broker.broker.store.transientStorePoolAvailable, 2, 'every buffer exists from the start');
    let ok = 0;
    let busy: RemotingCommand | null = null;
    for (let seq = 0; seq < 200 && !busy; seq++) {
      const response = await send(client, seq, 1000);
      if (response.code === ResponseCode.SUCCESS) ok++;
      else busy = response;
    }
    assert.ok(busy, 'the pool ran out within 200 sends of 1 KiB into 64 KiB segments');
    assert.equal(busy.code, ResponseCode.SYSTEM_BUSY);
    assert.equal(busy.remark, '[REJECTREQUEST]system busy, start flow control for a while');
    assert.ok(ok > 40 && ok < 140, `${ok} sends fit in the pool's segments (deficient once the last buffer is lent)`);
    assert.equal(broker.broker.store.isTransientStorePoolDeficient(), true);
    disk.state.hold = null;
    release();
    const deadline = Date.now() + 5000;
    let after = await send(client, 1000, 1000);
    while (after.code !== ResponseCode.SUCCESS && Date.now() < deadline) {
      await sleep(50);
      after = await send(client, 1000, 1000);
    }
    assert.equal(after.code, ResponseCode.SUCCESS, 'accepted again once the commit returned a buffer');
  } finally {
    disk.state.hold = null;
    release();
    client.close();
    await broker.stop();
    fs.rmSync(broker.storeDir, { recursive: true, force: true });
  }
});

test('rocketmqVersion selects that release\'s defaults; explicit keys win; the version is in the effective settings', () => {
  const base = { storePathRootDir: scratchDir('version'), brokerName: 'b' };
  const modern = brokerConfigFrom(base, {});
  assert.equal(modern.rocketmqVersion, '4.9.7');
  assert.equal(modern.store.flushCommitLogTimed, true);
  assert.equal(modern.slaveAckDeadlineMs, 3000);
  assert.equal(modern.slaveAckRule, 'deadline-grid');
  assert.equal(modern.effectiveSettings().rocketmqVersion, '4.9.7');
  assert.equal(modern.waitTimeMillsInSendQueue, 200);
  assert.equal(modern.store.osPageCacheBusyTimeOutMills, 1000);
  const v490 = brokerConfigFrom({ ...base, rocketmqVersion: '4.9.0' }, {});
  assert.equal(v490.store.flushCommitLogTimed, false, '≤ 4.9.0: every put wakes the async flush');
  assert.equal(v490.slaveAckDeadlineSource, 'syncFlushTimeout');
  assert.equal(v490.slaveAckDeadlineMs, 5000);
  assert.equal(v490.slaveAckRule, 'serial-turn');
  assert.equal(v490.sendMessageThreadPoolNums, 1);
  const v451 = brokerConfigFrom({ ...base, rocketmqVersion: '4.5.1', mapedFileSizeCommitLog: '1048576' }, {});
  assert.equal(v451.rocketmqVersionCompat, 'legacy');
  assert.equal(v451.store.mappedFileSizeCommitLog, 1048576, '4.5.1 reads the old spelling');
  assert.equal(v451.slaveAckRule, 'put-thread');
  assert.equal(brokerConfigFrom({ ...base, rocketmqVersion: '4.9.2' }, {}).store.flushCommitLogTimed, true);
  assert.equal(brokerConfigFrom({ ...base, rocketmqVersion: '4.9.3' }, {}).slaveAckDeadlineMs, 3000);
  assert.equal(brokerConfigFrom({ ...base, rocketmqVersion: '4.9.0', flushCommitLogTimed: 'true' }, {}).store.flushCommitLogTimed, true);
  assert.throws(() => brokerConfigFrom({ ...base, rocketmqVersion: '5.1.0' }, {}), /rocketmqVersion=5\.1\.0 is not known/);
  for (const key of ['waitTimeMillsInSendQueue', 'osPageCacheBusyTimeOutMills', 'brokerFastFailureEnable']) {
    const config = brokerConfigFrom({ ...base, [key]: key === 'brokerFastFailureEnable' ? 'false' : '50' }, {});
    assert.ok(!config.warnings.some((w) => w.includes(key)), `${key} is read, not ignored`);
  }
});
