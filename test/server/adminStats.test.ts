// The admin requests mqadmin's read commands send (topicStatus, consumerProgress,
// getBrokerConfig, consumerConnection, clusterList's TPS keys), over the wire against an
// in-process broker, so they are checked without Java too (test/javaClient runs mqadmin itself).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TpsWindows, propertiesText } from '../../broker/server/adminStats.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';
import { sendV2, startTestBroker, type TestBroker } from './brokerHarness.js';

let broker: TestBroker;
let client: RemotingClient;
let storeTimes: number[] = [];

before(async () => {
  broker = await startTestBroker({ flushDiskType: 'SYNC_FLUSH' });
  client = new RemotingClient(broker.address);
  assert.equal((await client.invoke(updateTopicRequest('Stats', 2), 3000)).code, ResponseCode.SUCCESS);
  for (let i = 0; i < 3; i++) {
    const sent = await client.invoke(sendV2({ topic: 'Stats', queueId: 1, body: Buffer.from(`m${i}`) }), 3000);
    assert.equal(sent.code, ResponseCode.SUCCESS);
  }
  const update = createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'statsGroup', topic: 'Stats', queueId: '1', commitOffset: '2' });
  assert.equal((await client.invoke(update, 3000)).code, ResponseCode.SUCCESS);
  storeTimes = [];
  for (let offset = 0; offset < 3; offset++) {
    const pulled = broker.broker.store.getMessages('Stats', 1, offset, 1).records[0];
    storeTimes.push(Number(pulled.readBigInt64BE(56)));
  }
});

after(async () => {
  client.close();
  await broker.stop();
});

const mq = (queueId: number) => `{"brokerName":"broker-a","queueId":${queueId},"topic":"Stats"}`;

test('GET_TOPIC_STATS_INFO: fastjson MessageQueue keys, min/max offset and last store time per write queue; unknown topic TOPIC_NOT_EXIST', async () => {
  const response = await client.invoke(createRequest(RequestCode.GET_TOPIC_STATS_INFO, { topic: 'Stats' }), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  assert.equal(response.body?.toString(), `{"offsetTable":{${mq(0)}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0},`
    + `${mq(1)}:{"lastUpdateTimestamp":${storeTimes[2]},"maxOffset":3,"minOffset":0}}}`);
  const missing = await client.invoke(createRequest(RequestCode.GET_TOPIC_STATS_INFO, { topic: 'NoSuchTopic' }), 3000);
  assert.equal(missing.code, ResponseCode.TOPIC_NOT_EXIST);
});

test('GET_CONSUME_STATS: broker offset, committed offset and the store time of the last consumed message', async () => {
  const response = await client.invoke(createRequest(RequestCode.GET_CONSUME_STATS, { consumerGroup: 'statsGroup' }), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  assert.equal(response.body?.toString(), `{"consumeTps":0.0,"offsetTable":{${mq(0)}:{"brokerOffset":0,"consumerOffset":0,"lastTimestamp":0},`
    + `${mq(1)}:{"brokerOffset":3,"consumerOffset":2,"lastTimestamp":${storeTimes[1]}}}}`);
  const none = await client.invoke(createRequest(RequestCode.GET_CONSUME_STATS, { consumerGroup: 'otherGroup' }), 3000);
  assert.equal(none.body?.toString(), '{"consumeTps":0.0,"offsetTable":{}}', 'a group without offsets has no rows (mqadmin then says so)');
});

test('GET_BROKER_CONFIG: our effective settings as properties text with a DataVersion header', async () => {
  const response = await client.invoke(createRequest(RequestCode.GET_BROKER_CONFIG), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS);
  const text = response.body?.toString() ?? '';
  assert.match(text, /^flushDiskType=SYNC_FLUSH$/m);
  assert.match(text, new RegExp(`^listenPort=${broker.ports.listenPort}$`, 'm'));
  assert.match(response.extFields?.version ?? '', /^\{"timestamp":\d+,"counter":\d+\}$/);
  assert.equal(propertiesText({ b: 'x\ny', a: '1' }), 'a=1\nb=x y\n', 'sorted, one line per key');
});

test('GET_CONSUMER_CONNECTION_LIST: CONSUMER_NOT_ONLINE without clients, the connection after a heartbeat; QUERY_TOPIC_CONSUME_BY_WHO', async () => {
  const offline = await client.invoke(createRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: 'liveGroup' }), 3000);
  assert.equal(offline.code, ResponseCode.CONSUMER_NOT_ONLINE);
  const heartbeat = {
    clientID: '127.0.0.1@test', producerDataSet: [],
    consumerDataSet: [{ groupName: 'liveGroup', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      subscriptionDataSet: [{ topic: 'Stats', subString: '*', tagsSet: [], codeSet: [], subVersion: 1 }], unitMode: false }],
  };
  assert.equal((await client.invoke(createRequest(RequestCode.HEART_BEAT, undefined, Buffer.from(JSON.stringify(heartbeat))), 3000)).code, ResponseCode.SUCCESS);
  const online = await client.invoke(createRequest(RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: 'liveGroup' }), 3000);
  assert.equal(online.code, ResponseCode.SUCCESS);
  const body = JSON.parse(online.body?.toString() ?? '{}') as { connectionSet: Array<{ clientId: string; language: string; version: number }>; consumeFromWhere: string; subscriptionTable: Record<string, unknown> };
  assert.deepEqual(body.connectionSet.map((c) => [c.clientId, c.language, c.version]), [['127.0.0.1@test', 'JAVA', 401]]);
  assert.equal(body.consumeFromWhere, 'CONSUME_FROM_FIRST_OFFSET');
  assert.deepEqual(Object.keys(body.subscriptionTable), ['Stats']);
  const who = await client.invoke(createRequest(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, { topic: 'Stats' }), 3000);
  assert.deepEqual(JSON.parse(who.body?.toString() ?? '{}'), { groupList: ['liveGroup', 'statsGroup'] });
});

test('GET_BROKER_RUNTIME_INFO carries the keys clusterList reads', async () => {
  const response = await client.invoke(createRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 3000);
  const table = (JSON.parse(response.body?.toString() ?? '{}') as { table: Record<string, string> }).table;
  for (const key of ['putTps', 'getTransferedTps']) assert.match(table[key] ?? '', /^\d+\.\d{2} \d+\.\d{2} \d+\.\d{2}$/, key);
  for (const key of ['sendThreadPoolQueueSize', 'pullThreadPoolQueueSize', 'sendThreadPoolQueueHeadWaitTimeMills', 'pullThreadPoolQueueHeadWaitTimeMills', 'pageCacheLockTimeMills']) {
    assert.match(table[key] ?? '', /^\d+$/, key);
  }
  assert.equal(table.earliestMessageTimeStamp, String(storeTimes[0]), 'the first message is the oldest in the CommitLog');
});

test('TpsWindows: rate over the last 10 s, 1 min and 10 min, shorter windows while young', () => {
  let nowMs = 0;
  let count = 0;
  const windows = new TpsWindows(() => [count], () => nowMs);
  windows.sample();
  assert.equal(windows.text(0), '0.00 0.00 0.00', 'no time has passed');
  for (let second = 1; second <= 120; second++) {
    nowMs = second * 1000;
    count += second <= 60 ? 100 : 10; // 100/s for a minute, then 10/s
    windows.sample();
  }
  const [tps10, tps60, tps600] = windows.text(0).split(' ').map(Number);
  assert.equal(tps10, 10);
  assert.equal(tps60, 10);
  assert.equal(tps600, (6000 + 600) / 120, 'the 10 min window covers the 120 s there are');
});
