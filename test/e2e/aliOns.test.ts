// End to end with a third-party pure-JS RocketMQ client (ali-ons) against `bench namesrv` +
// `bench broker` child processes: produce with tags and keys, consume with a group, commit
// offsets, restart the consumer and resume from the committed offsets.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { type ManagedProcess, startBenchProcess, stopProcess } from '../../loadgen/childProcesses.js';
import { SMALL_STORE } from '../server/brokerHarness.js';
import { freeBrokerPort } from '../support/ports.js';
import { scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';
import { runBench } from '../support/benchCli.js';

// ali-ons is CommonJS without types: describe the part this test uses.
interface OnsMessage {
  topic: string;
  tags: string;
  keys: string;
  body: Buffer;
  msgId: string;
  queueId: number;
  queueOffset: number;
}
interface OnsLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}
interface OnsProducer {
  ready(): Promise<void>;
  send(message: unknown): Promise<{ sendStatus: string; msgId: string; messageQueue: { queueId: number } }>;
  close(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): void;
}
interface OnsConsumer {
  ready(): Promise<void>;
  subscribe(topic: string, expression: string, handler: (message: OnsMessage) => Promise<void>): void;
  close(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): void;
}
interface AliOns {
  Producer: (new (options: Record<string, unknown>) => OnsProducer) & { defaultProducer: OnsProducer | null };
  Consumer: new (options: Record<string, unknown>) => OnsConsumer;
  Message: new (topic: string, tags: string, body: string | Buffer) => Omit<OnsMessage, "keys"> & { keys: string | string[] };
}
const ons = createRequire(import.meta.url)('ali-ons') as AliOns;

const TOPIC = 'E2ETopic';
const GROUP = 'e2e_consumer_group';
const FIRST_BATCH = 50;
const SECOND_BATCH = 20;
/** At-least-once: a restart may redeliver what was consumed but not yet committed. Offsets here were committed, so at most a few. */
const REDELIVERY_TOLERANCE = 4;

const clientErrors: string[] = [];
const quietLogger: OnsLogger = {
  info() {},
  debug() {},
  warn() {},
  error: (...args: unknown[]) => clientErrors.push(args.map(String).join(' ')),
};
/** Short client intervals so rebalancing is quick and the client's timers end soon after close. */
const clientTimings = {
  pollNameServerInteval: 1000, heartbeatBrokerInterval: 1000, rebalanceInterval: 1000, persistConsumerOffsetInterval: 500,
  brokerSuspendMaxTimeMillis: 1000, consumerTimeoutMillisWhenSuspend: 3000, pullTimeDelayMillsWhenException: 200,
};

function startConsumer(nameSrv: string, received: OnsMessage[]): OnsConsumer {
  const consumer = new ons.Consumer({
    httpclient: { request: async () => ({}) }, nameSrv, consumerGroup: GROUP, accessKeyId: 'x', accessKeySecret: 'y',
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: quietLogger, ...clientTimings,
  });
  consumer.on('error', (error) => clientErrors.push(`consumer: ${error.message}`));
  consumer.subscribe(TOPIC, '*', async (message) => {
    received.push(message);
  });
  return consumer;
}

/**
 * ali-ons keeps one process-wide inner producer (CLIENT_INNER_PRODUCER, for sending failed
 * messages back) that nothing closes; its MQClient's task loops would keep this process alive.
 */
async function closeInnerProducer(): Promise<void> {
  const inner = ons.Producer.defaultProducer;
  ons.Producer.defaultProducer = null;
  await inner?.close();
}

async function send(producer: OnsProducer, index: number): Promise<string> {
  const message = new ons.Message(TOPIC, `Tag${index % 3}`, `body-${index}-${'x'.repeat(index)}`);
  message.keys = [`key-${index}`, `order-${index * 7}`];
  const result = await producer.send(message);
  assert.equal(result.sendStatus, 'SEND_OK');
  return result.msgId;
}

function check(message: OnsMessage): number {
  const index = Number(/^body-(\d+)-/.exec(message.body.toString())?.[1]);
  assert.ok(Number.isInteger(index), `unexpected body ${message.body.toString().slice(0, 40)}`);
  assert.equal(message.body.toString(), `body-${index}-${'x'.repeat(index)}`);
  assert.equal(message.tags, `Tag${index % 3}`);
  assert.equal(message.keys, `key-${index} order-${index * 7}`);
  assert.equal(message.topic, TOPIC);
  return index;
}

