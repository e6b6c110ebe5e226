// SYNC_MASTER when the slave misbehaves: hung (FLUSH_SLAVE_TIMEOUT at the deadline), gone
// (SLAVE_NOT_AVAILABLE at once), too far behind (SLAVE_NOT_AVAILABLE at once) — and it
// catches up byte for byte once it is back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PutStatus } from '../../broker/store/putStatus.js';
import { commitLogBytes, message, Pair } from './haHarness.js';
import { waitFor } from '../support/waitFor.js';

const SLAVE_ACK_TIMEOUT_MS = 300;
/** Allowed lateness of a timeout answer (timer granularity, busy CI machines). */
const DEADLINE_SLACK_MS = 250;

interface Timed {
  status: PutStatus;
  elapsedMs: number;
  slaveOkAtAppend: boolean;
}

function putTimed(pair: Pair, seq: number): Promise<Timed> {
  const startedMs = performance.now();
  const msg = message('FailTopic', seq % 2, 600, seq);
  const appended = pair.master.appendMessage(msg);
  assert.equal(appended.status, 'PUT_OK');
  const slaveOkAtAppend = pair.haMaster.isSlaveOk(appended.physicalOffset + appended.sizeBytes);
  return appended.settled.then((status) => ({ status, elapsedMs: performance.now() - startedMs, slaveOkAtAppend }));
}

async function putSequential(pair: Pair, count: number, firstSeq: number): Promise<Timed[]> {
  const out: Timed[] = [];
  for (let i = 0; i < count; i++) out.push(await putTimed(pair, firstSeq + i));
  return out;
}

function assertSameLog(pair: Pair): void {
  const from = pair.slave.commitLog.minOffset;
  const to = pair.master.commitLog.maxCommittedOffset;
  assert.ok(commitLogBytes(pair.slave, from, to).equals(commitLogBytes(pair.master, from, to)), 'slave CommitLog is a byte-identical copy');
}

test('SYNC_MASTER, slave hung: FLUSH_SLAVE_TIMEOUT at the deadline, then catch-up and PUT_OK again', async () => {
  const pair = await Pair.open({
    masterFlush: 'ASYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'ASYNC_FLUSH', proxy: true,
    master: { slaveAckTimeoutMs: SLAVE_ACK_TIMEOUT_MS },
  });
  try {
    await waitFor(() => pair.haMaster.haConnectionCount === 1, 'the slave to connect', 5000);
    assert.ok((await putSequential(pair, 20, 0)).every((r) => r.status === 'PUT_OK'));
    pair.proxy?.pause();
    // 300 KiB while hung: crosses a segment and fills the socket buffers (backpressure path).
    const hung = await Promise.all(Array.from({ length: 500 }, (_, i) => putTimed(pair, 100 + i)));
    for (const r of hung) {
      assert.ok(r.status === 'FLUSH_SLAVE_TIMEOUT' || r.status === 'PUT_OK', r.status);
      if (r.status === 'FLUSH_SLAVE_TIMEOUT') {
        assert.ok(r.elapsedMs >= SLAVE_ACK_TIMEOUT_MS - 5 && r.elapsedMs <= SLAVE_ACK_TIMEOUT_MS + DEADLINE_SLACK_MS, `timed out after ${r.elapsedMs} ms`);
      }
    }
    assert.ok(hung.filter((r) => r.status === 'FLUSH_SLAVE_TIMEOUT').length >= 490, 'nearly all puts while hung time out');
    assert.equal(pair.haMaster.waitingForSlave, 0);
    assert.ok(pair.haMaster.slaveAckTimeouts >= 490);
    assert.ok(pair.haMaster.slaveFallBehindBytes > 256 * 1024);
    pair.proxy?.resume();
    await pair.caughtUp();
    assertSameLog(pair);
    assert.ok((await putSequential(pair, 20, 1000)).every((r) => r.status === 'PUT_OK'));
  } finally {
    await pair.close();
  }
});

test('SYNC_MASTER, slave closed: SLAVE_NOT_AVAILABLE at once; a new HASlave resumes and catches up', async () => {
  const pair = await Pair.open({
    masterFlush: 'SYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'SYNC_FLUSH', master: { slaveAckTimeoutMs: SLAVE_ACK_TIMEOUT_MS },
  });
  try {
    await waitFor(() => pair.haMaster.haConnectionCount === 1, 'the slave to connect', 5000);
    assert.ok((await putSequential(pair, 20, 0)).every((r) => r.status === 'PUT_OK'));
    // Puts in flight when the slave goes away still settle (at the deadline at the latest).
    const inFlight = Array.from({ length: 30 }, (_, i) => putTimed(pair, 50 + i));
    await pair.haSlave.close();
    await waitFor(() => pair.haMaster.haConnectionCount === 0, 'the master to notice the slave left', 5000);
    for (const r of await Promise.all(inFlight)) {
      assert.ok(r.elapsedMs <= SLAVE_ACK_TIMEOUT_MS + DEADLINE_SLACK_MS, `in-flight put settled after ${r.elapsedMs} ms`);
    }
    const gone = await putSequential(pair, 200, 100);
    for (const r of gone) {
      assert.equal(r.status, 'SLAVE_NOT_AVAILABLE');
      assert.ok(r.elapsedMs < SLAVE_ACK_TIMEOUT_MS / 2, `SLAVE_NOT_AVAILABLE took ${r.elapsedMs} ms`);
    }
    const slaveEndBefore = pair.slave.commitLog.maxCommittedOffset;
    pair.haSlave = pair.newSlave();
    pair.startSlave();
    await pair.caughtUp();
    assert.equal(pair.haMaster.connectionsStatus()[0].slaveRequestOffset, slaveEndBefore, 'resumed from its own end');
    assertSameLog(pair);
    assert.ok((await putSequential(pair, 20, 1000)).every((r) => r.status === 'PUT_OK'));
  } finally {
    await pair.close();
  }
});

