// ScheduleMessageService against an in-process broker with messageDelayLevel "1s 2s": DELAY
// messages wait in SCHEDULE_TOPIC_XXXX and then reach their real topic, CONSUMER_SEND_MSG_BACK
// retries are delayed the same way, delay offsets survive a restart, bad levels are refused.
//
// "Not before the delay" is checked exactly: a message stored at T is deliverable at T + delay,
// so a delivered record's store timestamp must be ≥ the schedule record's + the level's delay,
// and an absence seen less than the delay after the send proves the message was held back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';
import { PullSysFlag } from '../../broker/server/pullProcessor.js';
import { toScheduleTopic } from '../../broker/server/scheduleMessageService.js';
import { DEFAULT_MESSAGE_DELAY_LEVEL, parseMessageDelayLevel, SCHEDULE_TOPIC } from '../../broker/store/delayLevels.js';
import { encodeSocketAddress, findProperty, type MessageToStore, type StoredMessage, SysFlag } from '../../broker/store/messageCodec.js';
import {
  decodeRecords, pullRequest, sendV2, startTestBroker, type TestBroker,
} from './brokerHarness.js';
import { scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';
import { encodeBatchBody, sendBatchMessageRequest } from '../../protocol/requests/sendMessage.js';

const LEVELS = { messageDelayLevel: '1s 2s' };
const LEVEL_1_MS = 1000;
const LEVEL_2_MS = 2000;
/** Deliveries run every 100 ms after a 1 s first delay; 2 s level + slack under a loaded test run. */
const DELIVERY_WAIT_MS = 8000;
const P = (pairs: Record<string, string>) => Object.entries(pairs).map(([k, v]) => `${k}\u0001${v}`).join('\u0002');

let broker: TestBroker;
let client: RemotingClient;

before(async () => {
  broker = await startTestBroker(LEVELS);
  client = new RemotingClient(broker.address);
  const created = await client.invoke(updateTopicRequest('DelayT', 4), 3000);
  assert.equal(created.code, ResponseCode.SUCCESS, created.remark);
});

after(async () => {
  client.close();
  await broker.stop();
  fs.rmSync(broker.storeDir, { recursive: true, force: true });
});

async function maxOffset(c: RemotingClient, topic: string, queueId: number): Promise<number> {
  const response = await c.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic, queueId: String(queueId) }), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  return Number(response.extFields?.offset);
}

async function pullOne(c: RemotingClient, topic: string, queueId: number, queueOffset: number, tag?: string): Promise<StoredMessage> {
  const response = await c.invoke(pullRequest({
    topic, queueId, queueOffset, maxMsgNums: 1, ...(tag ? { sysFlag: PullSysFlag.SUBSCRIPTION, subscription: tag } : {}),
  }), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, `pull ${topic}/${queueId}@${queueOffset}: ${response.code} ${response.remark}`);
  const [record] = decodeRecords(response.body);
  return record;
}

async function runtimeTable(c: RemotingClient): Promise<Record<string, string>> {
  const response = await c.invoke(createRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 3000);
  return (JSON.parse(response.body?.toString('utf8') ?? '{}') as { table: Record<string, string> }).table;
}

async function delayOffsets(c: RemotingClient): Promise<string> {
  const response = await c.invoke(createRequest(RequestCode.GET_ALL_DELAY_OFFSET), 3000);
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  return response.body?.toString('utf8') ?? '';
}

