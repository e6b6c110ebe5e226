// SEND_MESSAGE (10) uses long header names; SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE
// (320) use one-letter keys a…n (SendMessageRequestHeaderV2). Both become SendRequestHeader.
import { FlushbenchError } from '../../protocol/errors.js';
import { INT32_MAX, INT32_MIN, LONG_MAX, missingHeader, parseIntegerField } from './headerFields.js';
import { checkGroup, checkTopic } from './nameValidator.js';
import { utf8Slice } from '../../protocol/headerCodec.js';
import { readInt16, readInt32 } from '../../protocol/bigEndian.js';
import type { RawExtFields } from '../../protocol/remotingCommand.js';

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
/** A number field: its text, or the value already parsed from the bytes (range still unchecked). */
type NumberField = string | number | undefined;

function required<T extends string | number>(value: T | undefined, name: string): T {
  return value === undefined ? missingHeader(name) : value;
}

function checkedSendHeader(
  producerGroup: Field, topic: Field, defaultTopic: Field, defaultTopicQueueNums: NumberField, queueId: NumberField, sysFlag: NumberField,
  bornTimestamp: NumberField, flag: NumberField, properties: Field, reconsumeTimes: NumberField, unitMode: Field, maxReconsumeTimes: NumberField, batch: Field,
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

// SendMessageRequestHeaderV2's one-letter keys, as bytes.
const KEY_A = 97;
const KEY_M = 109;

/** The last value seen under one key, so a repeated name (group, topic) is a byte compare, not a new string. */
class RepeatedText {
  private readonly bytes = Buffer.alloc(64);
  private length = -1;
  private text = '';

  read(source: Buffer, at: number, length: number): string {
    if (length > this.bytes.length) return utf8Slice(source, at, at + length);
    const remembered = this.bytes;
    if (length === this.length) {
      let i = 0;
      while (i < length && remembered[i] === source[at + i]) i++;
      if (i === length) return this.text;
    }
    this.text = utf8Slice(source, at, at + length);
    this.length = length;
    for (let i = 0; i < length; i++) remembered[i] = source[at + i];
    return this.text;
  }
}

const repeatedGroup = new RepeatedText();
const repeatedTopic = new RepeatedText();
const repeatedDefaultTopic = new RepeatedText();

/**
 * The value of bytes[at, at+length) when it is a plain decimal (0, or -?[1-9] digits, at most 15
 * digits: exact in a double); otherwise its text, which parseIntegerField then reads or refuses
 * as for a record (a refused value is quoted as sent, "+0" or "007", not as parsed).
 */
function numberAt(bytes: Buffer, at: number, length: number): number | string {
  const negative = bytes[at] === 45; /* - */
  const first = negative ? 1 : 0;
  const digits = length - first;
  if (digits < 1 || digits > 15 || (bytes[at + first] === 48 /* 0 */ && (digits > 1 || negative))) return utf8Slice(bytes, at, at + length);
  let value = 0;
  for (let i = first; i < length; i++) {
    const digit = bytes[at + i] - 48;
    if (digit < 0 || digit > 9) return utf8Slice(bytes, at, at + length);
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

function isTrue(bytes: Buffer, at: number, length: number): boolean {
  return length === 4 && bytes[at] === 116 && bytes[at + 1] === 114 && bytes[at + 2] === 117 && bytes[at + 3] === 101;
}

/**
 * decodeSendHeader for a SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE binary header left raw by the
 * server (RemotingCommand.rawExtFields): numbers are parsed from the bytes and repeated names
 * reused, so no record and no number strings are built per send. Same checks and results as
 * decodeSendHeader on the decoded record (a later duplicate key wins; unknown keys are ignored).
 */
export function decodeSendHeaderV2Raw(raw: RawExtFields): SendRequestHeader {
  const { bytes, end } = raw;
  let group: Field, topic: Field, defaultTopic: Field, properties: Field, unitMode: Field, batch: Field;
  let queueNums: NumberField, queueId: NumberField, sysFlag: NumberField, bornTimestamp: NumberField, flag: NumberField;
  let reconsumeTimes: NumberField, maxReconsumeTimes: NumberField;
  // Entry bounds were checked whole when the frame was decoded (headerCodec's checkExtEntries).
  for (let p = raw.start; p < end;) {
    const keyLength = readInt16(bytes, p);
    const key = keyLength === 1 ? bytes[p + 2] : 0;
    p += 2 + keyLength;
    const length = readInt32(bytes, p);
    const at = p + 4;
    p = at + length;
    if (key < KEY_A || key > KEY_M) continue;
    switch (key) {
      case 97: group = repeatedGroup.read(bytes, at, length); break; // a producerGroup
      case 98: topic = repeatedTopic.read(bytes, at, length); break; // b topic
      case 99: defaultTopic = repeatedDefaultTopic.read(bytes, at, length); break; // c defaultTopic
      case 100: queueNums = numberAt(bytes, at, length); break; // d defaultTopicQueueNums
      case 101: queueId = numberAt(bytes, at, length); break; // e queueId
      case 102: sysFlag = numberAt(bytes, at, length); break; // f sysFlag
      case 103: bornTimestamp = numberAt(bytes, at, length); break; // g bornTimestamp
      case 104: flag = numberAt(bytes, at, length); break; // h flag
      case 105: properties = length === 0 ? '' : utf8Slice(bytes, at, at + length); break; // i properties
      case 106: reconsumeTimes = numberAt(bytes, at, length); break; // j reconsumeTimes
      case 107: unitMode = isTrue(bytes, at, length) ? 'true' : 'false'; break; // k unitMode
      case 108: maxReconsumeTimes = numberAt(bytes, at, length); break; // l maxReconsumeTimes
      case 109: batch = isTrue(bytes, at, length) ? 'true' : 'false'; break; // m batch
    }
  }
  return checkedSendHeader(group, topic, defaultTopic, queueNums, queueId, sysFlag, bornTimestamp, flag, properties, reconsumeTimes, unitMode, maxReconsumeTimes, batch);
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
