// The counting rules of bench verify on hand-made data: lost, moved, duplicate, corrupt, gaps,
// the lost window, the ASYNC_MASTER tail rule, the pull-body decoder's checks, the claim
// verdicts and the verify.csv/md output. Each assertion fails if its rule is dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage, encodeSocketAddress, measureMessage, type MessageToStore } from '../../broker/store/messageCodec.js';
import { decodePulledRecords, propertyOf } from '../../protocol/requests/pullMessage.js';
import { judgeClaims, type ProfileShape } from '../../loadgen/verify/claims.js';
import { decodeVerifyBody, encodeVerifyBody, messageProperties } from '../../loadgen/verify/messages.js';
import type { AckRecord } from '../../loadgen/verify/producer.js';
import type { NodeRead, StoredEntry } from '../../loadgen/verify/readBack.js';
import type { FaultSummary } from '../../loadgen/verify/summary.js';
import { lossIsTail, tally } from '../../loadgen/verify/tally.js';
import { verifyCsv, renderVerifyMarkdown, type VerifyJson } from '../../reports/verifyReport.js';

function ack(key: string, queueOffset: number, answeredAtMs: number, status = 0): AckRecord {
  return { key, producerId: 0, sequence: 0, status, queueId: 0, queueOffset, msgId: '', sentAtMs: answeredAtMs - 1, answeredAtMs };
}

function read(entries: StoredEntry[], maxOffset: number, missingOffsets = 0): NodeRead {
  return { address: 'x', entries, maxOffsets: [maxOffset], minOffsets: [0], missingOffsets };
}

function entry(key: string | null, queueOffset: number, problem: string | null = null): StoredEntry {
  return { key, queueId: 0, queueOffset, problem };
}

test('tally: lost, moved, duplicate, corrupt, unacked-stored, gaps and the lost window', () => {
  const acks = [ack('a', 0, 1000), ack('b', 1, 1100), ack('c', 2, 1200), ack('d', 3, 1300), ack('e', 4, 1400, 12), ack('f', 5, 1500)];
  const stored = read([entry('a', 0), entry('b', 1), entry('a', 2), entry('c', 3), entry('d', 4, 'body CRC does not match'), entry('e', 5), entry('z', 7)], 8, 1);
  const counts = tally(acks, [stored], 2000);
  assert.equal(counts.acked, 5, 'status 12 (FLUSH_SLAVE_TIMEOUT) is not an ack');
  assert.equal(counts.ackedLost, 2, 'd is corrupt, f is absent');
  assert.equal(counts.lostWindowMs, 2000 - 1300, 'from the oldest lost ack (d) to the fault');
  assert.equal(counts.duplicates, 1);
  assert.equal(counts.corrupt, 1);
  assert.equal(counts.unackedStored, 2, 'e (not SEND_OK) and z');
  assert.equal(counts.queueGaps, 1);
  assert.equal(counts.ackedMoved, 1, 'c was acked at offset 2, stored at 3');
});

test('tally over two nodes: present on either counts, a copy on each is not a duplicate', () => {
  const acks = [ack('a', 0, 10), ack('b', 1, 20)];
  const counts = tally(acks, [read([entry('a', 0)], 1), read([entry('a', 0), entry('b', 1)], 2)], 30);
  assert.equal(counts.ackedLost, 0);
  assert.equal(counts.duplicates, 0);
  assert.equal(counts.lostWindowMs, null);
});

test('ASYNC_MASTER tail rule: a missing ack beyond the slave end is a tail, one before it is a hole', () => {
  const acks = [ack('a', 0, 1), ack('b', 1, 2), ack('c', 2, 3)];
  assert.equal(lossIsTail(acks, read([entry('a', 0), entry('b', 1)], 2)), true);
  assert.equal(lossIsTail(acks, read([entry('a', 0), entry('c', 2)], 3)), false);
});

