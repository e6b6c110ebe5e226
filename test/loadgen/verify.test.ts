// bench verify end to end against real broker processes: kills need nothing special; power cuts
// need root and a loop device (skipped with the reason otherwise; CI runs as root, so it runs
// them). The test-only fault (SYNC_FLUSH acking before fdatasync) proves the power cut tells a
// broker that fsyncs from one that does not, and that a kill cannot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loopSupportMissing } from '../../loadgen/disk/diskCommands.js';
import { resolveProfiles } from '../../loadgen/profile.js';
import { runVerify, type VerifyFault, type VerifyReport } from '../../loadgen/verify.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

const SMALL = { mappedFileSizeCommitLog: String(16 * 1024 * 1024), mappedFileSizeConsumeQueue: '60000' };
const loopMissing = loopSupportMissing();
const powerCutSkip = loopMissing ? `power cuts need root and a loop device: ${loopMissing}` : false;

async function verify(profileName: string, faults: VerifyFault[], crashes: number, brokerEnv?: NodeJS.ProcessEnv, checkLoopSupport?: () => string | null): Promise<VerifyReport> {
  const dir = diskScratchDir('verify'); // stores and images on the project's disk, never tmpfs
  try {
    return await runVerify({
      profile: resolveProfiles(profileName)[0], overrides: SMALL, faults, crashes, loadS: 1.5, storeDir: dir, strict: true, imageSizeMiB: 256, brokerEnv, checkLoopSupport,
    });
  } finally {
    removeScratch(dir);
  }
}

function describe(report: VerifyReport): string {
  return JSON.stringify({ faults: report.faults, claims: report.claims }, null, 1);
}

test('ASYNC_FLUSH kill -9 under load: every acked message is read back intact, no duplicate, no gap', { timeout: 90_000 }, async () => {
  const report = await verify('single-async-flush', ['kill'], 2);
  const kill = report.faults.kill;
  assert.equal(kill.crashes, 2, describe(report));
  assert.ok(kill.acked > 100, 'the load was acked');
  assert.equal(kill.ackedLost, 0, describe(report));
  assert.equal(kill.duplicates + kill.corrupt + kill.queueGaps, 0, describe(report));
  assert.equal(report.claims.find((c) => c.id === 'kill-no-loss')?.verdict, 'holds');
});

test('without root or a loop device, power-cut faults are skipped naming what is missing and kill still runs', { timeout: 90_000 }, async () => {
  const reason = 'DISK_NOT_ROOT: loop-device power cuts need root';
  const report = await verify('single-sync-flush', ['powercut', 'kill'], 1, undefined, () => reason);
  assert.deepEqual(report.skipped, [{ fault: 'powercut', reason }]);
  assert.equal(report.faults.powercut, undefined);
  assert.equal(report.faults.kill.crashes, 1);
  assert.equal(report.faults.kill.ackedLost, 0, describe(report));
  assert.equal(report.claims.find((c) => c.id === 'sync-flush-power-cut')?.verdict, 'not tested');
});

test('test fault: SYNC_FLUSH acking before fdatasync is caught by powercut (acked lost) and not by kill', { timeout: 150_000, skip: powerCutSkip }, async () => {
  // Three cuts: the unsynced window is only ~10 ms plus an fsync, so one cut landing in a stall could miss it.
  const report = await verify('single-sync-flush', ['powercut', 'kill'], 3, { FLUSHBENCH_TEST_FAULTS: 'ack-before-fsync' });
  assert.equal(report.testFaults, 'ack-before-fsync');
  assert.equal(report.mode, 'strict');
  assert.ok(report.faults.powercut.ackedLost > 0, `the power cut must catch unsynced acks: ${describe(report)}`);
  assert.equal(report.faults.kill.ackedLost, 0, `a kill keeps the page cache: ${describe(report)}`);
  assert.equal(report.claims.find((c) => c.id === 'sync-flush-power-cut')?.verdict, 'violated');
});

test('SYNC_FLUSH power cut under load: no acked message lost', { timeout: 90_000, skip: powerCutSkip }, async () => {
  const report = await verify('single-sync-flush', ['powercut'], 2);
  const cut = report.faults.powercut;
  assert.equal(cut.crashes, 2, describe(report));
  assert.ok(cut.acked > 0);
  assert.equal(cut.ackedLost, 0, describe(report));
  assert.equal(cut.corrupt + cut.queueGaps + cut.duplicates, 0, describe(report));
  assert.ok(report.powerCutProof?.keepsSynced && report.powerCutProof.dropsUnsynced, 'the self-check ran and passed');
});

test('sync-sync: master and slave lose power together, nothing acked is lost', { timeout: 180_000, skip: powerCutSkip }, async () => {
  const report = await verify('sync-sync', ['both-powercut'], 2);
  const both = report.faults['both-powercut'];
  assert.equal(both.crashes, 2, describe(report));
  assert.ok(both.acked > 0);
  assert.equal(both.ackedLost, 0, describe(report));
  assert.equal(report.claims.find((c) => c.id === 'sync-sync-both-die')?.verdict, 'holds');
});

test('ASYNC_FLUSH power cut: loss allowed, the lost window stays under flushIntervalCommitLog plus the flushes around it', { timeout: 90_000, skip: powerCutSkip }, async (t) => {
  const report = await verify('single-async-flush', ['powercut'], 2);
  const cut = report.faults.powercut;
  assert.equal(cut.crashes, 2, describe(report));
  assert.equal(cut.corrupt + cut.queueGaps + cut.duplicates, 0, describe(report));
  const fsyncMs = cut.fsyncMsMax ?? 0;
  // Acked just after a flush began: it waits for that flush, the 500 ms sleep and the next flush.
  if (fsyncMs > 500) {
    t.diagnostic(`the disk did not keep up (slowest fsync ${fsyncMs} ms > 500 ms): window ${cut.lostWindowMsMax} ms not judged`);
    return;
  }
  assert.ok(cut.lostWindowMsMax <= 500 + 2 * fsyncMs, `lost window ${cut.lostWindowMsMax} ms > 500 + 2 × ${fsyncMs} ms: ${describe(report)}`);
  t.diagnostic(`ASYNC_FLUSH power cut: ${cut.ackedLost} of ${cut.acked} acked lost, window ${cut.lostWindowMsMax} ms (fsync max ${fsyncMs} ms)`);
});
