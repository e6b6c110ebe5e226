// RocketMQ 4.x CommitLog record codec (MessageExtEncoder / MessageDecoder). Layout: FORMAT.md.
// The encoder writes straight into a caller's buffer so the append path allocates nothing
// per message beyond what the caller already holds.
import { crc32 } from 'node:zlib';
import { writeInt16, writeInt32, writeInt64 } from '../../protocol/bigEndian.js';
import { type NativeStringCodecs, writeUtf8 } from '../../protocol/headerCodec.js';

export const MESSAGE_MAGIC_CODE = 0xdaa320a7 | 0; // -626843481
export const BLANK_MAGIC_CODE = 0xcbd43194 | 0; // -875286124
/** int32 length + int32 blank magic written at the end of a segment that cannot take a record. */
export const END_FILE_MIN_BLANK_LENGTH = 8;

export const SysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_PREPARED: 0x4,
  TRANSACTION_COMMIT: 0x8,
  TRANSACTION_ROLLBACK: 0xc,
  BORNHOST_V6: 0x10,
  STOREHOST_V6: 0x20,
} as const;

/** Byte offsets of the fixed fields (IPv4 born host; fields after BORNHOST shift by 12 for IPv6). */
export const RecordField = {
  TOTAL_SIZE: 0,
  MAGIC: 4,
  BODY_CRC: 8,
  QUEUE_ID: 12,
  FLAG: 16,
  QUEUE_OFFSET: 20,
  PHYSICAL_OFFSET: 28,
  SYS_FLAG: 36,
  BORN_TIMESTAMP: 40,
  BORN_HOST: 48,
} as const;

export const PROPERTY_NAME_VALUE_SEPARATOR = '\u0001';
export const PROPERTY_SEPARATOR = '\u0002';
export const MAX_TOPIC_LENGTH_BYTES = 127;
export const MAX_PROPERTIES_LENGTH_BYTES = 32767;

/** An IPv4 (8 bytes: ip + int32 port) or IPv6 (20 bytes) socket address as stored on disk. */
export type SocketAddressBytes = Buffer;

export function encodeSocketAddress(ip: string, port: number): SocketAddressBytes {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip.replace(/^::ffff:/, ''));
  if (v4) {
    const out = Buffer.alloc(8);
    for (let i = 0; i < 4; i++) out[i] = Number(v4[i + 1]);
    out.writeInt32BE(port, 4);
    return out;
  }
  const out = Buffer.alloc(20);
  const [head, tail = ''] = ip.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const parts = [...headParts, ...Array(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  parts.forEach((part, i) => out.writeUInt16BE(parseInt(part || '0', 16), i * 2));
  out.writeInt32BE(port, 16);
  return out;
}

export function socketAddressToString(bytes: SocketAddressBytes): string {
  if (bytes.length === 8) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}:${bytes.readInt32BE(4)}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(bytes.readUInt16BE(i).toString(16));
  return `[${parts.join(':')}]:${bytes.readInt32BE(16)}`;
}

/** What a producer's send becomes before the store assigns offsets and the store timestamp. */
export interface MessageToStore {
  topic: string;
  queueId: number;
  flag: number;
  body: Buffer;
  /** RocketMQ's encoded properties: `key\u0001value` pairs joined by `\u0002`. */
  properties: string;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: SocketAddressBytes;
  storeHost: SocketAddressBytes;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  /** The TAGS hash of `properties` when the sender already read it (MessageExtBrokerInner.tagsCode); else computed from them. */
  tagsCode?: number;
}

/** A record read back from the CommitLog. */
export interface StoredMessage extends MessageToStore {
  totalSize: number;
  bodyCrc: number;
  queueOffset: number;
  physicalOffset: number;
  storeTimestamp: number;
}

export function bodyCrc(body: Buffer): number {
  return crc32(body) & 0x7fffffff;
}

/** Encoded length of a record, or throws a MessageEncodingError for an out-of-range field. */
export function recordLength(bodyLength: number, topicLengthBytes: number, propertiesLengthBytes: number, sysFlag: number): number {
  const bornHostLength = sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8;
  const storeHostLength = sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8;
  return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + bornHostLength + 8 + storeHostLength + 4 + 8 +
    4 + bodyLength + 1 + topicLengthBytes + 2 + propertiesLengthBytes;
}

/** A Java long at `offset` (the store's callers import it from here). */
export { writeInt64 } from '../../protocol/bigEndian.js';

