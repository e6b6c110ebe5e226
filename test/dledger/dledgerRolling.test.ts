// DLedger data and index files roll (DLedger's MmapFileList): with small files, entries never
// span two data files, a rolled data file ends in a blank (int32 -1, int32 bytes left) and is
// exactly the file size, index files fill to their size; recovery and truncation work across
// files, and a follower's files are byte-identical to the leader's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BLANK_MAGIC, DLedgerStore, MIN_BLANK_BYTES } from '../../broker/dledger/dledgerStore.js';
import { ENTRY_HEADER_BYTES, INDEX_UNIT_BYTES } from '../../broker/dledger/entryCodec.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const DATA_FILE = 1024;
const INDEX_FILE = 8 * INDEX_UNIT_BYTES;
const SMALL = { dataFileSizeBytes: DATA_FILE, indexFileSizeBytes: INDEX_FILE };

function fill(text: string) {
  return (entry: Buffer, at: number) => {
    entry.write(text, at);
  };
}

/** Body of entry i: 100-300 bytes, so files roll every 3-8 entries at varying points. */
function bodyOf(i: number): string {
  return `e${i}:`.padEnd(100 + ((i * 37) % 200), String.fromCharCode(97 + (i % 26)));
}

function files(dir: string, kind: 'data' | 'index'): Array<{ name: string; size: number }> {
  return fs.readdirSync(path.join(dir, kind)).sort().map((name) => ({ name, size: fs.statSync(path.join(dir, kind, name)).size }));
}

function bodies(store: DLedgerStore): string[] {
  const out: string[] = [];
  for (let i = 0; i <= store.ledgerEndIndex; i++) out.push(store.get(i).bytes.subarray(ENTRY_HEADER_BYTES).toString());
  return out;
}

/** Every rolled data file: full size, entries inside it, a blank right after its last entry. */
function assertRolledLayout(store: DLedgerStore, dir: string): void {
  const dataFiles = files(dir, 'data');
  const lastEnds = new Map<number, number>();
  for (let i = 0; i <= store.ledgerEndIndex; i++) {
    const unit = store.indexUnit(i);
    const file = Math.floor(unit.pos / DATA_FILE);
    assert.equal(Math.floor((unit.pos + unit.sizeBytes - 1) / DATA_FILE), file, `entry ${i} (pos ${unit.pos}, ${unit.sizeBytes} bytes) spans two files`);
    lastEnds.set(file, unit.pos + unit.sizeBytes);
  }
  dataFiles.forEach((f, k) => {
    assert.equal(f.name, String(k * DATA_FILE).padStart(20, '0'), 'files are named by their first offset');
    if (k === dataFiles.length - 1) return;
    assert.equal(f.size, DATA_FILE, `rolled file ${f.name} is exactly the file size`);
    const end = lastEnds.get(k) as number;
    const blank = store.readData(end, MIN_BLANK_BYTES);
    assert.equal(blank.readInt32BE(0), BLANK_MAGIC, `a blank follows the last entry of ${f.name}`);
    assert.equal(blank.readInt32BE(4), (k + 1) * DATA_FILE - end, 'the blank holds the bytes left in the file');
  });
}

test('entries roll into new data files at the file size: blank padding, exact boundary, too-large entries, rolled index', async () => {
  const dir = scratchDir('dledger-roll');
  try {
    const store = new DLedgerStore(dir, SMALL);
    // Exact boundary: an entry that leaves exactly MIN_BLANK_BYTES stays; the next one rolls.
    store.appendAsLeader(1, 500 - ENTRY_HEADER_BYTES, fill('a'));
    const b = store.appendAsLeader(1, DATA_FILE - 500 - MIN_BLANK_BYTES - ENTRY_HEADER_BYTES, fill('b'));
    assert.equal(b.pos, 500, 'entry + blank fit exactly: it stays in the first file');
    const c = store.appendAsLeader(1, 12, fill('c'));
    assert.equal(c.pos, DATA_FILE, 'no room for entry + blank: the entry starts the next file');
    assert.deepEqual([...store.readData(DATA_FILE - MIN_BLANK_BYTES, MIN_BLANK_BYTES)], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 8]);
    assert.throws(() => store.appendAsLeader(1, DATA_FILE - MIN_BLANK_BYTES - ENTRY_HEADER_BYTES + 1, fill('x')), /DLEDGER_ENTRY_TOO_LARGE|does not fit/);
    const biggest = store.appendAsLeader(1, DATA_FILE - MIN_BLANK_BYTES - ENTRY_HEADER_BYTES, fill('z'));
    assert.equal(biggest.pos, 2 * DATA_FILE, 'the largest entry fills a file of its own but for the blank');
    for (let i = 4; i < 40; i++) store.appendAsLeader(2, Buffer.byteLength(bodyOf(i)), fill(bodyOf(i)));
    assertRolledLayout(store, dir);
    assert.ok(files(dir, 'data').length >= 8, `several rolls (${files(dir, 'data').length} data files)`);
    const indexFiles = files(dir, 'index');
    assert.equal(indexFiles.length, Math.ceil(40 / 8), 'index files hold 8 units each');
    assert.ok(indexFiles.slice(0, -1).every((f) => f.size === INDEX_FILE));
    assert.equal(indexFiles[1].name, String(INDEX_FILE).padStart(20, '0'));
    // A batch read across several rolls hands out each entry intact.
    const batch = store.readBatch(3, 1 << 20, 1000);
    assert.equal(batch.length, 37);
    assert.deepEqual(batch.slice(1).map((e) => e.bytes.subarray(ENTRY_HEADER_BYTES).toString()), Array.from({ length: 36 }, (_, i) => bodyOf(i + 4)));
    assert.ok(batch.every((e, i) => e.header.index === 3 + i && e.bytes.length === e.header.sizeBytes));
    await store.close();
  } finally {
    removeScratch(dir);
  }
});

