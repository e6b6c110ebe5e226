// Helpers for broker tests: in-process brokers and request builders for the client side of the
// RocketMQ protocol (free ports and scratch directories come from test/support).
import { RequestCode, SerializeType, type SerializeTypeValue } from '../../protocol/codes.js';
import { createRequest, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { sendMessageV1Request, sendMessageV2Request, type SendMessageFields } from '../../protocol/requests/sendMessage.js';
import { BrokerController, type BrokerPorts, type BrokerStartOptions } from '../../broker/server/brokerController.js';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';
import { decodeMessage, type StoredMessage } from '../../broker/store/messageCodec.js';
import { freeBrokerPort } from '../support/ports.js';
import { scratchDir } from '../support/scratch.js';

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

function sendFields(o: SendOptions): SendMessageFields {
  return {
    producerGroup: o.producerGroup ?? 'test_producer', topic: o.topic, queueId: o.queueId ?? 0,
    defaultTopicQueueNums: o.defaultTopicQueueNums, properties: o.properties ?? 'WAIT\u0001true',
  };
}

/** SEND_MESSAGE_V2 exactly as the Java client builds it (one-letter keys a..k, m). */
export function sendV2(o: SendOptions): RemotingCommand {
  return sendMessageV2Request(sendFields(o), o.body, o.serializeType ?? SerializeType.JSON);
}

/** SEND_MESSAGE (10) with SendMessageRequestHeader's long field names. */
export function sendV1(o: SendOptions): RemotingCommand {
  return sendMessageV1Request(sendFields(o), o.body, o.serializeType ?? SerializeType.JSON);
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

