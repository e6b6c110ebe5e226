// The load generator patches one encoded SEND_MESSAGE_V2 per send: opaque, born timestamp and
// UNIQ_KEY must be fresh in every frame, in both header types, and the frame must still decode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SerializeType, type SerializeTypeValue } from '../../protocol/codes.js';
import { decodeFrameContent } from '../../protocol/frameCodec.js';
import { findProperty } from '../../broker/store/messageCodec.js';
import { SendTemplate } from '../../loadgen/sendTemplate.js';

async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  for (let i = 0; i < 100 && Date.now() === start; i++) await new Promise((r) => setTimeout(r, 1));
}

for (const serializeType of [SerializeType.ROCKETMQ, SerializeType.JSON] as SerializeTypeValue[]) {
  test(`fill() gives every frame its own opaque, the current born timestamp and a new UNIQ_KEY (serialize type ${serializeType})`, async () => {
    const template = new SendTemplate({ producerGroup: 'G', topic: 'T', queueId: 2 }, Buffer.from('body'), serializeType);
    const frame = template.copy();
    const seen: Array<{ opaque: number; born: number; uniq: string }> = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) {
        const before = Date.now();
        const opaque = template.fill(frame, round * 2 + i);
        const after = Date.now();
        const command = decodeFrameContent(frame.subarray(4));
        assert.equal(command.opaque, opaque);
        const born = Number(command.extFields?.g);
        assert.ok(born >= before && born <= after, `born ${born} outside [${before}, ${after}]`);
        assert.equal(command.extFields?.e, '2');
        assert.equal(command.body?.toString(), 'body');
        seen.push({ opaque, born, uniq: findProperty(command.extFields?.i ?? '', 'UNIQ_KEY') ?? '' });
      }
      await nextMillisecond();
    }
    assert.equal(new Set(seen.map((s) => s.opaque)).size, seen.length, 'opaques repeat');
    assert.equal(new Set(seen.map((s) => s.uniq)).size, seen.length, 'UNIQ_KEYs repeat');
    assert.ok(new Set(seen.map((s) => s.born)).size >= 3, 'the born timestamp follows the clock');
  });
}
