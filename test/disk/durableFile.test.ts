// Broker state files (topics.json, consumer offsets, DLedger votes and checkpoint) after a real power cut
// (root + loop device): writeFileDurably leaves the new content; the plain write-then-rename it
// replaced left an empty file on ext4 mounted noauto_da_alloc (what bench verify found).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DLedgerStore } from '../../broker/dledger/dledgerStore.js';
import { writeFileDurably } from '../../broker/durableFile.js';
import { loopSupportMissing } from '../../loadgen/disk/diskCommands.js';
import { removeScratch, scratchDir } from '../support/scratch.js';
import { strictLoopDisk } from './strictLoopDisk.js';

test('writeFileDurably replaces the content and leaves no temporary file', () => {
  const dir = scratchDir('durable');
  try {
    const file = path.join(dir, 'config', 'topics.json');
    writeFileDurably(file, '{"a":1}');
    writeFileDurably(file, '{"a":2}');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"a":2}');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['topics.json']);
  } finally {
    removeScratch(dir);
  }
});

test('after a power cut a durably replaced file holds its new content; a plain rename may leave it empty', { skip: loopSupportMissing() ?? false, timeout: 90_000 }, async (t) => {
  const { disk, powerCut } = await strictLoopDisk(t, 'durable-cut', 60_000);
  const durable = path.join(disk.mountPoint, 'config', 'durable.json');
  const plain = path.join(disk.mountPoint, 'config', 'plain.json');
  writeFileDurably(durable, 'old');
  writeFileDurably(plain, 'old');
  writeFileDurably(durable, 'new durable content');
  fs.writeFileSync(`${plain}.tmp`, 'new plain content'); // what the brokers did before
  fs.renameSync(`${plain}.tmp`, plain);
  const crashed = await powerCut();
  const after = (file: string) => fs.readFileSync(path.join(crashed.mountPoint, 'config', path.basename(file)), 'utf8');
  assert.equal(after(durable), 'new durable content');
  t.diagnostic(`plain write-then-rename after the cut: ${JSON.stringify(after(plain))}`);
  assert.notEqual(after(plain), 'new plain content', 'in strict mode the unsynced rename target never reached the disk');
});

test('after a power cut a DLedger member keeps the committed index it checkpointed (clamped to the entries that survived)', { skip: loopSupportMissing() ?? false, timeout: 90_000 }, async (t) => {
  const { disk, powerCut } = await strictLoopDisk(t, 'dledger-checkpoint-cut', 60_000);
  const dir = path.join(disk.mountPoint, 'dledger-n0');
  const store = new DLedgerStore(dir, { dataFileSizeBytes: 1024 * 1024 });
  for (let i = 0; i < 10; i++) store.appendAsLeader(1, 16, (entry, bodyAt) => entry.fill(i, bodyAt, bodyAt + 16));
  await store.flush(); // entries 0..9 on the disk
  store.updateCommittedIndex(9);
  store.persistCheckpoint();
  for (let i = 0; i < 5; i++) store.appendAsLeader(1, 16, (entry, bodyAt) => entry.fill(0xee, bodyAt, bodyAt + 16));
  store.updateCommittedIndex(14); // committed in memory, never flushed nor checkpointed
  store.writeOut();
  const crashed = await powerCut();
  await store.close(true);
  const recovered = new DLedgerStore(path.join(crashed.mountPoint, 'dledger-n0'), { dataFileSizeBytes: 1024 * 1024 });
  try {
    assert.equal(recovered.ledgerEndIndex, 9, 'the unflushed entries 10..14 did not survive the cut');
    assert.equal(recovered.committedIndex, 9, 'the checkpoint survived: the member still knows 0..9 are committed');
  } finally {
    await recovered.close();
  }
});
