// SEND_MESSAGE (10) uses long header names; SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE
// (320) use one-letter keys a…n (SendMessageRequestHeaderV2). Both become SendRequestHeader.
import { FlushbenchError } from '../errors.js';

export interface SendRequestHeader {
  producerGroup: string;
  topic: string;
  defaultTopic: string;
  defaultTopicQueueNums: number;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string;
  reconsumeTimes: number;
  unitMode: boolean;
  maxReconsumeTimes: number | null;
  batch: boolean;
}

const V2_KEYS: Record<string, keyof SendRequestHeader> = {
  a: 'producerGroup', b: 'topic', c: 'defaultTopic', d: 'defaultTopicQueueNums', e: 'queueId', f: 'sysFlag',
  g: 'bornTimestamp', h: 'flag', i: 'properties', j: 'reconsumeTimes', k: 'unitMode', l: 'maxReconsumeTimes', m: 'batch',
};

const V2_SHORT_KEY = Object.fromEntries(Object.entries(V2_KEYS).map(([short, long]) => [long, short])) as Record<keyof SendRequestHeader, string>;

function required(fields: Record<string, string>, key: string, name: string): string {
  const value = fields[key];
  if (value === undefined) throw new FlushbenchError('MISSING_HEADER', `the request misses the required header field ${name}`);
  return value;
}

function integer(fields: Record<string, string>, key: string, name: string): number {
  const value = Number(required(fields, key, name));
  if (!Number.isFinite(value)) throw new FlushbenchError('BAD_HEADER', `header field ${name} is not a number: ${fields[key]}`);
  return value;
}

export function decodeSendHeader(fields: Record<string, string> | undefined, v2: boolean): SendRequestHeader {
  const f = fields ?? {};
  const key = (name: keyof SendRequestHeader): string => (v2 ? V2_SHORT_KEY[name] : name);
  const optional = (name: keyof SendRequestHeader) => f[key(name)];
  return {
    producerGroup: required(f, key('producerGroup'), 'producerGroup'),
    topic: required(f, key('topic'), 'topic'),
    defaultTopic: required(f, key('defaultTopic'), 'defaultTopic'),
    defaultTopicQueueNums: integer(f, key('defaultTopicQueueNums'), 'defaultTopicQueueNums'),
    queueId: integer(f, key('queueId'), 'queueId'),
    sysFlag: integer(f, key('sysFlag'), 'sysFlag'),
    bornTimestamp: integer(f, key('bornTimestamp'), 'bornTimestamp'),
    flag: integer(f, key('flag'), 'flag'),
    properties: optional('properties') ?? '',
    reconsumeTimes: Number(optional('reconsumeTimes') ?? 0) || 0,
    unitMode: optional('unitMode') === 'true',
    maxReconsumeTimes: optional('maxReconsumeTimes') !== undefined ? Number(optional('maxReconsumeTimes')) : null,
    batch: optional('batch') === 'true',
  };
}

/** One message of a SEND_BATCH_MESSAGE body (MessageDecoder.encodeMessage layout). */
export interface BatchItem {
  flag: number;
  body: Buffer;
  properties: string;
}

/** Splits a batch body; throws a FlushbenchError on a malformed body (→ MESSAGE_ILLEGAL). */
export function decodeBatchBody(body: Buffer): BatchItem[] {
  const items: BatchItem[] = [];
  let p = 0;
  while (p < body.length) {
    if (p + 20 > body.length) throw new FlushbenchError('BAD_BATCH', 'batch body ends inside a message header');
    const totalSize = body.readInt32BE(p);
    const flag = body.readInt32BE(p + 12);
    const bodyLength = body.readInt32BE(p + 16);
    const bodyStart = p + 20;
    if (totalSize < 22 || p + totalSize > body.length || bodyLength < 0 || bodyStart + bodyLength + 2 > p + totalSize) {
      throw new FlushbenchError('BAD_BATCH', `batch message at byte ${p} has inconsistent lengths`);
    }
    const propertiesLength = body.readInt16BE(bodyStart + bodyLength);
    const propertiesStart = bodyStart + bodyLength + 2;
    if (propertiesStart + propertiesLength !== p + totalSize) throw new FlushbenchError('BAD_BATCH', `batch message at byte ${p} has inconsistent lengths`);
    items.push({
      flag,
      body: body.subarray(bodyStart, bodyStart + bodyLength),
      properties: body.toString('utf8', propertiesStart, propertiesStart + propertiesLength),
    });
    p += totalSize;
  }
  return items;
}
