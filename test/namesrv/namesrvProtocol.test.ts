// Name server wire behaviour beyond the basics in nameServer.test.ts: exact fastjson bytes of
// routes (legacy and standard), compressed and pre-3.0.11 REGISTER_BROKER bodies, bodyCrc32,
// the data-version rule, filter servers, KV config, topic list, QUERY_DATA_VERSION and the
// expiry scan closing a silent broker's connection.
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import { afterEach, beforeEach, test } from 'node:test';
import { NameServer } from '../../broker/namesrv/namesrvServer.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { waitFor } from '../support/waitFor.js';

let nowMs = 1_700_000_000_000;
let nameServer: NameServer;
let address: string;
const clients: RemotingClient[] = [];

function client(): RemotingClient {
  const c = new RemotingClient(address);
  clients.push(c);
  return c;
}

async function start(options: { orderMessageEnable?: boolean } = {}): Promise<void> {
  nameServer = new NameServer({ now: () => nowMs, scanIntervalMs: 20, ...options });
  address = `127.0.0.1:${await nameServer.listen(0)}`;
}

beforeEach(async () => {
  nowMs = 1_700_000_000_000;
  await start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await nameServer.close();
});

interface Broker {
  name: string;
  addr: string;
  id: number;
  topics?: Record<string, number>;
  counter?: number;
  filterServerList?: string[];
}

function plainBody(b: Broker): Buffer {
  const topicConfigTable = Object.fromEntries(Object.entries(b.topics ?? {}).map(([topicName, queues]) => [topicName, {
    order: false, perm: 6, readQueueNums: queues, topicFilterType: 'SINGLE_TAG', topicName, topicSysFlag: 0, writeQueueNums: queues,
  }]));
  return Buffer.from(JSON.stringify({
    filterServerList: b.filterServerList ?? [],
    topicConfigSerializeWrapper: { dataVersion: { counter: b.counter ?? 1, timestamp: 1_700_000_000_000 }, topicConfigTable },
  }));
}

function registerHeader(b: Broker, extra: Record<string, string> = {}): Record<string, string> {
  const [host, port] = b.addr.split(':');
  return { brokerName: b.name, brokerAddr: b.addr, clusterName: 'DefaultCluster', haServerAddr: `${host}:${Number(port) + 1}`, brokerId: String(b.id), compressed: 'false', ...extra };
}

function register(via: RemotingClient, b: Broker, body: Buffer = plainBody(b), extra: Record<string, string> = {}, version = 401): Promise<RemotingCommand> {
  const request = createRequest(RequestCode.REGISTER_BROKER, registerHeader(b, extra), body);
  request.version = version;
  return via.invoke(request, 2000);
}

async function routeText(topic: string, version: number): Promise<{ code: number; text: string; remark?: string }> {
  const request = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
  request.version = version;
  const response = await client().invoke(request, 2000);
  return { code: response.code, text: response.body?.toString('utf8') ?? '', remark: response.remark };
}

async function queues(topic: string): Promise<Record<string, number> | null> {
  const { code, text } = await routeText(topic, 401);
  if (code !== ResponseCode.SUCCESS) return null;
  const data = JSON.parse(text) as { queueDatas: Array<{ brokerName: string; writeQueueNums: number }> };
  return Object.fromEntries(data.queueDatas.map((q) => [q.brokerName, q.writeQueueNums]));
}

const A: Broker = { name: 'broker-a', addr: '10.0.0.1:10911', id: 0, topics: { T: 4 } };
const A_SLAVE: Broker = { name: 'broker-a', addr: '10.0.0.3:10911', id: 1, topics: { T: 4 } };
const B: Broker = { name: 'broker-b', addr: '10.0.0.2:10911', id: 0, topics: { T: 8 } };

test('route bytes are fastjson\'s: fields by name, brokerId keys unquoted below 4.9.4 and quoted from 4.9.4', { timeout: 10_000 }, async () => {
  for (const b of [A, A_SLAVE, B]) assert.equal((await register(client(), b)).code, ResponseCode.SUCCESS);
  const brokerDatas = (q: (id: number) => string) =>
    `"brokerDatas":[{"brokerAddrs":{${q(0)}:"10.0.0.1:10911",${q(1)}:"10.0.0.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"},` +
    `{"brokerAddrs":{${q(0)}:"10.0.0.2:10911"},"brokerName":"broker-b","cluster":"DefaultCluster"}]`;
  const queueDatas = '"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSynFlag":0,"topicSysFlag":0,"writeQueueNums":4},' +
    '{"brokerName":"broker-b","perm":6,"readQueueNums":8,"topicSynFlag":0,"topicSysFlag":0,"writeQueueNums":8}]';
  const legacy = `{${brokerDatas((id) => String(id))},"filterServerTable":{},${queueDatas}}`;
  const standard = `{${brokerDatas((id) => `"${id}"`)},"filterServerTable":{},${queueDatas}}`;
  assert.equal((await routeText('T', 317)).text, legacy, '4.7.x client');
  assert.equal((await routeText('T', 400)).text, legacy, '4.9.3 client');
  assert.equal((await routeText('T', 401)).text, standard, '4.9.4 client');
  const asked = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T', acceptStandardJsonOnly: 'true' });
  asked.version = 100;
  assert.equal((await client().invoke(asked, 2000)).body?.toString(), standard);
});

