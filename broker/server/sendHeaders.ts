// SEND_MESSAGE (10) uses long header names; SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE
// (320) use one-letter keys a…n (SendMessageRequestHeaderV2). Both become SendRequestHeader.
import { FlushbenchError } from '../../protocol/errors.js';
import { INT32_MAX, INT32_MIN, LONG_MAX, missingHeader, parseIntegerField } from './headerFields.js';
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

/**
 * SendMessageRequestHeader(V2) → SendRequestHeader, every field checked (names by
 * nameValidator, numbers by headerFields) before the processor assigns any offset; a bad field
 * throws a FlushbenchError naming it. SEND_MESSAGE (10) uses the long names and
 * SendMessageRequestHeaderV2 (310, 320) one letter each (a…m). Each field is read with a named
 * property load: a key picked from a table made these loads megamorphic, and this runs per send.
 */
export function decodeSendHeader(fields: Record<string, string> | undefined, v2: boolean): SendRequestHeader {
  const f: Partial<Record<string, string>> = fields ?? {};
  return v2
    ? checkedSendHeader(f.a, f.b, f.c, f.d, f.e, f.f, f.g, f.h, f.i, f.j, f.k, f.l, f.m)
    : checkedSendHeader(f.producerGroup, f.topic, f.defaultTopic, f.defaultTopicQueueNums, f.queueId, f.sysFlag, f.bornTimestamp, f.flag,
      f.properties, f.reconsumeTimes, f.unitMode, f.maxReconsumeTimes, f.batch);
}

type Field = string | undefined;

function required(value: Field, name: string): string {
  return value === undefined ? missingHeader(name) : value;
}

function checkedSendHeader(
  producerGroup: Field, topic: Field, defaultTopic: Field, defaultTopicQueueNums: Field, queueId: Field, sysFlag: Field, bornTimestamp: Field,
  flag: Field, properties: Field, reconsumeTimes: Field, unitMode: Field, maxReconsumeTimes: Field, batch: Field,
): SendRequestHeader {
  return {
    producerGroup: checkGroup(required(producerGroup, 'producerGroup'), 'producerGroup'),
    topic: checkTopic(required(topic, 'topic'), 'topic'),
    defaultTopic: checkTopic(required(defaultTopic, 'defaultTopic'), 'defaultTopic'),
    defaultTopicQueueNums: parseIntegerField(required(defaultTopicQueueNums, 'defaultTopicQueueNums'), 'defaultTopicQueueNums', 1, QUEUE_NUMS_MAX),
    queueId: parseIntegerField(required(queueId, 'queueId'), 'queueId', INT32_MIN, INT32_MAX),
    sysFlag: parseIntegerField(required(sysFlag, 'sysFlag'), 'sysFlag', 0, INT32_MAX),
    bornTimestamp: parseIntegerField(required(bornTimestamp, 'bornTimestamp'), 'bornTimestamp', 0, LONG_MAX),
    flag: parseIntegerField(required(flag, 'flag'), 'flag', INT32_MIN, INT32_MAX),
    properties: properties ?? '',
    reconsumeTimes: reconsumeTimes === undefined ? 0 : parseIntegerField(reconsumeTimes, 'reconsumeTimes', 0, INT32_MAX),
    unitMode: unitMode === 'true',
    maxReconsumeTimes: maxReconsumeTimes === undefined ? null : parseIntegerField(maxReconsumeTimes, 'maxReconsumeTimes', -1, INT32_MAX),
    batch: batch === 'true',
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
