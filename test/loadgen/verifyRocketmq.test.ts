// bench verify --engine rocketmq end to end: Apache RocketMQ 4.9.7 broker JVMs killed under load,
// restarted on the same store (its own abnormal-shutdown recovery), every acked message read back.
// Needs java and the fetched RocketMQ jars (`bench rocketmq fetch`); skipped with the reason otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { defaultCacheDir, DEFAULT_ROCKETMQ_VERSION } from '../../loadgen/rocketmq/fetch.js';
import { resolveProfiles } from '../../loadgen/profile.js';
import { applicableFaults, runVerify } from '../../loadgen/verify.js';
import { judgeClaims, profileShape } from '../../loadgen/verify/claims.js';
import type { FaultSummary } from '../../loadgen/verify/summary.js';
import { renderVerifyMarkdown } from '../../reports/verifyReport.js';
import { seedSlaveTopic } from '../../loadgen/verify/rocketmqNodes.js';
import { diskScratchDir, removeScratch, scratchDir } from '../support/scratch.js';

function missing(): string | null {
  if (spawnSync('java', ['-version']).error) return 'java is not installed (apt-get install openjdk-17-jre-headless)';
  if (!fs.existsSync(path.join(defaultCacheDir(DEFAULT_ROCKETMQ_VERSION), 'fetch-complete.json'))) return `RocketMQ ${DEFAULT_ROCKETMQ_VERSION} jars are not fetched (run: npx bench rocketmq fetch)`;
  return null;
}

test('rocketmq engine: partition, disk-full and DLedger profiles do not apply', () => {
  const sync = resolveProfiles('sync-sync')[0];
  assert.deepEqual(applicableFaults(sync, {}, 'rocketmq'), ['kill', 'powercut', 'slave-kill', 'slave-powercut', 'both-powercut']);
  assert.ok(applicableFaults(sync, {}, 'flushbench').includes('partition'));
  assert.deepEqual(applicableFaults(resolveProfiles('dledger')[0], {}, 'rocketmq'), []);
});

test('a RocketMQ slave\'s topics.json gets the verify topic before it starts; other topics stay, an empty (cut) file is replaced', () => {
  const dir = scratchDir('seed-topic');
  try {
    const file = path.join(dir, 'config', 'topics.json');
    seedSlaveTopic(dir, 'FlushbenchVerify', 8);
    const table = () => (JSON.parse(fs.readFileSync(file, 'utf8')) as { topicConfigTable: Record<string, { readQueueNums: number; perm: number }> }).topicConfigTable;
    assert.equal(table().FlushbenchVerify.readQueueNums, 8);
    assert.equal(table().FlushbenchVerify.perm, 6);
    fs.writeFileSync(file, JSON.stringify({ topicConfigTable: { Other: { topicName: 'Other' } } }));
    seedSlaveTopic(dir, 'FlushbenchVerify', 4);
    assert.deepEqual(Object.keys(table()).sort(), ['FlushbenchVerify', 'Other']);
    fs.writeFileSync(file, '');
    seedSlaveTopic(dir, 'FlushbenchVerify', 2);
    assert.equal(table().FlushbenchVerify.readQueueNums, 2);
  } finally {
    removeScratch(dir);
  }
});

test('ASYNC_FLUSH window without fsync timings (RocketMQ): judged against the interval alone and says n/a', () => {
  const cuts: FaultSummary = {
    crashes: 2, failedCycles: 0, errors: [], acked: 100, ackedLost: 9, lostWindowMsMax: 560, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0, ackedMoved: 0,
    master: null, slave: null, slaveLossIsTail: null, fsyncMsMax: null, lostWindowsMs: [560, 100], fsyncMsMaxPerCycle: [null, null], topicConfigLost: 2, statusCounts: {},
  };
  const [verdict] = judgeClaims(profileShape(resolveProfiles('single-async-flush')[0].nodes, {}), { powercut: cuts });
  assert.equal(verdict.id, 'async-flush-window');
  assert.equal(verdict.verdict, 'violated');
  assert.match(verdict.detail, /1 of 2 cuts lost more than 500 ms, slowest fsync n\/a/);
  assert.doesNotMatch(verdict.detail, /worst 0 ms/);
});

test('Apache RocketMQ SYNC_FLUSH kill -9 under load: every acked message is read back, nothing corrupt, no gap', { timeout: 90_000, skip: missing() ?? false }, async () => {
  const dir = diskScratchDir('verify-rocketmq');
  try {
    const report = await runVerify({
      profile: resolveProfiles('single-sync-flush')[0], engine: 'rocketmq', overrides: {}, faults: ['kill'], crashes: 2, loadS: 1.5, storeDir: dir, strict: true,
    });
    const kill = report.faults.kill;
    const detail = JSON.stringify({ faults: report.faults, claims: report.claims }, null, 1);
    assert.equal(report.engine, 'rocketmq');
    assert.equal(kill.crashes, 2, detail);
    assert.ok(kill.acked > 0, `the load was acked: ${detail}`);
    assert.equal(kill.ackedLost, 0, detail);
    assert.equal(kill.duplicates + kill.corrupt + kill.queueGaps, 0, detail);
    assert.equal(kill.fsyncMsMax, null, 'RocketMQ has no /metrics: no fsync figure');
    assert.equal(report.claims.find((c) => c.id === 'kill-no-loss')?.verdict, 'holds');
    assert.match(renderVerifyMarkdown(report), /bench verify, rocketmq/);
    assert.match(renderVerifyMarkdown(report), /fsync.*n\/a/);
    // SIGKILL leaves RocketMQ's abort file: every restart must have taken recoverAbnormally.
    assert.deepEqual(report.cycles.map((c) => c.recovery), ['abnormal', 'abnormal']);
    assert.match(renderVerifyMarkdown(report), /2 of 2 abnormal/);
  } finally {
    removeScratch(dir);
  }
});
