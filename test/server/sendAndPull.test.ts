// An in-process broker (BrokerController.start) driven over loopback with RemotingClient:
// the three send codes, topic checks, the response → store mapping, pull statuses and long polling.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { RequestCode, ResponseCode, SerializeType } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { encodeBatchBody, sendBatchMessageRequest } from '../../protocol/requests/sendMessage.js';
import { PullSysFlag } from '../../broker/server/pullProcessor.js';
import { findProperty } from '../../broker/store/messageCodec.js';
import {
  decodeRecords, expectedMsgId, pullRequest, sendV1, sendV2, startTestBroker, type TestBroker,
} from './brokerHarness.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';

let broker: TestBroker;
let client: RemotingClient;
let binaryClient: RemotingClient;
let port: number;

before(async () => {
  broker = await startTestBroker({ maxMessageSize: '4096', defaultTopicQueueNums: '8' });
  port = broker.ports.listenPort;
  client = new RemotingClient(broker.address);
  binaryClient = new RemotingClient(broker.address, { serializeType: SerializeType.ROCKETMQ });
  const created = await client.invoke(updateTopicRequest('T', 4), 3000);
  assert.equal(created.code, ResponseCode.SUCCESS, created.remark);
});

after(async () => {
  client.close();
  binaryClient.close();
  await broker.stop();
  fs.rmSync(broker.storeDir, { recursive: true, force: true });
});

function msgIdOffset(msgId: string): number {
  assert.match(msgId, /^[0-9A-F]{32}$/);
  return Number.parseInt(msgId.slice(16), 16);
}

test('SEND_MESSAGE_V2 in both header types: SUCCESS, msgId = store host + CommitLog offset, offsets advance', { timeout: 15_000 }, async () => {
  const body = Buffer.alloc(128, 0x61);
  const first = await client.invoke(sendV2({ topic: 'T', queueId: 1, body, properties: 'UNIQ_KEY\u0001U1\u0002WAIT\u0001true\u0002TAGS\u0001TagA' }), 3000);
  assert.equal(first.code, ResponseCode.SUCCESS, first.remark);
  assert.equal(first.serializeType, SerializeType.JSON);
  const second = await binaryClient.invoke(sendV2({ topic: 'T', queueId: 1, body, serializeType: SerializeType.ROCKETMQ }), 3000);
  assert.equal(second.code, ResponseCode.SUCCESS, second.remark);
  assert.equal(second.serializeType, SerializeType.ROCKETMQ, 'the response uses the request\'s header type');
  for (const response of [first, second]) {
    const msgId = response.extFields?.msgId ?? '';
    assert.equal(msgId, expectedMsgId('127.0.0.1', port, msgIdOffset(msgId)));
    assert.equal(response.extFields?.queueId, '1');
  }
  assert.equal(Number(second.extFields?.queueOffset), Number(first.extFields?.queueOffset) + 1);
  // The record really sits at the offset the msgId names, with WAIT dropped and CLUSTER added.
  const pulled = await client.invoke(pullRequest({ topic: 'T', queueId: 1, queueOffset: Number(first.extFields?.queueOffset) }), 3000);
  const [record, next] = decodeRecords(pulled.body);
  assert.equal(record.physicalOffset, msgIdOffset(first.extFields?.msgId ?? ''));
  assert.equal(next.physicalOffset, msgIdOffset(second.extFields?.msgId ?? ''));
  assert.equal(next.physicalOffset, record.physicalOffset + record.totalSize);
  assert.deepEqual(record.body, body);
  assert.equal(findProperty(record.properties, 'WAIT'), undefined);
  assert.equal(findProperty(record.properties, 'CLUSTER'), 'TestCluster');
  assert.equal(findProperty(record.properties, 'TAGS'), 'TagA');
  assert.equal(findProperty(record.properties, 'UNIQ_KEY'), 'U1');
});

