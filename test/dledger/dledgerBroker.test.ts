// Three brokers with enableDLegerCommitLog=true and a name server, in one process: the leader
// registers as brokerId 0, sends are acked, pulls on the leader return records whose
// ConsumeQueue positions point into the DLedger data file (pos + 48); after the leader's
// DLedger member dies, a new leader registers as brokerId 0 and takes sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseCode } from '../../protocol/codes.js';
import { ENTRY_HEADER_BYTES } from '../../broker/dledger/entryCodec.js';
import { decodeRecords, pullRequest, sendV2, type TestBroker } from '../server/brokerHarness.js';
import { waitFor } from '../support/waitFor.js';
import { FAST_DLEDGER_TIMING, startDLedgerGroup } from './dledgerGroup.js';

test('DLedger brokers: leader is brokerId 0, sends and pulls work, failover moves brokerId 0 to the new leader', { timeout: 40_000 }, async () => {
  const group = await startDLedgerGroup('broker-d', { brokerRole: 'SYNC_MASTER', flushDiskType: 'ASYNC_FLUSH' });
  const { brokers, client } = group;
  const master = () => group.masterAddress('TBW102');
  try {
    const settings = brokers[0].broker.effectiveSettings();
    assert.match(settings.brokerRole, /SYNC_MASTER \(ignored/);
    assert.equal(settings.heartBeatTimeIntervalMs, FAST_DLEDGER_TIMING.heartBeatTimeIntervalMs);
    let leaderAddress: string | undefined;
    await waitFor(async () => (leaderAddress = await master()) !== undefined && brokers.some((b) => b.address === leaderAddress && b.broker.dledger?.commitLog.writable),
      'a ready leader registered as brokerId 0', 10_000);
    const leader = brokers.find((b) => b.address === leaderAddress) as TestBroker;
    const followers = brokers.filter((b) => b !== leader);
    for (const f of followers) assert.equal(f.broker.config.brokerId, Number(f.broker.config.dledger?.selfId.slice(1)) + 1, 'a follower registers as slave with selfId index + 1');

    for (let i = 0; i < 10; i++) {
      const response = await client(leader.address).invoke(sendV2({ topic: 'DTopic', body: Buffer.from(`before-${i}`) }), 3000);
      assert.equal(response.code, ResponseCode.SUCCESS, `send ${i}: ${response.remark}`);
      assert.equal(response.extFields?.queueOffset, String(i));
    }
    const refused = await client(followers[0].address).invoke(sendV2({ topic: 'DTopic', body: Buffer.from('to a follower') }), 3000);
    assert.equal(refused.code, ResponseCode.SERVICE_NOT_AVAILABLE, 'a follower refuses sends');

    const pulled = await client(leader.address).invoke(pullRequest({ topic: 'DTopic', queueOffset: 0 }), 3000);
    assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark);
    const records = decodeRecords(pulled.body);
    assert.deepEqual(records.map((r) => r.body.toString()), Array.from({ length: 10 }, (_, i) => `before-${i}`));
    const dstore = leader.broker.dledger?.server.store;
    assert.ok(dstore);
    for (const record of records) {
      // The record's physical offset is its DLedger entry's pos + 48, and the bytes there are the record.
      const entryPos = record.physicalOffset - ENTRY_HEADER_BYTES;
      assert.equal(dstore.readData(entryPos, 4).readInt32BE(0), 1, 'an entry magic 48 bytes before the record');
      assert.equal(dstore.readData(record.physicalOffset, record.totalSize).subarray(0, 4).readInt32BE(0), record.totalSize);
    }
    // Followers built the same ConsumeQueue from committed entries.
    await waitFor(() => followers.every((f) => f.broker.store.getMaxOffsetInQueue('DTopic', 0) === 10), 'followers dispatch committed entries', 5000);

    // The leader's DLedger member dies (no heartbeats, no votes); a follower takes over.
    const killedAt = Date.now();
    await leader.broker.dledger?.shutdown(true);
    let newAddress: string | undefined;
    await waitFor(async () => (newAddress = await master()) !== undefined && newAddress !== leader.address &&
      followers.some((f) => f.address === newAddress && f.broker.dledger?.commitLog.writable), 'the new leader registered as brokerId 0', 10_000);
    const failoverMs = Date.now() - killedAt;
    assert.ok(failoverMs < 5000, `failover took ${failoverMs} ms`);
    const next = followers.find((f) => f.address === newAddress) as TestBroker;
    const after = await client(next.address).invoke(sendV2({ topic: 'DTopic', body: Buffer.from('after') }), 3000);
    assert.equal(after.code, ResponseCode.SUCCESS, after.remark);
    assert.equal(after.extFields?.queueOffset, '10', 'the new leader continues the queue where the committed log ends');
    const all = decodeRecords((await client(next.address).invoke(pullRequest({ topic: 'DTopic', queueOffset: 0 }), 3000)).body);
    assert.deepEqual(all.map((r) => r.body.toString()), [...Array.from({ length: 10 }, (_, i) => `before-${i}`), 'after']);
  } finally {
    await group.stop();
  }
});
