// Names and numbers that arrive on the wire are checked before anything is stored: topic and
// group names follow TopicValidator (^[%|a-zA-Z0-9_-]+$, at most 127 characters for a topic),
// numeric header fields must be integers in their Java range, and a processor that throws
// answers SYSTEM_ERROR with a remark on a connection that stays usable.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { encodeBatchBody, sendBatchMessageRequest, sendMessageV2Header } from '../../protocol/requests/sendMessage.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';
import { pullRequest, sendV1, sendV2, startTestBroker, type TestBroker } from './brokerHarness.js';
import { removeScratch } from '../support/scratch.js';

let broker: TestBroker;
let client: RemotingClient;

const LONG_TOPIC = 'T'.repeat(128);
const BAD_NAMES = ['%DLQ%../../x', '../x', LONG_TOPIC, ''];

before(async () => {
  broker = await startTestBroker();
  client = new RemotingClient(broker.address);
  const created = await client.invoke(updateTopicRequest('VT', 2), 3000);
  assert.equal(created.code, ResponseCode.SUCCESS, created.remark);
});

after(async () => {
  client.close();
  await broker.stop();
  removeScratch(broker.storeDir);
});

function invoke(request: RemotingCommand): Promise<RemotingCommand> {
  return client.invoke(request, 3000);
}

function assertRefused(response: RemotingCommand, remark: RegExp, what: string): void {
  assert.equal(response.code, ResponseCode.SYSTEM_ERROR, `${what}: code ${response.code} ${response.remark ?? ''}`);
  assert.match(response.remark ?? '', remark, what);
}

async function maxOffset(topic: string, queueId: number): Promise<number> {
  const response = await invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic, queueId: String(queueId) }));
  assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
  return Number(response.extFields?.offset);
}

/** Every directory under the store root; none may lie outside it or carry "..". */
function storeDirectories(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(e.parentPath, e.name));
}

async function storedPhysicalOffset(topic: string): Promise<number> {
  const sent = await invoke(sendV2({ topic, queueId: 0, body: Buffer.from('to be sent back') }));
  assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
  return Number.parseInt((sent.extFields?.msgId ?? '').slice(16), 16);
}

test('CONSUMER_SEND_MSG_BACK: a group like ../../x is refused before anything is stored; no directory outside consumequeue/', { timeout: 15_000 }, async () => {
  const offset = await storedPhysicalOffset('VT');
  const parent = path.dirname(broker.storeDir);
  const before = fs.readdirSync(parent).length;
  for (const group of ['../../x', '../x', '', 'G'.repeat(121)]) {
    for (const delayLevel of ['-1', '0']) {
      const response = await invoke(createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { offset: String(offset), group, delayLevel, originMsgId: 'X', maxReconsumeTimes: '16' }));
      assertRefused(response, /group/, `send back for group ${JSON.stringify(group)} delayLevel ${delayLevel}`);
    }
  }
  const directories = storeDirectories(broker.storeDir);
  assert.ok(directories.every((d) => !d.includes('..')), directories.join('\n'));
  assert.ok(!fs.existsSync(path.join(broker.storeDir, 'x')) && !fs.existsSync(path.join(broker.storeDir, 'consumequeue', 'x')));
  assert.equal(fs.readdirSync(parent).length, before, 'nothing was created next to the store');
  // A good group still works.
  const good = await invoke(createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { offset: String(offset), group: 'good_group', delayLevel: '-1', originMsgId: 'X', maxReconsumeTimes: '16' }));
  assert.equal(good.code, ResponseCode.SUCCESS, good.remark);
});

