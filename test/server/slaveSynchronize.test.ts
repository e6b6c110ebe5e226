// SlaveSynchronize: a slave (brokerRole=SLAVE) copies its master's topic configs and consumer
// offsets over GET_ALL_TOPIC_CONFIG / GET_ALL_CONSUMER_OFFSET / GET_ALL_DELAY_OFFSET, learns the
// master's address from the name server, and keeps serving consumers when the master is gone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { NameServer } from '../../broker/namesrv/namesrvServer.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { parseLenientJson } from '../../protocol/lenientJson.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';
import { ConsumerOffsetManager } from '../../broker/server/consumerOffsetManager.js';
import { NameServerRegistrar } from '../../broker/server/nameServerRegistrar.js';
import { parseConsumerOffsetWrapper, parseTopicConfigWrapper, SlaveSynchronize } from '../../broker/server/slaveSynchronize.js';
import { TopicConfigManager } from '../../broker/server/topicConfigManager.js';
import { memoryLogger } from '../ha/haHarness.js';
import { decodeRecords, pullRequest, sendV2, startTestBroker, type TestBroker } from './brokerHarness.js';
import { freeBrokerPort } from '../support/ports.js';
import { scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';

const BROKER_NAME = 'broker-sync';
/** Keeps the brokers' own sync timer out of the way; tests call syncAll() themselves. */
const MANUAL_SYNC = { slaveSyncInitialDelayMs: 3_600_000, slaveSyncIntervalMs: 3_600_000 };

interface Group {
  namesrvAddr: string;
  master: TestBroker;
  slave: TestBroker;
  masterClient: RemotingClient;
  slaveClient: RemotingClient;
  close(): Promise<void>;
}

/** A name server, a master and its slave (same brokerName, brokerId 1, slaveReadEnable) in-process. */
async function startGroup(syncTiming = MANUAL_SYNC): Promise<Group> {
  const nameServer = new NameServer();
  const namesrvAddr = `127.0.0.1:${await nameServer.listen(0)}`;
  const common = { namesrvAddr, brokerName: BROKER_NAME };
  const master = await startTestBroker({ ...common, brokerRole: 'ASYNC_MASTER' });
  const slave = await startTestBroker({ ...common, brokerRole: 'SLAVE', brokerId: '1', slaveReadEnable: 'true' }, scratchDir('slave'), syncTiming);
  const masterClient = new RemotingClient(master.address);
  const slaveClient = new RemotingClient(slave.address);
  return {
    namesrvAddr, master, slave, masterClient, slaveClient,
    async close() {
      masterClient.close();
      slaveClient.close();
      await slave.stop();
      await master.stop();
      await nameServer.close();
      for (const dir of [master.storeDir, slave.storeDir]) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function slaveSync(group: Group): SlaveSynchronize {
  const sync = group.slave.broker.slaveSynchronize;
  assert.ok(sync, 'a SLAVE broker runs SlaveSynchronize');
  return sync;
}

function commitOffset(group: string, topic: string, queueId: number, offset: number) {
  return createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: String(queueId), commitOffset: String(offset) });
}

async function queryOffset(client: RemotingClient, group: string, topic: string, queueId: number): Promise<string | undefined> {
  const response = await client.invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: String(queueId) }), 3000);
  return response.extFields?.offset;
}

async function topicTable(client: RemotingClient): Promise<{ topicConfigTable: Record<string, { writeQueueNums: number; readQueueNums: number }>; dataVersion: unknown }> {
  const response = await client.invoke(createRequest(RequestCode.GET_ALL_TOPIC_CONFIG), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS);
  return JSON.parse(response.body?.toString('utf8') ?? '{}');
}

test('a topic created on the master appears in the slave\'s GET_ALL_TOPIC_CONFIG after a sync, system topics kept', { timeout: 30_000 }, async () => {
  const group = await startGroup();
  try {
    assert.equal((await group.masterClient.invoke(updateTopicRequest('SyncedTopic', 3), 3000)).code, ResponseCode.SUCCESS);
    assert.equal((await topicTable(group.slaveClient)).topicConfigTable.SyncedTopic, undefined, 'not on the slave before a sync');

    await slaveSync(group).syncAll();
    const master = await topicTable(group.masterClient);
    const slave = await topicTable(group.slaveClient);
    assert.equal(slave.topicConfigTable.SyncedTopic?.writeQueueNums, 3);
    assert.equal(slave.topicConfigTable.SyncedTopic?.readQueueNums, 3);
    assert.deepEqual(slave.dataVersion, master.dataVersion, 'the slave takes over the master\'s data version');
    for (const system of ['TBW102', 'SELF_TEST_TOPIC', 'BenchmarkTest', 'OFFSET_MOVED_EVENT', BROKER_NAME]) assert.ok(slave.topicConfigTable[system], system);
    const persisted = JSON.parse(fs.readFileSync(path.join(group.slave.storeDir, 'config', 'topics.json'), 'utf8'));
    assert.equal(persisted.topicConfigTable.SyncedTopic.writeQueueNums, 3, 'persisted to config/topics.json');
    assert.equal(slaveSync(group).status().topicTableReplacements, 1);

    // Same data version on the master ⇒ the table is not replaced again.
    await slaveSync(group).syncAll();
    assert.equal(slaveSync(group).status().topicTableReplacements, 1);
    assert.equal(slaveSync(group).status().syncOkCount, 2);
  } finally {
    await group.close();
  }
});