test('messageDelayLevel: s/m/h/d parsed to ms; the default has 18 levels; a bad value is refused naming the key', () => {
  assert.deepEqual(parseMessageDelayLevel('1s 2m 3h 1d'), [1000, 120_000, 10_800_000, 86_400_000]);
  const defaults = parseMessageDelayLevel(DEFAULT_MESSAGE_DELAY_LEVEL);
  assert.equal(defaults.length, 18);
  assert.deepEqual([defaults[0], defaults[2], defaults[17]], [1000, 10_000, 7_200_000]);
  assert.deepEqual(brokerConfigFrom({ messageDelayLevel: ' 1s  2s ' }, {}).store.messageDelayLevel, '1s  2s', 'extra spaces are tolerated');
  for (const bad of ['1s 5x', '', '1.5s', 's', '1ms 2s', '-1s']) {
    assert.throws(() => brokerConfigFrom({ messageDelayLevel: bad }, {}), (error: unknown) => {
      assert.ok(error instanceof FlushbenchError);
      assert.equal(error.code, 'BAD_CONFIG');
      assert.match(error.message, /messageDelayLevel/);
      return true;
    }, `"${bad}" must be refused`);
  }
  assert.throws(() => brokerConfigFrom({ flushDelayOffsetInterval: '0' }, {}), /flushDelayOffsetInterval/);
});

test('toScheduleTopic: DELAY > 0 moves to SCHEDULE_TOPIC_XXXX queue level − 1 (capped), REAL_TOPIC/REAL_QID saved; others unchanged', () => {
  const host = encodeSocketAddress('127.0.0.1', 10911);
  const message = (properties: string, sysFlag = 0): MessageToStore => ({
    topic: 'T', queueId: 3, flag: 0, body: Buffer.from('b'), properties, sysFlag, bornTimestamp: 1, bornHost: host, storeHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0,
  });
  const plain = message(P({ TAGS: 'a' }));
  assert.equal(toScheduleTopic(plain, 2), plain);
  const zero = message(P({ DELAY: '0' }));
  assert.equal(toScheduleTopic(zero, 2), zero);
  const prepared = message(P({ DELAY: '1' }), SysFlag.TRANSACTION_PREPARED);
  assert.equal(toScheduleTopic(prepared, 2), prepared, 'a prepared transaction message is never delayed');
  const scheduled = toScheduleTopic(message(P({ TAGS: 'a', DELAY: '1', REAL_TOPIC: 'old' })), 2);
  assert.deepEqual([scheduled.topic, scheduled.queueId], [SCHEDULE_TOPIC, 0]);
  assert.deepEqual(['TAGS', 'DELAY', 'REAL_TOPIC', 'REAL_QID'].map((k) => findProperty(scheduled.properties, k)), ['a', '1', 'T', '3']);
  const capped = toScheduleTopic(message(P({ DELAY: '9' }), SysFlag.TRANSACTION_COMMIT), 2);
  assert.deepEqual([capped.queueId, findProperty(capped.properties, 'DELAY')], [1, '2'], 'levels above the table use the highest');
});

