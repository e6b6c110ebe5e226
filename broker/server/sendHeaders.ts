// SEND_MESSAGE (10) uses long header names; SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE
// (320) use one-letter keys a…n (SendMessageRequestHeaderV2). Both become SendRequestHeader.
import { FlushbenchError } from '../../protocol/errors.js';
import { INT32_MAX, INT32_MIN, LONG_MAX, optionalInt, requiredInt, requiredText } from './headerFields.js';
import { checkGroup, checkTopic } from './nameValidator.js';

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

/** A client's defaultTopicQueueNums above this is refused (UPDATE_AND_CREATE_TOPIC's cap too). */
const QUEUE_NUMS_MAX = 1024;

/** Header keys of SEND_MESSAGE (10) and of SendMessageRequestHeaderV2 (310, 320: one letter each). */
type HeaderKey = keyof SendRequestHeader;
const V1_KEYS: Record<HeaderKey, string> = {
  producerGroup: 'producerGroup', topic: 'topic', defaultTopic: 'defaultTopic', defaultTopicQueueNums: 'defaultTopicQueueNums', queueId: 'queueId',
  sysFlag: 'sysFlag', bornTimestamp: 'bornTimestamp', flag: 'flag', properties: 'properties', reconsumeTimes: 'reconsumeTimes', unitMode: 'unitMode',
  maxReconsumeTimes: 'maxReconsumeTimes', batch: 'batch',
};
const V2_KEYS: Record<HeaderKey, string> = {
  producerGroup: 'a', topic: 'b', defaultTopic: 'c', defaultTopicQueueNums: 'd', queueId: 'e', sysFlag: 'f', bornTimestamp: 'g', flag: 'h',
  properties: 'i', reconsumeTimes: 'j', unitMode: 'k', maxReconsumeTimes: 'l', batch: 'm',
};

/**
 * SendMessageRequestHeader(V2) → SendRequestHeader, every field checked (names by
 * nameValidator, numbers by headerFields) before the processor assigns any offset; a bad field
 * throws a FlushbenchError naming it. Straight-line field reads: this runs once per send.
 */
export function decodeSendHeader(fields: Record<string, string> | undefined, v2: boolean): SendRequestHeader {
  const f = fields ?? {};
  const k = v2 ? V2_KEYS : V1_KEYS;
  return {
    producerGroup: checkGroup(requiredText(f, k.producerGroup, 'producerGroup'), 'producerGroup'),
    topic: checkTopic(requiredText(f, k.topic, 'topic'), 'topic'),
    defaultTopic: checkTopic(requiredText(f, k.defaultTopic, 'defaultTopic'), 'defaultTopic'),
    defaultTopicQueueNums: requiredInt(f, k.defaultTopicQueueNums, 1, QUEUE_NUMS_MAX, 'defaultTopicQueueNums'),
    queueId: requiredInt(f, k.queueId, INT32_MIN, INT32_MAX, 'queueId'),
    sysFlag: requiredInt(f, k.sysFlag, 0, INT32_MAX, 'sysFlag'),
    bornTimestamp: requiredInt(f, k.bornTimestamp, 0, LONG_MAX, 'bornTimestamp'),
    flag: requiredInt(f, k.flag, INT32_MIN, INT32_MAX, 'flag'),
    properties: f[k.properties] ?? '',
    reconsumeTimes: optionalInt(f, k.reconsumeTimes, 0, 0, INT32_MAX, 'reconsumeTimes'),
    unitMode: f[k.unitMode] === 'true',
    maxReconsumeTimes: f[k.maxReconsumeTimes] === undefined ? null : optionalInt(f, k.maxReconsumeTimes, -1, -1, INT32_MAX, 'maxReconsumeTimes'),
    batch: f[k.batch] === 'true',
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
