// SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE binary headers are read straight from the frame bytes
// (decodeSendHeaderV2Raw on RemotingCommand.rawExtFields). That fast path must agree with the
// record path (decodeBinaryHeader, then decodeSendHeader(record, true)) on every header the
// wire allows: same result, or an error with the same message and code.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { after, before, test } from 'node:test';
import { RequestCode, ResponseCode, SerializeType } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { decodeBinaryHeader, extFieldsOf, FrameError } from '../../protocol/headerCodec.js';
import { decodeFrameAt, encodeFrame, FrameDecoder } from '../../protocol/frameCodec.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest, FLAG_RESPONSE, markOneway, type RawExtFields, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { decodeSendHeader, decodeSendHeaderV2Raw, type SendRequestHeader } from '../../broker/server/sendHeaders.js';
import { updateTopicRequest } from '../../loadgen/topicAdmin.js';
import { waitFor } from '../support/waitFor.js';
import { decodeRecords, pullRequest, sendV2, startTestBroker, type TestBroker } from './brokerHarness.js';

type Entry = readonly [key: string | Buffer, value: string | Buffer];

/** extFields entries (int16 key length, key, int32 value length, value) in this order, duplicates allowed. */
function extBytes(entries: readonly Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of entries) {
    const k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const head = Buffer.alloc(2);
    head.writeInt16BE(k.length);
    const length = Buffer.alloc(4);
    length.writeInt32BE(v.length);
    parts.push(head, k, length, v);
  }
  return Buffer.concat(parts);
}

/** A ROCKETMQ binary header around these extFields bytes. */
function binaryHeader(ext: Buffer, code = RequestCode.SEND_MESSAGE_V2, flag = 0, opaque = 7): Buffer {
  const fixed = Buffer.alloc(21);
  fixed.writeInt16BE(code, 0);
  fixed.writeInt8(0, 2); // JAVA
  fixed.writeInt16BE(401, 3);
  fixed.writeInt32BE(opaque, 5);
  fixed.writeInt32BE(flag, 9);
  fixed.writeInt32BE(0, 13); // no remark
  fixed.writeInt32BE(ext.length, 17);
  return Buffer.concat([fixed, ext]);
}

type Refusal = { error: { name: string; message: string; code: string | undefined } };
type Outcome = { ok: SendRequestHeader } | Refusal;

function outcome(decode: () => SendRequestHeader): Outcome {
  try {
    return { ok: decode() };
  } catch (error) {
    assert.ok(error instanceof Error, `a decoder threw a non-Error: ${String(error)}`);
    return { error: { name: error.constructor.name, message: error.message, code: error instanceof FlushbenchError ? error.code : undefined } };
  }
}

/** The header bytes[start, end) decoded by the record path and by the raw path. */
function bothWays(bytes: Buffer, start: number, end: number): { record: Outcome; raw: Outcome } {
  const record = outcome(() => decodeSendHeader(decodeBinaryHeader(bytes, start, end, false).extFields, true));
  const raw = outcome(() => {
    const header = decodeBinaryHeader(bytes, start, end, true);
    assert.equal(header.extFields, undefined, 'a raw decode builds no extFields');
    // An empty extFields section gives no rawExtFields: read an empty range then.
    const rawExt: RawExtFields = header.rawExtFields ?? { bytes, start: end, end };
    return decodeSendHeaderV2Raw(rawExt);
  });
  return { record, raw };
}