test('DELAY=1 waits in SCHEDULE_TOPIC_XXXX for 1 s, then reaches its real topic with body, keys and tag intact', { timeout: 20_000 }, async () => {
  const body = Buffer.from('delayed body');
  const sentAt = Date.now();
  const sent = await client.invoke(sendV2({ topic: 'DelayT', queueId: 2, body, properties: P({ KEYS: 'k1 k2', TAGS: 'TagA', UNIQ_KEY: 'D1', DELAY: '1', WAIT: 'true' }) }), 3000);
  const capped = await client.invoke(sendV2({ topic: 'DelayT', queueId: 1, body, properties: P({ UNIQ_KEY: 'D7', DELAY: '7' }) }), 3000);
  assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
  assert.equal(capped.code, ResponseCode.SUCCESS, capped.remark);
  assert.equal(sent.extFields?.queueId, '2', 'the response names the queue the producer chose');
  const realNow = await maxOffset(client, 'DelayT', 2);
  // Exact: nothing can be delivered before sentAt + 1 s, so an early look must find the queue empty.
  if (Date.now() - sentAt < LEVEL_1_MS) assert.equal(realNow, 0, 'not in the real topic before the delay');

  await waitFor(async () => (await maxOffset(client, SCHEDULE_TOPIC, 0)) >= 1, 'the schedule queue entry', 3000);
  const waiting = await pullOne(client, SCHEDULE_TOPIC, 0, 0);
  assert.equal(waiting.physicalOffset, Number.parseInt(sent.extFields?.msgId?.slice(16) ?? '', 16), 'the msgId names the schedule record');
  assert.deepEqual(['REAL_TOPIC', 'REAL_QID', 'DELAY'].map((k) => findProperty(waiting.properties, k)), ['DelayT', '2', '1']);
  const waitingCapped = await pullOne(client, SCHEDULE_TOPIC, 1, 0);
  assert.deepEqual(['REAL_QID', 'DELAY', 'UNIQ_KEY'].map((k) => findProperty(waitingCapped.properties, k)), ['1', '2', 'D7'], 'DELAY=7 capped to level 2');

  await waitFor(async () => (await maxOffset(client, 'DelayT', 2)) === 1, 'delivery to DelayT/2', DELIVERY_WAIT_MS);
  assert.ok(Date.now() - sentAt >= LEVEL_1_MS);
  const delivered = await pullOne(client, 'DelayT', 2, 0, 'TagA');
  assert.ok(delivered, 'the tag filter finds it: the real ConsumeQueue has the tag hash, not the deliver time');
  assert.deepEqual([delivered.topic, delivered.queueId], ['DelayT', 2]);
  assert.deepEqual(delivered.body, body);
  assert.deepEqual(['KEYS', 'TAGS', 'UNIQ_KEY', 'REAL_TOPIC', 'REAL_QID'].map((k) => findProperty(delivered.properties, k)), ['k1 k2', 'TagA', 'D1', 'DelayT', '2']);
  assert.ok(delivered.storeTimestamp >= waiting.storeTimestamp + LEVEL_1_MS, 'delivered no earlier than store time + 1 s');

  await waitFor(async () => (await maxOffset(client, 'DelayT', 1)) === 1, 'delivery of the capped message', DELIVERY_WAIT_MS);
  const deliveredCapped = await pullOne(client, 'DelayT', 1, 0);
  assert.ok(deliveredCapped.storeTimestamp >= waitingCapped.storeTimestamp + LEVEL_2_MS, 'level 2 waits 2 s');
  assert.equal(await maxOffset(client, SCHEDULE_TOPIC, 0), 1, 'delivery does not schedule the message again');

  const table = await runtimeTable(client);
  assert.equal(table.scheduleMessageOffset_1, '1,1', 'GET_BROKER_RUNTIME_INFO: delay offset, queue max offset');
  assert.equal(table.scheduleMessageOffset_2, '1,1');
  assert.deepEqual(JSON.parse(await delayOffsets(client)), { offsetTable: { 1: 1, 2: 1 } });
});

test('a batch carrying DELAY is MESSAGE_ILLEGAL; sending to SCHEDULE_TOPIC_XXXX directly is NO_PERMISSION', { timeout: 15_000 }, async () => {
  const request = sendBatchMessageRequest({ producerGroup: 'test_producer', topic: 'DelayT', queueId: 0, properties: P({ DELAY: '1' }) }, encodeBatchBody([{ body: Buffer.from('x'), properties: '' }]));
  const batch = await client.invoke(request, 3000);
  assert.equal(batch.code, ResponseCode.MESSAGE_ILLEGAL);
  assert.match(batch.remark ?? '', /delay/i);
  const direct = await client.invoke(sendV2({ topic: SCHEDULE_TOPIC, queueId: 0, body: Buffer.from('x') }), 3000);
  assert.equal(direct.code, ResponseCode.NO_PERMISSION);
  assert.equal(await maxOffset(client, 'DelayT', 0), 0, 'nothing stored');
});

