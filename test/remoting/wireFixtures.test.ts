// Wire fixtures written out as literal bytes (hex and header text taken from the format in
// ref/rocketmq-facts.md §1, computed outside this code base), for SEND_MESSAGE_V2 as the
// 4.9.4 Java client sends it (a..k and m; l only on retries) and its SendMessageResponseHeader,
// in both header types. Encoding must give exactly these bytes; decoding them must give the command.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LanguageCode, languageName, languageNumber, RequestCode, ResponseCode, SerializeType } from '../../protocol/codes.js';
import { decodeFrameContent, encodeFrame, FrameDecoder } from '../../protocol/frameCodec.js';
import { decodeHeader, encodeHeader } from '../../protocol/headerCodec.js';
import { createRequest, createResponse, isOneway, isResponse, nextOpaque, type RemotingCommand } from '../../protocol/remotingCommand.js';

const BODY = Buffer.from('hello, rocketmq!');
const EXT: Record<string, string> = {
  a: 'benchmark_producer', b: 'BenchmarkTest', c: 'TBW102', d: '4', e: '3', f: '0', g: '1700000000123', h: '0',
  i: 'UNIQ_KEY\u00017F0000010001B4AAC3B2F1A7F50000\u0002WAIT\u0001true', j: '0', k: 'false', m: 'false',
};
const RESPONSE_EXT: Record<string, string> = { msgId: '7F00000100002A9F0000000000001F40', queueId: '3', queueOffset: '42' };

const request = (serializeType: 0 | 1): RemotingCommand => ({ code: 310, language: 'JAVA', version: 401, opaque: 12345, flag: 0, extFields: { ...EXT }, body: BODY, serializeType });
const response = (serializeType: 0 | 1): RemotingCommand => ({ code: 0, language: 'JAVA', version: 401, opaque: 12345, flag: 1, extFields: { ...RESPONSE_EXT }, serializeType });

const hex = (...parts: string[]) => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');

const REQUEST_ROCKETMQ = hex(
  '000000ef', '010000db', // length 239 = 4 + 219 + 16; mark: ROCKETMQ, header 219 bytes
  '0136 00 0191 00003039 00000000', // code 310, JAVA, version 401, opaque 12345, flag 0
  '00000000', // remark null
  '000000c6', // extFields 198 bytes
  '0001 61 00000012 62656e63686d61726b5f70726f6475636572', // a = benchmark_producer
  '0001 62 0000000d 42656e63686d61726b54657374', // b = BenchmarkTest
  '0001 63 00000006 544257313032', // c = TBW102
  '0001 64 00000001 34', '0001 65 00000001 33', '0001 66 00000001 30', // d = 4, e = 3, f = 0
  '0001 67 0000000d 31373030303030303030313233', // g = 1700000000123
  '0001 68 00000001 30', // h = 0
  '0001 69 00000031 554e49515f4b4559 01 37463030303030313030303142344141433342324631413746353030303002 57414954 01 74727565', // i = properties
  '0001 6a 00000001 30', '0001 6b 00000005 66616c7365', '0001 6d 00000005 66616c7365', // j = 0, k = false, m = false
  '68656c6c6f2c20726f636b65746d7121', // body "hello, rocketmq!"
);

const RESPONSE_ROCKETMQ = hex(
  '00000065', '01000061', // length 101 = 4 + 97; mark: ROCKETMQ, header 97 bytes
  '0000 00 0191 00003039 00000001', // code 0 SUCCESS, JAVA, version 401, opaque 12345, flag 1 (response)
  '00000000', '0000004c', // remark null; extFields 76 bytes
  '0005 6d73674964 00000020 3746303030303031303030303241394630303030303030303030303031463430', // msgId
  '0007 71756575654964 00000001 33', // queueId = 3
  '000b 71756575654f6666736574 00000002 3432', // queueOffset = 42
);