test('SEND_MESSAGE (10) with long header names is stored like V2', { timeout: 15_000 }, async () => {
  const response = await client.invoke(sendV1({ topic: 'T', queueId: 2, body: Buffer.from('v1 body'), properties: 'KEYS\u0001k1 k2\u0002WAIT\u0001true' }), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  const pulled = await client.invoke(pullRequest({ topic: 'T', queueId: 2, queueOffset: Number(response.extFields?.queueOffset) }), 3000);
  const [record] = decodeRecords(pulled.body);
  assert.equal(record.body.toString(), 'v1 body');
  assert.equal(findProperty(record.properties, 'KEYS'), 'k1 k2');
  assert.equal(record.physicalOffset, msgIdOffset(response.extFields?.msgId ?? ''));
});

test('SEND_BATCH_MESSAGE stores every message; msgId lists one offset id per message', { timeout: 15_000 }, async () => {
  const messages = [0, 1, 2].map((i) => ({ body: Buffer.from(`batch-${i}`), properties: `UNIQ_KEY\u0001B${i}\u0002WAIT\u0001true` }));
  const request = sendBatchMessageRequest({ producerGroup: 'test_producer', topic: 'T', queueId: 3, properties: 'WAIT\u0001true' }, encodeBatchBody(messages));
  const response = await binaryClient.invoke(request, 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  const ids = (response.extFields?.msgId ?? '').split(',');
  assert.equal(ids.length, 3);
  const pulled = await client.invoke(pullRequest({ topic: 'T', queueId: 3, queueOffset: Number(response.extFields?.queueOffset) }), 3000);
  const records = decodeRecords(pulled.body);
  assert.deepEqual(records.map((r) => r.body.toString()), ['batch-0', 'batch-1', 'batch-2']);
  assert.deepEqual(records.map((r) => expectedMsgId('127.0.0.1', port, r.physicalOffset)), ids);
  assert.deepEqual(records.map((r) => findProperty(r.properties, 'UNIQ_KEY')), ['B0', 'B1', 'B2']);

  const broken = sendV2({ topic: 'T', queueId: 3, body: Buffer.from([0, 0, 0, 99, 1, 2]) });
  broken.code = RequestCode.SEND_BATCH_MESSAGE;
  assert.equal((await client.invoke(broken, 3000)).code, ResponseCode.MESSAGE_ILLEGAL);
  const empty = sendV2({ topic: 'T', queueId: 3, body: Buffer.alloc(0) });
  empty.code = RequestCode.SEND_BATCH_MESSAGE;
  const emptyResponse = await client.invoke(empty, 3000);
  assert.equal(emptyResponse.code, ResponseCode.MESSAGE_ILLEGAL, 'an empty batch stores nothing and says so');
  assert.equal(emptyResponse.extFields?.msgId, undefined);
});

test('a send to an unknown topic creates it from TBW102 with the client\'s queue count', { timeout: 15_000 }, async () => {
  const response = await client.invoke(sendV2({ topic: 'AutoCreated', queueId: 2, body: Buffer.from('x'), defaultTopicQueueNums: 3 }), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  const all = await client.invoke(createRequest(RequestCode.GET_ALL_TOPIC_CONFIG), 3000);
  const table = JSON.parse(all.body?.toString() ?? '{}').topicConfigTable as Record<string, { readQueueNums: number; writeQueueNums: number; perm: number }>;
  assert.deepEqual([table.AutoCreated.readQueueNums, table.AutoCreated.writeQueueNums, table.AutoCreated.perm], [3, 3, 6]);
  const tooHigh = await client.invoke(sendV2({ topic: 'AutoCreated', queueId: 3, body: Buffer.from('x') }), 3000);
  assert.equal(tooHigh.code, ResponseCode.SYSTEM_ERROR);
});

test('queueId ≥ the topic\'s queue count → SYSTEM_ERROR; body > maxMessageSize → MESSAGE_ILLEGAL; nothing stored', { timeout: 15_000 }, async () => {
  const before = await client.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'T', queueId: '0' }), 3000);
  const badQueue = await client.invoke(sendV2({ topic: 'T', queueId: 4, body: Buffer.from('x') }), 3000);
  assert.equal(badQueue.code, ResponseCode.SYSTEM_ERROR);
  assert.match(badQueue.remark ?? '', /queueId\[4\] is illegal/);
  const big = await binaryClient.invoke(sendV2({ topic: 'T', queueId: 0, body: Buffer.alloc(4097), serializeType: SerializeType.ROCKETMQ }), 3000);
  assert.equal(big.code, ResponseCode.MESSAGE_ILLEGAL, big.remark);
  assert.equal(big.extFields?.msgId, undefined);
  const atLimit = await client.invoke(sendV2({ topic: 'T', queueId: 0, body: Buffer.alloc(4096) }), 3000);
  assert.equal(atLimit.code, ResponseCode.SUCCESS, atLimit.remark);
  const afterwards = await client.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'T', queueId: '0' }), 3000);
  assert.equal(Number(afterwards.extFields?.offset), Number(before.extFields?.offset) + 1, 'only the legal message was stored');
  const missing = await client.invoke(createRequest(RequestCode.SEND_MESSAGE_V2, { a: 'g', b: 'T' }, Buffer.from('x')), 3000);
  assert.equal(missing.code, ResponseCode.SYSTEM_ERROR);
  assert.match(missing.remark ?? '', /defaultTopic/);
});

