// The four flush × replication combinations of DESIGN.md's table: when does a put settle,
// and does the slave end up with a byte-identical CommitLog?
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PutStatus } from '../../broker/store/putStatus.js';
import { commitLogBytes, message, Pair } from './haHarness.js';
import { waitFor } from '../support/waitFor.js';
import { FLUSH_REPLICATION_COMBOS } from '../../broker/ha/flushReplicationCombos.js';

interface Settled {
  status: PutStatus;
  endOffset: number;
  slaveEndAtSettle: number;
  slaveAckAtSettle: number;
  fsyncCoveredAtSettle: boolean;
}

/** Appends `count` messages `concurrency` at a time and records what held when each settled. */
async function putAll(pair: Pair, count: number, concurrency: number, firstSeq: number): Promise<Settled[]> {
  const results: Settled[] = [];
  for (let done = 0; done < count; done += concurrency) {
    const round: Array<Promise<void>> = [];
    for (let i = done; i < Math.min(count, done + concurrency); i++) {
      const appended = pair.master.appendMessage(message('HaTopic', i % 4, 700 + (i % 7) * 13, firstSeq + i));
      assert.equal(appended.status, 'PUT_OK', appended.reason);
      const endOffset = appended.physicalOffset + appended.sizeBytes;
      round.push(appended.settled.then((status) => {
        const fd = pair.master.commitLog.findSegment(appended.physicalOffset)?.fd ?? -1;
        results.push({
          status,
          endOffset,
          slaveEndAtSettle: pair.slave.commitLog.maxCommittedOffset,
          slaveAckAtSettle: pair.haMaster.slaveAckOffset,
          fsyncCoveredAtSettle: pair.fsyncs.covered(fd, endOffset),
        });
      }));
    }
    await Promise.all(round);
  }
  return results;
}

function assertSameLog(pair: Pair): void {
  const from = pair.slave.commitLog.minOffset;
  const to = pair.master.commitLog.maxCommittedOffset;
  assert.equal(pair.slave.commitLog.maxCommittedOffset, to);
  assert.ok(commitLogBytes(pair.slave, from, to).equals(commitLogBytes(pair.master, from, to)), `CommitLog bytes [${from}, ${to}) differ`);
}

for (const combo of FLUSH_REPLICATION_COMBOS) {
  test(`${combo.name}: ${combo.masterFlush} ${combo.masterRole}, slave ${combo.slaveFlush}`, async () => {
    const syncMaster = combo.masterRole === 'SYNC_MASTER';
    const pair = await Pair.open({ ...combo, holdSlave: !syncMaster });
    try {
      if (syncMaster) await waitFor(() => pair.haMaster.haConnectionCount === 1, 'the slave to connect', 5000);
      const results = await putAll(pair, 400, 40, 0);
      assert.ok(pair.master.commitLog.segments.length >= 2, 'the run crosses a segment');
      for (const r of results) {
        assert.equal(r.status, 'PUT_OK');
        if (combo.masterFlush === 'SYNC_FLUSH') assert.ok(r.fsyncCoveredAtSettle, `put ending at ${r.endOffset} settled before an fdatasync covered it`);
        if (syncMaster) {
          assert.ok(r.slaveAckAtSettle >= r.endOffset, `put ending at ${r.endOffset} settled with slave ack ${r.slaveAckAtSettle}`);
          assert.ok(r.slaveEndAtSettle >= r.endOffset, `put ending at ${r.endOffset} settled with slave end ${r.slaveEndAtSettle}`);
        }
      }
      if (!syncMaster) {
        // The slave was held back, yet every put was acknowledged.
        assert.equal(pair.slave.commitLog.maxCommittedOffset, 0);
        assert.equal(pair.haMaster.slaveAckOffset, 0);
        pair.startSlave();
        await pair.caughtUp();
        // An empty slave starts at the master's last segment.
        assert.equal(pair.slave.commitLog.minOffset, pair.master.commitLog.segments.at(-1)?.fileFromOffset);
        const more = await putAll(pair, 100, 20, 400);
        assert.ok(more.every((r) => r.status === 'PUT_OK'));
      }
      await pair.caughtUp();
      assertSameLog(pair);
      if (combo.slaveFlush === 'SYNC_FLUSH') {
        await waitFor(() => pair.slave.commitLog.flushedOffset === pair.slave.commitLog.maxCommittedOffset, 'the SYNC_FLUSH slave to fsync', 5000);
      }
      assert.ok(pair.haMaster.haTransferredBytes >= pair.master.commitLog.maxCommittedOffset - pair.slave.commitLog.minOffset);
      if (syncMaster) assert.ok(pair.haMaster.replicationLatency.count > 0);
      const gauges = pair.haMaster.gauges();
      assert.equal(gauges.rocketmq_ha_connections, 1);
      assert.equal(gauges.rocketmq_ha_slave_ack_offset, pair.master.commitLog.maxCommittedOffset);
      assert.equal(gauges.rocketmq_ha_slave_fall_behind_bytes, 0);
      const status = pair.haSlave.status();
      assert.equal(status.connected, true);
      assert.equal(status.reportedOffset, pair.master.commitLog.maxCommittedOffset);
    } finally {
      await pair.close();
    }
  });
}