test('a consumer offset committed on the master is answered by the slave\'s QUERY_CONSUMER_OFFSET after a sync', { timeout: 30_000 }, async () => {
  const group = await startGroup();
  try {
    assert.equal((await group.masterClient.invoke(updateTopicRequest('OffsetTopic', 4), 3000)).code, ResponseCode.SUCCESS);
    for (let i = 0; i < 5; i++) assert.equal((await group.masterClient.invoke(sendV2({ topic: 'OffsetTopic', queueId: 2, body: Buffer.from(`m${i}`) }), 3000)).code, ResponseCode.SUCCESS);
    assert.equal((await group.masterClient.invoke(commitOffset('cg', 'OffsetTopic', 2, 4), 3000)).code, ResponseCode.SUCCESS);
    assert.notEqual(await queryOffset(group.slaveClient, 'cg', 'OffsetTopic', 2), '4', 'not on the slave before a sync');

    await slaveSync(group).syncAll();
    assert.equal(await queryOffset(group.slaveClient, 'cg', 'OffsetTopic', 2), '4');
    const persisted = JSON.parse(fs.readFileSync(path.join(group.slave.storeDir, 'config', 'consumerOffset.json'), 'utf8'));
    assert.deepEqual(persisted.offsetTable['OffsetTopic@cg'], { 2: 4 }, 'persisted to config/consumerOffset.json');
    assert.equal(fs.readFileSync(path.join(group.slave.storeDir, 'config', 'delayOffset.json'), 'utf8'), '{"offsetTable":{}}', 'delay offsets written as the master sent them');

    // The master's later commits overwrite the slave's copy.
    assert.equal((await group.masterClient.invoke(commitOffset('cg', 'OffsetTopic', 2, 5), 3000)).code, ResponseCode.SUCCESS);
    await slaveSync(group).syncAll();
    assert.equal(await queryOffset(group.slaveClient, 'cg', 'OffsetTopic', 2), '5');
  } finally {
    await group.close();
  }
});

test('master stopped: the slave keeps the synced offsets, accepts commits and still serves pulls', { timeout: 30_000 }, async () => {
  const group = await startGroup();
  try {
    assert.equal((await group.masterClient.invoke(updateTopicRequest('FailoverTopic', 1), 3000)).code, ResponseCode.SUCCESS);
    for (let i = 0; i < 6; i++) assert.equal((await group.masterClient.invoke(sendV2({ topic: 'FailoverTopic', body: Buffer.from(`msg-${i}`) }), 3000)).code, ResponseCode.SUCCESS);
    assert.equal((await group.masterClient.invoke(commitOffset('cg', 'FailoverTopic', 0, 2), 3000)).code, ResponseCode.SUCCESS);
    await slaveSync(group).syncAll();
    assert.equal(await queryOffset(group.slaveClient, 'cg', 'FailoverTopic', 0), '2');
    await waitFor(async () => (await group.slaveClient.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'FailoverTopic', queueId: '0' }), 3000)).extFields?.offset === '6',
      'HA to replicate the six messages to the slave', 10_000);

    group.masterClient.close();
    await group.master.stop();
    await slaveSync(group).syncAll();
    const status = slaveSync(group).status();
    assert.equal(status.consecutiveFailures, 1, 'the round against a stopped master failed');
    assert.match(status.lastError ?? '', /topic config: .*consumer offsets: /);

    // The synced offset survives the failed round; a consumer resumes from it on the slave.
    const resumeAt = await queryOffset(group.slaveClient, 'cg', 'FailoverTopic', 0);
    assert.equal(resumeAt, '2');
    const pulled = await group.slaveClient.invoke(pullRequest({ topic: 'FailoverTopic', queueOffset: Number(resumeAt), consumerGroup: 'cg' }), 3000);
    assert.equal(pulled.code, ResponseCode.SUCCESS, `pull from the slave: ${pulled.remark}`);
    assert.deepEqual(decodeRecords(pulled.body).map((m) => m.body.toString()), ['msg-2', 'msg-3', 'msg-4', 'msg-5']);
    assert.equal(pulled.extFields?.nextBeginOffset, '6');

    // With the master gone from the route, the Java client commits to the slave; the commit stays.
    assert.equal((await group.slaveClient.invoke(commitOffset('cg', 'FailoverTopic', 0, 6), 3000)).code, ResponseCode.SUCCESS);
    await slaveSync(group).syncAll();
    assert.equal(slaveSync(group).status().consecutiveFailures, 2);
    assert.equal(await queryOffset(group.slaveClient, 'cg', 'FailoverTopic', 0), '6');

    // The name server still routes the topic to the group, now through the slave (brokerId 1).
    const lookup = new RemotingClient(group.namesrvAddr);
    try {
      const route = await lookup.invoke(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'FailoverTopic' }), 3000);
      assert.equal(route.code, ResponseCode.SUCCESS, `route: ${route.remark}`);
      const data = parseLenientJson(route.body?.toString('utf8') ?? '') as { queueDatas: Array<{ brokerName: string }>; brokerDatas: Array<{ brokerAddrs: Record<string, string> }> };
      assert.deepEqual(data.queueDatas.map((q) => q.brokerName), [BROKER_NAME]);
      assert.deepEqual(data.brokerDatas[0].brokerAddrs, { 1: group.slave.address });
    } finally {
      lookup.close();
    }
  } finally {
    await group.close();
  }
});