test('restart recovers across data files; the index is rebuilt; another file size is refused', async () => {
  const dir = scratchDir('dledger-roll-recover');
  try {
    const store = new DLedgerStore(dir, SMALL);
    for (let i = 0; i < 30; i++) store.appendAsLeader(1, Buffer.byteLength(bodyOf(i)), fill(bodyOf(i)));
    store.updateCommittedIndex(25);
    const before = bodies(store);
    const end = store.dataEndPos;
    await store.close();
    // The index is rebuilt from the data files, whatever index files another size (or the old one-file layout) left.
    for (const f of files(dir, 'index')) fs.rmSync(path.join(dir, 'index', f.name));
    fs.writeFileSync(path.join(dir, 'index', '0'.repeat(20)), Buffer.alloc(3 * INDEX_FILE, 9));
    fs.writeFileSync(path.join(dir, 'index', String(INDEX_FILE + 32).padStart(20, '0')), Buffer.alloc(32, 9));
    const again = new DLedgerStore(dir, SMALL);
    assert.equal(again.recovery?.reason, null);
    assert.equal(again.recovery?.truncatedBytes, 0);
    assert.equal(again.ledgerEndIndex, 29);
    assert.equal(again.committedIndex, 25);
    assert.equal(again.dataEndPos, end);
    assert.deepEqual(bodies(again), before);
    assertRolledLayout(again, dir);
    // The next append goes where it would have gone without the restart.
    const next = again.appendAsLeader(1, 200, fill('n'));
    const fileEnd = (Math.floor(end / DATA_FILE) + 1) * DATA_FILE;
    assert.equal(next.pos, end + 200 + ENTRY_HEADER_BYTES + MIN_BLANK_BYTES > fileEnd ? fileEnd : end);
    await again.close();
    assert.throws(() => new DLedgerStore(dir, { ...SMALL, dataFileSizeBytes: 512 }), /DLEDGER_FILE_SIZE_MISMATCH|not written with/);
    assert.throws(() => new DLedgerStore(dir, { ...SMALL, dataFileSizeBytes: 2048 }), /DLEDGER_FILE_SIZE_MISMATCH|not written with/);
  } finally {
    removeScratch(dir);
  }
});

