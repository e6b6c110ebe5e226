// Golden frames for SEND_MESSAGE_V2 and its response in both header types. The expected
// bytes are assembled here by hand from the wire layout (ref/rocketmq-facts.md §1), never by
// calling the encoder, so an encoder bug cannot hide behind itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerializeType } from '../../protocol/codes.js';
import { decodeFrameContent, decodeResponseLite, encodeFrame, FrameDecoder, FrameError } from '../../protocol/frameCodec.js';
import { parseLenientJson, stringifyLegacyJson } from '../../protocol/lenientJson.js';
import type { RemotingCommand } from '../../protocol/remotingCommand.js';

/** A tiny big-endian byte writer, independent of the codec under test. */
class Bytes {
  private readonly parts: number[] = [];
  u8(value: number): this {
    this.parts.push(value & 0xff);
    return this;
  }
  i16(value: number): this {
    return this.u8(value >> 8).u8(value);
  }
  i32(value: number): this {
    return this.u8(value >>> 24).u8(value >>> 16).u8(value >>> 8).u8(value);
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  utf8(text: string): this {
    return this.raw(new TextEncoder().encode(text));
  }
  get length(): number {
    return this.parts.length;
  }
  toBuffer(): Buffer {
    return Buffer.from(this.parts);
  }
}

const BODY = Buffer.from(Array.from({ length: 128 }, (_, i) => (i * 7 + 3) & 0xff));
const PROPERTIES = 'UNIQ_KEY\u00017F0000010001B4AAC3B2F1A7F50000\u0002WAIT\u0001true\u0002TAGS\u0001TagA';
// The Java client's SendMessageRequestHeaderV2, in field order a..l.
const SEND_EXT: Array<[string, string]> = [
  ['a', 'benchmark_producer'], ['b', 'BenchmarkTest'], ['c', 'TBW102'], ['d', '4'], ['e', '3'], ['f', '0'],
  ['g', '1700000000123'], ['h', '0'], ['i', PROPERTIES], ['j', '0'], ['k', 'false'], ['l', '16'],
];
const RESPONSE_EXT: Array<[string, string]> = [['msgId', '7F00000100002A9F0000000000001F40'], ['queueId', '3'], ['queueOffset', '42']];

function sendRequest(serializeType: 0 | 1): RemotingCommand {
  return { code: 310, language: 'JAVA', version: 401, opaque: 12345, flag: 0, extFields: Object.fromEntries(SEND_EXT), body: BODY, serializeType };
}

function sendResponse(serializeType: 0 | 1): RemotingCommand {
  return { code: 0, language: 'JAVA', version: 401, opaque: 12345, flag: 1, extFields: Object.fromEntries(RESPONSE_EXT), serializeType };
}

/** int32 length | int32 mark (type << 24 | headerLength) | header | body. */
function frame(serializeType: number, header: Buffer, body?: Buffer): Buffer {
  const bodyLength = body?.length ?? 0;
  const out = new Bytes().i32(4 + header.length + bodyLength).u8(serializeType).u8(header.length >> 16).u8(header.length >> 8).u8(header.length).raw(header);
  if (body) out.raw(body);
  return out.toBuffer();
}

/** fastjson's output: fields sorted by name, serializeTypeCurrentRPC added, null remark omitted. */
function jsonHeader(code: number, flag: number, ext: Array<[string, string]>): Buffer {
  const extJson = ext.map(([k, v]) => `"${k}":"${v.replaceAll('\u0001', '\\u0001').replaceAll('\u0002', '\\u0002')}"`).join(',');
  return Buffer.from(`{"code":${code},"extFields":{${extJson}},"flag":${flag},"language":"JAVA","opaque":12345,"serializeTypeCurrentRPC":"JSON","version":401}`, 'utf8');
}

/** RocketMQSerializable: int16 code, int8 language, int16 version, int32 opaque, int32 flag, remark, extFields. */
function binaryHeader(code: number, flag: number, ext: Array<[string, string]>, remark?: string): Buffer {
  const fields = new Bytes();
  for (const [k, v] of ext) fields.i16(Buffer.byteLength(k)).utf8(k).i32(Buffer.byteLength(v)).utf8(v);
  const header = new Bytes().i16(code).u8(0).i16(401).i32(12345).i32(flag);
  if (remark === undefined) header.i32(0);
  else header.i32(Buffer.byteLength(remark)).utf8(remark);
  return header.i32(fields.length).raw(fields.toBuffer()).toBuffer();
}

/** The command without keys whose value is undefined (the decoder sets absent fields to undefined). */
function defined(command: RemotingCommand): RemotingCommand {
  return Object.fromEntries(Object.entries(command).filter(([, v]) => v !== undefined)) as unknown as RemotingCommand;
}

function decodeWhole(bytes: Buffer): RemotingCommand[] {
  const out: RemotingCommand[] = [];
  new FrameDecoder().push(bytes, (c) => out.push(defined(c)));
  return out;
}

const cases = [
  { name: 'SEND_MESSAGE_V2 request, JSON header', command: () => sendRequest(0), golden: () => frame(0, jsonHeader(310, 0, SEND_EXT), BODY) },
  { name: 'SEND_MESSAGE_V2 request, ROCKETMQ header', command: () => sendRequest(1), golden: () => frame(1, binaryHeader(310, 0, SEND_EXT), BODY) },
  { name: 'SendMessageResponseHeader, JSON header', command: () => sendResponse(0), golden: () => frame(0, jsonHeader(0, 1, RESPONSE_EXT)) },
  { name: 'SendMessageResponseHeader, ROCKETMQ header', command: () => sendResponse(1), golden: () => frame(1, binaryHeader(0, 1, RESPONSE_EXT)) },
];

for (const c of cases) {
  test(`golden frame: ${c.name} encodes to the expected bytes and decodes back`, { timeout: 10_000 }, () => {
    const golden = c.golden();
    const encoded = encodeFrame(c.command());
    assert.equal(encoded.toString('hex'), golden.toString('hex'));
    assert.deepEqual(decodeWhole(golden), [c.command()]);
  });
}

test('golden frame layout: length excludes itself, mark carries the serialize type in its high byte', { timeout: 10_000 }, () => {
  const binary = encodeFrame(sendRequest(1));
  assert.equal(binary.readInt32BE(0), binary.length - 4);
  assert.equal(binary[4], 1, 'ROCKETMQ = 1 in the high byte');
  const headerLength = binary.readInt32BE(4) & 0xffffff;
  // 17 fixed bytes + extFields: 12 one-letter keys (2+1+4 each) + the values.
  const valueBytes = SEND_EXT.reduce((n, [, v]) => n + Buffer.byteLength(v), 0);
  assert.equal(headerLength, 17 + 4 + 12 * 7 + valueBytes);
  assert.equal(binary.length, 8 + headerLength + 128);
  assert.equal(binary.readInt16BE(8), 310);
  assert.equal(binary.readInt32BE(8 + 5), 12345);
  const json = encodeFrame(sendRequest(0));
  assert.equal(json[4], 0, 'JSON = 0 in the high byte');
  assert.equal(json.subarray(8, 9).toString(), '{');
});

test('the lite response decoder reads code, opaque and flag of both golden responses', { timeout: 10_000 }, () => {
  for (const type of [0, 1] as const) {
    const golden = cases[2 + type].golden();
    const lite = decodeResponseLite(golden.subarray(4));
    assert.deepEqual([lite.code, lite.opaque, lite.flag, lite.serializeType], [0, 12345, 1, type]);
  }
  // A request is never decoded lite: it gets the full decode with its extFields.
  const request = decodeResponseLite(cases[1].golden().subarray(4));
  assert.equal(request.extFields?.b, 'BenchmarkTest');
});

test('decode(encode(x)) = x for remarks, unicode, missing fields, oneway flags and every language', { timeout: 10_000 }, () => {
  const commands: RemotingCommand[] = [];
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    commands.push(
      { code: 105, language: 'GO', version: 400, opaque: -7, flag: 0, extFields: { topic: 'T', acceptStandardJsonOnly: 'true' }, serializeType },
      { code: 17, language: 'JAVA', version: 0, opaque: 2 ** 31 - 1, flag: 1, remark: 'topic[Tü测试] not exist, apply first please!', serializeType },
      { code: 34, language: 'PYTHON', version: 407, opaque: 0, flag: 2, body: Buffer.from('{"clientID":"x"}'), serializeType },
      { code: 1, language: 'CPP', version: 1, opaque: 99, flag: 1, remark: 'r', extFields: { 'käy': 'välue', empty: '' }, body: Buffer.alloc(1), serializeType },
    );
  }
  for (const command of commands) {
    const bytes = encodeFrame(command);
    assert.deepEqual(defined(decodeFrameContent(bytes.subarray(4))), command, JSON.stringify({ ...command, body: undefined }));
  }
});