test('GET_ALL_CONSUMER_OFFSET answers RocketMQ\'s ConsumerOffsetSerializeWrapper JSON; GET_ALL_DELAY_OFFSET an empty table', { timeout: 20_000 }, async () => {
  const broker = await startTestBroker();
  const client = new RemotingClient(broker.address);
  try {
    for (const [group, queueId, offset] of [['g1', 0, 5], ['g1', 3, 9], ['g2', 1, 0]] as const) {
      assert.equal((await client.invoke(commitOffset(group, 'ShapeTopic', queueId, offset), 3000)).code, ResponseCode.SUCCESS);
    }
    const response = await client.invoke(createRequest(RequestCode.GET_ALL_CONSUMER_OFFSET), 3000);
    assert.equal(response.code, ResponseCode.SUCCESS);
    const body = JSON.parse(response.body?.toString('utf8') ?? '');
    assert.deepEqual(body, { offsetTable: { 'ShapeTopic@g1': { 0: 5, 3: 9 }, 'ShapeTopic@g2': { 1: 0 } } });
    assert.deepEqual(Object.keys(body), ['offsetTable'], 'only offsetTable, like ConsumerOffsetManager.encode()');
    assert.deepEqual(parseConsumerOffsetWrapper(response.body), new Map([['ShapeTopic@g1', new Map([[0, 5], [3, 9]])], ['ShapeTopic@g2', new Map([[1, 0]])]]));

    const delay = await client.invoke(createRequest(RequestCode.GET_ALL_DELAY_OFFSET), 3000);
    assert.equal(delay.code, ResponseCode.SUCCESS);
    assert.equal(delay.body?.toString('utf8'), '{"offsetTable":{}}');
  } finally {
    client.close();
    await broker.stop();
    fs.rmSync(broker.storeDir, { recursive: true, force: true });
  }
});

test('master bodies as a Java master writes them parse (fastjson bare keys); malformed ones are refused', () => {
  const java = Buffer.from('{"offsetTable":{"TopicA@cg":{0:12,1:7},"%RETRY%cg@cg":{0:0}}}');
  assert.deepEqual(parseConsumerOffsetWrapper(java).get('TopicA@cg'), new Map([[0, 12], [1, 7]]));
  const topics = parseTopicConfigWrapper(Buffer.from('{"dataVersion":{"counter":3,"timestamp":1700000000000},"topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}}}'));
  assert.deepEqual(topics.dataVersion, { timestamp: 1700000000000, counter: 3 });
  assert.deepEqual(topics.topicConfigTable.T, { topicName: 'T', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false });
  for (const bad of ['not json', '[]', '{"offsetTable":{"T@g":{"x":1}}}', '{"offsetTable":{"T@g":{"0":"1"}}}']) {
    assert.throws(() => parseConsumerOffsetWrapper(Buffer.from(bad)), { code: 'BAD_MASTER_BODY' }, bad);
  }
  assert.throws(() => parseTopicConfigWrapper(Buffer.from('{"dataVersion":{"counter":1,"timestamp":1},"topicConfigTable":{"T":{"readQueueNums":-1,"writeQueueNums":1,"perm":6}}}')), { code: 'BAD_MASTER_BODY' });
  assert.throws(() => parseTopicConfigWrapper(Buffer.from('{"topicConfigTable":{}}')), { code: 'BAD_MASTER_BODY' });
});

