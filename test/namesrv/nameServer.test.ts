// The name server in-process, spoken to over loopback with RemotingClient: registration of
// two masters and a slave, routes, legacy vs standard JSON, expiry with an injected clock,
// connection-close cleanup, unregister and cluster info.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { BROKER_EXPIRED_MS } from '../../broker/namesrv/routeRegistry.js';
import { NameServer } from '../../broker/namesrv/namesrvServer.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { parseLenientJson } from '../../protocol/lenientJson.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { waitFor } from '../support/waitFor.js';

interface TopicRoute {
  queueDatas: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number; topicSysFlag: number; topicSynFlag: number }>;
  brokerDatas: Array<{ cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
  filterServerTable: Record<string, unknown>;
}

let nowMs = 1_700_000_000_000;
let nameServer: NameServer;
let address: string;
const clients: RemotingClient[] = [];

function client(): RemotingClient {
  const c = new RemotingClient(address);
  clients.push(c);
  return c;
}

function topicTable(topics: Record<string, number>): Buffer {
  const topicConfigTable = Object.fromEntries(Object.entries(topics).map(([topicName, queues]) => [topicName, {
    topicName, readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
  }]));
  return Buffer.from(JSON.stringify({ topicConfigSerializeWrapper: { topicConfigTable, dataVersion: { timestamp: nowMs, counter: 1 } }, filterServerList: [] }));
}

function register(via: RemotingClient, brokerName: string, brokerAddr: string, brokerId: number, topics: Record<string, number>): Promise<RemotingCommand> {
  const [host, port] = brokerAddr.split(':');
  return via.invoke(createRequest(RequestCode.REGISTER_BROKER, {
    brokerName, brokerAddr, clusterName: 'DefaultCluster', haServerAddr: `${host}:${Number(port) + 1}`, brokerId: String(brokerId), compressed: 'false',
  }, topicTable(topics)), 2000);
}

async function route(topic: string, version = 401, extra: Record<string, string> = {}): Promise<{ response: RemotingCommand; text: string }> {
  const request = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic, ...extra });
  request.version = version;
  const response = await client().invoke(request, 2000);
  return { response, text: response.body?.toString('utf8') ?? '' };
}

async function routeData(topic: string): Promise<TopicRoute | null> {
  const { response, text } = await route(topic);
  return response.code === ResponseCode.SUCCESS ? (JSON.parse(text) as TopicRoute) : null;
}

beforeEach(async () => {
  nowMs = 1_700_000_000_000;
  nameServer = new NameServer({ now: () => nowMs, scanIntervalMs: 20 });
  address = `127.0.0.1:${await nameServer.listen(0)}`;
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await nameServer.close();
});

async function registerTwoMastersAndASlave(): Promise<{ a: RemotingClient; b: RemotingClient; slave: RemotingClient; slaveResponse: RemotingCommand }> {
  const a = client();
  const b = client();
  const slave = client();
  assert.equal((await register(a, 'broker-a', '10.0.0.1:10911', 0, { T: 4, OnlyA: 2 })).code, ResponseCode.SUCCESS);
  assert.equal((await register(b, 'broker-b', '10.0.0.2:10911', 0, { T: 8 })).code, ResponseCode.SUCCESS);
  const slaveResponse = await register(slave, 'broker-a', '10.0.0.3:10911', 1, { T: 4, OnlyA: 2 });
  assert.equal(slaveResponse.code, ResponseCode.SUCCESS);
  return { a, b, slave, slaveResponse };
}

