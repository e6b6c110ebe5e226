// The slave builds its ConsumeQueues from the replicated CommitLog: pulls on the slave return
// exactly what the master returns, also when HA frames cut records in the middle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageStore } from '../../broker/store/messageStore.js';
import { javaStringHashCode } from '../../broker/store/messageCodec.js';
import { message, Pair } from './haHarness.js';
import { waitFor } from '../support/waitFor.js';

const TOPICS = ['OrdersTopic', 'Audit', 'BenchmarkTest'];
const QUEUES = 4;

/** Every record of a queue, pulled 32 at a time like a consumer; optionally with a tag filter. */
function pullAll(store: MessageStore, topic: string, queueId: number, accepts?: (tagsCode: number) => boolean): Buffer[] {
  const records: Buffer[] = [];
  let offset = store.getMinOffsetInQueue(topic, queueId);
  for (let round = 0; round < 10_000; round++) {
    const result = store.getMessages(topic, queueId, offset, 32, accepts);
    if (result.status !== 'FOUND' && result.status !== 'NO_MATCHED_MESSAGE') break;
    records.push(...result.records);
    if (result.nextBeginOffset === offset) break;
    offset = result.nextBeginOffset;
  }
  return records;
}

test('slave ConsumeQueues match the master\'s: same entries, same pulls, same tag filtering', async () => {
  // Small frames (1000 bytes) so that records, including their properties, are split across frames.
  const pair = await Pair.open({
    masterFlush: 'ASYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'ASYNC_FLUSH', master: { haTransferBatchSize: 1000 },
  });
  try {
    await waitFor(() => pair.haMaster.haConnectionCount === 1, 'the slave to connect', 5000);
    let seq = 0;
    for (let round = 0; round < 15; round++) {
      const puts = Array.from({ length: 40 }, () => {
        const i = seq++;
        return pair.master.putMessage(message(TOPICS[i % TOPICS.length], (i >> 2) % QUEUES, 200 + ((i * 37) % 900), i));
      });
      for (const put of await Promise.all(puts)) assert.equal(put.status, 'PUT_OK');
    }
    assert.ok(pair.master.commitLog.segments.length >= 2);
    await pair.caughtUp();
    await waitFor(() => pair.slave.replicatedRecordsEnd === pair.slave.commitLog.maxCommittedOffset, 'the slave to dispatch every record', 5000);
    const tag1 = javaStringHashCode('tag1');
    let compared = 0;
    for (const topic of TOPICS) {
      for (let queueId = 0; queueId < QUEUES; queueId++) {
        assert.equal(pair.slave.getMaxOffsetInQueue(topic, queueId), pair.master.getMaxOffsetInQueue(topic, queueId), `${topic}/${queueId} max offset`);
        assert.equal(pair.slave.getMinOffsetInQueue(topic, queueId), pair.master.getMinOffsetInQueue(topic, queueId), `${topic}/${queueId} min offset`);
        const masterQueue = pair.master.queues.find(topic, queueId);
        const slaveQueue = pair.slave.queues.find(topic, queueId);
        for (let offset = 0; offset < (masterQueue?.maxOffset ?? 0); offset++) {
          assert.deepEqual(slaveQueue?.getEntry(offset), masterQueue?.getEntry(offset), `${topic}/${queueId} entry ${offset}`);
        }
        const fromMaster = pullAll(pair.master, topic, queueId);
        const fromSlave = pullAll(pair.slave, topic, queueId);
        assert.equal(fromSlave.length, fromMaster.length);
        fromMaster.forEach((record, i) => assert.ok(record.equals(fromSlave[i]), `${topic}/${queueId} record ${i}`));
        const filteredMaster = pullAll(pair.master, topic, queueId, (code) => code === tag1);
        const filteredSlave = pullAll(pair.slave, topic, queueId, (code) => code === tag1);
        assert.deepEqual(filteredSlave.map((r) => r.toString('hex')), filteredMaster.map((r) => r.toString('hex')));
        compared += fromMaster.length;
      }
    }
    assert.equal(compared, seq, 'every message was compared');
  } finally {
    await pair.close();
  }
});