test('SYNC_MASTER, slave further behind than haSlaveFallbehindMax: SLAVE_NOT_AVAILABLE at once', async () => {
  const fallBehindMaxBytes = 1024;
  const pair = await Pair.open({
    masterFlush: 'ASYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'ASYNC_FLUSH', proxy: true,
    master: { slaveAckTimeoutMs: SLAVE_ACK_TIMEOUT_MS, haSlaveFallbehindMax: fallBehindMaxBytes },
  });
  try {
    await waitFor(() => pair.haMaster.haConnectionCount === 1, 'the slave to connect', 5000);
    // One at a time the slave is never a whole KiB behind.
    assert.ok((await putSequential(pair, 10, 0)).every((r) => r.status === 'PUT_OK'));
    pair.proxy?.pause();
    const paused = await Promise.all(Array.from({ length: 20 }, (_, i) => putTimed(pair, 100 + i)));
    const refused = paused.filter((r) => !r.slaveOkAtAppend);
    assert.ok(refused.length >= 18, `${refused.length} of 20 puts were beyond haSlaveFallbehindMax`);
    for (const r of refused) {
      assert.equal(r.status, 'SLAVE_NOT_AVAILABLE');
      assert.ok(r.elapsedMs < 100, `SLAVE_NOT_AVAILABLE took ${r.elapsedMs} ms`);
    }
    for (const r of paused.filter((p) => p.slaveOkAtAppend)) assert.ok(r.status === 'FLUSH_SLAVE_TIMEOUT' || r.status === 'PUT_OK');
    pair.proxy?.resume();
    await pair.caughtUp();
    assert.ok((await putSequential(pair, 5, 1000)).every((r) => r.status === 'PUT_OK'));
  } finally {
    await pair.close();
  }
});

test('a hung slave does not make the master buffer without bound (socket backpressure)', async () => {
  const pair = await Pair.open({
    masterFlush: 'ASYNC_FLUSH', masterRole: 'ASYNC_MASTER', slaveFlush: 'ASYNC_FLUSH', proxy: true, store: { mappedFileSizeCommitLog: 4 * 1024 * 1024 },
  });
  try {
    await waitFor(() => pair.haMaster.connectionsStatus()[0]?.nextTransferOffset === 0, 'the slave to connect', 5000);
    pair.proxy?.pause();
    const body = 4096;
    for (let done = 0; done < 6000; done += 200) {
      const puts = Array.from({ length: 200 }, (_, i) => pair.master.putMessage(message('BigTopic', 0, body, done + i)));
      for (const put of await Promise.all(puts)) assert.equal(put.status, 'PUT_OK'); // ASYNC_MASTER does not wait
    }
    const masterEnd = pair.master.commitLog.maxCommittedOffset;
    assert.ok(masterEnd > 24 * 1024 * 1024);
    await waitFor(() => pair.haMaster.connectionsStatus()[0].waitingForDrain, 'the master to wait for the hung slave', 10_000);
    const stalled = pair.haMaster.connectionsStatus()[0];
    assert.ok(stalled.socketBufferedBytes <= 512 * 1024, `master holds ${stalled.socketBufferedBytes} bytes for the slave`);
    assert.ok(stalled.nextTransferOffset < masterEnd - 8 * 1024 * 1024, `master sent up to ${stalled.nextTransferOffset} of ${masterEnd}`);
    pair.proxy?.resume();
    await pair.caughtUp(20_000);
    const to = pair.master.commitLog.maxCommittedOffset;
    assert.ok(commitLogBytes(pair.slave, 0, to).equals(commitLogBytes(pair.master, 0, to)));
  } finally {
    await pair.close();
  }
});

test('heartbeats keep an idle connection alive; silence longer than haHousekeepingInterval drops it on both sides', async () => {
  const intervals = { haSendHeartbeatInterval: 100, haHousekeepingInterval: 400 };
  const pair = await Pair.open({
    masterFlush: 'ASYNC_FLUSH', masterRole: 'ASYNC_MASTER', slaveFlush: 'ASYNC_FLUSH', proxy: true, master: intervals,
    slave: { ...intervals, reconnectMinMs: 1000, reconnectMaxMs: 1000 }, // no reconnect while the counts are checked
  });
  try {
    await waitFor(() => pair.haMaster.haConnectionCount === 1 && pair.haSlave.status().connected, 'the slave to connect', 5000);
    assert.equal((await pair.master.putMessage(message('IdleTopic', 0, 100, 0))).status, 'PUT_OK');
    await pair.caughtUp();
    // Idle for three housekeeping intervals: heartbeats (both ways) keep the one connection.
    await new Promise((resolve) => setTimeout(resolve, 3 * intervals.haHousekeepingInterval));
    assert.equal(pair.haSlave.status().connects, 1);
    assert.equal(pair.haMaster.haConnectionCount, 1);
    pair.proxy?.pause();
    await waitFor(() => pair.haMaster.haConnectionCount === 0, 'the master to drop the silent slave', 3000);
    await waitFor(() => !pair.haSlave.status().connected, 'the slave to drop the silent master', 3000);
    assert.match(pair.haSlave.status().lastError ?? '', /nothing read from the master/);
    pair.proxy?.resume();
    await waitFor(() => pair.haMaster.haConnectionCount === 1, 'the slave to reconnect', 5000);
    assert.equal((await pair.master.putMessage(message('IdleTopic', 0, 100, 1))).status, 'PUT_OK');
    await pair.caughtUp();
  } finally {
    await pair.close();
  }
});