test('the sync timer: first round after the initial delay, then at the interval; one warning per outage; stop() ends the rounds', { timeout: 30_000 }, async () => {
  const master = await startTestBroker();
  const masterClient = new RemotingClient(master.address);
  const dir = scratchDir('slave-sync');
  const deadAddress = `127.0.0.1:${await freeBrokerPort()}`;
  let masterAddress: string | null = null;
  const { logger, lines } = memoryLogger();
  // Another brokerName: its system topic "broker-own" is missing from the master's table and must stay.
  const topics = new TopicConfigManager(path.join(dir, 'config', 'topics.json'), { brokerClusterName: 'TestCluster', brokerName: 'broker-own', autoCreateTopicEnable: true, defaultTopicQueueNums: 8 });
  const offsets = new ConsumerOffsetManager(path.join(dir, 'config', 'consumerOffset.json'));
  const sync = new SlaveSynchronize({
    topics, offsets, masterAddress: () => masterAddress, delayOffsetPath: path.join(dir, 'config', 'delayOffset.json'),
    initialDelayMs: 20, syncIntervalMs: 50, requestTimeoutMs: 1000, logger,
  });
  try {
    assert.equal((await masterClient.invoke(updateTopicRequest('TimerTopic', 2), 3000)).code, ResponseCode.SUCCESS);
    assert.equal((await masterClient.invoke(commitOffset('cg', 'TimerTopic', 1, 7), 3000)).code, ResponseCode.SUCCESS);
    sync.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(sync.status().syncOkCount, 0, 'no master address yet ⇒ nothing fetched');

    masterAddress = master.address;
    await waitFor(() => topics.get('TimerTopic') !== undefined && offsets.query('cg', 'TimerTopic', 1) === 7, 'the timer to sync topics and offsets', 5000);
    assert.ok(topics.get('broker-own'), 'the slave\'s own system topic stays');
    assert.ok(topics.get('broker-a'), 'the master\'s topics arrive');

    masterAddress = deadAddress;
    await waitFor(() => sync.status().consecutiveFailures >= 3, 'three failed rounds against a dead master', 5000);
    assert.equal(lines().filter((line) => line.startsWith('cannot sync from the master')).length, 1, 'one warning for the whole outage');
    assert.equal(offsets.query('cg', 'TimerTopic', 1), 7, 'offsets kept');
    assert.ok(topics.get('TimerTopic'), 'topics kept');

    masterAddress = master.address;
    await waitFor(() => sync.status().consecutiveFailures === 0, 'the master to answer again', 5000);
    assert.equal(lines().filter((line) => line.startsWith('master answers again')).length, 1);

    await sync.stop();
    const rounds = sync.status().syncOkCount;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(sync.status().syncOkCount, rounds, 'no rounds after stop()');
  } finally {
    await sync.stop();
    masterClient.close();
    await master.stop();
    for (const d of [dir, master.storeDir]) fs.rmSync(d, { recursive: true, force: true });
  }
});

test('the slave\'s master address follows the name server: set while the master is registered, null once it is gone', { timeout: 20_000 }, async () => {
  const nameServer = new NameServer();
  const namesrvAddr = `127.0.0.1:${await nameServer.listen(0)}`;
  const dir = scratchDir('registrar');
  const registrarFor = (brokerId: number, listenPort: number) => {
    const config = brokerConfigFrom({
      brokerName: BROKER_NAME, brokerClusterName: 'TestCluster', namesrvAddr, storePathRootDir: dir, listenPort: String(listenPort),
      brokerRole: brokerId === 0 ? 'ASYNC_MASTER' : 'SLAVE', brokerId: String(brokerId),
    }, {});
    const topics = new TopicConfigManager(path.join(dir, `topics-${brokerId}.json`), { brokerClusterName: 'TestCluster', brokerName: BROKER_NAME, autoCreateTopicEnable: true, defaultTopicQueueNums: 8 });
    return new NameServerRegistrar(config, topics, () => ({ haServerAddr: `127.0.0.1:${listenPort + 1}` }));
  };
  const master = registrarFor(0, 30911);
  const slave = registrarFor(1, 31911);
  try {
    await slave.registerAll();
    assert.equal(slave.masterAddress, null, 'no master registered yet');
    await master.registerAll();
    await slave.registerAll();
    assert.equal(slave.masterAddress, '127.0.0.1:30911');
    assert.equal(slave.masterHaAddress, '127.0.0.1:30912');
    await master.unregisterAll();
    await slave.registerAll();
    assert.equal(slave.masterAddress, null, 'RocketMQ: setMasterAddr(result.getMasterAddr()), null without a live master');
    assert.equal(slave.masterHaAddress, '127.0.0.1:30912', 'the HA address is only updated when the answer has one');
  } finally {
    master.stop();
    slave.stop();
    await nameServer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