/** mulberry32: a small seeded PRNG, so a failure names a case that can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES: Array<string | Buffer> = [
  'TopicA', 'TopicB', 'TopicC', 'GroupA', 'GroupB', 'TBW102', '%RETRY%grp', 'a|b', 'x-y_z', 'T', 'T'.repeat(127), 'T'.repeat(128),
  'G'.repeat(70), 'G'.repeat(71), 'H'.repeat(64), 'H'.repeat(65), 'G'.repeat(255), 'G'.repeat(256),
  '', 'bad name', 'a/b', '../x', 'Tópic', 'トピック', 'Topic\u0000', Buffer.from([0x54, 0xff, 0xfe, 0x41]), Buffer.from([0xc3]),
];
const NUMBERS = [
  '0', '1', '4', '8', '-1', '+1', '-0', '+0', '007', '-007', '+', '-', '--1', '+-1', '', ' 1', '1 ', '0x10', '1e3', '1.5', '1.0', 'x1', 'abc', '٣', '１',
  '1024', '1025', '2147483647', '2147483648', '-2147483648', '-2147483649', '+2147483648', '-2147483647',
  '999999999999999', '-999999999999999', '000000000000001', '1234567890123456', '-1234567890123456', '0000000000000001',
  '9007199254740991', '9007199254740992', '+9007199254740991', '12345678901234567890', '-12345678901234567890', '123456789012345678901',
];
const PROPERTIES: Array<string | Buffer> = [
  '', 'WAIT\u0001true', 'UNIQ_KEY\u0001U1\u0002WAIT\u0001true\u0002TAGS\u0001TagA', 'ключ\u0001значение', '✓'.repeat(40), 'p'.repeat(300),
  Buffer.from([0xe2, 0x9c]), Buffer.from([0xff, 0x00, 0x80]),
];
const BOOLEANS = ['true', 'false', 'TRUE', 'True', '', ' true', 'true ', '1', 'truee', 'tru'];
const UNKNOWN_KEYS: Array<string | Buffer> = ['n', 'z', 'A', '`', '', 'ab', 'zz', 'aa', 'é', 'topic', 'queueId', Buffer.from([0xe1]), Buffer.from([0x61, 0x00])];

function pick<T>(random: () => number, from: readonly T[]): T {
  return from[Math.floor(random() * from.length)];
}

/** Values every field of its kind accepts (some not in canonical form: "+1", "007", "-0"). */
const VALID_NAMES = ['TopicA', 'TopicB', 'GroupA', 'TBW102', '%RETRY%grp', 'a|b', 'x-y_z', 'H'.repeat(64), 'H'.repeat(65), 'T'.repeat(127)];
const VALID_NUMBERS = ['1', '4', '+1', '007', '0004', '+0004', '1024'];

/** A value for key `key`: a valid one, or with probability `badRate` anything from the pools. */
function valueFor(random: () => number, key: string, badRate: number): string | Buffer {
  if (random() < badRate) return random() < 0.15 ? pick(random, [...NAMES, ...NUMBERS, ...BOOLEANS]) : pick(random, 'abc'.includes(key) ? NAMES : NUMBERS);
  if ('abc'.includes(key)) return pick(random, VALID_NAMES);
  if (key === 'i') return pick(random, PROPERTIES);
  if (key === 'k' || key === 'm') return pick(random, BOOLEANS);
  if (random() < 0.3) return pick(random, key === 'e' || key === 'h' ? [...VALID_NUMBERS, '0', '-0', '-1', '-2147483648', '2147483647'] : VALID_NUMBERS);
  const max = key === 'd' ? 1024 : key === 'g' ? 999_999_999_999_999 : 2_147_483_647;
  return String(Math.floor(random() * max) + (key === 'd' ? 1 : 0));
}