test('unknown topic: TOPIC_NOT_EXIST with RocketMQ\'s remark; a request without topic: SYSTEM_ERROR naming the field', { timeout: 10_000 }, async () => {
  const missing = await routeText('Nope', 401);
  assert.equal(missing.code, ResponseCode.TOPIC_NOT_EXIST);
  assert.equal(missing.remark, 'No topic route info in name server for the topic: Nope\nSee http://rocketmq.apache.org/docs/faq/ for further details.');
  const noTopic = await client().invoke(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, {}), 2000);
  assert.deepEqual([noTopic.code, noTopic.remark], [ResponseCode.SYSTEM_ERROR, 'the custom field <topic> is null']);
});

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value, 0);
  return out;
}

function withLength(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([int32(bytes.length), bytes]);
}

test('a compressed REGISTER_BROKER body (RegisterBrokerBody.encode(true)) with a matching bodyCrc32 registers its topics', { timeout: 10_000 }, async () => {
  const raw = Buffer.concat([
    withLength('{"counter":3,"timestamp":1700000000000}'),
    int32(2), withLength('Zipped 8 8 6 SINGLE_TAG'), withLength('%RETRY%group 1 1 6 SINGLE_TAG'),
    withLength('[]'),
  ]);
  const body = deflateSync(raw, { level: 9 });
  const crc = crc32(body) & 0x7fffffff;
  const bad = await register(client(), { ...A, topics: {} }, body, { compressed: 'true', bodyCrc32: String(crc === 1 ? 2 : crc - 1) });
  assert.deepEqual([bad.code, bad.remark], [ResponseCode.SYSTEM_ERROR, 'crc32 not match']);
  assert.equal(await queues('Zipped'), null, 'a refused registration changes nothing');
  const ok = await register(client(), { ...A, topics: {} }, body, { compressed: 'true', bodyCrc32: String(crc) });
  assert.equal(ok.code, ResponseCode.SUCCESS);
  assert.deepEqual(await queues('Zipped'), { 'broker-a': 8 });
  assert.deepEqual(await queues('%RETRY%group'), { 'broker-a': 1 });
  // A body that says compressed but is not: refused with a reason, the connection stays usable.
  const c = client();
  const broken = await register(c, B, Buffer.from('not deflate'), { compressed: 'true' });
  assert.equal(broken.code, ResponseCode.SYSTEM_ERROR);
  assert.match(broken.remark ?? '', /does not inflate/);
  const truncated = await register(c, B, deflateSync(Buffer.concat([withLength('{"counter":1,"timestamp":1}'), int32(5)])), { compressed: 'true' });
  assert.equal(truncated.code, ResponseCode.SYSTEM_ERROR);
  assert.equal((await register(c, B)).code, ResponseCode.SUCCESS);
});

test('brokers older than V3_0_11 (version < 37) send a bare TopicConfigSerializeWrapper', { timeout: 10_000 }, async () => {
  const wrapper = Buffer.from(JSON.stringify({ dataVersion: { counter: 1, timestamp: 1 }, topicConfigTable: { Old: { topicName: 'Old', readQueueNums: 2, writeQueueNums: 2, perm: 6 } } }));
  assert.equal((await register(client(), A, wrapper, {}, 36)).code, ResponseCode.SUCCESS);
  assert.deepEqual(await queues('Old'), { 'broker-a': 2 });
});

test('topics are re-read only when the data version changes (isBrokerTopicConfigChanged) or on first registration', { timeout: 10_000 }, async () => {
  const c = client();
  await register(c, { ...A, topics: { T: 4 }, counter: 1 });
  await register(c, { ...A, topics: { T: 16 }, counter: 1 });
  assert.deepEqual(await queues('T'), { 'broker-a': 4 }, 'same data version: the name server keeps what it has');
  await register(c, { ...A, topics: { T: 16 }, counter: 2 });
  assert.deepEqual(await queues('T'), { 'broker-a': 16 });
  const changed = await c.invoke(createRequest(RequestCode.QUERY_DATA_VERSION, { brokerAddr: A.addr }, Buffer.from('{"counter":2,"timestamp":1700000000000}')), 2000);
  assert.deepEqual([changed.code, changed.extFields?.changed, JSON.parse(changed.body?.toString() ?? '')], [ResponseCode.SUCCESS, 'false', { counter: 2, timestamp: 1_700_000_000_000 }]);
  const other = await c.invoke(createRequest(RequestCode.QUERY_DATA_VERSION, { brokerAddr: A.addr }, Buffer.from('{"counter":3,"timestamp":1700000000000}')), 2000);
  assert.equal(other.extFields?.changed, 'true');
});

