// FrameDecoder fuzz: random and mutated frames, seeded so a failure replays. Only FrameError
// may escape, the decoder never hangs, and any split of a valid stream decodes identically.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, FrameError } from '../../protocol/frameCodec.js';
import type { RemotingCommand } from '../../protocol/remotingCommand.js';
import { seededRandom } from '../../broker/seededRandom.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const ITERATIONS = 100_000;
const LANGUAGES = ['JAVA', 'CPP', 'GO', 'PYTHON', 'OTHER'];

function randomText(rand: () => number, maxLength: number): string {
  const length = Math.floor(rand() * maxLength);
  let out = '';
  for (let i = 0; i < length; i++) {
    const pick = rand();
    out += pick < 0.8 ? String.fromCharCode(0x20 + Math.floor(rand() * 95)) : pick < 0.9 ? '\u0001\u0002"\\{}:'[Math.floor(rand() * 8)] : 'ü测😀'[Math.floor(rand() * 2)];
  }
  return out;
}

function randomCommand(rand: () => number): RemotingCommand {
  const extFields: Record<string, string> = {};
  const fields = Math.floor(rand() * 6);
  for (let i = 0; i < fields; i++) extFields[rand() < 0.5 ? 'abcdefghijklm'[i] : randomText(rand, 12) || 'k'] = randomText(rand, 40);
  const command: RemotingCommand = {
    code: Math.floor(rand() * 400),
    language: LANGUAGES[Math.floor(rand() * LANGUAGES.length)],
    version: Math.floor(rand() * 500),
    opaque: Math.floor(rand() * 2 ** 31),
    flag: Math.floor(rand() * 4),
    serializeType: rand() < 0.5 ? 0 : 1,
  };
  if (fields > 0) command.extFields = extFields;
  if (rand() < 0.3) command.remark = randomText(rand, 30) || 'r';
  if (rand() < 0.6) command.body = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
  return command;
}

/** One fuzz input: garbage, a valid frame, or a valid frame with flipped/inserted/removed bytes or a rewritten length or mark. */
function fuzzInput(rand: () => number): Buffer {
  const kind = rand();
  if (kind < 0.15) return Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
  const frame = Buffer.from(encodeFrame(randomCommand(rand)));
  if (kind < 0.25) return frame;
  const mutations = 1 + Math.floor(rand() * 4);
  let bytes = frame;
  for (let m = 0; m < mutations; m++) {
    const how = rand();
    const at = Math.floor(rand() * bytes.length);
    if (how < 0.35) bytes[at] ^= 1 << Math.floor(rand() * 8);
    else if (how < 0.5) bytes[at] = Math.floor(rand() * 256);
    else if (how < 0.6) bytes = bytes.subarray(0, at);
    else if (how < 0.7) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), bytes.subarray(at)]);
    else if (how < 0.8 && bytes.length >= 8) bytes.writeInt32BE(Math.floor(rand() * 2 ** 32) | 0, 4); // random mark
    else if (how < 0.9 && bytes.length >= 4) bytes.writeInt32BE([0, 3, 4, 5, bytes.length - 4 + 1, bytes.length, -1, 2 ** 31 - 1, 16_777_217][Math.floor(rand() * 9)] | 0, 0);
    else if (bytes.length >= 8) bytes.writeInt32BE((bytes.readInt32BE(4) & 0xff000000) | Math.floor(rand() * bytes.length), 4); // header length
  }
  return bytes;
}

/** Pushes `input` in random chunks; returns decoded commands and the error class if one escaped. */
function feed(decoder: FrameDecoder, input: Buffer, rand: () => number): { commands: RemotingCommand[]; error: unknown } {
  const commands: RemotingCommand[] = [];
  let p = 0;
  try {
    while (p < input.length) {
      const size = 1 + Math.floor(rand() * (rand() < 0.5 ? 8 : input.length));
      decoder.push(input.subarray(p, p + size), (c) => commands.push(c));
      p += size;
    }
  } catch (error) {
    return { commands, error };
  }
  return { commands, error: null };
}

test(`${ITERATIONS} random and mutated frames: only FrameError escapes, nothing hangs (seed ${SEED})`, { timeout: 60_000 }, () => {
  const rand = seededRandom(SEED);
  const started = Date.now();
  let errors = 0;
  let decoded = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const decoder = new FrameDecoder(rand() < 0.2 ? 1024 : undefined);
    const input = fuzzInput(rand);
    const { commands, error } = feed(decoder, input, rand);
    decoded += commands.length;
    if (error) {
      errors++;
      assert.ok(error instanceof FrameError, `iteration ${i} (seed ${SEED}): ${String((error as Error)?.stack ?? error)} for input ${input.toString('hex').slice(0, 200)}`);
      assert.equal(decoder.bufferedBytes <= input.length, true);
    }
    for (const command of commands) {
      assert.equal(typeof command.code, 'number');
      assert.equal(typeof command.opaque, 'number');
      assert.equal(typeof command.language, 'string');
    }
  }
  const elapsedMs = Date.now() - started;
  assert.ok(errors > ITERATIONS / 10, `mutations produce errors (${errors})`);
  assert.ok(decoded > ITERATIONS / 10, `and valid frames decode (${decoded})`);
  assert.ok(elapsedMs < 45_000, `bounded time: ${elapsedMs} ms`);
});

test('a byte stream split at random points decodes to the same commands as the whole stream', () => {
  const rand = seededRandom(SEED + 1);
  for (let round = 0; round < 200; round++) {
    const commands = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => randomCommand(rand));
    const stream = Buffer.concat(commands.map(encodeFrame));
    const whole: RemotingCommand[] = [];
    new FrameDecoder().push(stream, (c) => whole.push(c));
    assert.equal(whole.length, commands.length);
    const split = feed(new FrameDecoder(), stream, rand);
    assert.equal(split.error, null);
    assert.deepEqual(split.commands, whole, `round ${round}`);
    // One byte at a time: the worst case for the chunk list.
    const bytewise: RemotingCommand[] = [];
    const decoder = new FrameDecoder();
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1), (c) => bytewise.push(c));
    assert.deepEqual(bytewise, whole);
    assert.equal(decoder.bufferedBytes, 0);
  }
});

test('frame length limits: negative, below 4, above the limit and a 2 GiB prefix throw FrameError at once', () => {
  for (const length of [-1, 0, 3, 16_777_217, 0x7fffffff, 0x80000000 | 0]) {
    const decoder = new FrameDecoder();
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(length, 0);
    assert.throws(() => decoder.push(prefix, () => assert.fail('no command')), FrameError, `length ${length}`);
    assert.equal(decoder.bufferedBytes, 0, 'the decoder drops its buffer');
  }
  // Exactly 4: a frame holding only its mark (header length 0) is not valid JSON.
  assert.throws(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]), () => {}), FrameError);
});
