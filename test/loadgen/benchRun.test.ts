// A short real `bench run` of a small profile, plus launcher cleanup. No TPS is asserted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runBench } from '../support/benchCli.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

// On the project's disk: the run measures fsyncs, and /tmp may be tmpfs.
const scratch = diskScratchDir('benchrun');

function childPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', `storePathRootDir=${scratch}`]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('bench run of a small sync-flush profile writes a complete report and leaves no process behind', { timeout: 120_000 }, async () => {
  const out = path.join(scratch, 'report');
  try {
    const result = await runBench([
      'run', '--profile', 'single-sync-flush', '--duration', '2', '--warmup', '1', '--producers', '8', '--no-calibrate',
      '--store-dir', path.join(scratch, 'store'), '--out', out, '--quiet', '--json',
    ], 100_000);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const [first] = summary.results;
    assert.equal(first.profile, 'single-sync-flush');
    assert.equal(first.engine, 'flushbench', 'the default engine is ours');
    assert.ok(first.ok > 0, 'some sends were acknowledged');
    assert.ok(['below', 'within', 'above'].includes(first.verdict));
    assert.ok(first.runs[0].timeseries.length >= 2);
    // A single master has no slave: its HA gauge (committed end minus slave ack) is no lag to report.
    for (const point of first.runs[0].timeseries) assert.equal(point.slaveLagBytes, null, `second ${point.second}`);
    assert.ok(first.effectiveSettings['broker-a'], 'the broker reported its settings');
    assert.equal(first.effectiveSettings['broker-a'].flushDiskType, 'SYNC_FLUSH');
    assert.deepEqual(childPids(), [], 'no broker survives the run');
    assert.ok(!fs.existsSync(path.join(scratch, 'store')) || fs.readdirSync(path.join(scratch, 'store')).length === 0, 'stores removed');
  } finally {
    removeScratch(scratch);
  }
});

test('a broker that fails to start is reported with its log, and nothing is left running', { timeout: 60_000 }, async () => {
  try {
    const result = await runBench([
      'run', '--profile', 'single-sync-flush', '--set', 'flushDiskType=NOT_A_MODE', '--duration', '1', '--warmup', '0', '--no-calibrate',
      '--store-dir', path.join(scratch, 'store'), '--out', path.join(scratch, 'report'), '--quiet',
    ], 50_000);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /flushDiskType=NOT_A_MODE is not allowed; use one of ASYNC_FLUSH, SYNC_FLUSH/);
    assert.deepEqual(childPids(), []);
  } finally {
    removeScratch(scratch);
  }
});