test('send (V1, V2, batch): bad topic or producer group names answer SYSTEM_ERROR naming the field; 127 characters are fine', { timeout: 15_000 }, async () => {
  for (const topic of BAD_NAMES) {
    assertRefused(await invoke(sendV2({ topic, body: Buffer.from('x') })), /topic/, `V2 topic ${JSON.stringify(topic)}`);
    assertRefused(await invoke(sendV1({ topic, body: Buffer.from('x') })), /topic/, `V1 topic ${JSON.stringify(topic)}`);
    const batch = sendBatchMessageRequest({ producerGroup: 'pg', topic, queueId: 0, properties: '' }, encodeBatchBody([{ body: Buffer.from('b'), properties: '' }]));
    assertRefused(await invoke(batch), /topic/, `batch topic ${JSON.stringify(topic)}`);
  }
  for (const producerGroup of ['../x', '', 'g h']) {
    assertRefused(await invoke(sendV2({ topic: 'VT', producerGroup, body: Buffer.from('x') })), /producerGroup/, `producerGroup ${JSON.stringify(producerGroup)}`);
  }
  const longest = await invoke(sendV2({ topic: 'L'.repeat(127), body: Buffer.from('x') }));
  assert.equal(longest.code, ResponseCode.SUCCESS, longest.remark);
  assert.ok(!fs.existsSync(path.join(broker.storeDir, 'x')));
});

test('pull, topic creation, consumer offsets and heartbeats refuse bad names', { timeout: 15_000 }, async () => {
  for (const name of BAD_NAMES) {
    const shown = JSON.stringify(name);
    const group = name === LONG_TOPIC ? 'g'.repeat(256) : name; // groups may have 255 characters
    assertRefused(await invoke(pullRequest({ topic: name, queueOffset: 0 })), /topic/, `pull topic ${shown}`);
    assertRefused(await invoke(pullRequest({ topic: 'VT', queueOffset: 0, consumerGroup: group })), /consumerGroup/, `pull group ${shown}`);
    assertRefused(await invoke(updateTopicRequest(name, 1)), /topic/, `create topic ${shown}`);
    assertRefused(await invoke(createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'cg', topic: name, queueId: '0', commitOffset: '1' })), /topic/, `offset topic ${shown}`);
    assertRefused(await invoke(createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic: 'VT', queueId: '0', commitOffset: '1' })), /consumerGroup/, `offset group ${shown}`);
    assertRefused(await invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'cg', topic: name, queueId: '0' })), /topic/, `query topic ${shown}`);
    const heartbeat = (body: object) => createRequest(RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify(body)));
    assertRefused(await invoke(heartbeat({ clientID: 'c1', consumerDataSet: [{ groupName: name, subscriptionDataSet: [] }] })), /groupName/, `heartbeat group ${shown}`);
    assertRefused(await invoke(heartbeat({ clientID: 'c1', producerDataSet: [{ groupName: group }] })), /groupName/, `heartbeat producer ${shown}`);
    assertRefused(await invoke(heartbeat({ clientID: 'c1', consumerDataSet: [{ groupName: 'cg', subscriptionDataSet: [{ topic: name, subString: '*' }] }] })), /topic/, `heartbeat subscription ${shown}`);
  }
  const topics = await invoke(createRequest(RequestCode.GET_ALL_TOPIC_CONFIG, {}));
  assert.doesNotMatch(topics.body?.toString() ?? '', /\.\.|TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT/);
  const offsets = await invoke(createRequest(RequestCode.GET_ALL_CONSUMER_OFFSET, {}));
  assert.doesNotMatch(offsets.body?.toString() ?? '', /\.\./);
});

/** A SEND_MESSAGE_V2 for VT queue 0 with one header field replaced. */
function sendWith(key: string, value: string): RemotingCommand {
  const header = { ...sendMessageV2Header({ producerGroup: 'pg', topic: 'VT', queueId: 0, properties: '' }), [key]: value };
  return createRequest(RequestCode.SEND_MESSAGE_V2, header, Buffer.from('x'));
}