test('JSON headers: language as a name or as a number, absent optional fields, numeric extFields values', { timeout: 10_000 }, () => {
  const header = (json: string) => frame(0, Buffer.from(json));
  const [byName] = decodeWhole(header('{"code":310,"language":"GO","opaque":5,"flag":0,"version":401,"extFields":{"a":"g"}}'));
  assert.equal(byName.language, 'GO');
  const [byNumber] = decodeWhole(header('{"code":310,"language":9,"opaque":5,"flag":0,"version":401}'));
  assert.equal(byNumber.language, 'GO');
  const [java] = decodeWhole(header('{"code":11,"language":0,"opaque":1}'));
  assert.deepEqual([java.language, java.version, java.flag, java.remark, java.extFields], ['JAVA', 0, 0, undefined, undefined]);
  const [numeric] = decodeWhole(header('{"code":14,"language":"JAVA","opaque":1,"flag":0,"extFields":{"queueId":3,"skip":null}}'));
  assert.deepEqual(numeric.extFields, { queueId: '3' });
});

test('lenient JSON: unquoted numeric map keys parse, and the legacy writer produces them', { timeout: 10_000 }, () => {
  const legacy = '{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"a"}],"note":"{0:not a key}"}';
  const parsed = parseLenientJson(legacy) as { brokerDatas: Array<{ brokerAddrs: Record<string, string> }>; note: string };
  assert.deepEqual(parsed.brokerDatas[0].brokerAddrs, { 0: '10.0.0.1:10911', 1: '10.0.0.2:10911' });
  assert.equal(parsed.note, '{0:not a key}', 'text inside strings is untouched');
  const value = { brokerAddrs: { 0: 'a:1', 12: 'b:2' }, text: 'x,"5":y {"7":z}', list: [{ '-1': 'neg' }] };
  const written = stringifyLegacyJson(value);
  assert.match(written, /\{0:"a:1",12:"b:2"\}/);
  assert.match(written, /\{-1:"neg"\}/);
  assert.deepEqual(parseLenientJson(written), value);
  assert.deepEqual(parseLenientJson(JSON.stringify(value)), value, 'standard JSON still parses');
  assert.deepEqual(parseLenientJson('{ 0 : "spaced" }'), { 0: 'spaced' });
});

