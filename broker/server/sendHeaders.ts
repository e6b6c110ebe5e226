// SEND_MESSAGE (10) uses long header names; SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE
// (320) use one-letter keys a…n (SendMessageRequestHeaderV2). Both become SendRequestHeader.
import { FlushbenchError } from '../../protocol/errors.js';

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

/** SendMessageRequestHeaderV2's one-letter keys: a producerGroup, b topic, c defaultTopic, d defaultTopicQueueNums, e queueId,
 * f sysFlag, g bornTimestamp, h flag, i properties, j reconsumeTimes, k unitMode, l maxReconsumeTimes, m batch. */

function missing(name: string): never {
  throw new FlushbenchError('MISSING_HEADER', `the request misses the required header field ${name}`);
}

function integer(value: string | undefined, name: string): number {
  if (value === undefined) missing(name);
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new FlushbenchError('BAD_HEADER', `header field ${name} is not a number: ${value}`);
  return parsed;
}

function text(value: string | undefined, name: string): string {
  return value === undefined ? missing(name) : value;
}

/**
 * SendMessageRequestHeader(V2) → SendRequestHeader. Straight-line field reads: this runs once
 * per send, so no per-field closures or key mapping.
 */
export function decodeSendHeader(fields: Record<string, string> | undefined, v2: boolean): SendRequestHeader {
  const f = fields ?? {};
  if (v2) {
    const maxReconsumeTimes = f.l;
    return {
      producerGroup: text(f.a, 'producerGroup'),
      topic: text(f.b, 'topic'),
      defaultTopic: text(f.c, 'defaultTopic'),
      defaultTopicQueueNums: integer(f.d, 'defaultTopicQueueNums'),
      queueId: integer(f.e, 'queueId'),
      sysFlag: integer(f.f, 'sysFlag'),
      bornTimestamp: integer(f.g, 'bornTimestamp'),
      flag: integer(f.h, 'flag'),
      properties: f.i ?? '',
      reconsumeTimes: Number(f.j ?? 0) || 0,
      unitMode: f.k === 'true',
      maxReconsumeTimes: maxReconsumeTimes !== undefined ? Number(maxReconsumeTimes) : null,
      batch: f.m === 'true',
    };
  }
  return {
    producerGroup: text(f.producerGroup, 'producerGroup'),
    topic: text(f.topic, 'topic'),
    defaultTopic: text(f.defaultTopic, 'defaultTopic'),
    defaultTopicQueueNums: integer(f.defaultTopicQueueNums, 'defaultTopicQueueNums'),
    queueId: integer(f.queueId, 'queueId'),
    sysFlag: integer(f.sysFlag, 'sysFlag'),
    bornTimestamp: integer(f.bornTimestamp, 'bornTimestamp'),
    flag: integer(f.flag, 'flag'),
    properties: f.properties ?? '',
    reconsumeTimes: Number(f.reconsumeTimes ?? 0) || 0,
    unitMode: f.unitMode === 'true',
    maxReconsumeTimes: f.maxReconsumeTimes !== undefined ? Number(f.maxReconsumeTimes) : null,
    batch: f.batch === 'true',
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
