// FrameDecoder rules beyond the fuzz: each malformed input has its own error code, and a frame
// arriving in many small pieces is copied a bounded number of times (no quadratic joining).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FRAME_MAX_BYTES, FrameDecoder, FrameError } from '../../protocol/frameCodec.js';
import type { RemotingCommand } from '../../protocol/remotingCommand.js';

function errorCode(bytes: Buffer, maxFrameBytes?: number): string | null {
  try {
    new FrameDecoder(maxFrameBytes).push(bytes, () => {});
    return null;
  } catch (error) {
    assert.ok(error instanceof FrameError, String(error));
    return error.code;
  }
}

function withPrefix(length: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(length | 0, 0);
  return Buffer.concat([prefix, rest]);
}

function frameOf(serializeType: number, header: Buffer): Buffer {
  const out = Buffer.alloc(8 + header.length);
  out.writeInt32BE(4 + header.length, 0);
  out.writeInt32BE(((serializeType << 24) | header.length) | 0, 4);
  header.copy(out, 8);
  return out;
}

test('each malformed input fails with its own FrameError code', { timeout: 20_000 }, () => {
  assert.equal(errorCode(withPrefix(FRAME_MAX_BYTES + 1)), 'FRAME_TOO_LARGE');
  assert.equal(errorCode(withPrefix(0x7fffffff)), 'FRAME_TOO_LARGE');
  assert.equal(errorCode(withPrefix(2000), undefined), null, 'a frame below the limit just waits for more bytes');
  assert.equal(errorCode(withPrefix(2000), 1024), 'FRAME_TOO_LARGE', 'the limit is configurable');
  assert.equal(errorCode(withPrefix(-1)), 'BAD_LENGTH');
  assert.equal(errorCode(withPrefix(0x80000000)), 'BAD_LENGTH', 'a 2 GiB prefix reads as a negative int32');
  assert.equal(errorCode(withPrefix(3, Buffer.alloc(3))), 'BAD_LENGTH');
  assert.equal(errorCode(frameOf(2, Buffer.from('{"code":1}'))), 'BAD_SERIALIZE_TYPE');
  assert.equal(errorCode(frameOf(0x7f, Buffer.from('{"code":1}'))), 'BAD_SERIALIZE_TYPE');
  assert.equal(errorCode(frameOf(0, Buffer.from('not json'))), 'BAD_HEADER');
  assert.equal(errorCode(frameOf(0, Buffer.from('[1,2]'))), 'BAD_HEADER');
  assert.equal(errorCode(frameOf(0, Buffer.from('{"code":"310"}'))), 'BAD_HEADER');
  assert.equal(errorCode(frameOf(0, Buffer.from('{"code":1,"extFields":"x"}'))), 'BAD_HEADER');
  assert.equal(errorCode(frameOf(1, Buffer.from([0, 10, 0, 1, 0x91]))), 'BAD_HEADER', 'binary header shorter than 17 bytes');
  const negativeRemark = Buffer.alloc(21);
  negativeRemark.writeInt32BE(-1, 13);
  assert.equal(errorCode(frameOf(1, negativeRemark)), 'BAD_HEADER');
  const extOverrun = Buffer.alloc(21);
  extOverrun.writeInt32BE(100, 17);
  assert.equal(errorCode(frameOf(1, extOverrun)), 'BAD_HEADER');
  const header = Buffer.from('{"code":1}');
  const lying = frameOf(0, header);
  lying.writeInt32BE(header.length + 50, 4); // header length beyond the frame
  assert.equal(errorCode(lying), 'BAD_FRAME');
});

test('commands before a bad frame in the same chunk are delivered, then the error stops the stream', { timeout: 20_000 }, () => {
  const good = encodeFrame({ code: 1, language: 'JAVA', version: 0, opaque: 7, flag: 0, serializeType: 1 });
  const seen: number[] = [];
  const decoder = new FrameDecoder();
  assert.throws(() => decoder.push(Buffer.concat([good, good, withPrefix(-5)]), (c) => seen.push(c.opaque)), FrameError);
  assert.deepEqual(seen, [7, 7]);
  assert.equal(decoder.bufferedBytes, 0);
});

test('a 4 MiB frame in 4 KiB pieces (and a stream of small frames in 1-byte pieces) is joined once, not per piece', { timeout: 20_000 }, (t) => {
  let copiedBytes = 0;
  const concat = Buffer.concat;
  t.mock.method(Buffer, 'concat', (list: readonly Uint8Array[], totalLength?: number) => {
    const joined = concat(list, totalLength);
    copiedBytes += joined.length;
    return joined;
  });
  const big: RemotingCommand = { code: 310, language: 'JAVA', version: 401, opaque: 1, flag: 0, extFields: { b: 'T' }, body: Buffer.alloc(4 * 1024 * 1024, 7), serializeType: 1 };
  const bytes = encodeFrame(big);
  const decoder = new FrameDecoder();
  const out: RemotingCommand[] = [];
  for (let p = 0; p < bytes.length; p += 4096) decoder.push(bytes.subarray(p, p + 4096), (c) => out.push(c));
  assert.equal(out.length, 1);
  assert.equal(out[0].body?.length, 4 * 1024 * 1024);
  assert.ok(copiedBytes <= 2 * bytes.length, `copied ${copiedBytes} bytes for a ${bytes.length}-byte frame`);

  copiedBytes = 0;
  const small = encodeFrame({ code: 34, language: 'JAVA', version: 401, opaque: 2, flag: 0, body: Buffer.alloc(100), serializeType: 0 });
  const stream = Buffer.concat(Array.from({ length: 50 }, () => small));
  copiedBytes = 0;
  let count = 0;
  for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1), () => count++);
  assert.equal(count, 50);
  assert.ok(copiedBytes <= 3 * stream.length, `copied ${copiedBytes} bytes for ${stream.length} bytes of small frames`);
});