test('two masters and a slave: the route lists both masters with queue data, brokerAddrs keyed by brokerId', { timeout: 10_000 }, async () => {
  const { slaveResponse } = await registerTwoMastersAndASlave();
  const data = await routeData('T');
  assert.ok(data);
  const byName = Object.fromEntries(data.queueDatas.map((q) => [q.brokerName, q]));
  assert.deepEqual(Object.keys(byName).sort(), ['broker-a', 'broker-b']);
  assert.deepEqual([byName['broker-a'].writeQueueNums, byName['broker-b'].readQueueNums, byName['broker-a'].perm], [4, 8, 6]);
  assert.equal(byName['broker-a'].topicSynFlag, 0, '≤ 4.8 clients read topicSynFlag');
  assert.equal(byName['broker-a'].topicSysFlag, 0);
  const brokers = Object.fromEntries(data.brokerDatas.map((b) => [b.brokerName, b]));
  assert.deepEqual(brokers['broker-a'].brokerAddrs, { 0: '10.0.0.1:10911', 1: '10.0.0.3:10911' });
  assert.deepEqual(brokers['broker-b'].brokerAddrs, { 0: '10.0.0.2:10911' });
  assert.equal(brokers['broker-a'].cluster, 'DefaultCluster');
  assert.deepEqual(data.filterServerTable, {});
  // Only the master's topics count; a topic only broker-a serves lists only broker-a.
  const onlyA = await routeData('OnlyA');
  assert.deepEqual(onlyA?.brokerDatas.map((b) => b.brokerName), ['broker-a']);
  // The slave learns where its master is.
  assert.equal(slaveResponse.extFields?.masterAddr, '10.0.0.1:10911');
  assert.equal(slaveResponse.extFields?.haServerAddr, '10.0.0.1:10912');
});

test('a master registering gets no masterAddr; a slave registering before its master gets none either', { timeout: 10_000 }, async () => {
  const early = await register(client(), 'broker-c', '10.0.0.9:10911', 1, {});
  assert.equal(early.extFields?.masterAddr, undefined);
  const master = await register(client(), 'broker-c', '10.0.0.8:10911', 0, { C: 1 });
  assert.equal(master.extFields?.masterAddr, undefined);
  const again = await register(client(), 'broker-c', '10.0.0.9:10911', 1, {});
  assert.equal(again.extFields?.masterAddr, '10.0.0.8:10911');
});

