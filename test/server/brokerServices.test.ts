// Broker services around the send path: topic auto-creation switched off, consumer offsets
// across a restart, name server registration of new topics, the metrics/HTTP endpoint.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { NameServer } from '../../broker/namesrv/namesrvServer.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { sendV2, startTestBroker } from './brokerHarness.js';
import { scratchDir } from '../support/scratch.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';

test('autoCreateTopicEnable=false: a send to an unknown topic answers TOPIC_NOT_EXIST, a created topic works', { timeout: 20_000 }, async () => {
  const broker = await startTestBroker({ autoCreateTopicEnable: 'false' });
  const client = new RemotingClient(broker.address);
  try {
    const response = await client.invoke(sendV2({ topic: 'Unknown', body: Buffer.from('x') }), 3000);
    assert.equal(response.code, ResponseCode.TOPIC_NOT_EXIST);
    assert.match(response.remark ?? '', /topic\[Unknown\] not exist, apply first please!/);
    assert.equal((await client.invoke(updateTopicRequest('Known', 2), 3000)).code, ResponseCode.SUCCESS);
    assert.equal((await client.invoke(sendV2({ topic: 'Known', queueId: 1, body: Buffer.from('x') }), 3000)).code, ResponseCode.SUCCESS);
  } finally {
    client.close();
    await broker.stop();
    fs.rmSync(broker.storeDir, { recursive: true, force: true });
  }
});

test('consumer offsets and created topics survive a broker restart on the same store', { timeout: 20_000 }, async () => {
  const storeDir = scratchDir('offsets');
  try {
    let broker = await startTestBroker({}, storeDir);
    const port = broker.ports.listenPort;
    let client = new RemotingClient(broker.address);
    assert.equal((await client.invoke(updateTopicRequest('Kept', 4), 3000)).code, ResponseCode.SUCCESS);
    for (let i = 0; i < 3; i++) assert.equal((await client.invoke(sendV2({ topic: 'Kept', queueId: 2, body: Buffer.from(`m${i}`) }), 3000)).code, ResponseCode.SUCCESS);
    for (const [queueId, offset] of [[0, 0], [2, 3]]) {
      const update = createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'grp', topic: 'Kept', queueId: String(queueId), commitOffset: String(offset) });
      assert.equal((await client.invoke(update, 3000)).code, ResponseCode.SUCCESS);
    }
    client.close();
    await broker.stop();

    broker = await startTestBroker({ listenPort: String(port) }, storeDir);
    client = new RemotingClient(broker.address);
    try {
      const query = (queueId: number) => client.invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'grp', topic: 'Kept', queueId: String(queueId) }), 3000);
      assert.equal((await query(2)).extFields?.offset, '3');
      assert.equal((await query(0)).extFields?.offset, '0');
      const max = await client.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'Kept', queueId: '2' }), 3000);
      assert.equal(max.extFields?.offset, '3', 'the messages are still there');
      const all = await client.invoke(createRequest(RequestCode.GET_ALL_TOPIC_CONFIG), 3000);
      assert.equal(JSON.parse(all.body?.toString() ?? '{}').topicConfigTable.Kept.writeQueueNums, 4);
    } finally {
      client.close();
      await broker.stop();
    }
  } finally {
    fs.rmSync(storeDir, { recursive: true, force: true });
  }
});

/** A TCP proxy that holds every chunk for `delayMs` in both directions: a slow network to the name server. */
async function delayingProxy(target: number, delayMs: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port: target });
    for (const [from, to] of [[inbound, outbound], [outbound, inbound]]) {
      sockets.add(from);
      from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
      from.on('close', () => setTimeout(() => to.destroy(), delayMs));
      from.on('error', () => {});
    }
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

test('UPDATE_AND_CREATE_TOPIC: the route is visible through the name server as soon as the broker answers', { timeout: 20_000 }, async () => {
  const nameServer = new NameServer();
  const namesrvPort = await nameServer.listen(0);
  const namesrvAddr = `127.0.0.1:${namesrvPort}`;
  // The broker reaches the name server over a slow link; the admin client and the lookup do not.
  const proxy = await delayingProxy(namesrvPort, 40);
  const broker = await startTestBroker({ namesrvAddr: `127.0.0.1:${proxy.port}`, brokerName: 'broker-route' });
  const admin = new RemotingClient(broker.address);
  const lookup = new RemotingClient(namesrvAddr);
  try {
    const routeOf = (topic: string) => lookup.invoke(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 3000);
    assert.equal((await routeOf('NotYet')).code, ResponseCode.TOPIC_NOT_EXIST);
    for (let i = 0; i < 3; i++) {
      const topic = `Fresh${i}`;
      assert.equal((await admin.invoke(updateTopicRequest(topic, 3), 3000)).code, ResponseCode.SUCCESS);
      const route = await routeOf(topic);
      assert.equal(route.code, ResponseCode.SUCCESS, `route of ${topic} right after the create answer: ${route.remark}`);
      const data = JSON.parse(route.body?.toString() ?? '{}');
      assert.deepEqual(data.queueDatas.map((q: { brokerName: string; writeQueueNums: number }) => [q.brokerName, q.writeQueueNums]), [['broker-route', 3]]);
      assert.deepEqual(data.brokerDatas[0].brokerAddrs, { 0: broker.address });
    }
    // The broker unregisters when it stops.
    await broker.stop();
    assert.equal((await routeOf('Fresh0')).code, ResponseCode.TOPIC_NOT_EXIST);
  } finally {
    admin.close();
    lookup.close();
    await broker.stop();
    await proxy.close();
    await nameServer.close();
    fs.rmSync(broker.storeDir, { recursive: true, force: true });
  }
});

test('metrics endpoint: Prometheus text with rocketmq_flush_behind_bytes; POST /produce/<topic> answers PUT_OK', { timeout: 20_000 }, async () => {
  const broker = await startTestBroker({ metricsPort: '-1', httpProduceEnable: 'true' });
  try {
    const base = `http://127.0.0.1:${broker.ports.metricsPort}`;
    assert.ok(broker.ports.metricsPort && broker.ports.metricsPort > 0);
    const produced = await fetch(`${base}/produce/HttpTopic`, { method: 'POST', body: 'hello over http' });
    assert.equal(produced.status, 200);
    const result = await produced.json() as { status: string; queueId: number; queueOffset: number };
    assert.equal(result.status, 'PUT_OK');
    assert.equal(result.queueOffset, 0);
    const again = await (await fetch(`${base}/produce/HttpTopic`, { method: 'POST', body: 'second' })).json() as { status: string; queueId: number };
    assert.equal(again.status, 'PUT_OK');

    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await metrics.text();
    assert.match(text, /^# TYPE rocketmq_flush_behind_bytes gauge$/m);
    assert.match(text, /^rocketmq_flush_behind_bytes\{broker="broker-a",brokerId="0"\} \d+$/m);
    assert.match(text, /^rocketmq_messages_in_total\{[^}]*\} 2$/m);
    assert.match(text, /^rocketmq_send_status_total\{[^}]*status="PUT_OK"\} 2$/m);
    for (const line of text.trim().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+|\w+(\{[^}]*\})? (NaN|\+Inf))$/, `Prometheus line: ${line}`);

    const settings = await (await fetch(`${base}/settings`)).json() as Record<string, string>;
    assert.equal(settings.flushDiskType, 'ASYNC_FLUSH');
    assert.equal((await fetch(`${base}/produce/bad topic!`, { method: 'POST', body: 'x' })).status, 400);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
  } finally {
    await broker.stop();
    fs.rmSync(broker.storeDir, { recursive: true, force: true });
  }
});