export function readInt64(buffer: Buffer, offset: number): number {
  return buffer.readInt32BE(offset) * 0x1_0000_0000 + buffer.readUInt32BE(offset + 4);
}

export class MessageEncodingError extends Error {
  constructor(readonly reason: 'TOPIC_TOO_LONG' | 'PROPERTIES_TOO_LONG' | 'HOST_FLAG_MISMATCH', message: string) {
    super(message);
    this.name = 'MessageEncodingError';
  }
}

const INT32_MAX = 0x7fffffff;

/**
 * Checks every number the encoder writes, so the store can refuse a message before it assigns
 * any offset (an out-of-range value would otherwise throw a RangeError mid-append). Returns
 * null when all fit, else which field is wrong. Integer compares only: this runs per append.
 */
export function numericFieldProblem(message: MessageToStore): string | null {
  const { queueId, flag, sysFlag, reconsumeTimes, bornTimestamp, preparedTransactionOffset } = message;
  if (!Number.isInteger(queueId) || queueId < 0 || queueId > INT32_MAX) return `queueId=${queueId} must be an integer 0..${INT32_MAX}`;
  if ((flag | 0) !== flag) return `flag=${flag} must be a 32-bit integer`;
  if ((sysFlag | 0) !== sysFlag) return `sysFlag=${sysFlag} must be a 32-bit integer`;
  if ((reconsumeTimes | 0) !== reconsumeTimes || reconsumeTimes < 0) return `reconsumeTimes=${reconsumeTimes} must be an integer 0..${INT32_MAX}`;
  if (!Number.isSafeInteger(bornTimestamp)) return `bornTimestamp=${bornTimestamp} must be an integer number of ms`;
  if (!Number.isSafeInteger(preparedTransactionOffset)) return `preparedTransactionOffset=${preparedTransactionOffset} must be an integer`;
  return null;
}

/** Lengths the encoder needs; computing them once lets the caller check sizes before encoding. */
export interface EncodedLengths {
  topicBytes: number;
  propertiesBytes: number;
  totalBytes: number;
}

// The last topic measured: sends to one topic repeat it, and byteLength is a native call.
let measuredTopic = '';
let measuredTopicBytes = 0;

export function measureMessage(message: MessageToStore): EncodedLengths {
  if (message.topic !== measuredTopic) {
    measuredTopicBytes = Buffer.byteLength(message.topic, 'utf8');
    measuredTopic = message.topic;
  }
  const topicBytes = measuredTopicBytes;
  const propertiesBytes = Buffer.byteLength(message.properties, 'utf8');
  if (topicBytes > MAX_TOPIC_LENGTH_BYTES) {
    throw new MessageEncodingError('TOPIC_TOO_LONG', `topic is ${topicBytes} bytes; the limit is ${MAX_TOPIC_LENGTH_BYTES}`);
  }
  if (propertiesBytes > MAX_PROPERTIES_LENGTH_BYTES) {
    throw new MessageEncodingError('PROPERTIES_TOO_LONG', `properties are ${propertiesBytes} bytes; the limit is ${MAX_PROPERTIES_LENGTH_BYTES}`);
  }
  const bornV6 = message.bornHost.length === 20;
  const storeV6 = message.storeHost.length === 20;
  if (bornV6 !== Boolean(message.sysFlag & SysFlag.BORNHOST_V6) || storeV6 !== Boolean(message.sysFlag & SysFlag.STOREHOST_V6)) {
    throw new MessageEncodingError('HOST_FLAG_MISMATCH', 'sysFlag IPv6 bits do not match the host address lengths');
  }
  return { topicBytes, propertiesBytes, totalBytes: recordLength(message.body.length, topicBytes, propertiesBytes, message.sysFlag) };
}

/**
 * Writes one record at `at` in `target`; `lengths` must come from measureMessage(message).
 * Returns the offset just past the record.
 */