test('filter servers registered by a broker appear in filterServerTable of its topics', { timeout: 10_000 }, async () => {
  await register(client(), { ...A, filterServerList: ['10.0.0.1:30000'] });
  const data = JSON.parse((await routeText('T', 401)).text) as { filterServerTable: Record<string, string[]> };
  assert.deepEqual(data.filterServerTable, { '10.0.0.1:10911': ['10.0.0.1:30000'] });
});

test('KV config: GET_KV_CONFIG without a value is QUERY_NOT_FOUND (22); put, get, list, registration body, delete', { timeout: 10_000 }, async () => {
  const c = client();
  const get = () => c.invoke(createRequest(RequestCode.GET_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T' }), 2000);
  const none = await get();
  assert.deepEqual([none.code, none.remark], [ResponseCode.QUERY_NOT_FOUND, 'No config item, Namespace: ORDER_TOPIC_CONFIG Key: T']);
  assert.equal((await register(c, A)).body, undefined, 'no order config: the registration answer has no body');
  assert.equal((await c.invoke(createRequest(RequestCode.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T', value: 'broker-a:4' }), 2000)).code, ResponseCode.SUCCESS);
  const found = await get();
  assert.deepEqual([found.code, found.extFields?.value], [ResponseCode.SUCCESS, 'broker-a:4']);
  assert.equal((await register(c, A)).body?.toString(), '{"table":{"T":"broker-a:4"}}');
  const list = await c.invoke(createRequest(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'ORDER_TOPIC_CONFIG' }), 2000);
  assert.equal(list.body?.toString(), '{"table":{"T":"broker-a:4"}}');
  assert.equal((await routeText('T', 401)).text.includes('orderTopicConf'), false, 'orderMessageEnable is off by default');
  await c.invoke(createRequest(RequestCode.DELETE_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T' }), 2000);
  assert.equal((await get()).code, ResponseCode.QUERY_NOT_FOUND);
});

test('orderMessageEnable adds orderTopicConf from the KV config to the route', { timeout: 10_000 }, async () => {
  await nameServer.close();
  await start({ orderMessageEnable: true });
  const c = client();
  await register(c, A);
  await c.invoke(createRequest(RequestCode.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'T', value: 'broker-a:4' }), 2000);
  assert.match((await routeText('T', 401)).text, /"filterServerTable":\{\},"orderTopicConf":"broker-a:4","queueDatas"/);
});

test('GET_ALL_TOPIC_LIST_FROM_NAMESERVER and GET_BROKER_CLUSTER_INFO (legacy keys, as 4.9.x writes ClusterInfo)', { timeout: 10_000 }, async () => {
  for (const b of [A, A_SLAVE, { ...B, topics: { T: 8, OnlyB: 1 } }]) await register(client(), b);
  const topics = await client().invoke(createRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER), 2000);
  assert.deepEqual((JSON.parse(topics.body?.toString() ?? '') as { topicList: string[] }).topicList.sort(), ['OnlyB', 'T']);
  const info = await client().invoke(createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 2000);
  assert.equal(info.body?.toString(),
    '{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"},' +
    '"broker-b":{"brokerAddrs":{0:"10.0.0.2:10911"},"brokerName":"broker-b","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a","broker-b"]}}');
});

test('the expiry scan drops a silent broker, closes its connection and empties its cluster', { timeout: 10_000 }, async () => {
  const silent = client();
  await register(silent, B);
  const alive = client();
  await register(alive, A);
  nowMs += 60_000;
  await register(alive, A);
  assert.equal(silent.isConnected, true);
  nowMs += 60_001; // B: 120 001 ms since its registration; A: 60 001 ms
  await waitFor(() => !silent.isConnected, 'the name server to close the expired broker\'s connection', 3000);
  assert.deepEqual(await queues('T'), { 'broker-a': 4 });
  assert.equal(alive.isConnected, true);
  const info = JSON.parse((await client().invoke(createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 2000)).body?.toString().replace(/\{0:/g, '{"0":') ?? '') as { clusterAddrTable: Record<string, string[]> };
  assert.deepEqual(info.clusterAddrTable, { DefaultCluster: ['broker-a'] });
});
