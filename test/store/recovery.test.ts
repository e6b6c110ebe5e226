// Recovery: torn tail, corrupted body, truncated segment, wrong segment size, lost
// ConsumeQueue, crash with unwritten ConsumeQueue entries, segment roll.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BLANK_MAGIC_CODE, decodeMessage } from '../../broker/store/messageCodec.js';
import { message, openStore, tempRoot } from './storeHarness.js';
import type { MessageStore } from '../../broker/store/messageStore.js';

const SEGMENT = 64 * 1024;

async function fill(root: string, count: number): Promise<Array<{ physicalOffset: number; sizeBytes: number }>> {
  const store = await openStore(root, { mappedFileSizeCommitLog: SEGMENT });
  const appended = Array.from({ length: count }, (_, i) => store.appendMessage(message(i)));
  await Promise.all(appended.map((a) => a.settled));
  await store.shutdown();
  return appended;
}

function bodies(store: MessageStore): string[] {
  const out: string[] = [];
  for (const queueId of [0, 1]) {
    for (let offset = 0; ; offset += 32) {
      const result = store.getMessages('T', queueId, offset, 32);
      if (result.status !== 'FOUND') break;
      for (const record of result.records) out.push(decodeMessage(record).body.toString());
    }
  }
  return out.sort();
}

function segmentFiles(root: string): string[] {
  return fs.readdirSync(path.join(root, 'commitlog')).sort().map((name) => path.join(root, 'commitlog', name));
}

test('torn tail: a half-written record after the last message is cut off; appends continue', async () => {
  const root = tempRoot('torn');
  try {
    const appended = await fill(root, 100);
    const last = appended[99];
    const file = segmentFiles(root).at(-1) as string;
    const fd = fs.openSync(file, 'r+');
    const partial = Buffer.alloc(60, 0x41);
    partial.writeInt32BE(200, 0);
    partial.writeInt32BE(0xdaa320a7 | 0, 4);
    fs.writeSync(fd, partial, 0, partial.length, (last.physicalOffset + last.sizeBytes) % SEGMENT);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(root, 'abort'), ''); // as after a crash
    const store = await openStore(root, { mappedFileSizeCommitLog: SEGMENT });
    try {
      assert.equal(store.recoveryReport?.validEndOffset, last.physicalOffset + last.sizeBytes);
      assert.equal(bodies(store).length, 100);
      const next = store.appendMessage(message(100));
      assert.equal(next.physicalOffset, last.physicalOffset + last.sizeBytes, 'the next record overwrites the torn bytes');
      assert.equal(await next.settled, 'PUT_OK');
      assert.equal(next.queueOffset, 50, 'queue offsets continue');
    } finally {
      await store.shutdown();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a flipped body byte ends recovery right before that record; the rest goes to recovery-trash', async () => {
  const root = tempRoot('crc');
  try {
    const appended = await fill(root, 100);
    const victim = appended[60];
    const file = segmentFiles(root)[Math.floor(victim.physicalOffset / SEGMENT)];
    const fd = fs.openSync(file, 'r+');
    const at = (victim.physicalOffset % SEGMENT) + victim.sizeBytes - 40; // inside the body
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    byte[0] ^= 0xff;
    fs.writeSync(fd, byte, 0, 1, at);
    fs.closeSync(fd);
    const store = await openStore(root, { mappedFileSizeCommitLog: SEGMENT });
    try {
      assert.equal(store.recoveryReport?.validEndOffset, victim.physicalOffset);
      assert.match(store.recoveryReport?.stopReason ?? '', /CRC/);
      assert.equal(bodies(store).length, 60, 'every message before the corrupt one, nothing after');
      assert.ok(fs.existsSync(path.join(root, 'recovery-trash')), 'discarded bytes kept for inspection');
    } finally {
      await store.shutdown();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a truncated last segment keeps every complete message; a wrong-size middle segment refuses to start and changes nothing', async () => {
  const root = tempRoot('truncated');
  try {
    const appended = await fill(root, 800); // several 64 KiB segments
    const files = segmentFiles(root);
    assert.ok(files.length >= 3);
    const lastFile = files.at(-1) as string;
    const lastStart = Number(path.basename(lastFile));
    const inLast = appended.filter((a) => a.physicalOffset >= lastStart);
    const cut = inLast[Math.floor(inLast.length / 2)];
    fs.truncateSync(lastFile, cut.physicalOffset - lastStart + 10); // mid-record
    const store = await openStore(root, { mappedFileSizeCommitLog: SEGMENT });
    try {
      assert.equal(store.recoveryReport?.validEndOffset, cut.physicalOffset);
      assert.equal(bodies(store).length, appended.indexOf(cut));
    } finally {
      await store.shutdown();
    }
    fs.truncateSync(files[1], SEGMENT - 100);
    const before = files.map((f) => fs.readFileSync(f));
    await assert.rejects(openStore(root, { mappedFileSizeCommitLog: SEGMENT }), (error: Error & { code?: string }) => error.code === 'SEGMENT_SIZE_MISMATCH' && /mappedFileSizeCommitLog/.test(error.message));
    files.forEach((f, i) => assert.ok(fs.readFileSync(f).equals(before[i]), `${f} untouched`));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a deleted ConsumeQueue directory is rebuilt from the CommitLog', async () => {
  const root = tempRoot('cq');
  try {
    await fill(root, 300);
    fs.rmSync(path.join(root, 'consumequeue'), { recursive: true });
    const store = await openStore(root, { mappedFileSizeCommitLog: SEGMENT });
    try {
      assert.equal(store.recoveryReport?.redispatchedRecords, 300);
      assert.equal(bodies(store).length, 300);
      assert.equal(store.getMaxOffsetInQueue('T', 0), 150);
    } finally {
      await store.shutdown();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('crash (halt) before the ConsumeQueue was written: abnormal recovery re-dispatches it', async () => {
  const root = tempRoot('abnormal');
  try {
    const store = await openStore(root, { mappedFileSizeCommitLog: SEGMENT, flushIntervalConsumeQueue: 60_000 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendMessage(message(i)).settled));
    store.halt();
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(fs.existsSync(path.join(root, 'abort')), 'the abort file marks the crash');
    const reopened = await openStore(root, { mappedFileSizeCommitLog: SEGMENT });
    try {
      assert.equal(reopened.recoveryReport?.mode, 'abnormal');
      assert.equal(bodies(reopened).length, 200);
    } finally {
      await reopened.shutdown();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a record that does not fit goes to the next segment behind a BLANK filler', async () => {
  const root = tempRoot('roll');
  try {
    const appended = await fill(root, 800);
    const crossing = appended.findIndex((a, i) => i > 0 && Math.floor(a.physicalOffset / SEGMENT) !== Math.floor(appended[i - 1].physicalOffset / SEGMENT));
    const before = appended[crossing - 1];
    const fillerAt = (before.physicalOffset % SEGMENT) + before.sizeBytes;
    const head = Buffer.alloc(8);
    const fd = fs.openSync(segmentFiles(root)[0], 'r');
    fs.readSync(fd, head, 0, 8, fillerAt);
    fs.closeSync(fd);
    assert.equal(head.readInt32BE(0), SEGMENT - fillerAt, 'filler length = free space');
    assert.equal(head.readInt32BE(4), BLANK_MAGIC_CODE);
    assert.equal(appended[crossing].physicalOffset % SEGMENT, 0, 'the record starts the next segment');
    const store = await openStore(root, { mappedFileSizeCommitLog: SEGMENT });
    try {
      assert.equal(bodies(store).length, 800);
    } finally {
      await store.shutdown();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