export function encodeMessage(
  target: Buffer,
  at: number,
  message: MessageToStore,
  lengths: EncodedLengths,
  queueOffset: number,
  physicalOffset: number,
  storeTimestamp: number,
): number {
  let p = at;
  p = writeInt32(target, p, lengths.totalBytes);
  p = writeInt32(target, p, MESSAGE_MAGIC_CODE);
  p = writeInt32(target, p, bodyCrc(message.body));
  p = writeInt32(target, p, message.queueId);
  p = writeInt32(target, p, message.flag);
  p = writeInt64(target, p, queueOffset);
  p = writeInt64(target, p, physicalOffset);
  p = writeInt32(target, p, message.sysFlag);
  p = writeInt64(target, p, message.bornTimestamp);
  // TypedArray set, not Buffer.copy: a plain memcpy without copy()'s argument handling (per message).
  target.set(message.bornHost, p);
  p = writeInt64(target, p + message.bornHost.length, storeTimestamp);
  target.set(message.storeHost, p);
  p = writeInt32(target, p + message.storeHost.length, message.reconsumeTimes);
  p = writeInt64(target, p, message.preparedTransactionOffset);
  p = writeInt32(target, p, message.body.length);
  target.set(message.body, p);
  p += message.body.length;
  target[p++] = lengths.topicBytes;
  p = writeUtf8(target, message.topic, p);
  p = writeInt16(target, p, lengths.propertiesBytes);
  p += (target as Buffer & NativeStringCodecs).utf8Write(message.properties, p); // measureMessage sized it
  return p;
}

/** Where the variable-length part of a record starts, given its sysFlag. */
function bodyLengthFieldOffset(sysFlag: number): number {
  const bornHostLength = sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8;
  const storeHostLength = sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8;
  return RecordField.BORN_HOST + bornHostLength + 8 + storeHostLength + 4 + 8;
}

export function storeTimestampOf(record: Buffer, at: number): number {
  const sysFlag = record.readInt32BE(at + RecordField.SYS_FLAG);
  const bornHostLength = sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8;
  return readInt64(record, at + RecordField.BORN_HOST + bornHostLength);
}

/** Decodes the record at `at`; the body is a view into `record` (no copy). */
export function decodeMessage(record: Buffer, at = 0): StoredMessage {
  const sysFlag = record.readInt32BE(at + RecordField.SYS_FLAG);
  const bornHostLength = sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8;
  const storeHostLength = sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8;
  let p = at + RecordField.BORN_HOST;
  const bornHost = Buffer.from(record.subarray(p, p + bornHostLength)); p += bornHostLength;
  const storeTimestamp = readInt64(record, p); p += 8;
  const storeHost = Buffer.from(record.subarray(p, p + storeHostLength)); p += storeHostLength;
  const reconsumeTimes = record.readInt32BE(p); p += 4;
  const preparedTransactionOffset = readInt64(record, p); p += 8;
  const bodyLength = record.readInt32BE(p); p += 4;
  const body = record.subarray(p, p + bodyLength); p += bodyLength;
  const topicLength = record.readInt8(p); p += 1;
  const topic = record.toString('utf8', p, p + topicLength); p += topicLength;
  const propertiesLength = record.readInt16BE(p); p += 2;
  const properties = record.toString('utf8', p, p + propertiesLength);
  return {
    totalSize: record.readInt32BE(at),
    bodyCrc: record.readInt32BE(at + RecordField.BODY_CRC),
    queueId: record.readInt32BE(at + RecordField.QUEUE_ID),
    flag: record.readInt32BE(at + RecordField.FLAG),
    queueOffset: readInt64(record, at + RecordField.QUEUE_OFFSET),
    physicalOffset: readInt64(record, at + RecordField.PHYSICAL_OFFSET),
    sysFlag,
    bornTimestamp: readInt64(record, at + RecordField.BORN_TIMESTAMP),
    bornHost,
    storeTimestamp,
    storeHost,
    reconsumeTimes,
    preparedTransactionOffset,
    body,
    topic,
    properties,
  };
}

export type RecordCheck =
  | { kind: 'message'; size: number }
  | { kind: 'blank'; size: number }
  | { kind: 'invalid'; reason: string };

/**
 * Validates the record at `at` like CommitLog.checkMessageAndReturnSize: magic code, declared
 * length against the fields, and (optionally) the body CRC. `available` bounds the read.
 */
