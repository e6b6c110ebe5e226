// The load generator tells OS_PAGECACHE_BUSY (code 1 + [PC_SYNCHRONIZED]) from SYSTEM_ERROR and
// keeps SYSTEM_BUSY's reason, also through the lite response decoder the bench load uses.
import assert from 'node:assert/strict';
import test from 'node:test';
import { AckRecorder, ackStatusForCode, busyReason } from '../../loadgen/ackRecorder.js';
import { ProducerPool } from '../../loadgen/producers.js';
import { RequestCode, ResponseCode, SerializeType } from '../../protocol/codes.js';
import { decodeResponseLite, encodeFrame } from '../../protocol/frameCodec.js';
import { createResponse } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { RemotingServer } from '../../protocol/remotingServer.js';

const PC_REMARK = '[PC_SYNCHRONIZED]broker busy, start flow control for a while, period in queue: 1200ms';

test('code 1 with a [PC_SYNCHRONIZED] remark is OS_PAGECACHE_BUSY; other code 1 stays SYSTEM_ERROR', () => {
  assert.equal(ackStatusForCode(1, PC_REMARK), 'OS_PAGECACHE_BUSY');
  assert.equal(ackStatusForCode(1, 'putMessage failed'), 'SYSTEM_ERROR');
  assert.equal(ackStatusForCode(1), 'SYSTEM_ERROR');
  assert.equal(ackStatusForCode(2, '[OVERLOAD]'), 'SYSTEM_BUSY');
  assert.equal(busyReason('[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: 205ms'), '[TIMEOUT_CLEAN_QUEUE]');
  assert.equal(busyReason('no prefix'), 'unknown');
});

test('the recorder counts SYSTEM_BUSY by remark prefix, and OS_PAGECACHE_BUSY on its own', () => {
  const recorder = new AckRecorder();
  recorder.startMeasuring();
  recorder.record('SYSTEM_BUSY', 10, '[REJECTREQUEST]system busy');
  recorder.record('SYSTEM_BUSY', 10, '[PCBUSY_CLEAN_QUEUE]broker busy');
  recorder.record('SYSTEM_BUSY', 10, '[PCBUSY_CLEAN_QUEUE]broker busy');
  recorder.record(ackStatusForCode(1, PC_REMARK), 10, PC_REMARK);
  assert.deepEqual(recorder.busyReasons, { '[REJECTREQUEST]': 1, '[PCBUSY_CLEAN_QUEUE]': 2 });
  assert.deepEqual(recorder.statusCounts, { SYSTEM_BUSY: 3, OS_PAGECACHE_BUSY: 1 });
  assert.equal(recorder.failureCount, 4);
});

test('the lite decoder reads the remark of a non-success response only', () => {
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    const request = { code: RequestCode.SEND_MESSAGE_V2, language: 'JAVA', version: 0, opaque: 7, flag: 0, serializeType };
    const busy = decodeResponseLite(encodeFrame(createResponse(request, ResponseCode.SYSTEM_BUSY, '[OVERLOAD]system busy')).subarray(4));
    assert.deepEqual([busy.code, busy.opaque, busy.remark], [ResponseCode.SYSTEM_BUSY, 7, '[OVERLOAD]system busy']);
    const ok = decodeResponseLite(encodeFrame(createResponse(request, ResponseCode.SUCCESS, 'ignored', { msgId: 'x' })).subarray(4));
    assert.deepEqual([ok.code, ok.remark, ok.extFields], [0, undefined, undefined], 'success: the cheap path, no remark');
  }
});

test('the producer pool (lite responses) records OS_PAGECACHE_BUSY and the SYSTEM_BUSY reasons a broker answers', { timeout: 15_000 }, async () => {
  const server = new RemotingServer();
  const answers = [
    [ResponseCode.SYSTEM_BUSY, '[TIMEOUT_CLEAN_QUEUE]broker busy'], [ResponseCode.SYSTEM_ERROR, PC_REMARK], [ResponseCode.SUCCESS, undefined], [ResponseCode.SYSTEM_BUSY, '[OVERLOAD]busy'],
  ] as const;
  let n = 0;
  server.registerProcessor(RequestCode.SEND_MESSAGE_V2, (request) => {
    const [code, remark] = answers[n++ % answers.length];
    return createResponse(request, code, remark, code === 0 ? { msgId: 'm', queueId: '0', queueOffset: String(n) } : undefined);
  });
  const port = await server.listen(0);
  const client = new RemotingClient(`127.0.0.1:${port}`, { liteResponses: true });
  const recorder = new AckRecorder();
  recorder.startMeasuring();
  const pool = new ProducerPool({
    producers: 1, sizeBytes: 16, batch: 1, topic: 'T', rate: null, sendTimeoutMs: 2000, producerGroup: 'g', serializeType: SerializeType.ROCKETMQ,
  }, [{ brokerName: 'b', brokerAddress: `127.0.0.1:${port}`, queueId: 0 }], () => client, recorder);
  const running = pool.run();
  const deadline = Date.now() + 10_000;
  while (n < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  pool.stop();
  await running;
  client.close();
  await server.close();
  assert.ok((recorder.statusCounts.OS_PAGECACHE_BUSY ?? 0) >= 2, JSON.stringify(recorder.statusCounts));
  assert.equal(recorder.statusCounts.SYSTEM_ERROR, undefined);
  assert.ok((recorder.busyReasons['[TIMEOUT_CLEAN_QUEUE]'] ?? 0) >= 2 && (recorder.busyReasons['[OVERLOAD]'] ?? 0) >= 1, JSON.stringify(recorder.busyReasons));
  assert.equal(recorder.busyReasons.unknown, undefined);
});