test('PULL_MESSAGE: FOUND, PULL_NOT_FOUND at the end, PULL_OFFSET_MOVED beyond it and on an empty queue', { timeout: 15_000 }, async () => {
  const topic = 'PullT';
  for (let i = 0; i < 5; i++) {
    const sent = await client.invoke(sendV2({ topic, queueId: 0, body: Buffer.from(`m${i}`) }), 3000);
    assert.equal(sent.code, ResponseCode.SUCCESS);
  }
  const found = await client.invoke(pullRequest({ topic, queueOffset: 1, maxMsgNums: 3 }), 3000);
  assert.equal(found.code, ResponseCode.SUCCESS);
  assert.equal(found.remark, 'FOUND');
  assert.deepEqual(decodeRecords(found.body).map((r) => r.body.toString()), ['m1', 'm2', 'm3']);
  assert.deepEqual(decodeRecords(found.body).map((r) => r.queueOffset), [1, 2, 3]);
  assert.deepEqual([found.extFields?.nextBeginOffset, found.extFields?.minOffset, found.extFields?.maxOffset, found.extFields?.suggestWhichBrokerId], ['4', '0', '5', '0']);

  const atEnd = await client.invoke(pullRequest({ topic, queueOffset: 5 }), 3000);
  assert.equal(atEnd.code, ResponseCode.PULL_NOT_FOUND);
  assert.equal(atEnd.extFields?.nextBeginOffset, '5');
  assert.equal(atEnd.body, undefined);

  const beyond = await client.invoke(pullRequest({ topic, queueOffset: 9 }), 3000);
  assert.equal(beyond.code, ResponseCode.PULL_OFFSET_MOVED);
  // 4.x DefaultMessageStore.getMessage: OFFSET_OVERFLOW_BADLY corrects to minOffset when it is 0, else to maxOffset.
  assert.equal(beyond.extFields?.nextBeginOffset, '0');

  const emptyAtZero = await client.invoke(pullRequest({ topic, queueId: 1, queueOffset: 0 }), 3000);
  assert.equal(emptyAtZero.code, ResponseCode.PULL_NOT_FOUND);
  const emptyAtFive = await client.invoke(pullRequest({ topic, queueId: 1, queueOffset: 5 }), 3000);
  assert.equal(emptyAtFive.code, ResponseCode.PULL_OFFSET_MOVED);
  assert.equal(emptyAtFive.extFields?.nextBeginOffset, '0');

  const filtered = await client.invoke(pullRequest({ topic: 'T', queueId: 1, queueOffset: 0, sysFlag: PullSysFlag.SUBSCRIPTION, subscription: 'TagA' }), 3000);
  assert.equal(filtered.code, ResponseCode.SUCCESS);
  assert.deepEqual(decodeRecords(filtered.body).map((r) => findProperty(r.properties, 'TAGS')), ['TagA'], 'tag filter keeps only TagA');
});