test('binary header values repeat across frames but each frame decodes its own bytes (value interning)', { timeout: 10_000 }, () => {
  const values = ['1700000000123', '1700000000124', '1700000000123', '', 'x', 'ü', 'y'.repeat(33), 'y'.repeat(32), 'y'.repeat(31) + 'z', 'TBW102'];
  for (const g of values) {
    for (const key of ['g', 'gg', 'long-key-name']) {
      const command: RemotingCommand = { code: 310, language: 'JAVA', version: 401, opaque: 1, flag: 0, extFields: { [key]: g, b: 'BenchmarkTest' }, serializeType: 1 };
      assert.deepEqual(decodeWhole(encodeFrame(command))[0].extFields, { [key]: g, b: 'BenchmarkTest' }, `${key}=${g}`);
    }
  }
});

test('binary encoding: long and non-ASCII strings take the native UTF-8 path and round-trip', { timeout: 10_000 }, () => {
  const long = `${'ascii '.repeat(20)}then ü 测试 😀 and a lone surrogate-free tail`;
  const command: RemotingCommand = {
    code: 1, language: 'JAVA', version: 401, opaque: 5, flag: 1, remark: long, extFields: { [long.slice(0, 70)]: long, ['😀']: '😀'.repeat(40) }, serializeType: 1,
  };
  const bytes = encodeFrame(command);
  assert.equal(bytes.readInt32BE(0), bytes.length - 4);
  assert.equal(bytes.readInt32BE(8 + 13), Buffer.byteLength(long), 'remark length is in UTF-8 bytes');
  assert.deepEqual(decodeWhole(bytes), [command]);
  assert.deepEqual(decodeWhole(encodeFrame({ ...command, serializeType: 0 })), [{ ...command, serializeType: 0 }]);
});

test('lite response decoding of JSON headers: field order, spaces, look-alike extFields keys; requests and odd headers get the full decode', { timeout: 10_000 }, () => {
  const lite = (json: string) => decodeResponseLite(frame(0, Buffer.from(json)).subarray(4));
  const reordered = lite('{"opaque" : -42, "extFields":{"code":"7","flag":"0","opaque":"x"},"language":"JAVA","flag": 1,"code":   17}');
  assert.deepEqual([reordered.code, reordered.opaque, reordered.flag], [17, -42, 1]);
  assert.equal(reordered.extFields, undefined, 'lite: no extFields');
  // Not a response (flag bit 0 clear): full decode, extFields included.
  const request = lite('{"code":310,"flag":0,"opaque":9,"extFields":{"a":"g"}}');
  assert.deepEqual(request.extFields, { a: 'g' });
  // A missing opaque: full decode still answers (opaque 0) rather than guessing.
  const noOpaque = lite('{"code":0,"flag":1,"remark":"r"}');
  assert.deepEqual([noOpaque.opaque, noOpaque.remark], [0, 'r']);
  assert.throws(() => lite('{"code":0,"flag":1,"opaque":1'), FrameError, 'a broken header is an error, not a guess');
});