const REQUEST_JSON_HEADER = '{"code":310,"extFields":{"a":"benchmark_producer","b":"BenchmarkTest","c":"TBW102","d":"4","e":"3","f":"0",' +
  '"g":"1700000000123","h":"0","i":"UNIQ_KEY\\u00017F0000010001B4AAC3B2F1A7F50000\\u0002WAIT\\u0001true","j":"0","k":"false","m":"false"},' +
  '"flag":0,"language":"JAVA","opaque":12345,"serializeTypeCurrentRPC":"JSON","version":401}';
const REQUEST_JSON = Buffer.concat([hex('0000015c', '00000148'), Buffer.from(REQUEST_JSON_HEADER), BODY]); // 348 = 4 + 328 + 16

const RESPONSE_JSON_HEADER = '{"code":0,"extFields":{"msgId":"7F00000100002A9F0000000000001F40","queueId":"3","queueOffset":"42"},' +
  '"flag":1,"language":"JAVA","opaque":12345,"serializeTypeCurrentRPC":"JSON","version":401}';
const RESPONSE_JSON = Buffer.concat([hex('000000c1', '000000bd'), Buffer.from(RESPONSE_JSON_HEADER)]); // 193 = 4 + 189

const fixtures = [
  { name: 'SEND_MESSAGE_V2 request, ROCKETMQ header', command: () => request(1), bytes: REQUEST_ROCKETMQ },
  { name: 'SEND_MESSAGE_V2 request, JSON header', command: () => request(0), bytes: REQUEST_JSON },
  { name: 'SendMessageResponseHeader, ROCKETMQ header', command: () => response(1), bytes: RESPONSE_ROCKETMQ },
  { name: 'SendMessageResponseHeader, JSON header', command: () => response(0), bytes: RESPONSE_JSON },
];

for (const fixture of fixtures) {
  test(`literal fixture: ${fixture.name}`, { timeout: 10_000 }, () => {
    assert.equal(fixture.bytes.readInt32BE(0), fixture.bytes.length - 4, 'the fixture itself is consistent');
    assert.equal(encodeFrame(fixture.command()).toString('hex'), fixture.bytes.toString('hex'));
    const decoded: RemotingCommand[] = [];
    new FrameDecoder().push(fixture.bytes, (c) => decoded.push(c));
    assert.equal(decoded.length, 1);
    const { remark, body, ...rest } = decoded[0];
    assert.equal(remark, undefined);
    const expected = fixture.command();
    assert.deepEqual(body ? Buffer.from(body) : undefined, expected.body);
    delete expected.body;
    assert.deepEqual(rest, expected);
    // decode(encode(x)) = x through the header codec alone.
    const headerLength = fixture.bytes.readInt32BE(4) & 0xffffff;
    const header = fixture.bytes.subarray(8, 8 + headerLength);
    assert.deepEqual(encodeHeader(fixture.command()), header);
    const { serializeType, ...headerFields } = rest;
    assert.equal(serializeType, fixture.bytes[4]);
    assert.deepEqual({ ...decodeHeader(fixture.bytes[4], header) }, { ...headerFields, remark: undefined });
  });
}

test('JSON headers from other clients: any field order, language as a number, remark, unknown fields ignored', { timeout: 10_000 }, () => {
  const text = '{"version":317,"remark":"hi","unknown":[1,2],"opaque":-5,"language":9,"flag":3,"extFields":{"topic":"T"},"code":105}';
  const decoded = decodeHeader(SerializeType.JSON, Buffer.from(text));
  assert.deepEqual(decoded, { code: 105, language: 'GO', version: 317, opaque: -5, flag: 3, remark: 'hi', extFields: { topic: 'T' } });
});

