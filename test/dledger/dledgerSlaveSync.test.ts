// DLedger followers run SlaveSynchronize (RocketMQ's changeToSlave) and the ready leader stops
// it (changeToMaster): a topic created and an offset committed on the leader only reach the
// followers, so after the leader goes the new leader knows both and takes a send to the topic
// without anyone creating it there (autoCreateTopicEnable=false, so a send to an unknown topic fails).
// Delayed delivery runs on the master only and a new master goes on from the delay offsets the
// sync copied (handleScheduleMessageService), so a delayed message is not delivered twice.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { SELF_TEST_TOPIC } from '../../broker/server/topicConfigManager.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';
import { decodeRecords, pullRequest, sendV2, type TestBroker } from '../server/brokerHarness.js';
import { waitFor } from '../support/waitFor.js';
import { startDLedgerGroup } from './dledgerGroup.js';

// Registration and sync every few hundred ms.
const SYNC = { slaveSyncInitialDelayMs: 100, slaveSyncIntervalMs: 200 };
const TOPIC = 'SyncedTopic';
const GROUP = 'synced_group';
const OFFSET = 7;
const DELAYED_QUEUE = 1;
const P = (pairs: Record<string, string>) => Object.entries(pairs).map(([k, v]) => `${k}\u0001${v}`).join('\u0002');
const delayed = (text: string) => sendV2({ topic: TOPIC, queueId: DELAYED_QUEUE, body: Buffer.from(text), properties: P({ DELAY: '1', WAIT: 'true' }) });

test('DLedger followers sync topics and offsets from the leader; the new leader has them after failover', { timeout: 40_000 }, async () => {
  const group = await startDLedgerGroup('broker-s', {
    flushDiskType: 'ASYNC_FLUSH', autoCreateTopicEnable: 'false', registerNameServerPeriod: '300', messageDelayLevel: '1s 2s',
  }, SYNC);
  const { brokers, client } = group;
  const pause = () => new Promise((resolve) => setTimeout(resolve, 50));
  const topicsOf = async (b: TestBroker): Promise<string[]> => {
    const answer = await client(b.address).invoke(createRequest(RequestCode.GET_ALL_TOPIC_CONFIG), 3000);
    return Object.keys(JSON.parse(answer.body?.toString('utf8') ?? '{}').topicConfigTable ?? {});
  };
  const offsetOf = async (b: TestBroker): Promise<string | undefined> => {
    const answer = await client(b.address).invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: '0' }), 3000);
    return answer.code === ResponseCode.SUCCESS ? answer.extFields?.offset : undefined;
  };
  const master = () => group.masterAddress(SELF_TEST_TOPIC);
  try {
    let leaderAddress: string | undefined;
    await waitFor(async () => (leaderAddress = await master()) !== undefined && brokers.some((b) => b.address === leaderAddress && b.broker.dledger?.commitLog.writable),
      'a ready leader registered as brokerId 0', 10_000);
    const leader = brokers.find((b) => b.address === leaderAddress) as TestBroker;
    const followers = brokers.filter((b) => b !== leader);
    assert.equal(leader.broker.slaveSynchronize, null, 'the leader runs no SlaveSynchronize');
    for (const f of followers) assert.ok(f.broker.slaveSynchronize, 'a follower runs SlaveSynchronize');

    // On the leader only: the topic, a message, a committed offset.
    const created = await client(leader.address).invoke(updateTopicRequest(TOPIC, 2), 3000);
    assert.equal(created.code, ResponseCode.SUCCESS, created.remark);
    const sent = await client(leader.address).invoke(sendV2({ topic: TOPIC, body: Buffer.from('on the old leader') }), 3000);
    assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
    const committed = await client(leader.address).invoke(createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
      consumerGroup: GROUP, topic: TOPIC, queueId: '0', commitOffset: String(OFFSET),
    }), 3000);
    assert.equal(committed.code, ResponseCode.SUCCESS, committed.remark);
    const first = await client(leader.address).invoke(delayed('delayed on the old leader'), 3000);
    assert.equal(first.code, ResponseCode.SUCCESS, first.remark);
    await waitFor(() => leader.broker.store.getMaxOffsetInQueue(TOPIC, DELAYED_QUEUE) === 1, 'the old leader delivers the delayed message', 10_000);
    const delayOffsetOf = (b: TestBroker): unknown => {
      try {
        return JSON.parse(fs.readFileSync(path.join(b.storeDir, 'config', 'delayOffset.json'), 'utf8')).offsetTable?.['1'];
      } catch {
        return undefined;
      }
    };

    await waitFor(async () => {
      await pause();
      for (const f of followers) {
        if (!(await topicsOf(f)).includes(TOPIC) || (await offsetOf(f)) !== String(OFFSET) || delayOffsetOf(f) !== 1) return false;
      }
      return true;
    }, 'both followers have the topic, the consumer offset and the delay offset from the leader', 10_000);
    for (const f of followers) assert.equal(f.broker.store.getMaxOffsetInQueue(TOPIC, DELAYED_QUEUE), 1, 'a follower delivers no delayed message itself');

    // The leader goes away as a whole (DLedger member and broker); a follower takes over.
    await leader.stop();
    let newAddress: string | undefined;
    await waitFor(async () => {
      await pause();
      return (newAddress = await master()) !== undefined && newAddress !== leader.address &&
        followers.some((f) => f.address === newAddress && f.broker.dledger?.commitLog.writable);
    }, 'the new leader registered as brokerId 0', 10_000);
    const next = followers.find((f) => f.address === newAddress) as TestBroker;
    const other = followers.find((f) => f !== next) as TestBroker;
    assert.equal(next.broker.slaveSynchronize, null, 'changeToMaster stopped SlaveSynchronize');
    assert.ok(other.broker.slaveSynchronize, 'the remaining follower still syncs');
    assert.ok((await topicsOf(next)).includes(TOPIC), 'the new leader has the topic');
    assert.equal(await offsetOf(next), String(OFFSET), 'the new leader has the committed offset');
    const after = await client(next.address).invoke(sendV2({ topic: TOPIC, body: Buffer.from('on the new leader') }), 3000);
    assert.equal(after.code, ResponseCode.SUCCESS, `a send to the synced topic on the new leader: ${after.remark}`);
    assert.equal(after.extFields?.queueOffset, '1', 'the queue continues after the replicated message');
    const unknown = await client(next.address).invoke(sendV2({ topic: 'NeverCreated', body: Buffer.from('x') }), 3000);
    assert.notEqual(unknown.code, ResponseCode.SUCCESS, 'a topic nobody created is still refused (no auto-create)');
    // Delivery goes on from the synced delay offset: the next delayed message, not the old one again.
    const second = await client(next.address).invoke(delayed('delayed on the new leader'), 3000);
    assert.equal(second.code, ResponseCode.SUCCESS, second.remark);
    await waitFor(() => next.broker.store.getMaxOffsetInQueue(TOPIC, DELAYED_QUEUE) >= 2, 'the new leader delivers a delayed message', 10_000);
    const delivered = decodeRecords((await client(next.address).invoke(pullRequest({ topic: TOPIC, queueId: DELAYED_QUEUE, queueOffset: 0 }), 3000)).body);
    assert.deepEqual(delivered.map((r) => r.body.toString()), ['delayed on the old leader', 'delayed on the new leader'], 'nothing delivered twice');
  } finally {
    await group.stop();
  }
});