test('message bodies: CRC catches a flipped byte; the pull decoder catches a body that no longer matches the stored CRC', () => {
  const body = encodeVerifyBody({ producerId: 3, sequence: 41 }, 1234, 64);
  const decoded = decodeVerifyBody(body);
  assert.ok(decoded.ok && decoded.producerId === 3 && decoded.sequence === 41);
  const flipped = Buffer.from(body);
  flipped[30] ^= 1;
  assert.equal(decodeVerifyBody(flipped).ok, false);

  const message: MessageToStore = {
    topic: 'T', queueId: 2, flag: 0, body, properties: messageProperties('run-3-41'), sysFlag: 0, bornTimestamp: 1, bornHost: encodeSocketAddress('127.0.0.1', 1),
    storeHost: encodeSocketAddress('127.0.0.1', 2), reconsumeTimes: 0, preparedTransactionOffset: 0,
  };
  const lengths = measureMessage(message);
  const two = Buffer.alloc(lengths.totalBytes * 2);
  encodeMessage(two, 0, message, lengths, 7, 0, 5);
  encodeMessage(two, lengths.totalBytes, message, lengths, 8, lengths.totalBytes, 5);
  const good = decodePulledRecords(two);
  assert.equal(good.length, 2);
  assert.deepEqual(good.map((r) => [r.problem, r.queueId, r.queueOffset]), [[null, 2, 7], [null, 2, 8]]);
  assert.equal(propertyOf(good[0].properties, 'UNIQ_KEY'), 'run-3-41');
  const damaged = Buffer.from(two);
  damaged[lengths.totalBytes + 150] ^= 0xff; // inside the second body
  const bad = decodePulledRecords(damaged);
  assert.equal(bad[0].problem, null);
  assert.match(bad[1].problem ?? '', /CRC/);
  assert.match(decodePulledRecords(two.subarray(0, lengths.totalBytes + 40))[1].problem ?? '', /trailing bytes|out of range/);
});

function fault(partial: Partial<FaultSummary>): FaultSummary {
  return {
    crashes: 3, failedCycles: 0, errors: [], acked: 100, ackedLost: 0, lostWindowMsMax: 0, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0, ackedMoved: 0,
    master: null, slave: null, slaveLossIsTail: null, fsyncMsMax: 5, lostWindowsMs: [], fsyncMsMaxPerCycle: [], topicConfigLost: 0, statusCounts: {}, ...partial,
  };
}

test('claims: SYNC_FLUSH violated by one lost ack; ASYNC_FLUSH window judged against the interval plus two flush durations', () => {
  const sync: ProfileShape = { masterFlush: 'SYNC_FLUSH', masterRole: 'SYNC_MASTER', hasSlave: true, flushIntervalMs: 500, transientPool: false, dledger: false };
  const slave = { acked: 100, ackedLost: 0, lostWindowMsMax: 0, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0, ackedMoved: 0 };
  const verdicts = judgeClaims(sync, { powercut: fault({ ackedLost: 1, slave }), 'both-powercut': fault({}) });
  const byId = new Map(verdicts.map((v) => [v.id, v.verdict]));
  assert.equal(byId.get('sync-flush-power-cut'), 'violated');
  assert.equal(byId.get('sync-master-failover'), 'holds');
  assert.equal(byId.get('sync-sync-both-die'), 'holds');
  const async: ProfileShape = { ...sync, masterFlush: 'ASYNC_FLUSH', masterRole: 'ASYNC_MASTER', hasSlave: false };
  assert.equal(judgeClaims(async, { powercut: fault({ ackedLost: 9, lostWindowMsMax: 509, lostWindowsMs: [509, 0, 560], fsyncMsMaxPerCycle: [5, null, 50] }) })[0].verdict, 'holds');
  assert.equal(judgeClaims(async, { powercut: fault({ ackedLost: 9, lostWindowMsMax: 511, lostWindowsMs: [3, 511, 0], fsyncMsMaxPerCycle: [50, 5, 5] }) })[0].verdict, 'violated');
  assert.equal(judgeClaims(async, {})[0].verdict, 'not tested');
});

test('verify.csv has one row per fault and a total row; verify.md states the mode and every verdict', () => {
  const report: VerifyJson = {
    profile: 'p', engine: 'flushbench', mode: 'strict', startedAt: 'now', loadS: 2, crashesPerFault: 3, testFaults: null, powerCutProof: null,
    faults: { powercut: fault({ ackedLost: 2, lostWindowMsMax: 40, topicConfigLost: 2 }) },
    total: { crashes: 3, acked: 100, ackedLost: 2, lostWindowMsMax: 40, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0 },
    skipped: [{ fault: 'both-powercut', reason: 'DISK_NOT_ROOT: …' }], partition: null, diskFull: null,
    claims: [{ id: 'x', claim: 'SYNC_FLUSH claim', verdict: 'violated', detail: '2 lost' }],
  };
  const lines = verifyCsv(report).trim().split('\n');
  assert.equal(lines[0], 'fault,crashes,acked,ackedLost,lostWindowMsMax,duplicates,unackedStored,corrupt,queueGaps,slaveAckedLost,failedCycles');
  assert.equal(lines[1], 'powercut,3,100,2,40,0,0,0,0,,0');
  assert.match(lines[2], /^total,3,100,2,40,/);
  const md = renderVerifyMarkdown(report);
  assert.match(md, /Mode: strict/);
  assert.match(md, /\| SYNC_FLUSH claim \| violated \| 2 lost \|/);
  assert.match(md, /both-powercut skipped: DISK_NOT_ROOT/);
  assert.match(md, /after 2 of 3 crashes the restarted master had lost the topic's config/);
});
