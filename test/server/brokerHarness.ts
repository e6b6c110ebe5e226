// Helpers for broker tests: free ports, scratch store directories, in-process brokers and
// request builders for the client side of the RocketMQ protocol.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RequestCode, SerializeType, type SerializeTypeValue } from '../../broker/remoting/codes.js';
import { createRequest, type RemotingCommand } from '../../broker/remoting/remotingCommand.js';
import { BrokerController, type BrokerPorts, type BrokerStartOptions } from '../../broker/server/brokerController.js';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';
import { decodeMessage, type StoredMessage } from '../../broker/store/messageCodec.js';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port p whose p+1 (HA) and p−2 (VIP) are free too, as a broker needs. Ports come from
 * the kernel's ephemeral range, so parallel test files do not collide on fixed numbers.
 */
export async function freeBrokerPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = net.createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as net.AddressInfo).port)));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    if (port > 1024 && port < 65534 && (await canListen(port)) && (await canListen(port + 1)) && (await canListen(port - 2))) return port;
  }
  throw new Error('no free port triple found after 50 attempts');
}

export function scratchDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `flushbench-${label}-`));
}

/** Small segments so tests stay light on disk. */
export const SMALL_STORE = { mappedFileSizeCommitLog: '1048576', mappedFileSizeConsumeQueue: '60000' };

export interface TestBroker {
  broker: BrokerController;
  ports: BrokerPorts;
  address: string;
  storeDir: string;
  stop(): Promise<void>;
}

export async function startTestBroker(overrides: Record<string, string> = {}, storeDir = scratchDir('broker'), options: BrokerStartOptions = {}): Promise<TestBroker> {
  const listenPort = overrides.listenPort ? Number(overrides.listenPort) : await freeBrokerPort();
  const config = brokerConfigFrom({
    brokerName: 'broker-a', brokerClusterName: 'TestCluster', namesrvAddr: '', storePathRootDir: storeDir, listenPort: String(listenPort),
    ...SMALL_STORE, ...overrides,
  }, {});
  const { broker, ports } = await BrokerController.start(config, options);
  let stopped = false;
  return {
    broker, ports, storeDir, address: `127.0.0.1:${ports.listenPort}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await broker.shutdown();
    },
  };
}

export interface SendOptions {
  topic: string;
  body: Buffer;
  queueId?: number;
  properties?: string;
  serializeType?: SerializeTypeValue;
  producerGroup?: string;
  defaultTopicQueueNums?: number;
}

/** SEND_MESSAGE_V2 exactly as the Java client builds it (one-letter keys a..l). */
export function sendV2(o: SendOptions): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: o.producerGroup ?? 'test_producer', b: o.topic, c: 'TBW102', d: String(o.defaultTopicQueueNums ?? 4), e: String(o.queueId ?? 0), f: '0',
    g: String(Date.now()), h: '0', i: o.properties ?? 'WAIT\u0001true', j: '0', k: 'false', l: '16',
  }, o.body, o.serializeType ?? SerializeType.JSON);
}

/** SEND_MESSAGE (10) with SendMessageRequestHeader's long field names. */
export function sendV1(o: SendOptions): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE, {
    producerGroup: o.producerGroup ?? 'test_producer', topic: o.topic, defaultTopic: 'TBW102', defaultTopicQueueNums: String(o.defaultTopicQueueNums ?? 4),
    queueId: String(o.queueId ?? 0), sysFlag: '0', bornTimestamp: String(Date.now()), flag: '0', properties: o.properties ?? 'WAIT\u0001true',
    reconsumeTimes: '0', unitMode: 'false',
  }, o.body, o.serializeType ?? SerializeType.JSON);
}

/** A SEND_BATCH_MESSAGE body: MessageDecoder.encodeMessage for each message, concatenated. */
export function batchBody(messages: Array<{ body: Buffer; properties: string }>): Buffer {
  return Buffer.concat(messages.map(({ body, properties }) => {
    const props = Buffer.from(properties, 'utf8');
    const out = Buffer.alloc(20 + body.length + 2 + props.length);
    out.writeInt32BE(out.length, 0);
    out.writeInt32BE(0, 4); // magic
    out.writeInt32BE(0, 8); // body CRC
    out.writeInt32BE(0, 12); // flag
    out.writeInt32BE(body.length, 16);
    body.copy(out, 20);
    out.writeInt16BE(props.length, 20 + body.length);
    props.copy(out, 22 + body.length);
    return out;
  }));
}

export interface PullOptions {
  topic: string;
  queueId?: number;
  queueOffset: number;
  maxMsgNums?: number;
  sysFlag?: number;
  commitOffset?: number;
  suspendTimeoutMillis?: number;
  consumerGroup?: string;
  subscription?: string;
}

export function pullRequest(o: PullOptions): RemotingCommand {
  const fields: Record<string, string> = {
    consumerGroup: o.consumerGroup ?? 'test_consumer', topic: o.topic, queueId: String(o.queueId ?? 0), queueOffset: String(o.queueOffset),
    maxMsgNums: String(o.maxMsgNums ?? 32), sysFlag: String(o.sysFlag ?? 0), commitOffset: String(o.commitOffset ?? 0),
    suspendTimeoutMillis: String(o.suspendTimeoutMillis ?? 0), subVersion: '0', expressionType: 'TAG',
  };
  if (o.subscription !== undefined) fields.subscription = o.subscription;
  return createRequest(RequestCode.PULL_MESSAGE, fields);
}

/** Splits a pull response body into its CommitLog records. */
export function decodeRecords(body: Buffer | undefined): StoredMessage[] {
  const out: StoredMessage[] = [];
  for (let p = 0; body && p < body.length; p += body.readInt32BE(p)) out.push(decodeMessage(body, p));
  return out;
}

/** The offset msgId RocketMQ builds: ip (4) + port (4) + commitlog offset (8), upper-case hex. */
export function expectedMsgId(ip: string, port: number, physicalOffset: number): string {
  const ipHex = ip.split('.').map((part) => Number(part).toString(16).padStart(2, '0')).join('');
  return (ipHex + port.toString(16).padStart(8, '0') + physicalOffset.toString(16).padStart(16, '0')).toUpperCase();
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
