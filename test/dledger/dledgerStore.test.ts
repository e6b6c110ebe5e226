// The DLedger entry format against a golden fixture (bytes computed independently with
// Python's zlib/struct), the index unit, and the store's recovery and truncation rules.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DLedgerStore } from '../../broker/dledger/dledgerStore.js';
import {
  checkEntry, encodeEntry, ENTRY_HEADER_BYTES, entryBodyCrc, INDEX_UNIT_BYTES, nextChainCrc, readIndexUnit, writeIndexUnit,
} from '../../broker/dledger/entryCodec.js';
import { parseDLedgerSettings, parsePeers } from '../../broker/dledger/dledgerConfig.js';
import { removeScratch, scratchDir } from '../support/scratch.js';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';

// python3: struct.pack('>iiqqqiIIi', 1, 50, 5, 2, 0x100, 0, chain, crc32(b'hi'), 2) + b'hi'
// with chain = crc32(struct.pack('>I', crc32(b'hi')), 0)
const GOLDEN_HEX = '00000001' + '00000032' + '0000000000000005' + '0000000000000002' + '0000000000000100' + '00000000' +
  '8dfa6b28' + 'd8932aac' + '00000002' + '6869';

test('an entry encodes byte for byte as the golden fixture (DLedgerEntryCoder layout)', () => {
  const body = Buffer.from('hi');
  const bodyCrc = entryBodyCrc(body);
  assert.equal(bodyCrc, 0xd8932aac | 0);
  const chainCrc = nextChainCrc(0, bodyCrc);
  assert.equal(chainCrc >>> 0, 0x8dfa6b28);
  assert.equal(nextChainCrc(0x12345678, bodyCrc) >>> 0, 0x3d333e6, 'the chain is seeded with the previous chain CRC');
  const entry = encodeEntry({ index: 5, term: 2, pos: 0x100, channel: 0, chainCrc, bodyCrc }, body);
  assert.equal(entry.toString('hex'), GOLDEN_HEX);
  assert.equal(ENTRY_HEADER_BYTES, 48, 'DLedgerEntry.BODY_OFFSET');
  const checked = checkEntry(entry, 0, entry.length, 0x100, 5, 0);
  assert.ok(checked.ok);
  const flipped = Buffer.from(entry);
  flipped[49] ^= 1;
  assert.deepEqual(checkEntry(flipped, 0, flipped.length, 0x100, 5, 0), { ok: false, reason: 'body CRC mismatch' });
  assert.equal(checkEntry(entry, 0, entry.length, 0x100, 5, 7).ok, false, 'a different chain before it is detected');
  assert.equal(checkEntry(entry, 0, entry.length, 0x100, 6, 0).ok, false, 'wrong index');
  assert.equal(checkEntry(entry, 0, entry.length - 1, 0x100, 5, 0).ok, false, 'torn body');
});

test('an index unit is {magic, pos, size, index, term} in 32 bytes', () => {
  const unit = Buffer.alloc(INDEX_UNIT_BYTES);
  writeIndexUnit(unit, 0, 0x100, 50, 5, 2);
  assert.equal(unit.toString('hex'), '00000001' + '0000000000000100' + '00000032' + '0000000000000005' + '0000000000000002');
  assert.deepEqual(readIndexUnit(unit, 0), { magic: 1, pos: 0x100, sizeBytes: 50, index: 5, term: 2 });
});

