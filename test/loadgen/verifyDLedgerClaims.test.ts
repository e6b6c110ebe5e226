// The DLedger verdicts and report section from given numbers (no brokers): which claims a
// DLedger profile gets, what violates each, losses charged to the right crash, and the report row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeClaims, profileShape } from '../../loadgen/verify/claims.js';
import { attributeLosses, type DLedgerCycle, type DLedgerSeriesSummary } from '../../loadgen/verify/dledgerSeries.js';
import type { LeaderAckRecord } from '../../loadgen/verify/leaderLoad.js';
import type { NodeRead } from '../../loadgen/verify/readBack.js';
import type { FaultSummary } from '../../loadgen/verify/summary.js';
import { resolveProfiles } from '../../loadgen/profile.js';
import { renderVerifyMarkdown, type VerifyJson } from '../../reports/verifyReport.js';

const ZERO = { acked: 100, ackedLost: 0, lostWindowMsMax: 0, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0, ackedMoved: 0 };

function cycle(n: number, partial: Partial<DLedgerCycle> = {}): DLedgerCycle {
  return { cycle: n, killed: 'dledger-n0', newLeader: 'dledger-n1', faultAfterMs: 500, failoverMs: 700, failedSends: 64, ackedBeforeFault: 50, ackedAfterFault: 50, ackedLost: 0, lostWindowMs: null, copyMs: 0, topicConfigLost: false, ledgerEndAtFault: null, recoveredEntries: null, entriesDropped: null, ...partial };
}

function series(flushDiskType: string, partial: Partial<FaultSummary> = {}, d: Partial<DLedgerSeriesSummary> = {}): FaultSummary {
  const dledger: DLedgerSeriesSummary = {
    flushDiskType, cycles: [cycle(1), cycle(2)], finalLeader: 'dledger-n1', ledgerEndIndex: 200, convergeMs: 40, failedSendsDuringFailover: 128, failoverMsMax: 700, failoverMsP50: 700, ackedAfterFirstFault: 150, seriesMs: 9000, entriesDropped: null, crashesThatDropped: 0,
    members: ['n0', 'n1', 'n2'].map((id) => ({ name: `dledger-${id}`, selfId: id, leader: id === 'n1', ...ZERO })), ...d,
  };
  return {
    crashes: 2, failedCycles: 0, errors: [], ...ZERO, master: ZERO, slave: null, slaveLossIsTail: null, fsyncMsMax: null, lostWindowsMs: [0, 0], fsyncMsMaxPerCycle: [null, null],
    topicConfigLost: 0, statusCounts: {}, dledger, ...partial,
  };
}

const shapeOf = (name: string) => profileShape(resolveProfiles(name)[0].nodes, {});
const byId = (faults: Record<string, FaultSummary>, name = 'dledger') => new Map(judgeClaims(shapeOf(name), faults).map((c) => [c.id, c]));

test('DLedger profiles get the DLedger claims, not the master/slave ones; a clean series holds', () => {
  assert.equal(shapeOf('dledger').dledger, true);
  assert.equal(shapeOf('single-async-flush').dledger, false);
  const claims = byId({ kill: series('ASYNC_FLUSH'), powercut: series('ASYNC_FLUSH') });
  assert.deepEqual([...claims.keys()], ['dledger-leader-kill', 'dledger-leader-power-cut', 'dledger-automatic-failover', 'dledger-replicas-converge', 'recovery-integrity']);
  for (const c of claims.values()) assert.equal(c.verdict, 'holds', c.detail);
  assert.match(claims.get('dledger-leader-power-cut')?.detail ?? '', /page caches/, 'the ASYNC_FLUSH detail says why a leader power cut keeps acks');
  assert.match(byId({ powercut: series('SYNC_FLUSH') }, 'dledger-sync-flush').get('dledger-leader-power-cut')?.detail ?? '', /fdatasync/);
  assert.equal(byId({ kill: series('ASYNC_FLUSH') }).get('dledger-leader-power-cut')?.verdict, 'not tested');
});

test('DLedger verdicts: one lost ack, a follower missing one, a cycle with no ack after the crash, or a failed final read', () => {
  assert.equal(byId({ kill: series('ASYNC_FLUSH', { ackedLost: 1 }) }).get('dledger-leader-kill')?.verdict, 'violated');
  const members = ['n0', 'n1', 'n2'].map((id) => ({ name: `dledger-${id}`, selfId: id, leader: id === 'n1', ...ZERO, ackedLost: id === 'n2' ? 1 : 0 }));
  const follower = byId({ kill: series('ASYNC_FLUSH', {}, { members }) });
  assert.equal(follower.get('dledger-replicas-converge')?.verdict, 'violated');
  assert.equal(follower.get('dledger-leader-kill')?.verdict, 'holds', 'the verdict is the leader\'s read; followers are evidence');
  const stalled = byId({ kill: series('ASYNC_FLUSH', {}, { cycles: [cycle(1), cycle(2, { ackedAfterFault: 0 })] }) });
  assert.equal(stalled.get('dledger-automatic-failover')?.verdict, 'violated');
  const unread = byId({ kill: series('ASYNC_FLUSH', { crashes: 0, failedCycles: 1, errors: ['final read-back: DLEDGER_NOT_CONVERGED'] }, { members: [] }) });
  assert.equal(unread.get('dledger-leader-kill')?.verdict, 'not tested');
  assert.equal(unread.get('dledger-replicas-converge'), undefined);
});

test('a lost ack is charged to the first crash after it, with the window to that crash', () => {
  const ack = (key: string, answeredAtMs: number): LeaderAckRecord => ({ key, producerId: 0, sequence: 0, status: 0, queueId: 0, queueOffset: 0, msgId: '', sentAtMs: answeredAtMs - 1, answeredAtMs, address: 'a' });
  const read: NodeRead = { address: 'a', entries: [{ key: 'kept', queueId: 0, queueOffset: 0, problem: null }], maxOffsets: [1], minOffsets: [0], missingOffsets: 0 };
  const cycles = [cycle(1), cycle(2)];
  attributeLosses([ack('kept', 50), ack('a', 90), ack('b', 1500), ack('c', 1800), ack('after', 2500)], read, cycles, [100, 2000]);
  assert.deepEqual(cycles.map((c) => [c.ackedLost, c.lostWindowMs]), [[1, 10], [2, 500]]);
});

test('verify.md shows the DLedger row: failover, failed sends, acks after the first crash, each member\'s missing count', () => {
  const f = series('ASYNC_FLUSH');
  const report: VerifyJson = {
    profile: 'dledger', engine: 'flushbench', mode: 'strict', startedAt: 'now', loadS: 2, crashesPerFault: 2, testFaults: null, powerCutProof: null,
    faults: { kill: f }, total: { crashes: 2, ...ZERO }, skipped: [], partition: null, diskFull: null, claims: judgeClaims(shapeOf('dledger'), { kill: f }),
  };
  const md = renderVerifyMarkdown(report);
  assert.match(md, /\| kill \(ASYNC_FLUSH\) \| 2 \| 700 \| 700 \| 128 \| 150 \| dledger-n1 \| dledger-n0 0, dledger-n1 0, dledger-n2 0 \| 40 \| 9 \|/);
});
