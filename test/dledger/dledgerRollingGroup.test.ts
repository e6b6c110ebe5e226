// Rolling DLedger files in a group: a follower that was cut off catches up across several data
// file rolls and ends byte-identical to the leader; brokers with a small mappedFileSizeCommitLog
// keep ConsumeQueue positions (flat offsets into the DLedger log) right across rolls, on every
// member and after a failover.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { type DLedgerSettings, parsePeers } from '../../broker/dledger/dledgerConfig.js';
import { DLedgerServer } from '../../broker/dledger/dledgerServer.js';
import { ENTRY_HEADER_BYTES, INDEX_UNIT_BYTES } from '../../broker/dledger/entryCodec.js';
import { ResponseCode } from '../../protocol/codes.js';
import { decodeRecords, pullRequest, sendV2, type TestBroker } from '../server/brokerHarness.js';
import { freePort } from '../support/ports.js';
import { removeScratch, scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';
import { startDLedgerGroup } from './dledgerGroup.js';

const TIMING = {
  heartBeatTimeIntervalMs: 80, maxHeartBeatLeak: 4, minVoteIntervalMs: 40, maxVoteIntervalMs: 120, maxWaitAckTimeMs: 800, maxPushTimeOutMs: 300,
  flushFileIntervalMs: 10, checkPointIntervalMs: 200,
};
const DATA_FILE = 1024;

function dataFiles(dir: string): Map<string, Buffer> {
  const dataDir = path.join(dir, 'data');
  return new Map(fs.readdirSync(dataDir).sort().map((name) => [name, fs.readFileSync(path.join(dataDir, name))]));
}

test('a follower cut off while the leader rolled several data files catches up byte for byte', { timeout: 30_000 }, async () => {
  const root = scratchDir('dledger-roll-group');
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers = parsePeers(ports.map((port, i) => `n${i}-127.0.0.1:${port}`).join(';'));
  const settings = peers.map((peer): DLedgerSettings => ({ group: 'g', selfId: peer.id, peers, preferredLeaderIds: [], ...TIMING }));
  const servers = await Promise.all(settings.map((s) => DLedgerServer.start(s, {
    rootDir: root, listenHost: '127.0.0.1', syncFlush: false, store: { dataFileSizeBytes: DATA_FILE, indexFileSizeBytes: 4 * INDEX_UNIT_BYTES },
  })));
  try {
    let leader: DLedgerServer | undefined;
    await waitFor(() => {
      const found = servers.filter((s) => s.isLeader);
      leader = found.length === 1 && servers.every((s) => s === found[0] || s.member.leaderId === found[0].member.selfId) ? found[0] : undefined;
      return leader !== undefined;
    }, 'one leader that everyone follows', 5000);
    const current = leader as DLedgerServer;
    const lagging = servers.find((s) => s !== current) as DLedgerServer;
    lagging.setIsolated(true);
    const filesBefore = dataFiles(current.store.dir).size;
    for (let i = 0; i < 30; i++) {
      const text = `m${i}`.padEnd(120 + ((i * 53) % 150), '.');
      assert.equal(await current.appendAsLeader(text.length, (entry, at) => entry.write(text, at)).settled, 'SUCCESS');
    }
    assert.ok(dataFiles(current.store.dir).size >= filesBefore + 4, 'the leader rolled several data files meanwhile');
    lagging.setIsolated(false);
    await waitFor(() => {
      const now = servers.find((s) => s.isLeader);
      return now !== undefined && lagging.store.ledgerEndIndex === now.store.ledgerEndIndex && lagging.store.committedIndex === now.store.committedIndex;
    }, 'the lagging follower reaches the leader end', 10_000);
    const now = servers.find((s) => s.isLeader) as DLedgerServer;
    await Promise.all(servers.map((s) => s.store.flush()));
    const expected = dataFiles(now.store.dir);
    const got = dataFiles(lagging.store.dir);
    assert.deepEqual([...got.keys()], [...expected.keys()], 'the same data files');
    for (const [name, bytes] of expected) assert.ok(bytes.equals(got.get(name) as Buffer), `${name} is byte-identical`);
  } finally {
    for (const s of servers) await s.shutdown();
    removeScratch(root);
  }
});

test('brokers with small DLedger data files: ConsumeQueue positions stay right across rolls, on followers and after failover', { timeout: 40_000 }, async () => {
  const FILE = 65536; // the smallest mappedFileSizeCommitLog the broker takes
  const body = (i: number) => Buffer.from(`r${i}-`.padEnd(9000 + ((i * 997) % 8000), String.fromCharCode(65 + (i % 26))));
  const group = await startDLedgerGroup('broker-r', { flushDiskType: 'ASYNC_FLUSH', mappedFileSizeCommitLog: String(FILE) });
  const { brokers, client } = group;
  try {
    await waitFor(() => brokers.filter((b) => b.broker.dledger?.commitLog.writable).length === 1, 'a ready leader', 10_000);
    const leader = brokers.find((b) => b.broker.dledger?.commitLog.writable) as TestBroker;
    for (let i = 0; i < 24; i++) {
      const answer = await client(leader.address).invoke(sendV2({ topic: 'RollTopic', body: body(i) }), 3000);
      assert.equal(answer.code, ResponseCode.SUCCESS, answer.remark);
      assert.equal(answer.extFields?.queueOffset, String(i));
    }
    const tooBig = await client(leader.address).invoke(sendV2({ topic: 'RollTopic', body: Buffer.alloc(FILE) }), 3000);
    assert.equal(tooBig.code, ResponseCode.MESSAGE_ILLEGAL, 'a message whose entry cannot fit a data file is refused');
    const dataDir = path.join(leader.storeDir, `dledger-${leader.broker.config.dledger?.selfId}`, 'data');
    assert.ok(fs.readdirSync(dataDir).length >= 5, 'the DLedger data file rolled several times');
    await waitFor(() => brokers.every((b) => b.broker.store.getMaxOffsetInQueue('RollTopic', 0) === 24), 'every member dispatched the messages', 5000);
    for (const b of brokers) {
      // Every member's ConsumeQueue points at its own copy of each record, in whichever data file it landed.
      const store = b.broker.dledger?.server.store;
      assert.ok(store);
      for (let q = 0; q < 24; q++) {
        const record = b.broker.store.lookMessageByOffset(b.broker.store.queues.find('RollTopic', 0)?.getEntry(q)?.physicalOffset ?? -1);
        assert.ok(record, `${b.address}: record ${q} found by its ConsumeQueue position`);
        assert.deepEqual(record.body, body(q));
        const entryPos = record.physicalOffset - ENTRY_HEADER_BYTES;
        assert.equal(Math.floor(entryPos / FILE), Math.floor((record.physicalOffset + record.totalSize - 1) / FILE), 'no record spans two files');
      }
    }
    // Failover: the new leader continues the queue across the next roll.
    await leader.stop();
    await waitFor(() => brokers.some((b) => b !== leader && b.broker.dledger?.commitLog.writable), 'a new ready leader', 10_000);
    const next = brokers.find((b) => b !== leader && b.broker.dledger?.commitLog.writable) as TestBroker;
    for (let i = 24; i < 32; i++) {
      const answer = await client(next.address).invoke(sendV2({ topic: 'RollTopic', body: body(i) }), 3000);
      assert.equal(answer.code, ResponseCode.SUCCESS, answer.remark);
      assert.equal(answer.extFields?.queueOffset, String(i));
    }
    const pulled = [];
    for (let offset = 0; offset < 32 && pulled.length < 32;) {
      const answer = await client(next.address).invoke(pullRequest({ topic: 'RollTopic', queueOffset: offset, maxMsgNums: 8 }), 3000);
      assert.equal(answer.code, ResponseCode.SUCCESS, answer.remark);
      const records = decodeRecords(answer.body);
      assert.ok(records.length > 0);
      pulled.push(...records);
      offset += records.length;
    }
    assert.deepEqual(pulled.map((r) => r.queueOffset), Array.from({ length: 32 }, (_, i) => i));
    assert.ok(pulled.every((r, i) => r.body.equals(body(i))));
  } finally {
    await group.stop();
  }
});