test('ali-ons: produce 50 tagged/keyed messages, consume them all, commit, restart the consumer and resume', { timeout: 60_000 }, async () => {
  const dir = scratchDir('e2e');
  const processes: ManagedProcess[] = [];
  const closers: Array<() => Promise<void>> = [];
  try {
    const namesrv = await startBenchProcess('namesrv', ['namesrv', '--port', '0'], /namesrv listening on ([\d.]+):(\d+)/, { logDir: dir, timeoutMs: 20_000 });
    processes.push(namesrv.process);
    const nameSrv = `127.0.0.1:${namesrv.match[2]}`;
    const brokerPort = await freeBrokerPort();
    const broker = await startBenchProcess('broker', [
      'broker', `listenPort=${brokerPort}`, `namesrvAddr=${nameSrv}`, `storePathRootDir=${path.join(dir, 'store')}`, 'brokerName=e2e-broker', 'metricsPort=-1',
      ...Object.entries(SMALL_STORE).map(([k, v]) => `${k}=${v}`),
    ], /broker \S+ listening on/, { logDir: dir, timeoutMs: 20_000 });
    processes.push(broker.process);
    const created = await runBench(['topic', 'create', '-t', TOPIC, '-n', nameSrv, '-q', '4'], 20_000);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /topic E2ETopic \(4 queues\) created on 127\.0\.0\.1:\d+/);

    const producer = new ons.Producer({
      httpclient: { request: async () => ({}) }, nameSrv, producerGroup: 'e2e_producer_group', accessKeyId: 'x', accessKeySecret: 'y',
      logger: quietLogger, ...clientTimings,
    });
    producer.on('error', (error) => clientErrors.push(`producer: ${error.message}`));
    closers.push(() => producer.close());
    await producer.ready();
    const sentIds = new Set<string>();
    for (let i = 0; i < FIRST_BATCH; i++) sentIds.add(await send(producer, i));
    assert.equal(sentIds.size, FIRST_BATCH, 'every send got its own msgId');

    // First consumer: everything arrives unchanged.
    const firstReceived: OnsMessage[] = [];
    const first = startConsumer(nameSrv, firstReceived);
    await first.ready();
    await waitFor(() => new Set(firstReceived.map(check)).size === FIRST_BATCH, `${FIRST_BATCH} messages (have ${firstReceived.length}; client errors: ${clientErrors.slice(-3).join(' | ')})`, 25_000);
    assert.ok(new Set(firstReceived.map((m) => m.queueId)).size > 1, 'messages were spread over the queues');
    await first.close();

    // The group's offsets are on the broker and add up to everything consumed.
    const admin = new RemotingClient(`127.0.0.1:${brokerPort}`);
    closers.push(async () => admin.close());
    const committed = async () => {
      let sum = 0;
      for (let queueId = 0; queueId < 4; queueId++) {
        const response = await admin.invoke(createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: String(queueId) }), 3000);
        if (response.code === ResponseCode.SUCCESS) sum += Number(response.extFields?.offset);
      }
      return sum;
    };
    await waitFor(async () => (await committed()) === FIRST_BATCH, 'committed offsets to reach 50', 10_000);

    // Messages sent while no consumer runs, then a new consumer of the same group.
    for (let i = FIRST_BATCH; i < FIRST_BATCH + SECOND_BATCH; i++) await send(producer, i);
    const secondReceived: OnsMessage[] = [];
    const second = startConsumer(nameSrv, secondReceived);
    closers.unshift(() => second.close());
    await second.ready();
    const newOnes = () => new Set(secondReceived.map(check).filter((i) => i >= FIRST_BATCH));
    await waitFor(() => newOnes().size === SECOND_BATCH, `${SECOND_BATCH} new messages (have ${newOnes().size})`, 25_000);
    await new Promise((r) => setTimeout(r, 500)); // let any stray redelivery show up
    const redelivered = secondReceived.map(check).filter((i) => i < FIRST_BATCH);
    assert.ok(redelivered.length <= REDELIVERY_TOLERANCE, `redelivered old messages: ${redelivered.join(',')}`);
    assert.ok(redelivered.every((i) => i >= FIRST_BATCH - 4 * REDELIVERY_TOLERANCE), `only recent messages may come again: ${redelivered.join(',')}`);
    await waitFor(async () => (await committed()) === FIRST_BATCH + SECOND_BATCH, 'committed offsets to reach 70', 10_000);
    // The one expected complaint: the client looks up %RETRY%<group> before its first heartbeat
    // makes the broker create it (the Java client logs the same at start).
    const unexpected = clientErrors.filter((e) => !e.includes(`No topic route info in name server for the topic: %RETRY%${GROUP}`));
    assert.deepEqual(unexpected, [], 'the client reported no other errors');
  } finally {
    closers.push(closeInnerProducer);
    for (const close of closers) await close().catch((error: unknown) => clientErrors.push(`close: ${String(error)}`));
    for (const managed of processes.reverse()) await stopProcess(managed, 5000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
