// bench verify on the DLedger profiles, end to end against three real broker processes: the
// leader is killed (or loses power: root and a loop device, skipped otherwise) under load, the
// producers follow the new leader, the crashed member rejoins, and every acked message is read
// back from the final leader and from each follower. Short: small ConsumeQueue files, 1.5 s of
// load per cycle, tight election timing (the test/dledger values that survive a loaded host).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loopSupportMissing } from '../../loadgen/disk/diskCommands.js';
import { resolveProfiles } from '../../loadgen/profile.js';
import { applicableFaults, runVerify, type VerifyFault, type VerifyReport } from '../../loadgen/verify.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

const FAST = {
  mappedFileSizeConsumeQueue: '60000',
  heartBeatTimeIntervalMs: '150', maxHeartBeatLeak: '4', minVoteIntervalMs: '50', maxVoteIntervalMs: '150', maxWaitAckTimeMs: '1500',
};
const loopMissing = loopSupportMissing();
const powerCutSkip = loopMissing ? `power cuts need root and a loop device: ${loopMissing}` : false;

async function verify(profileName: string, faults: VerifyFault[], crashes: number): Promise<VerifyReport> {
  const dir = diskScratchDir('verify-dledger');
  try {
    return await runVerify({ profile: resolveProfiles(profileName)[0], overrides: FAST, faults, crashes, loadS: 1.5, storeDir: dir, strict: true, imageSizeMiB: 256 });
  } finally {
    removeScratch(dir);
  }
}

function describe(report: VerifyReport): string {
  return JSON.stringify({ faults: report.faults, claims: report.claims }, null, 1);
}

function verdict(report: VerifyReport, id: string): string | undefined {
  return report.claims.find((c) => c.id === id)?.verdict;
}

test('DLedger profiles: only leader kill and leader power cut apply', () => {
  assert.deepEqual(applicableFaults(resolveProfiles('dledger')[0], {}), ['kill', 'powercut']);
  assert.deepEqual(applicableFaults(resolveProfiles('dledger-sync-flush')[0], {}), ['kill', 'powercut']);
});

test('dledger: the leader killed 3 times under load, producers follow each new leader, nothing acked is lost on any member', { timeout: 150_000 }, async () => {
  const report = await verify('dledger', ['kill'], 3);
  const kill = report.faults.kill;
  const d = kill.dledger;
  assert.ok(d, describe(report));
  assert.equal(kill.crashes, 3, describe(report));
  assert.equal(kill.failedCycles, 0, describe(report));
  assert.equal(d.cycles.length, 3);
  assert.ok(d.ackedAfterFirstFault > 0, `the producers acked on a new leader after the first crash: ${describe(report)}`);
  for (const c of d.cycles) {
    assert.notEqual(c.newLeader, c.killed, `cycle ${c.cycle}: a different member took over`);
    assert.ok(c.ackedAfterFault > 0, `cycle ${c.cycle}: SEND_OKs after the fault`);
    // Producers wait while no member takes writes: only the sends in flight at the crash fail (64 producers).
    assert.ok(c.failedSends <= 64, `cycle ${c.cycle}: ${c.failedSends} failed sends, more than the producers in flight`);
  }
  assert.ok(kill.acked > 1000, 'the load was acked');
  assert.equal(kill.ackedLost, 0, describe(report));
  assert.equal(kill.duplicates + kill.corrupt + kill.queueGaps + kill.ackedMoved, 0, describe(report));
  assert.equal(d.members.length, 3, 'every member was read back');
  for (const m of d.members) assert.equal(m.ackedLost + m.corrupt + m.duplicates, 0, `${m.name}: ${describe(report)}`);
  assert.equal(verdict(report, 'dledger-leader-kill'), 'holds');
  assert.equal(verdict(report, 'dledger-automatic-failover'), 'holds');
  assert.equal(verdict(report, 'dledger-replicas-converge'), 'holds');
  assert.equal(verdict(report, 'dledger-leader-power-cut'), 'not tested');
  // The restarted member's recovery is read from its log. Not asserted to be 0: a kill keeps the
  // page cache, but the leader batches appends in memory and write()s them once per turn, so it
  // may lose a not-yet-written (and not yet self-counted, so unacked) tail (50 kills: 9 lost 16–64).
  for (const c of d.cycles) assert.notEqual(c.entriesDropped, null, `cycle ${c.cycle}: ${JSON.stringify(c)}`);
});

test('dledger-sync-flush: the leader loses power twice (loop-image copy), it rejoins from what reached its disk, nothing acked is lost', { timeout: 180_000, skip: powerCutSkip }, async () => {
  const report = await verify('dledger-sync-flush', ['powercut'], 2);
  const cut = report.faults.powercut;
  assert.equal(cut.crashes, 2, describe(report));
  assert.equal(cut.failedCycles, 0, describe(report));
  assert.ok((cut.dledger?.ackedAfterFirstFault ?? 0) > 0, describe(report));
  assert.ok(cut.acked > 0);
  assert.equal(cut.ackedLost, 0, describe(report));
  assert.equal(cut.duplicates + cut.corrupt + cut.queueGaps, 0, describe(report));
  for (const m of cut.dledger?.members ?? []) assert.equal(m.ackedLost, 0, `${m.name}: ${describe(report)}`);
  for (const c of cut.dledger?.cycles ?? []) assert.notEqual(c.recoveredEntries, null, `cycle ${c.cycle}: the restarted leader's recovery was found in its log`);
  assert.equal(verdict(report, 'dledger-leader-power-cut'), 'holds');
  assert.ok(report.powerCutProof?.keepsSynced && report.powerCutProof.dropsUnsynced, 'the power-cut self-check ran and passed');
});
