// bench verify's two non-crash faults end to end: a SYNC_MASTER whose slave is stopped
// (partition) and a master whose file system fills up (disk-full, on a loop disk: root only).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loopSupportMissing } from '../../loadgen/disk/diskCommands.js';
import { resolveProfiles } from '../../loadgen/profile.js';
import { runVerify, type VerifyFault, type VerifyReport } from '../../loadgen/verify.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

const SMALL = { mappedFileSizeCommitLog: String(16 * 1024 * 1024), mappedFileSizeConsumeQueue: '60000' };
const loopMissing = loopSupportMissing();

async function verify(profileName: string, fault: VerifyFault): Promise<VerifyReport> {
  const dir = diskScratchDir(`verify-${fault}`);
  try {
    return await runVerify({ profile: resolveProfiles(profileName)[0], overrides: SMALL, faults: [fault], crashes: 1, loadS: 1.5, storeDir: dir, strict: false, imageSizeMiB: 256 });
  } finally {
    removeScratch(dir);
  }
}

test('partition: a SYNC_MASTER with its slave stopped answers within the deadline, never hangs, and the slave catches up', { timeout: 120_000 }, async () => {
  const report = await verify('sync-sync', 'partition');
  const partition = report.partition;
  assert.ok(partition, JSON.stringify(report.claims));
  assert.equal(partition.verdict, 'holds', partition.detail);
  assert.ok(report.claims.some((c) => c.id === 'sync-master-partition' && c.verdict === 'holds'));
});

test('disk-full: the guard refuses sends SERVICE_NOT_AVAILABLE, nothing acked is lost, sends are taken again once space is freed',
  { timeout: 120_000, skip: loopMissing ? `disk-full needs root and a loop device: ${loopMissing}` : false }, async () => {
    const report = await verify('single-async-flush', 'disk-full');
    const diskFull = report.diskFull;
    assert.ok(diskFull, JSON.stringify(report.claims));
    assert.equal(diskFull.verdict, 'holds', diskFull.detail);
    assert.ok(diskFull.refusedAsDiskFull > 0, `no SERVICE_NOT_AVAILABLE from the disk-full guard: ${diskFull.detail}`);
    assert.equal(diskFull.resumed, true);
    assert.equal(diskFull.master.ackedLost, 0);
    assert.equal(diskFull.hung, 0);
  });