test('long polling: a held pull is answered as soon as a message arrives, and with PULL_NOT_FOUND after suspendTimeoutMillis', { timeout: 15_000 }, async () => {
  const topic = 'LongPollT';
  const started = Date.now();
  const held = client.invoke(pullRequest({ topic, queueOffset: 0, sysFlag: PullSysFlag.SUSPEND, suspendTimeoutMillis: 5000 }), 8000);
  await new Promise((r) => setTimeout(r, 200));
  const sent = await binaryClient.invoke(sendV2({ topic, queueId: 0, body: Buffer.from('wake up'), serializeType: SerializeType.ROCKETMQ }), 3000);
  assert.equal(sent.code, ResponseCode.SUCCESS);
  const answered = await held;
  const waited = Date.now() - started;
  assert.equal(answered.code, ResponseCode.SUCCESS);
  assert.deepEqual(decodeRecords(answered.body).map((r) => r.body.toString()), ['wake up']);
  assert.ok(waited >= 190 && waited < 2000, `answered after ${waited} ms: held, then woken by the message`);

  const timeoutStarted = Date.now();
  const idle = await client.invoke(pullRequest({ topic, queueOffset: 1, sysFlag: PullSysFlag.SUSPEND, suspendTimeoutMillis: 400 }), 5000);
  const idleWait = Date.now() - timeoutStarted;
  assert.equal(idle.code, ResponseCode.PULL_NOT_FOUND);
  assert.equal(idle.extFields?.nextBeginOffset, '1');
  assert.ok(idleWait >= 390 && idleWait < 1500, `answered after ${idleWait} ms`);

  const notSuspended = Date.now();
  const immediate = await client.invoke(pullRequest({ topic, queueOffset: 1, suspendTimeoutMillis: 5000 }), 5000);
  assert.equal(immediate.code, ResponseCode.PULL_NOT_FOUND);
  assert.ok(Date.now() - notSuspended < 300, 'without the SUSPEND flag the broker answers at once');
});

test('GET_BROKER_RUNTIME_INFO carries commitLogDiskRatio and the flush counters', { timeout: 15_000 }, async () => {
  const response = await client.invoke(createRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS);
  const { table } = JSON.parse(response.body?.toString() ?? '{}') as { table: Record<string, string> };
  const ratio = Number(table.commitLogDiskRatio);
  assert.ok(ratio > 0 && ratio < 1, `commitLogDiskRatio ${table.commitLogDiskRatio}`);
  for (const key of ['flushBehindBytes', 'fsyncCount', 'flushFailedTimes', 'flushedOffset', 'commitLogMaxOffset', 'msgPutTotalTodayNow']) {
    assert.match(table[key] ?? '', /^\d+$/, `${key}=${table[key]}`);
  }
  assert.ok(Number(table.msgPutTotalTodayNow) > 5);
  assert.equal(table.flushDiskType, 'ASYNC_FLUSH');
  assert.equal(table.brokerRole, 'ASYNC_MASTER');
});

test('consumer offsets: UPDATE_CONSUMER_OFFSET and a pull\'s COMMIT_OFFSET are answered by QUERY_CONSUMER_OFFSET', { timeout: 15_000 }, async () => {
  const query = async (queueId: number) => client.invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'g1', topic: 'T', queueId: String(queueId) }), 3000);
  const fresh = await query(0);
  assert.equal(fresh.code, ResponseCode.SUCCESS);
  assert.equal(fresh.extFields?.offset, '0', 'a group that never committed starts at 0 while the queue begins at 0');
  const update = await client.invoke(createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'g1', topic: 'T', queueId: '0', commitOffset: '1' }), 3000);
  assert.equal(update.code, ResponseCode.SUCCESS);
  assert.equal((await query(0)).extFields?.offset, '1');
  await client.invoke(pullRequest({ topic: 'T', queueId: 1, queueOffset: 0, consumerGroup: 'g1', sysFlag: PullSysFlag.COMMIT_OFFSET, commitOffset: 2 }), 3000);
  assert.equal((await query(1)).extFields?.offset, '2');
});
