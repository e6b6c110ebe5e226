// The body of REGISTER_BROKER (RegisterBrokerBody, apache/rocketmq 4.9.x), in its two forms:
//   plain (header compressed=false): fastjson JSON
//     {"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":1,"timestamp":…},
//      "topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG",
//      "topicName":"T","topicSysFlag":0,"writeQueueNums":8}}}}
//   compressed (header compressed=true): zlib deflate of
//     int32 len + DataVersion JSON | int32 topicCount | topicCount × (int32 len + "name read write perm filterType")
//     | int32 len + filterServerList JSON
//     (TopicConfig.encode: five space-separated fields; topicSysFlag and order are not carried.)
// Brokers older than V3_0_11 (version < 37) send a bare TopicConfigSerializeWrapper instead.
import { deflateSync, inflateSync } from 'node:zlib';
import { FlushbenchError } from '../../protocol/errors.js';

export interface DataVersion {
  counter: number;
  timestamp: number;
}

export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType?: string;
  topicSysFlag?: number;
  order?: boolean;
}

export interface RegisterBrokerBody {
  topicConfigTable: Record<string, TopicConfig>;
  dataVersion: DataVersion;
  filterServerList: string[];
}

/** MQVersion.Version.V3_0_11.ordinal(): from this version on the body is a RegisterBrokerBody. */
export const REGISTER_BODY_MIN_VERSION = 37;
/** Bounds for the compressed form, so a hostile length cannot make us allocate gigabytes. */
const INFLATED_MAX_BYTES = 64 * 1024 * 1024;

function bad(message: string): never {
  throw new FlushbenchError('BAD_REGISTER_BODY', `REGISTER_BROKER body: ${message}`);
}

function asDataVersion(value: unknown): DataVersion {
  const v = (value ?? {}) as { counter?: unknown; timestamp?: unknown };
  return { counter: Number(v.counter ?? 0), timestamp: Number(v.timestamp ?? 0) };
}

function asTopicTable(value: unknown): Record<string, TopicConfig> {
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) bad('topicConfigTable is not an object');
  const table: Record<string, TopicConfig> = {};
  for (const [name, raw] of Object.entries(value as Record<string, Partial<TopicConfig>>)) {
    if (!raw || typeof raw !== 'object') bad(`topic ${name} is not an object`);
    const config: TopicConfig = {
      topicName: raw.topicName ?? name,
      readQueueNums: Number(raw.readQueueNums ?? 16),
      writeQueueNums: Number(raw.writeQueueNums ?? 16),
      perm: Number(raw.perm ?? 6),
      topicFilterType: raw.topicFilterType ?? 'SINGLE_TAG',
      topicSysFlag: Number(raw.topicSysFlag ?? 0),
      order: Boolean(raw.order ?? false),
    };
    if (![config.readQueueNums, config.writeQueueNums, config.perm, config.topicSysFlag].every(Number.isInteger)) bad(`topic ${name} has a non-integer queue count, perm or flag`);
    table[name] = config;
  }
  return table;
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return bad(`${what} is not JSON`);
  }
}

/** Reads a REGISTER_BROKER body; `version` is the request's version (bare wrapper below V3_0_11). */
export function decodeRegisterBrokerBody(body: Buffer | undefined, compressed: boolean, version: number = REGISTER_BODY_MIN_VERSION): RegisterBrokerBody {
  if (!body || body.length === 0) return { topicConfigTable: {}, dataVersion: { counter: 0, timestamp: 0 }, filterServerList: [] };
  if (version < REGISTER_BODY_MIN_VERSION) {
    const wrapper = parseJson(body, 'the topic config wrapper') as { topicConfigTable?: unknown; dataVersion?: unknown };
    return { topicConfigTable: asTopicTable(wrapper?.topicConfigTable), dataVersion: asDataVersion(wrapper?.dataVersion), filterServerList: [] };
  }
  if (!compressed) {
    const parsed = parseJson(body, 'the body') as { topicConfigSerializeWrapper?: { topicConfigTable?: unknown; dataVersion?: unknown }; filterServerList?: unknown };
    if (!parsed || typeof parsed !== 'object') bad('not a JSON object');
    const wrapper = parsed.topicConfigSerializeWrapper ?? {};
    const filters = Array.isArray(parsed.filterServerList) ? parsed.filterServerList.map(String) : [];
    return { topicConfigTable: asTopicTable(wrapper.topicConfigTable), dataVersion: asDataVersion(wrapper.dataVersion), filterServerList: filters };
  }
  let raw: Buffer;
  try {
    raw = inflateSync(body, { maxOutputLength: INFLATED_MAX_BYTES });
  } catch (error) {
    return bad(`compressed=true but the body does not inflate (${(error as Error).message})`);
  }
  let p = 0;
  const chunk = (what: string): Buffer => {
    if (p + 4 > raw.length) bad(`truncated before the length of ${what}`);
    const length = raw.readInt32BE(p);
    p += 4;
    if (length < 0 || p + length > raw.length) bad(`length ${length} of ${what} is out of range`);
    p += length;
    return raw.subarray(p - length, p);
  };
  const dataVersion = asDataVersion(parseJson(chunk('the data version'), 'the data version'));
  if (p + 4 > raw.length) bad('truncated before the topic count');
  const topicCount = raw.readInt32BE(p);
  p += 4;
  if (topicCount < 0 || topicCount * 4 > raw.length - p) bad(`topic count ${topicCount} is out of range`);
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (let i = 0; i < topicCount; i++) {
    const fields = chunk(`topic config ${i}`).toString('utf8').split(' ');
    const [topicName, read, write, perm, filterType] = fields;
    const numbers = [read, write, perm].map(Number);
    if (fields.length !== 5 || !topicName || !numbers.every(Number.isInteger)) bad(`topic config ${i} is not "name read write perm filterType"`);
    topicConfigTable[topicName] = { topicName, readQueueNums: numbers[0], writeQueueNums: numbers[1], perm: numbers[2], topicFilterType: filterType, topicSysFlag: 0, order: false };
  }
  const filters = parseJson(chunk('the filter server list'), 'the filter server list');
  return { topicConfigTable, dataVersion, filterServerList: Array.isArray(filters) ? filters.map(String) : [] };
}

/** Writes a REGISTER_BROKER body in either form (what a 4.9.x broker sends). */
export function encodeRegisterBrokerBody(body: RegisterBrokerBody, compress: boolean): Buffer {
  if (!compress) {
    return Buffer.from(JSON.stringify({
      filterServerList: body.filterServerList,
      topicConfigSerializeWrapper: { dataVersion: body.dataVersion, topicConfigTable: body.topicConfigTable },
    }));
  }
  const parts: Buffer[] = [];
  const put = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeInt32BE(bytes.length, 0);
    parts.push(length, bytes);
  };
  put(JSON.stringify({ counter: body.dataVersion.counter, timestamp: body.dataVersion.timestamp }));
  const topics = Object.values(body.topicConfigTable);
  const count = Buffer.alloc(4);
  count.writeInt32BE(topics.length, 0);
  parts.push(count);
  for (const t of topics) put(`${t.topicName} ${t.readQueueNums} ${t.writeQueueNums} ${t.perm} ${t.topicFilterType ?? 'SINGLE_TAG'}`);
  put(JSON.stringify(body.filterServerList));
  return deflateSync(Buffer.concat(parts), { level: 9 });
}
