// SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and SEND_MESSAGE (10): the one place that
// builds a send request. Field letters follow SendMessageRequestHeaderV2 (a = producerGroup …
// m = batch). A 4.9.4 Java producer sends a..k and m; `l` (maxReconsumeTimes) only when set,
// i.e. on retries to a %RETRY% topic. Everything that sends — load generator, verify, benches,
// tests — builds its frame here, so they all measure the same bytes.
import { RequestCode, SerializeType, type SerializeTypeValue } from '../codes.js';
import { createRequest, type RemotingCommand } from '../remotingCommand.js';

/** MessageConst's separators: NAME_VALUE_SEPARATOR (1) between name and value, PROPERTY_SEPARATOR (2) between pairs. */
const NAME_VALUE_SEPARATOR = '\u0001';
const PROPERTY_SEPARATOR = '\u0002';

export interface SendMessageFields {
  producerGroup: string;
  topic: string;
  queueId: number;
  /** MessageDecoder.messageProperties2String of the message's properties. */
  properties: string;
  /** The topic auto-creation copies from (TBW102). */
  defaultTopic?: string;
  defaultTopicQueueNums?: number;
  sysFlag?: number;
  /** A string, because the load generator patches a fixed-width placeholder in place. */
  bornTimestamp?: string;
  flag?: number;
  reconsumeTimes?: number;
  unitMode?: boolean;
  /** Sent only when defined (`l`); the Java client sets it on retries. */
  maxReconsumeTimes?: number;
}

/** The one-letter extFields of SendMessageRequestHeaderV2, in the order the Java client writes them. */
export function sendMessageV2Header(fields: SendMessageFields, batch = false): Record<string, string> {
  const header: Record<string, string> = {
    a: fields.producerGroup,
    b: fields.topic,
    c: fields.defaultTopic ?? 'TBW102',
    d: String(fields.defaultTopicQueueNums ?? 4),
    e: String(fields.queueId),
    f: String(fields.sysFlag ?? 0),
    g: fields.bornTimestamp ?? String(Date.now()),
    h: String(fields.flag ?? 0),
    i: fields.properties,
    j: String(fields.reconsumeTimes ?? 0),
    k: String(fields.unitMode ?? false),
  };
  if (fields.maxReconsumeTimes !== undefined) header.l = String(fields.maxReconsumeTimes);
  header.m = String(batch);
  return header;
}

export function sendMessageV2Request(fields: SendMessageFields, body: Buffer, serializeType: SerializeTypeValue = SerializeType.JSON): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE_V2, sendMessageV2Header(fields), body, serializeType);
}

/** SEND_BATCH_MESSAGE: the V2 header with m=true; `body` is encodeBatchBody's output. */
export function sendBatchMessageRequest(fields: SendMessageFields, body: Buffer, serializeType: SerializeTypeValue = SerializeType.JSON): RemotingCommand {
  return createRequest(RequestCode.SEND_BATCH_MESSAGE, sendMessageV2Header(fields, true), body, serializeType);
}

/** SEND_MESSAGE (10) with SendMessageRequestHeader's long field names (pre-V2 clients). */
export function sendMessageV1Request(fields: SendMessageFields, body: Buffer, serializeType: SerializeTypeValue = SerializeType.JSON): RemotingCommand {
  const v2 = sendMessageV2Header(fields);
  const header: Record<string, string> = {
    producerGroup: v2.a, topic: v2.b, defaultTopic: v2.c, defaultTopicQueueNums: v2.d, queueId: v2.e, sysFlag: v2.f,
    bornTimestamp: v2.g, flag: v2.h, properties: v2.i, reconsumeTimes: v2.j, unitMode: v2.k,
  };
  if (v2.l !== undefined) header.maxReconsumeTimes = v2.l;
  return createRequest(RequestCode.SEND_MESSAGE, header, body, serializeType);
}

/** MessageDecoder.messageProperties2String as of 4.9.3: name\u0001value pairs joined by \u0002 (no trailing separator). */
export function encodeMessageProperties(properties: Record<string, string>): string {
  return Object.entries(properties).map(([name, value]) => name + NAME_VALUE_SEPARATOR + value).join(PROPERTY_SEPARATOR);
}

export interface BatchEntry {
  body: Buffer;
  properties: string;
  flag?: number;
}

/**
 * A SEND_BATCH_MESSAGE body (MessageDecoder.encodeMessages): per message
 * {totalSize, magic 0, bodyCRC 0, flag, bodyLength, body, propertiesLength (int16), properties}.
 */
export function encodeBatchBody(messages: readonly BatchEntry[]): Buffer {
  const encoded = messages.map((m) => ({ ...m, props: Buffer.from(m.properties, 'utf8') }));
  const total = encoded.reduce((sum, m) => sum + 22 + m.body.length + m.props.length, 0);
  const out = Buffer.alloc(total);
  let p = 0;
  for (const m of encoded) {
    p = out.writeInt32BE(22 + m.body.length + m.props.length, p);
    p = out.writeInt32BE(0, p); // magic
    p = out.writeInt32BE(0, p); // body CRC: the broker computes it
    p = out.writeInt32BE(m.flag ?? 0, p);
    p = out.writeInt32BE(m.body.length, p);
    p += m.body.copy(out, p);
    p = out.writeInt16BE(m.props.length, p);
    p += m.props.copy(out, p);
  }
  return out;
}