test('recovery cuts into an earlier file: a corrupt first entry of the last file, a dangling blank, a short middle file', async () => {
  const dir = scratchDir('dledger-roll-cut');
  try {
    const store = new DLedgerStore(dir, SMALL);
    for (let i = 0; i < 30; i++) store.appendAsLeader(1, Buffer.byteLength(bodyOf(i)), fill(bodyOf(i)));
    const lastFile = Math.floor(store.dataEndPos / DATA_FILE);
    let firstInLast = 0;
    while (Math.floor(store.indexUnit(firstInLast).pos / DATA_FILE) < lastFile) firstInLast++;
    const prevEnd = store.indexUnit(firstInLast - 1).pos + store.indexUnit(firstInLast - 1).sizeBytes;
    await store.close(true);
    // 1. The last file's first entry is corrupt: the cut lands in the file before, blank included.
    const lastPath = path.join(dir, 'data', String(lastFile * DATA_FILE).padStart(20, '0'));
    const fd = fs.openSync(lastPath, 'r+');
    fs.writeSync(fd, Buffer.from('X'), 0, 1, ENTRY_HEADER_BYTES + 2);
    fs.closeSync(fd);
    const cut = new DLedgerStore(dir, SMALL);
    assert.match(cut.recovery?.reason ?? '', /body CRC/);
    assert.equal(cut.ledgerEndIndex, firstInLast - 1);
    assert.equal(cut.dataEndPos, prevEnd);
    assert.equal(fs.existsSync(lastPath), false, 'the last file is gone');
    assert.equal(files(dir, 'data').at(-1)?.size, prevEnd - (lastFile - 1) * DATA_FILE, 'the blank of the file before is cut');
    assert.equal(files(dir, 'index').reduce((sum, f) => sum + f.size, 0), firstInLast * INDEX_UNIT_BYTES);
    // The log goes on from there, rolling exactly as before.
    const redo = cut.appendAsLeader(2, Buffer.byteLength(bodyOf(firstInLast)), fill(bodyOf(firstInLast)));
    assert.equal(redo.pos, lastFile * DATA_FILE);
    await cut.close();
    // 2. The last file vanished after its blank was written: the blank is cut, no entry lost.
    fs.rmSync(lastPath);
    const dangling = new DLedgerStore(dir, SMALL);
    assert.match(dangling.recovery?.reason ?? '', /blank ends the last data file/);
    assert.equal(dangling.ledgerEndIndex, firstInLast - 1);
    assert.equal(dangling.dataEndPos, prevEnd);
    await dangling.close();
    // 3. A middle file cut short (no blank) while later files exist: the later files go.
    const shortFile = path.join(dir, 'data', String(DATA_FILE).padStart(20, '0'));
    const keptInFile1 = new DLedgerStore(dir, SMALL);
    let lastInFile1 = 0;
    while (lastInFile1 + 1 <= keptInFile1.ledgerEndIndex && Math.floor(keptInFile1.indexUnit(lastInFile1 + 1).pos / DATA_FILE) <= 1) lastInFile1++;
    const file1End = keptInFile1.indexUnit(lastInFile1).pos + keptInFile1.indexUnit(lastInFile1).sizeBytes;
    await keptInFile1.close(true);
    fs.truncateSync(shortFile, file1End - DATA_FILE);
    const short = new DLedgerStore(dir, SMALL);
    assert.match(short.recovery?.reason ?? '', /ends without a blank but later files exist/);
    assert.equal(short.ledgerEndIndex, lastInFile1);
    assert.deepEqual(files(dir, 'data').map((f) => f.name), [0, DATA_FILE].map((o) => String(o).padStart(20, '0')));
    await short.close();
  } finally {
    removeScratch(dir);
  }
});

test('truncateAfter across file boundaries deletes later files and the blank; a follower rebuilt from the leader is byte-identical', async () => {
  const dir = scratchDir('dledger-roll-truncate');
  const followerDir = scratchDir('dledger-roll-follower');
  try {
    const leader = new DLedgerStore(dir, SMALL);
    for (let i = 0; i < 30; i++) leader.appendAsLeader(1, Buffer.byteLength(bodyOf(i)), fill(bodyOf(i)));
    const follower = new DLedgerStore(followerDir, SMALL);
    for (let i = 0; i <= leader.ledgerEndIndex; i++) follower.appendAsFollower(leader.get(i).bytes);
    // The follower's extra suffix (another term) is truncated back into file 0.
    for (let i = 30; i < 36; i++) follower.appendAsLeader(9, Buffer.byteLength(bodyOf(i)), fill(bodyOf(i)));
    let keep = 0;
    while (Math.floor(leader.indexUnit(keep + 1).pos / DATA_FILE) === 0) keep++;
    const keepEnd = leader.indexUnit(keep).pos + leader.indexUnit(keep).sizeBytes;
    follower.truncateAfter(keep);
    assert.equal(follower.dataEndPos, keepEnd);
    assert.deepEqual(files(followerDir, 'data'), [{ name: '0'.repeat(20), size: keepEnd }], 'later files and the blank are gone');
    assert.equal(files(followerDir, 'index').reduce((sum, f) => sum + f.size, 0), (keep + 1) * INDEX_UNIT_BYTES);
    // It catches up again across the same rolls and matches the leader byte for byte.
    for (let i = keep + 1; i <= leader.ledgerEndIndex; i++) follower.appendAsFollower(leader.get(i).bytes);
    assert.throws(() => follower.appendAsFollower(leader.get(leader.ledgerEndIndex).bytes), /does not extend/);
    await leader.close();
    await follower.close();
    const leaderFiles = files(dir, 'data');
    assert.deepEqual(files(followerDir, 'data'), leaderFiles);
    for (const f of leaderFiles) {
      assert.ok(fs.readFileSync(path.join(dir, 'data', f.name)).equals(fs.readFileSync(path.join(followerDir, 'data', f.name))), `${f.name} is byte-identical`);
    }
    // A follower with another data file size places entries elsewhere and refuses them.
    const other = new DLedgerStore(scratchDir('dledger-roll-other'), { ...SMALL, dataFileSizeBytes: 2048 });
    const reopened = new DLedgerStore(dir, SMALL);
    assert.throws(() => {
      for (let i = 0; i <= reopened.ledgerEndIndex; i++) other.appendAsFollower(reopened.get(i).bytes);
    }, /pos \d+, expected \d+/);
    await reopened.close();
    await other.close();
    removeScratch(other.dir);
  } finally {
    removeScratch(dir);
    removeScratch(followerDir);
  }
});