function randomEntries(random: () => number): Entry[] {
  const entries: Entry[] = [];
  const badRate = random() < 0.4 ? 0 : random() * 0.25;
  const complete = random() < 0.85; // usually every required key, so later fields get checked too
  const anyKey = (): string => pick(random, 'abcdefghijklm'.split(''));
  for (const key of 'abcdefghijklm') {
    const required = 'abcdefgh'.includes(key);
    if ((complete && required) || random() < 0.4) entries.push([key, valueFor(random, key, badRate)]);
  }
  const duplicates = Math.floor(random() * 4);
  for (let i = 0; i < duplicates; i++) {
    const key = anyKey();
    entries.push([key, valueFor(random, random() < 0.8 ? key : anyKey(), badRate)]);
  }
  const unknown = Math.floor(random() * 3);
  for (let i = 0; i < unknown; i++) entries.push([pick(random, UNKNOWN_KEYS), valueFor(random, anyKey(), 0.5)]);
  for (let i = entries.length - 1; i > 0; i--) { // shuffle: any order, duplicates in any position
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  return entries;
}

function describe(entries: readonly Entry[]): string {
  return JSON.stringify(entries.map(([k, v]) => [typeof k === 'string' ? k : `hex:${k.toString('hex')}`, typeof v === 'string' ? v : `hex:${v.toString('hex')}`]));
}

test('decodeSendHeaderV2Raw agrees with decodeSendHeader on the decoded record (seeded fuzz, 3000 headers)', (t) => {
  const random = prng(0x5e4d310);
  let succeeded = 0;
  const errorCodes = new Map<string, number>();
  for (let n = 0; n < 3000; n++) {
    const entries = randomEntries(random);
    const header = binaryHeader(extBytes(entries));
    // The server hands the decoder a frame inside a larger read buffer: place the header at an offset.
    const before = Math.floor(random() * 5);
    const bytes = Buffer.concat([Buffer.alloc(before, 0x62), header, Buffer.alloc(Math.floor(random() * 5), 0x61)]);
    const { record, raw } = bothWays(bytes, before, before + header.length);
    assert.deepEqual(raw, record, `case ${n}: entries ${describe(entries)}`);
    if ('ok' in record) succeeded++;
    else errorCodes.set(record.error.code ?? record.error.name, (errorCodes.get(record.error.code ?? record.error.name) ?? 0) + 1);
  }
  t.diagnostic(`${succeeded} decoded; refused: ${JSON.stringify(Object.fromEntries(errorCodes))}`);
  // The generator must reach both outcomes and every kind of refusal, or the comparison proves little.
  assert.ok(succeeded > 600 && succeeded < 2400, `${succeeded} of 3000 headers decoded`);
  assert.deepEqual([...errorCodes.keys()].sort(), ['BAD_HEADER', 'BAD_NAME', 'MISSING_HEADER']);
});

// The raw path parses plain decimals from the bytes; a refused value must still be quoted as
// sent ("+0", "007", "-0"), not as parsed (c03f351 quoted "+0" as "0").
test('a refused number is quoted as sent on both paths', () => {
  const base: Record<string, string> = { a: 'GroupA', b: 'TopicA', c: 'TBW102', d: '4', e: '0', f: '0', g: '1', h: '0' };
  const cases: Array<[string, string]> = [['d', '+0'], ['d', '-0'], ['d', '0001025'], ['e', '+2147483648'], ['f', '-01'], ['g', '-0001'], ['h', '+2147483648'], ['j', '-01'], ['l', '-02']];
  const differing: string[] = [];
  for (const [key, value] of cases) {
    const header = binaryHeader(extBytes(Object.entries({ ...base, [key]: value })));
    const { record, raw } = bothWays(header, 0, header.length);
    assert.ok('error' in record, `${key}=${value} must be refused`);
    if (!isDeepStrictEqual(raw, record)) differing.push(`${key}=${JSON.stringify(value)}: raw ${JSON.stringify(raw)} vs record ${JSON.stringify(record)}`);
  }
  assert.deepEqual(differing, [], 'the raw path must quote the value as sent');
});

test('the repeated-name caches never return a stale name (same length, different bytes)', () => {
  const decode = (group: string, topic: string, defaultTopic: string): SendRequestHeader => {
    const header = binaryHeader(extBytes([['a', group], ['b', topic], ['c', defaultTopic], ['d', '4'], ['e', '1'], ['f', '0'], ['g', '5'], ['h', '0']]));
    return decodeSendHeaderV2Raw(decodeBinaryHeader(header, 0, header.length, true).rawExtFields as RawExtFields);
  };
  const sequence: Array<[string, string, string]> = [
    ['GroupA', 'TopicA', 'TBW102'], ['GroupB', 'TopicB', 'TBW103'], ['GroupA', 'TopicA', 'TBW102'], ['GroupA', 'TopicB', 'TBW102'],
    ['GroupB', 'TopicA', 'TBW103'], ['G'.repeat(64), 'T'.repeat(64), 'D'.repeat(64)], ['G'.repeat(63) + 'H', 'T'.repeat(63) + 'U', 'D'.repeat(63) + 'E'],
    ['G'.repeat(70), 'T'.repeat(70), 'D'.repeat(70)], ['G'.repeat(69) + 'H', 'T'.repeat(69) + 'U', 'D'.repeat(69) + 'E'], ['GroupA', 'TopicA', 'TBW102'],
  ];
  for (const [group, topic, defaultTopic] of sequence) {
    const decoded = decode(group, topic, defaultTopic);
    assert.deepEqual([decoded.producerGroup, decoded.topic, decoded.defaultTopic], [group, topic, defaultTopic]);
  }
  // A refused name after a good one of the same length is refused (not served from the cache).
  const bad = binaryHeader(extBytes([['a', 'GroupA'], ['b', 'Topic/'], ['c', 'TBW102'], ['d', '4'], ['e', '1'], ['f', '0'], ['g', '5'], ['h', '0']]));
  assert.throws(() => decodeSendHeaderV2Raw(decodeBinaryHeader(bad, 0, bad.length, true).rawExtFields as RawExtFields), { code: 'BAD_NAME' });
});

const RAW_CODES: ReadonlySet<number> = new Set([RequestCode.SEND_MESSAGE_V2]);
const V2_FIELDS: Record<string, string> = { a: 'GroupA', b: 'TopicA', c: 'TBW102', d: '4', e: '3', f: '0', g: '12345', h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'false' };

/** The frame content (without its length prefix) of `command`, inside a larger buffer. */
function framed(command: RemotingCommand): { bytes: Buffer; start: number; end: number } {
  const content = encodeFrame(command).subarray(4);
  return { bytes: Buffer.concat([Buffer.from('xyz'), content, Buffer.from('tail')]), start: 3, end: 3 + content.length };
}

test('decodeFrameAt leaves extFields raw only for binary requests whose code is in the set', () => {
  const body = Buffer.from('the body');
  const binary = framed(createRequest(RequestCode.SEND_MESSAGE_V2, V2_FIELDS, body, SerializeType.ROCKETMQ));
  const raw = decodeFrameAt(binary.bytes, binary.start, binary.end, RAW_CODES);
  assert.equal(raw.extFields, undefined);
  assert.ok(raw.rawExtFields, 'a binary SEND_MESSAGE_V2 keeps its extFields raw');
  assert.deepEqual(raw.body, body);
  assert.equal(raw.serializeType, SerializeType.ROCKETMQ);
  assert.deepEqual({ ...extFieldsOf(raw) }, V2_FIELDS, 'extFieldsOf decodes the raw entries');
  const decoded = decodeFrameAt(binary.bytes, binary.start, binary.end);
  assert.equal(decoded.rawExtFields, undefined);
  assert.deepEqual({ ...extFieldsOf(decoded) }, { ...decoded.extFields });
  assert.deepEqual({ ...extFieldsOf(raw) }, { ...decoded.extFields });
  assert.deepEqual(decodeSendHeaderV2Raw(raw.rawExtFields), decodeSendHeader(decoded.extFields, true));

  const response = createRequest(RequestCode.SEND_MESSAGE_V2, V2_FIELDS, body, SerializeType.ROCKETMQ);
  response.flag = FLAG_RESPONSE;
  const others: Array<[string, RemotingCommand, ReadonlySet<number>]> = [
    ['a response with the same code', response, RAW_CODES],
    ['a JSON header', createRequest(RequestCode.SEND_MESSAGE_V2, V2_FIELDS, body, SerializeType.JSON), RAW_CODES],
    ['a code not in the set', createRequest(RequestCode.SEND_BATCH_MESSAGE, V2_FIELDS, body, SerializeType.ROCKETMQ), RAW_CODES],
    ['an empty set', createRequest(RequestCode.SEND_MESSAGE_V2, V2_FIELDS, body, SerializeType.ROCKETMQ), new Set<number>()],
  ];
  for (const [name, command, codes] of others) {
    const frame = framed(command);
    const got = decodeFrameAt(frame.bytes, frame.start, frame.end, codes);
    assert.equal(got.rawExtFields, undefined, name);
    assert.deepEqual({ ...got.extFields }, V2_FIELDS, name);
    assert.deepEqual(got.body, body, name);
  }
});

test('a malformed extFields entry in a raw request is still BAD_HEADER when the frame is decoded', () => {
  const good = extBytes([['a', 'GroupA'], ['b', 'TopicA']]);
  const valueTooLong = Buffer.from(good);
  valueTooLong.writeInt32BE(100, 2 + 1); // a's value length runs past the section
  const negativeValue = Buffer.from(good);
  negativeValue.writeInt32BE(-1, 2 + 1);
  const keyTooLong = Buffer.from(good);
  keyTooLong.writeInt16BE(200, 0);
  const negativeKey = Buffer.from(good);
  negativeKey.writeInt16BE(-2, 0);
  const cases: Array<[string, Buffer, string]> = [
    ['a dangling byte after the entries', Buffer.concat([good, Buffer.from([0])]), 'extFields entry truncated'],
    ['a key length past the section', keyTooLong, 'extFields key out of range'],
    ['a negative key length', negativeKey, 'extFields key out of range'],
    ['a value length past the section', valueTooLong, 'extFields value out of range'],
    ['a negative value length', negativeValue, 'extFields value out of range'],
    ['a key with no room for its value length', Buffer.concat([good, Buffer.from([0, 1, 0x61, 0, 0])]), 'extFields key out of range'],
  ];
  for (const [name, ext, message] of cases) {
    const header = binaryHeader(ext);
    const mark = Buffer.alloc(4);
    mark.writeInt32BE((SerializeType.ROCKETMQ << 24) | header.length);
    const content = Buffer.concat([mark, header]);
    for (const codes of [RAW_CODES, undefined]) {
      assert.throws(() => decodeFrameAt(content, 0, content.length, codes), (error: unknown) => {
        assert.ok(error instanceof FrameError, `${name}: ${String(error)}`);
        assert.equal(error.code, 'BAD_HEADER', name);
        assert.equal(error.message, message, name);
        return true;
      });
    }
  }
});

// End to end: an in-process broker reading binary SEND_MESSAGE_V2 headers from the bytes.
let broker: TestBroker;
let jsonClient: RemotingClient;
let binaryClient: RemotingClient;
const TOPIC = 'RawHeaderT';

before(async () => {
  broker = await startTestBroker();
  jsonClient = new RemotingClient(broker.address);
  binaryClient = new RemotingClient(broker.address, { serializeType: SerializeType.ROCKETMQ });
  const created = await jsonClient.invoke(updateTopicRequest(TOPIC, 4), 3000);
  assert.equal(created.code, ResponseCode.SUCCESS, created.remark);
});

after(async () => {
  jsonClient?.close();
  binaryClient?.close();
  if (broker) {
    await broker.stop();
    fs.rmSync(broker.storeDir, { recursive: true, force: true });
  }
});

/** Sends SEND_MESSAGE_V2 with extFields[key] = value with a JSON and with a binary header; both must be refused alike. */
async function refusedAlike(key: string, value: string): Promise<void> {
  const request = (serializeType: typeof SerializeType.JSON | typeof SerializeType.ROCKETMQ): RemotingCommand => {
    const command = sendV2({ topic: TOPIC, queueId: 1, body: Buffer.from('bad'), serializeType });
    (command.extFields as Record<string, string>)[key] = value;
    return command;
  };
  const viaJson = await jsonClient.invoke(request(SerializeType.JSON), 3000);
  const viaBinary = await binaryClient.invoke(request(SerializeType.ROCKETMQ), 3000);
  assert.equal(viaJson.code, ResponseCode.SYSTEM_ERROR, `${key}=${value}: ${viaJson.remark}`);
  assert.equal(viaBinary.code, ResponseCode.SYSTEM_ERROR, `${key}=${value}: ${viaBinary.remark}`);
  assert.equal(viaBinary.serializeType, SerializeType.ROCKETMQ);
  assert.equal(viaBinary.remark, viaJson.remark, `${key}=${value}`);
}

test('a bad number in a binary SEND_MESSAGE_V2 gets the SYSTEM_ERROR remark a JSON header gets', { timeout: 15_000 }, async () => {
  for (const [key, value] of [['e', 'x1'], ['e', '-0x1'], ['d', ''], ['g', '12345678901234567890'], ['a', 'bad group'], ['b', 'Tópic']]) await refusedAlike(key, value);
});

test('a refused "+0" is quoted as sent in the binary answer too', { timeout: 15_000 }, async () => {
  await refusedAlike('d', '+0');
});

test('a oneway binary SEND_MESSAGE_V2 is stored and never answered', { timeout: 15_000 }, async () => {
  const socket = net.connect(broker.ports.listenPort, '127.0.0.1');
  const received: RemotingCommand[] = [];
  const decoder = new FrameDecoder();
  const onewayBody = `oneway ${process.pid} ${Date.now()}`;
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (command) => received.push(command)));
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const oneway = markOneway(sendV2({ topic: TOPIC, queueId: 2, body: Buffer.from(onewayBody), serializeType: SerializeType.ROCKETMQ }));
    const marker = sendV2({ topic: TOPIC, queueId: 3, body: Buffer.from('marker'), serializeType: SerializeType.ROCKETMQ });
    socket.write(Buffer.concat([encodeFrame(oneway), encodeFrame(marker)]));
    // The answered send after it comes back; then give a stray answer to the oneway time to show up.
    await waitFor(() => received.some((c) => c.opaque === marker.opaque), 'the answer to the send after the oneway one', 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const markerAnswer = received.find((c) => c.opaque === marker.opaque);
    assert.equal(markerAnswer?.code, ResponseCode.SUCCESS, markerAnswer?.remark);
    assert.deepEqual(received.filter((c) => c.opaque === oneway.opaque), [], 'no frame answers the oneway send');
    assert.equal(received.length, 1);
  } finally {
    socket.destroy();
  }
  const pulled = await jsonClient.invoke(pullRequest({ topic: TOPIC, queueId: 2, queueOffset: 0 }), 3000);
  assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark);
  const bodies = decodeRecords(pulled.body).map((record) => record.body.toString());
  assert.deepEqual(bodies, [onewayBody], 'the oneway send is the only message of its queue');
});