export function checkRecord(buffer: Buffer, at: number, available: number, checkCrc: boolean): RecordCheck {
  if (available < 8) return { kind: 'invalid', reason: 'fewer than 8 bytes left' };
  const totalSize = buffer.readInt32BE(at);
  const magic = buffer.readInt32BE(at + 4);
  if (magic === BLANK_MAGIC_CODE) return { kind: 'blank', size: totalSize };
  if (magic !== MESSAGE_MAGIC_CODE) return { kind: 'invalid', reason: `bad magic 0x${(magic >>> 0).toString(16)}` };
  if (totalSize < 91 || totalSize > available) return { kind: 'invalid', reason: `declared size ${totalSize} out of range (available ${available})` };
  const sysFlag = buffer.readInt32BE(at + RecordField.SYS_FLAG);
  let p = at + bodyLengthFieldOffset(sysFlag);
  const end = at + totalSize;
  if (p + 4 > end) return { kind: 'invalid', reason: 'truncated before body' };
  const bodyLength = buffer.readInt32BE(p); p += 4;
  if (bodyLength < 0 || p + bodyLength + 1 > end) return { kind: 'invalid', reason: 'body length out of range' };
  if (checkCrc && (crc32(buffer.subarray(p, p + bodyLength)) & 0x7fffffff) !== buffer.readInt32BE(at + RecordField.BODY_CRC)) {
    return { kind: 'invalid', reason: 'body CRC mismatch' };
  }
  p += bodyLength;
  const topicLength = buffer.readInt8(p);
  p += 1 + topicLength;
  if (topicLength < 0 || p + 2 > end) return { kind: 'invalid', reason: 'topic length out of range' };
  const propertiesLength = buffer.readInt16BE(p); p += 2 + propertiesLength;
  if (propertiesLength < 0 || p !== end) return { kind: 'invalid', reason: `fields sum to ${p - at} bytes, header says ${totalSize}` };
  return { kind: 'message', size: totalSize };
}

/** Parses RocketMQ's properties string; accepts both the ≤4.9.2 trailing separator and ≥4.9.3 form. */
export function parseProperties(properties: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const pair of properties.split(PROPERTY_SEPARATOR)) {
    const cut = pair.indexOf(PROPERTY_NAME_VALUE_SEPARATOR);
    if (cut <= 0 || pair.length < 3) continue;
    map.set(pair.slice(0, cut), pair.slice(cut + 1));
  }
  return map;
}

/** Serializes properties the ≥4.9.3 way (no trailing separator). */
export function serializeProperties(properties: ReadonlyMap<string, string>): string {
  let out = '';
  for (const [key, value] of properties) {
    if (out) out += PROPERTY_SEPARATOR;
    out += key + PROPERTY_NAME_VALUE_SEPARATOR + value;
  }
  return out;
}

/**
 * Where the first pair named `key` starts in `properties`, or -1. Searches for the bare key and
 * checks the separators around it, so no `key + "\u0001"` is built per call (hot path).
 */
function pairStart(properties: string, key: string): number {
  const keyLength = key.length;
  let from = 0;
  for (;;) {
    const at = properties.indexOf(key, from);
    if (at < 0) return -1;
    if (properties.charCodeAt(at + keyLength) === 1 && (at === 0 || properties.charCodeAt(at - 1) === 2)) return at;
    from = at + 1;
  }
}

/** Looks up one property without building a map (hot path: WAIT, DELAY, TAGS per send). */
export function findProperty(properties: string, key: string): string | undefined {
  const at = pairStart(properties, key);
  if (at < 0) return undefined;
  const start = at + key.length + 1;
  const end = properties.indexOf(PROPERTY_SEPARATOR, start);
  return properties.slice(start, end < 0 ? properties.length : end);
}

/** Java's String.hashCode, which RocketMQ stores as the ConsumeQueue tag code. */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

export function tagsCodeOf(properties: string): number {
  const tags = findProperty(properties, 'TAGS');
  return tags ? javaStringHashCode(tags) : 0;
}

const storeHostHex = new WeakMap<SocketAddressBytes, string>();

const HEX_DIGIT_CODES = Array.from('0123456789ABCDEF', (digit) => digit.charCodeAt(0));
const offsetHexCodes: number[] = new Array<number>(16).fill(0);

/**
 * Offset msgId: store host (ip + port) + int64 physical offset, as upper-case hex. Built from
 * digit codes in one fromCharCode (per send; toString(16) + toUpperCase + padStart made three strings).
 */
export function offsetMessageId(storeHost: SocketAddressBytes, physicalOffset: number): string {
  let prefix = storeHostHex.get(storeHost);
  if (prefix === undefined) storeHostHex.set(storeHost, (prefix = storeHost.toString('hex').toUpperCase()));
  let high = Math.floor(physicalOffset / 0x1_0000_0000);
  let low = physicalOffset >>> 0;
  for (let i = 15; i >= 8; i--, low >>>= 4) offsetHexCodes[i] = HEX_DIGIT_CODES[low & 15];
  for (let i = 7; i >= 0; i--, high >>>= 4) offsetHexCodes[i] = HEX_DIGIT_CODES[high & 15];
  return prefix + String.fromCharCode.apply(null, offsetHexCodes);
}
