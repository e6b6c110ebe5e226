// SendAnswer writes the SEND answer's extFields straight into the binary header: its frames must
// be byte-identical to createResponse's with the same record, in both serialize types, for any
// offsets (small, multi-digit, beyond 2^32) and store hosts (IPv4, IPv6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerializeType, type SerializeTypeValue } from '../../protocol/codes.js';
import { decodeFrameContent, encodeFrame } from '../../protocol/frameCodec.js';
import { createRequest, createResponse, FLAG_RESPONSE } from '../../protocol/remotingCommand.js';
import { encodeSocketAddress, offsetMessageId } from '../../broker/store/messageCodec.js';
import { SendAnswer } from '../../broker/server/sendAnswer.js';

const hosts = [encodeSocketAddress('10.1.2.3', 10911), encodeSocketAddress('::1', 10911)];
const cases: Array<[physicalOffset: number, queueId: number, queueOffset: number]> = [
  [0, 0, 0], [9, 7, 10], [4_294_967_295, 15, 99_999], [4_294_967_296, 1023, 1_000_000_007], [Number.MAX_SAFE_INTEGER, 3, Number.MAX_SAFE_INTEGER],
];

function generic(request: ReturnType<typeof createRequest>, code: number, storeHost: Buffer, physicalOffset: number, queueId: number, queueOffset: number) {
  return createResponse(request, code, undefined, {
    msgId: offsetMessageId(storeHost, physicalOffset), queueId: String(queueId), queueOffset: String(queueOffset), MSG_REGION: 'DefaultRegion', TRACE_ON: 'true',
  });
}

for (const serializeType of [SerializeType.ROCKETMQ, SerializeType.JSON] as SerializeTypeValue[]) {
  test(`SendAnswer frames equal createResponse's byte for byte (serialize type ${serializeType})`, () => {
    for (const storeHost of hosts) {
      for (const [physicalOffset, queueId, queueOffset] of cases) {
        const request = createRequest(310, { a: 'group' }, Buffer.from('body'), serializeType);
        request.version = 373;
        const fast = new SendAnswer(request, 0, storeHost, physicalOffset, queueId, queueOffset);
        const expected = encodeFrame(generic(request, 0, storeHost, physicalOffset, queueId, queueOffset));
        assert.deepEqual(encodeFrame(fast), expected, `offset ${physicalOffset}, queue ${queueId}@${queueOffset}, host ${storeHost.length} bytes`);
        const decoded = decodeFrameContent(expected.subarray(4));
        assert.equal(decoded.opaque, request.opaque);
        assert.equal(decoded.version, 373);
        assert.equal(decoded.flag & FLAG_RESPONSE, FLAG_RESPONSE);
        assert.equal(decoded.extFields?.queueOffset, String(queueOffset));
      }
    }
  });
}

test('SendAnswer keeps the code it was given and carries a status like FLUSH_DISK_TIMEOUT', () => {
  const request = createRequest(310, {}, undefined, SerializeType.ROCKETMQ);
  const answer = new SendAnswer(request, 10, hosts[0], 123, 1, 2);
  const decoded = decodeFrameContent(encodeFrame(answer).subarray(4));
  assert.equal(decoded.code, 10);
  assert.deepEqual(decoded.extFields, answer.extFields);
  assert.equal(decoded.extFields?.msgId, offsetMessageId(hosts[0], 123));
});