test('config: peers, selfId, DLedger defaults, and clear errors', () => {
  assert.equal(parseDLedgerSettings({}), null);
  const s = parseDLedgerSettings({ enableDLegerCommitLog: 'true', dLegerGroup: 'g', dLegerPeers: 'n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913', dLegerSelfId: 'n1' });
  assert.ok(s);
  assert.equal(s.peers.length, 3);
  assert.equal(s.heartBeatTimeIntervalMs, 2000);
  assert.equal(s.maxHeartBeatLeak, 3);
  assert.equal(s.minVoteIntervalMs, 300);
  assert.equal(s.maxVoteIntervalMs, 1000);
  assert.equal(s.maxWaitAckTimeMs, 2500);
  assert.throws(() => parsePeers('n0:1'), /n<i>-host:port/);
  assert.throws(() => parseDLedgerSettings({ enableDLegerCommitLog: 'true', dLegerPeers: 'n0-h:1', dLegerSelfId: 'n3' }), /dLegerSelfId=n3/);
  assert.throws(() => parseDLedgerSettings({ enableDLegerCommitLog: 'true', dLegerPeers: 'n0-h:1', dLegerSelfId: 'n0', minVoteIntervalMs: '10', maxVoteIntervalMs: '5' }), /maxVoteIntervalMs/);
  // In broker.properties: no unknown-key warnings, brokerRole ignored (and said so), brokerId from the role.
  const broker = brokerConfigFrom({
    storePathRootDir: scratchDir('dledger-config'), enableDLegerCommitLog: 'true', dLegerPeers: 'n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913',
    dLegerSelfId: 'n1', brokerRole: 'SLAVE', brokerId: '5', heartBeatTimeIntervalMs: '100',
  }, {});
  assert.deepEqual(broker.warnings.filter((w) => /unknown key/.test(w)), []);
  assert.equal(broker.store.brokerRole, 'ASYNC_MASTER', 'the store is not a SLAVE: the DLedger role decides');
  assert.equal(broker.brokerId, 2, 'a member starts as slave n1 → brokerId 2');
  const effective = broker.effectiveSettings();
  assert.match(effective.brokerRole, /^SLAVE \(ignored: with enableDLegerCommitLog=true/);
  assert.equal(effective.heartBeatTimeIntervalMs, '100');
  assert.equal(effective.maxHeartBeatLeak, '3');
  assert.equal(brokerConfigFrom({ storePathRootDir: scratchDir('plain-config') }, {}).effectiveSettings().enableDLegerCommitLog, 'false');
});

function body(text: string) {
  return (entry: Buffer, at: number) => {
    entry.write(text, at);
  };
}

test('recovery keeps the valid prefix: a torn tail and a corrupt entry are cut, the index is rebuilt', async () => {
  const dir = scratchDir('dledger-store');
  try {
    const store = new DLedgerStore(dir);
    for (let i = 0; i < 5; i++) store.appendAsLeader(1, 5, body(`msg-${i}`));
    store.updateCommittedIndex(3);
    store.persistCheckpoint();
    const fourthPos = store.indexUnit(4).pos;
    const end = store.dataEndPos;
    await store.close(true);
    // A torn fifth entry (half written) and garbage in the index beyond it.
    const dataFile = path.join(dir, 'data', '00000000000000000000');
    fs.truncateSync(dataFile, end - 3);
    fs.appendFileSync(path.join(dir, 'index', '00000000000000000000'), Buffer.alloc(64, 7));
    const reopened = new DLedgerStore(dir);
    assert.equal(reopened.ledgerEndIndex, 3);
    assert.equal(reopened.dataEndPos, fourthPos);
    assert.equal(reopened.committedIndex, 3);
    assert.equal(fs.statSync(path.join(dir, 'index', '00000000000000000000')).size, 4 * INDEX_UNIT_BYTES);
    assert.equal(reopened.get(2).bytes.subarray(ENTRY_HEADER_BYTES).toString(), 'msg-2');
    assert.match(reopened.recovery?.reason ?? '', /torn/);
    // A flipped body byte in entry 2 cuts there (2 and 3 go).
    const second = reopened.indexUnit(2).pos;
    await reopened.close(true);
    const fd = fs.openSync(dataFile, 'r+');
    fs.writeSync(fd, Buffer.from('X'), 0, 1, second + ENTRY_HEADER_BYTES);
    fs.closeSync(fd);
    const again = new DLedgerStore(dir);
    assert.equal(again.ledgerEndIndex, 1);
    assert.equal(again.committedIndex, 1, 'committedIndex never points past the recovered end');
    assert.match(again.recovery?.reason ?? '', /body CRC/);
    // The log goes on from there with the same chain.
    again.appendAsLeader(2, 5, body('msg-x'));
    await again.close();
    const last = new DLedgerStore(dir);
    assert.equal(last.ledgerEndIndex, 2);
    assert.equal(last.ledgerEndTerm, 2);
    assert.equal(last.recovery?.reason, null);
    await last.close();
  } finally {
    removeScratch(dir);
  }
});

test('truncateAfter drops a suffix, keeps the chain, and refuses to drop committed entries', async () => {
  const dir = scratchDir('dledger-truncate');
  try {
    const store = new DLedgerStore(dir);
    for (let i = 0; i < 4; i++) store.appendAsLeader(1, 5, body(`msg-${i}`));
    store.updateCommittedIndex(1);
    assert.throws(() => store.truncateAfter(0), /DLEDGER_TRUNCATE_COMMITTED|committed/);
    store.truncateAfter(1);
    assert.equal(store.ledgerEndIndex, 1);
    const follower = new DLedgerStore(scratchDir('dledger-follower'));
    for (let i = 0; i <= 1; i++) follower.appendAsFollower(store.get(i).bytes);
    assert.throws(() => follower.appendAsFollower(store.get(1).bytes), /does not extend/);
    store.appendAsLeader(2, 5, body('new-2'));
    follower.appendAsFollower(store.get(2).bytes);
    assert.equal(follower.get(2).bytes.toString('hex'), store.get(2).bytes.toString('hex'), 'byte-identical logs');
    await follower.close();
    removeScratch(follower.dir);
    await store.close();
  } finally {
    removeScratch(dir);
  }
});