test('codes match apache/rocketmq 4.9.7 RequestCode / ResponseCode / LanguageCode', { timeout: 10_000 }, () => {
  const requests: Array<[keyof typeof RequestCode, number]> = [
    ['SEND_MESSAGE', 10], ['PULL_MESSAGE', 11], ['QUERY_CONSUMER_OFFSET', 14], ['UPDATE_CONSUMER_OFFSET', 15], ['UPDATE_AND_CREATE_TOPIC', 17],
    ['GET_ALL_TOPIC_CONFIG', 21], ['GET_BROKER_RUNTIME_INFO', 28], ['SEARCH_OFFSET_BY_TIMESTAMP', 29], ['GET_MAX_OFFSET', 30], ['GET_MIN_OFFSET', 31],
    ['HEART_BEAT', 34], ['UNREGISTER_CLIENT', 35], ['CONSUMER_SEND_MSG_BACK', 36], ['GET_CONSUMER_LIST_BY_GROUP', 38],
    ['CHECK_TRANSACTION_STATE', 39], ['NOTIFY_CONSUMER_IDS_CHANGED', 40], ['LOCK_BATCH_MQ', 41], ['UNLOCK_BATCH_MQ', 42],
    ['PUT_KV_CONFIG', 100], ['GET_KV_CONFIG', 101], ['DELETE_KV_CONFIG', 102], ['REGISTER_BROKER', 103], ['UNREGISTER_BROKER', 104],
    ['GET_ROUTEINFO_BY_TOPIC', 105], ['GET_BROKER_CLUSTER_INFO', 106], ['GET_ALL_SUBSCRIPTIONGROUP_CONFIG', 201], ['GET_TOPIC_STATS_INFO', 202],
    ['GET_CONSUMER_CONNECTION_LIST', 203], ['GET_ALL_TOPIC_LIST_FROM_NAMESERVER', 206], ['GET_KVLIST_BY_NAMESPACE', 219],
    ['GET_CONSUMER_RUNNING_INFO', 307], ['SEND_MESSAGE_V2', 310], ['SEND_BATCH_MESSAGE', 320], ['QUERY_DATA_VERSION', 322],
  ];
  for (const [name, code] of requests) assert.equal(RequestCode[name], code, name);
  assert.equal(new Set(Object.values(RequestCode)).size, Object.values(RequestCode).length, 'no two request names share a code');
  const responses: Array<[keyof typeof ResponseCode, number]> = [
    ['SUCCESS', 0], ['SYSTEM_ERROR', 1], ['SYSTEM_BUSY', 2], ['REQUEST_CODE_NOT_SUPPORTED', 3], ['FLUSH_DISK_TIMEOUT', 10], ['SLAVE_NOT_AVAILABLE', 11],
    ['FLUSH_SLAVE_TIMEOUT', 12], ['MESSAGE_ILLEGAL', 13], ['SERVICE_NOT_AVAILABLE', 14], ['TOPIC_NOT_EXIST', 17], ['PULL_NOT_FOUND', 19],
    ['PULL_RETRY_IMMEDIATELY', 20], ['PULL_OFFSET_MOVED', 21], ['QUERY_NOT_FOUND', 22],
  ];
  for (const [name, code] of responses) assert.equal(ResponseCode[name], code, name);
  assert.deepEqual([languageNumber('JAVA'), languageNumber('CPP'), languageNumber('OTHER'), languageNumber('GO'), languageNumber('OMS'), languageNumber('RUST')], [0, 1, 7, 9, 11, 12]);
  for (let n = 0; n < LanguageCode.length; n++) assert.equal(languageNumber(languageName(n)), n);
  assert.equal(languageName(99), 'OTHER');
  assert.equal(languageNumber('COBOL'), 7);
});

test('RemotingCommand helpers: opaque counter, response mirrors the request, flag bits', { timeout: 10_000 }, () => {
  const a = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' });
  const b = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'T' }, undefined, SerializeType.ROCKETMQ);
  assert.equal(b.opaque, a.opaque + 1);
  assert.ok(nextOpaque() > b.opaque);
  assert.deepEqual([a.language, a.version, a.flag, isResponse(a), isOneway(a)], ['JAVA', 401, 0, false, false]);
  const r = createResponse(b, ResponseCode.TOPIC_NOT_EXIST, 'no route', { x: '1' });
  assert.deepEqual([r.opaque, r.serializeType, isResponse(r), r.remark, r.extFields], [b.opaque, SerializeType.ROCKETMQ, true, 'no route', { x: '1' }]);
  assert.equal(isOneway({ ...a, flag: 2 }), true);
  assert.equal(decodeFrameContent(encodeFrame(r).subarray(4)).flag, 1);
});