test('CONSUMER_SEND_MSG_BACK: the retry reaches %RETRY%<group> only after its delay level; delayLevel < 0 goes to the DLQ at once', { timeout: 20_000 }, async () => {
  const sent = await client.invoke(sendV2({ topic: 'DelayT', queueId: 3, body: Buffer.from('failed once'), properties: P({ UNIQ_KEY: 'R1', TAGS: 'TagR' }) }), 3000);
  assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
  const offset = String(Number.parseInt(sent.extFields?.msgId?.slice(16) ?? '', 16));
  const scheduleBefore = await maxOffset(client, SCHEDULE_TOPIC, 0);
  const backAt = Date.now();
  const back = await client.invoke(createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset, group: 'cg', delayLevel: '1', originMsgId: 'R1', originTopic: 'DelayT', unitMode: 'false', maxReconsumeTimes: '16',
  }), 3000);
  assert.equal(back.code, ResponseCode.SUCCESS, back.remark);
  const retryNow = await maxOffset(client, '%RETRY%cg', 0);
  if (Date.now() - backAt < LEVEL_1_MS) assert.equal(retryNow, 0, 'not in the retry topic before the delay');
  await waitFor(async () => (await maxOffset(client, SCHEDULE_TOPIC, 0)) === scheduleBefore + 1, 'the retry in the schedule queue', 3000);
  const waiting = await pullOne(client, SCHEDULE_TOPIC, 0, scheduleBefore);
  assert.deepEqual(['REAL_TOPIC', 'REAL_QID', 'DELAY', 'RETRY_TOPIC'].map((k) => findProperty(waiting.properties, k)), ['%RETRY%cg', '0', '1', 'DelayT']);

  await waitFor(async () => (await maxOffset(client, '%RETRY%cg', 0)) === 1, 'the retry in %RETRY%cg', DELIVERY_WAIT_MS);
  const retry = await pullOne(client, '%RETRY%cg', 0, 0);
  assert.equal(retry.body.toString(), 'failed once');
  assert.equal(retry.reconsumeTimes, 1);
  assert.deepEqual(['RETRY_TOPIC', 'UNIQ_KEY', 'TAGS'].map((k) => findProperty(retry.properties, k)), ['DelayT', 'R1', 'TagR']);
  assert.ok(retry.storeTimestamp >= waiting.storeTimestamp + LEVEL_1_MS);

  const dead = await client.invoke(createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset, group: 'cg', delayLevel: '-1', originMsgId: 'R1', originTopic: 'DelayT', unitMode: 'false', maxReconsumeTimes: '16',
  }), 3000);
  assert.equal(dead.code, ResponseCode.SUCCESS, dead.remark);
  await waitFor(async () => (await maxOffset(client, '%DLQ%cg', 0)) === 1, 'the DLQ message', 3000);
  assert.equal(findProperty((await pullOne(client, '%DLQ%cg', 0, 0)).properties, 'DELAY'), '0');
  assert.equal(await maxOffset(client, SCHEDULE_TOPIC, 0), scheduleBefore + 1, 'the DLQ copy skips the schedule topic');

  // delayLevel 0 means 3 + reconsumeTimes, capped here to level 2 (queue 1).
  const scheduleLevel2 = await maxOffset(client, SCHEDULE_TOPIC, 1);
  const implicit = await client.invoke(createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset, group: 'cg', delayLevel: '0', originMsgId: 'R1', originTopic: 'DelayT', unitMode: 'false', maxReconsumeTimes: '16',
  }), 3000);
  assert.equal(implicit.code, ResponseCode.SUCCESS, implicit.remark);
  await waitFor(async () => (await maxOffset(client, SCHEDULE_TOPIC, 1)) === scheduleLevel2 + 1, 'the level-0 retry in schedule queue 1', 3000);
});

