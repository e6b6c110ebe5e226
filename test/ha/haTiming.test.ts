// RocketMQ 4.9.7's timing on the HA failure paths, with its real intervals: FLUSH_SLAVE_TIMEOUT
// 3–4 s after the send in once-a-second bursts (GroupTransferService), the SYNC_MASTER stall
// after a slave restart (first report after haSendHeartbeatInterval), and the ASYNC_MASTER
// replication lag (WriteSocketService polls every 100 ms). Each assertion fails on the
// previous behaviour (exact 3 s deadlines, immediate report, wake on every commit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupTransferService } from '../../broker/ha/groupTransfer.js';
import type { PutStatus } from '../../broker/store/putStatus.js';
import { message, Pair } from './haHarness.js';
import { waitFor } from '../support/waitFor.js';

const REAL_WAIT = { transferWaitMs: 1000 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Timed { status: PutStatus; sentMs: number; answeredMs: number }

function put(pair: Pair, seq: number): Promise<Timed> {
  const sentMs = performance.now();
  const appended = pair.master.appendMessage(message('TimingTopic', 0, 200, seq));
  assert.equal(appended.status, 'PUT_OK');
  return appended.settled.then((status) => ({ status, sentMs, answeredMs: performance.now() }));
}

/** Groups answer times into bursts: a gap of more than 100 ms starts a new one. */
function bursts(times: number[]): number[][] {
  const sorted = [...times].sort((a, b) => a - b);
  const out: number[][] = [];
  for (const t of sorted) {
    const last = out.at(-1);
    if (last && t - (last.at(-1) as number) <= 100) last.push(t);
    else out.push([t]);
  }
  return out;
}

test('silent but connected slave: FLUSH_SLAVE_TIMEOUT 3–4 s after the send, in bursts a second apart', async () => {
  const pair = await Pair.open({
    masterFlush: 'ASYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'ASYNC_FLUSH', proxy: true,
    master: { slaveAckTimeoutMs: 3000, ...REAL_WAIT },
  });
  try {
    await waitFor(() => pair.haMaster.slaveAckOffset >= 0 && pair.haMaster.connectionsStatus().some((c) => c.slaveRequestOffset >= 0), 'the slave to report', 5000);
    assert.equal((await put(pair, 0)).status, 'PUT_OK');
    pair.proxy?.pause(); // like SIGSTOP: the TCP connection stays, nothing is read or acked
    const pending: Array<Promise<Timed>> = [];
    for (let i = 1; i <= 60; i++) {
      pending.push(put(pair, i));
      await sleep(25); // 1.5 s of sends
    }
    const results = await Promise.all(pending);
    assert.ok(results.every((r) => r.status === 'FLUSH_SLAVE_TIMEOUT'), results.map((r) => r.status).join());
    const delays = results.map((r) => r.answeredMs - r.sentMs);
    for (const delayMs of delays) assert.ok(delayMs >= 2995 && delayMs < 4300, `timed out ${Math.round(delayMs)} ms after the send`);
    assert.ok(Math.max(...delays) - Math.min(...delays) > 500, 'the delays spread over the 1 s check period, not all exactly 3 s');
    const groups = bursts(results.map((r) => r.answeredMs));
    assert.ok(groups.length <= 3, `answers came in ${groups.length} bursts; RocketMQ's 1 s wait gives at most 3 for 1.5 s of sends`);
    for (let i = 1; i < groups.length; i++) assert.ok(groups[i][0] - (groups[i - 1].at(-1) as number) > 800, 'bursts are about a second apart');
  } finally {
    pair.proxy?.resume();
    await pair.close();
  }
});

test('GroupTransferService before 4.9.3 (serial-turn): each request waits its own syncFlushTimeout once its turn comes', async () => {
  const transfer = new GroupTransferService(100, 'serial-turn', 20);
  const started = performance.now();
  const times = await Promise.all([10, 20, 30].map((end) => transfer.waitForSlave(end).then((status) => ({ status, ms: performance.now() - started }))));
  assert.deepEqual(times.map((t) => t.status), ['FLUSH_SLAVE_TIMEOUT', 'FLUSH_SLAVE_TIMEOUT', 'FLUSH_SLAVE_TIMEOUT']);
  // One after another: ~100, ~200, ~300 ms (4.9.0 HAService.doWaitTransfer's waitUntilWhen per request).
  assert.ok(times[0].ms >= 99 && times[0].ms < 180, `first at ${times[0].ms}`);
  assert.ok(times[1].ms >= times[0].ms + 99 && times[2].ms >= times[1].ms + 99, times.map((t) => Math.round(t.ms)).join());
});

test('slave restart under SYNC_MASTER: sends stall until the new slave reports (haSendHeartbeatInterval), then PUT_OK again', async () => {
  const heartbeatMs = 1000;
  const pair = await Pair.open({
    masterFlush: 'ASYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'ASYNC_FLUSH',
    master: { slaveAckTimeoutMs: 3000, ...REAL_WAIT }, slave: { haSendHeartbeatInterval: heartbeatMs },
  });
  try {
    await waitFor(() => pair.haMaster.connectionsStatus().some((c) => c.slaveRequestOffset >= 0), 'the slave to report', 5000);
    assert.equal((await put(pair, 0)).status, 'PUT_OK');
    await pair.haSlave.close();
    await waitFor(() => pair.haMaster.haConnectionCount === 0, 'the master to see the slave go', 5000);
    pair.haSlave = pair.newSlave();
    pair.startSlave();
    await waitFor(() => pair.haMaster.haConnectionCount === 1, 'the new slave to connect', 5000);
    const connectedMs = performance.now();
    const first = await put(pair, 1); // connected, not yet reported: waits
    const firstOkMs = first.answeredMs;
    assert.equal(first.status, 'PUT_OK');
    const stallMs = firstOkMs - connectedMs;
    assert.ok(stallMs >= heartbeatMs - 50, `a put right after the reconnect was acked after ${Math.round(stallMs)} ms; the new slave reports only after ${heartbeatMs} ms`);
    assert.ok(stallMs < heartbeatMs + 1500, `stall ${Math.round(stallMs)} ms`);
    const after = await Promise.all([2, 3, 4].map((seq) => put(pair, seq)));
    assert.ok(after.every((r) => r.status === 'PUT_OK' && r.answeredMs - r.sentMs < 500), 'acks flow again');
  } finally {
    await pair.close();
  }
});

test('ASYNC_MASTER replication lag: the master polls every 100 ms, so lag is 0–100 ms plus transfer time', async () => {
  const pair = await Pair.open({ masterFlush: 'ASYNC_FLUSH', masterRole: 'ASYNC_MASTER', slaveFlush: 'ASYNC_FLUSH' });
  const samples: Array<[number, number]> = [];
  const sampler = setInterval(() => samples.push([performance.now(), pair.haMaster.slaveAckOffset]), 1);
  try {
    await waitFor(() => pair.haMaster.connectionsStatus().some((c) => c.slaveRequestOffset >= 0), 'the slave to report', 5000);
    const commits: Array<[number, number]> = [];
    for (let i = 0; i < 60; i++) {
      const appended = pair.master.appendMessage(message('LagTopic', 0, 200, i));
      await appended.settled;
      commits.push([performance.now(), appended.physicalOffset + appended.sizeBytes]);
      await sleep(17 + (i % 7)); // ~50 msgs/s, not in step with the 100 ms poll
    }
    await pair.caughtUp();
    clearInterval(sampler);
    const lags = commits.map(([atMs, end]) => {
      const seen = samples.find(([sampleMs, ack]) => sampleMs >= atMs && ack >= end);
      return seen ? seen[0] - atMs : Number.POSITIVE_INFINITY;
    }).sort((a, b) => a - b);
    const p50 = lags[Math.floor(lags.length / 2)];
    const p90 = lags[Math.floor(lags.length * 0.9)];
    assert.ok(p90 < 200, `p90 lag ${Math.round(p90)} ms; 100 ms poll + transfer (+ scheduling on a loaded shared host)`);
    assert.ok(p50 > 10, `median lag ${p50.toFixed(1)} ms: the write side must wait for its 100 ms poll, not wake on every commit`);
  } finally {
    clearInterval(sampler);
    await pair.close();
  }
});
