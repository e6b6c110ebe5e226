// RegisterBrokerBody in both forms, decoded from bytes built here by hand (not by the encoder),
// plus encode → decode round trips and hostile compressed inputs that must fail cleanly.
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { decodeRegisterBrokerBody, encodeRegisterBrokerBody, type RegisterBrokerBody } from '../../broker/namesrv/registerBrokerBody.js';

const JAVA_PLAIN = '{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":7,"timestamp":1700000000000},' +
  '"topicConfigTable":{"TBW102":{"order":false,"perm":7,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"TBW102","topicSysFlag":0,"writeQueueNums":8},' +
  '"%RETRY%g":{"order":false,"perm":6,"readQueueNums":1,"topicFilterType":"SINGLE_TAG","topicName":"%RETRY%g","topicSysFlag":0,"writeQueueNums":1}}}}';

test('the plain JSON body a 4.9 broker sends decodes to its topics and data version', { timeout: 10_000 }, () => {
  const body = decodeRegisterBrokerBody(Buffer.from(JAVA_PLAIN), false);
  assert.deepEqual(body.dataVersion, { counter: 7, timestamp: 1_700_000_000_000 });
  assert.deepEqual(Object.keys(body.topicConfigTable), ['TBW102', '%RETRY%g']);
  assert.deepEqual(body.topicConfigTable.TBW102, { topicName: 'TBW102', readQueueNums: 8, writeQueueNums: 8, perm: 7, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false });
  assert.deepEqual(decodeRegisterBrokerBody(undefined, false), { topicConfigTable: {}, dataVersion: { counter: 0, timestamp: 0 }, filterServerList: [] });
});

test('the compressed form: deflate of int32-length-prefixed data version, topic count, "name read write perm filter" lines, filter list', { timeout: 10_000 }, () => {
  const parts: Buffer[] = [];
  const int = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n, 0);
    parts.push(b);
  };
  const text = (s: string) => {
    int(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  text('{"counter":2,"timestamp":5}');
  int(1);
  text('BenchmarkTest 1024 1024 6 SINGLE_TAG');
  text('["10.0.0.9:30000"]');
  const body = decodeRegisterBrokerBody(deflateSync(Buffer.concat(parts), { level: 9 }), true);
  assert.deepEqual(body, {
    dataVersion: { counter: 2, timestamp: 5 },
    topicConfigTable: { BenchmarkTest: { topicName: 'BenchmarkTest', readQueueNums: 1024, writeQueueNums: 1024, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false } },
    filterServerList: ['10.0.0.9:30000'],
  });
});

test('encode → decode round trips in both forms (the compressed form drops topicSysFlag and order, like Java)', { timeout: 10_000 }, () => {
  const original: RegisterBrokerBody = {
    dataVersion: { counter: 3, timestamp: 9 },
    topicConfigTable: { A: { topicName: 'A', readQueueNums: 4, writeQueueNums: 2, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 1, order: true } },
    filterServerList: [],
  };
  assert.deepEqual(decodeRegisterBrokerBody(encodeRegisterBrokerBody(original, false), false), original);
  const zipped = decodeRegisterBrokerBody(encodeRegisterBrokerBody(original, true), true);
  assert.deepEqual(zipped.topicConfigTable.A, { ...original.topicConfigTable.A, topicSysFlag: 0, order: false });
});

test('hostile or broken bodies fail with BAD_REGISTER_BODY, never with a crash or a huge allocation', { timeout: 10_000 }, () => {
  const fails = (body: Buffer, compressed: boolean) => assert.throws(() => decodeRegisterBrokerBody(body, compressed), (e: unknown) => e instanceof FlushbenchError && e.code === 'BAD_REGISTER_BODY');
  fails(Buffer.from('{'), false);
  fails(Buffer.from('{"topicConfigSerializeWrapper":{"topicConfigTable":[1]}}'), false);
  fails(Buffer.from('{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"readQueueNums":"x"}}}}'), false);
  fails(Buffer.from('plainly not zlib'), true);
  const huge = Buffer.alloc(8);
  huge.writeInt32BE(0x7fffffff, 0);
  fails(deflateSync(huge), true);
  const negativeCount = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('{}'), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
  fails(deflateSync(negativeCount), true);
  const badLine = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('{}'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 3]), Buffer.from('a b')]);
  fails(deflateSync(badLine), true);
});