test('delay offsets survive a restart: delivered messages are not delivered again, pending ones are delivered once', { timeout: 40_000 }, async () => {
  const storeDir = scratchDir('schedule-restart');
  let first: TestBroker | null = await startTestBroker(LEVELS, storeDir);
  let second: TestBroker | null = null;
  let c = new RemotingClient(first.address);
  const send = async (body: string, level: number) => {
    const response = await c.invoke(sendV2({ topic: 'RestartT', queueId: 0, body: Buffer.from(body), properties: P({ DELAY: String(level) }) }), 3000);
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  };
  try {
    await send('m0', 1);
    await send('m1', 1);
    await waitFor(async () => (await maxOffset(c, 'RestartT', 0)) === 2, 'two deliveries before the restart', DELIVERY_WAIT_MS);
    await send('pending', 2); // stopped before its 2 s are up
    await waitFor(async () => (await maxOffset(c, SCHEDULE_TOPIC, 1)) === 1, 'the pending message in schedule queue 1', 3000);
    c.close();
    await first.stop();
    first = null;
    const saved = JSON.parse(fs.readFileSync(path.join(storeDir, 'config', 'delayOffset.json'), 'utf8')) as { offsetTable: Record<string, number> };
    // Written at shutdown (the periodic write is 10 s away). Level 2 is there only if a slow run
    // let the pending message go out before the stop.
    assert.equal(saved.offsetTable['1'], 2, 'RocketMQ\'s DelayOffsetSerializeWrapper form, written at shutdown');

    second = await startTestBroker(LEVELS, storeDir);
    c = new RemotingClient(second.address);
    await send('m2', 1);
    // Each level delivers in queue order: once m2 is there, m0/m1 would have come again before it.
    await waitFor(async () => (await maxOffset(c, SCHEDULE_TOPIC, 0)) === 3 && (await maxOffset(c, 'RestartT', 0)) >= 4, 'm2 and the pending message delivered', DELIVERY_WAIT_MS);
    const response = await c.invoke(pullRequest({ topic: 'RestartT', queueId: 0, queueOffset: 0 }), 3000);
    const bodies = decodeRecords(response.body).map((r) => r.body.toString());
    assert.deepEqual(bodies.slice(0, 2), ['m0', 'm1']);
    assert.deepEqual(bodies.slice(2).sort(), ['m2', 'pending'], 'nothing delivered twice');
    assert.deepEqual(JSON.parse(await delayOffsets(c)), { offsetTable: { 1: 3, 2: 1 } });
  } finally {
    c.close();
    await first?.stop();
    await second?.stop();
    fs.rmSync(storeDir, { recursive: true, force: true });
  }
});

test('a delayOffset.json that is not RocketMQ\'s format stops the broker start with an error naming the file', { timeout: 15_000 }, async () => {
  const storeDir = scratchDir('schedule-badfile');
  try {
    fs.mkdirSync(path.join(storeDir, 'config'), { recursive: true });
    fs.writeFileSync(path.join(storeDir, 'config', 'delayOffset.json'), '{"offsetTable":{"1":"x"}}');
    await assert.rejects(startTestBroker(LEVELS, storeDir), (error: unknown) => {
      assert.ok(error instanceof FlushbenchError);
      assert.equal(error.code, 'BAD_DELAY_OFFSET_FILE');
      assert.match(error.message, /delayOffset\.json/);
      return true;
    });
    assert.equal(fs.readFileSync(path.join(storeDir, 'config', 'delayOffset.json'), 'utf8'), '{"offsetTable":{"1":"x"}}', 'the file is left as it was');
    // fastjson's bare level keys (a Java master's file synced to a slave) are read.
    fs.writeFileSync(path.join(storeDir, 'config', 'delayOffset.json'), '{"offsetTable":{1:0,2:0}}');
    const ok = await startTestBroker(LEVELS, storeDir);
    const c = new RemotingClient(ok.address);
    try {
      assert.deepEqual(JSON.parse(await delayOffsets(c)), { offsetTable: { 1: 0, 2: 0 } });
    } finally {
      c.close();
      await ok.stop();
    }
  } finally {
    fs.rmSync(storeDir, { recursive: true, force: true });
  }
});
