// PULL_MESSAGE (11): the request a consumer sends, and a checked decoder for the body it gets
// back — the CommitLog records each ConsumeQueue entry points at, byte for byte. The decoder
// never throws on bad bytes: a record that fails a check comes back with the reason, because a
// verifier must count corrupt records, not crash on them.
import { crc32 } from 'node:zlib';
import { RequestCode } from '../codes.js';
import { createRequest, type RemotingCommand } from '../remotingCommand.js';

export interface PullMessageFields {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  /** PullSysFlag bits; 0 = no commit, no suspend, no subscription in the request. */
  sysFlag?: number;
  commitOffset?: number;
  suspendTimeoutMillis?: number;
  subscription?: string;
}

export function pullMessageRequest(fields: PullMessageFields): RemotingCommand {
  const header: Record<string, string> = {
    consumerGroup: fields.consumerGroup, topic: fields.topic, queueId: String(fields.queueId), queueOffset: String(fields.queueOffset),
    maxMsgNums: String(fields.maxMsgNums), sysFlag: String(fields.sysFlag ?? 0), commitOffset: String(fields.commitOffset ?? 0),
    suspendTimeoutMillis: String(fields.suspendTimeoutMillis ?? 0), subVersion: '0', expressionType: 'TAG',
  };
  if (fields.subscription !== undefined) header.subscription = fields.subscription;
  return createRequest(RequestCode.PULL_MESSAGE, header);
}

const MESSAGE_MAGIC_CODE = 0xdaa320a7 | 0;
const BORNHOST_V6 = 0x10;
const STOREHOST_V6 = 0x20;
/** Smallest record: every fixed field, IPv4 hosts, empty body, topic and properties. */
const RECORD_BYTES_MIN = 91;

export interface PulledRecord {
  /** null when every check passed; otherwise what is wrong with the record. */
  problem: string | null;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  storeTimestampMs: number;
  topic: string;
  body: Buffer;
  /** RocketMQ's encoded properties (`name\u0001value` joined by `\u0002`). */
  properties: string;
}

function readInt64(buffer: Buffer, at: number): number {
  return buffer.readInt32BE(at) * 0x1_0000_0000 + buffer.readUInt32BE(at + 4);
}

/**
 * Splits a pull response body into records and checks each like CommitLog recovery does:
 * magic code, declared size against the fields, and the stored body CRC against the body.
 * A record whose size cannot be trusted ends the walk (its problem says so).
 */
export function decodePulledRecords(body: Buffer | undefined): PulledRecord[] {
  const out: PulledRecord[] = [];
  let at = 0;
  while (body && at < body.length) {
    const left = body.length - at;
    if (left < RECORD_BYTES_MIN) {
      out.push(brokenRecord(`${left} trailing bytes, less than a record`));
      break;
    }
    const totalSize = body.readInt32BE(at);
    if (totalSize < RECORD_BYTES_MIN || totalSize > left) {
      out.push(brokenRecord(`declared size ${totalSize} out of range (${left} bytes left)`));
      break;
    }
    out.push(decodeOne(body.subarray(at, at + totalSize)));
    at += totalSize;
  }
  return out;
}

function brokenRecord(problem: string): PulledRecord {
  return { problem, queueId: -1, queueOffset: -1, physicalOffset: -1, storeTimestampMs: 0, topic: '', body: Buffer.alloc(0), properties: '' };
}

function decodeOne(record: Buffer): PulledRecord {
  const result: PulledRecord = {
    problem: null,
    queueId: record.readInt32BE(12),
    queueOffset: readInt64(record, 20),
    physicalOffset: readInt64(record, 28),
    storeTimestampMs: 0,
    topic: '',
    body: Buffer.alloc(0),
    properties: '',
  };
  if (record.readInt32BE(4) !== MESSAGE_MAGIC_CODE) return { ...result, problem: `bad magic 0x${(record.readInt32BE(4) >>> 0).toString(16)}` };
  const sysFlag = record.readInt32BE(36);
  const bornHostBytes = sysFlag & BORNHOST_V6 ? 20 : 8;
  const storeHostBytes = sysFlag & STOREHOST_V6 ? 20 : 8;
  let p = 48 + bornHostBytes;
  if (p + 8 + storeHostBytes + 12 + 4 > record.length) return { ...result, problem: 'truncated before the body' };
  result.storeTimestampMs = readInt64(record, p);
  p += 8 + storeHostBytes + 4 + 8;
  const bodyLength = record.readInt32BE(p);
  p += 4;
  if (bodyLength < 0 || p + bodyLength + 1 > record.length) return { ...result, problem: `body length ${bodyLength} out of range` };
  result.body = record.subarray(p, p + bodyLength);
  p += bodyLength;
  const topicLength = record.readInt8(p);
  p += 1;
  if (topicLength < 0 || p + topicLength + 2 > record.length) return { ...result, problem: `topic length ${topicLength} out of range` };
  result.topic = record.toString('utf8', p, p + topicLength);
  p += topicLength;
  const propertiesLength = record.readInt16BE(p);
  p += 2;
  if (propertiesLength < 0 || p + propertiesLength !== record.length) return { ...result, problem: `fields sum to ${p + Math.max(0, propertiesLength)} bytes, header says ${record.length}` };
  result.properties = record.toString('utf8', p, p + propertiesLength);
  if ((crc32(result.body) & 0x7fffffff) !== record.readInt32BE(8)) return { ...result, problem: 'stored body CRC does not match the body' };
  return result;
}

/** One property of an encoded properties string, or undefined. */
export function propertyOf(properties: string, name: string): string | undefined {
  for (const pair of properties.split('\u0002')) {
    const cut = pair.indexOf('\u0001');
    if (cut > 0 && pair.slice(0, cut) === name) return pair.slice(cut + 1);
  }
  return undefined;
}
