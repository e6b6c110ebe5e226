import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TailCache } from '../../broker/dledger/tailCache.js';

/** Appends `text` at `pos` the way the store does: write out first when it does not fit. */
function append(cache: TailCache, written: Array<{ pos: number; bytes: string }>, pos: number, text: string, fileEnd: number): void {
  if (!cache.fits(pos, text.length)) writeOut(cache, written);
  const slot = cache.reserve(pos, text.length, fileEnd);
  assert.ok(slot);
  slot.buf.write(text, slot.at, 'latin1');
  cache.commit(text.length);
}

function writeOut(cache: TailCache, written: Array<{ pos: number; bytes: string }>): void {
  const span = cache.pending();
  if (!span) return;
  written.push({ pos: span.pos, bytes: span.buf.toString('latin1', span.at, span.at + span.length) });
  cache.markWritten();
}

test('tail cache: pending bytes go out once and in order, reads come from memory, slabs stop at file ends and their memory is reused', () => {
  const cache = new TailCache(16, 2);
  const written: Array<{ pos: number; bytes: string }> = [];
  let pos = 0;
  const texts = ['aaaa', 'bbbbbb', 'cccc', 'dddddd', 'ee', 'ffffffff', 'gggg'];
  for (const text of texts) {
    append(cache, written, pos, text, 1000);
    pos += text.length;
  }
  assert.equal(cache.read(pos - 4, 4)?.toString(), 'gggg', 'the newest bytes from memory, not yet written');
  assert.equal(cache.read(0, 4), null, 'the oldest slab left the cache (2 kept)');
  writeOut(cache, written);
  assert.equal(written.map((w) => w.bytes).join(''), texts.join(''), 'every byte written once, in order');
  assert.ok(written.every((w, i) => i === 0 || w.pos === written[i - 1].pos + written[i - 1].bytes.length), 'contiguous writes');
  assert.equal(cache.pending(), null);
  // A slab never crosses a file end: the next file starts a new one.
  const fileEnd = pos + 3;
  cache.writtenPos = fileEnd; // the store wrote the blank up to the file end itself
  append(cache, written, fileEnd, 'hhhhh', fileEnd + 100);
  assert.equal(cache.read(fileEnd, 5)?.toString(), 'hhhhh');
  assert.equal(cache.slabEndAt(fileEnd), fileEnd + 5);
  writeOut(cache, written);
  assert.deepEqual(written.at(-1), { pos: fileEnd, bytes: 'hhhhh' });
  assert.equal(cache.reserve(fileEnd + 5, 17, 10_000), null, 'larger than a slab: the caller writes it itself');
});