test('send: fractional, out-of-range or non-decimal numbers are refused naming the field and value, before any offset is assigned', { timeout: 15_000 }, async () => {
  const before = await maxOffset('VT', 0);
  const cases: Array<[string, string, string]> = [
    ['e', 'queueId', '0.5'], ['e', 'queueId', '1e0'], ['e', 'queueId', ''], ['e', 'queueId', '2147483648'], ['e', 'queueId', '-2147483649'], ['e', 'queueId', '0x0'],
    ['f', 'sysFlag', '-1'], ['f', 'sysFlag', '1.5'], ['g', 'bornTimestamp', '-1'], ['g', 'bornTimestamp', 'now'], ['g', 'bornTimestamp', '9007199254740993'],
    ['h', 'flag', '2147483648'], ['h', 'flag', '0.1'], ['j', 'reconsumeTimes', '-1'], ['j', 'reconsumeTimes', '2.5'],
    ['d', 'defaultTopicQueueNums', '0'], ['d', 'defaultTopicQueueNums', '1025'], ['d', 'defaultTopicQueueNums', '4.2'], ['l', 'maxReconsumeTimes', '1.5'], ['l', 'maxReconsumeTimes', '-2'],
  ];
  for (const [key, name, value] of cases) {
    const response = await invoke(sendWith(key, value));
    assertRefused(response, new RegExp(`${name}=${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${name}=${value}`);
  }
  assert.equal(await maxOffset('VT', 0), before, 'no refused send took a queue offset');
  // The limits themselves are accepted; queueId at or above the topic's queue count stays SYSTEM_ERROR (rocketmq-facts §2).
  assert.equal((await invoke(sendWith('h', '-2147483648'))).code, ResponseCode.SUCCESS);
  assertRefused(await invoke(sendWith('e', '2')), /queueId\[2\] is illegal/, 'queueId = queue count');
  assert.equal((await invoke(sendWith('e', '-1'))).code, ResponseCode.SUCCESS, 'a negative queueId lets the broker pick');
});

test('pull and consumer offset headers: every numeric field is checked', { timeout: 15_000 }, async () => {
  const pull = (key: string, value: string) => {
    const request = pullRequest({ topic: 'VT', queueOffset: 0 });
    request.extFields = { ...request.extFields, [key]: value };
    return request;
  };
  const cases: Array<[string, string]> = [
    ['queueOffset', '1.5'], ['queueOffset', 'x'], ['maxMsgNums', '-1'], ['maxMsgNums', '2147483648'], ['queueId', '-1'], ['queueId', '0.5'],
    ['commitOffset', 'x'], ['commitOffset', '-2'], ['suspendTimeoutMillis', '-5'], ['suspendTimeoutMillis', '1.5'], ['sysFlag', '1.5'], ['sysFlag', '-1'],
  ];
  for (const [key, value] of cases) assertRefused(await invoke(pull(key, value)), new RegExp(`${key}=`), `pull ${key}=${value}`);
  const update = (fields: Record<string, string>) => createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'cg', topic: 'VT', queueId: '0', commitOffset: '1', ...fields });
  assertRefused(await invoke(update({ queueId: '0.5' })), /queueId=/, 'offset queueId 0.5');
  assertRefused(await invoke(update({ commitOffset: '-3' })), /commitOffset=/, 'offset -3');
  assertRefused(await invoke(update({ commitOffset: '1e3' })), /commitOffset=/, 'offset 1e3');
  const query = createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'cg', topic: 'VT', queueId: '1.5' });
  assertRefused(await invoke(query), /queueId=/, 'query queueId 1.5');
  assert.ok(!fs.existsSync(path.join(broker.storeDir, 'consumequeue', 'VT', '0.5')));
});

test('a processor that throws answers SYSTEM_ERROR with a remark, and the connection keeps working', { timeout: 15_000 }, async () => {
  const missing = await invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'cg', topic: 'VT' }));
  assertRefused(missing, /misses the required header field queueId/, 'missing queueId');
  const sendBack = await invoke(createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { group: 'cg', delayLevel: '0' }));
  assertRefused(sendBack, /offset/, 'async processor without offset');
  const next = await invoke(sendV2({ topic: 'VT', body: Buffer.from('still connected') }));
  assert.equal(next.code, ResponseCode.SUCCESS, next.remark);
});