test('route JSON: legacy (unquoted numeric keys) below version 401, standard from 401 or with acceptStandardJsonOnly', { timeout: 10_000 }, async () => {
  await registerTwoMastersAndASlave();
  const legacy = await route('T', 400);
  assert.match(legacy.text, /"brokerAddrs":\{0:"10\.0\.0\.1:10911",1:"10\.0\.0\.3:10911"\}/);
  assert.throws(() => JSON.parse(legacy.text), 'fastjson form is not standard JSON');
  assert.deepEqual(parseLenientJson(legacy.text), JSON.parse((await route('T', 401)).text));
  const standard = await route('T', 401);
  assert.match(standard.text, /"brokerAddrs":\{"0":"10\.0\.0\.1:10911","1":"10\.0\.0\.3:10911"\}/);
  const later = await route('T', 407);
  assert.match(later.text, /"0":"10\.0\.0\.1:10911"/);
  const asked = await route('T', 317, { acceptStandardJsonOnly: 'true' });
  assert.match(asked.text, /"0":"10\.0\.0\.1:10911"/);
  const notAsked = await route('T', 317, { acceptStandardJsonOnly: 'false' });
  assert.match(notAsked.text, /\{0:"10\.0\.0\.1:10911"/);
});

test('an unknown topic answers TOPIC_NOT_EXIST (17) with RocketMQ\'s remark', { timeout: 10_000 }, async () => {
  await registerTwoMastersAndASlave();
  const { response } = await route('NoSuchTopic');
  assert.equal(response.code, ResponseCode.TOPIC_NOT_EXIST);
  assert.match(response.remark ?? '', /^No topic route info in name server for the topic: NoSuchTopic/);
  assert.equal(response.body, undefined);
});

test('unregistering: the slave leaves its group; the last broker of a group takes its queue data along', { timeout: 10_000 }, async () => {
  const { a } = await registerTwoMastersAndASlave();
  const unregister = (brokerName: string, brokerAddr: string, brokerId: number) =>
    a.invoke(createRequest(RequestCode.UNREGISTER_BROKER, { brokerName, brokerAddr, clusterName: 'DefaultCluster', brokerId: String(brokerId) }), 2000);
  assert.equal((await unregister('broker-a', '10.0.0.3:10911', 1)).code, ResponseCode.SUCCESS);
  let data = await routeData('T');
  assert.deepEqual(data?.brokerDatas.find((b) => b.brokerName === 'broker-a')?.brokerAddrs, { 0: '10.0.0.1:10911' });
  await unregister('broker-a', '10.0.0.1:10911', 0);
  data = await routeData('T');
  assert.deepEqual(data?.brokerDatas.map((b) => b.brokerName), ['broker-b']);
  assert.deepEqual(data?.queueDatas.map((q) => q.brokerName), ['broker-b']);
  assert.equal(await routeData('OnlyA'), null, 'a topic served only by the gone group disappears');
});

test('a broker silent for 120 s expires (injected clock); one that re-registers stays', { timeout: 10_000 }, async () => {
  const { b } = await registerTwoMastersAndASlave();
  nowMs += BROKER_EXPIRED_MS - 1000;
  await register(b, 'broker-b', '10.0.0.2:10911', 0, { T: 8 });
  nowMs += 1000;
  nameServer.scanNotActiveBrokers(); // the scan itself, not a sleep that hopes one ran
  assert.equal((await routeData('T'))?.queueDatas.length, 2, 'exactly 120 s is not yet expired');
  nowMs += 1;
  await waitFor(async () => (await routeData('T'))?.queueDatas.length === 1, 'broker-a to expire', 3000);
  const data = await routeData('T');
  assert.deepEqual(data?.brokerDatas.map((x) => [x.brokerName, x.brokerAddrs]), [['broker-b', { 0: '10.0.0.2:10911' }]]);
  nowMs += BROKER_EXPIRED_MS;
  await waitFor(async () => (await routeData('T')) === null, 'broker-b to expire too', 3000);
});

test('closing a broker\'s registering connection removes it at once', { timeout: 10_000 }, async () => {
  const { a, slave } = await registerTwoMastersAndASlave();
  slave.close();
  await waitFor(async () => Object.keys((await routeData('T'))?.brokerDatas.find((x) => x.brokerName === 'broker-a')?.brokerAddrs ?? {}).length === 1, 'the slave to go', 3000);
  a.close();
  await waitFor(async () => (await routeData('T'))?.brokerDatas.length === 1, 'broker-a to go', 3000);
  assert.equal(await routeData('OnlyA'), null);
});

test('GET_BROKER_CLUSTER_INFO lists every broker group with its addresses and the cluster\'s members', { timeout: 10_000 }, async () => {
  await registerTwoMastersAndASlave();
  const response = await client().invoke(createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 2000);
  assert.equal(response.code, ResponseCode.SUCCESS);
  const info = parseLenientJson(response.body?.toString() ?? '') as {
    brokerAddrTable: Record<string, { cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
    clusterAddrTable: Record<string, string[]>;
  };
  assert.deepEqual(info.brokerAddrTable['broker-a'], { cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { 0: '10.0.0.1:10911', 1: '10.0.0.3:10911' } });
  assert.deepEqual(info.brokerAddrTable['broker-b'].brokerAddrs, { 0: '10.0.0.2:10911' });
  assert.deepEqual(info.clusterAddrTable.DefaultCluster.sort(), ['broker-a', 'broker-b']);
});

test('REGISTER_BROKER without required fields or with a broken body is refused and changes nothing', { timeout: 10_000 }, async () => {
  const c = client();
  const missing = await c.invoke(createRequest(RequestCode.REGISTER_BROKER, { brokerName: 'x' }), 2000);
  assert.equal(missing.code, ResponseCode.SYSTEM_ERROR);
  assert.match(missing.remark ?? '', /brokerAddr/);
  const broken = await c.invoke(createRequest(RequestCode.REGISTER_BROKER, {
    brokerName: 'x', brokerAddr: '1.2.3.4:5', clusterName: 'C', haServerAddr: '1.2.3.4:6', brokerId: '0',
  }, Buffer.from('{not json')), 2000);
  assert.equal(broken.code, ResponseCode.SYSTEM_ERROR);
  const info = await c.invoke(createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 2000);
  assert.deepEqual(JSON.parse(info.body?.toString() ?? ''), { brokerAddrTable: {}, clusterAddrTable: {} });
});
